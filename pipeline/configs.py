"""One frozen config object describes a run; the CLI, UI and API all build it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.stages.tracking import TrackerConfig

DEFAULT_MAX_DURATION_S = 600.0


@dataclass(frozen=True)
class DetectionConfig:
    """Everything that decides what a detection run does.

    Attributes:
        detector: Registry name of the detector.
        size: Detector size (None: the model's default).
        weights: Local weights path / hub id / architecture file, or None for
            the model's default weights.
        queries: Class names to keep (closed vocabulary) or text prompts.
        confidence: Minimum detection score.
        devices: Devices to run on; empty means every visible CUDA device, or
            the CPU when there is none.
        batch_size: Frames per model call per device (None: the model's default).
        tracker: ByteTrack settings.
        max_duration_s: Longer videos are refused (None: no limit).
        max_frames: Stop after this many frames (None: the whole video).
        preview_max_width: Live preview frames are downscaled to this width.
        queue_size: Bound on decoded frames waiting for the model.
        max_in_flight: Bound on frames anywhere between decoder and encoder.
        detector_options: Further detector options as ``(name, value)`` pairs
            (for example ``(("imgsz", 416),)``).
        depth: Also measure each tracked object's relative depth with Depth
            Anything V2 (labels, tracks file, near-to-far order in the summary).
        depth_size: Depth Anything V2 size when ``depth`` is on.
        depth_weights: Local depth weights, or None for the default.
    """

    detector: str = "yolo11"
    size: str | None = None
    weights: str | None = None
    queries: tuple[str, ...] = ()
    confidence: float = 0.25
    devices: tuple[str, ...] = ()
    batch_size: int | None = None
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S
    max_frames: int | None = None
    preview_max_width: int = 640
    queue_size: int = 16
    max_in_flight: int = 64
    detector_options: tuple[tuple[str, Any], ...] = ()
    depth: bool = False
    depth_size: str | None = None
    depth_weights: str | None = None

    def model_options(self) -> dict[str, Any]:
        """Options passed to the model registry for this run's detector."""
        options: dict[str, Any] = dict(self.detector_options)
        if self.size is not None:
            options["size"] = self.size
        if self.weights is not None:
            options["weights"] = self.weights
        return options

    def depth_options(self) -> dict[str, Any]:
        """Options passed to the model registry for the per-object depth model."""
        options: dict[str, Any] = {"size": self.depth_size}
        if self.depth_weights is not None:
            options["weights"] = self.depth_weights
        return options
