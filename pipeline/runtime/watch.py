"""An event set once a condition holds, checked by a thread while a block runs.

How a stop asked outside a run reaches it: a run only looks at a
:class:`threading.Event`, and a frame may take seconds, so asking between the
run's own events would stop it a frame late, or never while it waits. A
watcher polls the condition (a job's stop file, a benchmark caller's
``stopped()``) and sets the event.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def set_when(
    condition: Callable[[], bool],
    *,
    poll_s: float,
    name: str,
    also: threading.Event | None = None,
) -> Iterator[threading.Event]:
    """An event set once ``condition()`` holds, asked every ``poll_s`` while the block runs.

    Args:
        condition: Asked from the watcher's thread.
        poll_s: Seconds between two questions.
        name: The watcher thread's name.
        also: Another event to set at the same moment (a run's own stop event,
            which the run also sets when it ends, so it cannot say who stopped it).

    Yields:
        The event; the watching ends with the block.

    Example:
        >>> with set_when(lambda: True, poll_s=0.01, name="example") as asked:
        ...     asked.wait(timeout=5)
        True
    """
    asked, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not done.wait(poll_s):
            if condition():
                asked.set()
                if also is not None:
                    also.set()
                return

    watcher = threading.Thread(target=watch, name=name, daemon=True)
    watcher.start()
    try:
        yield asked
    finally:
        done.set()
        watcher.join(timeout=max(1.0, 2 * poll_s))
