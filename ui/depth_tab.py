"""The Depth tab (Depth Anything V2 over a video) and its ``/depth`` and ``/first_frame_depth`` API.

Built from the same parts as the Detection tab: one ``DepthConfig`` per request,
the GPU work behind ``spaces.GPU`` (sized from the video's length), per-run
output folders (:mod:`ui.outputs`), the session's stop flags (:mod:`ui.stops`)
and ``gr.Error`` for every mistake (:mod:`ui.errors`).

Example:
    >>> with gr.Blocks() as demo, gr.Tabs():  # doctest: +SKIP
    ...     build_depth_tab()
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import spaces

import models
from pipeline.io.video import probe
from pipeline.runs.depth import DepthConfig, DepthEvent, first_frame_depth
from pipeline.runs.depth import run_depth as pipeline_run_depth
from pipeline.runtime.errors import VideoError
from pipeline.stages.annotation import downscale
from pipeline.stages.depth_display import COLORMAPS
from ui.errors import as_gr_errors, user_error
from ui.gpu import GPU_MAX_S, GPU_MIN_S, LOAD_S, model_fps, relay_events
from ui.layout import (
    GPU_CONCURRENCY_ID,
    preview_image,
    result_video,
    run_buttons,
    run_summary,
    video_input,
    wire_run_buttons,
)
from ui.render import to_rgb
from ui.settings import Settings
from ui.stops import STOP_FLAGS
from ui.streaming import TabHandlers

MODEL = "depth_anything_v2"
DEFAULT_COLORMAP = "turbo"
DEFAULT_VIEW = "side_by_side"
VIEW_CHOICES = [
    ("Depth only", "depth"),
    ("Side by side", "side_by_side"),
    ("Blended over the frame", "blend"),
]
FIRST_FRAME_GPU_S = 30
OUTPUT_NAME = "depth.mp4"

INTRO = """\
Estimate depth in every frame with **Depth Anything V2**. Colours are *relative
inverse depth*: warm or bright is nearer, cool or dark farther. They are not
metres, and the colour scale is smoothed over time so a still scene keeps its
colours. The first frame's depth appears as soon as a video is loaded.
"""

#: ``/depth`` outputs: preview image (RGB), status text, result video path, summary.
DepthOutputs = tuple[np.ndarray | None, str, str | None, dict[str, Any] | None]


def size_choices() -> list[tuple[str, str]]:
    """``(label, size)`` pairs that name each size's licence.

    Example:
        >>> size_choices()[0]
        ('small (Apache-2.0)', 'small')
    """
    spec = models.spec("depth", MODEL)
    licenses: dict[str, str] = spec.extra.get("licenses", {})
    choices = []
    for size in spec.sizes:
        license = licenses.get(size, "see the model card")
        note = ", non-commercial use only" if "NC" in license else ""
        choices.append((f"{size} ({license}{note})", size))
    return choices


def license_note() -> str:
    """One Markdown line stating every size's licence."""
    spec = models.spec("depth", MODEL)
    licenses: dict[str, str] = spec.extra.get("licenses", {})
    parts = [f"**{size}**: {licenses.get(size, '?')}" for size in spec.sizes]
    return (
        "Licences: " + "; ".join(parts) + ". CC-BY-NC-4.0 weights are for non-commercial use only."
    )


def build_depth_config(
    size: str | None,
    colormap: str | None,
    view: str | None,
    *,
    max_duration_s: float | None = None,
    devices: tuple[str, ...] = (),
) -> DepthConfig:
    """Check a request and turn it into the run's config.

    Args:
        size: ``"small"``, ``"base"`` or ``"large"``; empty for the default.
        colormap: One of :data:`pipeline.depth_display.COLORMAPS`; empty for Turbo.
        view: ``"depth"``, ``"side_by_side"`` or ``"blend"``; empty for side by side.
        max_duration_s: Longer videos are refused.
        devices: Devices to run on (empty: all visible GPUs, else the CPU).

    Returns:
        The frozen config of the run.

    Raises:
        gr.Error: Unknown size, colormap or view.
    """
    spec = models.spec("depth", MODEL)
    size = (size or "").strip() or spec.default_size
    if size not in spec.sizes:
        raise user_error(f"{spec.label} has no size {size!r}. Available: {', '.join(spec.sizes)}.")
    with as_gr_errors():
        return DepthConfig(
            model=MODEL,
            size=size,
            colormap=(colormap or "").strip().lower() or DEFAULT_COLORMAP,
            view=(view or "").strip() or DEFAULT_VIEW,
            devices=devices,
            max_duration_s=max_duration_s,
        )


