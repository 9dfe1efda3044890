"""Errors raised by the pipeline. Their messages are shown to users as is."""


class PipelineError(Exception):
    """A run could not be done; the message says why in the user's terms."""


class VideoError(PipelineError):
    """The input is not a readable video, or breaks a limit (too long, too big)."""


class RunStopped(PipelineError):
    """The run was stopped on request before it finished."""
