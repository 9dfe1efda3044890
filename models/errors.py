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