def estimate_gpu_seconds(video: str | Path, config: DepthConfig, *_: object, **__: object) -> int:
    """How long to borrow a GPU for a depth run over ``video``; the ``spaces.GPU`` duration.

    Args:
        video: The input video.
        config: The run's config (size and frame limit).
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
    fps = model_fps("depth", MODEL, config.size)
    return int(min(GPU_MAX_S, max(GPU_MIN_S, math.ceil(LOAD_S + frames / fps))))


@spaces.GPU(duration=estimate_gpu_seconds)
def depth_events(
    video: str,
    config: DepthConfig,
    out_video: str,
    stop_token: str | None = None,
    preview_interval_s: float = 0.2,
) -> Iterator[DepthEvent]:
    """Run depth estimation on the GPU (or CPU), yielding the pipeline's events.

    Args:
        video: Input video file.
        config: The run's config.
        out_video: Where the H.264 depth video goes.
        stop_token: Token of the run's stop flag (:mod:`ui.stops`).
        preview_interval_s: Least time between two previews.

    Yields:
        ``FirstFrame`` (downscaled), ``Progress``, ``Preview``, then ``DepthDone``.
        A stopped run just ends, without ``DepthDone``.

    Raises:
        gr.Error: Bad video, size or weights, or a failed run.
    """
    events = pipeline_run_depth(
        video,
        config,
        out_video=out_video,
        stop=STOP_FLAGS.event(stop_token),
        preview_interval_s=preview_interval_s,
    )
    yield from relay_events(events, config.preview_max_width)


@spaces.GPU(duration=FIRST_FRAME_GPU_S)
def first_frame_depth_image(video: str, config: DepthConfig) -> np.ndarray:
    """The first frame's depth view (BGR, at most ``config.preview_max_width`` wide).

    Raises:
        gr.Error: Bad video, size or weights.
    """
    with as_gr_errors():
        result = first_frame_depth(video, config)
    return downscale(result.image, config.preview_max_width)


def _summary_text(summary: dict[str, Any]) -> str:
    model = summary.get("model", {})
    return (
        f"Done: {summary.get('frames', 0)} frames at {summary.get('fps', 0.0):.1f} fps "
        f"({model.get('name', MODEL)} {model.get('size', '')}, {model.get('license', '')}). "
        "Values are relative inverse depth (nearer is larger), not metres."
    )


class DepthHandlers(TabHandlers):
    """The Depth tab's handlers (see :class:`ui.streaming.TabHandlers` for the arguments)."""

    def _request(
        self, video: str | None, size: str | None, colormap: str | None, view: str | None
    ) -> DepthConfig:
        return self._checked(
            video,
            lambda: build_depth_config(
                size, colormap, view, max_duration_s=self.settings.max_duration_s
            ),
        )

    def depth(
        self,
        video: str | None,
        size: str | None,
        colormap: str | None,
        view: str | None,
        request: gr.Request | None = None,
    ) -> Iterator[DepthOutputs]:
        """Estimate depth over a whole video, streaming coloured frames.

        Args:
            video: The input video file.
            size: ``"small"`` (Apache-2.0), ``"base"`` or ``"large"``
                (CC-BY-NC-4.0, non-commercial); empty for small.
            colormap: ``"turbo"``, ``"viridis"``, ``"cividis"``, ``"inferno"``,
                ``"magma"`` or ``"grayscale"``.
            view: ``"depth"``, ``"side_by_side"`` or ``"blend"``.
            request: Injected by Gradio; identifies the session for the Stop button.

        Yields:
            ``(preview, status, video, summary)``: the first frame's depth, then
            live frames with a progress line, then the H.264 depth video and the
            run summary.

        Raises:
            gr.Error: Bad video, unknown size, colormap or view, missing
                weights, too-long video, or a failed run.
        """
        config = self._request(video, size, colormap, view)
        yield from self._stream(
            request,
            "Loading the model and reading the first frame...",
            start=lambda run, token: depth_events(
                str(video),
                config,
                str(run.folder / OUTPUT_NAME),
                token,
                self.settings.preview_interval_s,
            ),
            finish=lambda done: (
                _summary_text(done.summary),
                str(done.video_path),
                done.summary,
            ),
            result_outputs=2,
        )

    def first_frame(
        self, video: str | None, size: str | None, colormap: str | None, view: str | None
    ) -> np.ndarray:
        """The first frame's depth only: shown as soon as a video is loaded.

        Args:
            video: The input video file.
            size: Model size, as for ``/depth``.
            colormap: Colour table, as for ``/depth``.
            view: View, as for ``/depth``.

        Returns:
            The coloured view of the first frame (RGB).

        Raises:
            gr.Error: As for ``/depth``.
        """
        config = self._request(video, size, colormap, view)
        return to_rgb(first_frame_depth_image(str(video), config))

    def stop(self, request: gr.Request | None = None) -> None:
        """Ask the session's running depth run to stop (the Stop button)."""
        self._stop(request)


