"""The Detection tab (detect and track objects) and its ``/detect`` and ``/first_frame`` API.

Example:
    with gr.Blocks() as demo, gr.Tabs():
        build_detection_tab(DetectionHandlers(), example_videos())
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

import models
from models.runtimes import AUTO, runtimes_for
from pipeline.configs import DEPTH_MODEL, DetectionConfig, field_default
from pipeline.request import detection_config, is_empty
from pipeline.runtime.summary import RunSummary
from pipeline.stages.stride import AUTO_STRIDE
from ui import counting as drawing
from ui.after_counting import (
    after_counting_settings,
    build_after_counting_controls,
    heatmap_image,
)
from ui.components import api_values
from ui.endpoints import takes_request_of
from ui.layout import (
    run_outputs,
    run_summary,
    tab_page,
    tracker_dropdown,
    video_with_run_buttons,
    wire_run_buttons,
)
from ui.model_choices import licences_info, model_choices, model_note, weights_note
from ui.render import summary_text
from ui.streaming import TabHandlers

INTRO = """\
Upload a video (or pick an example), choose a detector and press **Run**:
annotated frames stream in while it is processed, then the annotated video,
the tracks (JSON) and the tables (CSV) are ready to play and download.
**First frame** checks the settings on one frame. Draw counting lines and zones
on the first frame to count what crosses and what stays.
"""
READY = "Upload a video, then press **Run** (or **First frame** to try the settings)."
ONE_SIZE_INFO = "This model comes in one size."
#: The detection strides the dropdown offers (any other whole number may be typed).
STRIDE_CHOICES = ["1", "2", "3", "5", "10", AUTO_STRIDE]
#: Size dropdown value meaning "the model's default size".
DEFAULT_SIZE = ""

#: ``/detect`` outputs: preview image (RGB), status text, result video path,
#: tracks JSON path, the CSV tables' paths, summary. The last four are None
#: until the run is done.
DetectOutputs = tuple[
    np.ndarray | None, str, str | None, str | None, list[str] | None, dict[str, Any] | None
]


def build_detection_config(
    detector: str | None,
    size: str | None,
    queries: str | None,
    confidence: float | None,
    *,
    max_duration_s: float | None,
    object_depth: bool = False,
    counting: str | dict[str, Any] | None = None,
    tracker: str | None = None,
    runtime: str | None = None,
    after_counting: dict[str, Any] | None = None,
    detect_every: str | float | None = None,
    **limits: Any,
) -> DetectionConfig:
    """A request's values as the run's config (:func:`pipeline.request.detection_config`).

    Query names are checked against the model later, when it is loaded (the
    model knows its vocabulary); the config checks everything else. An empty
    value takes the config's default.

    Args:
        detector: Registry name of the detector.
        size: Model size; None or ``""`` for the model's default. For a model
            that comes in one size, another model's size is ignored (the page may
            still send the last model's); any other is refused.
        queries: Comma-separated class names or text prompts.
        confidence: Minimum detection score in [0, 1]; None for the default.
        max_duration_s: Longer videos are refused.
        object_depth: Also measure each tracked object's relative depth.
        counting: Counting lines and zones as JSON
            (:func:`pipeline.stages.counting.from_json`); empty: none.
        tracker: The tracker's name; None or ``""`` for the default.
        runtime: What runs the detector's network; None or ``""`` for ``auto``.
        after_counting: Paths, heat map, privacy, slicing and speed settings
            as config fields (:func:`ui.after_counting.after_counting_settings`).
        detect_every: Detect on every K-th frame, or ``auto``; None or ``""``
            for the default (every frame).
        **limits: The deployment's other limits on a video, as config fields.

    Returns:
        The frozen config of the run.

    Raises:
        ConfigError, GeometryError: A setting out of range, bad lines or
            zones; models.ModelError: an unknown detector or size (the caller
            turns them into ``gr.Error``).
    """
    name = (detector or "").strip()
    if (
        name
        and not is_empty(size)
        and not models.spec("detector", name).sizes
        and str(size).strip() in all_sizes()
    ):
        size = None
    fields = {
        "detector": name, "size": size, "queries": queries, "confidence": confidence,
        "depth": object_depth, "counting": counting, "tracker": tracker, "runtime": runtime,
        "detect_every": detect_every, **(after_counting or {}),
    }  # fmt: skip
    return detection_config(fields, max_duration_s=max_duration_s, **limits)


class DetectionHandlers(TabHandlers):
    """The Detection tab's handlers (see :class:`ui.streaming.TabHandlers` for the arguments)."""

    result_files = ("video", "tracks", ("tracks_csv", "objects_csv", "heatmap"))

    def status_text(self, summary: RunSummary) -> str:
        return summary_text(summary)

    def _builder(self, values: Mapping[str, Any]) -> Callable[[dict[str, Any]], DetectionConfig]:
        """The config of ``/detect``'s (or ``/first_frame``'s) values, by parameter name.

        Both endpoints take the same request; gradio reads each one's parameters
        from its signature, so they are written in each, and read here once.
        """
        return lambda limits: build_detection_config(
            values["detector"], values["size"], values["queries"], values["confidence"],
            object_depth=values["object_depth"], counting=values["counting"],
            tracker=values["tracker"], runtime=values["runtime"],
            after_counting=after_counting_settings(**values),
            detect_every=values["detect_every"], **limits,
        )  # fmt: skip

    def detect(
        self,
        video: str | None,
        detector: str | None,
        size: str | None,
        queries: str | None,
        confidence: float | None,
        object_depth: bool | None = False,
        counting: str | None = "",
        tracker: str | None = "",
        runtime: str | None = "",
        paths: bool | None = False,
        heatmap: bool | None = False,
        heatmap_overlay: bool | None = False,
        privacy: bool | None = False,
        privacy_style: str | None = "blur",
        privacy_classes: str | None = "",
        slicing: bool | None = False,
        slice_size: float | None = None,
        speed: bool | None = False,
        speed_area: str | None = "",
        speed_area_width_m: float | None = None,
        speed_area_length_m: float | None = None,
        detect_every: str | float | None = "",
        request: gr.Request | None = None,
    ) -> Iterator[DetectOutputs]:
        """Detect and track objects in a video, streaming annotated frames.

        The same run is also an HTTP job of the REST API: ``POST /detect/async``,
        then ``GET /detect/status/{job_id}`` (every route is listed at ``/docs``).

        Args:
            video: The input video file.
            detector: Detector name, e.g. ``"yolo11"`` or ``"grounding_dino"``.
            size: Model size (``"n"``...``"x"``, ``"tiny"``/``"base"``); empty for the default.
            queries: Comma-separated class names to keep (empty: all), or what
                to find in free text for open-vocabulary detectors.
            confidence: Minimum detection score in [0, 1].
            object_depth: Also measure each tracked object's relative depth
                (Depth Anything V2 small): shown in labels, stored in the tracks,
                and tracks ordered near to far in the summary.
            counting: Counting lines and zones as JSON, in the video's pixels:
                ``{"lines": [{"name": "door", "points": [[x1, y1], [x2, y2]]}],
                "zones": [{"name": "desk", "points": [[x1, y1], [x2, y2], [x3, y3]]}]}``
                (empty: none). Crossings per line and direction and each
                zone's occupancy and times are drawn, summarised, recorded as
                events in the tracks and added to the tables.
            tracker: The tracker giving objects their ids: cbiou (default),
                bytetrack, sort, ocsort, botsort or mcbyte.
            runtime: What runs the detector's network: auto (default: on a CPU
                the fastest the detector offers, measured at first use) or one
                it offers, e.g. onnxruntime, onnxruntime-int8, openvino, openvino-bf16, torch.
            paths: Draw each track's path over its last two seconds.
            heatmap: Add a heat map of where objects were (all, and per
                class) over the first frame, a PNG among the tables.
            heatmap_overlay: Draw the heat map so far over the video.
            privacy: Hide objects: blur or pixelate their boxes in the video,
                the preview and the first frame.
            privacy_style: ``"blur"`` (default) or ``"pixelate"``.
            privacy_classes: Comma-separated classes to hide (empty: every object).
            slicing: Detect on overlapping tiles (small objects; slower).
            slice_size: The tiles' side in pixels (default 320).
            speed: Measure each track's speed (px/s; km/h with a speed area).
            speed_area: Four corners of a rectangle on the ground,
                ``"x1,y1, x2,y2, x3,y3, x4,y4"`` in the video's pixels, in order
                around it (turns speed on).
            speed_area_width_m: Its width in metres (first point to second).
            speed_area_length_m: Its length in metres (second point to third).
            detect_every: Detect on every K-th frame only (1, the default: every
                frame); the tracker predicts the boxes between, marked
                ``"predicted": true`` in the tracks. ``auto`` is every frame for
                a file (docs/cpu-runtimes.md).
            request: Injected by Gradio; identifies the session for the Stop button.

        Yields:
            ``(preview, status, video, tracks, tables, summary)``: first the
            annotated first frame, then live frames with a progress line, then
            the last frame with the H.264 result video, the tracks JSON, the
            CSV tables (``tracks.csv``: one row per track; ``objects.csv``: one
            row per object per frame; with ``heatmap``, ``heatmap.png`` too)
            and the run summary.

        Raises:
            gr.Error: Bad video, unknown detector or size, bad query, missing
                weights, too-long video, bad lines or zones, or a failed run.
        """
        values = locals()  # the request, by parameter name (gradio reads them from the signature)
        yield from self._reporting(
            request,
            lambda: self._stream(request, self._checked(video, self._builder(values))),
        )

    @takes_request_of(detect)
    def first_frame(self, values: dict[str, Any]) -> np.ndarray:  # noqa: D417 (its Args are the endpoint's)
        """Detect objects in the first frame only: a quick check of the settings.

        Args:
            video: The input video file.
            detector: Detector name.
            size: Model size; empty for the default.
            queries: Class names or free text, as for ``/detect``.
            confidence: Minimum detection score in [0, 1].
            object_depth: Also label each object with its relative depth.
            counting: Counting lines and zones (JSON), drawn on the frame.
            tracker: The tracker's name, checked as for ``/detect`` (a first
                frame is not tracked).
            runtime: What runs the detector's network, as for ``/detect``.
            request: Injected by Gradio; identifies the session for its status line.
            paths: As for ``/detect`` (a first frame has no path yet).
            heatmap: As for ``/detect``.
            heatmap_overlay: As for ``/detect``.
            privacy: Hide objects, as for ``/detect``.
            privacy_style: ``"blur"`` or ``"pixelate"``.
            privacy_classes: The classes to hide (empty: every object).
            slicing: Detect on overlapping tiles, as for ``/detect``.
            slice_size: The tiles' side in pixels.
            speed: As for ``/detect`` (a first frame has no speed yet).
            speed_area: The speed area's four corners, checked as for ``/detect``.
            speed_area_width_m: Its width in metres.
            speed_area_length_m: Its length in metres.
            detect_every: The detection stride, checked as for ``/detect`` (a
                first frame is always detected).

        Returns:
            The annotated first frame (RGB).

        Raises:
            gr.Error: As for ``/detect``.
        """
        return self._first_frame(values["request"], values["video"], self._builder(values))


