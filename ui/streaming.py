"""What every tab's handlers share: checking a request, streaming a run, the first frame, Stop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any, ClassVar, TypeVar

import gradio as gr
import numpy as np

from pipeline.configs import RunConfig
from pipeline.runtime.events import Done, FirstFrame, Preview, Progress
from pipeline.runtime.template import check_video
from ui import gpu
from ui.errors import as_gr_errors, user_error
from ui.outputs import OutputStore
from ui.render import progress_text, to_rgb
from ui.settings import Settings
from ui.stops import STOP_FLAGS, StopFlags

ConfigT = TypeVar("ConfigT", bound=RunConfig)

STOPPED = "Stopped."


class TabHandlers:
    """The parts of a tab's handlers that are the same for every task.

    A tab subclasses it, names its task, the files it shows after the status
    and its status text, and writes its handlers (whose signatures and
    docstrings are its public API) from :meth:`_checked`, :meth:`_stream`,
    :meth:`_first_frame` and :meth:`stop`.

    Args:
        settings: Deployment settings (limits, preview rate); read from the
            environment when None.
        store: Where run outputs go (default: ``settings.output_dir``).
        stops: Registry the Stop button uses to reach running runs.

    Attributes:
        task: The task the tab runs.
        loading: The status shown while the models load.
        result_files: The run's outputs shown after the status, in order.
    """

    task: ClassVar[str]
    loading: ClassVar[str] = "Loading the model and reading the first frame..."
    result_files: ClassVar[tuple[str, ...]] = ("video",)

    def __init__(
        self,
        settings: Settings | None = None,
        store: OutputStore | None = None,
        stops: StopFlags = STOP_FLAGS,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.store = store or OutputStore(self.settings.output_dir, self.settings.output_max_age_s)
        self.stops = stops

    def status_text(self, summary: dict[str, Any]) -> str:
        """The Markdown status of a finished run."""
        raise NotImplementedError

    def _checked(self, video: str | None, build_config: Callable[[], ConfigT]) -> ConfigT:
        """A request's config, once a video was given and it is readable within the limits.

        Raises:
            gr.Error: No video, a bad setting (from ``build_config``), or an
                unreadable or too-long video.
        """
        if not video:
            raise user_error("Upload a video first.")
        with as_gr_errors():
            config = build_config()
            check_video(video, config.max_duration_s)
        return config

    def _stream(
        self, request: gr.Request | None, video: str, config: RunConfig
    ) -> Iterator[tuple[Any, ...]]:
        """Run in a fresh output folder and turn its events into the tab's output values.

        The folder is kept when the run finishes and removed when it fails or
        is stopped.

        Yields:
            ``(preview RGB, status, *result files, summary)``: the loading
            status, live frames with a progress line, then the results;
            ``"Stopped."`` when the events end without a result.
        """
        pending = (None,) * (len(self.result_files) + 1)
        yield (None, self.loading, *pending)
        session = request.session_hash if request is not None else None
        run = self.store.new_run()
        finished = False
        image: np.ndarray | None = None
        status = "Processing..."
        try:
            with self.stops.run(session) as token:
                events = gpu.run_events(
                    str(video), config, run.paths(self.task), token,
                    self.settings.preview_interval_s,
                )  # fmt: skip
                # closing(): a Stop or a disconnect closes this generator at a yield;
                # stop the pipeline at once instead of at garbage collection.
                with closing(events):
                    for event in events:
                        if isinstance(event, Progress):
                            status = progress_text(event)
                        elif isinstance(event, FirstFrame | Preview):
                            image = to_rgb(event.image)
                            yield (image, status, *pending)
                        elif isinstance(event, Done):
                            self.store.finish(run)
                            finished = True
                            files = [str(event.outputs[name]) for name in self.result_files]
                            yield (image, self.status_text(event.summary), *files, event.summary)
                            return
            yield (image, STOPPED, *pending)
        finally:
            if not finished:
                self.store.discard(run)

    def _first_frame(self, video: str, config: RunConfig) -> np.ndarray:
        """The first frame as the run would show it (RGB)."""
        return to_rgb(gpu.first_frame_image(str(video), config))

    def stop(self, request: gr.Request | None = None) -> str | dict[str, Any]:
        """Ask the session's running run to stop (the Stop button).

        Args:
            request: Injected by Gradio; identifies the session.

        Returns:
            The new status text, or ``gr.skip()`` when nothing was running. The
            cancelled run cannot say it itself: its later outputs are dropped.
        """
        if self.stops.stop(request.session_hash if request is not None else None):
            return STOPPED
        return gr.skip()
