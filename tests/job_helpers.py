"""A job store as the app's settings size it, uploads to submit to it, and clients that leave."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from pipeline.jobs import Job, JobStatus, JobStore
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


def left_while(
    url: str, settings: Settings, states: tuple[JobStatus, ...], task: str | None, **form: Any
) -> Job:
    """``POST url`` from a client that leaves once its new job is in one of ``states``.

    ``settings`` are the app's, whose job store its server (in this process) uses;
    only a new job of ``task`` counts when it is given (a benchmark's, a profile's);
    ``form`` is the request's ``data`` and ``files``, as for ``httpx``.

    Returns:
        The job, as its client left it.
    """
    from ui.jobs import job_store

    jobs = job_store(settings)
    before = {job.id for job in jobs.all()}
    request = httpx.Request("POST", url, **form)
    body = request.read()
    head = (
        f"POST {request.url.raw_path.decode()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {request.headers['content-type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", request.url.port)) as connection:
        connection.sendall(head.encode() + body)
        deadline = time.monotonic() + 60
        while not (
            new := [
                job for job in jobs.all()
                if job.id not in before and job.status in states and task in (None, job.task)
            ]
        ):  # fmt: skip
            assert time.monotonic() < deadline, f"no new job got to {states}"
            time.sleep(0.05)
    return new[0]


def post(
    http: httpx.Client, video: Path, path: str = "/detect/async", **form: str
) -> httpx.Response:
    """``POST path`` with ``video`` uploaded and the other form fields."""
    with video.open("rb") as data:
        return http.post(path, files={"video": (video.name, data, "video/mp4")}, data=form)


def start_job(http: httpx.Client, video: Path, **form: str) -> dict:
    """A YOLOX-Nano job started on ``video`` (``POST /detect/async``): its answer."""
    answer = post(http, video, detector="yolox_nano", **form)
    assert answer.status_code == 202, answer.text
    return answer.json()
