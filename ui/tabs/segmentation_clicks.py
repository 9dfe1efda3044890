"""Picking objects by hand on a frame of the video, in the Segmentation tab (click to segment).

The objects live in one JSON text box (the ``/segment`` API's ``prompts``
input, in the video's pixels; :mod:`pipeline.stages.click_prompts`); clicks
on the frame chosen with the slider (the first by default; the masks start
there) add to it. A click adds a positive point (on the object)
or a negative one (not on it) to the current object; in box mode a box dragged
on the frame, or two clicks on opposite corners, gives its box. **New object** starts the next one.
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
    >>> json.loads(on_frame(text, 12))["frame"]
    12
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

from pipeline.errors import ConfigError, VideoError
from pipeline.io.video import iter_frames, probe
from pipeline.stages.click_prompts import FIRST_ID, NEGATIVE, POSITIVE, parse_prompts
from ui.counting import click_canvas
from ui.render import to_rgb

HELP = """\
Instead of a detector, pick the objects to follow: click **on** an object
(positive) or **off** it (negative), or, with **Box**, drag its box on the
frame (or click two opposite corners). **New object** starts the next one; each gets its own id and
colour. Pick them on any frame with the slider: the masks start there. Leave it
empty to let the detector find the objects.
"""
MODES = (
    ("Positive click", "positive"),
    ("Negative click", "negative"),
    ("Box (drag, or 2 clicks)", "box"),
)
#: Colour of negative clicks and of a box's first corner (BGR).
NEGATIVE_BGR = (0, 0, 255)
PENDING_BGR = (0, 215, 255)

#: Makes a box dragged on the picker's frame in box mode its two corners: the drag's
#: start becomes a click of its own, just before the click the browser gives its end
#: (the frame's select event turns each into the frame's pixels, as for any click).
#: Installed once, on the page, when the picker opens; the frame's own image drag
#: (a ghost of the picture) is turned off there.
BOX_DRAG_JS = """
() => {
    if (window.segBoxDrag) return;
    window.segBoxDrag = true;
    let start = null;
    const frameButton = (event) => event.target.closest?.("#seg-click-canvas button");
    const boxMode = () =>
        document.querySelector("#seg-click-mode input[type=radio]:checked")?.value === "box";
    document.addEventListener("dragstart", (event) => {
        if (frameButton(event)) event.preventDefault();
    }, true);
    document.addEventListener("pointerdown", (event) => {
        const button = frameButton(event);
        start = button && boxMode() ? {button, x: event.clientX, y: event.clientY} : null;
    }, true);
    document.addEventListener("pointerup", (event) => {
        const from = start;
        start = null;
        if (!from || Math.hypot(event.clientX - from.x, event.clientY - from.y) < 6) return;
        from.button.dispatchEvent(
            new MouseEvent("click", {bubbles: true, clientX: from.x, clientY: from.y}));
    }, true);
}
"""

#: The picker's own state: ``{"corner": [x, y]}`` while a box is half drawn,
#: ``{"new": True}`` after **New object**.
State = dict[str, Any]


def _objects(text: str | None) -> list[dict[str, Any]]:
    if not (text or "").strip():
        return []
    value = json.loads(text or "")
    return list(value.get("objects", [])) if isinstance(value, dict) else []


def _frame(text: str | None) -> int:
    """The frame the prompts are on (0 when none is given or the JSON is not readable)."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return 0
    frame = value.get("frame", 0) if isinstance(value, dict) else 0
    return frame if isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0 else 0


def _text(objects: list[dict[str, Any]], frame: int = 0) -> str:
    return json.dumps({"frame": frame, "objects": objects}) if objects else ""


def on_frame(text: str | None, frame: int) -> str:
    """The prompts moved to ``frame``: every object picked so far is now on that frame."""
    try:
        return _text(_objects(text), int(frame))
    except json.JSONDecodeError:
        return text or ""


def add_click(
    text: str | None,
    mode: str,
    state: State,
    xy: tuple[int, int] | list[int],
    frame: int | None = None,
) -> tuple[str, State, str]:
    """Add one click on the picked frame to the prompts.

    Args:
        text: The prompts' JSON so far (empty: none).
        mode: ``"positive"``, ``"negative"`` or ``"box"``.
        state: The picker's state (see :data:`State`).
        xy: The click, in the frame's pixels.
        frame: The frame clicked on; None keeps the one in ``text`` (the first by default).

    Returns:
        The new JSON, the new state and a note for the user.
    """
    try:
        objects = _objects(text)
    except json.JSONDecodeError:
        return text or "", state, "The box below is not valid JSON; fix it or press Clear."
    frame = _frame(text) if frame is None else int(frame)
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
                _text(objects, frame),
                {"corner": [x, y], "new": state.get("new", False)},
                (f"Object {number}: click the box's opposite corner."),
            )
        x1, x2 = sorted((int(corner[0]), x))
        y1, y2 = sorted((int(corner[1]), y))
        if x1 == x2 or y1 == y2:
            return (
                _text(objects if current else objects[:-1], frame),
                state,
                ("The two corners must differ in x and in y; click the opposite corner again."),
            )
        current["box"] = [x1, y1, x2, y2]
        return _text(objects, frame), {}, f"Object {number}: box set."
    label = POSITIVE if mode == "positive" else NEGATIVE
    current.setdefault("points", []).append([x, y, label])
    kind = "positive" if label == POSITIVE else "negative"
    note = f"Object {number}: {kind} click at ({x}, {y})."
    if not current.get("box") and not any(p[2] == POSITIVE for p in current["points"]):
        note += " Add a positive click or a box too."
    return _text(objects, frame), {}, note


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
    return _text(objects, _frame(text))


