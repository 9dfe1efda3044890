"""The job store: every run of the app is a job here, whoever started it.

Every run of a task goes through one method, :meth:`JobStore.execute`: it waits
for a device in the queue, runs the job with an *executor* (what turns a job into
the run's events), records every event in the job, gives the device back and
cleans up, whoever asked. The executor is the only thing callers choose:

- the store's own, :func:`run_in_process`: the run in this process, on the
  devices :mod:`pipeline.runtime.devices` gives it. REST and MCP jobs
  (:meth:`JobStore.submit`, a thread per job, so that they outlive their
  request) use it: on a ZeroGPU Space a GPU call needs the Gradio request that
  a REST request does not carry, so those jobs run on the CPU there;
- the app's GPU wrapper (``ui.gpu.run_events``): the tabs and ``gradio_client``.

Two kinds of job are not a task's run and hold no executor: a benchmark holds
every device for a block of its own (:meth:`JobStore.exclusive`), and a Live
session records what its caller runs frame by frame, outside the queue
(:meth:`JobStore.record`). Every kind is served, stopped and swept alike.

- **Devices.** At most ``devices`` jobs run at once; the others wait in one
  first-come, first-served queue of at most ``max_queued`` jobs (their status
  shows their position). A job that would make the queue longer is refused at
  once (:class:`QueueFull`), never accepted and lost; so is one from a client
  that already has ``max_queued_per_client`` jobs waiting, so that one client
  cannot take every place.
- **Files.** Each job has its own folder under ``root`` for its outputs, and an
  uploaded input its own file under ``root/.inputs`` (never served: see
  :meth:`private_folders`); nothing from a client ever becomes part of a path.
  A failed run leaves only its record; a stopped one keeps its partial result.
- **Clean-up.** A periodic sweep deletes finished jobs older than ``ttl_s``,
  then the oldest finished ones while the folder holds more than
  ``max_disk_bytes``; it never touches a queued or running job. At start-up
  anything left under ``root`` by a previous process is removed.

Example:
    store = JobStore(Path("/tmp/jobs"), devices=1)
    job = store.submit("detection", Path("clip.mp4"), DetectionConfig())
    job.wait_until(lambda j: j.status.finished, timeout=60)

    # or, following the events (a tab's handler):
    job = store.create("detection", config, source="app", video=Path("clip.mp4"))
    for event in store.execute(job, executor, beat_s=1.0):
        ...  # Waiting(position) while queued, then the run's events
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import ModelError
from pipeline.configs import PREVIEW_INTERVAL_S, RunConfig
from pipeline.errors import PipelineError, RunFailed, RunStopped
from pipeline.jobs.job import Job, JobStatus
from pipeline.runs import output_paths, run_type, start
from pipeline.runtime.events import Event

log = logging.getLogger(__name__)

#: Prefix of every job folder: the sweep removes nothing else under the root.
FOLDER_PREFIX = "job-"
#: Suffixes an uploaded input keeps (they help some demuxers); any other becomes none.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts")
#: Uploads land here (under random names) before they become a job's input.
UPLOADS_FOLDER = ".uploads"
#: A job's uploaded input lives here, named by the job's id, outside the job's
#: folder: the job's folder is served to clients, its input never is.
INPUTS_FOLDER = ".inputs"
#: Least time a refused client is asked to wait before trying again.
MIN_RETRY_AFTER_S = 5
#: How often an exclusive job waiting in the queue checks whether its caller is gone.
CANCEL_POLL_S = 0.5


#: What runs a job's task once the job has its device: the run's events, given the job.
Executor = Callable[[Job], Iterable[Event]]


@dataclass(frozen=True)
class Waiting:
    """The job still waits for a device (what :meth:`JobStore.execute` yields meanwhile).

    Attributes:
        position: Its place in the queue: 1 runs next.
    """

    position: int


def run_in_process(preview_interval_s: float = PREVIEW_INTERVAL_S) -> Executor:
    """The executor that runs a job here, in this process (REST and MCP jobs).

    Args:
        preview_interval_s: Least time between two stream frames of a job.

    Returns:
        An executor: ``pipeline.runs.start`` on the job's video, config, outputs
        and stop event.
    """

    def execute(job: Job) -> Iterator[Event]:
        return start(
            job.video, job.config, job.outputs, job.stop_event,
            preview_interval_s=preview_interval_s,
        )  # fmt: skip

    return execute


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (files that vanish meanwhile count as none)."""
    total = 0
    # os.walk passes over folders removed while it walks; rglob would raise.
    for parent, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(parent, name)).st_size
    return total


