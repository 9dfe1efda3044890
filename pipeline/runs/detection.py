"""The detection run: detect on every device, then track, annotate and write in order.

Example:
    from pipeline import start
    events = start("clip.mp4", DetectionConfig(detector="yolox_nano"),
                   {"video": "out.mp4", "tracks": "tracks.json"})
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv

import models
from models.depth.base import DepthEstimator
from models.detectors.base import Detector
from models.timing import add_timing, timed
from pipeline.configs import DEPTH_MODEL, DepthConfig, DetectionConfig
from pipeline.errors import ConfigError
from pipeline.io.csv_tables import ObjectsCsvWriter, TracksCsvWriter
from pipeline.io.mot_files import MotWriter
from pipeline.io.tracks_json import TracksWriter
from pipeline.io.video import VIDEO_SUFFIXES, Frame, H264Writer, VideoInfo
from pipeline.runs.after_counting import AfterCounting, check_privacy_classes, frame_slicer
from pipeline.runs.depth import depth_normalizer, depth_painter
from pipeline.runtime.events import FirstFrame
from pipeline.runtime.model_facts import ModelFacts
from pipeline.runtime.template import Output, OutputFile, Run
from pipeline.stages.annotation import FrameAnnotator
from pipeline.stages.counting import CountingStage, check_inside, to_json
from pipeline.stages.depth_display import DepthNormalizer, DepthPainter
from pipeline.stages.heatmap import IMAGE_SUFFIXES
from pipeline.stages.object_depth import add_object_depths
from pipeline.stages.slicing import check_tiles
from pipeline.stages.stride import FixedStride, frame_stride
from pipeline.stages.track_ledger import TrackLedger
from pipeline.stages.tracker_registry import tracker_params_for
from pipeline.stages.tracking import ObjectTracker

#: The depth video of a detection run is at most this wide (depth is coarse anyway:
#: the model sees 518 px), so its maps are small while they wait for the in-order stage.
DEPTH_VIDEO_MAX_WIDTH = 640


#: The least time step between two frames given to a strided run's tracker (seconds).
_MIN_TIME_STEP_S = 1e-3

#: What the summary says of ``detect_every=auto`` on a file (pipeline.stages.stride).
STRIDE_AUTO_FILE_NOTE = (
    "auto detects on every frame of a file (nothing to keep up with); give a number to skip"
)


@functools.cache
def depth_video_style() -> DepthConfig:
    """How a detection run's depth video looks: the depth runs' colours and smoothing."""
    return DepthConfig(view="depth", max_duration_s=None)


@dataclass(frozen=True)
class FrameResult:
    """What a device found on one frame: the detections, and a small depth map when wanted.

    Attributes:
        detections: With each object's depth in ``data["depth"]`` when measured;
            None on a frame off the detection stride (the tracker predicts it).
        depth: The frame's depth at most :data:`DEPTH_VIDEO_MAX_WIDTH` wide
            (float16), for the depth video; None when not wanted.
    """

    detections: sv.Detections | None
    depth: np.ndarray | None = None


def depth_video_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` of a detection run's depth video for frames of this size."""
    if width <= DEPTH_VIDEO_MAX_WIDTH:
        return width, height
    return DEPTH_VIDEO_MAX_WIDTH, max(2, round(height * DEPTH_VIDEO_MAX_WIDTH / width))


def _small_depth(depth: np.ndarray) -> np.ndarray:
    size = depth_video_size(depth.shape[1], depth.shape[0])
    if size != depth.shape[::-1]:
        depth = cv2.resize(depth, size, interpolation=cv2.INTER_AREA)
    return depth.astype(np.float16)


def _paint_depth(
    image: np.ndarray, depth: np.ndarray, normalizer: DepthNormalizer, painter: DepthPainter
) -> np.ndarray:
    """A frame's small depth map (:func:`_small_depth`) coloured at its own size."""
    depth = depth.astype(np.float32)
    image = cv2.resize(image, depth.shape[::-1], interpolation=cv2.INTER_AREA)
    return painter.paint(image, depth, normalizer.update(depth))


