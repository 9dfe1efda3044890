"""Drawing counting lines and zones on a video's first frame, in the Detection tab.

The lines and zones live in one JSON text box (the ``/detect`` API's
``counting`` input, in the video's pixels); clicks on the first frame add to
it. A line takes two clicks; a zone takes three or more, then **Close zone**.
The handlers here are plain functions of the components' values, so the tests
call them as the page does.

Example:
    >>> text, pending, note = add_point("line", "door", "", [], (10, 20))
    >>> pending, note
    ([[10, 20]], 'Line **door**: click its second point.')
    >>> text, pending, note = add_point("line", "door", text, pending, (10, 200))
    >>> text
    '{"lines": [{"name": "door", "points": [[10, 20], [10, 200]]}], "zones": []}'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import gradio as gr
import numpy as np

from pipeline.io.video import read_first_frame
from pipeline.stages.counting import (
    CROSSING_RULE,
    CountingLine,
    CountingStage,
    CountingZone,
    GeometryError,
    as_lines,
    as_zones,
    check_names,
    from_json,
    to_json,
)
from ui.render import to_rgb

HELP = f"""\
Click on the frame below to draw: a **line** takes two clicks (objects crossing
it are counted in and out, per class); a **zone** takes three or more clicks,
then **Close zone** (its occupancy, entries and each object's time inside). Name
each before drawing it (or leave the name empty for line 1, zone 1...). The box
below holds them as JSON, in the video's pixels, as the API takes them.
{CROSSING_RULE.sentence()}
"""
EMPTY = '{"lines": [], "zones": []}'
#: Colour of the points of a line or zone being drawn (BGR).
PENDING_BGR = (0, 215, 255)

Pending = list[list[int]]


def _geometry(text: str | None) -> tuple[tuple[CountingLine, ...], tuple[CountingZone, ...]]:
    lines, zones = from_json(text)
    check_names(lines, zones)
    return lines, zones


def _text(lines: Sequence[CountingLine], zones: Sequence[CountingZone]) -> str:
    return json.dumps(to_json(tuple(lines), tuple(zones)))


def names(text: str | None) -> list[str]:
    """The names of the lines and zones in ``text`` (none when it does not parse)."""
    try:
        lines, zones = _geometry(text)
    except GeometryError:
        return []
    return [item.name for item in (*lines, *zones)]


def _name_for(kind: str, name: str | None, taken: list[str]) -> str:
    """The name given, or the next free ``line N`` / ``zone N``; raises if taken."""
    name = (name or "").strip()
    if name:
        if name in taken:
            raise GeometryError(f"The name {name!r} is taken: choose another.")
        return name
    number = 1
    while f"{kind} {number}" in taken:
        number += 1
    return f"{kind} {number}"


def add_point(
    kind: str, name: str | None, text: str | None, pending: Pending, point: Sequence[int]
) -> tuple[str, Pending, str]:
    """One click on the first frame: a point of the line or zone being drawn.

    Args:
        kind: ``"line"`` or ``"zone"``.
        name: The name box (empty: the next ``line N`` / ``zone N``).
        text: The lines and zones so far (JSON).
        pending: The points clicked so far of the one being drawn.
        point: The click, ``[x, y]`` in the frame's pixels.

    Returns:
        ``(text, pending, note)``: the second click of a line adds it to the text.
    """
    try:
        lines, zones = _geometry(text)
        label = _name_for(kind, name, [item.name for item in (*lines, *zones)])
    except GeometryError as exc:
        return text or EMPTY, pending, str(exc)
    pending = [*pending, [int(point[0]), int(point[1])]]
    if kind == "line":
        if len(pending) < 2:
            return text or EMPTY, pending, f"Line **{label}**: click its second point."
        try:
            line = as_lines([{"name": label, "points": pending}])[0]
        except GeometryError as exc:
            return text or EMPTY, pending[:1], str(exc)
        return _text([*lines, line], zones), [], f"Added line **{label}**."
    return (
        text or EMPTY,
        pending,
        f"Zone **{label}**: {len(pending)} point{'s' if len(pending) > 1 else ''}; "
        "click more, then **Close zone**.",
    )


def close_zone(name: str | None, text: str | None, pending: Pending) -> tuple[str, Pending, str]:
    """**Close zone**: the points clicked so far become a zone.

    Returns:
        ``(text, pending, note)``; with fewer than three points nothing changes
        and the note says so.
    """
    if len(pending) < 3:
        return text or EMPTY, pending, "A zone needs at least three points: click more first."
    try:
        lines, zones = _geometry(text)
        label = _name_for("zone", name, [item.name for item in (*lines, *zones)])
        zone = as_zones([{"name": label, "points": pending}])[0]
    except GeometryError as exc:
        return text or EMPTY, pending, str(exc)
    return _text(lines, [*zones, zone]), [], f"Added zone **{label}**."


def undo_point(pending: Pending) -> tuple[Pending, str]:
    """**Undo point**: forget the last point clicked."""
    if not pending:
        return pending, "No point to undo."
    return pending[:-1], f"{len(pending) - 1} point(s) of the shape being drawn."


def remove(text: str | None, name: str | None) -> tuple[str, str]:
    """**Remove**: take the named line or zone away.

    Returns:
        ``(text, note)``.
    """
    try:
        lines, zones = _geometry(text)
    except GeometryError as exc:
        return text or EMPTY, str(exc)
    kept_lines = [line for line in lines if line.name != name]
    kept_zones = [zone for zone in zones if zone.name != name]
    if len(kept_lines) + len(kept_zones) == len(lines) + len(zones):
        return _text(lines, zones), "Choose a line or zone to remove."
    return _text(kept_lines, kept_zones), f"Removed **{name}**."


@functools.lru_cache(maxsize=4)
def _first_frame(video: str, modified: float) -> np.ndarray:
    return read_first_frame(video).image


def canvas(video: str | None, text: str | None, pending: Pending) -> tuple[np.ndarray | None, str]:
    """The first frame with the lines, zones and the points being drawn (RGB).

    Returns:
        ``(image, note)``: no image without a video; a note when the text is
        not valid (the frame is then drawn without it).
    """
    if not video or not Path(video).is_file():
        return None, ""
    try:
        image = _first_frame(str(video), Path(video).stat().st_mtime).copy()
    except Exception:  # noqa: BLE001 - the run itself reports an unreadable video
        return None, ""
    note = ""
    try:
        lines, zones = _geometry(text)
    except GeometryError as exc:
        lines, zones, note = (), (), str(exc)
    image = CountingStage(lines, zones).annotate(image)
    radius = max(3, round(min(image.shape[:2]) / 120))
    points = [tuple(point) for point in pending]
    for start, end in zip(points, points[1:], strict=False):
        cv2.line(image, start, end, PENDING_BGR, max(1, radius // 2), cv2.LINE_AA)
    for point in points:
        cv2.circle(image, point, radius, PENDING_BGR, cv2.FILLED, cv2.LINE_AA)
    return to_rgb(image), note


#: A clip's counting lines and zones, in a file beside it: ``clip.counting.json``.
PRESET_SUFFIX = ".counting.json"


def preset(video: Path) -> str:
    """The lines and zones an example clip comes with (JSON text), or ``""`` for none.

    They are read from ``<clip>.counting.json`` beside the clip, in the clip's pixels.

    Raises:
        GeometryError: The file is there but holds no valid lines and zones.
    """
    path = video.with_suffix(PRESET_SUFFIX)
    if not path.is_file():
        return ""
    lines, zones = _geometry(path.read_text(encoding="utf-8"))
    return _text(lines, zones)


def counting_box(prefix: str = "") -> gr.Textbox:
    """The JSON box of the lines and zones, made before it is placed.

    :func:`build_counting_editor` places it; an example may fill it
    (:func:`ui.layout.video_input`).
    """
    # Empty, not EMPTY: the API page writes a default into its Python snippet as
    # "...", without escaping the quotes in it.
    return gr.Textbox(
        value="",
        placeholder=EMPTY,
        label="Lines and zones (JSON, the video's pixels)",
        lines=2,
        elem_id=f"{prefix}counting",
        render=False,
    )


def remove_choices(text: str | None) -> dict[str, Any]:
    """The **Remove** dropdown's settings: the current names."""
    choices = names(text)
    return {"choices": choices, "value": choices[-1] if choices else None}


def click_canvas(label: str, elem_id: str) -> gr.Image:
    """A frame to click on (counting lines, the speed area, objects to segment).

    Not an upload box: the page fills it with the video's frame, and each click
    is a ``select`` event with the pixel clicked.

    Args:
        label: What to do on it (for screen readers; not shown).
        elem_id: Its element id.
    """
    return gr.Image(
        label=label, show_label=False, type="numpy", interactive=False, elem_id=elem_id
    )


def build_counting_editor(
    video: gr.Video | gr.Image, prefix: str = "", text: gr.Textbox | None = None
) -> gr.Textbox:
    """The counting editor: the first frame to click on, its buttons, and the JSON box.

    Call it inside the tab's layout; it redraws whenever ``video`` changes.

    Args:
        video: What to draw on: the tab's upload box, or an image (a path).
        prefix: Prefix of the editor's element ids (one per tab).
        text: The JSON box made beforehand by :func:`counting_box` (so that examples
            can fill it); None: a new one.

    Returns:
        The JSON box, the run's ``counting`` input.
    """
    with gr.Accordion(
        "Counting lines and zones", open=False, elem_id=f"{prefix}counting-editor"
    ) as editor:
        gr.Markdown(HELP)
        image = click_canvas("First frame: click to draw", f"{prefix}counting-canvas")
        with gr.Row():
            kind = gr.Radio(
                [("Line", "line"), ("Zone", "zone")],
                value="line",
                label="Draw a",
                elem_id=f"{prefix}counting-kind",
            )
            name = gr.Textbox(label="Name", placeholder="door", elem_id=f"{prefix}counting-name")
        with gr.Row():
            close = gr.Button("Close zone", size="sm", elem_id=f"{prefix}counting-close")
            undo = gr.Button("Undo point", size="sm", elem_id=f"{prefix}counting-undo")
        with gr.Row():
            chosen = gr.Dropdown(
                label="Line or zone", choices=[], elem_id=f"{prefix}counting-chosen"
            )
            remove_button = gr.Button("Remove", size="sm", elem_id=f"{prefix}counting-remove")
            clear = gr.Button("Remove all", size="sm", elem_id=f"{prefix}counting-clear")
        note = gr.Markdown("", elem_id=f"{prefix}counting-note")
        text = text or counting_box(prefix)
        text.render()
    pending = gr.State([])

    def redraw(
        video_path: str | None, value: str, points: Pending, message: str = ""
    ) -> tuple[Any, ...]:
        frame, problem = canvas(video_path, value, points)
        return frame, value, points, problem or message, gr.Dropdown(**remove_choices(value))

    drawn = [image, text, pending, note, chosen]

    def clicked(
        video_path: str | None,
        shape: str,
        label: str,
        value: str,
        points: Pending,
        event: gr.SelectData,
    ) -> tuple[Any, ...]:
        if event.index is None:
            return (*redraw(video_path, value, points), gr.skip())
        new_value, points, message = add_point(shape, label, value, points, event.index)
        finished = new_value != (value or EMPTY)
        return (*redraw(video_path, new_value, points, message), "" if finished else gr.skip())

    def closed(video_path: str | None, label: str, value: str, points: Pending) -> tuple[Any, ...]:
        new_value, points, message = close_zone(label, value, points)
        finished = new_value != (value or EMPTY)
        return (*redraw(video_path, new_value, points, message), "" if finished else gr.skip())

    def undone(video_path: str | None, value: str, points: Pending) -> tuple[Any, ...]:
        points, message = undo_point(points)
        return redraw(video_path, value, points, message)

    def removed(video_path: str | None, value: str, label: str | None) -> tuple[Any, ...]:
        value, message = remove(value, label)
        return redraw(video_path, value, [], message)

    # One at a time, in order: each click reads the points the previous one left in
    # `pending`, so quick clicks must not run side by side on a stale copy.
    private = {
        "concurrency_limit": 1,
        "concurrency_id": "counting-editor",
        "show_progress": "hidden",
        "api_visibility": "private",
    }
    video.change(lambda v, t: redraw(v, t, []), [video, text], drawn, **private)
    if isinstance(video, gr.Image):
        # An image is a frame someone asked for to draw on (the Live tab's current
        # frame): the editor opens on it, or the click would seem to do nothing.
        video.change(
            lambda v: gr.Accordion(open=True) if v else gr.skip(), video, editor,
            queue=False, api_visibility="private",
        )  # fmt: skip
    image.select(clicked, [video, kind, name, text, pending], [*drawn, name], **private)
    close.click(closed, [video, name, text, pending], [*drawn, name], **private)
    undo.click(undone, [video, text, pending], drawn, **private)
    remove_button.click(removed, [video, text, chosen], drawn, **private)
    clear.click(lambda v: redraw(v, EMPTY, [], "Removed every line and zone."), video, drawn,
                **private)  # fmt: skip
    # Typing in the box redraws too (``input``: not when the handlers above set it).
    text.input(lambda v, t, p: redraw(v, t, p), [video, text, pending], drawn, **private)
    return text
