"""Throughput benchmark: ``python -m pipeline.bench VIDEO --detector yolo11 ...``.

Everything is measured in one run, on the same clip, model and device, and
printed as figures and ratios:

- decode-only fps (PyAV, no model);
- model-only fps: the same detector on the same already-decoded frames, no pipeline;
- end-to-end fps of the full pipeline (decode thread, device pool, ByteTrack,
  annotation, H.264 encoding, tracks file, preview channel), and its ratio to
  model-only;
- the plain sequential loop a user would write (ultralytics
  ``model.track(..., stream=True)`` + supervision annotators + ``sv.VideoSink``;
  for non-ultralytics detectors: detect, track, annotate, write in one loop),
  and ours / plain;
- time from the start of a run to its first preview frame (warm model);
- peak resident memory of a run on the clip once and on the clip looped N
  times, each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import models
from models.detectors.base import normalize_queries
from pipeline.config import DetectionConfig
from pipeline.detection import load_detector, run_detection
from pipeline.devices import resolve_devices
from pipeline.events import Done, FirstFrame
from pipeline.io import H264Writer, iter_frames, probe


def _config(args: argparse.Namespace) -> DetectionConfig:
    return DetectionConfig(
        detector=args.detector,
        size=args.size,
        weights=args.weights,
        queries=normalize_queries(args.queries),
        confidence=args.conf,
        devices=tuple(args.device or ()),
        batch_size=args.batch_size,
        max_duration_s=None,
        detector_options=(("runtime", args.runtime),) if args.runtime else (),
    )


def decode_only(video: Path) -> tuple[float, int]:
    """Decode every frame; returns (fps, frames)."""
    start = time.perf_counter()
    frames = sum(1 for _ in iter_frames(video))
    return frames / (time.perf_counter() - start), frames


def model_only(config: DetectionConfig, video: Path, repeats: int = 1) -> float:
    """The detector alone on frames decoded beforehand, batched as the pool batches."""
    device = resolve_devices(config.devices)[0]
    detector = load_detector(config, device)
    images = [frame.image for frame in iter_frames(video)]
    batch = config.batch_size or detector.default_batch_size
    queries = detector.validate_queries(config.queries)
    detector.detect(images[:batch], confidence=config.confidence, queries=queries)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(images), batch):
            detector.detect(images[i : i + batch], confidence=config.confidence, queries=queries)
    return repeats * len(images) / (time.perf_counter() - start)


def end_to_end(config: DetectionConfig, video: Path, workdir: Path) -> dict[str, float]:
    """The full pipeline; returns fps (first preview excluded) and time to first preview."""
    start = time.perf_counter()
    first_preview_s = pipeline_start = float("nan")
    done: Done | None = None
    for event in run_detection(
        video,
        config,
        out_video=workdir / "ours.mp4",
        out_tracks=workdir / "ours.json",
        preview_interval_s=0.1,
    ):
        if isinstance(event, FirstFrame):
            first_preview_s = time.perf_counter() - start
            pipeline_start = time.perf_counter()
        elif isinstance(event, Done):
            done = event
    assert done is not None
    elapsed = time.perf_counter() - pipeline_start
    return {
        "fps": done.summary["frames"] / elapsed,
        "first_preview_s": first_preview_s,
        "frames": done.summary["frames"],
        "timing_s": done.summary["timing_s"],
    }


def plain_loop(config: DetectionConfig, video: Path, workdir: Path) -> float:
    """The sequential loop a user would write; returns end-to-end fps."""
    import supervision as sv

    info = probe(video)
    detector = load_detector(config, resolve_devices(config.devices)[0])
    box, label = sv.BoxAnnotator(), sv.LabelAnnotator()
    video_info = sv.VideoInfo(width=info.width, height=info.height, fps=round(info.fps))
    frames = 0
    start = time.perf_counter()
    with sv.VideoSink(str(workdir / "plain.mp4"), video_info) as sink:
        yolo = getattr(detector, "model", None)
        if yolo is not None and type(yolo).__name__ == "YOLO":
            results = yolo.track(
                source=str(video),
                stream=True,
                persist=True,
                conf=config.confidence,
                device=detector.device,
                imgsz=getattr(detector, "imgsz", 640),
                verbose=False,
            )
            for result in results:
                detections = sv.Detections.from_ultralytics(result)
                frame = box.annotate(result.orig_img.copy(), detections)
                sink.write_frame(label.annotate(frame, detections))
                frames += 1
        else:
            from trackers import ByteTrackTracker

            tracker = ByteTrackTracker(frame_rate=info.fps)
            for frame in sv.get_video_frames_generator(str(video)):
                [detections] = detector.detect(
                    [frame], confidence=config.confidence, queries=config.queries
                )
                detections = tracker.update(detections)
                image = label.annotate(box.annotate(frame.copy(), detections), detections)
                sink.write_frame(image)
                frames += 1
    return frames / (time.perf_counter() - start)


def looped_clip(video: Path, times: int, out: Path) -> Path:
    """The clip played ``times`` times in a row, as one H.264 file."""
    info = probe(video)
    writer = H264Writer(out, info.width, info.height, info.fps, preset="ultrafast")
    for _ in range(times):
        for frame in iter_frames(video):
            writer.write(frame.image)
    writer.close()
    return out


def peak_memory_mib(args: argparse.Namespace, video: Path) -> float:
    """Peak RSS of one end-to-end run in a fresh process, in MiB."""
    command = [sys.executable, "-m", "pipeline.bench", str(video), "--memory-probe"]
    command += _model_args(args)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["peak_rss_mib"]


def _model_args(args: argparse.Namespace) -> list[str]:
    out = ["--detector", args.detector, "--conf", str(args.conf)]
    for flag, value in (("--size", args.size), ("--weights", args.weights),
                        ("--queries", args.queries), ("--batch-size", args.batch_size),
                        ("--runtime", args.runtime)):
        if value:
            out += [flag, str(value)]
    for device in args.device or ():
        out += ["--device", device]
    return out


def _memory_probe(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        end_to_end(_config(args), args.video, Path(tmp))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mib": peak_kib / 1024}))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement and return the figures."""
    config = _config(args)
    results: dict[str, Any] = {
        "video": str(args.video),
        "detector": config.detector,
        "size": config.size,
        "weights": config.weights,
        "devices": resolve_devices(config.devices),
        "cpu_count": os.cpu_count(),
        "threads": threading.active_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results["decode_fps"], results["frames"] = decode_only(args.video)
        results["model_only_fps"] = model_only(config, args.video)
        detector = load_detector(config, results["devices"][0])
        results["runtime"] = getattr(detector, "runtime", None)
        e2e = end_to_end(config, args.video, workdir)
        results["end_to_end_fps"] = e2e["fps"]
        results["first_preview_s"] = e2e["first_preview_s"]
        results["stage_timing_s"] = e2e["timing_s"]
        results["ratio_end_to_end_over_model_only"] = e2e["fps"] / results["model_only_fps"]
        if not args.skip_plain:
            results["plain_loop_fps"] = plain_loop(config, args.video, workdir)
            results["ratio_ours_over_plain"] = e2e["fps"] / results["plain_loop_fps"]
        if args.loops > 1:
            looped = looped_clip(args.video, args.loops, workdir / "looped.mp4")
            once, many = peak_memory_mib(args, args.video), peak_memory_mib(args, looped)
            results["peak_rss_mib_once"] = once
            results[f"peak_rss_mib_x{args.loops}"] = many
            results["ratio_peak_memory_looped_over_once"] = many / once
    model = models.spec("detector", config.detector)
    results["model_label"] = model.label
    return results


def _print(results: dict[str, Any]) -> None:
    width = max(len(k) for k in results)
    for key, value in results.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, dict):
            value = json.dumps({k: round(v, 3) for k, v in value.items()})
        print(f"{key:<{width}}  {value}")


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m pipeline.bench``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--detector", default="yolo11")
    parser.add_argument("--size", default=None)
    parser.add_argument("--weights", default=None,
                        help="e.g. yolo11n.yaml (random weights, real compute) where offline")
    parser.add_argument("--queries", default="")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--device", action="append", default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--runtime", choices=("auto", "torch", "onnxruntime"), default=None,
                        help="ultralytics detectors: network runtime (default: the detector's)")
    parser.add_argument("--loops", type=int, default=10,
                        help="memory: also run the clip looped this many times (1: skip)")
    parser.add_argument("--skip-plain", action="store_true", help="skip the plain-loop baseline")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m pipeline.bench``."""
    args = build_parser().parse_args(argv)
    if args.memory_probe:
        _memory_probe(args)
        return 0
    results = run(args)
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
