"""The components and event wiring every tab shares: upload, buttons, outputs, Run and Stop.

Each tab lays out its own settings between these pieces, in :func:`tab_page`;
element ids take the tab's prefix (``""`` for Detection, ``"depth-"``,
``"seg-"``), which the browser tests rely on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import gradio as gr
import pandas as pd

from pipeline.stages.tracker_registry import DEFAULT_TRACKER, TRACKERS
from ui.counting import preset
from ui.examples import example_captions
from ui.mcp_tools import as_tool

#: Runs and first-frame previews share one concurrency group: both use the devices.
GPU_CONCURRENCY_ID = "gpu"


#: Empties a preview and a status line, in the page (an event's ``js`` with no server call).
CLEAR_JS = "() => [null, '']"


@contextlib.contextmanager
def tab_page(title: str, tab_id: str, intro: str) -> Iterator[gr.Row]:
    """Lay out a tab: ``intro``, then a row for its columns (settings, then outputs).

    Each column keeps its own height: stretched to the taller one, a short
    column would fill with blank space. On a narrow screen (a phone) Gradio
    puts the columns one above the other.

    Args:
        title: The tab's title.
        tab_id: Its id (``gr.Tabs(selected=...)`` and the page's tests use it).
        intro: The Markdown above its columns.

    Yields:
        The row; the block adds its ``gr.Column`` s to it.
    """
    with gr.Tab(title, id=tab_id):
        gr.Markdown(intro)
        with gr.Row(equal_height=False) as row:
            yield row


def scroll_to_js(elem_id: str) -> str:
    """A page script that brings element ``elem_id`` into view when none of it is in view.

    On a one-column page (a phone) a tab's outputs come after all of its
    settings: a press of Run would otherwise seem to do nothing.
    """
    return f"""() => {{
    const target = document.getElementById({elem_id!r});
    if (!target) return;
    const box = target.getBoundingClientRect();
    if (box.top >= window.innerHeight || box.bottom <= 0) target.scrollIntoView({{block: "start"}});
}}"""


@dataclass(frozen=True)
class RunButtons:
    """A tab's First frame, Run and Stop buttons."""

    first_frame: gr.Button
    run: gr.Button
    stop: gr.Button


def video_input(
    prefix: str, examples: Sequence[Path] = (), counting: gr.Textbox | None = None
) -> gr.Video:
    """The upload box, with example videos under it when there are any.

    Args:
        prefix: The tab's element id prefix.
        examples: The example clips.
        counting: The tab's counting lines and zones box (:func:`ui.counting.counting_box`):
            an example then also sets the lines and zones it comes with
            (:func:`ui.counting.preset`; none for a clip without them).
    """
    video = gr.Video(label="Video", sources=["upload"], elem_id=f"{prefix}input-video")
    if examples and counting is not None:
        gr.Examples(
            examples=[[str(path), preset(path)] for path in examples],
            inputs=[video, counting],
            label="Example videos (one with counting lines and zones sets them too)"
            if any(preset(path) for path in examples)
            else "Example videos",
            # Captions (name, length, what to expect) in place of bare thumbnails.
            example_labels=example_captions(examples),
            cache_examples=False,
            visible_columns=[0],  # the clips; their lines and zones show in the editor
        )
    elif examples:
        gr.Examples(
            examples=[[str(path)] for path in examples],
            inputs=[video],
            label="Example videos",
            # Captions (name, length, what to expect) in place of bare thumbnails.
            example_labels=example_captions(examples),
            cache_examples=False,
        )
    return video


def _run_buttons(prefix: str) -> RunButtons:
    """The First frame, Run and Stop buttons, in one row."""
    with gr.Row():
        return RunButtons(
            first_frame=gr.Button("First frame", elem_id=f"{prefix}first-frame-button"),
            run=gr.Button("Run", variant="primary", elem_id=f"{prefix}run-button"),
            stop=gr.Button("Stop", variant="stop", elem_id=f"{prefix}stop-button"),
        )


def video_with_run_buttons(
    prefix: str, examples: Sequence[Path] = (), counting: gr.Textbox | None = None
) -> tuple[gr.Video, RunButtons]:
    """A run tab's upload box (:func:`video_input`), its buttons right under it.

    Right under it: once a video is chosen, Run is in the first screen, on a phone too.
    """
    return video_input(prefix, examples, counting), _run_buttons(prefix)


class RunOutputs(NamedTuple):
    """The top of a run tab's outputs column."""

    preview: gr.Image
    status: gr.Markdown
    result: gr.Video


def run_outputs(
    prefix: str,
    *,
    preview_label: str = "Preview",
    result_label: str = "Result (H.264)",
    status: str = "",
) -> RunOutputs:
    """The preview (first frame, then the frames as they are made), the status line, the video.

    The video plays as soon as it arrives.
    """
    return RunOutputs(
        gr.Image(
            label=preview_label,
            type="numpy",
            format="jpeg",  # Streamed frames: JPEG encodes faster and smaller than WebP.
            interactive=False,
            elem_id=f"{prefix}preview",
        ),
        gr.Markdown(status, label="Status", elem_id=f"{prefix}status"),
        gr.Video(
            label=result_label, interactive=False, autoplay=True, elem_id=f"{prefix}result-video"
        ),
    )


def tracker_dropdown(prefix: str) -> gr.Dropdown:
    """The tracker choice (advanced settings): each tracker of the ``trackers`` package.

    ``allow_custom_value``: an API client may name any tracker; the config then
    answers with the list of valid ones.
    """
    return gr.Dropdown(
        choices=[(spec.description, spec.name) for spec in TRACKERS.values()],
        value=DEFAULT_TRACKER,
        label="Tracker",
        info="Each with defaults tuned on MOT15 sequences (docs/trackers.md).",
        allow_custom_value=True,
        elem_id=f"{prefix}tracker",
    )


def run_summary(prefix: str) -> gr.JSON:
    """The run's summary and its per-stage latency as a bar chart, under "Run details"."""
    with gr.Accordion("Run details", open=False):
        summary = gr.JSON(label="Summary", elem_id=f"{prefix}summary")
        timing = gr.BarPlot(
            x="stage",
            y="ms_per_frame",
            title="Time per frame, by stage (ms)",
            sort=None,
            # Slanted: ten stage names side by side ran into each other.
            x_label_angle=-40,
            height=260,
            elem_id=f"{prefix}timing-plot",
        )
    summary.change(
        stage_latency_plot, inputs=summary, outputs=timing, queue=False, api_visibility="private"
    )
    return summary


def stage_latency_plot(summary: dict[str, Any] | None) -> gr.BarPlot:
    """The per-stage chart's update: the bars in the pipeline's order, not alphabetical.

    The summary lists its stages in the order a frame goes through them;
    ``sort=`` with that list is how a ``gr.BarPlot`` keeps an order of categories.
    """
    frame = stage_latency_frame(summary)
    return gr.BarPlot(value=frame, sort=list(frame["stage"]) or None)


def stage_latency_frame(summary: dict[str, Any] | None) -> pd.DataFrame:
    """A run summary's stage times as ``stage, ms_per_frame`` rows (waiting left out).

    Example:
        >>> summary = {"frames": 10, "timing_s": {"decode": 0.05, "inference": 0.2}}
        >>> stage_latency_frame(summary).to_dict("records")
        [{'stage': 'decode', 'ms_per_frame': 5.0}, {'stage': 'inference', 'ms_per_frame': 20.0}]
    """
    timing = (summary or {}).get("timing_s") or {}
    frames = max(1, (summary or {}).get("frames") or 0)
    rows = [
        {"stage": stage, "ms_per_frame": round(1000 * seconds / frames, 3)}
        for stage, seconds in timing.items()
        if not stage.startswith("wait")
    ]
    return pd.DataFrame(rows, columns=["stage", "ms_per_frame"])


class RunHandlers(Protocol):
    """What :func:`wire_run_buttons` takes of a tab's :class:`ui.streaming.TabHandlers`."""

    def first_frame(self, *args: Any, **kwargs: Any) -> Any:
        """The First frame handler (a tab's own signature: the tab's request)."""

    def stop(self, request: gr.Request | None = None) -> Any:
        """Stop the session's run."""

    def video_problem(self, video: str | None) -> Any:
        """The status once another video is chosen: why it cannot run, or no change."""

    def first_frame_shown(self) -> str:
        """The status after a First frame that worked."""

    def error_status(self, request: gr.Request | None = None) -> str:
        """The status after a First frame or a Run that failed."""


def wire_run_buttons(
    buttons: RunButtons,
    handlers: RunHandlers,
    *,
    inputs: list[gr.components.Component],
    first_frame_api: str,
    run: Callable[..., Any],
    run_outputs: list[gr.components.Component],
    run_api: str,
    status: gr.components.Component,
    stop_api: str | None,
) -> Any:
    """Wire First frame, Run and Stop; both model calls share the GPU concurrency group.

    First frame and Run are public endpoints, and so MCP tools named after
    their API names (:func:`ui.mcp_tools.as_tool`); Stop is private. After
    First frame the status line says what it showed, and after a First frame
    or a Run that failed, why (private events chained on them: ``.success()``
    and ``.failure()``).

    Every tab wires the same handlers' methods (First frame, Stop and the
    status after each), so they come as one ``handlers`` rather than one
    argument each.

    Args:
        buttons: The tab's buttons.
        handlers: The tab's handlers: ``first_frame`` is public as
            ``/{first_frame_api}`` and its result goes to the preview; ``stop``
            (private) stops the session's run, which then shows its partial
            result; ``first_frame_shown`` and ``error_status`` (which gets the
            request) are the status after a First frame that worked and after
            a First frame or a Run that failed.
        inputs: The handlers' inputs, in their order, the input video first:
            choosing another video (an upload, an example) clears the status
            line and the preview, which spoke of the last one, and says why
            the file cannot be run if it cannot (``handlers.video_problem``).
        first_frame_api: The First frame API name.
        run: The Run handler (a generator), public as ``/{run_api}``.
        run_outputs: Its outputs, the preview first.
        run_api: Its API name.
        status: The tab's status line (Stop's answer goes there too).
        stop_api: Stop's API name (None: the function's name).

    Returns:
        The Run event, for more wiring.
    """

    def endpoint(
        button: gr.Button, handler: Callable[..., Any], api_name: str, outputs: Any, **extra: Any
    ) -> Any:
        """A public endpoint of the tab's request (and its MCP tool) that takes the GPU."""
        return button.click(
            as_tool(handler, api_name), inputs=inputs, outputs=outputs, api_name=api_name,
            concurrency_id=GPU_CONCURRENCY_ID, **extra,
        )  # fmt: skip

    preview = run_outputs[0]
    for button in (buttons.first_frame, buttons.run):
        button.click(
            None, js=scroll_to_js(preview.elem_id), queue=False, api_visibility="private"
        )
    # An error or a preview of the last video would stay until the next Run. Cleared in
    # the page itself: a server's answer could arrive after a quick First frame's, and
    # clear what it showed. Only a problem with the file comes from the server.
    inputs[0].change(None, js=CLEAR_JS, outputs=[preview, status], queue=False)
    inputs[0].change(
        handlers.video_problem, inputs=inputs[0], outputs=status, queue=False,
        api_visibility="private",
    )  # fmt: skip
    first_frame_event = endpoint(
        buttons.first_frame, handlers.first_frame, first_frame_api, preview
    )
    # The live preview must stay visible; a full overlay would cover it.
    run_event = endpoint(buttons.run, run, run_api, run_outputs, show_progress="minimal")
    private = {"outputs": status, "queue": False, "api_visibility": "private"}
    first_frame_event.success(handlers.first_frame_shown, **private)
    first_frame_event.failure(handlers.error_status, **private)
    run_event.failure(handlers.error_status, **private)
    # No cancels=: a stopped run ends with its partial result, which the Run
    # handler itself shows.
    buttons.stop.click(
        handlers.stop,
        inputs=None,
        outputs=status,
        queue=False,
        api_name=stop_api,
        api_visibility="private",
    )
    return run_event
