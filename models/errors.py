"""Errors a user can cause when choosing or loading a model."""


class ModelError(Exception):
    """Base class for model errors whose message is shown to the user as is."""


class UnknownModelError(ModelError, KeyError):
    """No model is registered under the requested name or size."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class MissingWeightsError(ModelError, FileNotFoundError):
    """Weights could not be found locally nor downloaded."""


class InvalidQueryError(ModelError, ValueError):
    """A query names a class the model does not know, or is empty."""


class MissingPackageError(MissingWeightsError):
    """A Python package the model imports is not installed (e.g. ultralytics, left out on purpose).

    A kind of :class:`MissingWeightsError`: every path that says a model
    cannot be loaded here, and which others can, says it of this too.
    """
