"""Streams a run's events to a tab's outputs; shared by every tab's handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any, Protocol, TypeVar

import gradio as gr
import numpy as np

from pipeline.runtime.events import FirstFrame, Preview, Progress
from pipeline.runtime.template import check_video
from ui.errors import as_gr_errors, user_error
from ui.outputs import OutputStore, RunOutputs
from ui.render import progress_text, to_rgb
from ui.settings import Settings
from ui.stops import STOP_FLAGS, StopFlags


class _LimitedConfig(Protocol):
    @property
    def max_duration_s(self) -> float | None: ...


ConfigT = TypeVar("ConfigT", bound=_LimitedConfig)

STOPPED = "Stopped."


def stream_run(
    store: OutputStore,
    stops: StopFlags,
    session: str | None,
    start: Callable[[RunOutputs, str], Iterator[Any]],
    finish: Callable[[Any], tuple[Any, ...]],
    result_outputs: int,
) -> Iterator[tuple[Any, ...]]:
    """Run in a fresh output folder and turn its events into component values.

    Args:
        store: Where the run's folder is made; it is kept when the run
            finishes and removed when it fails or is stopped.
        stops: The Stop buttons' registry; the run is registered for ``session``.
        session: The browser session (None for direct calls).
        start: ``start(run_folder, stop_token)`` returns the run's events.
        finish: Turns the final event (the one with a ``summary``) into the
            values after the preview: ``(status, *results)``.
        result_outputs: How many values follow the status (None until the end).

    Yields:
        ``(preview RGB, status, *results)``: live frames with a progress line,
        then the results; ``"Stopped."`` when the events end without a result.
    """
    pending = (None,) * result_outputs
    run = store.new_run()
    finished = False
    image: np.ndarray | None = None
    status = "Processing..."
    try:
        with stops.run(session) as token:
            events = start(run, token)
            # closing(): a Stop or a disconnect closes this generator at a yield;
            # stop the pipeline at once instead of at garbage collection.
            with closing(events):
                for event in events:
                    if isinstance(event, Progress):
                        status = progress_text(event)
                    elif isinstance(event, FirstFrame | Preview):
                        image = to_rgb(event.image)
                        yield (image, status, *pending)
                    elif hasattr(event, "summary"):
                        store.finish(run)
                        finished = True
                        yield (image, *finish(event))
                        return
        yield (image, STOPPED, *pending)
    finally:
        if not finished:
            store.discard(run)


class TabHandlers:
    """What every tab's handlers share: settings, the output store and the Stop registry.

    Subclasses add the tab's own handlers (its run, first frame and Stop), each
    built from :meth:`_checked`, :meth:`_stream` and :meth:`_stop`.

    Args:
        settings: Deployment settings (limits, preview rate); read from the
            environment when None.
        store: Where run outputs go (default: ``settings.output_dir``).
        stops: Registry the Stop button uses to reach running runs.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        store: OutputStore | None = None,
        stops: StopFlags = STOP_FLAGS,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.store = store or OutputStore(self.settings.output_dir, self.settings.output_max_age_s)
        self.stops = stops

    def _checked(self, video: str | None, build_config: Callable[[], ConfigT]) -> ConfigT:
        """A request's config, once a video was given and it is readable within the limits.

        Raises:
            gr.Error: No video, a bad setting (from ``build_config``), or an
                unreadable or too-long video.
        """
        if not video:
            raise user_error("Upload a video first.")
        config = build_config()
        with as_gr_errors():
            check_video(video, config.max_duration_s)
        return config

    def _stream(
        self,
        request: gr.Request | None,
        loading: str,
        start: Callable[[RunOutputs, str], Iterator[Any]],
        finish: Callable[[Any], tuple[Any, ...]],
        result_outputs: int,
    ) -> Iterator[tuple[Any, ...]]:
        """``loading`` as the status at once, then :func:`stream_run` for the request's session."""
        yield (None, loading, *(None,) * result_outputs)
        session = request.session_hash if request is not None else None
        yield from stream_run(self.store, self.stops, session, start, finish, result_outputs)

    def _stop(self, request: gr.Request | None) -> int:
        """Stop the request's session's runs; returns how many were running."""
        return self.stops.stop(request.session_hash if request is not None else None)
