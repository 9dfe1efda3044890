"""The Segmentation tab (Grounded SAM 2 / YOLO + SAM 2) and its ``/segment`` API.

Example:
    with gr.Blocks() as demo, gr.Tabs():
        build_segmentation_tab(SegmentationHandlers())
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

import models
from pipeline.configs import SegmentationConfig, field_default
from pipeline.jobs import JobStore
from pipeline.request import config_from_fields
from pipeline.runtime.summary import RunSummary
from ui.after_counting import build_privacy_controls, privacy_settings
from ui.endpoints import takes_request_of
from ui.errors import as_gr_errors, user_error
from ui.layout import (
    run_outputs,
    run_summary,
    tab_page,
    video_with_run_buttons,
    wire_run_buttons,
)
from ui.model_choices import licences_info, model_choices, model_note
from ui.render import summary_text
from ui.settings import Settings
from ui.stops import STOP_FLAGS, StopFlags
from ui.streaming import TabHandlers
from ui.tabs.segmentation_clicks import click_picker

INTRO = """\
Find objects on keyframes and follow their **masks** through the video with
**SAM 2.1**. *GSAM2* models find what you describe in free text (Grounding
DINO); *YSAM2* models find COCO classes (YOLO11); *SAM3* finds every instance
of what you describe on every frame itself, in one model. Every *step* frames the
detector looks again: objects already followed keep their id, new ones get the
next id, and objects whose masks vanish are dropped. The JSON holds each
object's box, mask area and mask (COCO run-length encoding) for every frame.
"""
#: The step slider's range (the config takes up to :data:`pipeline.configs.MAX_STEP`).
SLIDER_MAX_STEP = 60

#: ``/segment`` outputs: preview (RGB), status, result video, masks JSON, summary.
SegmentOutputs = tuple[np.ndarray | None, str, str | None, str | None, dict[str, Any] | None]


def build_segmentation_config(
    segmenter: str | None,
    queries: str | None,
    step: float | None,
    *,
    allowed: Sequence[str],
    max_duration_s: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    prompts: str | None = None,
    privacy: Mapping[str, Any] | None = None,
    **limits: Any,
) -> SegmentationConfig:
    """A request's values as the run's config (:func:`pipeline.request.config_from_fields`).

    Args:
        segmenter: Registry name, e.g. ``"GSAM2-S"``; empty for the default.
        queries: Comma-separated text (GSAM2, required) or class names (YSAM2).
        step: Frames between keyframes; None for the default.
        prompts: Objects picked by hand, as JSON (no detector then; see
            :mod:`pipeline.stages.click_prompts`); empty for a detector's.
        allowed: The segmenters this app offers.
        max_duration_s: Longer videos are refused.
        overrides: Further config fields set by the deployment (or a test).
        privacy: The privacy fields (:func:`ui.after_counting.privacy_settings`).
        **limits: The deployment's other limits on a video, as config fields.

    Returns:
        The frozen config of the run.

    Raises:
        gr.Error: A segmenter this app does not offer, or what the config
            refuses (missing text queries, a step that is not a whole number
            from 1 to :data:`pipeline.configs.MAX_STEP`...).
    """
    name = (segmenter or "").strip() or field_default(SegmentationConfig, "segmenter")
    if name not in allowed:
        raise user_error(f"Unknown segmenter {name!r}. Available: {', '.join(allowed)}.")
    fields = {"segmenter": name, "queries": queries, "step": step, "prompts": prompts}
    with as_gr_errors():
        return config_from_fields(
            SegmentationConfig,
            {**fields, **(privacy or {})},
            max_duration_s=max_duration_s,
            **limits,
            **(overrides or {}),
        )


class SegmentationHandlers(TabHandlers):
    """The Segmentation tab's handlers.

    Args:
        settings: Deployment settings (limits, preview rate); read from the
            environment when None.
        jobs: The job store runs go into (default: the app's, for ``settings``).
        stops: Registry the Stop button uses to reach running runs.
        segmenters: Segmenters offered (default: every registered one that is
            not test-only).
        config_overrides: Fields set on every run's ``SegmentationConfig``
            (e.g. ``{"devices": ("cuda:1",)}``; tests use it to swap the detector).
    """

    loading = "Loading the models and segmenting the first frame..."
    result_files = ("video", "masks")

    def __init__(
        self,
        settings: Settings | None = None,
        jobs: JobStore | None = None,
        stops: StopFlags = STOP_FLAGS,
        *,
        segmenters: Sequence[str] | None = None,
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(settings, jobs, stops)
        self.segmenters = list(models.available("segmenter") if segmenters is None else segmenters)
        self.config_overrides = dict(config_overrides or {})

    def status_text(self, summary: RunSummary) -> str:
        return summary_text(summary, noun="object", followed=True)

    def _builder(self, values: Mapping[str, Any]) -> Callable[[dict[str, Any]], SegmentationConfig]:
        """The config of ``/segment``'s (or ``/first_frame_segment``'s) values, by parameter name.

        Both endpoints take the same request; gradio reads each one's parameters
        from its signature, so they are written in each, and read here once.
        """
        privacy = privacy_settings(
            values["privacy"], values["privacy_style"], values["privacy_classes"]
        )
        return lambda limits: build_segmentation_config(
            values["segmenter"], values["queries"], values["step"], allowed=self.segmenters,
            overrides=self.config_overrides, prompts=values["prompts"], privacy=privacy, **limits,
        )  # fmt: skip

    def segment(
        self,
        video: str | None,
        segmenter: str | None,
        queries: str | None,
        step: float | None,
        prompts: str | None = None,
        privacy: bool | None = False,
        privacy_style: str | None = "blur",
        privacy_classes: str | None = "",
        request: gr.Request | None = None,
    ) -> Iterator[SegmentOutputs]:
        """Segment and follow objects through a video, streaming annotated frames.

        Args:
            video: The input video file.
            segmenter: ``GSAM2-S``, ``GSAM2-B``, ``GSAM2-L`` (free-text queries),
                ``YSAM2-S``, ``YSAM2-B``, ``YSAM2-L`` (COCO class names) or ``SAM3``
                (free-text queries, found on every frame by SAM 3 itself).
            queries: Comma-separated text to find (GSAM2 and SAM3, required) or class
                names to keep (YSAM2; empty keeps all).
            step: Frames between keyframes, where the detector looks for objects.
            prompts: Objects picked by hand instead of a detector, as JSON in the
                video's pixels: {"frame": 0, "objects": [{"points": [[x, y, 1],
                [x, y, 0]], "box": [x1, y1, x2, y2]}]} (clicks labelled 1 on the
                object, 0 off it); ids 1, 2... in that order. Empty: the detector
                finds the objects.
            privacy: Hide objects within their masks (blur or pixelate) in the
                video, the preview and the first frame.
            privacy_style: ``"blur"`` (default) or ``"pixelate"``.
            privacy_classes: Comma-separated classes to hide (empty: every object).
            request: Injected by Gradio; identifies the session for the Stop button.

        Yields:
            ``(preview, status, video, masks_json, summary)``: the segmented first
            frame, live frames with a progress line, then the H.264 result, the
            masks JSON (COCO RLE per object and frame) and the run summary.

        Raises:
            gr.Error: Bad video, unknown segmenter, bad query, missing weights,
                too-long video, or a failed run.
        """
        values = locals()  # the request, by parameter name (gradio reads them from the signature)
        yield from self._reporting(
            request, lambda: self._stream(request, self._checked(video, self._builder(values)))
        )

    @takes_request_of(segment)
    def first_frame(self, values: dict[str, Any]) -> np.ndarray:  # noqa: D417 (its Args are the endpoint's)
        """Segment the first frame only: a quick check of the settings.

        Args:
            video: The input video file.
            segmenter: As for ``/segment``.
            queries: As for ``/segment``.
            step: As for ``/segment`` (unused for one frame, checked all the same).
            prompts: As for ``/segment`` (objects picked on frame 0 are segmented).
            request: Injected by Gradio; identifies the session for its status line.
            privacy: Hide objects within their masks, as for ``/segment``.
            privacy_style: ``"blur"`` or ``"pixelate"``.
            privacy_classes: The classes to hide (empty: every object).

        Returns:
            The annotated first frame (RGB).

        Raises:
            gr.Error: As for ``/segment``.
        """
        return self._first_frame(values["request"], values["video"], self._builder(values))


def queries_box_values(segmenter: str | None) -> dict[str, str]:
    """Label and placeholder of the queries box: free text (GSAM2) or COCO classes (YSAM2)."""
    try:
        name = segmenter or field_default(SegmentationConfig, "segmenter")
        grounded = models.spec("segmenter", name).open_vocabulary
    except models.UnknownModelError:
        grounded = True
    if grounded:
        return {"label": "What to find (free text, required)", "placeholder": "person, red car"}
    return {
        "label": "COCO classes to keep (comma-separated; empty keeps all)",
        "placeholder": "person, car",
    }


def _segmenter_changed(segmenter: str | None) -> tuple[gr.Textbox, str]:
    return gr.Textbox(**queries_box_values(segmenter)), model_note("segmenter", segmenter)


def build_segmentation_tab(handlers: SegmentationHandlers, examples: Sequence[Path] = ()) -> None:
    """Add the Segmentation tab to the current ``gr.Tabs`` and wire its events.

    Registers the API endpoints ``/segment`` and ``/first_frame_segment``.

    Its arguments are every tab builder's (:mod:`ui.tabs`).
    """
    offered = handlers.segmenters
    default = field_default(SegmentationConfig, "segmenter")
    initial = default if default in offered else (offered[0] if offered else None)
    with tab_page("Segmentation", "segmentation", INTRO):
        with gr.Column(scale=1):
            video, buttons = video_with_run_buttons("seg-", examples)
            # allow_custom_value: an API client naming a wrong segmenter gets
            # the list of valid ones rather than Gradio's generic message.
            segmenter = gr.Dropdown(
                choices=[
                    (f"{name}: {label}", name)
                    for label, name in model_choices("segmenter", offered)
                ],
                value=initial,
                label="Segmenter",
                info=licences_info("segmenter", offered),
                allow_custom_value=True,
                elem_id="seg-segmenter",
            )
            segmenter_info = gr.Markdown(
                model_note("segmenter", initial), elem_id="seg-segmenter-info"
            )
            queries = gr.Textbox(value="", elem_id="seg-queries", **queries_box_values(initial))
            step = gr.Slider(
                minimum=1,
                maximum=SLIDER_MAX_STEP,
                value=field_default(SegmentationConfig, "step"),
                step=1,
                label="Keyframe step (the detector runs every N frames)",
                elem_id="seg-step",
            )
            prompts = click_picker(video)
            privacy = build_privacy_controls("seg-")
        with gr.Column(scale=1):
            preview, status, result = run_outputs("seg-")
            masks = gr.File(
                label="Masks (JSON, COCO RLE)", interactive=False, elem_id="seg-json"
            )
            summary = run_summary("seg-")

    segmenter.change(
        _segmenter_changed,
        inputs=segmenter,
        outputs=[queries, segmenter_info],
        queue=False,
        api_visibility="private",
    )
    wire_run_buttons(
        buttons,
        handlers,
        inputs=[video, segmenter, queries, step, prompts, *privacy],
        first_frame_api="first_frame_segment",
        run=handlers.segment,
        run_outputs=[preview, status, result, masks, summary],
        run_api="segment",
        status=status,
        stop_api="stop_segment",
    )
