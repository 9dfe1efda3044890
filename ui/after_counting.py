"""The Detection tab's paths, heat map, privacy, slicing and speed controls, in one accordion.

Each control is a ``/detect`` and ``/first_frame`` input of its own, off by
default. The speed area is marked like the counting lines: four clicks on the
first frame, around a rectangle on the ground whose size the user knows
(a parking space, a lane's markings), then its width and length in metres.
The handlers here are plain functions of the components' values, so the
tests call them as the page does.

Example:
    >>> text, note = add_area_point("", (10, 20))
    >>> text, note
    ('10,20', 'Speed area: 1 of 4 points; click the next corner.')
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import gradio as gr
import numpy as np

from pipeline.configs import DetectionConfig, field_default
from pipeline.errors import ConfigError
from pipeline.io.video import read_first_frame
from pipeline.stages.privacy import PRIVACY_STYLES
from pipeline.stages.slicing import MIN_SLICE_SIZE
from pipeline.stages.speed import as_points
from ui.counting import click_canvas
from ui.errors import user_error
from ui.render import to_rgb

HELP = """\
**Speed in km/h**: click four corners of a rectangle on the ground (in order
around it), then give its size: the width from the first point to the second,
the length from the second to the third. Without them, speeds are in pixels
per second.
"""
#: Corners of the speed area.
AREA_POINTS = 4
#: Colour of the speed area on the first frame (BGR).
AREA_BGR = (255, 200, 0)
#: The largest slice size offered on the page (the command line takes any).
MAX_SLICE_SIZE = 1280


#: The accordion's values that are config fields as they are.
REQUEST_FIELDS = ("paths", "heatmap", "heatmap_overlay", "slicing", "slice_size", "speed",
                  "speed_area")  # fmt: skip


class AfterCountingInputs(NamedTuple):
    """The accordion's inputs, in the order ``/detect`` takes them."""

    paths: gr.Checkbox
    heatmap: gr.Checkbox
    heatmap_overlay: gr.Checkbox
    privacy: gr.Checkbox
    privacy_style: gr.Radio
    privacy_classes: gr.Textbox
    slicing: gr.Checkbox
    slice_size: gr.Slider
    speed: gr.Checkbox
    speed_area: gr.Textbox
    speed_area_width_m: gr.Number
    speed_area_length_m: gr.Number


def after_counting_settings(**values: Any) -> dict[str, Any]:
    """The accordion's values as the request's fields (the config reads and checks them).

    Args:
        **values: The accordion's values by :class:`AfterCountingInputs` name
            (others, such as the rest of a ``/detect`` request, are left out);
            one not given is off.

    Example:
        >>> after_counting_settings(privacy=True, privacy_classes="person")["privacy"]
        'blur'

    Raises:
        gr.Error: Only one of the speed area's two sizes.
    """
    settings = {name: values.get(name) for name in REQUEST_FIELDS}
    settings.update(
        privacy_settings(
            values.get("privacy"), values.get("privacy_style"), values.get("privacy_classes")
        )
    )
    # Two boxes on the page, one field of the config: both or neither.
    sizes = [values.get(name) for name in ("speed_area_width_m", "speed_area_length_m")]
    sizes = [size for size in sizes if size not in (None, "", 0)]
    if len(sizes) == 1:
        raise user_error("Give both the speed area's width and length in metres.")
    if sizes:
        settings["speed_area_size"] = (float(sizes[0]), float(sizes[1]))
    return settings


def _points(text: str | None) -> list[tuple[float, float]]:
    try:
        return list(as_points(text or ""))
    except ConfigError:
        return []


def _text(points: list[tuple[float, float]]) -> str:
    return ", ".join(f"{x:g},{y:g}" for x, y in points)


def add_area_point(text: str | None, point: tuple[int, int] | list[int]) -> tuple[str, str]:
    """One click on the first frame: the next corner of the speed area.

    A click after the fourth starts a new area.

    Returns:
        ``(text, note)``: the points as ``x1,y1, x2,y2, ...`` (the video's pixels).
    """
    points = _points(text)
    if len(points) >= AREA_POINTS:
        points = []
    points.append((float(point[0]), float(point[1])))
    if len(points) < AREA_POINTS:
        return _text(points), (
            f"Speed area: {len(points)} of {AREA_POINTS} points; click the next corner."
        )
    return _text(points), "Speed area: 4 points. Give its width and length in metres."


@functools.lru_cache(maxsize=4)
def _first_frame(video: str, modified: float) -> np.ndarray:
    return read_first_frame(video).image


