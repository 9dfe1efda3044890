"""The devices jobs share: who runs, who waits in line, who is refused, and each client's share.

At most ``devices`` jobs run at once (a job holds ``job.weight`` of them: a
benchmark holds all, a Live recording none); the others wait in one
first-come, first-served queue of at most ``max_queued`` jobs. A job that
would make the queue longer is refused at once (:class:`QueueFull`), never
accepted and lost; so is one from a client that already has
``max_queued_per_client`` jobs waiting, so that one client cannot take every
place.

Example:
    >>> from pathlib import Path
    >>> def job(name): return Job(name, "benchmark", None, "api", Path(), Path(), {})
    >>> queue = FairQueue(devices=1, max_queued=1)
    >>> first = queue.admit(None, lambda: job("first"))
    >>> queue.acquire(first), first.status.value
    (True, 'running')
    >>> second = queue.admit(None, lambda: job("second"))
    >>> queue.position(second), queue.acquire(second, timeout=0.01)
    (1, None)
    >>> queue.admit(None, lambda: job("third"))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    QueueFull: Every device is busy and 1 jobs are waiting...
    >>> queue.release(first)
    >>> queue.acquire(second)
    True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pipeline.errors import PipelineError
from pipeline.jobs.job import Job

#: Least time a refused client is asked to wait before trying again.
MIN_RETRY_AFTER_S = 5


class QueueFull(PipelineError):
    """No room for the job now; try again after ``retry_after_s``.

    Attributes:
        retry_after_s: Seconds to wait before trying again.
        client_over_share: The queue has room, but not for this client: it
            already has its share of places waiting.
    """

    def __init__(self, message: str, retry_after_s: int, *, client_over_share: bool = False):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.client_over_share = client_over_share


class FairQueue:
    """Devices handed to jobs in queue order, with a bounded queue and each client's share.

    Args:
        devices: How many jobs may run at once (one per device).
        max_queued: How many jobs may wait for a device.
        max_queued_per_client: How many of them may be one client's (None: all).
    """

    def __init__(
        self, devices: int, max_queued: int, max_queued_per_client: int | None = None
    ) -> None:
        if devices < 1 or max_queued < 0:
            raise ValueError("a job store needs at least one device and a queue of 0 or more")
        self.devices = devices
        self.max_queued = max_queued
        self.max_queued_per_client = max_queued_per_client
        self._waiting: list[Job] = []
        self._running: list[Job] = []
        self._lock = threading.Condition()
        self._closed = False

    def admit(self, client: str | None, make: Callable[[], Job]) -> Job:
        """Make a job and put it in the queue, if there is room for it (and for ``client``).

        The check and the entry are one step, so two callers cannot both take
        the last place; ``make`` (which gives the job its folder) runs only
        once there is room.

        Args:
            client: Who asks (a token or an address), for its share (None: no share applies).
            make: Makes the job.

        Returns:
            The job ``make`` made, waiting.

        Raises:
            QueueFull: Every device is busy and the queue (or ``client``'s share of it) is full.
        """
        with self._lock:
            self._check_room(client)
            job = make()
            self._waiting.append(job)
            self._lock.notify_all()
            return job

    def _busy(self) -> int:
        """Devices held by running jobs (the lock held)."""
        return sum(job.weight for job in self._running)

    def _has_room(self) -> bool:
        """A device is free, or the queue has a place (the lock held)."""
        free = self._busy() + len(self._waiting) < self.devices
        return free or len(self._waiting) < self.max_queued

    def _check_room(self, client: str | None) -> None:
        """Raise :class:`QueueFull` unless a new job can run now or wait (the lock held)."""
        if self._busy() + len(self._waiting) < self.devices:
            return  # a device is free: it runs now
        soonest = min((eta for j in self._running if (eta := j.eta_s) is not None), default=None)
        retry = max(MIN_RETRY_AFTER_S, round(soonest or 0))
        share = self.max_queued_per_client
        if client is not None and share is not None:
            mine = sum(1 for job in self._waiting if job.client == client)
            if mine >= share:
                raise QueueFull(
                    f"You already have {mine} jobs waiting, the most one client may. "
                    f"Try again in about {retry} s.",
                    retry_after_s=retry,
                    client_over_share=True,
                )
        if len(self._waiting) < self.max_queued:
            return
        raise QueueFull(
            f"Every device is busy and {len(self._waiting)} jobs are waiting (the most the "
            f"queue takes). Try again in about {retry} s.",
            retry_after_s=retry,
        )

    def wait_for_room(self, timeout: float) -> bool:
        """Wait until a new job would find a place (a device or the queue), at most ``timeout`` s.

        For a caller that would rather wait in line than be refused (the page,
        whose users see Gradio's own queue meanwhile); it holds no place while
        it waits, so :meth:`admit` may still find the queue full again.

        Returns:
            True when there is room now.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._has_room():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(timeout=left)
            return True

    def acquire(self, job: Job, timeout: float | None = None) -> bool | None:
        """Wait for ``job``'s devices, in queue order; :meth:`release` them when its run is over.

        Args:
            job: A job of this queue, waiting.
            timeout: Give up waiting after this many seconds (None: wait on).

        Returns:
            True once the job has its devices (it is marked running); False
            when it ended (was cancelled) or the queue closed while it waited;
            None on timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not (self._is_next(job) or job.status.finished or self._closed):
                left = 1.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(timeout=min(left, 1.0))
            self.forget(job)
            if job.status.finished or self._closed:
                return False
            self._running.append(job)
        job.mark_running()
        return True

    def release(self, job: Job) -> None:
        """Give back the devices :meth:`acquire` gave ``job``."""
        with self._lock:
            if job in self._running:
                self._running.remove(job)
            self._lock.notify_all()

    def _is_next(self, job: Job) -> bool:
        """``job`` is first in line and its devices are free (the lock held)."""
        return (
            self._busy() + job.weight <= self.devices
            and bool(self._waiting)
            and self._waiting[0] is job
        )

    def forget(self, job: Job) -> None:
        """Take ``job`` out of the line, if it is in it (its caller is gone, or it was deleted)."""
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                self._lock.notify_all()

    def withdraw(self, job: Job, withdrawn: Callable[[Job], None]) -> bool:
        """Take a waiting ``job`` out of the line and call ``withdrawn(job)``, as one step.

        ``withdrawn`` ends the job (its files removed, then cancelled) before
        any :meth:`acquire` of it can look again, so that it is never started.

        Returns:
            Whether the job was waiting (False: it runs or has ended; nothing was done).
        """
        with self._lock:
            if job not in self._waiting:
                return False
            self.forget(job)
            withdrawn(job)
            return True

    def position(self, job: Job) -> int | None:
        """1 for the next job to run, 2 after it...; None when not waiting."""
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    def close(self) -> None:
        """Refuse every waiting job its devices: each :meth:`acquire` answers False."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