def _sizes(detector: str | None) -> tuple[str, ...]:
    try:
        return models.spec("detector", detector).sizes if detector else ()
    except models.UnknownModelError:
        return ()


def all_sizes() -> list[str]:
    """Every size the size parameter takes: ``""`` (the default) and each detector's sizes."""
    sizes = [DEFAULT_SIZE]
    for name in models.available("detector"):
        sizes.extend(models.spec("detector", name).sizes)
    return sizes


def size_dropdown_values(detector: str | None) -> dict[str, Any]:
    """The size dropdown's settings for ``detector``; ``""`` stands for its default size.

    ``""`` is also the initial value, so that an API client that leaves the
    size out gets each model's default size, whichever model it names.
    """
    sizes = _sizes(detector)
    default = models.spec("detector", detector).default_size if sizes else None
    label = f"Default ({default})" if default else "Default"
    return {
        "choices": [(label, DEFAULT_SIZE)] + [(size, size) for size in sizes],
        "value": DEFAULT_SIZE,
        "interactive": bool(sizes),
        "info": None if sizes else ONE_SIZE_INFO,
    }


def queries_box_values(detector: str | None) -> dict[str, str]:
    """Label and placeholder of the queries box: free text, or class names to keep."""
    try:
        open_vocabulary = bool(detector) and models.spec("detector", detector).open_vocabulary
    except models.UnknownModelError:
        open_vocabulary = False
    if open_vocabulary:
        return {
            "label": "What to find (free text, required)",
            "placeholder": "person, red car, dog",
        }
    return {
        "label": "Classes to keep (comma-separated; empty keeps all)",
        "placeholder": "person, car",
    }