def build_depth_tab(
    settings: Settings | None = None,
    *,
    handlers: DepthHandlers | None = None,
    examples: Sequence[Path] = (),
) -> DepthHandlers:
    """Add the Depth tab to the current ``gr.Tabs`` and wire its events.

    Registers the API endpoints ``/depth`` and ``/first_frame_depth``.

    Args:
        settings: Deployment settings; read from the environment when None.
        handlers: The tab's handlers (built from ``settings`` when None).
        examples: Example videos offered under the upload box.

    Returns:
        The handlers, e.g. for tests.
    """
    handlers = handlers or DepthHandlers(settings)
    spec = models.spec("depth", MODEL)
    with gr.Tab("Depth", id="depth"):
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                video = video_input("depth-", examples)
                # allow_custom_value: an API client naming a wrong size gets the
                # list of valid ones rather than Gradio's generic message.
                size = gr.Dropdown(
                    choices=size_choices(),
                    value=spec.default_size,
                    label="Model size (licence)",
                    allow_custom_value=True,
                    elem_id="depth-size",
                )
                gr.Markdown(license_note(), elem_id="depth-licences")
                colormap = gr.Dropdown(
                    choices=list(COLORMAPS),
                    value=DEFAULT_COLORMAP,
                    label="Colormap",
                    allow_custom_value=True,
                    elem_id="depth-colormap",
                )
                view = gr.Radio(
                    choices=VIEW_CHOICES, value=DEFAULT_VIEW, label="View", elem_id="depth-view"
                )
                buttons = run_buttons("depth-")
            with gr.Column(scale=1):
                preview = preview_image("depth-", "Depth preview")
                status = gr.Markdown(elem_id="depth-status")
                result = result_video("depth-", "Depth video (H.264)")
                summary = run_summary("depth-")

    inputs = [video, size, colormap, view]
    # The first frame's depth at once on upload; the button (and API) redoes it
    # after the size, colormap or view changed.
    video.upload(
        handlers.first_frame,
        inputs=inputs,
        outputs=preview,
        api_name="first_frame_depth_on_upload",
        concurrency_id=GPU_CONCURRENCY_ID,
        api_visibility="private",
    )
    wire_run_buttons(
        buttons,
        inputs=inputs,
        preview=preview,
        first_frame=handlers.first_frame,
        first_frame_api="first_frame_depth",
        run=handlers.depth,
        run_outputs=[preview, status, result, summary],
        run_api="depth",
        stop=handlers.stop,
        stop_outputs=None,
        stop_api="stop_depth",
    )
    return handlers
