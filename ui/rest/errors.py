"""The REST API's errors: one JSON message with the fitting HTTP status, never a traceback.

Example:
    >>> error = to_api_error(UnknownJob("No job 'x'."))
    >>> error.status, error.message
    (404, "No job 'x'.")
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from models.errors import ModelError
from pipeline.errors import (  # noqa: F401 - QUOTE_CHARS, quoted: the API quotes as the runs do
    QUOTE_CHARS,
    PipelineError,
    RunFailed,
    VideoError,
    VideoOverLimit,
    quoted,
)
from pipeline.jobs import QueueFull, UnknownJob
from ui import errors as ui_errors

log = logging.getLogger(__name__)

#: No message is longer (the valid values it lists included): the tabs' own limit.
MESSAGE_CHARS = ui_errors.MESSAGE_CHARS


class ErrorBody(BaseModel):
    """What every error answers (the schema at ``/docs``)."""

    error: str
    status: int


#: The errors any route may answer, declared in the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "no video, or a form that cannot be read",
        401: "no access token (when the server has one)",
        404: "no such job, frame or result",
        409: "a result not ready yet",
        413: "the upload is over the limit",
        415: "not a readable video",
        422: "a bad value, or a video over a limit",
        429: "this client already has its share of the queue",
        500: "a failure of the app itself",
        503: "the queue is full, or the server busy",
    }.items()
}


class ApiError(Exception):
    """An answer that is an error: its HTTP status, its one message, extra headers.

    Args:
        status: The HTTP status.
        message: What the client reads.
        headers: Further headers (``Retry-After``...).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        message = message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + "…"
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def to_api_error(exc: BaseException) -> ApiError:
    """The API's answer to an exception raised while serving a request.

    - 404: no such job; 409: a result not ready; 413: too large (raised as such);
    - 415: not a readable video; 422: a bad value, a video over a limit, an
      unknown model or class, weights not available here;
    - 429: the client already has its share of the queue; 503: the queue is
      full (both with ``Retry-After``);
    - 500: anything else, with a short message (the traceback goes to the log).
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueueFull):
        status = 429 if exc.client_over_share else 503
        return ApiError(status, str(exc), {"Retry-After": str(exc.retry_after_s)})
    if isinstance(exc, UnknownJob):
        return ApiError(404, str(exc))
    if isinstance(exc, VideoOverLimit):
        return ApiError(422, str(exc))
    if isinstance(exc, VideoError):
        return ApiError(415, str(exc))
    if isinstance(exc, RunFailed):
        log.error("a run failed", exc_info=exc)
        return ApiError(500, str(exc))
    if isinstance(exc, PipelineError | ModelError):
        return ApiError(422, str(exc))
    log.error("unexpected error in a REST request", exc_info=exc)
    return ApiError(500, f"Unexpected error ({type(exc).__name__}).")


@contextlib.contextmanager
def api_errors() -> Iterator[None]:
    """Turn whatever the block raises into the :class:`ApiError` the client gets."""
    try:
        yield
    except Exception as exc:
        raise to_api_error(exc) from exc


async def answer_api_error(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler: ``{"error": message, "status": status}``."""
    error = to_api_error(exc)
    return JSONResponse(
        {"error": error.message, "status": error.status}, error.status, headers=error.headers
    )
