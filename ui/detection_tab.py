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

#: Runs and first-frame previews share one concurrency group: both use the devices.
GPU_CONCURRENCY_ID = "gpu"
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
            video = gr.Video(label="Video", sources=["upload"], elem_id="input-video")
            if examples:
                gr.Examples(
                    examples=[[str(path)] for path in examples],
                    inputs=[video],
                    label="Example videos",
                    cache_examples=False,
                )
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
            with gr.Row():
                first_button = gr.Button("First frame", elem_id="first-frame-button")
                run_button = gr.Button("Run", variant="primary", elem_id="run-button")
                stop_button = gr.Button("Stop", variant="stop", elem_id="stop-button")
        with gr.Column(scale=1):
            preview = gr.Image(
                label="Preview",
                type="numpy",
                format="jpeg",  # Streamed frames: JPEG encodes faster and smaller than WebP.
                interactive=False,
                elem_id="preview",
            )
            status = gr.Markdown(READY, label="Status", elem_id="status")
            result_video = gr.Video(
                label="Result (H.264)",
                interactive=False,
                autoplay=True,
                elem_id="result-video",
            )
            tracks = gr.File(label="Tracks (JSON)", interactive=False, elem_id="tracks")
            with gr.Accordion("Run details", open=False):
                summary = gr.JSON(label="Summary", elem_id="summary")

    inputs = [video, detector, size, queries, confidence, object_depth]
    detector.change(
        _detector_changed,
        inputs=detector,
        outputs=[size, queries, detector_info],
        queue=False,
        api_visibility="private",
    )
    first_button.click(
        handlers.first_frame,
        inputs=inputs,
        outputs=preview,
        api_name="first_frame",
        concurrency_id=GPU_CONCURRENCY_ID,
    )
    run_event = run_button.click(
        handlers.detect,
        inputs=inputs,
        outputs=[preview, status, result_video, tracks, summary],
        api_name="detect",
        concurrency_id=GPU_CONCURRENCY_ID,
        # The live preview must stay visible; a full overlay would cover it.
        show_progress="minimal",
    )
    stop_button.click(
        handlers.stop,
        inputs=None,
        outputs=status,
        cancels=[run_event],
        queue=False,
        api_visibility="private",
    )
