"""Reporting a run as it goes: the latest-value channel, and the throttled report loop.

The run's threads publish every finished frame to a :class:`LatestValue`; the
reporting generator only reads the newest, so a slow consumer (a browser on a
poor link) skips frames instead of slowing the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import cv2
import numpy as np

from pipeline.runtime.events import Preview, Progress

T = TypeVar("T")


class LatestValue(Generic[T]):
    """Holds only the newest value published; older unread values are dropped.

    The pipeline publishes every processed frame here; the UI reads whenever
    it is ready and gets the most recent one, so a slow browser never slows
    or queues up behind the pipeline.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: T | None = None
        self._version = 0
        self._closed = False

    def publish(self, value: T) -> None:
        """Replace the current value and wake readers (never blocks on readers)."""
        with self._cond:
            self._value = value
            self._version += 1
            self._cond.notify_all()

    def close(self) -> None:
        """Signal that no more values will come."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_newer(self, seen_version: int, timeout: float) -> tuple[int, T | None]:
        """Wait for a value newer than ``seen_version``, the channel closing, or ``timeout``.

        Returns:
            ``(version, value)``; the version is unchanged when nothing new came.
        """
        with self._cond:
            self._cond.wait_for(
                lambda: self._version > seen_version or self._closed, timeout=timeout
            )
            return self._version, self._value

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed


def report_progress(
    latest: LatestValue[tuple[int, np.ndarray]],
    *,
    started: float,
    frames_done: Callable[[], int],
    total_frames: int | None,
    preview_interval_s: float,
    preview_max_width: int,
) -> Iterator[Progress | Preview]:
    """Yield progress and the newest frame, at most once per interval, until the run ends.

    The processing thread publishes every finished frame to ``latest``; this
    loop only reads the newest, so a slow consumer (a browser on a poor link)
    skips frames instead of slowing the run.

    Args:
        latest: Channel of ``(frame_index, BGR image)``; closed at the end of the run.
        started: ``time.perf_counter()`` at the start of the run.
        frames_done: Returns how many frames are fully processed.
        total_frames: Frames expected, if known (unknown once a frame past it comes).
        preview_interval_s: Least time between two previews.
        preview_max_width: Previews are downscaled to at most this width.

    Yields:
        A ``Progress`` then a ``Preview`` per interval.
    """
    version, next_yield = 0, 0.0
    while not latest.closed:
        wait = next_yield - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        version_now, value = latest.wait_newer(version, timeout=0.5)
        if value is None or version_now == version:
            continue
        version = version_now
        now = time.perf_counter()
        next_yield = now + preview_interval_s
        index, image = value
        elapsed = max(now - started, 1e-9)
        # A header can understate the frames (timestamps all 0, a second stream's
        # count): past its total, the total is unknown, not "50 of 1".
        total = total_frames if total_frames and index < total_frames else None
        yield Progress(index, total, frames_done() / elapsed)
        yield Preview(index, downscale(image, preview_max_width))


def downscale(image: np.ndarray, max_width: int) -> np.ndarray:
    """Shrink to at most ``max_width`` pixels wide, keeping the aspect ratio."""
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    new_height = max(1, round(height * max_width / width))
    return cv2.resize(image, (max_width, new_height), interpolation=cv2.INTER_AREA)
