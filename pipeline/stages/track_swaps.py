"""When a track's box jumps to another object: a sudden change of the box's size.

A tracker sometimes hands a track from one object to another that passes close by, most
often from a small, distant person to a large, near one whose enlarged box overlaps it.
The box's bottom centre then jumps across the frame within a frame or two, and a counter
that follows the track reads the jump as a crossing. A person's or a car's box changes
size smoothly from frame to frame, while such a hand-over changes it at once, so a box
whose height differs from the median of the track's last few heights by more than a
factor is taken for another object (measured in ``docs/counting.md``).

Example:
    >>> swaps = SizeJumps(ratio=1.8)
    >>> [swaps.update([7], [100.0]) for _ in range(3)] + [swaps.update([7], [250.0])]
    [set(), set(), set(), {7}]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

#: How many of a track's latest heights its usual height is the median of: enough to
#: ride out one odd box, few enough to follow an object coming closer.
HEIGHT_WINDOW = 5


class SizeJumps:
    """Finds the tracks whose box height jumped, frame after frame.

    Args:
        ratio: A height more than ``ratio`` times the track's usual height, or less than
            its usual height divided by ``ratio``, is a jump (greater than 1).
        window: The usual height is the median of the track's last ``window`` heights.
    """

    def __init__(self, ratio: float, window: int = HEIGHT_WINDOW) -> None:
        if ratio <= 1:
            raise ValueError("the size-jump ratio must be greater than 1")
        self.ratio = ratio
        self.window = window
        self._heights: dict[int, deque[float]] = {}

    def update(self, track_ids: Sequence[int], heights: Sequence[float]) -> set[int]:
        """Record one frame's heights; returns the ids whose box jumped in this frame.

        A jumping track's history starts again from its new height, so it is the new
        object's usual height that the next frames are compared with.
        """
        jumped = set()
        for track_id, height in zip(track_ids, heights, strict=True):
            history = self._heights.setdefault(track_id, deque(maxlen=self.window))
            if history:
                usual = float(np.median(history))
                if max(usual, height) > self.ratio * max(min(usual, height), 1.0):
                    jumped.add(track_id)
                    history.clear()
            history.append(float(height))
        return jumped
