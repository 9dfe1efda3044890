"""A run fed one frame at a time by its caller: the browser's webcam in the Live tab.

A file or a stream is read by the run's own threads (:meth:`Run.events`); a
webcam in a browser hands its frames to a handler, one call each. This runs
the same kind of run (its models, tracker, counting, annotation and files)
on each frame as it comes, in the caller's thread, and records it when given
outputs: a fragmented MP4 at each frame's own time, the tracks JSON and the
CSV tables, each valid whenever it is cut off.

Example (YOLOX-Nano's weights are bundled, so this runs offline):
    >>> import numpy as np
    >>> from pipeline import DetectionConfig
    >>> live = FrameByFrame(DetectionConfig(detector="yolox_nano"), width=640, height=480)
    >>> image, objects = live.process(np.zeros((480, 640, 3), np.uint8), timestamp=0.0)
    >>> image.shape, len(objects)
    ((480, 640, 3), 0)
    >>> live.finish().frames
    1
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from pipeline.configs import RunConfig
from pipeline.io.video import Frame, H264Writer, VideoInfo
from pipeline.runs import run_type, task_of
from pipeline.runtime.devices import prepare_devices
from pipeline.runtime.summary import RunSummary, build_summary
from pipeline.runtime.template import OutputFile, pipeline_errors

#: The frame rate a live video states (its frames carry their own times).
NOMINAL_FPS = 30.0


class FrameByFrame:
    """One run of ``config``'s task over frames handed in by the caller.

    Its models load when it is made, on the first of the config's devices;
    then each :meth:`process` call is one frame, in order, with its time.

    Args:
        config: The run's config (a pooled kind: detection or depth).
        width: Width of the frames (others are resized to it).
        height: Height of the frames.
        outputs: Where to record the run, by output name (None: no files).
        label: How the input is named in the summary.
        fps: The rate the caller sends frames at, at most (``detect_every=auto``
            keeps up with it).

    Raises:
        PipelineError, models.ModelError: A bad model, query or setting (the
            lines and zones must fit ``width`` × ``height``).
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        width: int,
        height: int,
        outputs: Mapping[str, Path] | None = None,
        label: str = "live",
        fps: float = NOMINAL_FPS,
    ) -> None:
        self.task = task_of(config)
        run_class = run_type(self.task)
        self.info = VideoInfo(Path(label), width, height, NOMINAL_FPS, 0, 0.0)
        run_class.check_config(config, self.info)
        devices = prepare_devices(config.devices)[:1]
        self.device = devices[0]
        with pipeline_errors(f"The live {self.task} run"):
            self.run = run_class(config, self.info, devices)
        self.run.fed_live(fps)
        self.outputs = dict(outputs or {})
        self.files: dict[str, OutputFile] = {}
        self.video: H264Writer | None = None
        self.run.writing = frozenset(self.outputs)
        if self.outputs:
            self.video = H264Writer(
                self.outputs["video"], width, height, NOMINAL_FPS, live=True
            )
            self.files = self.run.open_files(self.outputs)
        self.frames = 0
        self.timing: dict[str, float] = {}
        self.started = time.perf_counter()
        self._finished: RunSummary | None = None

    def process(self, image: np.ndarray, timestamp: float) -> tuple[np.ndarray, sv.Detections]:
        """Run one frame (BGR) at ``timestamp`` seconds; returns it annotated, and its objects.

        Raises:
            PipelineError: The run has finished, or a model failed.
        """
        if self._finished is not None:
            raise RuntimeError("this live run has finished")
        if image.shape[:2] != (self.info.height, self.info.width):
            image = cv2.resize(image, (self.info.width, self.info.height))
        frame = Frame(self.frames, timestamp, image)
        with pipeline_errors(f"The live {self.task} run"):
            [result] = self.run.process_frames(self.device, [frame], self.timing)
            annotated, detections = self.run.process(frame, result, self.timing)
            if self.video is not None:
                self.video.write(annotated, timestamp)
        self.frames += 1
        return annotated, detections

    def summary(self) -> RunSummary:
        """What the run found so far, as a file run's summary says it."""
        return build_summary(
            frames=self.frames,
            elapsed_s=time.perf_counter() - self.started,
            video={"width": self.info.width, "height": self.info.height},
            devices=[self.device],
            timing=self.timing,
            model=self.run.model_info(),
            additions=self.run.summary(),
        )

    def finish(self) -> RunSummary:
        """Finish the recording (if any) and the run; returns the final summary (once)."""
        if self._finished is None:
            self._finished = self.summary()
            try:
                if self.video is not None:
                    self.video.close()
                for file in self.files.values():
                    file.close()
            finally:
                self.run.close()
        return self._finished
