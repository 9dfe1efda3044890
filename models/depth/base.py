"""The interface every depth estimator implements.

A depth estimator takes a batch of BGR uint8 frames and returns one float32
``(H, W)`` map per frame, at the frame's own size, holding *relative inverse
depth*: larger is nearer, with an unknown scale and shift, so values compare
within a frame (and roughly across the frames of one clip) but are not metres.
This is the ``relative_inverse`` kind of ``supervision.DepthMap``.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.timing import timed

#: The ``supervision.DepthKind`` value of every map this package returns.
RELATIVE_INVERSE = "relative_inverse"


class DepthEstimator(abc.ABC):
    """Base class for depth estimators.

    Subclasses implement :meth:`_predict`; callers use :meth:`predict`, which
    serialises calls into one instance (a model instance is not re-entrant).

    Attributes:
        name: Registry name.
        size: Model size, or None.
        device: Device the model runs on.
        weights: Where the weights came from (hub id or local folder).
        license: Licence of these weights, for the UI and the summary.
        kind: What the values measure (always ``"relative_inverse"`` here).
        default_batch_size: Batch size the pool uses unless told otherwise.
        lock: Serialises calls into this instance.
    """

    name: str = ""
    kind: str = RELATIVE_INVERSE

    def __init__(
        self, *, device: str, weights: str, size: str | None = None, license: str = ""
    ) -> None:
        self.device = device
        self.weights = weights
        self.size = size
        self.license = license
        self.default_batch_size = 1 if device == "cpu" else 8
        self.lock = threading.Lock()

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
            >>> estimator = models.create("depth", "depth_anything_v2")  # doctest: +SKIP
            >>> [depth] = estimator.predict([frame])  # doctest: +SKIP
            >>> depth.shape == frame.shape[:2]  # doctest: +SKIP
            True
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

    #: ``with self.stage(timing, "inference"): ...`` adds the block's seconds to
    #: ``timing["inference"]``.
    stage = staticmethod(timed)

    def info(self) -> dict[str, Any]:
        """What a run's summary records about the model."""
        return {
            "name": self.name,
            "size": self.size,
            "weights": self.weights,
            "license": self.license,
            "device": self.device,
            "kind": self.kind,
        }
