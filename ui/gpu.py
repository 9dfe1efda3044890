"""The GPU work of the app, wrapped with ``spaces.GPU`` for ZeroGPU Spaces.

Off ZeroGPU (locally, on a dedicated-GPU Space, in tests) ``spaces.GPU``
returns the function unchanged. On ZeroGPU each call borrows a GPU for a
duration given up front; ``spaces.GPU(duration=callable)`` calls the callable
with the same arguments as the function, so the request is sized from the
video's length. There the function runs in a forked process: its arguments and
every value it yields are pickled (keep them small: previews are downscaled),
and only ``gr.Error`` crosses back with its message, so errors are converted
inside.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import spaces

import models
from pipeline.configs import DetectionConfig
from pipeline.io.video import probe
from pipeline.runs.detection import first_frame, run_detection
from pipeline.runtime.devices import resolve_devices
from pipeline.runtime.errors import RunStopped, VideoError
from pipeline.runtime.events import Event, FirstFrame
from pipeline.stages.annotation import downscale
from ui.errors import as_gr_errors
from ui.stops import STOP_FLAGS

#: ZeroGPU grants at most about this many seconds per call.
GPU_MAX_S = 300
#: Smallest request: model loading and the first frame alone take this long.
GPU_MIN_S = 20
#: Seconds for loading weights onto the GPU and the first-frame preview.
LOAD_S = 15.0
#: Frames per second assumed for a model whose registration states none
#: (``models.ModelSpec.throughput_for``); an under-estimate only costs queue
#: priority, an over-estimate cuts the run short.
DEFAULT_THROUGHPUT_FPS = 10.0
FIRST_FRAME_GPU_S = 30


def estimate_gpu_seconds(
    video: str | Path, config: DetectionConfig, *_: object, **__: object
) -> int:
    """How long to borrow a GPU for a run over ``video``; the ``spaces.GPU`` duration.

    Args:
        video: The input video.
        config: The run's config (detector and frame limit).
        *_: The GPU function's other arguments, unused.
        **__: Likewise.

    Returns:
        Seconds, between :data:`GPU_MIN_S` and :data:`GPU_MAX_S`.

    Example:
        >>> estimate_gpu_seconds("missing.mp4", DetectionConfig())
        20
    """
    try:
        info = probe(video)
    except VideoError:
        return GPU_MIN_S  # The run itself will report the bad file.
    frames = info.frames or math.ceil(info.duration_s * info.fps)
    if config.max_frames is not None:
        frames = min(frames, config.max_frames)
    fps = model_fps("detector", config.detector, config.size)
    if config.depth:
        fps = 1.0 / (1.0 / fps + 1.0 / model_fps("depth", "depth_anything_v2", config.depth_size))
    seconds = math.ceil(LOAD_S + frames / fps)
    return int(min(GPU_MAX_S, max(GPU_MIN_S, seconds)))


def model_fps(kind: str, name: str, size: str | None = None) -> float:
    """A model's rough end-to-end frames per second on a ZeroGPU slice, as registered.

    Args:
        kind: Model family.
        name: Registry name.
        size: Model size (None: the default size).

    Returns:
        The registered throughput, or :data:`DEFAULT_THROUGHPUT_FPS` for an unknown
        model or size, or one that states none.
    """
    try:
        fps = models.spec(kind, name).throughput_for(size)
    except models.UnknownModelError:
        fps = None
    return fps or DEFAULT_THROUGHPUT_FPS


def relay_events(events: Iterator[Event], preview_max_width: int) -> Iterator[Event]:
    """Pass a run's events on from inside a ``spaces.GPU`` function.

    On ZeroGPU every yield is pickled across processes, so the first frame is
    downscaled and its masks dropped; pipeline errors become ``gr.Error``; a
    stopped run just ends. Closing this generator (Stop, disconnect) closes the
    run at once, stopping its threads, instead of whenever it is collected.

    Args:
        events: A run generator (detection, depth or segmentation).
        preview_max_width: Width the first frame is downscaled to.

    Yields:
        The run's events, the first frame made small.
    """
    with as_gr_errors(), closing(events):
        try:
            for event in events:
                if isinstance(event, FirstFrame):
                    detections = event.detections[:]
                    detections.mask = None
                    image = downscale(event.image, preview_max_width)
                    event = FirstFrame(image=image, detections=detections)
                yield event
        except RunStopped:
            return


@spaces.GPU(duration=estimate_gpu_seconds)
def detect_events(
    video: str,
    config: DetectionConfig,
    out_video: str,
    out_tracks: str,
    stop_token: str | None = None,
    preview_interval_s: float = 0.2,
) -> Iterator[Event]:
    """Run detection on the GPU (or CPU), yielding the pipeline's events.

    Args:
        video: Input video file.
        config: The run's config.
        out_video: Where the annotated H.264 video goes.
        out_tracks: Where the tracks JSON goes.
        stop_token: Token of the run's stop flag (:mod:`ui.stops`).
        preview_interval_s: Least time between two previews.

    Yields:
        ``FirstFrame`` (downscaled), ``Progress``, ``Preview``, then ``Done``.
        A stopped run just ends, without ``Done``.

    Raises:
        gr.Error: Bad video, model, query or weights, or a failed run.
    """
    events = run_detection(
        video,
        config,
        out_video=out_video,
        out_tracks=out_tracks,
        stop=STOP_FLAGS.event(stop_token),
        preview_interval_s=preview_interval_s,
    )
    yield from relay_events(events, config.preview_max_width)


@spaces.GPU(duration=FIRST_FRAME_GPU_S)
def first_frame_image(video: str, config: DetectionConfig) -> np.ndarray:
    """Detect on the first frame only; the preview shown before a full run.

    Args:
        video: Input video file.
        config: The run's config.

    Returns:
        The annotated first frame, BGR, at most ``config.preview_max_width`` wide.

    Raises:
        gr.Error: Bad video, model, query or weights.
    """
    with as_gr_errors():
        result = first_frame(video, config)
    return downscale(result.image, config.preview_max_width)


def device_count() -> int:
    """How many devices a run can use here: visible GPUs, or 1 for the CPU.

    ``python app.py`` sets the queue's concurrency to this, one run per device.
    """
    return len(resolve_devices(()))
