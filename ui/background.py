"""Long work for a page's event that stops when the page's client goes away.

Gradio tells a handler nothing while it runs; what it does on a disconnect is
stop iterating a generator handler and close it (``GeneratorExit`` at its
``yield``). So the work runs in a thread of its own while the handler yields
now and then (no change to the page: ``gr.skip()``), and closing the handler
sets the ``cancel`` event the work checks between its steps.

Example:
    >>> cancel = threading.Event()  # doctest: +SKIP
    >>> rows = yield from while_connected(lambda: grid(cancel), cancel, gr.skip())  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future, wait
from typing import TypeVar

T = TypeVar("T")
B = TypeVar("B")

#: How often the handler yields: how soon after a disconnect the work is told to stop.
BEAT_S = 1.0


def while_connected(
    work: Callable[[], T], cancel: threading.Event, beat: B, beat_s: float = BEAT_S
) -> Generator[B, None, T]:
    """Run ``work`` in a thread, yielding every ``beat_s`` until it ends; return what it returned.

    Args:
        work: The blocking work; it checks ``cancel`` between its steps.
        cancel: Set when this generator is closed before ``work`` ended.
        beat: What to yield meanwhile (for a page: ``gr.skip()`` per output).
        beat_s: Seconds between yields.

    Yields:
        ``beat``, every ``beat_s`` while ``work`` runs.

    Returns:
        What ``work`` returned.

    Raises:
        Exception: Whatever ``work`` raised.
    """
    future: Future[T] = Future()

    def target() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            future.set_exception(exc)

    threading.Thread(target=target, name="while-connected", daemon=True).start()
    try:
        while not wait([future], timeout=beat_s).done:
            yield beat
    finally:
        # Closed early: the client left. The work stops at its next check; nothing
        # here waits for it (a close runs in the server's event loop).
        if not future.done():
            cancel.set()
    return future.result()
