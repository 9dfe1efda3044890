"""The detection tab's event handlers; also the ``/detect`` and ``/first_frame`` API.

Each handler turns its inputs into one ``DetectionConfig`` (:mod:`ui.inputs`),
checks the video before any GPU time is asked for, calls the GPU functions
(:mod:`ui.gpu`) and turns pipeline events into component values
(:mod:`ui.render`). Errors reach the user as ``gr.Error`` (:mod:`ui.errors`);
a failed or stopped run leaves no files behind (:mod:`ui.outputs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import numpy as np

from pipeline.configs import DetectionConfig
from ui import gpu
from ui.inputs import build_config
from ui.render import summary_text, to_rgb
from ui.streaming import STOPPED, TabHandlers

#: ``/detect`` outputs: preview image (RGB), status text, result video path,
#: tracks JSON path, summary. The last three are None until the run is done.
DetectOutputs = tuple[np.ndarray | None, str, str | None, str | None, dict[str, Any] | None]


class DetectionHandlers(TabHandlers):
    """The Detection tab's handlers (see :class:`ui.streaming.TabHandlers` for the arguments)."""

    def _request(
        self,
        video: str | None,
        detector: str | None,
        size: str | None,
        queries: str | None,
        confidence: float | None,
        object_depth: bool | None = False,
    ) -> DetectionConfig:
        """Validate a request: the config, and a readable video within the limits."""
        return self._checked(
            video,
            lambda: build_config(
                detector,
                size,
                queries,
                confidence,
                max_duration_s=self.settings.max_duration_s,
                object_depth=bool(object_depth),
            ),
        )

    def detect(
        self,
        video: str | None,
        detector: str | None,
        size: str | None,
        queries: str | None,
        confidence: float | None,
        object_depth: bool | None = False,
        request: gr.Request | None = None,
    ) -> Iterator[DetectOutputs]:
        """Detect and track objects in a video, streaming annotated frames.

        Args:
            video: The input video file.
            detector: Detector name, e.g. ``"yolo11"`` or ``"grounding_dino"``.
            size: Model size (``"n"``...``"x"``, ``"tiny"``/``"base"``); empty for the default.
            queries: Comma-separated class names to keep (empty: all), or what
                to find in free text for open-vocabulary detectors.
            confidence: Minimum detection score in [0, 1].
            object_depth: Also measure each tracked object's relative depth
                (Depth Anything V2 small): shown in labels, stored in the tracks,
                and tracks ordered near to far in the summary.
            request: Injected by Gradio; identifies the session for the Stop button.

        Yields:
            ``(preview, status, video, tracks, summary)``: first the annotated
            first frame, then live frames with a progress line, then the last
            frame with the H.264 result video, the tracks JSON and the run summary.

        Raises:
            gr.Error: Bad video, unknown detector or size, bad query, missing
                weights, too-long video, or a failed run.
        """
        config = self._request(video, detector, size, queries, confidence, object_depth)
        yield from self._stream(
            request,
            "Loading the model and reading the first frame...",
            start=lambda run, token: gpu.detect_events(
                str(video),
                config,
                str(run.video),
                str(run.tracks),
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
        self,
        video: str | None,
        detector: str | None,
        size: str | None,
        queries: str | None,
        confidence: float | None,
        object_depth: bool | None = False,
    ) -> np.ndarray:
        """Detect objects in the first frame only: a quick check of the settings.

        Args:
            video: The input video file.
            detector: Detector name.
            size: Model size; empty for the default.
            queries: Class names or free text, as for ``/detect``.
            confidence: Minimum detection score in [0, 1].
            object_depth: Also label each object with its relative depth.

        Returns:
            The annotated first frame (RGB).

        Raises:
            gr.Error: As for ``/detect``.
        """
        config = self._request(video, detector, size, queries, confidence, object_depth)
        return to_rgb(gpu.first_frame_image(str(video), config))

    def stop(self, request: gr.Request | None = None) -> str | dict[str, Any]:
        """Ask the session's running detection to stop (the Stop button).

        Args:
            request: Injected by Gradio; identifies the session.

        Returns:
            The new status text, or ``gr.skip()`` when nothing was running. The
            cancelled run cannot say it itself: its later outputs are dropped.
        """
        if self._stop(request):
            return STOPPED
        return gr.skip()
