"""Errors a user can cause when choosing or loading a model.

Each carries a short message (:attr:`ModelError.summary`: one or two
sentences, what a page's toast and status line show) and, where there is
more to say, a :attr:`~ModelError.detail` with the full how-to for places
with room (the CLI, REST, Python). ``str(error)`` is both together.

Example:
    >>> error = MissingWeightsError(
    ...     "No weights for M (gone).", remedy="set M_WEIGHTS", detail="It looked for '/w'."
    ... ).with_alternatives(["A (a)"])
    >>> error.summary
    'No weights for M (gone). Choose A (a) instead, or set M_WEIGHTS.'
    >>> str(error)
    "No weights for M (gone). Choose A (a) instead, or set M_WEIGHTS. It looked for '/w'."
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ModelError(Exception):
    """Base class for model errors whose message is shown to the user as is.

    Args:
        message: The short message (:attr:`summary`).
        detail: More for places with room: how to supply what is missing.
    """

    def __init__(self, message: str = "", *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    @property
    def summary(self) -> str:
        """The short message: what a toast or a status line shows."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return f"{self.summary} {self.detail}".strip()

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields are not in args: keep them when the error crosses processes.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[ModelError], args: tuple[Any, ...], state: dict[str, Any]) -> ModelError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UnknownModelError(ModelError, KeyError):
    """No model is registered under the requested name or size."""

    def __str__(self) -> str:  # KeyError's would quote the message.
        return ModelError.__str__(self)


class MissingWeightsError(ModelError, FileNotFoundError):
    """Weights could not be found locally nor downloaded.

    Its summary says what failed, then what to do: choose one of the models
    whose weights are at hand (:meth:`with_alternatives`), or the remedy.

    Args:
        problem: One sentence: which weights could not be loaded, and why.
        remedy: What to do about it, as a clause (``"set X_WEIGHTS to local weights"``);
            empty when the problem says it already.
        detail: The full how-to (every way to supply weights), for places with room.
        alternatives: Models of the same kind that would load here, as ``Label (name)``.
    """

    def __init__(
        self,
        problem: str = "",
        *,
        remedy: str = "",
        detail: str = "",
        alternatives: Sequence[str] = (),
    ) -> None:
        super().__init__(problem, detail=detail)
        self.remedy = remedy
        self.alternatives = tuple(alternatives)

    @property
    def summary(self) -> str:
        """The problem, then the models to choose instead or the remedy (two sentences)."""
        problem = super().summary
        if self.alternatives:
            instead = f"Choose {', '.join(self.alternatives)} instead"
            return f"{problem} {instead}" + (f", or {self.remedy}." if self.remedy else ".")
        return f"{problem} To use it, {self.remedy}." if self.remedy else problem

    def with_alternatives(self, alternatives: Sequence[str]) -> MissingWeightsError:
        """A copy of this error (same type) naming ``alternatives`` as what to choose instead."""
        return type(self)(
            super().summary, remedy=self.remedy, detail=self.detail, alternatives=alternatives
        )


class InvalidWeightsError(ModelError, ValueError):
    """The weights file is there but is not a model its runtime can read (a wrong or broken file).

    Not a :class:`MissingWeightsError`: the user named the file, and the fix is
    another file, not another model.
    """


class InvalidQueryError(ModelError, ValueError):
    """A query names a class the model does not know, or is empty."""


class MissingPackageError(MissingWeightsError):
    """A Python package the model imports is not installed (e.g. ultralytics, left out on purpose).

    A kind of :class:`MissingWeightsError`: every path that says a model
    cannot be loaded here, and which others can, says it of this too.
    """
