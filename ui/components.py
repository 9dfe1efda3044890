"""What the app changes in a Gradio component's behaviour, each said and explained here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from pipeline.errors import cut, quoted
from ui.errors import user_error

#: A download's reason is quoted this far (a library's message can run long).
REASON_CHARS = 120


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


def client_values_said_clearly(demo: gr.Blocks) -> None:
    """Every input of ``demo`` that Gradio reads before a handler says what was wrong by name.

    A client's value is preprocessed by Gradio before any of the app's code
    sees it, and an exception there reaches the client as Gradio's bare "the
    upstream app has raised an exception". Two such values a client can send:
    text for a number (:func:`numbers_say_what_they_got`) and a file URL that
    cannot be fetched (:func:`urls_say_why_not_fetched`).

    Args:
        demo: The built app, its components all created.
    """
    numbers_say_what_they_got(demo)
    urls_say_why_not_fetched(demo)


def urls_say_why_not_fetched(demo: gr.Blocks) -> None:
    """Every file input of ``demo`` given a URL it cannot fetch says so, with the reason.

    ``gradio_client``'s ``handle_file("https://...")`` and an MCP client pass a
    video as a URL, which Gradio downloads (refusing private and local
    addresses) through the component's ``async_move_resource_to_block_cache``;
    a refusal or a failed download there is otherwise Gradio's bare error.
    Set on each instance, as :func:`numbers_say_what_they_got` is.

    Args:
        demo: The built app, its components all created.
    """
    for block in demo.blocks.values():
        if isinstance(block, gr.Video | gr.File | gr.Image):
            _check_urls(block)


def _check_urls(component: gr.Video | gr.File | gr.Image) -> None:
    move = component.async_move_resource_to_block_cache

    async def checked(url_or_path: str | Path | None) -> str | None:
        if not (isinstance(url_or_path, str) and url_or_path.startswith(("http://", "https://"))):
            return await move(url_or_path)
        try:
            return await move(url_or_path)
        except Exception as exc:  # noqa: BLE001 - each is said to the client, with its reason
            reason = str(exc) or type(exc).__name__
            raise user_error(
                f"Could not fetch {quoted(url_or_path)} ({cut(reason, REASON_CHARS)}): "
                "a URL must be public (this app fetches no private or local address), "
                "or send the file itself."
            ) from None

    component.async_move_resource_to_block_cache = checked  # type: ignore[method-assign]


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
