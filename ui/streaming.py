"""What every tab's handlers share: checking a request, running it as a job, the first frame, Stop.

A tab's run is a job of the app's job store (:mod:`ui.jobs`): it waits for a
device in the same queue as the REST API's jobs, its files live in the job's
folder, and its id (in the summary) lets a caller whose connection dropped
fetch the result over REST while it lives.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

import cv2
import gradio as gr
import numpy as np

from pipeline.configs import RunConfig
from pipeline.errors import PipelineError, RunStopped
from pipeline.io.video import VideoInfo
from pipeline.jobs import Executor, Job, JobStore, QueueFull, UnknownJob, Waiting
from pipeline.runs import check_input
from pipeline.runtime.events import Done, Downloading, Event, FirstFrame, Preview, Progress
from pipeline.runtime.summary import RunSummary
from pipeline.runtime.template import check_video
from ui import gpu
from ui.clients import client_key
from ui.errors import as_gr_errors, error_status, to_gr_error, user_error
from ui.jobs import job_store
from ui.render import progress_text, to_rgb
from ui.settings import Settings
from ui.stops import STOP_FLAGS, StopFlags

ConfigT = TypeVar("ConfigT", bound=RunConfig)

STOPPED = "Stopped."
STOPPING = "Stopping: the frames processed so far are being kept..."
FIRST_FRAME_SHOWN = "First frame shown in the preview. Press **Run** to process the whole video."
#: Sessions whose last error is kept for the status line (older ones are forgotten).
KEPT_ERRORS = 256
#: The status while every place in the queue is taken by others' jobs.
QUEUE_FULL_WAIT = "The queue is full: waiting for a place in it..."


def stopped_text(summary: RunSummary, done_text: str) -> str:
    """The status of a stopped run: how far it got, that its result is partial, then the rest.

    ``done_text`` is the finished run's status (:meth:`TabHandlers.status_text`);
    its ``"Done: N frames"`` opening would contradict the stop, so it is left out.

    Example:
        >>> summary = RunSummary(frames=30, fps=10.0, seconds=3.0, video={}, devices=["cpu"],
        ...                      timing_s={}, model={}, licenses=[], partial=True)
        >>> print(stopped_text(summary, "Done: 30 frames, 2 tracks."))
        **Stopped** after 30 frames: the result below is partial. 2 tracks.
    """
    if not summary.frames:
        return "**Stopped** before any frame was processed."
    # A run ZeroGPU stopped (the quota ran out between two calls) says so.
    why = f" {summary.stopped_because}" if summary.stopped_because else ""
    rest = done_text
    opening = f"Done: {summary.frames} frames"
    if rest.startswith(opening):
        rest = rest[len(opening) :].lstrip(",. ")
        rest = rest[:1].upper() + rest[1:]
    rest = f" {rest}" if rest and not rest.startswith("\n") else rest
    return f"**Stopped** after {summary.frames} frames: the result below is partial.{why}{rest}"


class Checked(NamedTuple, Generic[ConfigT]):
    """A tab's request checked before its job queues: the config, and its video as probed."""

    config: ConfigT
    info: VideoInfo


