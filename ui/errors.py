"""Pipeline and model errors become ``gr.Error``: the message a user sees.

``gr.Error`` is the one exception whose message Gradio always shows, in the
page and to API clients (``gradio_client`` raises it as ``AppError``), whatever
``show_error`` says; on ZeroGPU it is also the one that crosses back from the
GPU process intact. Other exceptions would reach users as a bare "Error".
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from models.errors import ModelError
from pipeline.errors import PipelineError, RunStopped

log = logging.getLogger(__name__)

#: Errors whose message is written for users (bad file, unknown model, bad query, ...).
USER_ERRORS = (PipelineError, ModelError)


#: No message is longer: one may quote what a client sent (an unknown model's
#: name, a counting line's), and ``gradio_client`` sends whatever it likes.
MESSAGE_CHARS = 2000


def user_error(message: str) -> gr.Error:
    """A ``gr.Error`` for a mistake in the request: shown to the user, no traceback logged.

    Example:
        >>> len(user_error("Unknown detector " + "x" * 10**6).message)
        2001
    """
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + "…"
    # The page renders the message as HTML and it may quote a file name the user chose.
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def to_gr_error(exc: BaseException) -> gr.Error:
    """Turn any exception from a run into the ``gr.Error`` shown to the user.

    Args:
        exc: What the pipeline or a model raised.

    Returns:
        A ``gr.Error`` with the exception's own message when it was written for
        users, else a generic message naming the exception (its traceback is logged).
    """
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, ModelError):  # the short message: the how-to at length is for CLI and REST
        return user_error(exc.summary or type(exc).__name__)
    if isinstance(exc, USER_ERRORS):
        return user_error(str(exc) or type(exc).__name__)
    log.error("unexpected error in a run", exc_info=exc)
    message = f"Unexpected error ({type(exc).__name__}): {exc}"[:MESSAGE_CHARS]
    return gr.Error(html.escape(message, quote=False), print_exception=False)


#: The status line after an error whose message is not known (it is in the page's toast).
ERROR_ELSEWHERE = "see the message in the corner of the page"


def error_status(error: gr.Error | None) -> str:
    """The status line of a run or a First frame that failed: the same message as the toast.

    Example:
        >>> error_status(user_error("Upload a video first."))
        '**Error:** Upload a video first.'
    """
    message = str(error.message) if error is not None else ERROR_ELSEWHERE
    return f"**Error:** {message}"


@contextmanager
def as_gr_errors() -> Iterator[None]:
    """Re-raise exceptions from the block as ``gr.Error`` (``RunStopped`` passes through).

    Raises:
        gr.Error: Anything but ``RunStopped``, ``GeneratorExit`` and other
            ``BaseException`` that are not ``Exception``.

    Example:
        >>> from pipeline.errors import ConfigError
        >>> try:
        ...     with as_gr_errors():
        ...         raise ConfigError("Confidence must be between 0 and 1, not 1.5.")
        ... except gr.Error as error:
        ...     print(error.message)
        Confidence must be between 0 and 1, not 1.5.
    """
    try:
        yield
    except (RunStopped, gr.Error):
        raise
    except Exception as exc:
        raise to_gr_error(exc) from exc
