"""The job store: every run of the app is a job here, whoever started it.

:class:`JobStore` is the one object its callers use; it puts together

- :mod:`pipeline.jobs.fair_queue`: the devices, the one first-come,
  first-served queue and each client's share of it (:class:`QueueFull`);
- :mod:`pipeline.jobs.folders`: each job's folder, the uploads and inputs
  (never served), the leftovers of a previous process, and the sweep that
  deletes finished jobs older than ``ttl_s``, then the oldest finished ones
  while the root holds more than ``max_disk_bytes`` (never a queued or running job);
- :mod:`pipeline.jobs.execution`: the executors, and how a run's events are
  recorded in its job.

Every run of a task goes through one method, :meth:`JobStore.execute`: it waits
for a device in the queue, runs the job with an executor, records every event
in the job, gives the device back and cleans up, whoever asked. A job's task
is its config's (:func:`pipeline.runs.task_of`). Two kinds of job are not a
task's run and hold no executor: a benchmark holds every device for a block of
its own (:meth:`JobStore.exclusive`), and a Live session records what its
caller runs frame by frame, outside the queue (:meth:`JobStore.record`). Every
kind is served, stopped and swept alike. A failed run leaves only its record;
a stopped one keeps its partial result.

Example:
    store = JobStore(Path("/tmp/jobs"), devices=1)
    job = store.submit(Path("clip.mp4"), DetectionConfig())
    job.wait_until(lambda j: j.status.finished, timeout=60)

    # or, following the events (a tab's handler):
    job = store.create(config, source="app", video=Path("clip.mp4"))
    for event in store.execute(job, executor, beat_s=1.0):
        ...  # Waiting(position) while queued, then the run's events
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.configs import PREVIEW_INTERVAL_S, RunConfig
from pipeline.errors import PipelineError, RunStopped
from pipeline.jobs import folders
from pipeline.jobs.execution import Executor, Waiting, drain, follow, run_in_process
from pipeline.jobs.fair_queue import FairQueue
from pipeline.jobs.folders import JobFolders
from pipeline.jobs.job import Job, Requester
from pipeline.runs import output_paths, task_of
from pipeline.runtime.events import Event

log = logging.getLogger(__name__)

#: How often an exclusive job waiting in the queue checks whether its caller is gone.
CANCEL_POLL_S = 0.5


class UnknownJob(PipelineError, KeyError):
    """No job has this id (never had, or deleted, or swept)."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class JobStore:
    """Jobs, the devices they share, their folders and their clean-up.

    Args:
        root: The folder that holds every job's folder (the store owns it).
        devices: How many jobs may run at once (one per device).
        max_queued: How many jobs may wait for a device.
        max_queued_per_client: How many of them may be one client's (None: all).
        ttl_s: Finished jobs older than this are deleted.
        max_disk_bytes: Bound on the bytes under ``root`` (None: no bound).
        preview_interval_s: Least time between two stream frames of a job run by
            the store's own executor.
        sweep_interval_s: How often the periodic sweep runs (None: never; call :meth:`sweep`).
    """

    def __init__(
        self,
        root: Path,
        *,
        devices: int,
        max_queued: int = 8,
        max_queued_per_client: int | None = None,
        ttl_s: float = 3600.0,
        max_disk_bytes: int | None = None,
        preview_interval_s: float = PREVIEW_INTERVAL_S,
        sweep_interval_s: float | None = 60.0,
    ) -> None:
        self.queue = FairQueue(devices, max_queued, max_queued_per_client)
        self.folders = JobFolders(root)
        self.root = self.folders.root
        self.ttl_s = ttl_s
        self.max_disk_bytes = max_disk_bytes
        self.executor = run_in_process(preview_interval_s)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()  # guards _jobs; the queue has its own
        self._closed = threading.Event()
        self._sweeper: threading.Thread | None = None
        if sweep_interval_s is not None:
            self._sweeper = threading.Thread(
                target=self._sweep_periodically, args=(sweep_interval_s,), name="job-sweeper",
                daemon=True,
            )  # fmt: skip
            self._sweeper.start()

    # ------------------------------------------------------------------ creating jobs

    def create(
        self,
        config: RunConfig,
        *,
        source: str,
        video: Path,
        move_video: bool = False,
        video_name: str | None = None,
        client: str | None = None,
    ) -> Job:
        """Register a job and give it its folder (it waits for a device in :meth:`execute`).

        Args:
            config: The run's config; its type says the task.
            source: ``"api"`` or ``"app"``.
            video: The input video.
            move_video: Move ``video`` into the store's inputs folder (an upload
                the store now owns, never served) instead of reading it where it is.
            video_name: What the video's sender named it (see :attr:`Job.video_name`).
            client: Who asks (a token or an address), for its share of the queue.

        Returns:
            The job, queued.

        Raises:
            QueueFull: Every device is busy and the queue (or the client's
                share of it) is full.
            TypeError: ``config`` is no task's config.
        """
        task = task_of(config)

        def make() -> Job:
            job_id, folder = self.folders.new()
            given = self.folders.take_input(job_id, video) if move_video else video
            return Job(
                id=job_id, task=task, config=config, source=source, folder=folder, video=given,
                outputs=output_paths(task, folder, config), video_name=video_name, client=client,
            )  # fmt: skip

        return self._add(self.queue.admit(client, make))

    def _add(self, job: Job) -> Job:
        """Hold ``job``, so that it can be looked up by its id."""
        with self._lock:
            self._jobs[job.id] = job
        return job

    @contextlib.contextmanager
    def exclusive(self, what: str, requester: Requester) -> Iterator[Job]:
        """Hold every device for the block, after the jobs already waiting (a benchmark).

        The block's job is a job like the others (its status is served over
        REST; its folder, for the block's files, is swept with theirs), except
        that it runs no task of :mod:`pipeline.runs` and holds all the devices.

        Args:
            what: What it is, e.g. ``"benchmark"`` (its ``task``: no config says it).
            requester: Who asks: its source, its share of the queue, and the event
                set when it is gone. Once the block runs, it checks
                ``requester.cancel`` and ``job.stop_event`` itself.

        Yields:
            The job, running.

        Raises:
            QueueFull: Every device is busy and the queue (or the client's share) is full.
            PipelineError: It was cancelled while it waited.
            RunStopped: As the block raised it: the job ends ``stopped``.
        """

        def make() -> Job:
            job_id, folder = self.folders.new()
            return Job(
                id=job_id, task=what, config=None, source=requester.source, folder=folder,
                video=folder, outputs={}, weight=self.queue.devices, client=requester.client,
            )  # fmt: skip

        job = self._add(self.queue.admit(requester.client, make))
        try:
            while (started := self.acquire(job, timeout=CANCEL_POLL_S)) is None:
                if requester.cancel.is_set():
                    self.stop(job.id)  # out of the queue: the next acquire says so
            if not started:
                raise PipelineError(f"The {what} was cancelled while it waited for the devices.")
            try:
                yield job
            finally:
                self.release(job)
        except RunStopped:
            self.folders.remove(job)
            job.stop_without_result()
            raise
        except BaseException as exc:
            self.folders.remove(job)
            job.fail(str(exc) or type(exc).__name__, internal=not isinstance(exc, PipelineError))
            raise
        else:
            job.finish_without_run()

    def record(self, config: RunConfig, *, source: str) -> Job:
        """A job for a run its caller does itself, outside the queue (a live camera session).

        The job has a folder for the recording, is running at once, holds no
        device, and is served over REST and swept like the others once its
        caller ends it (:meth:`Job.observe` of a ``Done``).

        Args:
            config: The run's config; its type says the task, whose usual files
                are the job's outputs.
            source: Who records, e.g. ``"live"``.

        Returns:
            The job, running.
        """
        task = task_of(config)
        job_id, folder = self.folders.new()
        job = Job(
            id=job_id, task=task, config=config, source=source, folder=folder, video=folder,
            outputs=output_paths(task, folder, config), weight=0,
        )  # fmt: skip
        self._add(job).mark_running()
        return job

    def submit(
        self,
        video: Path,
        config: RunConfig,
        *,
        video_name: str | None = None,
        client: str | None = None,
        executor: Executor | None = None,
    ) -> Job:
        """Create a job from an uploaded video (moved into the store) and execute it in a thread.

        Args:
            video: The upload; the store moves it.
            config: The run's config; its type says the task.
            video_name: What the upload's sender named it (its messages name it so).
            client: Who asks, for its share of the queue (None: no share applies).
            executor: What runs it (None: the store's own,
                :func:`~pipeline.jobs.execution.run_in_process`).

        Returns:
            The job; it runs as soon as a device is free, whether or not its
            caller stays (its events are recorded in the job).

        Raises:
            QueueFull: Every device is busy and the queue (or the client's share) is full.
        """
        job = self.create(
            config, source="api", video=video, move_video=True, video_name=video_name,
            client=client,
        )  # fmt: skip
        threading.Thread(target=drain, args=(job, self.execute(job, executor)),
                         name=f"job-{job.id[:8]}", daemon=True).start()  # fmt: skip
        return job

    def wait_for_room(self, timeout: float) -> bool:
        """Wait until a new job would find a place (a device or the queue), at most ``timeout`` s.

        It holds no place meanwhile: see :meth:`.FairQueue.wait_for_room`.

        Returns:
            True when there is room now.
        """
        return self.queue.wait_for_room(timeout)

    # ------------------------------------------------------------------ running jobs

    def acquire(self, job: Job, timeout: float | None = None) -> bool | None:
        """Wait for a device, in queue order; :meth:`release` it when the run is over.

        Args:
            job: A job of this store, queued.
            timeout: Give up waiting after this many seconds (None: wait on).

        Returns:
            True once the job has its device (it is running); False when it was
            cancelled (or the store closed) while it waited; None on timeout.
        """
        started = self.queue.acquire(job, timeout)
        if started is False:
            self._cancel(job)
        return started

    def release(self, job: Job) -> None:
        """Give back the device :meth:`acquire` gave ``job``."""
        self.queue.release(job)

    def execute(
        self, job: Job, executor: Executor | None = None, *, beat_s: float | None = None
    ) -> Iterator[Event | Waiting]:
        """Run a job made by :meth:`create`: the one way every task's run is executed.

        It waits for the job's device in queue order, runs ``executor(job)``
        once it has it, records each event in the job
        (:func:`~pipeline.jobs.execution.follow`), gives the device back and
        cleans up, however the run ends: finished, failed, stopped, cancelled
        while it waited, or its caller gone (the generator closed).

        Args:
            job: A queued job of this store.
            executor: What runs it (None: the store's own,
                :func:`~pipeline.jobs.execution.run_in_process`).
            beat_s: While it waits, yield :class:`Waiting` this often (None: wait
                without a word).

        Yields:
            :class:`Waiting` while it waits (with ``beat_s``), then the run's events.
            Nothing more when it was cancelled while it waited (its status says so).

        Raises:
            PipelineError, ModelError: As the run raised them (the job records the message).
        """
        run = executor or self.executor
        try:
            while (started := self.acquire(job, timeout=beat_s)) is None:
                yield Waiting(self.queue_position(job) or 1)
            if not started:
                return
            try:
                yield from follow(job, run(job), self.folders.remove)
            finally:
                self.release(job)
        finally:
            self._after_run(job)

    def _after_run(self, job: Job) -> None:
        # Its caller went away while it waited: its place must not hold the queue up.
        self.queue.forget(job)
        if not job.status.finished:
            # Ended without a result, e.g. its caller went away before it started.
            self._cancel(job)
        if job.delete_when_done:
            self._delete_now(job)

    def _cancel(self, job: Job) -> None:
        """End a job that never ran: its files go first, then it reads ``cancelled``."""
        self.folders.remove(job)
        job.cancel()

    # ------------------------------------------------------------------ clients' requests

    def get(self, job_id: str) -> Job:
        """The job with this id.

        Raises:
            UnknownJob: No such job.
        """
        job = self._jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None:
            # Quoted as far as a real id goes (22 characters): a client's 8 KB path is not echoed.
            shown = repr(job_id) if len(repr(job_id)) <= 40 else repr(job_id)[:39] + "…"
            raise UnknownJob(f"No job {shown}: it never existed, was deleted or has expired.")
        return job

    def all(self) -> list[Job]:
        """Every job the store holds, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created)

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to run, 2 after it...; None when not waiting."""
        return self.queue.position(job)

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's state, with its queue position (what ``GET /detect/status`` answers)."""
        job = self.get(job_id)
        return job.snapshot(self.queue_position(job))

    def stop(self, job_id: str) -> Job:
        """Stop a job: a running one ends with its partial result, a queued one is cancelled."""
        job = self.get(job_id)
        if not self.queue.withdraw(job, self._cancel):
            job.request_stop()
        return job

    def delete(self, job_id: str, timeout: float = 30.0) -> None:
        """Cancel a job if it has not ended, then delete it and every file it has.

        A running job is stopped and deleted once its run has let go of its files.
        """
        job = self.get(job_id)
        job.delete_when_done = True
        self.stop(job_id)
        # A run's files are closed before its job is marked as ended.
        if job.wait_until(lambda j: j.status.finished, timeout=timeout):
            self._delete_now(job)
        else:
            log.warning("job %s did not stop within %.0f s; deleted when it does", job.id, timeout)

    def _delete_now(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        self.queue.forget(job)
        job.cancel()
        self.folders.remove(job)

    def private_folders(self) -> list[Path]:
        """The folders under the root that hold what clients sent (uploads, inputs).

        A server that serves the root's job folders must not serve these.
        """
        return self.folders.private()

    def new_upload_path(self, client_name: str | None = None) -> Path:
        """A fresh path for an incoming upload, inside the store (pass it to :meth:`submit`).

        See :meth:`JobFolders.new_upload_path <pipeline.jobs.folders.JobFolders.new_upload_path>`.
        """
        return self.folders.new_upload_path(client_name)

    # ------------------------------------------------------------------ clean-up

    def disk_bytes(self) -> int:
        """Bytes of every file under the root."""
        return self.folders.disk_bytes()

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Delete expired finished jobs, then the oldest finished ones over the disk bound.

        Args:
            now: The current time (``time.time()`` when None).

        Returns:
            ``{"expired": ..., "over_disk_bound": ..., "bytes": ...}``: jobs deleted
            for each reason and the bytes left under the root.
        """
        with self._lock:
            finished = sorted(
                (j for j in self._jobs.values() if j.status.finished and j.finished is not None),
                key=lambda j: j.finished or 0.0,
            )
        return folders.sweep(
            finished, self.folders, self._delete_now,
            now=time.time() if now is None else now, ttl_s=self.ttl_s,
            max_disk_bytes=self.max_disk_bytes,
        )  # fmt: skip

    def _sweep_periodically(self, interval_s: float) -> None:
        while not self._closed.wait(interval_s):
            try:
                self.sweep()
            except OSError as exc:  # a file vanished under the sweep: the next one retries
                log.warning("job sweep failed: %s", exc)

    def close(self) -> None:
        """Stop the sweep and every job (their threads end on their own)."""
        self._closed.set()
        self.queue.close()
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if not job.status.finished:
                job.request_stop()
