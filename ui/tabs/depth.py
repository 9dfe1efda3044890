"""The Depth tab (Depth Anything V2 over a video) and its ``/depth`` and ``/first_frame_depth`` API.

Example:
    with gr.Blocks() as demo, gr.Tabs():
        build_depth_tab(DepthHandlers())
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

import models
from models.licenses import NON_COMMERCIAL_NOTE, non_commercial
from pipeline.configs import DepthConfig, field_default
from pipeline.request import config_from_fields
from pipeline.runtime.summary import RunSummary
from pipeline.stages.depth_display import COLORMAPS
from ui.endpoints import takes_request_of
from ui.layout import (
    GPU_CONCURRENCY_ID,
    run_outputs,
    run_summary,
    tab_page,
    video_with_run_buttons,
    wire_run_buttons,
)
from ui.model_choices import model_note, weights_note
from ui.streaming import TabHandlers

INTRO = """\
Estimate depth in every frame with **Depth Anything V2**. Colours are *relative
inverse depth*: warm or bright is nearer, cool or dark farther. They are not
metres, and the colour scale is smoothed over time so a still scene keeps its
colours. The first frame's depth appears as soon as a video is loaded.
"""
VIEW_CHOICES = [
    ("Depth only", "depth"),
    ("Side by side", "side_by_side"),
    ("Blended over the frame", "blend"),
]
MODEL = field_default(DepthConfig, "model")

#: ``/depth`` outputs: preview image (RGB), status text, result video path, summary.
DepthOutputs = tuple[np.ndarray | None, str, str | None, dict[str, Any] | None]


def size_choices() -> list[tuple[str, str]]:
    """``(label, size)`` pairs that name each size's licence.

    Example:
        >>> size_choices()[0]
        ('small (Apache-2.0)', 'small')
    """
    spec = models.spec("depth", MODEL)
    choices = []
    for size in spec.sizes:
        license = spec.license_for(size)
        note = f", {NON_COMMERCIAL_NOTE}" if non_commercial(license) else ""
        choices.append((f"{size} ({license}{note})", size))
    return choices


def build_depth_config(
    size: str | None,
    colormap: str | None,
    view: str | None,
    *,
    max_duration_s: float | None,
    **limits: Any,
) -> DepthConfig:
    """A request's values as the run's config; empty values take the config's defaults.

    Args:
        size: ``"small"``, ``"base"`` or ``"large"``; empty for the default.
        colormap: One of :data:`pipeline.stages.depth_display.COLORMAPS`.
        view: ``"depth"``, ``"side_by_side"`` or ``"blend"``.
        max_duration_s: Longer videos are refused.
        **limits: The deployment's other limits on a video, as config fields.

    Returns:
        The frozen config of the run.

    Raises:
        ConfigError: Unknown colormap or view; models.ModelError: unknown size
            (the caller turns both into ``gr.Error``).
    """
    return config_from_fields(
        DepthConfig,
        {"size": size, "colormap": colormap, "view": view},
        max_duration_s=max_duration_s,
        **limits,
    )


def _status_text(summary: RunSummary) -> str:
    model = summary.model
    return (
        f"Done: {summary.frames} frames at {summary.fps:.1f} fps "
        f"({model.get('name', MODEL)} {model.get('size', '')}, {model.get('license', '')}). "
        "Values are relative inverse depth (nearer is larger), not metres."
    )


class DepthHandlers(TabHandlers):
    """The Depth tab's handlers (see :class:`ui.streaming.TabHandlers` for the arguments)."""

    result_files = ("video",)

    def status_text(self, summary: RunSummary) -> str:
        return _status_text(summary)

    def _builder(
        self, size: str | None, colormap: str | None, view: str | None
    ) -> Callable[[dict[str, Any]], DepthConfig]:
        """The config of ``/depth``'s (or ``/first_frame_depth``'s) values."""
        return lambda limits: build_depth_config(size, colormap, view, **limits)

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
        build = self._builder(size, colormap, view)
        yield from self._reporting(
            request, lambda: self._stream(request, self._checked(video, build))
        )

    @takes_request_of(depth)
    def first_frame(self, values: dict[str, Any]) -> np.ndarray:  # noqa: D417 (its Args are the endpoint's)
        """The first frame's depth only: shown as soon as a video is loaded.

        Args:
            video: The input video file.
            size: Model size, as for ``/depth``.
            colormap: Colour table, as for ``/depth``.
            view: View, as for ``/depth``.
            request: Injected by Gradio; identifies the session for its status line.

        Returns:
            The coloured view of the first frame (RGB).

        Raises:
            gr.Error: As for ``/depth``.
        """
        build = self._builder(values["size"], values["colormap"], values["view"])
        return self._first_frame(values["request"], values["video"], build)

    @takes_request_of(depth)
    def first_frame_on_load(self, values: dict[str, Any]) -> tuple[Any, str]:
        """The first frame's depth as soon as a video is chosen, when the weights are here.

        Chosen: uploaded, or picked among the examples (which set the video without
        an upload event). When the weights are not here, the page already says so
        under the size: nothing is tried, and the status line repeats what to do,
        instead of an error. A video removed from the box: nothing.

        Returns:
            ``(preview, status)``.
        """
        if not values["video"]:
            return gr.skip(), gr.skip()
        try:
            missing = weights_note("depth", MODEL, (values["size"] or "").strip() or None)
        except models.UnknownModelError:
            missing = ""  # an unknown size: the run says which are valid
        if missing:
            return gr.skip(), f"{missing} The first frame's depth is not computed."
        return self.first_frame(**values), self.first_frame_shown()