def runtime_dropdown_values(detector: str | None) -> dict[str, Any]:
    """The runtime dropdown's settings: the runtimes ``detector`` offers, ``auto`` chosen."""
    try:
        offered = runtimes_for("detector", detector) if detector else (AUTO,)
    except models.UnknownModelError:
        offered = (AUTO,)
    return {"choices": list(offered), "value": AUTO}


def stride_dropdown(prefix: str, auto_means: str) -> gr.Dropdown:
    """The detection stride choice (Detection and Live tabs); ``auto_means`` says what auto does."""
    return gr.Dropdown(
        label="Detect every K-th frame",
        info="The tracker predicts the frames between (marked in the tracks): faster, "
        f"less accurate as K grows; {auto_means}",
        choices=STRIDE_CHOICES,
        value=str(field_default(DetectionConfig, "detect_every")),
        allow_custom_value=True,
        elem_id=f"{prefix}detect-every",
    )


def _detector_changed(detector: str | None) -> tuple[gr.Dropdown, gr.Textbox, str, gr.Dropdown]:
    return (
        gr.Dropdown(**size_dropdown_values(detector)),
        gr.Textbox(**queries_box_values(detector)),
        model_note("detector", detector),
        gr.Dropdown(**runtime_dropdown_values(detector)),
    )


def _size_changed(detector: str | None, size: str | None) -> str:
    return model_note("detector", detector, size or None)


