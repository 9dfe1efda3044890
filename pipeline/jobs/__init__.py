"""Jobs: runs with an id, a status and a lifetime, shared by the app's tabs and its REST API."""

from pipeline.jobs.job import Job, JobStatus
from pipeline.jobs.store import JobStore, QueueFull, UnknownJob

__all__ = ["Job", "JobStatus", "JobStore", "QueueFull", "UnknownJob"]
