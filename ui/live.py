"""One browser's live session: its own run over its webcam's frames, and its recording.

Each session (one per browser tab) has its own :class:`~pipeline.runs.live.FrameByFrame`,
so its own tracker (ids from 1) and counts. Frames are timed by the wall
clock from the session's start (a webcam's frames carry no time of their
own). A recording session is a job of the app's job store: its files are in
the job's folder, its status, stream and files are served over REST while it
runs and after, and the store sweeps it like any other once it has ended.

Example:
    session = LiveSession(config, 640, 480, jobs=None)
    shown = session.process(rgb_frame)
    summary = session.finish("Stopped.")
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import supervision as sv

from pipeline.configs import PREVIEW_INTERVAL_S, DetectionConfig
from pipeline.jobs import Job, JobStore
from pipeline.runs.live import NOMINAL_FPS, FrameByFrame
from pipeline.runtime.events import Done, FirstFrame, Preview, Progress
from pipeline.runtime.summary import RunSummary
from ui.render import counting_text, objects_text, to_rgb


class LiveSession:
    """A live detection run over one browser's frames, recorded or not.

    Args:
        config: What to detect, how to track and what to count.
        width: The webcam frames' width.
        height: Their height.
        jobs: Record the session as a job of this store (None: no recording).
        fps: The rate the page sends the webcam's frames at, at most.

    Raises:
        PipelineError, models.ModelError: A bad model, query or setting.
    """

    def __init__(
        self,
        config: DetectionConfig,
        width: int,
        height: int,
        *,
        jobs: JobStore | None,
        fps: float = NOMINAL_FPS,
    ) -> None:
        self.config = config
        self.job: Job | None = jobs.record(config, source="live") if jobs else None
        try:
            self.run = FrameByFrame(
                config,
                width=width,
                height=height,
                outputs=self.job.outputs if self.job is not None else None,
                label="webcam",
                fps=fps,
            )
        except BaseException as exc:
            if self.job is not None and jobs is not None:
                self.job.fail(str(exc))
                jobs.delete(self.job.id)
            raise
        self.started = time.monotonic()
        self.ended: str | None = None
        self.summary: RunSummary | None = None
        #: The latest frame as the camera sent it (RGB), to draw lines and zones on.
        self.last_frame: np.ndarray | None = None
        self._last_published = 0.0
        # Stop (its own request) may come while a frame is being processed.
        self._lock = threading.Lock()

    @property
    def elapsed_s(self) -> float:
        """Seconds since the session's first frame."""
        return time.monotonic() - self.started

    def process(self, rgb: np.ndarray) -> np.ndarray | None:
        """One webcam frame (RGB) through the run; returns it annotated (RGB).

        Returns:
            None when the session has ended meanwhile (a frame still on its
            way when Stop was pressed).
        """
        with self._lock:
            if self.summary is not None:
                return None
            timestamp = self.elapsed_s
            self.last_frame = rgb
            annotated, found = self.run.process(np.ascontiguousarray(rgb[..., ::-1]), timestamp)
            if self.job is not None:
                self._publish(annotated, found, timestamp)
        return to_rgb(annotated)

    def _publish(self, annotated: np.ndarray, found: sv.Detections, timestamp: float) -> None:
        """The recording job's progress and stream follow the session."""
        assert self.job is not None
        index = self.run.frames - 1
        if index == 0:
            self.job.observe(FirstFrame(image=annotated, detections=found))
        elif timestamp - self._last_published >= PREVIEW_INTERVAL_S:
            self.job.observe(Preview(frame_index=index, image=annotated))
        else:
            return
        self._last_published = timestamp
        self.job.observe(Progress(frame_index=index, total_frames=None, fps=self.fps))

    @property
    def fps(self) -> float:
        """Frames processed per second since the start."""
        return self.run.frames / max(self.elapsed_s, 1e-9)

    def status_text(self) -> str:
        """The live status: time, frames and speed, tracks per class, counts."""
        summary = self.run.summary()
        text = (
            f"**Live** for {self.elapsed_s:.0f} s: {self.run.frames} frames at "
            f"{self.fps:.1f} fps, {objects_text(summary)}."
        )
        if summary.counting:
            text += "\n\n" + counting_text(summary.counting)
        if self.job is not None:
            text += f"\n\nRecording (job {self.job.id})."
        return text

    def finish(self, reason: str) -> RunSummary:
        """End the session: finish the run and its recording; returns its summary (once).

        Args:
            reason: Why it ended (``"Stopped."``, the time limit...), in the summary.
        """
        with self._lock:
            return self._finish(reason)

    def _finish(self, reason: str) -> RunSummary:
        if self.summary is not None:
            return self.summary
        self.ended = reason
        summary = replace(self.run.finish(), source={"live": "webcam", "ended": reason})
        if self.job is not None:
            outputs = {name: path for name, path in self.job.outputs.items() if path.is_file()}
            self.job.observe(Done(outputs, summary))
            summary = replace(summary, job_id=self.job.id)
        self.summary = summary
        return summary
