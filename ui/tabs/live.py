"""The Live tab: the browser's webcam, detected, tracked and counted as it streams.

The webcam streams into :meth:`LiveHandlers.frame`, one call per frame. The
page sends a frame only once the previous one has come back, so a model
slower than the camera skips frames, never queues them. Each browser tab has
its own :class:`~ui.live.LiveSession` (in a ``gr.State``): its own tracker,
counts and recording. A session ends at **Stop**, at the time limit, or when
its page is closed; a recording is then finished and offered for download.

Example:
    with gr.Blocks() as demo, gr.Tabs():
        build_live_tab(LiveHandlers())
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
import numpy as np

import models
from pipeline.configs import DetectionConfig
from pipeline.jobs import JobStore
from ui import counting as drawing
from ui.errors import as_gr_errors
from ui.jobs import job_store
from ui.layout import scroll_to_js, tab_page, tracker_dropdown
from ui.live import LiveSession
from ui.model_choices import model_note
from ui.render import summary_text
from ui.settings import Settings
from ui.tabs.detection import (
    build_detection_config,
    confidence_slider,
    detector_dropdown,
    queries_box_values,
    stride_dropdown,
)

#: What ``auto`` does on a webcam, for the stride dropdown.
AUTO_KEEPS_UP = "auto: the least K that keeps up with the camera, from measured times."

INTRO = """\
Press **Start** (the browser asks to use your camera the first time): the
annotated frames appear beside the camera (below it on a phone) as fast as this
machine processes them; frames that arrive while one is being processed are
skipped, never queued.
**Stop** ends the session. To keep it, tick **Save a recording** before Start:
its H.264 video, tracks and tables are offered at Stop. Each browser tab has
its own tracker (ids from 1) and its own counts. Settings apply at Start.
"""
IDLE = "Press **Start** to begin."
#: After Stop, frames for this long are ones sent before it, not a new start.
STOP_GRACE_S = 1.5
#: What a session records, in the order the page shows it.
RECORDED = ("video", "tracks", ("tracks_csv", "objects_csv"))

#: The status when Draw is pressed with no camera running.
NO_FRAME_TO_DRAW_ON = "Start the camera first: lines and zones are drawn on its current frame."

#: Starts the stream with the webcam's own buttons (hidden by :data:`CAMERA_CSS`):
#: the camera access first, then the capture button once it is there. Its answer
#: is the status line's: a camera that cannot start (none on the device, or not
#: allowed) fails in the browser alone, and would otherwise leave Start doing nothing.
START_CAMERA_JS = """async () => {
    const root = document.querySelector('#live-camera');
    if (!root) return "";
    if (!navigator.mediaDevices?.getUserMedia) {
        return "The camera could not start: this browser gives a page a camera only "
            + "over https (or on localhost).";
    }
    try {
        const probe = await navigator.mediaDevices.getUserMedia({video: true});
        probe.getTracks().forEach((track) => track.stop());
    } catch (error) {
        return `The camera could not start (${error.message || error.name}): check that `
            + "this device has one and that the browser may use it.";
    }
    const find = () => root.querySelector('button.capture-button');
    if (!find()) {
        const access = [...root.querySelectorAll('button')].find(
            (b) => b.textContent.includes('Access Webcam'));
        if (access) access.click();
    }
    for (let waited = 0; !find() && waited < 15000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const capture = find();
    if (!capture) return "The camera did not start: press Start again.";
    if (!capture.querySelector('[title="stop recording"]')) capture.click();
    return "Starting the camera...";  // the first frame's status replaces it
}"""

#: Ends the stream with the webcam's own button, then frees the camera.
STOP_CAMERA_JS = """() => {
    const root = document.querySelector('#live-camera');
    if (!root) return;
    const streaming = root.querySelector('button.capture-button [title="stop recording"]');
    if (streaming) streaming.closest('button').click();
    for (const video of root.querySelectorAll('video')) {
        const stream = video.srcObject;
        if (stream) stream.getTracks().forEach((track) => track.stop());
        video.srcObject = null;
    }
}"""

#: The webcam's own record/stop button is hidden: the tab's Start and Stop drive it, so
#: the page has one Start and one Stop (``Blocks(css=...)`` carries it, see ui/app.py).
CAMERA_CSS = "#live-camera button.capture-button { display: none !important; }"


class LiveHandlers:
    """The Live tab's handlers.

    Args:
        settings: Deployment settings (time limit...); read from the environment when None.
        jobs: Where recordings go (default: the app's job store).
    """

    def __init__(self, settings: Settings | None = None, jobs: JobStore | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.jobs = jobs or job_store(self.settings)

    def frame(
        self,
        image: np.ndarray | None,
        detector: str | None,
        queries: str | None,
        confidence: float | None,
        counting: str | None,
        record: bool | None,
        session: LiveSession | Stopped | None,
        tracker: str | None = None,
        detect_every: str | None = None,
    ) -> tuple[Any, str, LiveSession | Stopped | None]:
        """One webcam frame: start the session at the first, then detect, track and count.

        Returns:
            ``(annotated frame, status, session)``.

        Raises:
            gr.Error: A bad detector, query, line or zone, or a failed model.
        """
        if image is None or isinstance(session, Stopped) and session.recent:
            return gr.skip(), gr.skip(), session  # frames still on their way at Stop
        if isinstance(session, Stopped):
            session = None
        if session is not None and session.ended is not None:
            # Ended at the time limit: nothing more until Stop hands over its result.
            return gr.skip(), self._ended_text(session), session
        with as_gr_errors():
            if session is None:
                config = self._config(
                    detector, queries, confidence, counting, tracker, detect_every
                )
                height, width = image.shape[:2]
                session = LiveSession(
                    config, width, height, jobs=self.jobs if record else None,
                    fps=1.0 / self.settings.live_frame_interval_s,
                )  # fmt: skip
            if session.elapsed_s >= self.settings.live_time_limit_s:
                session.finish(f"Time limit ({self.settings.live_time_limit_s:g} s) reached.")
                return gr.skip(), self._ended_text(session), session
            try:
                shown = session.process(image)
            except BaseException:
                session.finish("Failed.")
                raise
        if shown is None:  # stopped meanwhile: Stop has set the state and the status
            return gr.skip(), gr.skip(), gr.skip()
        return shown, session.status_text(), session

    def _config(
        self,
        detector: str | None,
        queries: str | None,
        confidence: float | None,
        counting: str | None,
        tracker: str | None,
        detect_every: str | None = None,
    ) -> DetectionConfig:
        return build_detection_config(
            detector, None, queries, confidence, max_duration_s=None, counting=counting,
            tracker=tracker, detect_every=detect_every,
        )  # fmt: skip

    def _ended_text(self, session: LiveSession) -> str:
        return f"**{session.ended}** Press **Stop** for the result."

    def stop(self, session: LiveSession | Stopped | None) -> tuple[Any, ...]:
        """**Stop**: end the session; hand over its summary and recording.

        Returns:
            ``(status, video, tracks, tables, summary, session)``; the session
            becomes :class:`Stopped`, so the next start begins a new one.
        """
        if not isinstance(session, LiveSession):
            return (IDLE, None, None, None, None, session)
        summary = session.finish("Stopped.")
        outputs = session.job.outputs if session.job is not None else {}
        files = [_paths(outputs, names) for names in RECORDED]
        # Not "Done:": the session was stopped, the summary says how far it got.
        status = f"**{session.ended}** " + summary_text(summary).removeprefix("Done: ")
        return (status, *files, summary.to_dict(), Stopped())

    def snapshot(self, session: LiveSession | Stopped | None) -> tuple[Any, Any]:
        """**Draw on the current frame**: the camera's latest frame, for the counting editor.

        Returns:
            ``(frame, status)``: the frame and no new status, or, with no camera
            running, no frame and the status saying to start it (in the status line:
            a ``gr.Warning`` of an unqueued event never reaches the page).
        """
        if not isinstance(session, LiveSession) or session.last_frame is None:
            return gr.skip(), NO_FRAME_TO_DRAW_ON
        return session.last_frame, gr.skip()


@dataclass(frozen=True)
class Stopped:
    """A session just stopped: frames already on their way are not a new start."""

    at: float = field(default_factory=time.monotonic)

    @property
    def recent(self) -> bool:
        """Whether frames from before the stop may still arrive."""
        return time.monotonic() - self.at < STOP_GRACE_S


def _paths(outputs: dict, names: str | tuple[str, ...]) -> str | list[str] | None:
    if isinstance(names, str):
        path = outputs.get(names)
        return str(path) if path is not None and path.is_file() else None
    paths = [str(outputs[n]) for n in names if n in outputs and outputs[n].is_file()]
    return paths or None


def _end_abandoned(session: LiveSession | Stopped | None) -> None:
    """A closed page's session: finish its recording (the job keeps it until swept)."""
    if isinstance(session, LiveSession):
        session.finish("The page was closed.")


def build_live_tab(handlers: LiveHandlers) -> None:
    """Add the Live tab to the current ``gr.Tabs`` and wire its events.

    Its arguments are every tab builder's (:mod:`ui.tabs`).
    """
    settings = handlers.settings
    initial = models.default_detector()
    with tab_page("Live", "live", INTRO):
        with gr.Column(scale=1):
            camera = gr.Image(
                label="Camera",
                sources=["webcam"],
                streaming=True,
                type="numpy",
                webcam_options=gr.WebcamOptions(mirror=False),
                elem_id="live-camera",
            )
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="live-start")
                stop = gr.Button("Stop", variant="stop", elem_id="live-stop")
            record = gr.Checkbox(
                value=False,
                label="Save a recording (H.264 video, tracks and tables, offered at Stop)",
                elem_id="live-record",
            )
            detector = detector_dropdown("live-", initial)
            detector_info = gr.Markdown(model_note("detector", initial))
            queries = gr.Textbox(
                value="", elem_id="live-queries", **queries_box_values(initial)
            )
            confidence = confidence_slider("live-")
            with gr.Accordion("Advanced settings", open=False):
                tracker = tracker_dropdown("live-")
                detect_every = stride_dropdown("live-", AUTO_KEEPS_UP)
            snapshot = gr.Image(type="filepath", format="png", visible=False)
            draw = gr.Button("Draw lines and zones on the current frame", size="sm",
                             elem_id="live-snapshot")  # fmt: skip
            counting = drawing.build_counting_editor(snapshot, prefix="live-")
        with gr.Column(scale=1):
            shown = gr.Image(
                label="Detections", format="jpeg", interactive=False, elem_id="live-output"
            )
            status = gr.Markdown(IDLE, elem_id="live-status")
            video = gr.Video(label="Recording (H.264)", interactive=False,
                             elem_id="live-recording")  # fmt: skip
            tracks = gr.File(label="Tracks (JSON)", interactive=False, elem_id="live-tracks")
            tables = gr.File(label="Tables (CSV)", file_count="multiple", interactive=False,
                             elem_id="live-tables")  # fmt: skip
            with gr.Accordion("Run details", open=False):
                summary = gr.JSON(label="Summary", elem_id="live-summary")
        # Inside the tab: a component left directly under gr.Tabs is drawn as one more tab
        # label (a second "Benchmark", the next tab's, once that is selected).
        session = gr.State(
            None,
            time_to_live=settings.live_time_limit_s + 600,
            delete_callback=_end_abandoned,
        )
    detector.change(
        lambda name: (gr.Textbox(**queries_box_values(name)), model_note("detector", name)),
        inputs=detector,
        outputs=[queries, detector_info],
        queue=False,
        api_visibility="private",
    )
    camera.stream(
        handlers.frame,
        inputs=[
            camera, detector, queries, confidence, counting, record, session, tracker,
            detect_every,
        ],  # fmt: skip
        outputs=[shown, status, session],
        stream_every=settings.live_frame_interval_s,
        time_limit=int(settings.live_time_limit_s) + 5,
        concurrency_limit=settings.live_sessions,
        concurrency_id="live",
        show_progress="hidden",
        api_visibility="private",
    )
    start.click(None, js=START_CAMERA_JS, outputs=status, queue=False, api_visibility="private")
    start.click(None, js=scroll_to_js("live-output"), queue=False, api_visibility="private")
    # The camera stops first. Added after the server's listener, its script ran only once
    # Stop's answer was back, which waits for Gradio to process the recording (an ffprobe,
    # up to a second on a busy machine): the camera kept sending frames meanwhile, and one
    # arriving after the grace period (STOP_GRACE_S) started a new recording that nothing
    # ever stopped (seen in tests/test_live_tab.py's Chromium test).
    stop.click(None, js=STOP_CAMERA_JS, queue=False, api_visibility="private")
    stop.click(
        handlers.stop,
        inputs=session,
        outputs=[status, video, tracks, tables, summary, session],
        queue=False,
        api_visibility="private",
    )
    draw.click(handlers.snapshot, inputs=session, outputs=[snapshot, status], queue=False,
               api_visibility="private")  # fmt: skip
