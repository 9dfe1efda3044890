"""Errors raised by the pipeline. Their messages are shown to users as is."""

from __future__ import annotations

#: A client's value is quoted back in a message at most this long.
QUOTE_CHARS = 40


def quoted(value: object, most: int = QUOTE_CHARS) -> str:
    """``repr(value)``, cut to ``most`` characters: a message never echoes a long value.

    Example:
        >>> quoted("x" * 100, 10)
        "'xxxxxxxx…"
        >>> len(quoted("x" * 100, 10)), quoted("short")
        (10, "'short'")
    """
    text = repr(value)
    return text if len(text) <= most else text[: most - 1] + "…"


class PipelineError(Exception):
    """A run could not be done; the message says why in the user's terms."""


class ConfigError(PipelineError, ValueError):
    """A setting of a run is out of range; the message says which and what is allowed."""


class VideoError(PipelineError):
    """The input is not a readable video, or breaks a limit (too long, too big)."""


class OutputPathError(PipelineError):
    """An output path cannot be written, or writing it would destroy a file the run needs."""


class FileFormatError(PipelineError, ValueError):
    """A file given as input (not a video) is not in its format; the message names file and line."""


class RunFailed(PipelineError):
    """Something broke inside a run that the user did not cause (the message names it)."""


class VideoOverLimit(VideoError):
    """The video breaks one of the run's limits (frame size, frame rate, length)."""


class VideoTooLong(VideoOverLimit):
    """The video is longer than the run's limit (in seconds or in frames)."""


class RunStopped(PipelineError):
    """Raised inside a run's threads to unwind them once the run is stopped.

    It never reaches the caller of :func:`pipeline.start`: a stopped run ends
    with a ``Done`` event whose summary says ``"partial": true``.
    """
