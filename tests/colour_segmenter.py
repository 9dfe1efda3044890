"""Stand-ins for SAM 2 on the synthetic videos: each object's mask is its colour's pixels.

The sessions differ only in how a prompt picks an object's colour (a detector's
box, a click); following the colours over a window is written here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
from synthetic import COLORS_BGR

import models


def colour_mask(image: np.ndarray, colour: str) -> np.ndarray:
    """Pixels of one of the synthetic shapes' colours (as the test detector sees them)."""
    return np.all(np.abs(image.astype(int) - COLORS_BGR[colour]) < 60, axis=-1)


def nearest_colour(image: np.ndarray, region: np.ndarray) -> str:
    """The synthetic colour most pixels of ``region`` have (the first of a tie)."""
    pixels = image[region].astype(int)
    counts = {
        name: int(np.all(np.abs(pixels - bgr) < 60, axis=-1).sum())
        for name, bgr in COLORS_BGR.items()
    }
    return max(counts, key=counts.get)


class ColourSession:
    """Follows one colour per object over a window; subclasses add the prompts.

    Args:
        frame_at: Returns frame ``i`` of the window (BGR uint8).
        num_frames: Frames in the window.
        height: Frame height.
        width: Frame width.
    """

    def __init__(
        self, frame_at: Callable[[int], np.ndarray], num_frames: int, height: int, width: int
    ) -> None:
        self.frame_at, self.num_frames = frame_at, num_frames
        self.colours: dict[int, str] = {}

    @property
    def object_ids(self) -> list[int]:
        return list(self.colours)

    def __contains__(self, object_id: object) -> bool:
        return object_id in self.colours

    def remove(self, object_id: int) -> None:
        self.colours.pop(object_id, None)

    def propagate(self, start: int, end: int) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        for frame in range(start, end + 1):
            image = self.frame_at(frame)
            yield frame, {i: colour_mask(image, c) for i, c in self.colours.items()}

    def close(self) -> None:
        self.colours.clear()


class ColourSegmenter:
    """A segmenter whose sessions are :attr:`session_class`, registered by :func:`register`."""

    name: ClassVar[str]
    session_class: ClassVar[type[ColourSession]]
    random_weights = False

    def session(self, frame_at, num_frames: int, height: int, width: int) -> ColourSession:
        return self.session_class(frame_at, num_frames, height, width)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "random_weights": False}


def register(segmenter: type[ColourSegmenter]) -> type[ColourSegmenter]:
    """Register a hidden segmenter under its ``name``, prompted by the test detector.

    Args:
        segmenter: The class; each ``models.create`` makes a new one.

    Returns:
        The class, unchanged (a class decorator).
    """
    models.register("segmenter", segmenter.name, hidden=True, detector="test_shapes")(
        lambda device="cpu", **_: segmenter()
    )
    return segmenter
