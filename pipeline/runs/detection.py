"""The detection run: detect on every device, then track, annotate and write in order.

Example:
    >>> from pipeline import start
    >>> events = start("detection", "clip.mp4", DetectionConfig(detector="yolox_nano"),
    ...                {"video": "out.mp4", "tracks": "tracks.json"})  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

import models
from models.depth.base import DepthEstimator
from models.detectors.base import Detector
from models.timing import add_timing, timed
from pipeline.configs import DEPTH_MODEL, DetectionConfig
from pipeline.io.mot_files import MotWriter
from pipeline.io.tracks_json import TracksWriter
from pipeline.io.video import Frame, VideoInfo
from pipeline.runtime.events import FirstFrame
from pipeline.runtime.template import Output, OutputFile, Run
from pipeline.stages.annotation import FrameAnnotator
from pipeline.stages.object_depth import TrackDepths, add_object_depths
from pipeline.stages.track_classes import TrackClasses
from pipeline.stages.tracking import ObjectTracker, tracker_config_for


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
                "depth", DEPTH_MODEL, device=device, **config.depth_options()
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


class DetectionRun(Run[DetectionConfig, sv.Detections]):
    """Detect objects on every device, track them with ByteTrack, draw and write them."""

    config_type = DetectionConfig
    task = "detection"
    outputs = {
        "video": Output("detections.mp4", "the annotated H.264 video", "--out"),
        "tracks": Output("tracks.json", "the tracks, per frame (JSON)", "--tracks"),
        "mot": Output("tracks.txt", "the tracks in MOTChallenge text", "--mot", required=False),
    }
    results_noun = "detections"

    def __init__(self, config: DetectionConfig, info: VideoInfo, devices: list[str]) -> None:
        super().__init__(config, info, devices)
        self.per_device = {
            device: _FrameModels(config, device) for device in dict.fromkeys(devices)
        }
        self.models = self.per_device[devices[0]]
        self.detector = self.models.detector
        self.queries = self.detector.validate_queries(config.queries)
        self.annotator = FrameAnnotator()
        self.track_classes = TrackClasses()
        self.track_depths = TrackDepths()
        self.files: dict[str, Any] = {}

    @functools.cached_property
    def tracker(self) -> ObjectTracker:
        """ByteTrack for this run, made at its first frame (importing it is not free)."""
        config = tracker_config_for(self.config.tracker, self.detector.open_vocabulary)
        return ObjectTracker(config, frame_rate=self.info.fps)

    def preview(self, frame: Frame) -> FirstFrame:
        """Frame 0's detections, drawn (before tracking: a track needs two frames)."""
        [detections] = self.models([frame.image], self.queries, {})
        return FirstFrame(
            image=self.annotator.annotate(frame.image, detections), detections=detections
        )

    def process_batch(
        self, device: str, images: list[np.ndarray], timing: dict[str, float]
    ) -> list[sv.Detections]:
        return self.per_device[device](images, self.queries, timing)

    def batch_size(self, device: str) -> int:
        return self.config.batch_size or self.per_device[device].detector.default_batch_size

    def open_files(self, outputs: Mapping[str, Path]) -> dict[str, OutputFile]:
        self.files["tracks"] = TracksWriter(outputs["tracks"], self.info, self.model_info())
        if "mot" in outputs:
            self.files["mot"] = MotWriter(outputs["mot"])
        return self.files

    def process(
        self, frame: Frame, result: sv.Detections, timing: dict[str, float]
    ) -> tuple[np.ndarray, sv.Detections]:
        with timed(timing, "track"):
            tracked = self.tracker.update(result)
        with timed(timing, "annotate"):
            annotated = self.annotator.annotate(frame.image, tracked)
        with timed(timing, "write"):
            self.files["tracks"].write(frame.index, frame.timestamp, tracked)
            if "mot" in self.files:
                self.files["mot"].write(frame.index, tracked)
        self.track_classes.add(tracked)
        self.track_depths.add(tracked)
        return annotated, tracked

    def model_info(self) -> dict[str, Any]:
        info = {
            **self.detector.info(),
            "queries": list(self.queries),
            "confidence": self.config.confidence,
            "devices": self.devices,
        }
        if self.models.depth is not None:
            info["depth"] = self.models.depth.info()
        return info

    def summary(self) -> dict[str, Any]:
        summary = self.track_classes.summary()
        if self.models.depth is not None:
            summary["depth_model"] = self.models.depth.info()
            summary["near_to_far"] = [
                {"track_id": track_id, "depth": round(depth, 4)}
                for track_id, depth in self.track_depths.near_to_far()
            ]
        return summary

    @property
    def random_weights(self) -> bool:
        return self.detector.random_weights
