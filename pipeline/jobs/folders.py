"""The job store's files: each job's folder, the uploads and inputs, their bytes and their sweep.

Everything lives under one ``root`` that the store owns:

- ``root/job-<id>/``: a job's own folder, its outputs (served to clients);
- ``root/.uploads/``: uploads being received, under random names;
- ``root/.inputs/job-<id>.<suffix>``: a job's uploaded input, never served
  (:meth:`JobFolders.private`), outside the job's folder.

Nothing from a client ever becomes part of a path: names are random or the
job's id, and a client's file name gives at most a known video suffix.
:func:`sweep` chooses which finished jobs go (expired, then the oldest over
the disk bound); the store deletes them.

Example:
    >>> import tempfile
    >>> folders = JobFolders(Path(tempfile.mkdtemp()))
    >>> job_id, folder = folders.new()
    >>> folder.name == f"job-{job_id}", folders.new_upload_path("clip.MP4").suffix
    (True, '.mp4')
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.jobs.job import Job

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


def _video_suffix(name: str | Path) -> str:
    """``name``'s suffix, lower-cased, when it is one of :data:`VIDEO_SUFFIXES`; else ``""``."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else ""


class JobFolders:
    """The folders under a job store's root.

    Args:
        root: The folder that holds them all (made if missing). Whatever a
            previous process left there is removed (:meth:`remove_leftovers`).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_leftovers()

    def new(self) -> tuple[str, Path]:
        """A new job's id (unguessable) and its folder, made."""
        job_id = secrets.token_urlsafe(16)
        folder = self.root / f"{FOLDER_PREFIX}{job_id}"
        folder.mkdir()
        return job_id, folder

    def new_upload_path(self, client_name: str | None = None) -> Path:
        """A fresh path for an incoming upload, inside the root.

        Its name is random; it keeps the client's suffix only when that is one
        of :data:`VIDEO_SUFFIXES`. The store's ``submit`` moves it to the job's
        input; delete it if the upload is refused.
        """
        folder = self.root / UPLOADS_FOLDER
        folder.mkdir(exist_ok=True)
        return folder / (secrets.token_hex(16) + _video_suffix(client_name or ""))

    def take_input(self, job_id: str, video: Path) -> Path:
        """Move an upload to job ``job_id``'s input (never served); its new path."""
        inputs = self.root / INPUTS_FOLDER
        inputs.mkdir(exist_ok=True)
        target = inputs / f"{FOLDER_PREFIX}{job_id}{_video_suffix(video)}"
        shutil.move(video, target)
        return target

    def remove(self, job: Job) -> None:
        """Remove the job's folder, and its uploaded input."""
        shutil.rmtree(job.folder, ignore_errors=True)
        if job.video.parent == self.root / INPUTS_FOLDER:
            job.video.unlink(missing_ok=True)

    def job_bytes(self, job: Job) -> int:
        """Bytes of the job's folder and of its uploaded input (what deleting it frees here)."""
        # A tab's input is Gradio's file, outside the root: deleting the job frees none of it.
        uploaded = job.video.parent == self.root / INPUTS_FOLDER
        return folder_bytes(job.folder) + (_size(job.video) if uploaded else 0)

    def private(self) -> list[Path]:
        """The folders under the root that hold what clients sent (uploads, inputs).

        A server that serves the root's job folders must not serve these.
        """
        return [self.root / UPLOADS_FOLDER, self.root / INPUTS_FOLDER]

    def disk_bytes(self) -> int:
        """Bytes of every file under the root."""
        return folder_bytes(self.root)

    def remove_leftovers(self) -> None:
        """Remove every job folder, upload and input under the root (a previous process's)."""
        for path in [*self.root.glob(f"{FOLDER_PREFIX}*"), *self.private()]:
            shutil.rmtree(path, ignore_errors=True)


def sweep(
    finished: Sequence[Job],
    folders: JobFolders,
    delete: Callable[[Job], None],
    *,
    now: float,
    ttl_s: float,
    max_disk_bytes: int | None,
) -> dict[str, int]:
    """Delete expired finished jobs, then the oldest finished ones while over the disk bound.

    Args:
        finished: The finished jobs, oldest end first (never a queued or running one).
        folders: Where their files are.
        delete: Deletes one job, its record and its files.
        now: The current time (``time.time()``).
        ttl_s: Finished jobs older than this are deleted.
        max_disk_bytes: Bound on the bytes under the root (None: no bound).

    Returns:
        ``{"expired": ..., "over_disk_bound": ..., "bytes": ...}``: jobs deleted
        for each reason and the bytes left under the root.
    """
    expired = [j for j in finished if now - (j.finished or now) > ttl_s]
    for job in expired:
        delete(job)
    over = 0
    used = folders.disk_bytes()
    if max_disk_bytes is not None:
        for job in (j for j in finished if j not in expired):
            if used <= max_disk_bytes:
                break
            size = folders.job_bytes(job)
            delete(job)
            used -= size
            over += 1
    if expired or over:
        log.info("swept %d expired and %d jobs over the disk bound", len(expired), over)
    return {"expired": len(expired), "over_disk_bound": over, "bytes": used}
