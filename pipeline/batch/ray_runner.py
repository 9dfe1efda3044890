"""A batch on a Ray cluster: Ray actors, one pipeline each, each video whole in one actor.

Each actor holds one pipeline (its models cached across videos) on one GPU
(``num_gpus=1``) when the cluster has GPUs, else on one CPU, and processes one
video at a time from its first frame to its last, so the tracker sees every
frame in order exactly as on one machine; the files are the same. The driver
(this process) hands the next video to whichever actor is free, follows each
video's progress through a Ray streaming generator, and is the only one to
write the manifest.

Where the code comes from: a local cluster started here gets this checkout on
its workers' ``PYTHONPATH``; for a cluster at an ADDRESS the checkout is sent
as the job's ``working_dir`` (its Python dependencies must be installed on
every node). A Ray session already started in this process (``ray.init`` by a
script or a test) is used as it is, with its own ``runtime_env``. The inputs
and the output folder must be at the same paths on every node (a shared file
system) for a cluster of several machines.

Ray is optional (not in ``requirements.txt``): without it, :func:`import_ray`
says ``pip install ray``.
"""

from __future__ import annotations

import collections
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pipeline
from pipeline.batch.manifest import FAILED, Manifest
from pipeline.batch.outcome import BatchListener, BatchOutcome
from pipeline.batch.work import VideoJob, VideoProgress, VideoResult, one_line, process_video
from pipeline.errors import PipelineError

#: The checkout that holds ``pipeline`` and ``models``: what the workers must import.
CODE_ROOT = Path(pipeline.__file__).resolve().parents[1]
#: What is never sent as the job's ``working_dir`` (videos, caches, history).
WORKING_DIR_EXCLUDES = [
    ".git", "assets", "tests", "outputs", "runs", "weights", ".gradio", "**/__pycache__",
]  # fmt: skip
#: Seconds to wait for a cluster's address to answer before saying it cannot be reached.
CONNECT_TIMEOUT_S = 5.0
#: Seconds between two looks at the stop flag while waiting for the actors.
WAIT_S = 0.2


def import_ray() -> ModuleType:
    """The ``ray`` module.

    Raises:
        PipelineError: Ray is not installed (it is an optional dependency).
    """
    try:
        import ray
    except ImportError:
        raise PipelineError("--ray needs Ray, which is not installed: pip install ray") from None
    return ray


class VideoWorker:
    """What each Ray actor is: processes whole videos, one at a time, on its own device."""

    def ready(self) -> str:
        """The actor's host, once it has started and can import the pipeline."""
        return socket.gethostname()

    def process(self, job: VideoJob, progress_interval_s: float) -> Iterator[Any]:
        """Process one video (:func:`~pipeline.batch.work.process_video`), streaming its reports."""
        yield from process_video(job, progress_interval_s=progress_interval_s)


def check_reachable(address: str) -> None:
    """Fail fast and clearly when nothing answers at a cluster's ``host:port``.

    Args:
        address: ``host:port`` or ``ray://host:port``; ``auto`` (a cluster
            started on this machine with ``ray start``) is left to Ray.

    Raises:
        PipelineError: The address is malformed or nothing answers there.
    """
    if address == "auto":
        return
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise PipelineError(f"Bad Ray address {address!r}: use HOST:PORT, ray://HOST:PORT or auto.")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PipelineError(f"Cannot reach the Ray cluster at {address}: {reason}.") from None


