"""What the app changes in a Gradio component's behaviour, each said and explained here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from pipeline.errors import quoted
from ui.errors import user_error


def api_values(dropdown: gr.Dropdown, values: Sequence[str]) -> gr.Dropdown:
    """``dropdown``, typed in the API as a string among ``values`` rather than its choices.

    Gradio types a dropdown's API parameter from its choices at build time
    (``Dropdown.api_info``), with no option to say otherwise. A dropdown whose
    choices follow another one (the model sizes follow the model) would then be
    typed with the first model's choices alone: ``Literal['']`` for a model in
    one size, which the API page's snippets show and the MCP tools' schemas
    enforce, refusing ``"n"`` for YOLO11. Gradio calls ``api_info()`` on the
    component, so this instance's answers every value the parameter takes.
    (A subclass would do the same, but Gradio writes a ``.pyi`` stub beside the
    module of every ``Component`` subclass it sees defined.)

    Args:
        dropdown: The dropdown (``allow_custom_value=True``: the page may hold
            any of ``values``).
        values: Every value the parameter takes.

    Returns:
        The same dropdown.
    """
    info: dict[str, Any] = {"type": "string", "enum": list(dict.fromkeys(values))}
    dropdown.api_info = lambda: info  # type: ignore[method-assign]
    return dropdown


def numbers_say_what_they_got(demo: gr.Blocks) -> None:
    """Every number box and slider of ``demo`` refuses a value that is no number by name.

    Gradio hands an API client's value for a number straight to
    ``Number.preprocess``, whose bounds check then fails with a ``TypeError``
    on text (``"abc" < 0``): the client gets Gradio's bare "the upstream app
    has raised an exception". This says "Confidence must be a number, not
    'abc'." instead. None stays None (the run's default). Set on each instance
    (not a subclass: see :func:`api_values`).

    Args:
        demo: The built app, its components all created.
    """
    for block in demo.blocks.values():
        if isinstance(block, gr.Number | gr.Slider):
            _check_numbers(block)


def _check_numbers(component: gr.Number | gr.Slider) -> None:
    preprocess = component.preprocess
    name = component.label or "A number"

    def checked(payload: Any) -> Any:
        if payload is None:
            return None
        if isinstance(payload, bool) or not isinstance(payload, int | float):
            raise user_error(f"{name} must be a number, not {quoted(payload)}.")
        return preprocess(payload)

    component.preprocess = checked  # type: ignore[method-assign]
