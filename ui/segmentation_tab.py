"""The Segmentation tab (Grounded SAM 2 / YOLO + SAM 2) and its ``/segment`` API.

Built from the same parts as the Detection and Depth tabs: one
``SegmentationConfig`` per request, the GPU work behind ``spaces.GPU`` (sized
from the video's length), per-run output folders (:mod:`ui.outputs`), the
session's stop flags (:mod:`ui.stops`) and ``gr.Error`` for every mistake
(:mod:`ui.errors`).

Example:
    >>> with gr.Blocks() as demo, gr.Tabs():  # doctest: +SKIP
    ...     build_segmentation_tab()
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import spaces

import models
from models.detectors.base import normalize_queries
from pipeline.io.video import probe
from pipeline.runs.segmentation import (
    DEFAULT_SEGMENTER,
    SegmentationConfig,
    first_frame_segmentation,
    run_segmentation,
)
from pipeline.runtime.errors import VideoError
from pipeline.runtime.events import Event
from pipeline.stages.annotation import downscale
from ui.errors import as_gr_errors, user_error
from ui.gpu import GPU_MAX_S, GPU_MIN_S, LOAD_S, model_fps, relay_events
from ui.layout import (
    preview_image,
    result_video,
    run_buttons,
    run_summary,
    video_input,
    wire_run_buttons,
)
from ui.outputs import OutputStore
from ui.render import to_rgb
from ui.settings import Settings
from ui.stops import STOP_FLAGS, StopFlags
from ui.streaming import TabHandlers

DEFAULT_STEP = 10
MAX_STEP = 300
FIRST_FRAME_GPU_S = 40
OUTPUT_VIDEO = "segments.mp4"
OUTPUT_JSON = "masks.json"

INTRO = """\
Find objects on keyframes and follow their **masks** through the video with
**SAM 2.1**. *GSAM2* models find what you describe in free text (Grounding
DINO); *YSAM2* models find COCO classes (YOLO11). Every *step* frames the
detector looks again: objects already followed keep their id, new ones get the
next id, and objects whose masks vanish are dropped. The JSON holds each
object's box, mask area and mask (COCO run-length encoding) for every frame.
"""

#: ``/segment`` outputs: preview (RGB), status, result video, masks JSON, summary.
SegmentOutputs = tuple[np.ndarray | None, str, str | None, str | None, dict[str, Any] | None]


def segmenter_choices(names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(label, name)`` pairs for the dropdown; test-only models are left out by default."""
    names = models.available("segmenter") if names is None else names
    return [(f"{name}: {models.spec('segmenter', name).label}", name) for name in names]


