"""The detection run: decode, detect on every device, track, annotate, encode.

``run_detection`` is a generator of events (:mod:`pipeline.runtime.events`) consumed
alike by the UI, the CLI and the tests. The work itself runs in threads; the
generator only reports, so a slow consumer (a browser on a poor link) drops
preview frames instead of slowing the run. Closing the generator early stops
the run, joins its threads and removes its partial files.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

import models
from models.depth.base import DepthEstimator
from models.detectors.base import CLASS_NAME, Detector
from models.timing import add_timing, timed
from pipeline.configs import DetectionConfig
from pipeline.io.tracks_json import TracksWriter
from pipeline.io.video import Frame, H264Writer, VideoInfo, read_first_frame
from pipeline.runtime.devices import resolve_devices
from pipeline.runtime.errors import RunStopped
from pipeline.runtime.events import Done, Event, FirstFrame
from pipeline.runtime.pool import Worker
from pipeline.runtime.template import PooledRun, check_video, pipeline_errors
from pipeline.stages.annotation import FrameAnnotator
from pipeline.stages.object_depth import TrackDepths, add_object_depths
from pipeline.stages.tracking import ObjectTracker, tracker_config_for

log = logging.getLogger(__name__)


def load_detector(config: DetectionConfig, device: str) -> Detector:
    """The cached detector instance for ``device`` (one per model, options and device)."""
    return models.get_cached("detector", config.detector, device=device, **config.model_options())


class _FrameModels:
    """One device's models for a detection run: the detector, and depth when asked."""

    def __init__(self, config: DetectionConfig, device: str) -> None:
        self.config = config
        self.detector = load_detector(config, device)
        self.depth: DepthEstimator | None = None
        if config.depth:
            self.depth = models.get_cached(
                "depth", "depth_anything_v2", device=device, **config.depth_options()
            )

    def __call__(
        self, images: list[np.ndarray], queries: tuple[str, ...], timing: dict[str, float]
    ) -> list[sv.Detections]:
        detections = self.detector.detect(
            images, confidence=self.config.confidence, queries=queries, timing=timing
        )
        if self.depth is None:
            return detections
        # Per-object depth is computed here, on the worker, so full-size depth maps
        # never wait in the reorder buffer.
        depth_timing: dict[str, float] = {}
        maps = self.depth.predict(images, timing=depth_timing)
        add_timing(timing, depth_timing, prefix="depth_")
        return [add_object_depths(d, m) for d, m in zip(detections, maps, strict=True)]


def first_frame(
    video: str | Path, config: DetectionConfig, annotator: FrameAnnotator | None = None
) -> FirstFrame:
    """Decode frame 0, detect and annotate it: the fast preview shown before a run.

    Args:
        video: Video file.
        config: The run's settings (detector, queries, confidence, devices).
        annotator: Reused annotator, if the caller has one.

    Returns:
        The annotated first frame (BGR) and its detections.

    Raises:
        VideoError: The video is unreadable or too long.
        models.ModelError: Unknown model, bad query or missing weights.
    """
    check_video(video, config.max_duration_s)
    frame_models = _FrameModels(config, resolve_devices(config.devices)[0])
    queries = frame_models.detector.validate_queries(config.queries)
    frame = read_first_frame(video)
    [detections] = frame_models([frame.image], queries, {})
    image = (annotator or FrameAnnotator()).annotate(frame.image, detections)
    return FirstFrame(image=image, detections=detections)


@dataclass
class _RunState:
    """What the in-order stage gathers for the summary."""

    peak_in_flight: int = 0
    classes_by_track: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))


