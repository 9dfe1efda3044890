"""One job: a run with an id, a status, its progress, its outputs and the frames to show.

A job follows its run's events (:meth:`Job.observe`): the first frame and the
newest preview as JPEG (for the first-frame route and the MJPEG stream), the
progress, and at the end the outputs and the summary. Every reader gets a
consistent view (:meth:`Job.snapshot`) under the job's lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.configs import RunConfig
from pipeline.errors import named_as_sent
from pipeline.runtime.events import Done, Downloading, Event, FirstFrame, Preview, Progress
from pipeline.runtime.report import LatestValue, downscale
from pipeline.runtime.summary import RunSummary
from pipeline.runtime.watch import set_when

#: JPEG quality of the first frame and the stream's frames.
JPEG_QUALITY = 85
#: Stream frames are at most this wide.
STREAM_MAX_WIDTH = 640
#: A job's folder holds this file once it is asked to stop (read across processes).
STOP_FILE = "STOP"


@dataclass(frozen=True)
class Requester:
    """Who asks for a job that holds the devices itself (a benchmark): its path and its share.

    Attributes:
        source: The path it came by: ``"api"`` or ``"app"``.
        client: Who asks, for its share of the queue (None: no share applies).
        cancel: Set when whoever asked is gone (a client that disconnected): the
            job leaves the queue if it still waits; once it runs, its block
            checks ``cancel`` itself.
    """

    source: str
    client: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class JobStatus(str, enum.Enum):
    """Where a job is: waiting, running, or how it ended.

    A string whose ``str()`` and ``format()`` are its value (``"running"``), as
    ``enum.StrEnum`` gives on Python 3.11; spelled out here because a ZeroGPU
    Space may run Python 3.10, which lacks ``StrEnum`` and whose plain
    ``(str, Enum)`` members print as ``JobStatus.RUNNING``.
    """

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)

    @property
    def finished(self) -> bool:
        """Whether the job has ended (its files, if any, are final)."""
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


def to_jpeg(image: np.ndarray, max_width: int | None = None) -> bytes:
    """A BGR image as JPEG bytes, downscaled to ``max_width`` when given."""
    if max_width is not None:
        image = downscale(image, max_width)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return encoded.tobytes()


@dataclass(eq=False)
class Job:
    """A run of a task on one video, tracked from submission to the end.

    Attributes:
        id: Unguessable id (the only handle clients have).
        task: ``"detection"``, ``"depth"`` or ``"segmentation"``.
        config: The run's settings.
        source: Who started it: ``"api"`` (REST) or ``"app"`` (a tab or ``gradio_client``).
        folder: The job's own folder; its outputs and uploaded input live here.
        video: The input video.
        video_name: What its sender named it, when the store keeps it under
            another name (an upload): a failure's message names it so.
        outputs: Each output file by name (they exist once the run has written them).
        status: See :class:`JobStatus`.
        error: What went wrong, when the job failed.
        error_is_internal: Whether the failure is the app's fault, not the request's.
        summary: The run's summary, with the job's id, once it ended (its
            ``partial`` true when stopped); None for a job that runs no task.
        created, started, finished: Wall-clock times (``time.time()``).
        frames_done, total_frames, fps: Progress.
        downloading: The download of a model's weights under way before the run
            can load it (:class:`~models.prefetch.Download`), else None.
        first_frame: The first frame as the run shows it (JPEG), once processed.
        first_frame_depth: Its depth, coloured (JPEG), when the run measures depth.
        previews: The newest processed frame (JPEG, at most 640 px wide), for streams.
        stop_event: Set to stop the run (see :meth:`request_stop`).
        delete_when_done: Deleted (files and record) once its run lets go of them.
        weight: How many devices it holds while it runs (a benchmark holds all).
        client: Who submitted it (a token or an address), for its share of the
            queue; never shown.
    """

    id: str
    task: str
    config: RunConfig | None
    source: str
    folder: Path
    video: Path
    outputs: dict[str, Path]
    video_name: str | None = None
    status: JobStatus = JobStatus.QUEUED
    error: str | None = None
    error_is_internal: bool = False
    summary: RunSummary | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    frames_done: int = 0
    total_frames: int | None = None
    fps: float = 0.0
    downloading: Downloading | None = None
    first_frame: bytes | None = None
    first_frame_depth: bytes | None = None
    previews: LatestValue[tuple[int, bytes]] = field(default_factory=LatestValue)
    stop_event: threading.Event = field(default_factory=threading.Event)
    delete_when_done: bool = False
    weight: int = 1
    client: str | None = field(default=None, repr=False)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    # ------------------------------------------------------------------ the run's side

    def observe(self, event: Event) -> None:
        """Take one event of the job's run into account."""
        if isinstance(event, Downloading) or self.downloading is not None:
            # Any other event comes once the downloads are over.
            with self._changed:
                self.downloading = event if isinstance(event, Downloading) else None
                self._changed.notify_all()
        if isinstance(event, FirstFrame):
            image = to_jpeg(event.image)
            depth = None if event.depth_view is None else to_jpeg(event.depth_view)
            with self._changed:
                self.first_frame, self.first_frame_depth = image, depth
                self._changed.notify_all()
            self.previews.publish((0, to_jpeg(event.image, STREAM_MAX_WIDTH)))
        elif isinstance(event, Preview):
            self.previews.publish((event.frame_index, to_jpeg(event.image, STREAM_MAX_WIDTH)))
        elif isinstance(event, Progress):
            with self._changed:
                self.frames_done = event.frame_index + 1
                self.total_frames = event.total_frames
                self.fps = event.fps
                self._changed.notify_all()
        elif isinstance(event, Done):
            partial = event.summary.partial
            with self._changed:
                self.summary = dataclasses.replace(event.summary, job_id=self.id)
                self.frames_done = event.summary.frames
                # Stopped before its first frame, a run keeps no files.
                self.outputs = {n: p for n, p in self.outputs.items() if n in event.outputs}
            self._end(JobStatus.STOPPED if partial else JobStatus.COMPLETED)

    def mark_running(self) -> None:
        """The job got its device and starts."""
        with self._changed:
            self.status = JobStatus.RUNNING
            self.started = time.time()
            self._changed.notify_all()

    def fail(self, message: str, *, internal: bool = False) -> None:
        """The run failed; ``message`` is what the user reads.

        Args:
            message: What went wrong, in the user's terms.
            internal: The app's fault (a bug, a crash), not the request's.
        """
        # The run names the stored input (job-<id>.mp4), a name its sender never gave.
        message = named_as_sent(message, self.video.name, self.video_name)
        with self._changed:
            self.error = message
            self.error_is_internal = internal
        self._end(JobStatus.FAILED)

    def finish_without_run(self) -> None:
        """Ended well, without a run of a task (a benchmark's job)."""
        self._end(JobStatus.COMPLETED)

    def stop_without_result(self) -> None:
        """Stopped while it ran, keeping nothing (a benchmark's job: no partial grid)."""
        self._end(JobStatus.STOPPED)

    def cancel(self) -> None:
        """Ended before it ran (stopped or deleted while queued)."""
        self._end(JobStatus.CANCELLED)

    def _end(self, status: JobStatus) -> None:
        with self._changed:
            if self.status.finished:
                return
            self.status = status
            self.finished = time.time()
            self.downloading = None
            self._changed.notify_all()
        self.previews.close()

    # ------------------------------------------------------------------ the callers' side

    def request_stop(self) -> None:
        """Ask the run to stop; it ends with a partial result (status ``stopped``).

        Also leaves a file in the job's folder, for a run in another process
        (a ZeroGPU worker) that cannot see this process's event.
        """
        self.stop_event.set()
        with contextlib.suppress(OSError):  # a folder being deleted needs no stop file
            (self.folder / STOP_FILE).touch()

    def wait_until(self, condition: Callable[[Job], bool], timeout: float) -> bool:
        """Wait until ``condition(job)`` holds (checked at every change); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout=timeout)

    @property
    def eta_s(self) -> float | None:
        """Seconds until the run should end, from its speed so far (None when unknown)."""
        if self.status is not JobStatus.RUNNING or not self.total_frames or self.fps <= 0:
            return None
        return max(0.0, (self.total_frames - self.frames_done) / self.fps)

    def snapshot(self, position: int | None = None) -> dict[str, Any]:
        """The job's state as JSON-ready values (what the status route answers).

        Args:
            position: Its place in the queue (1 is next), when it is waiting.
        """
        with self._changed:
            eta = self.eta_s
            # Only the files it has: a job cancelled, failed or stopped early has few or none.
            outputs = (
                sorted(name for name, path in self.outputs.items() if path.is_file())
                if self.status.finished
                else []
            )
            return {
                "job_id": self.id,
                "task": self.task,
                "source": self.source,
                "status": str(self.status),
                "queue_position": position,
                "progress": {
                    "frames_done": self.frames_done,
                    "total_frames": self.total_frames,
                    "fps": round(self.fps, 2),
                    "eta_s": None if eta is None else round(eta, 1),
                },
                "downloading": None if self.downloading is None else {
                    "model": self.downloading.label,
                    "source": self.downloading.source,
                    "done_bytes": self.downloading.done_bytes,
                    "total_bytes": self.downloading.total_bytes,
                },
                "error": self.error,
                "partial": self.summary is not None and self.summary.partial,
                "outputs": outputs,
                "created": self.created,
                "started": self.started,
                "finished": self.finished,
                "summary": None if self.summary is None else self.summary.to_dict(),
            }


@contextlib.contextmanager
def stop_file_watch(folder: Path, poll_s: float = 0.2) -> Iterator[threading.Event]:
    """An event set once the job folder's stop file appears (see :meth:`Job.request_stop`).

    For a run in another process than its job (a ZeroGPU worker): the file
    system is what the two share.

    Yields:
        The event; the watching ends with the block.
    """
    with set_when((folder / STOP_FILE).exists, poll_s=poll_s, name="stop-file-watch") as stop:
        yield stop