def check_speed_area(config: DetectionConfig, info: VideoInfo) -> None:
    """The speed area's points lie inside the video's frame.

    Raises:
        ConfigError: A point outside it, named with the frame's size.
    """
    for x, y in config.speed_area:
        if not (0 <= x <= info.width and 0 <= y <= info.height):
            raise ConfigError(
                f"The speed area's point ({x:g}, {y:g}) is outside the "
                f"{info.width}x{info.height} video."
            )


def load_detector(config: DetectionConfig, device: str) -> Detector:
    """The cached detector instance for ``device`` (one per model, options and device)."""
    return models.get_cached("detector", config.detector, device=device, **config.model_options())


class _FrameModels:
    """One device's models for a detection run: the detector, and depth when asked."""

    def __init__(self, config: DetectionConfig, device: str) -> None:
        self.config = config
        self.detector = load_detector(config, device)
        self.slicer = frame_slicer(config)
        self.depth: DepthEstimator | None = None
        if config.depth:
            self.depth = models.get_cached(
                "depth", DEPTH_MODEL, device=device, **config.depth_options()
            )

    def __call__(
        self,
        images: list[np.ndarray],
        queries: tuple[str, ...],
        timing: dict[str, float],
        *,
        keep_depth: bool = False,
    ) -> list[FrameResult]:
        if self.slicer is not None:
            detections = self.slicer.detect(
                self.detector, images, confidence=self.config.confidence, queries=queries,
                timing=timing,
            )  # fmt: skip
        else:
            detections = self.detector.detect(
                images, confidence=self.config.confidence, queries=queries, timing=timing
            )
        if self.depth is None:
            return [FrameResult(d) for d in detections]
        # Per-object depth is computed here, on the worker, so full-size depth maps
        # never wait in the reorder buffer (only a small copy, for the depth video).
        depth_timing: dict[str, float] = {}
        maps = self.depth.predict(images, timing=depth_timing)
        add_timing(timing, depth_timing, prefix="depth_")
        return [
            FrameResult(add_object_depths(d, m), _small_depth(m) if keep_depth else None)
            for d, m in zip(detections, maps, strict=True)
        ]


