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
    config = SegmentationConfig(segmenter="YSAM2-S", queries=("person",), step=10)
    for event in run_segmentation("in.mp4", config, out_video="out.mp4",
                                  out_json="masks.json"):
        print(event)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

import models
from models.detectors.base import Detector
from models.segmenters.base import Segmenter, TextSegmenter
from models.timing import timed
from pipeline.configs import SegmentationConfig
from pipeline.errors import RunStopped
from pipeline.io.frame_store import FrameStore
from pipeline.io.tracks_json import TracksWriter, segment_objects
from pipeline.io.video import VIDEO_SUFFIXES, Frame, FrameReader, VideoInfo
from pipeline.runs.after_counting import check_privacy_classes
from pipeline.runtime.chunks import Chunk
from pipeline.runtime.events import FirstFrame
from pipeline.runtime.model_facts import ModelFacts
from pipeline.runtime.producers import ThreadProducer
from pipeline.runtime.template import Output, OutputFile, Run
from pipeline.stages.annotation import SegmentationAnnotator
from pipeline.stages.click_prompts import add_click_prompts, check_clickable, check_inside
from pipeline.stages.keyframes import KeyframeTracker
from pipeline.stages.privacy import PrivacyFilter
from pipeline.stages.text_objects import TextObjects
from pipeline.stages.track_ledger import TrackLedger

log = logging.getLogger(__name__)


def load_models(config: SegmentationConfig, device: str) -> tuple[Segmenter, Detector | None]:
    """The cached segmenter and its prompting detector on ``device``.

    With objects picked by hand (``config.prompts``), or a segmenter that finds
    the text queries itself (SAM 3), no detector is loaded.

    Raises:
        models.ModelError: Unknown model, missing or unfit weights.
    """
    segmenter = models.get_cached(
        "segmenter", config.segmenter, device=device, **config.segmenter_model_options()
    )
    if config.prompts is not None or config.text_prompted:
        return segmenter, None
    detector = models.get_cached(
        "detector", config.prompting_detector, device=device, **config.detector_model_options()
    )
    return segmenter, detector


def _new_tracker(config: SegmentationConfig) -> KeyframeTracker:
    return KeyframeTracker(
        match_iou=config.match_iou,
        drop_after=config.drop_after_frames,
        min_mask_area=config.min_mask_area,
        max_objects=config.max_objects,
    )


@dataclass(frozen=True)
class SegmentationCarry:
    """What a segmentation call leaves the next (:mod:`pipeline.runtime.chunks`).

    Attributes:
        tracker: The objects followed, their ids and the next id.
        masks: The masks of the last window's shared last frame, by object id:
            the next call's first window starts on that frame with them.
        counts: Windows and keyframes so far.
    """

    tracker: KeyframeTracker
    masks: dict[int, np.ndarray]
    counts: dict[str, int]


#: Each frame waiting for the output stage carries full-size masks (40 MB for 20
#: objects at 1080p), so fewer wait there than between decoder and model.
MAX_FRAMES_WAITING_WITH_MASKS = 4