class TabHandlers:
    """The parts of a tab's handlers that are the same for every task.

    A tab subclasses it, names the files it shows after the status and its
    status text (its task is its config's), and writes its handlers (whose
    signatures and docstrings are its public API) from :meth:`_config`,
    :meth:`_checked`, :meth:`_stream`, :meth:`_first_frame` and :meth:`stop`.

    Args:
        settings: Deployment settings (limits, preview rate); read from the
            environment when None.
        jobs: The job store runs go into (default: the app's, for ``settings``).
        stops: Registry the Stop button uses to reach running runs.

    Attributes:
        loading: The status shown while the models load.
        result_files: The run's outputs shown after the status, in order; a
            tuple of names is one multiple-file output.
    """

    loading: ClassVar[str] = "Loading the model and reading the first frame..."
    result_files: ClassVar[tuple[str | tuple[str, ...], ...]] = ("video",)

    def __init__(
        self,
        settings: Settings | None = None,
        jobs: JobStore | None = None,
        stops: StopFlags = STOP_FLAGS,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.jobs = jobs or job_store(self.settings)
        self.stops = stops
        self._errors: OrderedDict[str, str] = OrderedDict()

    def status_text(self, summary: RunSummary) -> str:
        """The Markdown status of a finished run."""
        raise NotImplementedError

    def _config(
        self, video: str | None, build_config: Callable[[dict[str, Any]], ConfigT]
    ) -> ConfigT:
        """A request's config within the deployment's limits, once a video was given.

        Args:
            video: The request's video.
            build_config: The config from the deployment's limits (as config fields).

        Raises:
            gr.Error: No video, or a bad setting (from ``build_config``).
        """
        if not video:
            raise user_error("Upload a video first.")
        with as_gr_errors():
            config = build_config(self.settings.run_limits)
        self._check_texts(config)
        return config

    def _checked(
        self, video: str | None, build_config: Callable[[dict[str, Any]], ConfigT]
    ) -> Checked[ConfigT]:
        """:meth:`_config`, and the video probed and checked against it, before the job queues.

        The run takes the probed video as it is (:func:`pipeline.start`'s
        ``probed``): the video is checked once, here, where its message comes
        before any wait in the queue.

        Raises:
            gr.Error: As :meth:`_config`; an unreadable or too-long video, or
                settings that do not fit it (a counting line outside its frame).
        """
        config = self._config(video, build_config)
        with as_gr_errors():
            info = check_input(str(video), config)
        return Checked(config, info)

    def _check_texts(self, config: RunConfig) -> None:
        """Hold ``queries`` and ``privacy_classes`` to ``max_query_chars``, as REST does.

        A ``gradio_client`` script is as free as a REST client to send a
        megabyte of class names; read as the config keeps them (one each).

        Raises:
            gr.Error: Naming the field and its limit, not its value.
        """
        most = self.settings.max_query_chars
        for name in ("queries", "privacy_classes"):
            values = getattr(config, name, ())
            length = len(", ".join(values))
            if length > most:
                raise user_error(f"{name} is {length} characters long; the limit is {most}.")

    def _reporting(
        self, request: gr.Request | None, run: Callable[[], Iterator[tuple[Any, ...]]]
    ) -> Iterator[tuple[Any, ...]]:
        """``run()``'s updates; an error is kept for the session's status line, then raised.

        The page's Run event has a ``.failure()`` listener that puts it in the
        status line (:meth:`error_status`), which otherwise would keep its last
        text ("Loading...") beside the outputs' error badges.

        Raises:
            gr.Error: What ``run`` raised, as the user sees it.
        """
        try:
            yield from run()
        except RunStopped:
            raise
        except Exception as exc:
            raise self._remember(request, exc) from exc

    def _remember(self, request: gr.Request | None, exc: BaseException) -> gr.Error:
        """``exc`` as the user sees it, kept for the session's status line.

        :meth:`error_status` hands it over once.
        """
        error = to_gr_error(exc)
        session = request.session_hash if request is not None else None
        if session:
            self._errors[session] = error_status(error)
            self._errors.move_to_end(session)
            while len(self._errors) > KEPT_ERRORS:
                self._errors.popitem(last=False)
        return error

    def error_status(self, request: gr.Request | None = None) -> str:
        """The status line after a failed Run or First frame: the session's last error.

        Args:
            request: Injected by Gradio; identifies the session.
        """
        session = request.session_hash if request is not None else None
        kept = self._errors.pop(session, None) if session else None
        return kept or error_status(None)

    def first_frame_shown(self) -> str:
        """The status line after First frame: what to do next."""
        return FIRST_FRAME_SHOWN

    def video_problem(self, video: str | None) -> Any:
        """The status line once another video is chosen (an upload, an example), if it has one.

        The upload box takes any file, so one that is no readable video, or is past
        the deployment's limits, is said now rather than at Run (its header only is
        read). A good file changes nothing here: the page has cleared the status
        itself (:data:`ui.layout.CLEAR_JS`), and a First frame may already have
        written it.

        Returns:
            The status, or ``gr.skip()``.
        """
        if video:
            try:
                check_video(video, self.settings.video_limits)
            except PipelineError as exc:
                return error_status(user_error(str(exc)))
        return gr.skip()

    def _stream(self, request: gr.Request | None, checked: Checked) -> Iterator[tuple[Any, ...]]:
        """Run the request as a job and turn its events into the tab's output values.

        Yields:
            ``(preview RGB, status, *result files, summary)``: the loading
            status (or the queue position while it waits for a device), live
            frames with a progress line, then the results, partial after Stop.

        Raises:
            gr.Error: The queue is full, or the run failed.
        """
        pending = (None,) * (len(self.result_files) + 1)
        yield (None, self.loading, *pending)
        client = self._client(request)
        while True:
            try:
                job = self.jobs.create(
                    checked.config, source="app", video=checked.info.path, client=client
                )
                break
            except QueueFull as exc:
                if exc.client_over_share:  # this client's own jobs fill its share
                    raise user_error(str(exc)) from None
            # Full with others' jobs: wait in line (a yield now and then, so that a
            # page closed meanwhile ends the wait) rather than refuse.
            yield (None, QUEUE_FULL_WAIT, *pending)
            self.jobs.wait_for_room(timeout=1.0)
        yield from self._run(request, job, checked.info)

    def _client(self, request: gr.Request | None) -> str | None:
        """Who the page's (or ``gradio_client``'s) request comes from, for its share of the queue.

        None when the request says nothing of it (a direct call, without a connection).
        """
        headers = getattr(request, "headers", None)
        peer = getattr(getattr(request, "client", None), "host", None)
        if headers is None and peer is None:
            return None
        return client_key(headers or {}, peer, self.settings)

    def _run(
        self, request: gr.Request | None, job: Job, probed: VideoInfo
    ) -> Iterator[tuple[Any, ...]]:
        """The job executed by the store with the GPU wrapper, as the tab's output values."""
        pending = (None,) * (len(self.result_files) + 1)
        previews = PreviewFiles(job.folder / PREVIEWS_FOLDER)
        image: str | None = None
        status = "Processing..."
        events = self.jobs.execute(job, self._executor(request, probed), beat_s=1.0)
        with contextlib.closing(previews), contextlib.closing(events):
            try:
                for event in events:
                    if isinstance(event, Waiting):
                        status = f"Waiting for a device: {event.position} in the queue."
                        yield (None, status, *pending)
                    elif isinstance(event, Downloading):
                        yield (image, f"{event.text()}...", *pending)
                    elif isinstance(event, Progress):
                        # The job's id, so that a caller who loses the connection
                        # can still fetch the result over REST.
                        status = f"{progress_text(event)} (job {job.id})"
                    elif isinstance(event, FirstFrame | Preview):
                        image = previews.save(event.image)
                        yield (image, status, *pending)
                    elif isinstance(event, Done):
                        yield (image, *self._results(job, event))
                        return
            except GeneratorExit:
                # The caller went away (gradio_client's cancel, a closed tab): a
                # waiting job leaves the queue, a running one stops and finishes its
                # partial result, recorded in the job.
                try:
                    self.jobs.stop(job.id)
                except UnknownJob:  # deleted over REST meanwhile: stop its run all the same
                    job.request_stop()
                # Not at the interpreter's exit (a generator collected then): no thread
                # can start any more, and the run would wait for its threads for ever.
                if not sys.is_finalizing():
                    with contextlib.suppress(Exception):
                        for _ in events:
                            pass
                raise
        # Cancelled while it waited, or stopped before it had a result.
        yield (image, STOPPED, *pending)

    def _executor(self, request: gr.Request | None, probed: VideoInfo) -> Executor:
        """Runs a tab's job with the app's GPU wrapper; its session's Stop reaches it meanwhile.

        ``probed`` is the job's video as :meth:`_checked` found it: the run does not probe it again.
        """
        session = request.session_hash if request is not None else None

        def execute(job: Job) -> Iterator[Event]:
            with self.stops.run(session, job) as token:
                yield from gpu.run_events(
                    str(job.video), job.config, job.outputs, token,
                    self.settings.preview_interval_s,
                    gpu.frames_per_call(job.config, self.settings.gpu_frames_per_call),
                    probed=probed,
                )  # fmt: skip

        return execute

    def _results(self, job: Job, done: Done) -> tuple[Any, ...]:
        """``(status, *result files, summary)`` of a run that ended with a result."""
        summary = job.summary or done.summary
        status = self.status_text(summary)
        if summary.partial:
            status = stopped_text(summary, status)
        # gr.JSON shows (and gradio_client receives) the summary's JSON.
        result_files = (_paths(done, names) for names in self.result_files)
        return (status, *result_files, summary.to_dict())

    def _first_frame(
        self,
        request: gr.Request | None,
        video: str | None,
        build_config: Callable[[dict[str, Any]], RunConfig],
    ) -> np.ndarray:
        """The first frame as the run would show it (RGB).

        The video is checked (:meth:`_checked`) before any weights are fetched,
        and the first frame takes that probe.

        Raises:
            gr.Error: A bad request, video or model (also kept for the
                session's status line, :meth:`error_status`).
        """
        try:
            config, info = self._checked(video, build_config)
            return to_rgb(gpu.first_frame_image(str(video), config, probed=info))
        except Exception as exc:
            raise self._remember(request, exc) from exc

    def stop(self, request: gr.Request | None = None) -> str | dict[str, Any]:
        """Ask the session's running run to stop (the Stop button).

        The run ends with what it has done so far, which its own handler then
        shows (the partial video, the files and the summary).

        Args:
            request: Injected by Gradio; identifies the session.

        Returns:
            The new status text, or ``gr.skip()`` when nothing was running.
        """
        if self.stops.stop(request.session_hash if request is not None else None):
            return STOPPING
        return gr.skip()


def _paths(done: Done, names: str | tuple[str, ...]) -> str | list[str] | None:
    """A result output's value: the file's path, or the paths of a group of files."""
    if isinstance(names, str):
        return str(done.outputs[names]) if names in done.outputs else None
    return [str(done.outputs[name]) for name in names if name in done.outputs] or None


#: Where a tab's run keeps its preview frames, inside its job's folder, while it runs.
PREVIEWS_FOLDER = "previews"
#: JPEG quality of the preview frames.
PREVIEW_JPEG_QUALITY = 85


class PreviewFiles:
    """Each preview frame of a tab's run as a JPEG file of its own, yielded by path.

    A frame yielded as pixels is written by Gradio into its cache at a path
    made from its content, rewritten in place when the same frame is yielded
    again (the run's last preview, repeated with its result), while the page
    may still be loading it: the page then gets a cut file. A file yielded by
    path is copied into the cache under a temporary name and renamed, and a
    copy already there is reused. Each frame's file is removed once the next
    is written (Gradio has copied it by then), and the folder at the end.

    Args:
        folder: Where the frames go (created at the first).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self._last: Path | None = None

    def save(self, image_bgr: np.ndarray) -> str:
        """Write one preview frame; returns its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:06d}.jpg"
        self.count += 1
        cv2.imwrite(str(path), image_bgr, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_JPEG_QUALITY])
        previous, self._last = self._last, path
        if previous is not None:
            previous.unlink(missing_ok=True)
        return str(path)

    def close(self) -> None:
        """Remove the frames' folder."""
        shutil.rmtree(self.folder, ignore_errors=True)
