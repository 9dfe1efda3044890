"""The interface every depth estimator implements.

A depth estimator takes a batch of BGR uint8 frames and returns one float32
``(H, W)`` map per frame, at the frame's own size, holding *relative inverse
depth*: larger is nearer, with an unknown scale and shift, so values compare
within a frame (and roughly across the frames of one clip) but are not metres.
This is the ``relative_inverse`` kind of ``supervision.DepthMap``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.base import Model

#: The ``supervision.DepthKind`` value of every map this package returns.
RELATIVE_INVERSE = "relative_inverse"


class DepthEstimator(Model, abc.ABC):
    """Base class for depth estimators.

    Subclasses implement :meth:`_predict`; callers use :meth:`predict`, which
    serialises calls into one instance (a model instance is not re-entrant).
    Device, weights, size, licence, lock, stage timing and :meth:`info` come
    from :class:`models.base.Model`.

    Attributes:
        kind: What the values measure (always ``"relative_inverse"`` here).
    """

    kind: str = RELATIVE_INVERSE

    def predict(
        self,
        frames: Sequence[np.ndarray],
        *,
        timing: dict[str, float] | None = None,
        input_size: int | None = None,
    ) -> list[np.ndarray]:
        """Estimate depth for a batch of frames.

        Args:
            frames: BGR uint8 images of shape (H, W, 3); all the same size is
                fastest (one model call), mixed sizes are grouped.
            timing: If given, seconds per stage (``preprocess``, ``inference``,
                ``postprocess``) are added into it.
            input_size: Side (pixels) the model sees, rounded to its patch size;
                None keeps the model's own (518 for Depth Anything V2). Smaller
                is faster and coarser.

        Returns:
            One float32 ``(H, W)`` map per frame, at that frame's size:
            relative inverse depth, larger is nearer, never negative.

        Example:
            estimator = models.create("depth", "depth_anything_v2")
            [depth] = estimator.predict([frame])
            depth.shape == frame.shape[:2]
        """
        frames = list(frames)
        if not frames:
            return []
        if timing is None:
            timing = {}
        with self.lock:
            return self._predict(frames, timing, input_size)

    @abc.abstractmethod
    def _predict(
        self, frames: list[np.ndarray], timing: dict[str, float], input_size: int | None
    ) -> list[np.ndarray]:
        """Run the model on a non-empty batch; return one map per frame."""

    def info(self) -> dict[str, Any]:
        """What a run's summary records about the model, plus what its values measure."""
        return {**super().info(), "kind": self.kind}
