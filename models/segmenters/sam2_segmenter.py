"""The SAM 2 video segmenter: a video model (SAM 2.1 or EdgeTAM) and the detector that prompts it.

It holds the model, its processor and one lock; the detector is loaded by the
pipeline through the registry (``spec.extra["detector"]``), so it is shared
with the Detection tab's cached instance. Each window of frames gets its own
:class:`~models.segmenters.sam2_session.Sam2Session`.
"""

from __future__ import annotations

from typing import Any

from models.base import Model
from models.segmenters.base import FrameSource
from models.segmenters.inference import SamVideoModel
from models.segmenters.sam2_session import Sam2Session
from models.segmenters.sam2_weights import Sam2Variant


class Sam2VideoSegmenter(SamVideoModel, Model):
    """A SAM 2.1 video model with its processor and lock, and the detector that prompts it.

    Device, weights, licence, lock and :meth:`info` come from
    :class:`models.base.Model`; :attr:`size` is the SAM 2.1 size
    (``"small"``, ``"base_plus"`` or ``"large"``).

    Attributes:
        detector: Registry name of the detector whose boxes prompt SAM 2.
        open_vocabulary: Whether queries are free text (Grounding DINO).
        variant: The SAM 2.1 size (or EdgeTAM, :mod:`models.segmenters.sam2_video_edgetam`).
        model: The ``transformers`` ``Sam2VideoModel``.
        processor: Its ``Sam2VideoProcessor``.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        name: str,
        detector: str,
        open_vocabulary: bool,
        variant: Sam2Variant,
        device: str,
        weights: str,
        random_weights: bool,
        license: str = "",
    ) -> None:
        super().__init__(
            model,
            processor,
            device=device,
            weights=weights,
            size=variant.key,
            random_weights=random_weights,
            license=license,
        )
        self.name = name
        self.detector = detector
        self.open_vocabulary = open_vocabulary
        self.variant = variant

    def session(
        self, frame_at: FrameSource, num_frames: int, height: int, width: int
    ) -> Sam2Session:
        """Start following objects over ``num_frames`` frames (one window).

        Args:
            frame_at: Returns frame ``i`` of the window (BGR uint8) when SAM 2 needs it.
            num_frames: Frames in the window.
            height: Frame height.
            width: Frame width.

        Returns:
            The session; :meth:`Sam2Session.close` releases its state.
        """
        return Sam2Session(self, frame_at, num_frames, height, width)

    def info(self) -> dict[str, Any]:
        """What the output JSON records about the model, plus SAM 2's size and its prompter."""
        return {
            **super().info(),
            self.variant.family.key: self.variant.label,
            "image_size": self.image_size,
            "detector": self.detector,
        }
