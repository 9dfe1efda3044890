"""The segmentation run: a detector on keyframes, SAM 2 masks in between, stable ids.

``run_segmentation`` is a generator of events (:mod:`pipeline.runtime.events`), like
:func:`pipeline.detection.run_detection`, consumed alike by the UI, the CLI and
the tests. Its work runs in threads: a decoder (:class:`pipeline.io.FrameReader`),
the segmenting thread, an output thread (annotate, JSON) and the H.264 encoder;
the generator only reports, so a slow consumer drops preview frames instead of
slowing the run. Closing the generator stops the run, joins its threads and
removes its partial files.

How a video is segmented:

- The video is cut into windows of ``window`` frames (a multiple of ``step``);
  consecutive windows share one frame. Each window's frames go into a
  :class:`~pipeline.frame_store.FrameStore` (memory up to a byte budget, JPEG on
  disk beyond), and SAM 2 gets a fresh state for the window, released when the
  window is done. Memory therefore depends on the window, not on the video's length.
- Every ``step`` frames is a keyframe: the detector runs, and
  :class:`~pipeline.keyframes.KeyframeTracker` decides which boxes are objects
  already followed (they keep their id and SAM 2 memory), which re-acquire a
  vanished object, and which are new (next id; their box prompts SAM 2).
- Between keyframes SAM 2 propagates the masks. An object whose mask stays
  empty for ``drop_after`` frames is dropped.
- At a window's first frame the objects carried over are prompted with their
  masks from the shared frame, so ids and shapes continue across windows.

Example:
    >>> config = SegmentationConfig(segmenter="YSAM2-S", queries=("person",), step=10)
    >>> for event in run_segmentation("in.mp4", config, out_video="out.mp4",
    ...                               out_json="masks.json"):  # doctest: +SKIP
    ...     print(event)
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

import models
from models.detectors.base import CLASS_NAME, Detector
from pipeline.configs import DEFAULT_MAX_DURATION_S
from pipeline.io.frame_store import FrameStore
from pipeline.io.rle import encode
from pipeline.io.tracks_json import TracksWriter, frame_objects
from pipeline.io.video import POLL_S, FrameReader, H264Writer, VideoInfo, read_first_frame
from pipeline.runtime.devices import resolve_devices
from pipeline.runtime.errors import PipelineError, RunStopped
from pipeline.runtime.events import Done, Event, FirstFrame
from pipeline.runtime.report import LatestValue
from pipeline.runtime.template import check_video, report_progress
from pipeline.stages.annotation import FrameAnnotator
from pipeline.stages.keyframes import KeyframeTracker

log = logging.getLogger(__name__)

DEFAULT_SEGMENTER = "GSAM2-S"


@dataclass(frozen=True)
class SegmentationConfig:
    """Everything that decides what a segmentation run does.

    Attributes:
        segmenter: Registry name (``GSAM2-S``... ``YSAM2-L``).
        queries: Text prompts (Grounding DINO) or class names to keep (YOLO11;
            empty keeps all).
        step: The detector runs every ``step`` frames (keyframes); SAM 2
            propagates masks in between.
        confidence: Least detection score on keyframes.
        weights: SAM 2 checkpoint, Hub id or config (None: the size's default).
        segmenter_options: Further segmenter options as ``(name, value)`` pairs,
            e.g. ``(("image_size", 512),)``.
        detector: Detector to prompt with instead of the segmenter's own.
        detector_size: Detector size (None: the detector's default).
        detector_weights: Detector weights (None: the detector's default).
        detector_options: Further detector options as ``(name, value)`` pairs.
        devices: Device to run on (the first is used; empty: the first GPU, else the CPU).
        window: Frames per window (rounded up to a multiple of ``step``).
        frame_budget_bytes: Bytes of decoded frames kept in memory; more spill
            to JPEG on disk (None: scaled to the machine's memory).
        match_iou: Least overlap for a detection to be an object already followed.
        drop_after: Frames an object may have an empty mask before it is
            dropped (None: ``step``).
        min_mask_area: Masks with fewer pixels count as empty.
        max_objects: Most objects followed at once.
        max_duration_s: Longer videos are refused (None: no limit).
        max_frames: Stop after this many frames (None: the whole video).
        preview_max_width: Live preview frames are downscaled to this width.
        queue_size: Bound on frames waiting between the threads.
    """

    segmenter: str = DEFAULT_SEGMENTER
    queries: tuple[str, ...] = ()
    step: int = 10
    confidence: float = 0.3
    weights: str | None = None
    segmenter_options: tuple[tuple[str, Any], ...] = ()
    detector: str | None = None
    detector_size: str | None = None
    detector_weights: str | None = None
    detector_options: tuple[tuple[str, Any], ...] = ()
    devices: tuple[str, ...] = ()
    window: int = 60
    frame_budget_bytes: int | None = None
    match_iou: float = 0.3
    drop_after: int | None = None
    min_mask_area: int = 1
    max_objects: int = 50
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S
    max_frames: int | None = None
    preview_max_width: int = 640
    queue_size: int = 16

    def __post_init__(self) -> None:
        if self.step < 1:
            raise PipelineError(f"The keyframe step must be at least 1 frame, not {self.step}.")
        if self.window < 1:
            raise PipelineError(f"The window must be at least 1 frame, not {self.window}.")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise PipelineError(f"Confidence must be between 0 and 1, not {self.confidence}.")
        if not 0.0 < self.match_iou <= 1.0:
            raise PipelineError(f"match_iou must be in (0, 1], not {self.match_iou}.")
        if self.frame_budget_bytes is not None and self.frame_budget_bytes < 0:
            raise PipelineError("The frame budget cannot be negative.")
        if self.max_objects < 1:
            raise PipelineError("max_objects must be at least 1.")

    @property
    def window_frames(self) -> int:
        """Frames per window, a multiple of ``step`` so that windows start on keyframes."""
        return self.step * max(1, math.ceil(self.window / self.step))

    @property
    def drop_after_frames(self) -> int:
        """Frames with an empty mask before an object is dropped."""
        return self.step if self.drop_after is None else self.drop_after

    def segmenter_model_options(self) -> dict[str, Any]:
        """Options passed to the registry for the segmenter."""
        options: dict[str, Any] = dict(self.segmenter_options)
        if self.weights is not None:
            options["weights"] = self.weights
        return options

    def detector_model_options(self) -> dict[str, Any]:
        """Options passed to the registry for the detector."""
        options: dict[str, Any] = dict(self.detector_options)
        if self.detector_size is not None:
            options["size"] = self.detector_size
        if self.detector_weights is not None:
            options["weights"] = self.detector_weights
        return options


def load_models(config: SegmentationConfig, device: str) -> tuple[Any, Detector]:
    """The cached segmenter and its prompting detector on ``device``.

    Raises:
        models.ModelError: Unknown model, missing or unfit weights.
    """
    spec = models.spec("segmenter", config.segmenter)
    segmenter = models.get_cached(
        "segmenter", config.segmenter, device=device, **config.segmenter_model_options()
    )
    detector_name = config.detector or spec.extra["detector"]
    detector = models.get_cached(
        "detector", detector_name, device=device, **config.detector_model_options()
    )
    return segmenter, detector


class SegmentationAnnotator:
    """Masks, then boxes and ``#id class score`` labels; colours follow the object id.

    Args:
        opacity: Opacity of the mask overlay.
    """

    def __init__(self, opacity: float = 0.5) -> None:
        self._masks = sv.MaskAnnotator(opacity=opacity, color_lookup=sv.ColorLookup.TRACK)
        self._boxes = FrameAnnotator()

    def annotate(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """Return a copy of ``image`` (BGR) with the objects drawn."""
        if len(detections) and detections.mask is not None:
            image = self._masks.annotate(image.copy(), detections)
        return self._boxes.annotate(image, detections)


def segment_objects(detections: sv.Detections) -> list[dict[str, Any]]:
    """The JSON objects of one frame: the tracks fields plus ``area`` and ``mask``.

    Args:
        detections: Followed objects with ``mask`` and ``tracker_id``.

    Returns:
        ``[{"track_id", "class", "score", "box", "area", "mask": {"size", "counts"}}, ...]``;
        ``mask`` is COCO RLE (:mod:`pipeline.io.rle`), ``area`` its pixel count.
    """
    objects = frame_objects(detections)
    if detections.mask is not None:
        for obj, mask in zip(objects, detections.mask, strict=True):
            obj["area"] = int(np.count_nonzero(mask))
            obj["mask"] = encode(mask)
    return objects


def first_frame_segmentation(
    video: str | Path, config: SegmentationConfig, annotator: SegmentationAnnotator | None = None
) -> FirstFrame:
    """Detect and segment frame 0 only: the quick preview shown before a run.

    Args:
        video: Video file.
        config: The run's settings.
        annotator: Reused annotator, if the caller has one.

    Returns:
        The annotated first frame (BGR) and its objects (with masks and ids).

    Raises:
        VideoError: The video is unreadable or too long.
        models.ModelError: Unknown model, bad query or missing weights.
    """
    check_video(video, config.max_duration_s)
    device = resolve_devices(config.devices)[0]
    segmenter, detector = load_models(config, device)
    queries = detector.validate_queries(config.queries)
    image = read_first_frame(video).image
    tracker = _new_tracker(config)
    session = segmenter.session(lambda _: image, 1, *image.shape[:2])
    try:
        [found] = detector.detect([image], confidence=config.confidence, queries=queries)
        for row, object_id in tracker.match(0, found, {}).prompts.items():
            session.add_box(0, object_id, found.xyxy[row])
        [(_, masks)] = list(session.propagate(0, 0))
    finally:
        session.close()
    detections, _ = tracker.observe(0, masks, image.shape[:2])
    annotated = (annotator or SegmentationAnnotator()).annotate(image, detections)
    return FirstFrame(image=annotated, detections=detections)


def _new_tracker(config: SegmentationConfig) -> KeyframeTracker:
    return KeyframeTracker(
        match_iou=config.match_iou,
        drop_after=config.drop_after_frames,
        min_mask_area=config.min_mask_area,
        max_objects=config.max_objects,
    )


@dataclass
class _Output:
    """One finished frame on its way to the output thread."""

    index: int
    timestamp: float
    image: np.ndarray
    detections: sv.Detections


_END = object()


@dataclass
class _RunState:
    """What the worker threads share with the reporting generator."""

    frames_done: int = 0
    windows: int = 0
    keyframes: int = 0
    error: BaseException | None = None
    first: FirstFrame | None = None
    started: float = field(default_factory=time.perf_counter)
    timing: dict[str, float] = field(default_factory=dict)
    classes: dict[int, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, exc: BaseException) -> None:
        """Record the first error (later ones are its consequences)."""
        with self.lock:
            if self.error is None:
                self.error = exc

    def add_time(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``timing[stage]``."""
        with self.lock:
            self.timing[stage] = self.timing.get(stage, 0.0) + seconds


class _Segmenting:
    """The segmenting thread's work: windows, keyframes, SAM 2 propagation.

    Emits every frame exactly once, in order, to ``emit``.
    """

    def __init__(
        self,
        *,
        config: SegmentationConfig,
        info: VideoInfo,
        segmenter: Any,
        detector: Detector,
        queries: tuple[str, ...],
        reader: FrameReader,
        store: FrameStore,
        state: _RunState,
        stop: threading.Event,
        emit: Callable[[_Output], None],
    ) -> None:
        self.config = config
        self.shape = (info.height, info.width)
        self.segmenter = segmenter
        self.detector = detector
        self.queries = queries
        self.reader = reader
        self.store = store
        self.state = state
        self.stop = stop
        self.emit_output = emit
        self.tracker = _new_tracker(config)
        self.timestamps: dict[int, float] = {}
        self.start = 0  # index of the current window's first frame
        self.pending_removals: list[int] = []

    def _timed(self, stage: str, started: float) -> None:
        self.state.add_time(stage, time.perf_counter() - started)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise RunStopped("The run was stopped.")

    def _fill_window(self, length: int) -> int:
        """Read frames until the window holds ``length`` of them; returns how many it holds."""
        count = 1 if self.start in self.store else 0
        while count < length:
            self._check_stop()
            started = time.perf_counter()
            frame = self.reader.get()
            if frame is None:
                break
            self.store.put(frame.index, frame.image)
            self.timestamps[frame.index] = frame.timestamp
            self._timed("store", started)
            count += 1
        return count

    def run(self) -> None:
        """Segment the whole video, window after window."""
        length = self.config.window_frames + 1  # windows share their last frame
        carry: dict[int, np.ndarray] = {}
        while True:
            count = self._fill_window(length)
            if count == 0:
                return
            full = count == length
            carry = self._window(count, full, carry)
            self.state.windows += 1
            log.debug(
                "window %d: frames %d-%d, %d objects followed, %d frames spilled so far",
                self.state.windows,
                self.start,
                self.start + count - 1,
                len(self.tracker.objects),
                self.store.frames_spilled,
            )
            if not full:
                return
            # Keep the shared frame: it is the next window's first.
            last = self.start + count - 1
            self.store.discard_before(last)
            for index in [i for i in self.timestamps if i < last]:
                del self.timestamps[index]
            self.start = last

    def _emit(self, local: int, masks: dict[int, np.ndarray]) -> None:
        index = self.start + local
        detections, dropped = self.tracker.observe(index, masks, self.shape)
        self.pending_removals.extend(dropped)
        for object_id, name in zip(
            detections.tracker_id, detections.data.get(CLASS_NAME, []), strict=False
        ):
            self.state.classes[int(object_id)] = str(name)
        self.emit_output(_Output(index, self.timestamps[index], self.store.get(index), detections))

    def _keyframe(self, session: Any, local: int, masks: dict[int, np.ndarray]) -> bool:
        """Detect on a keyframe and prompt SAM 2; True when any prompt was added."""
        index = self.start + local
        started = time.perf_counter()
        [found] = self.detector.detect(
            [self.store.get(index)], confidence=self.config.confidence, queries=self.queries
        )
        self._timed("detect", started)
        started = time.perf_counter()
        decision = self.tracker.match(index, found, masks)
        self.state.keyframes += 1
        prompted = False
        if local == 0:
            # A new window's SAM 2 state knows nothing yet: every object still
            # visible on the shared frame is prompted with its mask.
            reacquired = set(decision.reacquired.values())
            for object_id, mask in masks.items():
                if (
                    object_id in self.tracker.objects
                    and object_id not in reacquired
                    and np.count_nonzero(mask) >= self.tracker.min_mask_area
                ):
                    session.add_mask(0, object_id, mask)
                    prompted = True
        for row, object_id in decision.prompts.items():
            if object_id in session:
                session.remove(object_id)  # re-acquired: start it afresh, same id
            session.add_box(local, object_id, found.xyxy[row])
            prompted = True
        self._timed("sam2", started)
        return prompted

    def _apply_removals(self, session: Any) -> None:
        for object_id in self.pending_removals:
            if object_id in session:
                session.remove(object_id)
        self.pending_removals.clear()

    def _window(
        self, count: int, full: bool, carry: dict[int, np.ndarray]
    ) -> dict[int, np.ndarray]:
        """Segment one window of ``count`` frames; returns the masks of its shared last frame."""
        step = self.config.step
        session = self.segmenter.session(
            lambda local: self.store.get(self.start + local), count, *self.shape
        )
        try:
            self._keyframe(session, 0, carry)
            keyframe, first = 0, 0
            while True:
                last = min(keyframe + step, count - 1)
                if first > last:
                    return {}
                held: dict[int, np.ndarray] = {}
                started = time.perf_counter()
                for local, masks in session.propagate(first, last):
                    self._timed("sam2", started)
                    self._check_stop()
                    if local < last:
                        self._emit(local, masks)
                    else:
                        held = masks
                    started = time.perf_counter()
                self._apply_removals(session)
                if full and last == count - 1:
                    # Not emitted here: the next window starts on this frame.
                    return {i: m for i, m in held.items() if i in self.tracker.objects}
                if last == keyframe + step:
                    keyframe = last
                    if self._keyframe(session, keyframe, held):
                        first = keyframe  # propagate again from the prompts
                    else:
                        self._emit(keyframe, held)
                        first = keyframe + 1
                else:
                    self._emit(last, held)
                    return {}
        finally:
            session.close()


def run_segmentation(
    video: str | Path,
    config: SegmentationConfig,
    *,
    out_video: str | Path,
    out_json: str | Path,
    stop: threading.Event | None = None,
    preview_interval_s: float = 0.1,
) -> Iterator[Event]:
    """Segment and follow objects through a video, yielding events as it goes.

    Args:
        video: Input video file.
        config: The run's settings.
        out_video: Output H.264 ``.mp4`` with masks, boxes and labels.
        out_json: Output JSON: per frame, each object's id, class, score, box,
            mask area and COCO RLE mask.
        stop: Set it to stop the run (as does closing the generator).
        preview_interval_s: Least time between two yielded preview frames.

    Yields:
        ``FirstFrame`` (frame 0 segmented, as soon as it is), ``Progress`` and
        ``Preview`` events, then ``Done``.

    Raises:
        VideoError: Bad or too-long video.
        models.ModelError: Unknown model, bad query or missing weights.
        RunStopped: ``stop`` was set before the end.
        PipelineError: Anything else that failed, with the original message.
    """
    stop = stop or threading.Event()
    out_video, out_json = Path(out_video), Path(out_json)
    info = check_video(video, config.max_duration_s)
    device = resolve_devices(config.devices)[0]
    # Fail on a bad model, weights or query before any thread or file exists.
    segmenter, detector = load_models(config, device)
    queries = detector.validate_queries(config.queries)

    state = _RunState()
    latest: LatestValue[tuple[int, np.ndarray]] = LatestValue()
    # Each waiting frame carries full-size masks (40 MB for 20 objects at 1080p),
    # so fewer wait here than between decoder and model.
    outputs: queue.Queue[object] = queue.Queue(maxsize=max(1, min(config.queue_size, 4)))
    store = FrameStore(config.frame_budget_bytes)
    reader = FrameReader(
        video, queue_size=config.queue_size, stop=stop, max_frames=config.max_frames
    )
    writers: dict[str, Any] = {}
    model_info = {
        "segmenter": segmenter.info(),
        "detector": detector.info(),
        "queries": list(queries),
        "confidence": config.confidence,
        "step": config.step,
        "window": config.window_frames,
    }

    def emit(item: _Output) -> None:
        while not stop.is_set():
            try:
                outputs.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue
        raise RunStopped("The run was stopped.")

    segmenting = _Segmenting(
        config=config,
        info=info,
        segmenter=segmenter,
        detector=detector,
        queries=queries,
        reader=reader,
        store=store,
        state=state,
        stop=stop,
        emit=emit,
    )

    def segment() -> None:
        try:
            segmenting.run()
            if stop.is_set():
                raise RunStopped("The run was stopped.")
            emit(_END)  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - reported by the generator
            state.fail(exc)
            stop.set()

    def write() -> None:
        annotator = SegmentationAnnotator()
        try:
            while True:
                try:
                    item = outputs.get(timeout=POLL_S)
                except queue.Empty:
                    if stop.is_set():
                        return
                    continue
                if item is _END:
                    break
                assert isinstance(item, _Output)
                started = time.perf_counter()
                annotated = annotator.annotate(item.image, item.detections)
                state.add_time("annotate", time.perf_counter() - started)
                writers["video"].write(annotated)
                started = time.perf_counter()
                writers["json"].write(item.index, item.timestamp, item.detections)
                state.add_time("json", time.perf_counter() - started)
                if state.first is None:
                    state.first = FirstFrame(image=annotated, detections=item.detections)
                state.frames_done = item.index + 1
                latest.publish((item.index, annotated))
            writers["video"].close()
            writers["json"].close()
        except BaseException as exc:  # noqa: BLE001 - reported by the generator
            state.fail(exc)
            stop.set()
        finally:
            latest.close()

    threads: list[threading.Thread] = []
    completed = False
    try:
        writers["video"] = H264Writer(
            out_video, info.width, info.height, info.fps, queue_size=config.queue_size, stop=stop
        )
        writers["json"] = TracksWriter(
            out_json,
            {"fps": info.fps, "width": info.width, "height": info.height, "frames": 0},
            model_info,
            objects=segment_objects,
        )
        threads = [
            threading.Thread(target=segment, name="segmenter", daemon=True),
            threading.Thread(target=write, name="segment-writer", daemon=True),
        ]
        for thread in threads:
            thread.start()
        total = min(info.frames, config.max_frames or info.frames) or None
        first_sent = False
        for event in report_progress(
            latest,
            started=state.started,
            frames_done=lambda: state.frames_done,
            total_frames=total,
            preview_interval_s=preview_interval_s,
            preview_max_width=config.preview_max_width,
        ):
            if not first_sent and state.first is not None:
                first_sent = True
                yield state.first
            yield event
        for thread in threads:
            thread.join()
        if state.error is not None:
            raise state.error
        if not first_sent and state.first is not None:
            yield state.first
        elapsed = time.perf_counter() - state.started
        summary = _summary(state, info, elapsed, reader, store, writers["video"], model_info)
        summary["device"] = device
        completed = True
        yield Done(out_video, out_json, None, summary)
    except RunStopped:
        raise
    except (PipelineError, models.ModelError):
        raise
    except Exception as exc:
        raise PipelineError(f"The segmentation run failed: {exc}") from exc
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        reader.close()
        store.close()
        if not completed:
            for writer in writers.values():
                getattr(writer, "abort", writer.close)()
            for path in (out_video, out_json):
                path.unlink(missing_ok=True)


def _summary(
    state: _RunState,
    info: VideoInfo,
    elapsed: float,
    reader: FrameReader,
    store: FrameStore,
    video_writer: H264Writer,
    model_info: dict[str, Any],
) -> dict[str, Any]:
    per_class = Counter(state.classes.values())
    timing = {
        "decode": reader.decode_seconds,
        **state.timing,
        "encode": video_writer.encode_seconds,
    }
    summary: dict[str, Any] = {
        "frames": state.frames_done,
        "tracks": len(state.classes),
        "tracks_per_class": dict(per_class.most_common()),
        "fps": round(state.frames_done / max(elapsed, 1e-9), 2),
        "seconds": round(elapsed, 3),
        "video": {"width": info.width, "height": info.height, "fps": info.fps},
        "windows": state.windows,
        "keyframes": state.keyframes,
        "frame_store": {
            "budget_bytes": store.budget_bytes,
            "peak_bytes_in_memory": store.peak_bytes_in_memory,
            "frames_spilled": store.frames_spilled,
        },
        "timing_s": {k: round(v, 4) for k, v in timing.items()},
        "model": model_info,
    }
    if model_info["segmenter"]["random_weights"] or model_info["detector"].get("random_weights"):
        summary["warning"] = "Random weights: masks are meaningless (architecture only)."
    return summary
