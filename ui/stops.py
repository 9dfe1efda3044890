"""Which jobs a browser session is running: what its Stop button stops.

Runs are registered under the browser session (``gr.Request.session_hash``) and
reach their job's stop event through a token string, because on ZeroGPU the GPU
function's arguments are pickled into another process (where the lookup finds
nothing, and the run watches its job folder's stop file instead).

Example:
    >>> from pathlib import Path
    >>> from pipeline.jobs import Job
    >>> job = Job("j1", "detection", None, "app", Path("/nonexistent"), Path("v.mp4"), {})
    >>> flags = StopFlags()
    >>> with flags.run("session-1", job) as token:
    ...     flags.stop("session-1")
    ...     flags.event(token).is_set()
    1
    True
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.jobs import Job


class StopFlags:
    """Per-session registry of running jobs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[str, Job] = {}
        self._by_session: dict[str, set[str]] = {}

    @contextmanager
    def run(self, session: str | None, job: Job) -> Iterator[str]:
        """Register ``job`` as run by ``session`` for as long as the block lasts.

        Args:
            session: The browser session (None for direct calls: no Stop button can reach it).
            job: The job being run.

        Yields:
            The token that :meth:`event` turns into the job's stop event.
        """
        token = uuid.uuid4().hex
        key = session or token
        with self._lock:
            self._by_token[token] = job
            self._by_session.setdefault(key, set()).add(token)
        try:
            yield token
        finally:
            with self._lock:
                self._by_token.pop(token, None)
                tokens = self._by_session.get(key, set())
                tokens.discard(token)
                if not tokens:
                    self._by_session.pop(key, None)

    def event(self, token: str | None) -> threading.Event | None:
        """The stop event of a registered run (None when unknown, e.g. in another process)."""
        if token is None:
            return None
        with self._lock:
            job = self._by_token.get(token)
        return job.stop_event if job is not None else None

    def stop(self, session: str | None) -> int:
        """Ask every run of ``session`` to stop (each ends with its partial result).

        Returns:
            How many runs were told to stop.
        """
        if session is None:
            return 0
        with self._lock:
            jobs = [
                self._by_token[t] for t in self._by_session.get(session, ()) if t in self._by_token
            ]
        for job in jobs:
            job.request_stop()
        return len(jobs)


#: The app's registry; module-level so that the GPU function can reach it by token.
STOP_FLAGS = StopFlags()
