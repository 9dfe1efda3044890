"""The depth run: depth on every device, then steady colours and the video, in order.

Depth values are relative inverse depth (larger is nearer, no unit); the video
shows them with a display range smoothed over time (:mod:`pipeline.stages.depth_display`)
so that a static scene keeps its colours.

Example:
    from pipeline import start
    config = DepthConfig(size="small", view="side_by_side")
    for event in start("clip.mp4", config, {"video": "depth.mp4"}):
        print(event)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import supervision as sv

import models
from models.depth.base import DepthEstimator
from models.timing import timed
from pipeline.configs import DepthConfig
from pipeline.io.video import VIDEO_SUFFIXES, Frame, VideoInfo
from pipeline.runtime.events import FirstFrame
from pipeline.runtime.model_facts import ModelFacts
from pipeline.runtime.template import Output, Run
from pipeline.stages.depth_display import (
    DepthNormalizer,
    DepthPainter,
    DisplayRange,
    output_size,
)

#: What the numbers are, for summaries and the API.
VALUE_MEANING = (
    "relative inverse depth: larger is nearer; unitless, with an unknown scale and "
    "shift per frame, so not metres"
)


@dataclass(frozen=True, kw_only=True)
class DepthFirstFrame(FirstFrame):
    """A depth run's first frame: its coloured view, and the values behind it.

    Attributes:
        depth: Relative inverse depth, float32 ``(H, W)`` at the frame's size.
        display_range: Depth values at the far and near ends of the colours.
    """

    depth: np.ndarray
    display_range: DisplayRange


def depth_normalizer(config: DepthConfig) -> DepthNormalizer:
    """A fresh display-range normaliser with ``config``'s percentiles and smoothing."""
    return DepthNormalizer(
        low_percentile=config.low_percentile,
        high_percentile=config.high_percentile,
        window=config.smoothing_window,
        momentum=config.smoothing_momentum,
    )


def depth_painter(config: DepthConfig) -> DepthPainter:
    """The painter of ``config``'s colormap, view and opacity."""
    return DepthPainter(config.colormap, view=config.view, opacity=config.opacity)


class DepthRun(Run[DepthConfig, np.ndarray]):
    """Estimate depth on every device; colour it with a steady range and encode it."""

    config_type = DepthConfig
    task = "depth"
    outputs = {
        "video": Output(
            "depth.mp4",
            "the H.264 depth video",
            "--out",
            aliases=("depth_video",),
            suffixes=VIDEO_SUFFIXES,
        )
    }
    results_noun = "depth maps"

    def __init__(
        self, config: DepthConfig, info: VideoInfo, devices: list[str], **options: Any
    ) -> None:
        super().__init__(config, info, devices, **options)
        self.estimators: dict[str, DepthEstimator] = {}
        self.normalizer = depth_normalizer(config)
        self.painter = depth_painter(config)
        self.value_range = [np.inf, -np.inf]
        self.display_range: DisplayRange | None = None
        self._models_ready()

    def load_models(self) -> None:
        self.estimators = {
            device: models.get_cached(
                "depth", self.config.model, device=device, **self.config.model_options()
            )
            for device in dict.fromkeys(self.devices)
        }
        self.estimator = self.estimators[self.devices[0]]

    def describe_models(self) -> ModelFacts:
        return ModelFacts(
            info=self.estimator.info(),
            devices=self.devices,
            random_weights=self.estimator.random_weights,
        )

    def preview(self, frame: Frame) -> DepthFirstFrame:
        """Frame 0's depth, coloured with exactly the range the run will give it."""
        [depth] = self.estimator.predict([frame.image], input_size=self.config.input_size)
        display_range = depth_normalizer(self.config).update(depth)
        image = self.painter.paint(frame.image, depth, display_range)
        return DepthFirstFrame(
            image=image,
            detections=sv.Detections.empty(),
            depth_view=image,
            depth=depth,
            display_range=display_range,
        )

    def process_batch(
        self, device: str, images: list[np.ndarray], timing: dict[str, float]
    ) -> list[np.ndarray]:
        estimator = self.estimators[device]
        return estimator.predict(images, timing=timing, input_size=self.config.input_size)

    def batch_size(self, device: str) -> int:
        return self.config.batch_size or self.estimators[device].default_batch_size

    def frame_size(self) -> tuple[int, int]:
        return output_size(self.info.width, self.info.height, self.config.view)

    def process(
        self, frame: Frame, result: np.ndarray, timing: dict[str, float]
    ) -> tuple[np.ndarray, sv.Detections]:
        with timed(timing, "normalize"):
            display_range = self.normalizer.update(result)
        with timed(timing, "colorize"):
            image = self.painter.paint(frame.image, result, display_range)
        self.value_range[0] = min(self.value_range[0], display_range.low)
        self.value_range[1] = max(self.value_range[1], display_range.high)
        self.display_range = display_range
        return image, sv.Detections.empty()

    def summary(self) -> dict[str, Any]:
        low, high = self.value_range
        final = self.display_range
        return {
            "view": self.config.view,
            "colormap": self.config.colormap,
            "depth": {
                "kind": self.facts.info.get("kind") if self.facts else None,
                "meaning": VALUE_MEANING,
                "display_range_span": [round(low, 4), round(high, 4)] if low <= high else None,
                "final_display_range": [round(final.low, 4), round(final.high, 4)]
                if final
                else None,
            },
        }
