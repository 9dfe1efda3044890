"""ZeroGPU's own refusals (quota, duration) as messages that say what to do and when.

``spaces`` raises them as ``gr.Error`` with a title ("ZeroGPU quota exceeded",
"ZeroGPU illegal duration", "ZeroGPU worker error") and a message that mixes
figures with sign-up links; :func:`explain` keeps the figures and says how long
to wait. :func:`gpu_errors` applies it around a GPU call, and turns any other
``gr.Error`` from a worker into a pipeline error, so that a run split into
calls (whose calls are made from its own thread) reports it like any other.

Example:
    >>> from spaces.zero.gradio import error
    >>> print(explain(error("ZeroGPU quota exceeded", "You have exceeded your free "
    ...     "ZeroGPU quota (120s requested vs. 31s left). Try again in 0:12:05.310000. ")))
    The GPU quota is used up for now (120 s asked for, 31 s left): try again in 12 min 5 s.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
import spaces

from pipeline.errors import PipelineError

#: The setting that sets frames per GPU call (see ui.settings).
FRAMES_PER_CALL_VARIABLE = "VIDEO_APP_GPU_FRAMES_PER_CALL"


class GpuUnavailable(PipelineError):
    """ZeroGPU refused or ended a GPU call; the message says why and what to do."""


def on_zero_gpu() -> bool:
    """Whether the app runs on a ZeroGPU Space (``spaces`` reads ``SPACES_ZERO_GPU``)."""
    return bool(spaces.config.Config.zero_gpu)


#: How ``str(timedelta)`` writes a wait: ``"0:12:05.310000"``, ``"1 day, 2:00:00"``.
_WAIT = re.compile(r"Try again in (?:(\d+) days?, )?(\d+):(\d+):(\d+(?:\.\d+)?)")


def _duration(wait: re.Match[str]) -> str:
    """A matched wait as ``"12 min 5 s"``."""
    days, hours, minutes, seconds = wait.groups()
    named = [(int(days or 0), "d"), (int(hours), "h"), (int(minutes), "min")]
    named.append((round(float(seconds)), "s"))
    words = [f"{value} {unit}" for value, unit in named if value]
    return " ".join(words) or "a few seconds"


def explain(error: BaseException) -> str | None:
    """What a ZeroGPU refusal means for the user, or None if ``error`` is not one.

    Args:
        error: An exception from a ``spaces.GPU`` call.

    Returns:
        One sentence: what happened and how long to wait, or what to change.
    """
    title = str(getattr(error, "title", "") or "")
    message = str(getattr(error, "message", "") or error)
    if title == "ZeroGPU quota exceeded":
        figures = re.search(r"\((\d+)s requested vs\. (\d+)s left\)", message)
        wait = _WAIT.search(message)
        text = "The GPU quota is used up for now"
        if figures:
            text += f" ({figures[1]} s asked for, {figures[2]} s left)"
        if wait:
            return f"{text}: try again in {_duration(wait)}."
        if "runs limit" in message:
            return f"{text}: too many GPU runs; try again in a few minutes."
        return f"{text}: this Space's GPU time is spent; try again later, or sign in."
    if title == "ZeroGPU pending credits exceeded":
        return "Too many of your GPU runs are under way: try again when one has finished."
    if title == "ZeroGPU illegal duration":
        return (
            "A GPU call would last longer than ZeroGPU allows: set fewer frames per call "
            f"({FRAMES_PER_CALL_VARIABLE}) and run again."
        )
    if "GPU task aborted" in message:
        return (
            "The GPU call ran past its time and was ended: run again now, and set fewer "
            f"frames per call ({FRAMES_PER_CALL_VARIABLE}) if it happens again."
        )
    return None


@contextmanager
def gpu_errors() -> Iterator[None]:
    """Around a GPU call: ZeroGPU's refusals and a worker's ``gr.Error`` as pipeline errors.

    Raises:
        GpuUnavailable: ZeroGPU refused or ended the call (:func:`explain`).
        PipelineError: A worker's other ``gr.Error``, with its message.
    """
    try:
        yield
    except gr.Error as exc:
        explained = explain(exc)
        if explained is not None:
            raise GpuUnavailable(explained) from None
        raise PipelineError(html.unescape(str(exc.message))) from None
