"""Streams a run's events to a tab's outputs; shared by every tab's Run handler."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import numpy as np

from pipeline.events import FirstFrame, Preview, Progress
from ui.outputs import OutputStore, RunOutputs
from ui.render import progress_text, to_rgb
from ui.stops import StopFlags

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