def _size(path: Path) -> int:
    """A file's bytes (0 when it is not there, or is a folder)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


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
        if devices < 1 or max_queued < 0:
            raise ValueError("a job store needs at least one device and a queue of 0 or more")
        self.root = Path(root)
        self.devices = devices
        self.max_queued = max_queued
        self.max_queued_per_client = max_queued_per_client
        self.ttl_s = ttl_s
        self.max_disk_bytes = max_disk_bytes
        self.executor = run_in_process(preview_interval_s)
        self._jobs: dict[str, Job] = {}
        self._waiting: list[Job] = []
        self._running = 0
        self._lock = threading.Condition()
        self._closed = threading.Event()
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
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
        task: str,
        config: RunConfig,
        *,
        source: str,
        video: Path,
        move_video: bool = False,
        client: str | None = None,
    ) -> Job:
        """Register a job and give it its folder (it waits for a device in :meth:`device`).

        Args:
            task: The task's name.
            config: The task's config.
            source: ``"api"`` or ``"app"``.
            video: The input video.
            move_video: Move ``video`` into the store's inputs folder (an upload
                the store now owns, never served) instead of reading it where it is.
            client: Who asks (a token or an address), for its share of the queue.

        Returns:
            The job, queued.

        Raises:
            QueueFull: Every device is busy and the queue (or the client's
                share of it) is full.
            PipelineError: Unknown task.
        """
        run_type(task)
        with self._lock:
            self._check_room(client)
            job_id, folder = self._new_folder()
            if move_video:
                suffix = video.suffix.lower() if video.suffix.lower() in VIDEO_SUFFIXES else ""
                inputs = self.root / INPUTS_FOLDER
                inputs.mkdir(exist_ok=True)
                target = inputs / f"{FOLDER_PREFIX}{job_id}{suffix}"
                shutil.move(video, target)
                video = target
            return self._add(
                Job(
                    id=job_id, task=task, config=config, source=source, folder=folder,
                    video=video, outputs=output_paths(task, folder, config), client=client,
                ),  # fmt: skip
                queued=True,
            )

    def _new_folder(self) -> tuple[str, Path]:
        """A new job's id and its folder, made (the lock held)."""
        job_id = secrets.token_urlsafe(16)
        folder = self.root / f"{FOLDER_PREFIX}{job_id}"
        folder.mkdir()
        return job_id, folder

    def _add(self, job: Job, *, queued: bool) -> Job:
        """Hold ``job``, in the queue when ``queued`` (the lock held)."""
        self._jobs[job.id] = job
        if queued:
            self._waiting.append(job)
            self._lock.notify_all()
        return job

    @contextlib.contextmanager
    def exclusive(
        self,
        what: str,
        *,
        source: str,
        cancel: threading.Event | None = None,
        client: str | None = None,
    ) -> Iterator[Job]:
        """Hold every device for the block, after the jobs already waiting (a benchmark).

        The block's job is a job like the others (its status is served over
        REST; its folder, for the block's files, is swept with theirs), except
        that it runs no task of :mod:`pipeline.runs` and holds all the devices.

        Args:
            what: What it is, e.g. ``"benchmark"`` (its ``task``).
            source: ``"api"`` or ``"app"``.
            cancel: Set when whoever asked is gone (a client that disconnected):
                the job leaves the queue if it still waits. Once it runs, the
                block checks ``cancel`` and ``job.stop_event`` itself.
            client: Who asks, for its share of the queue (None: no share applies).

        Yields:
            The job, running.

        Raises:
            QueueFull: Every device is busy and the queue (or the client's share) is full.
            PipelineError: It was cancelled while it waited.
            RunStopped: As the block raised it: the job ends ``stopped``.
        """
        with self._lock:
            self._check_room(client)
            job_id, folder = self._new_folder()
            job = self._add(
                Job(
                    id=job_id, task=what, config=None, source=source, folder=folder,
                    video=folder, outputs={}, weight=self.devices, client=client,
                ),  # fmt: skip
                queued=True,
            )
        try:
            while (started := self.acquire(job, timeout=CANCEL_POLL_S)) is None:
                if cancel is not None and cancel.is_set():
                    self.stop(job.id)  # out of the queue: the next acquire says so
            if not started:
                raise PipelineError(f"The {what} was cancelled while it waited for the devices.")
            try:
                yield job
            finally:
                self.release(job)
        except RunStopped:
            self._remove_folder(job)
            job.stop_without_result()
            raise
        except BaseException as exc:
            self._remove_folder(job)
            job.fail(str(exc) or type(exc).__name__, internal=not isinstance(exc, PipelineError))
            raise
        else:
            job.finish_without_run()

    def record(self, task: str, config: RunConfig, *, source: str) -> Job:
        """A job for a run its caller does itself, outside the queue (a live camera session).

        The job has a folder for the recording, is running at once, holds no
        device, and is served over REST and swept like the others once its
        caller ends it (:meth:`Job.observe` of a ``Done``).

        Args:
            task: The task's name.
            config: The task's config (its outputs are the task's usual files).
            source: Who records, e.g. ``"live"``.

        Returns:
            The job, running.
        """
        run_type(task)
        with self._lock:
            job_id, folder = self._new_folder()
            job = self._add(
                Job(
                    id=job_id, task=task, config=config, source=source, folder=folder,
                    video=folder, outputs=output_paths(task, folder, config), weight=0,
                ),  # fmt: skip
                queued=False,
            )
        job.mark_running()
        return job

    def submit(
        self,
        task: str,
        video: Path,
        config: RunConfig,
        *,
        client: str | None = None,
        executor: Executor | None = None,
    ) -> Job:
        """Create a job from an uploaded video (moved into the store) and execute it in a thread.

        Args:
            task: The task's name.
            video: The upload; the store moves it.
            config: The task's config.
            client: Who asks, for its share of the queue (None: no share applies).
            executor: What runs it (None: the store's own, :func:`run_in_process`).

        Returns:
            The job; it runs as soon as a device is free, whether or not its
            caller stays (its events are recorded in the job).

        Raises:
            QueueFull: Every device is busy and the queue (or the client's share) is full.
        """
        job = self.create(task, config, source="api", video=video, move_video=True, client=client)
        threading.Thread(target=self._execute_to_the_end, args=(job, executor),
                         name=f"job-{job.id[:8]}", daemon=True).start()  # fmt: skip
        return job

    def wait_for_room(self, timeout: float) -> bool:
        """Wait until a new job would find a place (a device or the queue), at most ``timeout`` s.

        For a caller that would rather wait in line than be refused (the page,
        whose users see Gradio's own queue meanwhile); it holds no place while
        it waits, so :meth:`create` may still find the queue full again.

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

    def _has_room(self) -> bool:
        """A device is free, or the queue has a place (the lock held)."""
        free = self._running + len(self._waiting) < self.devices
        return free or len(self._waiting) < self.max_queued

    def _check_room(self, client: str | None = None) -> None:
        """Raise :class:`QueueFull` unless a new job can run now or wait in the queue."""
        if self._running + len(self._waiting) < self.devices:
            return  # a device is free: it runs now
        running = [j.eta_s for j in self._jobs.values() if j.status is JobStatus.RUNNING]
        soonest = min((eta for eta in running if eta is not None), default=None)
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
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not (self._is_next(job) or job.status.finished or self._closed.is_set()):
                left = 1.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(timeout=min(left, 1.0))
            self._forget_waiting(job)
            if job.status.finished or self._closed.is_set():
                runs = False
            else:
                runs = True
                self._running += job.weight
        if not runs:
            self._remove_folder(job)
            job.cancel()
            return False
        job.mark_running()
        return True

    def release(self, job: Job) -> None:
        """Give back the device :meth:`acquire` gave ``job``."""
        with self._lock:
            self._running -= job.weight
            self._lock.notify_all()

    def _is_next(self, job: Job) -> bool:
        return (
            self._running + job.weight <= self.devices
            and bool(self._waiting)
            and self._waiting[0] is job
        )

    def _forget_waiting(self, job: Job) -> None:
        if job in self._waiting:
            self._waiting.remove(job)
            self._lock.notify_all()

    def follow(self, job: Job, events: Iterable[Event]) -> Iterator[Event]:
        """Pass a run's events through, recording them in ``job``; a failure fails the job.

        Raises:
            PipelineError, ModelError: As the run raised them (the job records the message).
        """
        try:
            for event in events:
                job.observe(event)
                yield event
        except (PipelineError, ModelError) as exc:
            # The run removed its outputs; the rest goes before anyone sees "failed".
            self._remove_folder(job)
            job.fail(str(exc), internal=isinstance(exc, RunFailed))
            raise
        except Exception as exc:
            self._remove_folder(job)
            # A UI layer's own error type (gr.Error) carries the user's message.
            message = getattr(exc, "message", None)
            job.fail(message or f"The {job.task} run failed: {exc}", internal=message is None)
            raise

    def execute(
        self, job: Job, executor: Executor | None = None, *, beat_s: float | None = None
    ) -> Iterator[Event | Waiting]:
        """Run a job made by :meth:`create`: the one way every task's run is executed.

        It waits for the job's device in queue order, runs ``executor(job)``
        once it has it, records each event in the job (:meth:`follow`), gives
        the device back and cleans up (:meth:`_after_run`), however the run
        ends: finished, failed, stopped, cancelled while it waited, or its
        caller gone (the generator closed).

        Args:
            job: A queued job of this store.
            executor: What runs it (None: the store's own, :func:`run_in_process`).
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
                yield from self.follow(job, run(job))
            finally:
                self.release(job)
        finally:
            self._after_run(job)

    def _execute_to_the_end(self, job: Job, executor: Executor | None) -> None:
        """:meth:`execute` with nobody following (a REST job's thread)."""
        try:
            for _ in self.execute(job, executor):
                pass
        except Exception:  # recorded in the job by follow()
            log.info("job %s failed: %s", job.id, job.error)

    def _after_run(self, job: Job) -> None:
        with self._lock:
            # Its caller went away while it waited: its place must not hold the queue up.
            self._forget_waiting(job)
        if not job.status.finished:
            # Ended without a result, e.g. its caller went away before it started.
            self._remove_folder(job)
            job.cancel()
        if job.delete_when_done:
            self._delete_now(job)

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
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's state, with its queue position (what ``GET /detect/status`` answers)."""
        job = self.get(job_id)
        return job.snapshot(self.queue_position(job))

    def stop(self, job_id: str) -> Job:
        """Stop a job: a running one ends with its partial result, a queued one is cancelled."""
        job = self.get(job_id)
        with self._lock:
            waiting = job in self._waiting
            if waiting:
                self._forget_waiting(job)
                self._remove_folder(job)
                job.cancel()
        if not waiting:
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
            self._forget_waiting(job)
        job.cancel()
        self._remove_folder(job)

    def _remove_folder(self, job: Job) -> None:
        """Remove the job's folder, and its uploaded input."""
        shutil.rmtree(job.folder, ignore_errors=True)
        if job.video.parent == self.root / INPUTS_FOLDER:
            job.video.unlink(missing_ok=True)

    def private_folders(self) -> list[Path]:
        """The folders under the root that hold what clients sent (uploads, inputs).

        A server that serves the root's job folders must not serve these.
        """
        return [self.root / UPLOADS_FOLDER, self.root / INPUTS_FOLDER]

    # ------------------------------------------------------------------ clean-up

    def disk_bytes(self) -> int:
        """Bytes of every file under the root."""
        return folder_bytes(self.root)

    def sweep(self, now: float | None = None) -> dict[str, int]:
        """Delete expired finished jobs, then the oldest finished ones over the disk bound.

        Args:
            now: The current time (``time.time()`` when None).

        Returns:
            ``{"expired": ..., "over_disk_bound": ..., "bytes": ...}``: jobs deleted
            for each reason and the bytes left under the root.
        """
        now = time.time() if now is None else now
        with self._lock:
            finished = sorted(
                (j for j in self._jobs.values() if j.status.finished and j.finished is not None),
                key=lambda j: j.finished or 0.0,
            )
        expired = [j for j in finished if now - (j.finished or now) > self.ttl_s]
        for job in expired:
            self._delete_now(job)
        over = 0
        used = self.disk_bytes()
        if self.max_disk_bytes is not None:
            for job in (j for j in finished if j not in expired):
                if used <= self.max_disk_bytes:
                    break
                size = folder_bytes(job.folder) + _size(job.video)
                self._delete_now(job)
                used -= size
                over += 1
        if expired or over:
            log.info("swept %d expired and %d jobs over the disk bound", len(expired), over)
        return {"expired": len(expired), "over_disk_bound": over, "bytes": used}

    def _sweep_periodically(self, interval_s: float) -> None:
        while not self._closed.wait(interval_s):
            try:
                self.sweep()
            except OSError as exc:  # a file vanished under the sweep: the next one retries
                log.warning("job sweep failed: %s", exc)

    def _remove_leftovers(self) -> None:
        for path in [*self.root.glob(f"{FOLDER_PREFIX}*"), *self.private_folders()]:
            shutil.rmtree(path, ignore_errors=True)

    def new_upload_path(self, client_name: str | None = None) -> Path:
        """A fresh path for an incoming upload, inside the store.

        Its name is random; it keeps the client's suffix only when that is one
        of :data:`VIDEO_SUFFIXES`. Pass it to :meth:`submit`, which moves it
        to the job's input; delete it if the upload is refused.
        """
        folder = self.root / UPLOADS_FOLDER
        folder.mkdir(exist_ok=True)
        suffix = Path(client_name or "").suffix.lower()
        return folder / (secrets.token_hex(16) + (suffix if suffix in VIDEO_SUFFIXES else ""))

    def close(self) -> None:
        """Stop the sweep and every job (their threads end on their own)."""
        self._closed.set()
        with self._lock:
            jobs = list(self._jobs.values())
            self._lock.notify_all()
        for job in jobs:
            if not job.status.finished:
                job.request_stop()
