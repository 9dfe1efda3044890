"""What a detection run does after tracking besides counting: speed, privacy, paths, heat.

Each is off unless its setting is on, and then costs nothing: the stages are
not even made. :class:`AfterCounting` holds the ones that are on, and the
detection run calls it at fixed points of each frame: :meth:`measure` right
after tracking (the speeds go into the labels, files and tables),
:meth:`under` on the frame before anything is drawn (privacy, then the heat),
:meth:`over` after the boxes (the paths).

Example:
    >>> from pipeline.configs import DetectionConfig
    >>> extras = AfterCounting(DetectionConfig(detector="yolox_nano"), 25.0, 640, 480)
    >>> extras.active
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from models.detectors.base import Detector
from models.errors import InvalidQueryError
from models.timing import timed
from pipeline.configs import DetectionConfig, SegmentationConfig
from pipeline.stages.heatmap import HeatmapStage, HeatmapWriter
from pipeline.stages.paths import PathDrawer
from pipeline.stages.privacy import PrivacyFilter
from pipeline.stages.slicing import FrameSlicer
from pipeline.stages.speed import SpeedStage


def frame_slicer(config: DetectionConfig) -> FrameSlicer | None:
    """The run's tile slicer; None when slicing is off."""
    return FrameSlicer(config.slice_size) if config.slicing else None


def check_privacy_classes(config: DetectionConfig | SegmentationConfig, detector: Detector) -> None:
    """The classes to hide are classes the detector knows (any, for open vocabulary).

    Raises:
        InvalidQueryError: An unknown class, with the valid ones.
    """
    if config.privacy is None or not config.privacy_classes or detector.open_vocabulary:
        return
    try:
        detector.validate_queries(config.privacy_classes)
    except InvalidQueryError as exc:
        raise InvalidQueryError(f"Classes to hide: {exc}") from None


class AfterCounting:
    """The run's speed, privacy, paths and heat stages, each only when on.

    Args:
        config: The run's settings.
        fps: The video's frame rate (the paths' length).
        width: The frames' width.
        height: Their height.
    """

    def __init__(self, config: DetectionConfig, fps: float, width: int, height: int) -> None:
        self.speed = SpeedStage(config.speed_area_m) if config.measures_speed else None
        self.privacy = (
            PrivacyFilter(config.privacy, config.privacy_classes) if config.privacy else None
        )
        self.paths = PathDrawer(fps) if config.paths else None
        wants_heat = config.heatmap or config.heatmap_overlay
        self.heat = HeatmapStage(width, height) if wants_heat else None
        self.overlay = config.heatmap_overlay
        self.slice_size = config.slice_size if config.slicing else None
        self.heatmap_file: HeatmapWriter | None = None

    @property
    def active(self) -> bool:
        """Whether any of them is on."""
        stages = (self.speed, self.privacy, self.paths, self.heat, self.slice_size)
        return any(stage is not None for stage in stages)

    def open_files(self, outputs: Mapping[str, Path]) -> dict[str, HeatmapWriter]:
        """The heatmap image, when asked for."""
        if self.heat is None or "heatmap" not in outputs:
            return {}
        self.heatmap_file = HeatmapWriter(outputs["heatmap"], self.heat)
        return {"heatmap": self.heatmap_file}

    def measure(
        self, tracked: sv.Detections, timestamp: float, timing: dict[str, float]
    ) -> sv.Detections:
        """Add each track's speed to ``tracked`` (when speed is on)."""
        if self.speed is None:
            return tracked
        with timed(timing, "speed"):
            return self.speed.update(tracked, timestamp)

    def hide(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """``image`` with the chosen objects hidden (itself when privacy is off)."""
        return image if self.privacy is None else self.privacy.apply(image, detections)

    def under(
        self,
        image: np.ndarray,
        found: sv.Detections,
        tracked: sv.Detections,
        timing: dict[str, float],
    ) -> np.ndarray:
        """The frame to draw on: objects hidden, the heat added (and drawn over it if asked).

        Args:
            image: The frame.
            found: Its detections before tracking: privacy hides these too,
                since a tracker gives an object no box until its track is
                confirmed (the first frames), and none on a frame it is unsure of.
            tracked: Its tracked objects.
            timing: Stage seconds are added here.
        """
        if self.privacy is not None:
            with timed(timing, "privacy"):
                image = self.privacy.apply(self.privacy.apply(image, found), tracked)
        if self.heat is not None:
            with timed(timing, "heatmap"):
                if self.heatmap_file is not None:
                    self.heatmap_file.keep_background(image)
                self.heat.update(tracked)
                if self.overlay:
                    image = self.heat.draw(image)
        return image

    def over(
        self, image: np.ndarray, tracked: sv.Detections, timing: dict[str, float]
    ) -> np.ndarray:
        """The annotated frame with each track's path drawn (when paths are on)."""
        if self.paths is None:
            return image
        with timed(timing, "paths"):
            return self.paths.annotate(image, tracked)

    def summary(self) -> dict[str, Any]:
        """What the summary says of the stages that are on."""
        summary: dict[str, Any] = {}
        if self.speed is not None:
            summary["speed"] = self.speed.summary()
        if self.privacy is not None:
            summary["privacy"] = self.privacy.to_json()
        if self.heat is not None:
            summary["heatmap"] = self.heat.summary()
        if self.slice_size is not None:
            summary["slicing"] = {"slice_size": self.slice_size}
        return summary