class SegmentationRun(Run[SegmentationConfig, sv.Detections]):
    """Find objects on keyframes, follow their masks with SAM 2, draw and write them.

    It runs on one device, the first of the run's devices.
    """

    config_type = SegmentationConfig
    task = "segmentation"
    outputs = {
        "video": Output(
            "segments.mp4",
            "the annotated H.264 video (without it, only the masks are written)",
            "--out",
            required=False,
            in_folder=True,
            suffixes=VIDEO_SUFFIXES,
        ),
        "masks": Output(
            "masks.json",
            "each object's box, area and mask (COCO RLE) per frame",
            "--json",
            aliases=("tracks",),
        ),
    }
    # SAM 2 on frame 0 alone would cost as much as the run's own frame 0.
    preview_before_run = False
    results_noun = "masks"

    def __init__(
        self, config: SegmentationConfig, info: VideoInfo, devices: list[str], **options: Any
    ) -> None:
        super().__init__(config, info, devices[:1], **options)
        self.tracker = _new_tracker(config)
        self.annotator = SegmentationAnnotator()
        self.privacy = (
            PrivacyFilter(config.privacy, config.privacy_classes) if config.privacy else None
        )
        self.tracks = TrackLedger()
        self.counts = {"windows": 0, "keyframes": 0}
        self.store: FrameStore | None = None
        self._segmenting: _Segmenting | None = None
        self.files: dict[str, Any] = {}
        self._models_ready()

    def load_models(self) -> None:
        self.segmenter, self.detector = load_models(self.config, self.devices[0])
        self.prompts = self.config.click_prompts
        if self.prompts is not None:
            check_inside(self.prompts, self.info.width, self.info.height, self.info.frames)
            # A session reads no frame until it propagates: this one only shows its kind.
            probe = self.segmenter.session(
                self.info.first_frame, 1, self.info.height, self.info.width
            )
            try:
                check_clickable(probe, self.config.segmenter)
            finally:
                probe.close()
        self.text = isinstance(self.segmenter, TextSegmenter)
        if self.text:
            self.queries = self.segmenter.validate_queries(self.config.queries)
        else:
            self.queries = (
                () if self.detector is None else self.detector.validate_queries(self.config.queries)
            )
        if self.detector is not None:
            check_privacy_classes(self.config, self.detector)

    def describe_models(self) -> ModelFacts:
        detector = self.detector
        info: dict[str, Any] = {"segmenter": self.segmenter.info()}
        if detector is not None:
            info.update(
                detector=detector.info(),
                queries=list(self.queries),
                confidence=self.config.confidence,
                step=self.config.step,
            )
        if self.text:
            info["queries"] = list(self.queries)
        if self.prompts is not None:
            info["prompts"] = self.prompts.to_json()
        info["window"] = self.config.window_frames
        return ModelFacts(
            info=info,
            devices=self.devices,
            queries=self.queries,
            open_vocabulary=self.text or bool(detector is not None and detector.open_vocabulary),
            random_weights=bool(
                self.segmenter.random_weights or (detector is not None and detector.random_weights)
            ),
        )

    def preview(self, frame: Frame) -> FirstFrame:
        """Detect (or take the objects picked on it) and segment frame 0 alone."""
        image = frame.image
        if self.text:
            return self._preview_by_text(image)
        session = self.segmenter.session(lambda _: image, 1, *image.shape[:2])
        try:
            if self.detector is None:
                if self.prompts is not None and self.prompts.frame == 0:
                    add_click_prompts(session, 0, self.prompts)
                    self.tracker.adopt(0, {i: o.extent() for i, o in self.prompts.by_id().items()})
            else:
                [found] = self.detector.detect(
                    [image], confidence=self.config.confidence, queries=self.queries
                )
                for row, object_id in self.tracker.match(0, found, {}).prompts.items():
                    session.add_box(0, object_id, found.xyxy[row])
            [(_, masks)] = list(session.propagate(0, 0))
        finally:
            session.close()
        detections, _ = self.tracker.observe(0, masks, image.shape[:2])
        shown = self._hide(image, detections)
        return FirstFrame(image=self.annotator.annotate(shown, detections), detections=detections)

    def _preview_by_text(self, image: np.ndarray) -> FirstFrame:
        """Frame 0 alone, its objects found by the segmenter from the queries (SAM 3)."""
        session = self.segmenter.text_session(lambda _: image, 1, *image.shape[:2])
        try:
            session.add_text(self.queries)
            [(_, found)] = list(session.propagate(0, 0))
        finally:
            session.close()
        masks = TextObjects(self.tracker).assign(0, found)
        detections, _ = self.tracker.observe(0, masks, image.shape[:2])
        shown = self._hide(image, detections)
        return FirstFrame(image=self.annotator.annotate(shown, detections), detections=detections)

    def _hide(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """``image`` with the chosen objects hidden within their masks (when privacy is on)."""
        return image if self.privacy is None else self.privacy.apply(image, detections)

    def producer(self, reader: FrameReader, stop: threading.Event) -> ThreadProducer[sv.Detections]:
        return self._segmenting_thread(reader, stop)

    def _segmenting_thread(
        self, reader: FrameReader, stop: threading.Event, **where: Any
    ) -> ThreadProducer[sv.Detections]:
        """The segmenting thread over ``reader``; ``where``: a call's start, carry and frames."""
        self.store = FrameStore(self.config.frame_budget_bytes)

        def produce(emit: Callable[[Frame, sv.Detections], None], timing: dict[str, float]) -> None:
            self._segmenting = _Segmenting(self, reader, stop, timing, emit, **where)
            self._segmenting.run()

        return ThreadProducer(
            produce,
            stop,
            device=self.devices[0],
            queue_size=min(self.config.queue_size, MAX_FRAMES_WAITING_WITH_MASKS),
            name="segmenter",
        )

    # A call decodes its last window's shared frame too: its masks start the next call.
    chunk_overlap = 1

    def chunk_frames(self, frames: int) -> int:
        """Whole windows per call, at least one: calls then split where windows do."""
        window = self.config.window_frames
        return max(window, frames // window * window)

    def chunk_producer(
        self, reader: FrameReader, stop: threading.Event, chunk: Chunk
    ) -> ThreadProducer[sv.Detections]:
        carry: dict[int, np.ndarray] = {}
        if chunk.state is not None:
            self.carry_over(chunk.state)
            carry = chunk.state.masks
        return self._segmenting_thread(
            reader, stop, start=chunk.start, carry=carry, frames=chunk.frames
        )

    def chunk_state(self) -> SegmentationCarry:
        carry = self._segmenting.carry if self._segmenting is not None else {}
        return SegmentationCarry(self.tracker, carry, dict(self.counts))

    def carry_over(self, state: SegmentationCarry) -> None:
        self.tracker = state.tracker
        self.counts = dict(state.counts)

    def open_files(self, outputs: Mapping[str, Path]) -> dict[str, OutputFile]:
        self.files["masks"] = TracksWriter(
            outputs["masks"], self.info, self.model_info(), objects=segment_objects
        )
        return self.files

    def process(
        self, frame: Frame, result: sv.Detections, timing: dict[str, float]
    ) -> tuple[np.ndarray, sv.Detections]:
        image = frame.image
        if self.privacy is not None:
            with timed(timing, "privacy"):
                image = self.privacy.apply(image, result)
        with timed(timing, "annotate"):
            annotated = self.annotator.annotate(image, result)
        with timed(timing, "json"):
            self.files["masks"].write(frame.index, frame.timestamp, result)
        self.tracks.add(frame.index, frame.timestamp, result)
        return annotated, result

    def summary(self) -> dict[str, Any]:
        store = self.store
        return {
            **self.tracks.summary(),
            **self.counts,
            "frame_store": {
                "budget_bytes": store.budget_bytes if store else None,
                "peak_bytes_in_memory": store.peak_bytes_in_memory if store else 0,
                "frames_spilled": store.frames_spilled if store else 0,
            },
            "device": (self.facts.devices if self.facts else self.devices)[0],
            **({"privacy": self.privacy.to_json()} if self.privacy is not None else {}),
        }

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class _Segmenting:
    """The segmenting thread's work: windows, keyframes, SAM 2 propagation.

    Emits every frame exactly once, in order, to ``emit``.
    """

    def __init__(
        self,
        run: SegmentationRun,
        reader: FrameReader,
        stop: threading.Event,
        timing: dict[str, float],
        emit: Callable[[Frame, sv.Detections], None],
        *,
        start: int = 0,
        carry: dict[int, np.ndarray] | None = None,
        frames: int | None = None,
    ) -> None:
        self.config = run.config
        self.shape = (run.info.height, run.info.width)
        self.segmenter = run.segmenter
        self.detector = run.detector
        self.queries = run.queries
        self.prompts = run.prompts
        self.tracker = run.tracker
        self.store = run.store
        self.counts = run.counts
        self.reader = reader
        self.stop = stop
        self.timing = timing
        self.emit_frame = emit
        self.timestamps: dict[int, float] = {}
        self.start = start  # index of the current window's first frame
        #: The masks of the last full window's shared last frame, for the next window.
        self.carry: dict[int, np.ndarray] = carry or {}
        # A call of a run split into calls ends at the first window end past this.
        self.frames = frames
        self.pending_removals: list[int] = []
        self.text_objects = TextObjects(self.tracker) if run.text else None

    def _timed(self, stage: str, started: float) -> None:
        self.timing[stage] = self.timing.get(stage, 0.0) + time.perf_counter() - started

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

    def _skip_to_prompts(self) -> bool:
        """Emit the frames before the prompted one without objects; False at the video's end."""
        assert self.prompts is not None
        # A call of a split run ends before its last frame: the next call starts there.
        end = None if self.frames is None else self.start + self.frames
        while self.start < self.prompts.frame:
            self._check_stop()
            if end is not None and self.start >= end:
                return False
            frame = self.reader.get()
            if frame is None:
                return False
            self.emit_frame(frame, sv.Detections.empty())
            self.start = frame.index + 1
        return True

    def run(self) -> None:
        """Segment the whole video, window after window."""
        window = self.config.window_frames
        length = window + 1  # windows share their last frame
        first = self.start
        if self.prompts is not None and not self.carry:
            if not self._skip_to_prompts():
                return
            # The first window ends where a window from frame 0 would, as calls of a
            # split run do: the later windows and calls stay aligned.
            length = window - self.start % window + 1
        while True:
            count = self._fill_window(length)
            if count == 0:
                return
            full = count == length
            length = window + 1
            self.carry = self._window(count, full, self.carry)
            self.counts["windows"] += 1
            log.debug(
                "window %d: frames %d-%d, %d objects followed, %d frames spilled so far",
                self.counts["windows"],
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
            if self.frames is not None and last - first >= self.frames:
                return  # the shared frame and its masks are the next call's start

    def _emit(self, local: int, masks: dict[int, np.ndarray]) -> None:
        index = self.start + local
        detections, dropped = self.tracker.observe(index, masks, self.shape)
        self.pending_removals.extend(dropped)
        self.emit_frame(Frame(index, self.timestamps[index], self.store.get(index)), detections)

    def _keyframe(self, session: Any, local: int, masks: dict[int, np.ndarray]) -> bool:
        """Detect on a keyframe and prompt SAM 2; True when any prompt was added.

        With objects picked by hand nothing is detected: the window's first
        frame carries the objects over, and the prompted frame gets the clicks.
        """
        if self.detector is None:
            return self._hand_picked(session, local, masks)
        index = self.start + local
        started = time.perf_counter()
        [found] = self.detector.detect(
            [self.store.get(index)], confidence=self.config.confidence, queries=self.queries
        )
        self._timed("detect", started)
        started = time.perf_counter()
        decision = self.tracker.match(index, found, masks)
        self.counts["keyframes"] += 1
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

    def _hand_picked(self, session: Any, local: int, masks: dict[int, np.ndarray]) -> bool:
        """Prompt the objects picked by hand on their frame, or carry them into a window."""
        if local != 0:
            return False
        started = time.perf_counter()
        prompted = False
        assert self.prompts is not None
        if self.start == self.prompts.frame and not masks:
            add_click_prompts(session, 0, self.prompts)
            self.tracker.adopt(self.start, {i: o.extent() for i, o in self.prompts.by_id().items()})
            self.counts["keyframes"] += 1
            prompted = True
        for object_id, mask in masks.items():
            if (
                object_id in self.tracker.objects
                and np.count_nonzero(mask) >= self.tracker.min_mask_area
            ):
                session.add_mask(0, object_id, mask)
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
        if self.text_objects is not None:
            return self._window_by_text(count, full, carry)
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

    def _window_by_text(
        self, count: int, full: bool, carry: dict[int, np.ndarray]
    ) -> dict[int, np.ndarray]:
        """One window with a segmenter that finds the queries itself (SAM 3) on every frame.

        Its session numbers objects afresh; :class:`TextObjects` gives them the
        run's ids, matching the first frame's with ``carry`` (the same frame's
        masks at the end of the previous window).
        """
        assert self.text_objects is not None
        session = self.segmenter.text_session(
            lambda local: self.store.get(self.start + local), count, *self.shape
        )
        self.text_objects.new_session()
        try:
            session.add_text(self.queries)
            started = time.perf_counter()
            for local, found in session.propagate(0, count - 1):
                self._check_stop()
                masks = self.text_objects.assign(
                    self.start + local, found, carry if local == 0 else None
                )
                self._timed("sam3", started)
                if full and local == count - 1:
                    # Not emitted here: the next window starts on this frame.
                    return {i: m for i, m in masks.items() if i in self.tracker.objects}
                self._emit(local, masks)
                # Dropped ids need nothing from the session: TextObjects gives a
                # dropped object's instance a new id if SAM 3 shows it again.
                self.pending_removals.clear()
                started = time.perf_counter()
            return {}
        finally:
            session.close()
