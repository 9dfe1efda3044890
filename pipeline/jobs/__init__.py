"""Jobs: runs with an id, a status and a lifetime, shared by the app's tabs and its REST API.

- :mod:`~pipeline.jobs.job`: one job (status, progress, first frame, stream frames);
- :mod:`~pipeline.jobs.fair_queue`: the devices, the queue and each client's share;
- :mod:`~pipeline.jobs.folders`: the jobs' folders, uploads and inputs, and their sweep;
- :mod:`~pipeline.jobs.execution`: what runs a job (executors) and how its events are recorded;
- :mod:`~pipeline.jobs.store`: :class:`JobStore`, the one object callers use.
"""

from pipeline.jobs.execution import Executor, Waiting, run_in_process
from pipeline.jobs.fair_queue import QueueFull
from pipeline.jobs.job import Job, JobStatus, Requester
from pipeline.jobs.store import JobStore, UnknownJob

__all__ = [
    "Executor", "Job", "JobStatus", "JobStore", "QueueFull", "Requester", "UnknownJob",
    "Waiting", "run_in_process",
]  # fmt: skip