class DetectionRun(Run[DetectionConfig, FrameResult]):
    """Detect objects on every device, track them, count them, draw and write them."""

    config_type = DetectionConfig
    task = "detection"
    outputs = {
        "video": Output(
            "detections.mp4",
            "the annotated H.264 video (without it, only the tracks are written)",
            "--out",
            required=False,
            in_folder=True,
            suffixes=VIDEO_SUFFIXES,
        ),
        "tracks": Output("tracks.json", "the tracks, per frame (JSON)", "--tracks"),
        "mot": Output("tracks.txt", "the tracks in MOTChallenge text", "--mot", required=False),
        "depth_video": Output(
            "depth.mp4",
            "the depth video (with --depth; at most 640 px wide)",
            "--depth-out",
            required=False,
            needs="depth",
            in_folder=True,
            suffixes=VIDEO_SUFFIXES,
        ),
        "tracks_csv": Output(
            "tracks.csv",
            "one CSV row per track (frames, times, mean score, crossings, seconds in zones)",
            "--tracks-csv",
            required=False,
            in_folder=True,
        ),
        "objects_csv": Output(
            "objects.csv",
            "one CSV row per object per frame (time, id, class, score, box)",
            "--objects-csv",
            required=False,
            in_folder=True,
        ),
        "heatmap": Output(
            "heatmap.png",
            "where objects were over the whole video, all and per class (with --heatmap)",
            "--heatmap-out",
            required=False,
            needs="heatmap",
            in_folder=True,
            suffixes=IMAGE_SUFFIXES,
        ),
    }
    results_noun = "detections"

    @classmethod
    def check_config(cls, config: DetectionConfig, info: VideoInfo) -> None:
        """Lines, zones and the speed area lie inside the frame; slicing makes few enough tiles."""
        check_inside(config.lines, config.zones, info.width, info.height)
        check_speed_area(config, info)
        if config.slicing:
            check_tiles(info.width, info.height, config.slice_size)

    def __init__(
        self, config: DetectionConfig, info: VideoInfo, devices: list[str], **options: Any
    ) -> None:
        super().__init__(config, info, devices, **options)
        self.per_device: dict[str, _FrameModels] = {}
        self.annotator = FrameAnnotator()
        self.ledger = TrackLedger()
        self.counting = CountingStage(config.lines, config.zones, fps=info.fps)
        self.extras = AfterCounting(config, info.fps, info.width, info.height)
        self.files: dict[str, Any] = {}
        self.stride = frame_stride(config.detect_every, live=info.live is not None, fps=info.fps)
        self.detected_frames = self.predicted_frames = 0
        self._last_depth: np.ndarray | None = None
        self._last_found: sv.Detections | None = None
        self._track_time = -math.inf
        self._models_ready()

    def load_models(self) -> None:
        self.per_device = {
            device: _FrameModels(self.config, device) for device in dict.fromkeys(self.devices)
        }
        self.models = self.per_device[self.devices[0]]
        self.queries = self.models.detector.validate_queries(self.config.queries)
        check_privacy_classes(self.config, self.models.detector)

    def describe_models(self) -> ModelFacts:
        detector, depth = self.models.detector, self.models.depth
        info = {
            **detector.info(),
            "queries": list(self.queries),
            "confidence": self.config.confidence,
            "devices": self.devices,
        }
        if depth is not None:
            info["depth"] = depth.info()
        return ModelFacts(
            info=info,
            devices=self.devices,
            queries=self.queries,
            open_vocabulary=detector.open_vocabulary,
            random_weights=detector.random_weights,
        )

    @functools.cached_property
    def tracker(self) -> ObjectTracker:
        """The run's tracker, made at its first frame (importing it is not free)."""
        name = self.config.tracker
        params = tracker_params_for(
            name, dict(self.config.tracker_params), self.model_facts.open_vocabulary
        )
        return ObjectTracker(frame_rate=self.info.fps, tracker=name, params=params)

    def fed_live(self, fps: float) -> None:
        """A live source sending ``fps`` frames a second: ``detect_every=auto`` keeps up with it."""
        self.stride = frame_stride(self.config.detect_every, live=True, fps=fps)

    @property
    def strided(self) -> bool:
        """Whether some frames may skip the detector (a stride other than 1, or ``auto`` live)."""
        return not (isinstance(self.stride, FixedStride) and self.stride.stride == 1)

    def preview(self, frame: Frame) -> FirstFrame:
        """Frame 0's detections, drawn (before tracking: a track needs two frames)."""
        [result] = self.models([frame.image], self.queries, {}, keep_depth=True)
        depth_view = None
        if result.depth is not None:
            style = depth_video_style()
            depth_view = _paint_depth(
                frame.image, result.depth, depth_normalizer(style), depth_painter(style)
            )
        shown = self.extras.hide(frame.image, result.detections)
        image = self.annotator.annotate(shown, result.detections)
        # A stage of its own: the preview may come while the run counts.
        CountingStage(self.config.lines, self.config.zones).annotate(image)
        return FirstFrame(
            image=image,
            detections=result.detections,
            depth_view=depth_view,
        )

    def process_batch(
        self, device: str, images: list[np.ndarray], timing: dict[str, float]
    ) -> list[FrameResult]:
        keep_depth = "depth_video" in self.writing
        return self.per_device[device](images, self.queries, timing, keep_depth=keep_depth)

    def process_frames(
        self, device: str, frames: list[Frame], timing: dict[str, float]
    ) -> list[FrameResult]:
        """Detect on the frames on the stride; the others get an empty result to predict."""
        chosen = [frame for frame in frames if self.stride.detects(frame.index)]
        found: list[FrameResult] = []
        if chosen:
            started = time.perf_counter()
            found = self.process_batch(device, [frame.image for frame in chosen], timing)
            self.stride.observe_detection((time.perf_counter() - started) / len(chosen))
        by_index = dict(zip((frame.index for frame in chosen), found, strict=True))
        return [by_index.get(frame.index, FrameResult(None)) for frame in frames]

    def batch_size(self, device: str) -> int:
        return self.config.batch_size or self.per_device[device].detector.default_batch_size

    def open_files(self, outputs: Mapping[str, Path]) -> dict[str, OutputFile]:
        counting = to_json(self.config.lines, self.config.zones) if self.counting.active else None
        self.files["tracks"] = TracksWriter(
            outputs["tracks"], self.info, self.model_info(), counting=counting
        )
        if "mot" in outputs:
            self.files["mot"] = MotWriter(outputs["mot"])
        if "objects_csv" in outputs:
            self.files["objects_csv"] = ObjectsCsvWriter(
                outputs["objects_csv"], with_depth=self.config.depth, with_predicted=self.strided
            )
        if "tracks_csv" in outputs:
            self.files["tracks_csv"] = TracksCsvWriter(
                outputs["tracks_csv"], self.ledger, self.counting, with_depth=self.config.depth,
                speed=self.extras.speed,
            )  # fmt: skip
        self.files.update(self.extras.open_files(outputs))
        if "depth_video" in outputs:
            style = depth_video_style()
            self.depth_normalizer, self.depth_painter = (
                depth_normalizer(style),
                depth_painter(style),
            )
            width, height = depth_video_size(self.info.width, self.info.height)
            self.files["depth_video"] = H264Writer(
                outputs["depth_video"], width, height, self.info.fps,
                queue_size=self.config.queue_size, live=self.info.live is not None,
            )  # fmt: skip
        return self.files

    def process(
        self, frame: Frame, result: FrameResult, timing: dict[str, float]
    ) -> tuple[np.ndarray, sv.Detections]:
        started = time.perf_counter()
        detections = result.detections
        # Strided runs give the tracker times (its motion model steps by the gap), kept
        # increasing: a live stream's may repeat or step back, and the tracker would
        # skip such a frame.
        when = None
        if self.strided:
            when = self._track_time = max(frame.timestamp, self._track_time + _MIN_TIME_STEP_S)
        with timed(timing, "track"):
            if detections is None:
                tracked = self.tracker.predict(self._track_time)
                self.predicted_frames += 1
            else:
                tracked = self.tracker.update(detections, timestamp=when)
                self.detected_frames += 1
        tracked = self.extras.measure(tracked, frame.timestamp, timing)
        depth = result.depth
        if "depth_video" in self.files:
            # A predicted frame has no depth map: the depth video holds the last one.
            depth = self._last_depth = depth if depth is not None else self._last_depth
        if depth is not None:
            with timed(timing, "depth_colorize"):
                shown = _paint_depth(frame.image, depth, self.depth_normalizer, self.depth_painter)
                self.files["depth_video"].write(shown, frame.timestamp)
        self.ledger.add(frame.index, frame.timestamp, tracked)
        events = None
        if self.counting.active:
            with timed(timing, "count"):
                events = self.counting.update(tracked, frame.timestamp)
        if detections is not None:
            self._last_found = detections
        # Privacy hides a predicted frame's boxes and the last detected frame's
        # (unconfirmed objects have no predicted box).
        found = detections if detections is not None else self._last_found
        image = self.extras.under(frame.image, found, tracked, timing)
        with timed(timing, "annotate"):
            annotated = self.counting.annotate(self.annotator.annotate(image, tracked))
        annotated = self.extras.over(annotated, tracked, timing)
        with timed(timing, "write"):
            if "tracks" in self.files:  # a live session that records nothing has none
                self.files["tracks"].write(frame.index, frame.timestamp, tracked, events)
            if "mot" in self.files:
                self.files["mot"].write(frame.index, tracked)
            if "objects_csv" in self.files:
                self.files["objects_csv"].write(frame.index, frame.timestamp, tracked)
        self.stride.observe_rest(time.perf_counter() - started)
        return annotated, tracked

    def summary(self) -> dict[str, Any]:
        summary = self.ledger.summary()
        if self.facts is not None:  # none when stopped before a split run's first call answered
            summary["tracker"] = {"name": self.tracker.tracker_name, "params": self.tracker.params}
            depth_model = self.facts.info.get("depth")
            if depth_model is not None:
                summary["depth_model"] = depth_model
                summary["near_to_far"] = [
                    {"track_id": track_id, "depth": round(depth, 4)}
                    for track_id, depth in self.ledger.near_to_far()
                ]
        if self.counting.active:
            summary["counting"] = self.counting.summary()
        summary.update(self.extras.summary())
        if self.config.detect_every != 1:
            summary["detection_stride"] = {
                "detect_every": self.config.detect_every,
                "detected_frames": self.detected_frames,
                "predicted_frames": self.predicted_frames,
            }
            if not self.strided:
                summary["detection_stride"]["note"] = STRIDE_AUTO_FILE_NOTE
        return summary
