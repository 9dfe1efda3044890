"""The multi-device pool: one worker per device, results back in frame order.

Each worker owns the model instances of its device and pulls frames from the
shared prefetching decoder, taking as many as are already decoded up to its
batch size (dynamic batching: it never waits to fill a batch, so the model is
never idle while frames are available). Results land in a reorder buffer and
come out strictly in frame order, ready for the stateful stages (tracker,
annotation, encoder). Compare detectron2's ``AsyncPredictor``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from models.timing import add_timing, timed
from pipeline.io.video import POLL_S, Frame, FrameReader

R = TypeVar("R")

#: Processes a batch of frames on one device and returns one result per frame.
#: Per-stage seconds are added into the dict it is given.
BatchFn = Callable[[list[Frame], dict[str, float]], list[R]]


def add_note(exc: BaseException, note: str) -> None:
    """Append ``note`` to ``exc.__notes__``, as ``BaseException.add_note`` does on Python 3.11.

    Python 3.10 (which a ZeroGPU Space may run) has no ``add_note``; there the
    note is stored in the same attribute, where callers can read it, though
    3.10's tracebacks do not print it.

    Args:
        exc: The exception to annotate.
        note: One line of context, e.g. which worker raised it.
    """
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]


@dataclass
class Worker(Generic[R]):
    """One device's worker.

    Attributes:
        device: Device name, for messages and the summary.
        process: Batch function bound to this device's own model instances.
        batch_size: Most frames per call.
    """

    device: str
    process: BatchFn[R]
    batch_size: int = 1


class DevicePool(Generic[R]):
    """Runs workers over a :class:`FrameReader` and yields results in order.

    Args:
        workers: One per device.
        reader: The prefetching decoder shared by all workers.
        stop: The run's stop flag; set on error or by the caller.

    Example:
        pool = DevicePool([Worker("cpu", fn, 4)], reader, stop)
        for frame, result in pool: ...
    """

    def __init__(
        self, workers: Sequence[Worker[R]], reader: FrameReader, stop: threading.Event
    ) -> None:
        if not workers:
            raise ValueError("DevicePool needs at least one worker")
        self.workers = list(workers)
        self.reader = reader
        self.stop = stop
        self.timing: dict[str, float] = {}
        self.frames_per_device: dict[str, int] = {w.device: 0 for w in self.workers}
        self._take_lock = threading.Lock()
        self._done = threading.Condition()
        self._buffer: dict[int, tuple[Frame, R]] = {}
        self._error: BaseException | None = None
        self._finished = 0
        self._threads = [
            threading.Thread(target=self._work, args=(w,), name=f"worker-{w.device}", daemon=True)
            for w in self.workers
        ]
        for thread in self._threads:
            thread.start()

    def _take_batch(self, size: int) -> list[Frame]:
        with self._take_lock:
            first = self.reader.get()
            if first is None:
                return []
            batch = [first]
            while len(batch) < size and (frame := self.reader.get_nowait()) is not None:
                batch.append(frame)
            return batch

    def _work(self, worker: Worker[R]) -> None:
        timing: dict[str, float] = {}
        try:
            while not self.stop.is_set():
                with timed(timing, "wait_for_frames"):
                    batch = self._take_batch(max(1, worker.batch_size))
                if not batch:
                    break
                results = worker.process(batch, timing)
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"worker on {worker.device} returned {len(results)} results "
                        f"for {len(batch)} frames"
                    )
                with self._done:
                    for frame, result in zip(batch, results, strict=True):
                        self._buffer[frame.index] = (frame, result)
                    self.frames_per_device[worker.device] += len(batch)
                    self._done.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            with self._done:
                if self._error is None:
                    self._error = exc
                    add_note(exc, f"(in the worker on {worker.device})")
            self.stop.set()
        finally:
            with self._done:
                self._finished += 1
                add_timing(self.timing, timing)
                self._done.notify_all()

    def __iter__(self) -> Iterator[tuple[Frame, R]]:
        next_index = self.reader.start  # a call of a run split into calls starts later
        while True:
            with self._done:
                while True:
                    if self._error is not None:
                        raise self._error
                    if self.stop.is_set():
                        return  # stopped: the frames in flight are dropped, not waited for
                    if next_index in self._buffer:
                        item = self._buffer.pop(next_index)
                        break
                    if self._finished == len(self._threads):
                        return
                    self._done.wait(timeout=POLL_S)
            yield item
            next_index += 1

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the worker threads to exit (after the end or a stop)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    @property
    def alive(self) -> bool:
        """Whether any worker thread is still running."""
        return any(t.is_alive() for t in self._threads)