def area_canvas(video: str | None, text: str | None) -> np.ndarray | None:
    """The first frame with the speed area's points (and its outline once whole), RGB."""
    if not video or not Path(video).is_file():
        return None
    try:
        image = _first_frame(str(video), Path(video).stat().st_mtime).copy()
    except Exception:  # noqa: BLE001 - the run itself reports an unreadable video
        return None
    points = [(round(x), round(y)) for x, y in _points(text)]
    radius = max(3, round(min(image.shape[:2]) / 120))
    if len(points) == AREA_POINTS:
        outline = np.array(points, dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [outline], True, AREA_BGR, max(1, radius // 2), cv2.LINE_AA)
    for number, point in enumerate(points, start=1):
        cv2.circle(image, point, radius, AREA_BGR, cv2.FILLED, cv2.LINE_AA)
        cv2.putText(image, str(number), (point[0] + radius, point[1] - radius),
                    cv2.FONT_HERSHEY_SIMPLEX, radius / 6, AREA_BGR, 1, cv2.LINE_AA)  # fmt: skip
    return to_rgb(image)


def build_after_counting_controls(video: gr.Video) -> AfterCountingInputs:
    """The accordion: its controls, and the speed area drawn on ``video``'s first frame.

    Call it inside the tab's layout.

    Returns:
        The inputs that ``/detect`` takes, in order.
    """
    default = functools.partial(field_default, DetectionConfig)
    with gr.Accordion(
        "Paths, heat map, privacy, small objects, speed", open=False, elem_id="after-counting"
    ):
        with gr.Row():
            paths = gr.Checkbox(
                value=default("paths"), label="Draw each track's path", elem_id="paths"
            )
            heatmap = gr.Checkbox(
                value=default("heatmap"), label="Heat map (image)", elem_id="heatmap-on"
            )
            heatmap_overlay = gr.Checkbox(
                value=default("heatmap_overlay"),
                label="Heat map over the video",
                elem_id="heatmap-overlay",
            )
        with gr.Row():
            privacy = gr.Checkbox(
                value=default("privacy") is not None,
                label="Hide objects (privacy)",
                info="In the video, the preview and the first frame.",
                elem_id="privacy",
            )
            privacy_style = gr.Radio(
                list(PRIVACY_STYLES), value=PRIVACY_STYLES[0], label="How", elem_id="privacy-style"
            )
        privacy_classes = gr.Textbox(
            value="",
            label="Classes to hide (comma-separated; empty hides every object)",
            placeholder="person",
            elem_id="privacy-classes",
        )
        with gr.Row():
            slicing = gr.Checkbox(
                value=default("slicing"),
                label="Small objects: detect on tiles",
                info="Sliced inference; one detector call per tile, so slower.",
                elem_id="slicing",
            )
            slice_size = gr.Slider(
                minimum=MIN_SLICE_SIZE,
                maximum=MAX_SLICE_SIZE,
                step=16,
                value=default("slice_size"),
                label="Tile size (px)",
                elem_id="slice-size",
            )
        speed = gr.Checkbox(
            value=default("speed"),
            label="Measure speed",
            info="Pixels per second; km/h over the area below.",
            elem_id="speed",
        )
        gr.Markdown(HELP)
        canvas = click_canvas("First frame: click four corners", "speed-canvas")
        note = gr.Markdown("", elem_id="speed-note")
        speed_area = gr.Textbox(
            value="",
            label="Speed area: x1,y1, x2,y2, x3,y3, x4,y4 (the video's pixels)",
            elem_id="speed-area",
        )
        with gr.Row():
            width_m = gr.Number(value=None, label="Width (m), 1 to 2", elem_id="speed-width")
            length_m = gr.Number(value=None, label="Length (m), 2 to 3", elem_id="speed-length")
            clear = gr.Button("Clear area", size="sm", elem_id="speed-clear")

    def clicked(video_path: str | None, text: str, event: gr.SelectData) -> tuple[Any, ...]:
        if event.index is None:
            return gr.skip(), gr.skip(), gr.skip()
        text, message = add_area_point(text, event.index)
        return area_canvas(video_path, text), text, message

    private = {
        "concurrency_limit": 1,
        "concurrency_id": "speed-area-editor",
        "show_progress": "hidden",
        "api_visibility": "private",
    }
    video.change(lambda v, t: area_canvas(v, t), [video, speed_area], canvas, **private)
    canvas.select(clicked, [video, speed_area], [canvas, speed_area, note], **private)
    clear.click(lambda v: (area_canvas(v, ""), "", ""), video, [canvas, speed_area, note],
                **private)  # fmt: skip
    speed_area.input(lambda v, t: area_canvas(v, t), [video, speed_area], canvas, **private)
    return AfterCountingInputs(
        paths, heatmap, heatmap_overlay, privacy, privacy_style, privacy_classes,
        slicing, slice_size, speed, speed_area, width_m, length_m,
    )  # fmt: skip


def build_privacy_controls(prefix: str) -> tuple[gr.Checkbox, gr.Radio, gr.Textbox]:
    """Privacy alone, in its own accordion (the Segmentation tab: masks are hidden).

    Returns:
        The switch, the style and the classes, the order ``/segment`` takes them.
    """
    with gr.Accordion("Privacy", open=False, elem_id=f"{prefix}privacy-settings"):
        privacy = gr.Checkbox(
            value=False,
            label="Hide objects (privacy)",
            info="Within their masks, in the video, the preview and the first frame.",
            elem_id=f"{prefix}privacy",
        )
        style = gr.Radio(
            list(PRIVACY_STYLES), value=PRIVACY_STYLES[0], label="How",
            elem_id=f"{prefix}privacy-style",
        )  # fmt: skip
        classes = gr.Textbox(
            value="",
            label="Classes to hide (comma-separated; empty hides every object)",
            placeholder="person",
            elem_id=f"{prefix}privacy-classes",
        )
    return privacy, style, classes


def privacy_settings(
    privacy: bool | None, privacy_style: str | None, privacy_classes: str | None
) -> dict[str, Any]:
    """The privacy controls as config fields (none when the switch is off).

    Example:
        >>> privacy_settings(True, "", "person")
        {'privacy': 'blur', 'privacy_classes': 'person'}
    """
    if not privacy:
        return {}
    return {
        "privacy": (privacy_style or "").strip() or PRIVACY_STYLES[0],
        "privacy_classes": privacy_classes or "",
    }


def heatmap_image(files: list[str] | str | None) -> str | None:
    """The heat map among a run's result files (None when it has none)."""
    if isinstance(files, str):
        files = [files]
    return next((f for f in files or [] if str(f).endswith(".png")), None)
