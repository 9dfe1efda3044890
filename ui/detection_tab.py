"""The Detection tab: layout and event wiring (the handlers live in :mod:`ui.handlers`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from ui.handlers import DetectionHandlers
from ui.inputs import (
    DEFAULT_CONFIDENCE,
    DEFAULT_SIZE,
    ONE_SIZE_INFO,
    default_detector,
    describe,
    detector_choices,
    queries_update,
    size_update,
)
from ui.layout import (
    preview_image,
    result_video,
    run_buttons,
    run_summary,
    video_input,
    wire_run_buttons,
)

READY = "Upload a video, then press **Run** (or **First frame** to try the settings)."


def _detector_changed(detector: str | None) -> tuple[gr.Dropdown, gr.Textbox, str]:
    return size_update(detector), queries_update(detector), describe(detector).info


def build_detection_tab(handlers: DetectionHandlers, examples: Sequence[Path] = ()) -> None:
    """Lay out the Detection tab inside the current ``gr.Blocks`` and wire its events.

    Registers the API endpoints ``/detect`` and ``/first_frame``.

    Args:
        handlers: The tab's event handlers.
        examples: Example videos offered under the upload box (none: no examples).
    """
    initial = describe(default_detector())
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            video = video_input("", examples)
            # allow_custom_value: an API client may name any detector or size; the
            # handler then answers with the list of valid ones instead of Gradio's
            # generic "not in the list of choices".
            detector = gr.Dropdown(
                choices=detector_choices(),
                value=initial.name or None,
                label="Detector",
                allow_custom_value=True,
                elem_id="detector",
            )
            detector_info = gr.Markdown(initial.info, elem_id="detector-info")
            size = gr.Dropdown(
                choices=initial.size_choices,
                value=DEFAULT_SIZE,
                label="Model size",
                interactive=bool(initial.sizes),
                info=None if initial.sizes else ONE_SIZE_INFO,
                allow_custom_value=True,
                elem_id="size",
            )
            queries = gr.Textbox(
                value="",
                label=initial.queries_label,
                placeholder=initial.queries_placeholder,
                elem_id="queries",
            )
            confidence = gr.Slider(
                minimum=0.0,
                maximum=1.0,
                value=DEFAULT_CONFIDENCE,
                step=0.05,
                label="Confidence threshold",
                elem_id="confidence",
            )
            object_depth = gr.Checkbox(
                value=False,
                label="Measure each object's depth (Depth Anything V2 small, Apache-2.0)",
                info="Relative inverse depth: larger is nearer; not metres.",
                elem_id="object-depth",
            )
            buttons = run_buttons("")
        with gr.Column(scale=1):
            preview = preview_image("")
            status = gr.Markdown(READY, label="Status", elem_id="status")
            result = result_video("")
            tracks = gr.File(label="Tracks (JSON)", interactive=False, elem_id="tracks")
            summary = run_summary("")

    inputs = [video, detector, size, queries, confidence, object_depth]
    detector.change(
        _detector_changed,
        inputs=detector,
        outputs=[size, queries, detector_info],
        queue=False,
        api_visibility="private",
    )
    wire_run_buttons(
        buttons,
        inputs=inputs,
        preview=preview,
        first_frame=handlers.first_frame,
        first_frame_api="first_frame",
        run=handlers.detect,
        run_outputs=[preview, status, result, tracks, summary],
        run_api="detect",
        stop=handlers.stop,
        stop_outputs=status,
        stop_api=None,
    )
