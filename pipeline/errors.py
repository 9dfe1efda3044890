"""Errors raised by the pipeline. Their messages are shown to users as is."""

from __future__ import annotations

from pathlib import PurePath

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
    return cut(repr(value), most)


def cut(text: str, most: int = QUOTE_CHARS) -> str:
    """``text`` as it is, or its first ``most`` characters ending in an ellipsis.

    Example:
        >>> cut("x" * 100, 10), cut("short")
        ('xxxxxxxxx…', 'short')
    """
    return text if len(text) <= most else text[: most - 1] + "…"


def shown_file_name(name: str | None) -> str | None:
    """A client's file name as a message names it: its last part, cut to :data:`QUOTE_CHARS`.

    The file is stored under a name of the app's own; its sender knows it by this
    one (as gradio_client and the command line name it), never a page of it.

    Example:
        >>> shown_file_name("../clips/holiday.mp4"), shown_file_name("")
        ('holiday.mp4', None)
        >>> shown_file_name("a" * 3000 + ".mp4")
        'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…'
    """
    shown = PurePath(name or "").name
    return cut(shown) if shown else None


def named_as_sent(message: str, stored_name: str, sent_name: str | None) -> str:
    """``message`` naming an upload as its sender named it, not as the app stored it.

    Example:
        >>> named_as_sent("job-x1.mp4 is not a video.", "job-x1.mp4", "holiday.mp4")
        'holiday.mp4 is not a video.'
    """
    return message if sent_name is None else message.replace(stored_name, sent_name)


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
