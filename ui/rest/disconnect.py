"""Blocking work for a request that is cancelled when its client goes away.

A route's work runs in a worker thread while the request's task watches the
connection; once the client has disconnected the work is told to stop (a
``threading.Event`` it checks between its steps) and the answer, which no one
would read, is not awaited. Starlette notices a disconnect only when asked
(``Request.is_disconnected``), hence the polling.

Example:
    >>> cancel = threading.Event()  # doctest: +SKIP
    >>> rows = await unless_disconnected(request, lambda: measure(cancel), cancel)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ui.rest.errors import ApiError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How often a running request checks whether its client is still there.
DISCONNECT_POLL_S = 0.5


#: The status logged for a request whose client left first (nginx's "client closed request";
#: no one reads the answer).
CLIENT_CLOSED_REQUEST = 499


class ClientGone(ApiError):
    """The client disconnected before the answer was ready; its work was told to stop."""

    def __init__(self, path: str) -> None:
        super().__init__(CLIENT_CLOSED_REQUEST, f"The client of {path} disconnected.")


async def unless_disconnected(
    request: Request, work: Callable[[], T], cancel: threading.Event
) -> T:
    """Run ``work`` in a worker thread; set ``cancel`` if the client disconnects first.

    Args:
        request: The request whose connection is watched.
        work: The blocking work; it checks ``cancel`` between its steps.
        cancel: Set once the client is gone.

    Returns:
        What ``work`` returned, when the client stayed.

    Raises:
        ClientGone: The client disconnected (``work`` goes on until its next check,
            in its thread, and what it returns or raises then is dropped).
        Exception: Whatever ``work`` raised while the client was there.
    """
    task = asyncio.ensure_future(run_in_threadpool(work))
    while True:
        done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
        if done:
            return task.result()
        if await request.is_disconnected():
            cancel.set()
            task.add_done_callback(_drop_outcome)
            path = request.url.path
            log.info("%s %s: the client went away; its work stops", request.method, path)
            raise ClientGone(path)


def _drop_outcome(task: asyncio.Future) -> None:
    """Read a dropped task's outcome, so that its exception is not logged as never retrieved."""
    if not task.cancelled():
        task.exception()