def build_segmentation_config(
    segmenter: str | None,
    queries: str | None,
    step: float | None,
    *,
    allowed: Sequence[str],
    max_duration_s: float | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SegmentationConfig:
    """Check a request and turn it into the run's config.

    Args:
        segmenter: Registry name, e.g. ``"GSAM2-S"``.
        queries: Comma-separated text (GSAM2, required) or class names (YSAM2).
        step: Frames between keyframes.
        allowed: The segmenters this app offers.
        max_duration_s: Longer videos are refused.
        overrides: Further config fields set by the deployment (or a test).

    Returns:
        The frozen config of the run.

    Raises:
        gr.Error: Unknown segmenter, missing text queries, or a bad step.
    """
    name = (segmenter or "").strip() or DEFAULT_SEGMENTER
    if name not in allowed:
        raise user_error(f"Unknown segmenter {name!r}. Available: {', '.join(allowed)}.")
    spec = models.spec("segmenter", name)
    wanted = normalize_queries(queries)
    overrides = dict(overrides or {})
    if spec.open_vocabulary and not wanted and "detector" not in overrides:
        raise user_error(f"{name} finds what you describe: enter text queries, e.g. 'person, dog'.")
    try:
        step_value = DEFAULT_STEP if step is None else float(step)
    except (TypeError, ValueError):
        raise user_error(f"The step must be a whole number of frames, not {step!r}.") from None
    if not step_value.is_integer() or not 1 <= step_value <= MAX_STEP:
        raise user_error(f"The step must be a whole number from 1 to {MAX_STEP}, not {step}.")
    with as_gr_errors():
        config = SegmentationConfig(
            segmenter=name,
            queries=wanted,
            step=int(step_value),
            max_duration_s=max_duration_s,
        )
        return dataclasses.replace(config, **overrides) if overrides else config


def estimate_gpu_seconds(
    video: str | Path, config: SegmentationConfig, *_: object, **__: object
) -> int:
    """How long to borrow a GPU for a segmentation run; the ``spaces.GPU`` duration.

    Args:
        video: The input video.
        config: The run's config (segmenter and frame limit).
        *_: The GPU function's other arguments, unused.
        **__: Likewise.

    Returns:
        Seconds, between ``ui.gpu.GPU_MIN_S`` and ``ui.gpu.GPU_MAX_S``.
    """
    try:
        info = probe(video)
    except VideoError:
        return GPU_MIN_S  # The run itself will report the bad file.
    frames = info.frames or math.ceil(info.duration_s * info.fps)
    if config.max_frames is not None:
        frames = min(frames, config.max_frames)
    fps = model_fps("segmenter", config.segmenter)
    return int(min(GPU_MAX_S, max(GPU_MIN_S, math.ceil(LOAD_S + frames / fps))))


@spaces.GPU(duration=estimate_gpu_seconds)
def segment_events(
    video: str,
    config: SegmentationConfig,
    out_video: str,
    out_json: str,
    stop_token: str | None = None,
    preview_interval_s: float = 0.2,
) -> Iterator[Event]:
    """Run segmentation on the GPU (or CPU), yielding the pipeline's events.

    Args:
        video: Input video file.
        config: The run's config.
        out_video: Where the annotated H.264 video goes.
        out_json: Where the masks JSON goes.
        stop_token: Token of the run's stop flag (:mod:`ui.stops`).
        preview_interval_s: Least time between two previews.

    Yields:
        ``FirstFrame`` (downscaled, without masks: on ZeroGPU every yield is
        pickled), ``Progress``, ``Preview``, then ``Done``. A stopped run just
        ends, without ``Done``.

    Raises:
        gr.Error: Bad video, model, query or weights, or a failed run.
    """
    events = run_segmentation(
        video,
        config,
        out_video=out_video,
        out_json=out_json,
        stop=STOP_FLAGS.event(stop_token),
        preview_interval_s=preview_interval_s,
    )
    yield from relay_events(events, config.preview_max_width)


@spaces.GPU(duration=FIRST_FRAME_GPU_S)
def first_frame_image(video: str, config: SegmentationConfig) -> np.ndarray:
    """The first frame segmented (BGR, at most ``config.preview_max_width`` wide).

    Raises:
        gr.Error: Bad video, model, query or weights.
    """
    with as_gr_errors():
        result = first_frame_segmentation(video, config)
    return downscale(result.image, config.preview_max_width)


def summary_text(summary: dict[str, Any]) -> str:
    """The short Markdown summary of a finished run.

    Example:
        >>> summary_text({"frames": 40, "tracks": 2, "fps": 9.5,
        ...               "tracks_per_class": {"person": 2}})
        'Done: 40 frames, 2 objects followed (person 2) at 9.5 fps.'
    """
    per_class = ", ".join(
        f"{name} {count}" for name, count in summary.get("tracks_per_class", {}).items()
    )
    objects = summary.get("tracks", 0)
    text = (
        f"Done: {summary.get('frames', 0)} frames, {objects} object{'s' if objects != 1 else ''} "
        f"followed{f' ({per_class})' if per_class else ''} at {summary.get('fps', 0.0):.1f} fps."
    )
    if summary.get("warning"):
        text += f"\n\n**Warning:** {summary['warning']}"
    return text


class SegmentationHandlers(TabHandlers):
    """The Segmentation tab's handlers.

    Args:
        settings: Deployment settings (limits, preview rate); read from the
            environment when None.
        store: Where run outputs go (default: ``settings.output_dir``).
        stops: Registry the Stop button uses to reach running runs.
        segmenters: Segmenters offered (default: every registered one that is
            not test-only).
        config_overrides: Fields set on every run's ``SegmentationConfig``
            (e.g. ``{"devices": ("cuda:1",)}``; tests use it to swap the detector).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        store: OutputStore | None = None,
        stops: StopFlags = STOP_FLAGS,
        *,
        segmenters: Sequence[str] | None = None,
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(settings, store, stops)
        self.segmenters = list(models.available("segmenter") if segmenters is None else segmenters)
        self.config_overrides = dict(config_overrides or {})

    def _request(
        self, video: str | None, segmenter: str | None, queries: str | None, step: float | None
    ) -> SegmentationConfig:
        return self._checked(
            video,
            lambda: build_segmentation_config(
                segmenter,
                queries,
                step,
                allowed=self.segmenters,
                max_duration_s=self.settings.max_duration_s,
                overrides=self.config_overrides,
            ),
        )

    def segment(
        self,
        video: str | None,
        segmenter: str | None,
        queries: str | None,
        step: float | None,
        request: gr.Request | None = None,
    ) -> Iterator[SegmentOutputs]:
        """Segment and follow objects through a video, streaming annotated frames.

        Args:
            video: The input video file.
            segmenter: ``GSAM2-S``, ``GSAM2-B``, ``GSAM2-L`` (free-text queries) or
                ``YSAM2-S``, ``YSAM2-B``, ``YSAM2-L`` (COCO class names).
            queries: Comma-separated text to find (GSAM2, required) or class
                names to keep (YSAM2; empty keeps all).
            step: Frames between keyframes, where the detector looks for objects.
            request: Injected by Gradio; identifies the session for the Stop button.

        Yields:
            ``(preview, status, video, masks_json, summary)``: the segmented first
            frame, live frames with a progress line, then the H.264 result, the
            masks JSON (COCO RLE per object and frame) and the run summary.

        Raises:
            gr.Error: Bad video, unknown segmenter, bad query, missing weights,
                too-long video, or a failed run.
        """
        config = self._request(video, segmenter, queries, step)
        yield from self._stream(
            request,
            "Loading the models and segmenting the first frame...",
            start=lambda run, token: segment_events(
                str(video),
                config,
                str(run.folder / OUTPUT_VIDEO),
                str(run.folder / OUTPUT_JSON),
                token,
                self.settings.preview_interval_s,
            ),
            finish=lambda done: (
                summary_text(done.summary),
                str(done.video_path),
                str(done.tracks_path),
                done.summary,
            ),
            result_outputs=3,
        )

    def first_frame(
        self, video: str | None, segmenter: str | None, queries: str | None, step: float | None
    ) -> np.ndarray:
        """Segment the first frame only: a quick check of the settings.

        Args:
            video: The input video file.
            segmenter: As for ``/segment``.
            queries: As for ``/segment``.
            step: As for ``/segment`` (unused for one frame, checked all the same).

        Returns:
            The annotated first frame (RGB).

        Raises:
            gr.Error: As for ``/segment``.
        """
        config = self._request(video, segmenter, queries, step)
        return to_rgb(first_frame_image(str(video), config))

    def stop(self, request: gr.Request | None = None) -> None:
        """Ask the session's running segmentation to stop (the Stop button)."""
        self._stop(request)


def _queries_hint(segmenter: str | None) -> tuple[str, str]:
    """Label and placeholder of the queries box for ``segmenter``."""
    try:
        grounded = models.spec("segmenter", segmenter or DEFAULT_SEGMENTER).open_vocabulary
    except models.UnknownModelError:
        grounded = True
    if grounded:
        return "What to find (free text, required)", "person, red car"
    return "COCO classes to keep (comma-separated; empty keeps all)", "person, car"


def _segmenter_changed(segmenter: str | None) -> gr.Textbox:
    label, placeholder = _queries_hint(segmenter)
    return gr.Textbox(label=label, placeholder=placeholder)


def build_segmentation_tab(
    settings: Settings | None = None,
    *,
    handlers: SegmentationHandlers | None = None,
    examples: Sequence[Path] = (),
) -> SegmentationHandlers:
    """Add the Segmentation tab to the current ``gr.Tabs`` and wire its events.

    Registers the API endpoints ``/segment`` and ``/first_frame_segment``.

    Args:
        settings: Deployment settings; read from the environment when None.
        handlers: The tab's handlers (built from ``settings`` when None).
        examples: Example videos offered under the upload box.

    Returns:
        The handlers, e.g. for tests.
    """
    handlers = handlers or SegmentationHandlers(settings)
    choices = segmenter_choices(handlers.segmenters)
    default = DEFAULT_SEGMENTER if DEFAULT_SEGMENTER in handlers.segmenters else None
    default = default or (handlers.segmenters[0] if handlers.segmenters else None)
    with gr.Tab("Segmentation", id="segmentation"):
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                video = video_input("seg-", examples)
                # allow_custom_value: an API client naming a wrong segmenter gets
                # the list of valid ones rather than Gradio's generic message.
                segmenter = gr.Dropdown(
                    choices=choices,
                    value=default,
                    label="Segmenter",
                    allow_custom_value=True,
                    elem_id="seg-segmenter",
                )
                label, placeholder = _queries_hint(default)
                queries = gr.Textbox(label=label, placeholder=placeholder, elem_id="seg-queries")
                step = gr.Slider(
                    minimum=1,
                    maximum=60,
                    value=DEFAULT_STEP,
                    step=1,
                    label="Keyframe step (the detector runs every N frames)",
                    elem_id="seg-step",
                )
                buttons = run_buttons("seg-")
            with gr.Column(scale=1):
                preview = preview_image("seg-")
                status = gr.Markdown(elem_id="seg-status")
                result = result_video("seg-")
                masks = gr.File(
                    label="Masks (JSON, COCO RLE)", interactive=False, elem_id="seg-json"
                )
                summary = run_summary("seg-")

    inputs = [video, segmenter, queries, step]
    segmenter.change(
        _segmenter_changed,
        inputs=segmenter,
        outputs=queries,
        queue=False,
        api_visibility="private",
    )
    wire_run_buttons(
        buttons,
        inputs=inputs,
        preview=preview,
        first_frame=handlers.first_frame,
        first_frame_api="first_frame_segment",
        run=handlers.segment,
        run_outputs=[preview, status, result, masks, summary],
        run_api="segment",
        stop=handlers.stop,
        stop_outputs=None,
        stop_api="stop_segment",
    )
    return handlers
