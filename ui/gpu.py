"""The GPU work of every tab, wrapped once with ``spaces.GPU`` for ZeroGPU Spaces.

Off ZeroGPU (locally, on a dedicated-GPU Space, in tests) ``spaces.GPU``
returns the function unchanged. On ZeroGPU each call borrows a GPU for a
duration given up front; ``spaces.GPU(duration=callable)`` calls the callable
with the same arguments as the function, so the request is sized from the
video's length and the models' throughput (:func:`estimate_gpu_seconds`).
There the function runs in a forked process: its arguments and every value it
yields are pickled (keep them small: previews are downscaled), and only
``gr.Error`` crosses back with its message, so errors are converted inside.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path

import numpy as np
import spaces

import models
import pipeline
from pipeline.configs import RunConfig
from pipeline.errors import VideoError
from pipeline.io.video import probe
from pipeline.jobs.job import stop_file_watch
from pipeline.runtime.devices import resolve_devices
from pipeline.runtime.events import Event, FirstFrame
from pipeline.runtime.report import downscale
from ui.errors import as_gr_errors
from ui.stops import STOP_FLAGS

#: ZeroGPU grants at most about this many seconds per call.
GPU_MAX_S = 300
#: Smallest request: model loading and the first frame alone take this long.
GPU_MIN_S = 20
#: Seconds for loading weights onto the GPU and the first-frame preview.
LOAD_S = 15.0
#: Assumed for a model whose registration states no throughput.
DEFAULT_THROUGHPUT_FPS = 10.0
#: The first-frame preview: loading the models and one frame.
FIRST_FRAME_GPU_S = 40


def run_throughput_fps(config: RunConfig) -> float:
    """Frames per second a run can be counted on for on a ZeroGPU slice.

    Each model's rough end-to-end throughput comes from its registration; a
    run's models work on every frame one after the other, so their times per
    frame add up.
    """
    seconds_per_frame = 0.0
    for kind, name, size in config.models_used():
        try:
            fps = models.spec(kind, name).throughput_for(size)
        except models.UnknownModelError:
            fps = None
        seconds_per_frame += 1.0 / (fps or DEFAULT_THROUGHPUT_FPS)
    return 1.0 / seconds_per_frame


def estimate_gpu_seconds(video: str | Path, config: RunConfig, *_: object, **__: object) -> int:
    """How long to borrow a GPU for a run over ``video``; the ``spaces.GPU`` duration.

    An under-estimate of the throughput only costs queue priority; an
    over-estimate would cut the run short.

    Args:
        video: The input video.
        config: The run's config (its models and frame limit).
        *_: The GPU function's other arguments, unused.
        **__: Likewise.

    Returns:
        Seconds, between :data:`GPU_MIN_S` and :data:`GPU_MAX_S`.

    Example:
        >>> from pipeline.configs import DetectionConfig
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
    seconds = math.ceil(LOAD_S + frames / run_throughput_fps(config))
    return int(min(GPU_MAX_S, max(GPU_MIN_S, seconds)))


def relay_events(events: Iterator[Event], preview_max_width: int) -> Iterator[Event]:
    """Pass a run's events on from inside a ``spaces.GPU`` function.

    On ZeroGPU every yield is pickled across processes, so the first frame is
    downscaled and stripped to its images and objects (no masks, no depth
    map); pipeline errors become ``gr.Error``. Closing this generator (a
    disconnect) closes the run at once, which stops it and keeps what it did,
    instead of whenever it is collected.

    Args:
        events: A run's events.
        preview_max_width: Width the first frame is downscaled to.

    Yields:
        The run's events, the first frame made small.
    """
    with as_gr_errors(), closing(events):
        for event in events:
            if isinstance(event, FirstFrame):
                detections = event.detections[:]
                detections.mask = None
                event = FirstFrame(
                    image=downscale(event.image, preview_max_width),
                    detections=detections,
                    depth_view=None
                    if event.depth_view is None
                    else downscale(event.depth_view, preview_max_width),
                )
            yield event


@spaces.GPU(duration=estimate_gpu_seconds)
def run_events(
    video: str,
    config: RunConfig,
    outputs: Mapping[str, str | Path],
    stop_token: str | None = None,
    preview_interval_s: float = 0.2,
) -> Iterator[Event]:
    """Run any task on the GPU (or CPU), yielding the pipeline's events.

    Args:
        video: Input video file.
        config: The run's config; its type says the task.
        outputs: Where each of the run's files goes, by name (in its job's folder).
        stop_token: Token of the run's job in :data:`ui.stops.STOP_FLAGS`. In
            another process (ZeroGPU) the token finds nothing, and the run
            watches its job folder's stop file instead.
        preview_interval_s: Least time between two previews.

    Yields:
        ``FirstFrame`` (downscaled), ``Progress``, ``Preview``, then ``Done``
        (its summary ``"partial"`` when the run was stopped).

    Raises:
        gr.Error: Bad video, model, query, setting or weights, or a failed run.
    """
    folder = Path(next(iter(outputs.values()))).parent
    with contextlib.ExitStack() as stack:
        stop = STOP_FLAGS.event(stop_token) or stack.enter_context(stop_file_watch(folder))
        with as_gr_errors():
            events = pipeline.start(
                pipeline.task_of(config),
                video,
                config,
                outputs,
                stop,
                preview_interval_s=preview_interval_s,
            )
        yield from relay_events(events, config.preview_max_width)


@spaces.GPU(duration=FIRST_FRAME_GPU_S)
def first_frame_image(video: str, config: RunConfig) -> np.ndarray:
    """The first frame as the run would show it; the quick check before a full run.

    Args:
        video: Input video file.
        config: The run's config; its type says the task.

    Returns:
        The annotated first frame, BGR, at most ``config.preview_max_width`` wide.

    Raises:
        gr.Error: Bad video, model, query, setting or weights.
    """
    with as_gr_errors():
        result = pipeline.first_frame(pipeline.task_of(config), video, config)
    return downscale(result.image, config.preview_max_width)


def device_count() -> int:
    """How many devices a run can use here: visible GPUs, or 1 for the CPU.

    ``python app.py`` sets the queue's concurrency to this, one run per device.
    """
    return len(resolve_devices(()))