def _remove(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            path.unlink(missing_ok=True)


def run_detection(
    video: str | Path,
    config: DetectionConfig,
    *,
    out_video: str | Path,
    out_tracks: str | Path,
    out_mot: str | Path | None = None,
    stop: threading.Event | None = None,
    preview_interval_s: float = 0.1,
    with_first_frame: bool = True,
) -> Iterator[Event]:
    """Run detection and tracking over a video, yielding events as it goes.

    Args:
        video: Input video file.
        config: The run's settings.
        out_video: Output H.264 ``.mp4``.
        out_tracks: Output tracks ``.json``.
        out_mot: Optional output in MOTChallenge text format.
        stop: Set it to stop the run (as does closing the generator).
        preview_interval_s: Least time between two yielded preview frames.
        with_first_frame: Yield a :class:`FirstFrame` before the run starts.

    Yields:
        ``FirstFrame``, then ``Progress`` and ``Preview`` events, then ``Done``.

    Raises:
        VideoError: Bad or too-long video.
        models.ModelError: Unknown model, bad query or missing weights.
        RunStopped: ``stop`` was set before the end.
        PipelineError: Anything else that failed, with the original message.
    """
    stop = stop or threading.Event()
    out_video, out_tracks = Path(out_video), Path(out_tracks)
    out_mot = Path(out_mot) if out_mot is not None else None
    info = check_video(video, config.max_duration_s)
    devices = resolve_devices(config.devices)
    # Fail on a bad model, weights or query before any thread or file exists.
    per_device = {device: _FrameModels(config, device) for device in dict.fromkeys(devices)}
    main_detector = per_device[devices[0]].detector
    queries = main_detector.validate_queries(config.queries)
    annotator = FrameAnnotator()

    first_started = time.perf_counter()
    if with_first_frame:
        frame = read_first_frame(video)
        [dets] = per_device[devices[0]]([frame.image], queries, {})
        yield FirstFrame(image=annotator.annotate(frame.image, dets), detections=dets)
    first_frame_s = time.perf_counter() - first_started

    def make_worker(device: str) -> Worker[sv.Detections]:
        frame_models = per_device[device]

        def process(frames: list[Frame], timing: dict[str, float]) -> list[sv.Detections]:
            return frame_models([f.image for f in frames], queries, timing)

        batch_size = config.batch_size or frame_models.detector.default_batch_size
        return Worker(device, process, batch_size)

    state = _RunState()
    workers = [make_worker(d) for d in devices]
    run = PooledRun(video, workers, stop, config, name="tracker-encoder")
    writers: dict[str, Any] = {}
    model_info = {**main_detector.info(), "queries": list(queries), "confidence": config.confidence}
    model_info["devices"] = devices
    depth_model = per_device[devices[0]].depth
    if depth_model is not None:
        model_info["depth"] = depth_model.info()
    track_depths = TrackDepths()

    def process_in_order() -> None:
        from pipeline.io.mot_files import MotWriter

        tracker_config = tracker_config_for(config.tracker, main_detector.open_vocabulary)
        tracker = ObjectTracker(tracker_config, frame_rate=info.fps)
        timing = run.timing
        writers["video"] = H264Writer(
            out_video, info.width, info.height, info.fps,
            queue_size=config.queue_size, stop=stop,
        )  # fmt: skip
        writers["tracks"] = TracksWriter(
            out_tracks,
            {"fps": info.fps, "width": info.width, "height": info.height, "frames": 0},
            model_info,
        )
        if out_mot is not None:
            writers["mot"] = MotWriter(out_mot)
        for frame, detections in run.pool:
            with timed(timing, "track"):
                tracked = tracker.update(detections)
            with timed(timing, "annotate"):
                annotated = annotator.annotate(frame.image, tracked)
            with timed(timing, "write"):
                writers["video"].write(annotated)
                writers["tracks"].write(frame.index, frame.timestamp, tracked)
                if "mot" in writers:
                    writers["mot"].write(frame.index, tracked)
            for track_id, name in zip(
                tracked.tracker_id, tracked.data.get(CLASS_NAME, []), strict=False
            ):
                state.classes_by_track[int(track_id)][str(name)] += 1
            track_depths.add(tracked)
            run.frames_done = frame.index + 1
            in_flight = run.reader.frames_decoded - frame.index
            state.peak_in_flight = max(state.peak_in_flight, in_flight)
            run.latest.publish((frame.index, annotated))
            run.slots.release()
        if stop.is_set():
            raise RunStopped("The run was stopped.")
        for writer in writers.values():
            writer.close()

    run.start(process_in_order)
    completed = False
    try:
        with pipeline_errors("The run"):
            yield from run.report(info.frames, preview_interval_s)
            elapsed = time.perf_counter() - run.started
            timing = run.stage_timing(writers["video"].encode_seconds)
            summary = _summary(
                run.frames_done, state, info, elapsed, timing, devices,
                run.pool.frames_per_device, main_detector,
            )  # fmt: skip
            summary["first_frame_s"] = round(first_frame_s, 3)
            if depth_model is not None:
                summary["depth_model"] = depth_model.info()
                summary["near_to_far"] = [
                    {"track_id": track_id, "depth": round(depth, 4)}
                    for track_id, depth in track_depths.near_to_far()
                ]
            completed = True
            yield Done(out_video, out_tracks, out_mot, summary)
    finally:
        run.close()
        if not completed:
            for writer in writers.values():
                getattr(writer, "abort", writer.close)()
            _remove(out_video, out_tracks, out_mot)


def _summary(
    frames_done: int,
    state: _RunState,
    info: VideoInfo,
    elapsed: float,
    timing: dict[str, float],
    devices: list[str],
    frames_per_device: dict[str, int],
    detector: Detector,
) -> dict[str, Any]:
    tracks_per_class: Counter[str] = Counter()
    for counts in state.classes_by_track.values():
        tracks_per_class[counts.most_common(1)[0][0]] += 1
    summary: dict[str, Any] = {
        "frames": frames_done,
        "tracks": len(state.classes_by_track),
        "tracks_per_class": dict(tracks_per_class.most_common()),
        "fps": round(frames_done / max(elapsed, 1e-9), 2),
        "seconds": round(elapsed, 3),
        "video": {"width": info.width, "height": info.height, "fps": info.fps},
        "devices": devices,
        "frames_per_device": frames_per_device,
        "peak_frames_in_flight": state.peak_in_flight,
        "timing_s": {k: round(v, 4) for k, v in timing.items()},
        "model": detector.info(),
    }
    if detector.random_weights:
        summary["warning"] = "Random weights: detections are meaningless (architecture only)."
    return summary