@functools.lru_cache(maxsize=4)
def _video_frame(path: str, modified: float, index: int) -> np.ndarray:
    for frame in iter_frames(path, max_frames=1, start=index):
        return frame.image
    raise VideoError(f"{Path(path).name} has no frame {index}.")


def frame_count(video: str | None) -> int:
    """How many frames the picker may choose from (1 when the container does not say)."""
    if not video or not Path(video).is_file():
        return 1
    try:
        return max(1, probe(video).frames)
    except Exception:  # noqa: BLE001 - the run itself reports an unreadable video
        return 1


def canvas(
    video: str | None, text: str | None, state: State, frame: int = 0
) -> tuple[np.ndarray | None, str]:
    """The picked frame with every object's clicks and box drawn in its colour (RGB).

    Args:
        video: The uploaded video.
        text: The prompts' JSON.
        state: The picker's state (a box's first corner is drawn).
        frame: The frame to draw on.

    Returns:
        The image (None without a readable video or past its last frame) and a problem
        with the JSON, if any.
    """
    if not video or not Path(video).is_file():
        return None, ""
    try:
        image = _video_frame(str(video), Path(video).stat().st_mtime, int(frame)).copy()
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
    """The picker: a frame to click on, its buttons, and the prompts' JSON box.

    Call it inside the Segmentation tab's layout; it redraws whenever ``video`` changes.

    Args:
        video: The tab's upload box.

    Returns:
        The JSON box, the run's ``prompts`` input.
    """
    with gr.Accordion("Pick objects by hand (click to segment)", open=False,
                      elem_id="seg-click-picker") as picker:  # fmt: skip
        gr.Markdown(HELP)
        image = click_canvas("Click to pick objects", "seg-click-canvas")
        frame = gr.Slider(
            0, 1, value=0, step=1, label="Frame to pick on (the masks start there)",
            elem_id="seg-click-frame",
        )  # fmt: skip
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

    def redraw(
        video_path: str | None, value: str, current: State, index: int, message: str = ""
    ) -> tuple:
        image_rgb, problem = canvas(video_path, value, current, index)
        if image_rgb is None and video_path and not problem:
            problem = f"Frame {int(index)} cannot be read; pick an earlier one."
        return image_rgb, value, current, problem or message

    drawn = [image, text, state, note]

    def uploaded(video_path: str | None) -> tuple:
        last = frame_count(video_path) - 1
        return (*redraw(video_path, "", {}, 0), gr.Slider(maximum=max(1, last), value=0))

    def clicked(
        video_path: str | None,
        how: str,
        value: str,
        current: State,
        index: int,
        event: gr.SelectData,
    ) -> tuple:
        if event.index is None:
            return redraw(video_path, value, current, index)
        value, current, message = add_click(value, how, current, event.index, int(index))
        return redraw(video_path, value, current, index, message)

    def started(video_path: str | None, value: str, index: int) -> tuple:
        current, message = new_object(value)
        return redraw(video_path, value, current, index, message)

    def moved(video_path: str | None, value: str, index: int) -> tuple:
        value = on_frame(value, index)
        message = f"The objects are now on frame {int(index)}." if value else ""
        return redraw(video_path, value, {}, index, message)

    private = {
        "concurrency_limit": 1,
        "concurrency_id": "click-picker",
        "show_progress": "hidden",
        "api_visibility": "private",
    }
    video.change(uploaded, video, [*drawn, frame], **private)
    frame.release(moved, [video, text, frame], drawn, **private)
    # A drag's two corners come as two selects in a row: each is taken, in order.
    image.select(clicked, [video, mode, text, state, frame], drawn, trigger_mode="multiple",
                 **private)  # fmt: skip
    picker.expand(None, js=BOX_DRAG_JS, queue=False, api_visibility="private")
    add.click(started, [video, text, frame], drawn, **private)
    back.click(lambda v, t, i: redraw(v, undo(t), {}, i), [video, text, frame], drawn, **private)
    clear.click(lambda v, i: redraw(v, "", {}, i, "Cleared."), [video, frame], drawn, **private)

    def typed(video_path: str | None, value: str, current: State) -> tuple:
        index = _frame(value)  # a frame typed into the JSON moves the slider there
        return (*redraw(video_path, value, current, index), index)

    text.input(typed, [video, text, state], [*drawn, frame], **private)
    return text