def _size_changed(size: str | None) -> str:
    return model_note("depth", MODEL, size or None)


def build_depth_tab(handlers: DepthHandlers, examples: Sequence[Path] = ()) -> None:
    """Add the Depth tab to the current ``gr.Tabs`` and wire its events.

    Registers the API endpoints ``/depth`` and ``/first_frame_depth``.

    Its arguments are every tab builder's (:mod:`ui.tabs`).
    """
    spec = models.spec("depth", MODEL)
    with tab_page("Depth", "depth", INTRO):
        with gr.Column(scale=1):
            video, buttons = video_with_run_buttons("depth-", examples)
            # allow_custom_value: an API client naming a wrong size gets the
            # list of valid ones rather than Gradio's generic message.
            size = gr.Dropdown(
                choices=size_choices(),
                value=field_default(DepthConfig, "size") or spec.default_size,
                label="Model size (licence)",
                allow_custom_value=True,
                elem_id="depth-size",
            )
            model_info = gr.Markdown(model_note("depth", MODEL), elem_id="depth-licences")
            colormap = gr.Dropdown(
                choices=list(COLORMAPS),
                value=field_default(DepthConfig, "colormap"),
                label="Colormap",
                allow_custom_value=True,
                elem_id="depth-colormap",
            )
            view = gr.Radio(
                choices=VIEW_CHOICES,
                value=field_default(DepthConfig, "view"),
                label="View",
                elem_id="depth-view",
            )
        with gr.Column(scale=1):
            preview, status, result = run_outputs(
                "depth-", preview_label="Depth preview", result_label="Depth video (H.264)"
            )
            summary = run_summary("depth-")

    inputs = [video, size, colormap, view]
    size.change(
        _size_changed, inputs=size, outputs=model_info, queue=False, api_visibility="private"
    )
    wire_run_buttons(
        buttons,
        handlers,
        inputs=inputs,
        first_frame_api="first_frame_depth",
        run=handlers.depth,
        run_outputs=[preview, status, result, summary],
        run_api="depth",
        status=status,
        stop_api="stop_depth",
    )
    # The first frame's depth at once when a video is chosen (after the status is
    # cleared, wired with the buttons); the button (and API) redoes it
    # after the size, colormap or view changed.
    upload = video.change(
        handlers.first_frame_on_load,
        inputs=inputs,
        outputs=[preview, status],
        api_name="first_frame_depth_on_load",
        concurrency_id=GPU_CONCURRENCY_ID,
        api_visibility="private",
    )
    upload.failure(handlers.error_status, outputs=status, queue=False, api_visibility="private")
