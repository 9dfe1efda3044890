"""Endpoints that take another endpoint's request: the tabs' first-frame endpoints.

Gradio reads an endpoint's parameters from its signature, and finds the injected
``gr.Request`` by its type hint. A tab's First frame endpoint takes exactly its run's
request (``/first_frame`` takes ``/detect``'s), so the parameters are written once, on
the run, and :func:`takes_request_of` gives them to the first-frame method.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

ResultT = TypeVar("ResultT")


def takes_request_of(
    run: Callable[..., Any],
) -> Callable[[Callable[[Any, dict[str, Any]], ResultT]], RequestEndpoint[ResultT]]:
    """Make a handler method take ``run``'s parameters, handed to it by name.

    The decorated method is written as ``method(self, values)``: ``values`` holds
    every parameter of ``run`` (defaults filled in, ``request`` included) by name.
    The endpoint Gradio sees (the attribute on an instance) has ``run``'s signature
    and type hints, with the method's own return type and docstring.

    Args:
        run: The method whose request the endpoint takes (a function of the class
            body, not yet bound).

    Returns:
        The decorator.

    Example:
        >>> class Handlers:
        ...     def run(self, video: str | None, size: str | None = "small") -> str:
        ...         return "ran"
        ...     @takes_request_of(run)
        ...     def first_frame(self, values: dict) -> str:
        ...         return f"{values['video']} at {values['size']}"
        >>> Handlers().first_frame("clip.mp4")
        'clip.mp4 at small'
        >>> list(inspect.signature(Handlers().first_frame).parameters)
        ['video', 'size']
    """
    return lambda method: RequestEndpoint(run, method)


class RequestEndpoint(Generic[ResultT]):
    """A method taking another's request: see :func:`takes_request_of`.

    A descriptor, so that the endpoint an instance hands out is a plain function
    whose signature has no ``self``: wrappers that copy a function's attributes
    (``functools.wraps``, as :func:`ui.mcp_tools.as_tool` does) then keep the
    signature Gradio must read.
    """

    def __init__(
        self, run: Callable[..., Any], method: Callable[[Any, dict[str, Any]], ResultT]
    ) -> None:
        returns = method.__annotations__.get("return", inspect.Signature.empty)
        signature = inspect.signature(run)
        self._instance_parameter = next(iter(signature.parameters))
        self._signature = signature.replace(return_annotation=returns)
        self._annotations = {**run.__annotations__, "return": returns}
        self._method = method
        self._name = method.__name__
        functools.update_wrapper(self, method)  # type: ignore[arg-type]

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        signature, method = self._signature, self._method

        @functools.wraps(method)
        def endpoint(*args: Any, **kwargs: Any) -> ResultT:
            bound = signature.bind(instance, *args, **kwargs)
            bound.apply_defaults()
            values = dict(bound.arguments)
            del values[self._instance_parameter]
            return method(instance, values)

        endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=list(signature.parameters.values())[1:]
        )
        endpoint.__annotations__ = dict(self._annotations)
        # Kept on the instance, as functools.cached_property does: one endpoint each.
        instance.__dict__[self._name] = endpoint
        return endpoint
