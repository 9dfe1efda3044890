"""Picking objects by hand on a video's first frame, in the Segmentation tab (click to segment).

The objects live in one JSON text box (the ``/segment`` API's ``prompts``
input, in the video's pixels; :mod:`pipeline.stages.click_prompts`); clicks
on the first frame add to it. A click adds a positive point (on the object)
or a negative one (not on it) to the current object; in box mode two clicks
give two opposite corners of its box. **New object** starts the next one.
Each object is drawn in the colour its masks will have. The handlers are
plain functions of the components' values, so the tests call them as the
page does.

Example:
    >>> text, state, note = add_click("", "positive", {}, (10, 20))
    >>> text
    '{"frame": 0, "objects": [{"points": [[10, 20, 1]]}]}'
    >>> text, state, note = add_click(text, "box", state, (5, 5))
    >>> text, state, note = add_click(text, "box", state, (40, 60))
    >>> json.loads(text)["objects"][0]["box"]
    [5, 5, 40, 60]
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import cv2
import gradio as gr
import numpy as np
import supervision as sv

from pipeline.errors import ConfigError
from pipeline.io.video import read_first_frame
from pipeline.stages.click_prompts import FIRST_ID, NEGATIVE, POSITIVE, parse_prompts
from ui.render import to_rgb

HELP = """\
Instead of a detector, pick the objects to follow: click **on** an object
(positive) or **off** it (negative), or give it a box with two clicks on
opposite corners. **New object** starts the next one; each gets its own id and
colour. Leave it empty to let the detector find the objects.
"""
MODES = (("Positive click", "positive"), ("Negative click", "negative"), ("Box (2 clicks)", "box"))
#: Colour of negative clicks and of a box's first corner (BGR).
NEGATIVE_BGR = (0, 0, 255)
PENDING_BGR = (0, 215, 255)

#: The picker's own state: ``{"corner": [x, y]}`` while a box is half drawn,
#: ``{"new": True}`` after **New object**.
State = dict[str, Any]


def _objects(text: str | None) -> list[dict[str, Any]]:
    if not (text or "").strip():
        return []
    value = json.loads(text or "")
    return list(value.get("objects", [])) if isinstance(value, dict) else []


def _text(objects: list[dict[str, Any]]) -> str:
    return json.dumps({"frame": 0, "objects": objects}) if objects else ""


def add_click(
    text: str | None, mode: str, state: State, xy: tuple[int, int] | list[int]
) -> tuple[str, State, str]:
    """Add one click on the first frame to the prompts.

    Args:
        text: The prompts' JSON so far (empty: none).
        mode: ``"positive"``, ``"negative"`` or ``"box"``.
        state: The picker's state (see :data:`State`).
        xy: The click, in the frame's pixels.

    Returns:
        The new JSON, the new state and a note for the user.
    """
    try:
        objects = _objects(text)
    except json.JSONDecodeError:
        return text or "", state, "The box below is not valid JSON; fix it or press Clear."
    x, y = int(xy[0]), int(xy[1])
    if state.get("new") or not objects:
        objects.append({})
    current = objects[-1]
    number = FIRST_ID + len(objects) - 1
    if mode == "box":
        corner = state.get("corner")
        if corner is None:
            if not current:
                objects.pop()
            return (
                _text(objects),
                {"corner": [x, y], "new": state.get("new", False)},
                (f"Object {number}: click the box's opposite corner."),
            )
        x1, x2 = sorted((int(corner[0]), x))
        y1, y2 = sorted((int(corner[1]), y))
        if x1 == x2 or y1 == y2:
            return (
                _text(objects if current else objects[:-1]),
                state,
                ("The two corners must differ in x and in y; click the opposite corner again."),
            )
        current["box"] = [x1, y1, x2, y2]
        return _text(objects), {}, f"Object {number}: box set."
    label = POSITIVE if mode == "positive" else NEGATIVE
    current.setdefault("points", []).append([x, y, label])
    kind = "positive" if label == POSITIVE else "negative"
    note = f"Object {number}: {kind} click at ({x}, {y})."
    if not current.get("box") and not any(p[2] == POSITIVE for p in current["points"]):
        note += " Add a positive click or a box too."
    return _text(objects), {}, note


def new_object(text: str | None) -> tuple[State, str]:
    """Start a new object: the next click belongs to it."""
    try:
        count = len(_objects(text))
    except json.JSONDecodeError:
        count = 0
    return {"new": True}, f"Object {FIRST_ID + count}: click on it, or draw its box."


def undo(text: str | None) -> str:
    """The prompts without the last click or box of the last object."""
    try:
        objects = _objects(text)
    except json.JSONDecodeError:
        return text or ""
    if not objects:
        return ""
    last = objects[-1]
    if last.get("points"):
        last["points"].pop()
    elif "box" in last:
        del last["box"]
    if not last.get("points") and "box" not in last:
        objects.pop()
    return _text(objects)


@functools.lru_cache(maxsize=4)
def _first_frame(path: str, modified: float) -> np.ndarray:
    return read_first_frame(path).image


def canvas(video: str | None, text: str | None, state: State) -> tuple[np.ndarray | None, str]:
    """The first frame with every object's clicks and box drawn in its colour (RGB).

    Returns:
        The image (None without a readable video) and a problem with the JSON, if any.
    """
    if not video or not Path(video).is_file():
        return None, ""
    try:
        image = _first_frame(str(video), Path(video).stat().st_mtime).copy()
    except Exception:  # noqa: BLE001 - the run itself reports an unreadable video
        return None, ""
    problem = ""
    objects = []
    if (text or "").strip():
        try:
            objects = list(parse_prompts(text or "").by_id().items())
        except ConfigError as exc:
            problem = str(exc)
    radius = max(3, round(min(image.shape[:2]) / 100))
    palette = sv.ColorPalette.DEFAULT
    for object_id, prompt in objects:
        colour = palette.by_idx(object_id).as_bgr()
        if prompt.box is not None:
            x1, y1, x2, y2 = (int(v) for v in prompt.box)
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, max(2, radius // 2))
        for x, y, label in prompt.points:
            centre = (int(x), int(y))
            cv2.circle(image, centre, radius, colour if label == POSITIVE else NEGATIVE_BGR, -1)
            cv2.circle(image, centre, radius, (255, 255, 255), 1, cv2.LINE_AA)
    corner = state.get("corner")
    if corner is not None:
        cv2.drawMarker(image, tuple(int(v) for v in corner), PENDING_BGR, cv2.MARKER_CROSS,
                       radius * 3, 2)  # fmt: skip
    return to_rgb(image), problem


def click_picker(video: gr.Video) -> gr.Textbox:
    """The picker: the first frame to click on, its buttons, and the prompts' JSON box.

    Call it inside the Segmentation tab's layout; it redraws whenever ``video`` changes.

    Args:
        video: The tab's upload box.

    Returns:
        The JSON box, the run's ``prompts`` input.
    """
    with gr.Accordion("Pick objects by hand (click to segment)", open=False,
                      elem_id="seg-click-picker"):  # fmt: skip
        gr.Markdown(HELP)
        image = gr.Image(
            label="First frame: click to pick objects",
            show_label=False,
            type="numpy",
            interactive=False,
            elem_id="seg-click-canvas",
        )
        mode = gr.Radio(MODES, value="positive", label="A click adds", elem_id="seg-click-mode")
        with gr.Row():
            add = gr.Button("New object", size="sm", elem_id="seg-click-new")
            back = gr.Button("Undo", size="sm", elem_id="seg-click-undo")
            clear = gr.Button("Clear", size="sm", elem_id="seg-click-clear")
        note = gr.Markdown("", elem_id="seg-click-note")
        text = gr.Textbox(
            value="",
            label="Objects picked (JSON, the video's pixels; empty: the detector finds them)",
            lines=2,
            elem_id="seg-prompts",
        )
    state = gr.State({})

    def redraw(video_path: str | None, value: str, current: State, message: str = "") -> tuple:
        frame, problem = canvas(video_path, value, current)
        return frame, value, current, problem or message

    drawn = [image, text, state, note]

    def clicked(
        video_path: str | None, how: str, value: str, current: State, event: gr.SelectData
    ) -> tuple:
        if event.index is None:
            return redraw(video_path, value, current)
        value, current, message = add_click(value, how, current, event.index)
        return redraw(video_path, value, current, message)

    def started(video_path: str | None, value: str) -> tuple:
        current, message = new_object(value)
        return redraw(video_path, value, current, message)

    private = {
        "concurrency_limit": 1,
        "concurrency_id": "click-picker",
        "show_progress": "hidden",
        "api_visibility": "private",
    }
    video.change(lambda v: redraw(v, "", {}), video, drawn, **private)
    image.select(clicked, [video, mode, text, state], drawn, **private)
    add.click(started, [video, text], drawn, **private)
    back.click(lambda v, t: redraw(v, undo(t), {}), [video, text], drawn, **private)
    clear.click(lambda v: redraw(v, "", {}, "Cleared."), video, drawn, **private)
    text.input(lambda v, t, s: redraw(v, t, s), [video, text, state], drawn, **private)
    return text