def connect(ray: ModuleType, address: str | None) -> bool:
    """Join the cluster at ``address``, or start a local one; returns whether to shut it down.

    Args:
        ray: The ``ray`` module.
        address: A cluster's address; None starts a local cluster on 127.0.0.1
            (no dashboard) for this batch alone.

    Raises:
        PipelineError: The cluster cannot be reached or joined.
    """
    if ray.is_initialized():
        return False
    if address is None:
        path = os.pathsep.join(p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH")) if p)
        options: dict[str, Any] = {
            "address": "local",
            "include_dashboard": False,
            "_node_ip_address": "127.0.0.1",
            "runtime_env": {"env_vars": {"PYTHONPATH": path}},
        }
    else:
        check_reachable(address)
        options = {
            "address": address,
            "runtime_env": {"working_dir": str(CODE_ROOT), "excludes": WORKING_DIR_EXCLUDES},
        }
    try:
        ray.init(log_to_driver=False, **options)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; the user gets one line
        where = address or "a local Ray cluster"
        raise PipelineError(f"Could not start Ray on {where}: {one_line(exc)}") from None
    return True


def actor_options(resources: dict[str, float], videos: int) -> tuple[int, dict[str, Any]]:
    """How many actors to start and what each reserves.

    Args:
        resources: The cluster's resources (``ray.cluster_resources()``).
        videos: Videos to process (no more actors than that).

    Returns:
        ``(count, options)``: one actor per GPU with ``num_gpus=1`` when the
        cluster has GPUs, else one per CPU with ``num_cpus=1``.
    """
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return max(1, min(gpus, videos)), {"num_gpus": 1}
    cpus = int(resources.get("CPU", 1))
    return max(1, min(cpus, videos)), {"num_cpus": 1}


def run_on_ray(
    jobs: Sequence[VideoJob],
    manifest: Manifest,
    listener: BatchListener,
    stop: threading.Event,
    *,
    address: str | None,
    progress_interval_s: float,
    outcome: BatchOutcome | None = None,
) -> BatchOutcome:
    """Process ``jobs`` on Ray actors, recording each in ``manifest`` as it ends.

    Args:
        jobs: The videos still to process.
        manifest: Where each video's line goes (written here, by the driver).
        listener: Told of each start, progress and end.
        stop: Set it (Ctrl-C) to stop: the actors are killed, and the videos
            under way get no manifest line, so the next batch redoes them.
        address: The cluster (see :func:`connect`).
        progress_interval_s: Least time between two progress reports.
        outcome: Counts to add to (its ``skipped`` set by the caller).

    Returns:
        The counts, and why the batch ended early if it did.

    Raises:
        PipelineError: Ray is missing, the cluster cannot be reached, or its
            workers cannot run the pipeline.
    """
    ray = import_ray()
    outcome = outcome or BatchOutcome()
    if not jobs:
        return outcome
    if any(job.config.devices for job in jobs):
        raise PipelineError(
            "--device does not apply with --ray: each actor uses the device Ray gives it."
        )
    shutdown = connect(ray, address)
    actors: list[Any] = []
    try:
        count, options = actor_options(ray.cluster_resources(), len(jobs))
        actor_class = ray.remote(VideoWorker).options(**options)
        actors = [actor_class.remote() for _ in range(count)]
        try:
            ray.get([actor.ready.remote() for actor in actors])
        except Exception as exc:  # noqa: BLE001 - a worker that cannot even start
            raise PipelineError(
                f"The Ray workers cannot run the pipeline: {one_line(exc)}"
            ) from None
        _dispatch(ray, jobs, actors, actor_class, manifest, listener, stop,
                  progress_interval_s, outcome)  # fmt: skip
    finally:
        for actor in actors:
            ray.kill(actor)
        if shutdown:
            ray.shutdown()
    return outcome


def _dispatch(
    ray: ModuleType,
    jobs: Sequence[VideoJob],
    actors: list[Any],
    actor_class: Any,
    manifest: Manifest,
    listener: BatchListener,
    stop: threading.Event,
    progress_interval_s: float,
    outcome: BatchOutcome,
) -> None:
    """Keep every actor on one video until none is left; record each end."""
    pending = collections.deque(jobs)
    running: dict[Any, tuple[Any, VideoJob]] = {}

    def submit(actor: Any) -> None:
        if not pending or outcome.ended_early or stop.is_set():
            return
        job = pending.popleft()
        listener.started(job)
        call = actor.process.options(num_returns="streaming")
        running[call.remote(job, progress_interval_s)] = (actor, job)

    def finish(stream: Any, result: VideoResult) -> None:
        actor, job = running.pop(stream)
        outcome.record(job, result, manifest)
        listener.finished(job, result)
        submit(actor)

    for actor in actors:
        submit(actor)
    while running:
        if stop.is_set():
            outcome.stopped = True
            return
        ready, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_S)
        for stream in ready:
            actor, job = running[stream]
            try:
                item = ray.get(next(stream))
            except StopIteration:
                ended = VideoResult(job.video, FAILED, error="The run ended without a result.")
                finish(stream, ended)
                continue
            except Exception as exc:  # noqa: BLE001 - the actor died (killed, out of memory...)
                ray.kill(actor)
                actors.remove(actor)
                replacement = actor_class.remote()
                actors.append(replacement)
                running[stream] = (replacement, job)
                finish(stream, VideoResult(job.video, FAILED, error=f"Ray: {one_line(exc)}"))
                continue
            if isinstance(item, VideoResult):
                finish(stream, item)
            elif isinstance(item, VideoProgress):
                listener.progress(item)
