"""A latest-value channel: the producer never blocks, slow readers skip values."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

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