def detector_dropdown(prefix: str, initial: str | None) -> gr.Dropdown:
    """The detector choice, each model's licence in its info line (Detection and Live tabs)."""
    # allow_custom_value: an API client may name any detector or size; the handler then
    # answers with the list of valid ones instead of Gradio's generic "not in the list
    # of choices".
    return gr.Dropdown(
        choices=model_choices("detector"),
        value=initial,
        label="Detector",
        info=licences_info("detector"),
        allow_custom_value=True,
        elem_id=f"{prefix}detector",
    )


def confidence_slider(prefix: str) -> gr.Slider:
    """The minimum detection score, from the config's default (Detection and Live tabs)."""
    return gr.Slider(
        minimum=0.0,
        maximum=1.0,
        value=field_default(DetectionConfig, "confidence"),
        step=0.05,
        label="Confidence threshold",
        elem_id=f"{prefix}confidence",
    )


def build_detection_tab(handlers: DetectionHandlers, examples: Sequence[Path] = ()) -> None:
    """Add the Detection tab to the current ``gr.Tabs`` and wire its events.

    Registers the API endpoints ``/detect`` and ``/first_frame``. The detector
    chosen at first is one whose weights can be had here (YOLO11 where they
    load, else the bundled YOLOX-Nano); a detector without weights here says so
    under the dropdown before Run.

    Its arguments are every tab builder's (:mod:`ui.tabs`).
    """
    initial = models.default_detector()
    depth_label = models.spec("depth", DEPTH_MODEL).label
    depth_licence = models.spec("depth", DEPTH_MODEL).license_for(None)
    depth_info = "Relative inverse depth: larger is nearer; not metres."
    depth_weights = weights_note("depth", DEPTH_MODEL)
    if depth_weights:
        depth_info += f" {depth_weights}"
    with tab_page("Detection", "detection", INTRO):
        with gr.Column(scale=1):
            counting = drawing.counting_box()
            video, buttons = video_with_run_buttons("", examples, counting)
            detector = detector_dropdown("", initial)
            detector_info = gr.Markdown(
                model_note("detector", initial), elem_id="detector-info"
            )
            size = api_values(
                gr.Dropdown(
                    label="Model size",
                    allow_custom_value=True,
                    elem_id="size",
                    **size_dropdown_values(initial),
                ),
                all_sizes(),
            )
            queries = gr.Textbox(value="", elem_id="queries", **queries_box_values(initial))
            confidence = confidence_slider("")
            object_depth = gr.Checkbox(
                value=field_default(DetectionConfig, "depth"),
                label=f"Measure each object's depth ({depth_label} small, {depth_licence})",
                info=depth_info,
                elem_id="object-depth",
            )
            drawing.build_counting_editor(video, text=counting)
            after_counting = build_after_counting_controls(video)
            with gr.Accordion("Advanced settings", open=False):
                tracker = tracker_dropdown("")
                runtime = gr.Dropdown(
                    label="Runtime",
                    info="What runs the detector: auto picks the fastest on a CPU "
                    "(int8 and bf16 only where they keep accuracy).",
                    allow_custom_value=True,
                    elem_id="runtime",
                    **runtime_dropdown_values(initial),
                )
                detect_every = stride_dropdown("", "auto: every frame of a file.")
        with gr.Column(scale=1):
            preview, status, result = run_outputs("", status=READY)
            tracks = gr.File(label="Tracks (JSON)", interactive=False, elem_id="tracks")
            tables = gr.File(
                label="Tables (CSV): one row per track, one per object per frame; the heat map",
                file_count="multiple",
                interactive=False,
                elem_id="tables",
            )
            heatmap = gr.Image(
                label="Heat map", interactive=False, visible=False, elem_id="heatmap"
            )
            summary = run_summary("")

    detector.change(
        _detector_changed,
        inputs=detector,
        outputs=[size, queries, detector_info, runtime],
        queue=False,
        api_visibility="private",
    )
    size.change(
        _size_changed,
        inputs=[detector, size],
        outputs=detector_info,
        queue=False,
        api_visibility="private",
    )
    wire_run_buttons(
        buttons,
        handlers,
        inputs=[
            video, detector, size, queries, confidence, object_depth, counting, tracker,
            runtime, *after_counting, detect_every,
        ],  # fmt: skip
        first_frame_api="first_frame",
        run=handlers.detect,
        run_outputs=[preview, status, result, tracks, tables, summary],
        run_api="detect",
        status=status,
        stop_api=None,
    )
    # The heat map comes with the tables (the /detect outputs stay as they were).
    tables.change(
        lambda files: gr.Image(value=heatmap_image(files), visible=bool(heatmap_image(files))),
        inputs=tables,
        outputs=heatmap,
        queue=False,
        api_visibility="private",
    )
