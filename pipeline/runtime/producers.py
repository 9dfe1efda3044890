"""Producers: what gives a run's in-order stage every frame with its result, in frame order.

A device pool (:class:`pipeline.runtime.pool.DevicePool`) is one; :class:`ThreadProducer`
is the other kind, for model work that is one sequential process (segmentation's
keyframes and propagation, the calls of a run split into calls).
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

from pipeline.errors import RunStopped
from pipeline.io.video import POLL_S, Frame

R = TypeVar("R")


class Producer(Protocol[R]):
    """Gives every frame with its result, in frame order (a device pool, or one thread)."""

    timing: dict[str, float]
    frames_per_device: dict[str, int]

    def __iter__(self) -> Iterator[tuple[Frame, R]]: ...

    def join(self, timeout: float = 10.0) -> None: ...


class ThreadProducer(Generic[R]):
    """Runs ``produce(emit, timing)`` in its own thread; ``emit`` hands results over in order.

    For runs whose model work is one sequential process rather than a device
    pool (segmentation: keyframes and propagation). ``emit`` blocks while the
    bounded queue is full and raises :class:`RunStopped` once the run is
    stopped; an exception in ``produce`` is re-raised to the consumer.

    Args:
        produce: Called with ``emit`` and the :attr:`timing` dict it adds its
            stage seconds into; must emit every frame once, in order.
        stop: The run's stop flag.
        device: The device it works on, for the summary.
        queue_size: Results waiting for the consumer at most.
        name: The thread's name.

    Attributes:
        timing: Seconds per stage of ``produce``.
        frames_per_device: ``{device: frames emitted}``.
    """

    _END = object()

    def __init__(
        self,
        produce: Callable[[Callable[[Frame, R], None], dict[str, float]], None],
        stop: threading.Event,
        *,
        device: str,
        queue_size: int,
        name: str,
    ) -> None:
        self.stop = stop
        self.timing: dict[str, float] = {}
        # A producer that learns its device later (a run split into calls) starts with none.
        self.frames_per_device = {device: 0} if device else {}
        self._device = device
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, queue_size))
        self._error: BaseException | None = None
        self._produce = produce
        # The caller's context goes along: a GPU call made from this thread (a run split
        # into calls on ZeroGPU) needs the Gradio request the run was started in.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name=name, daemon=True
        )
        self._thread.start()

    def _put(self, item: object) -> None:
        while not self.stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue
        raise RunStopped("The run was stopped.")

    def _emit(self, frame: Frame, result: R) -> None:
        self._put((frame, result))
        self.frames_per_device[self._device] = self.frames_per_device.get(self._device, 0) + 1

    def _run(self) -> None:
        try:
            self._produce(self._emit, self.timing)
            self._put(self._END)
        except BaseException as exc:  # noqa: BLE001 - re-raised by __iter__
            self._error = exc
            self.stop.set()

    def __iter__(self) -> Iterator[tuple[Frame, R]]:
        while True:
            try:
                item = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                item = None
            if item is None:
                if self._error is not None and not isinstance(self._error, RunStopped):
                    raise self._error
                if self.stop.is_set() or not self._thread.is_alive():
                    return
                continue
            if item is self._END:
                return
            if self.stop.is_set():  # stopped: the results in flight are dropped
                if self._error is not None and not isinstance(self._error, RunStopped):
                    raise self._error
                return
            yield item  # type: ignore[misc]

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the thread to exit (after the end or a stop)."""
        self._thread.join(timeout=timeout)
