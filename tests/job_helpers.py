"""A job store as the app's settings size it, and uploads to submit to it, for the job tests."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.jobs import JobStore
from ui.settings import Settings


@contextmanager
def settings_store(settings: Settings) -> Iterator[JobStore]:
    """One device and the settings' queue limits, no sweeper; closed after the ``with``.

    Args:
        settings: Its ``output_dir``, ``max_queued_jobs`` and ``max_queued_per_client``.

    Yields:
        The store.
    """
    jobs = JobStore(
        settings.output_dir, devices=1, max_queued=settings.max_queued_jobs,
        max_queued_per_client=settings.max_queued_per_client, sweep_interval_s=None,
    )  # fmt: skip
    try:
        yield jobs
    finally:
        jobs.close()


def upload(clip: Path, tmp_path: Path) -> Path:
    """A fresh copy, as an upload: the store moves it into the job's folder.

    Args:
        clip: The video to copy.
        tmp_path: The folder the copy goes in, under a name not used before.

    Returns:
        The copy.
    """
    target = tmp_path / f"upload-{time.monotonic_ns()}.mp4"
    shutil.copy(clip, target)
    return target
