"""Stop flags shared by a session's Run and Stop handlers.

Gradio's ``cancels=`` only takes effect when a generator next yields, and
closing a generator that is busy waits for it. A run whose model takes seconds
per frame would keep going that long after Stop, so the Stop handler also sets
the run's ``threading.Event``, which the pipeline's threads check between frames.

Runs are registered under the browser session (``gr.Request.session_hash``) and
reach their flag through a token string, because on ZeroGPU the GPU function's
arguments are pickled into another process (where the lookup finds nothing and
the run falls back to stopping at its next yield).

Example:
    >>> flags = StopFlags()
    >>> with flags.run("session-1") as token:
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


class StopFlags:
    """Per-session registry of the stop events of running runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token: dict[str, threading.Event] = {}
        self._by_session: dict[str, set[str]] = {}

    @contextmanager
    def run(self, session: str | None) -> Iterator[str]:
        """Register a run of ``session`` for as long as the block lasts.

        Args:
            session: The browser session (None for direct calls: no Stop button can reach it).

        Yields:
            The token that :meth:`event` turns into the run's stop event.
        """
        token = uuid.uuid4().hex
        key = session or token
        with self._lock:
            self._by_token[token] = threading.Event()
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
            return self._by_token.get(token)

    def stop(self, session: str | None) -> int:
        """Ask every run of ``session`` to stop.

        Returns:
            How many runs were told to stop.
        """
        if session is None:
            return 0
        with self._lock:
            events = [
                self._by_token[t] for t in self._by_session.get(session, ()) if t in self._by_token
            ]
        for event in events:
            event.set()
        return len(events)


#: The app's registry; module-level so that the GPU function can reach it by token.
STOP_FLAGS = StopFlags()
