"""What runs a job once it has its device, and how its events are recorded in it.

An *executor* turns a job into its run's events; it is the one thing the
callers of ``JobStore.execute`` choose:

- the app's GPU wrapper (``ui.gpu.run_events``): the tabs, ``gradio_client``
  and the MCP tools (the tabs' endpoints), whose runs come with a Gradio request;
- :func:`run_in_process`, the store's own: the run here, in this process. REST
  jobs use it, because a ZeroGPU call needs the Gradio request (and the
  visitor's quota it carries) that a REST request does not carry: on a ZeroGPU
  Space those jobs run on the CPU, on the devices
  :mod:`pipeline.runtime.devices` gives this process.

:func:`follow` records each event in the job and turns a failure into the
job's message; :class:`Waiting` is what ``execute`` yields while the job waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from models.errors import ModelError
from pipeline.configs import PREVIEW_INTERVAL_S
from pipeline.errors import PipelineError, RunFailed
from pipeline.jobs.job import Job
from pipeline.runs import start
from pipeline.runtime.events import Event

log = logging.getLogger(__name__)

#: What runs a job's task once the job has its device: the run's events, given the job.
Executor = Callable[[Job], Iterable[Event]]


@dataclass(frozen=True)
class Waiting:
    """The job still waits for a device (what ``JobStore.execute`` yields meanwhile).

    Attributes:
        position: Its place in the queue: 1 runs next.
    """

    position: int


def run_in_process(preview_interval_s: float = PREVIEW_INTERVAL_S) -> Executor:
    """The executor that runs a job here, in this process (REST jobs: see the module's note).

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


def follow(job: Job, events: Iterable[Event], discard: Callable[[Job], None]) -> Iterator[Event]:
    """Pass a run's events through, recording them in ``job``; a failure fails the job.

    Args:
        job: The job the run is for.
        events: The run's events.
        discard: Removes the job's files; called before the job is marked
            failed, so that nobody sees "failed" next to half-written files.

    Raises:
        PipelineError, ModelError: As the run raised them (the job records the message).
    """
    try:
        for event in events:
            job.observe(event)
            yield event
    except (PipelineError, ModelError) as exc:
        # The run removed its outputs; the rest goes before anyone sees "failed".
        discard(job)
        job.fail(str(exc), internal=isinstance(exc, RunFailed))
        raise
    except Exception as exc:
        discard(job)
        # A UI layer's own error type (gr.Error) carries the user's message.
        message = getattr(exc, "message", None)
        job.fail(message or f"The {job.task} run failed: {exc}", internal=message is None)
        raise


def drain(job: Job, events: Iterable[object]) -> None:
    """Run ``events`` to their end with nobody following (a REST job's thread).

    A failure is already recorded in the job (:func:`follow`); it is only logged here.
    """
    try:
        for _ in events:
            pass
    except Exception:
        log.info("job %s failed: %s", job.id, job.error)
