"""Throughput benchmark (``python -m pipeline bench VIDEO --detector yolo11 ...``).

Everything is measured in one run, on the same clip, model and device, and
printed as figures and ratios:

- decode-only fps (PyAV, no model) and encode-only fps (the pipeline's H.264
  writer on the decoded frames);
- model-only fps: the same detector on the same already-decoded frames, no pipeline;
- end-to-end fps of the full pipeline (decode thread, device pool, ByteTrack,
  annotation, H.264 encoding, tracks file, preview channel), and its ratio to
  model-only, to the slowest of decode-only, encode-only and model-only (the
  bound when they run on separate hardware), and to the bound when they share
  the same cores (their times per frame added);
- on CUDA with the ``torch`` runtime: model-only fps with and without pinned
  host memory, and with and without CUDA graphs, measured in alternation;
- the plain sequential loop a user would write (ultralytics
  ``model.track(..., stream=True)`` + supervision annotators + ``sv.VideoSink``;
  for non-ultralytics detectors: detect, track, annotate, write in one loop),
  and ours / plain;
- time from the start of a run to its first preview frame (warm model);
- peak resident memory of a run on the clip once and on the clip looped N
  times, each in a fresh process.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import models
from models.prefetch import fetch_weights
from pipeline.configs import DetectionConfig
from pipeline.errors import RunStopped
from pipeline.io.video import H264Writer, iter_frames, probe
from pipeline.runs import local_chunks, start
from pipeline.runs.detection import load_detector
from pipeline.runtime.devices import prepare_devices
from pipeline.runtime.events import Done, FirstFrame
from pipeline.runtime.watch import set_when


def decode_only(video: Path, max_frames: int | None = None) -> tuple[float, int]:
    """Decode every frame (or the first ``max_frames``); returns (fps, frames)."""
    start = time.perf_counter()
    frames = sum(1 for _ in iter_frames(video, max_frames))
    return frames / (time.perf_counter() - start), frames


def encode_only(video: Path, images: list[np.ndarray], workdir: Path) -> float:
    """Encode the clip's decoded frames with the pipeline's H.264 writer; returns fps.

    With decode-only and model-only fps, this bounds the end-to-end fps: the
    three run concurrently, so a run can go no faster than the slowest.
    """
    info = probe(video)
    start = time.perf_counter()
    writer = H264Writer(workdir / "encode-only.mp4", info.width, info.height, info.fps)
    for image in images:
        writer.write(image)
    writer.close()
    return len(images) / (time.perf_counter() - start)


def fetch_weights_first(configs: Iterable[DetectionConfig]) -> None:
    """Fetch the weights ``configs`` load, or find them cached, before anything is measured.

    The step a run takes before it loads a model (:func:`models.prefetch.fetch_weights`).
    A measurement loads its models directly, and a library asked for weights it cannot
    download retries for a minute or more and then says so in its own words (DETR's
    processor: a 300-character ``OSError``); checked here first, weights that cannot be
    had fail at once, with the message a run gives.

    Raises:
        models.MissingWeightsError: Weights that are neither at hand nor downloadable;
            the message names the models whose weights are at hand.
        models.UnknownModelError: No such model or size.
    """
    loads = [load for config in configs for load in config.model_loads()]
    for _ in fetch_weights(loads):
        pass


def model_only(
    config: DetectionConfig,
    images: list[np.ndarray],
    repeats: int = 1,
    *,
    stopped: Callable[[], bool] | None = None,
    **settings: bool,
) -> float:
    """The detector alone on frames decoded beforehand, batched as the pool batches.

    Every batch shape the measurement uses is run once before the clock starts.

    Args:
        config: The run's configuration (detector, device, batch size).
        images: The clip's decoded frames.
        repeats: Passes over the clip.
        stopped: Asked before each batch; True ends the measurement there.
        **settings: ``pin_memory`` or ``cuda_graphs`` forced on or off for
            this measurement (detectors running a :class:`TorchYolo`).

    Returns:
        Frames per second.

    Raises:
        RunStopped: ``stopped`` said so.
    """
    device = prepare_devices(config.devices)[0]
    detector = load_detector(config, device)
    with _network_settings(detector, **settings):
        batch = config.batch_size or detector.default_batch_size
        queries = detector.validate_queries(config.queries)
        remainder = len(images) % batch
        for chunk in [images[:batch]] + ([images[-remainder:]] if remainder else []):
            detector.detect(chunk, confidence=config.confidence, queries=queries)
        start = time.perf_counter()
        for _ in range(repeats):
            for i in range(0, len(images), batch):
                if stopped is not None and stopped():
                    raise RunStopped("The measurement was stopped.")
                chunk = images[i : i + batch]
                detector.detect(chunk, confidence=config.confidence, queries=queries)
        return repeats * len(images) / (time.perf_counter() - start)


#: How often a measured run asks whether it should stop.
STOP_POLL_S = 0.1


@contextlib.contextmanager
def _network_settings(detector: Any, **settings: bool) -> Iterator[None]:
    network = getattr(detector, "network", None)
    targets = {
        "pin_memory": getattr(network, "uploader", None),
        "cuda_graphs": network,
    }
    saved = []
    for name, value in settings.items():
        target = targets[name]
        if target is not None and hasattr(target, name):
            saved.append((target, name, getattr(target, name)))
            setattr(target, name, value)
    try:
        yield
    finally:
        for target, name, value in saved:
            setattr(target, name, value)


def _best_of_alternating(
    config: DetectionConfig, images: list[np.ndarray], setting: str, rounds: int = 2
) -> tuple[float, float]:
    """Model-only fps with ``setting`` on and off, alternated, best of each."""
    on, off = [], []
    for _ in range(rounds):
        on.append(model_only(config, images, **{setting: True}))
        off.append(model_only(config, images, **{setting: False}))
    return max(on), max(off)


def end_to_end(
    config: DetectionConfig,
    video: Path,
    workdir: Path,
    frames_per_call: int | None = None,
    *,
    stopped: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """The full pipeline; returns fps (first preview excluded) and time to first preview.

    With ``frames_per_call`` the run is split into calls of that many frames, made
    here one after the other (:func:`pipeline.runs.local_chunks`): what splitting
    costs, without ZeroGPU's own scheduling.

    Args:
        config: The run's configuration.
        video: The clip.
        workdir: Where the run writes its outputs.
        frames_per_call: Frames per call (None: one call).
        stopped: Asked every :data:`STOP_POLL_S` while the run goes on; True
            stops it as a Stop does, within about a frame.

    Raises:
        RunStopped: ``stopped`` said so.
    """
    started = time.perf_counter()
    first_preview_s = pipeline_start = float("nan")
    done: Done | None = None
    outputs = {"video": workdir / "ours.mp4", "tracks": workdir / "ours.json"}
    chunks = None
    if frames_per_call is not None:
        chunks = local_chunks(video, config, frames_per_call)
    stop = threading.Event()
    # A frame may take seconds: a watcher asks stopped() while the run waits on one.
    asked = threading.Event()
    watching = contextlib.nullcontext(asked)
    if stopped is not None:
        watching = set_when(stopped, poll_s=STOP_POLL_S, name="benchmark-stop", also=stop)
    with watching as asked:
        events = start(video, config, outputs, stop, chunks=chunks)
        for event in events:
            if isinstance(event, FirstFrame):
                first_preview_s = time.perf_counter() - started
                pipeline_start = time.perf_counter()
            elif isinstance(event, Done):
                done = event
    # Not ``stop`` itself: the run sets it too, once it has ended.
    if asked.is_set():
        raise RunStopped("The measurement was stopped.")
    assert done is not None
    elapsed = time.perf_counter() - pipeline_start
    return {
        "fps": done.summary.frames / elapsed,
        "seconds": elapsed,
        "first_preview_s": first_preview_s,
        "frames": done.summary.frames,
        "timing_s": done.summary.timing_s,
        "devices": done.summary.devices,
        "model": done.summary.model,
    }


def plain_loop(config: DetectionConfig, video: Path, workdir: Path) -> float:
    """The sequential loop a user would write; returns end-to-end fps."""
    import supervision as sv

    info = probe(video)
    detector = load_detector(config, prepare_devices(config.devices)[0])
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


def peak_memory_mib(model_argv: list[str], video: Path) -> dict[str, float]:
    """Peak RSS (and peak CUDA allocation, on a GPU) of one end-to-end run in a fresh process.

    Returns:
        ``{"peak_rss_mib": ..., "peak_cuda_mib": ...}`` (the latter with CUDA only).
    """
    command = [sys.executable, "-m", "pipeline", "bench", str(video), "--memory-probe"]
    command += model_argv
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def memory_probe(config: DetectionConfig, video: Path) -> dict[str, float]:
    """Peak memory of one end-to-end run in this process (run in a fresh one).

    Returns:
        ``{"peak_rss_mib": ..., "peak_cuda_mib": ...}`` (the latter with CUDA only).
    """
    with tempfile.TemporaryDirectory() as tmp:
        end_to_end(config, video, Path(tmp))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {"peak_rss_mib": peak_kib / 1024}
    import torch

    if torch.cuda.is_available():
        figures["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return figures


def run(
    config: DetectionConfig,
    video: Path,
    *,
    loops: int = 10,
    plain: bool = True,
    model_argv: Sequence[str] = (),
    frames_per_call: int | None = None,
) -> dict[str, Any]:
    """Run every measurement and return the figures.

    Args:
        config: The detection settings measured.
        video: The clip.
        loops: Also measure peak memory on the clip looped this many times (1: skip).
        plain: Measure the plain sequential loop too.
        model_argv: The ``python -m pipeline bench`` options that give ``config``, for
            the memory measurements' fresh processes.
        frames_per_call: Also measure the run split into calls of this many frames,
            alternating with the whole run (best of two each), and their ratio.

    Returns:
        The figures and ratios, by name.
    """
    results: dict[str, Any] = {
        "video": str(video),
        "detector": config.detector,
        "size": config.size,
        "weights": config.weights,
        "devices": prepare_devices(config.devices),
        "cpu_count": os.cpu_count(),
        "device_name": _device_name(prepare_devices(config.devices)[0]),
        "threads": threading.active_count(),
    }
    fetch_weights_first([config])
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results["decode_fps"], results["frames"] = decode_only(video)
        # Decoded once: the encode-only and model-only measurements all use these frames.
        images = [frame.image for frame in iter_frames(video)]
        results["encode_fps"] = encode_only(video, images, workdir)
        results["model_only_fps"] = model_only(config, images)
        detector = load_detector(config, results["devices"][0])
        results["runtime"] = getattr(detector, "runtime", None)
        network = getattr(detector, "network", None)
        uploader = getattr(network, "uploader", None)
        if uploader is not None and uploader.pin_memory:
            # What page-locked staging buys, measured in alternation so that
            # neither side gets the cold start.
            pinned, pageable = _best_of_alternating(config, images, "pin_memory")
            results["model_only_fps_pinned"] = pinned
            results["model_only_fps_pageable"] = pageable
            results["ratio_pinned_over_pageable"] = pinned / pageable
        if getattr(network, "cuda_graphs", False):
            graphs, eager = _best_of_alternating(config, images, "cuda_graphs")
            results["model_only_fps_cuda_graphs"] = graphs
            results["model_only_fps_eager"] = eager
            results["ratio_cuda_graphs_over_eager"] = graphs / eager
        results["cuda_graphs"] = bool(getattr(network, "cuda_graphs", False))
        # Passes with the default settings: a GPU's first pass is often the
        # slowest (clocks ramping up), so the model's figure is the best of them.
        defaults = ("model_only_fps", "model_only_fps_pinned", "model_only_fps_cuda_graphs")
        results["model_only_fps"] = max(results[key] for key in defaults if key in results)
        del images  # the end-to-end run decodes for itself
        e2e = end_to_end(config, video, workdir)
        results["end_to_end_fps"] = e2e["fps"]
        results["first_preview_s"] = e2e["first_preview_s"]
        results["stage_timing_s"] = e2e["timing_s"]
        results["ratio_end_to_end_over_model_only"] = e2e["fps"] / results["model_only_fps"]
        # Two bounds. Where the stages run on separate hardware (a GPU beside
        # the CPU's decoder and encoder), the slowest one bounds the pipeline;
        # where all of them share the same fully used cores (a CPU run), their
        # times per frame add up.
        stages = (results["decode_fps"], results["encode_fps"], results["model_only_fps"])
        results["ratio_end_to_end_over_slowest_stage"] = e2e["fps"] / min(stages)
        shared = 1 / sum(1 / fps for fps in stages)
        results["shared_cores_bound_fps"] = shared
        results["ratio_end_to_end_over_shared_cores_bound"] = e2e["fps"] / shared
        if frames_per_call is not None:
            whole, split = [], []
            for _ in range(2):
                whole.append(end_to_end(config, video, workdir)["fps"])
                split.append(end_to_end(config, video, workdir, frames_per_call)["fps"])
            results["frames_per_call"] = frames_per_call
            results["end_to_end_fps_whole"] = max(whole)
            results["end_to_end_fps_split"] = max(split)
            results["ratio_split_over_whole"] = max(split) / max(whole)
        if plain:
            results["plain_loop_fps"] = plain_loop(config, video, workdir)
            results["ratio_ours_over_plain"] = e2e["fps"] / results["plain_loop_fps"]
        if loops > 1:
            looped = looped_clip(video, loops, workdir / "looped.mp4")
            once, many = (
                peak_memory_mib(list(model_argv), video),
                peak_memory_mib(list(model_argv), looped),
            )
            results["peak_rss_mib_once"] = once["peak_rss_mib"]
            results[f"peak_rss_mib_x{loops}"] = many["peak_rss_mib"]
            results["ratio_peak_memory_looped_over_once"] = (
                many["peak_rss_mib"] / once["peak_rss_mib"]
            )
            if "peak_cuda_mib" in once:
                results["peak_cuda_mib_once"] = once["peak_cuda_mib"]
                results[f"peak_cuda_mib_x{loops}"] = many["peak_cuda_mib"]
    model = models.spec("detector", config.detector)
    results["model_label"] = model.label
    return results


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()
