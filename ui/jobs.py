"""The app's one job store: every tab run and every REST job is a job of it.

One store per output folder in a process (the tabs and the REST API built from
the same settings share it), holding as many devices as the app runs on.
"""

from __future__ import annotations

import functools

from pipeline.jobs import JobStore
from ui.gpu import device_count
from ui.settings import Settings


@functools.cache
def job_store(settings: Settings) -> JobStore:
    """The job store for these settings (made once per process and output folder).

    Args:
        settings: Deployment settings: the folder, time to live, disk bound,
            queue length (and one client's share of it) and preview rate.

    Returns:
        The store; its jobs run on :func:`ui.gpu.device_count` devices at once.
    """
    return JobStore(
        settings.output_dir,
        devices=device_count(),
        max_queued=settings.max_queued_jobs,
        max_queued_per_client=settings.max_queued_per_client,
        ttl_s=settings.output_max_age_s,
        max_disk_bytes=settings.output_max_disk_bytes,
        preview_interval_s=settings.preview_interval_s,
        sweep_interval_s=settings.sweep_interval_s,
    )
