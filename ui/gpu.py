"""The GPU work of every tab, wrapped once with ``spaces.GPU`` for ZeroGPU Spaces.

Off ZeroGPU (locally, on a dedicated-GPU Space, in tests) ``spaces.GPU``
returns the function unchanged. On ZeroGPU each call borrows a GPU for a
duration given up front; ``spaces.GPU(duration=callable)`` calls the callable
with the same arguments as the function, so the request is sized from the
video's length and the models' throughput (:func:`estimate_gpu_seconds`).
There the function runs in a forked process: its arguments and every value it
yields are pickled (keep them small: previews are downscaled), and only
``gr.Error`` crosses back with its message, so errors are converted inside.

A call is sized to about :data:`CALL_TARGET_S`, well under a free visitor's
daily quota, so a run longer than :func:`frames_per_call` frames is split
(:mod:`pipeline.runtime.chunks`): the run itself stays in this process
(decoder, tracker, depth display range, counting, encoder, files, previews)
and each stretch of frames is one GPU call that loads the models and returns
their results (:func:`gpu_chunk`); this process never loads a model for it.
Weights are fetched here before the first call (:func:`fetch_before_calls`), so
no call spends GPU time on a download. ZeroGPU's refusals become messages that
say how long to wait (:mod:`ui.zerogpu`).

Where a run's model work happens is decided once (:mod:`pipeline.runtime.devices`):
inside these calls on ZeroGPU's GPU; everywhere else in this process (REST jobs,
the Live tab, the benchmark) on the CPU there.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import numpy as np
import spaces

import models
import pipeline
import pipeline.runs
from models.prefetch import fetch_weights
from pipeline.configs import PREVIEW_INTERVAL_S, RunConfig
from pipeline.errors import VideoError
from pipeline.io.video import VideoInfo, probe
from pipeline.jobs.job import stop_file_watch
from pipeline.runtime.chunks import CallRefused, Chunk, ChunkPlan
from pipeline.runtime.devices import resolve_devices
from pipeline.runtime.events import Done, Downloading, Event, FirstFrame
from pipeline.runtime.report import downscale
from ui.errors import as_gr_errors
from ui.stops import STOP_FLAGS
from ui.zerogpu import GpuUnavailable, gpu_errors, on_zero_gpu

#: ZeroGPU grants at most about this many seconds per call.
GPU_MAX_S = 300
#: What one call of a split run asks for, about: ZeroGPU's default duration. A free
#: visitor's daily quota is 2 minutes (3.5 signed in), and a request longer than what
#: is left is refused outright, so a long video goes as several short calls.
CALL_TARGET_S = 60
#: Smallest request: model loading and the first frame alone take this long.
GPU_MIN_S = 20
#: Seconds for loading weights onto the GPU and the first-frame preview.
LOAD_S = 15.0
#: Assumed for a model whose registration states no throughput.
DEFAULT_THROUGHPUT_FPS = 10.0
#: The first-frame preview: loading the models and one frame.
FIRST_FRAME_GPU_S = 40
#: Share of a call's time planned for frames: the rest absorbs a slower stretch.
CALL_TIME_MARGIN = 0.8


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


def estimate_gpu_seconds(video: str | Path, config: RunConfig, *rest: object, **__: object) -> int:
    """How long to borrow a GPU for a run over ``video``; the ``spaces.GPU`` duration.

    An under-estimate of the throughput only costs queue priority; an
    over-estimate would cut the run short.

    Args:
        video: The input video.
        config: The run's config (its models and frame limit).
        *rest: The GPU function's other arguments; the video as already
            probed, when among them, is not probed again.
        **__: Likewise, unused.

    Returns:
        Seconds, between :data:`GPU_MIN_S` and :data:`GPU_MAX_S`.

    Example:
        >>> from pipeline.configs import DetectionConfig
        >>> estimate_gpu_seconds("missing.mp4", DetectionConfig())
        20
    """
    probed = next((item for item in rest if isinstance(item, VideoInfo)), None)
    return _gpu_seconds(_frames_to_run(video, config, probed), config)


def _frames_to_run(video: str | Path, config: RunConfig, probed: VideoInfo | None = None) -> int:
    """The frames a run over ``video`` will process (0 for a bad file: the run reports it).

    ``probed``: the video as already probed (it is not probed again).
    """
    try:
        info = probed or probe(video)
    except VideoError:
        return 0
    frames = info.frames or math.ceil(info.duration_s * info.fps)
    return min(frames, config.max_frames or frames)


def _gpu_seconds(frames: int, config: RunConfig) -> int:
    """Loading plus ``frames`` at the models' throughput, within ZeroGPU's bounds."""
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


def frames_per_call(config: RunConfig, setting: int | None) -> int | None:
    """Frames per GPU call of a run: the setting, else on ZeroGPU what fits one call.

    Args:
        config: The run's config (its models' throughput).
        setting: ``Settings.gpu_frames_per_call``.

    Returns:
        Frames per call, or None for one call whatever the length (off ZeroGPU
        without the setting).

    Example:
        >>> from pipeline.configs import DetectionConfig
        >>> frames_per_call(DetectionConfig(), 90)
        90
    """
    if setting:
        return setting
    if not on_zero_gpu():
        return None
    usable_s = (CALL_TARGET_S - LOAD_S) * CALL_TIME_MARGIN
    return max(1, int(usable_s * run_throughput_fps(config)))


def fetch_before_calls(config: RunConfig) -> Iterator[Downloading]:
    """Download the weights ``config``'s models need here, before any GPU call loads them.

    Yields:
        Each download's progress (nothing when everything is cached).

    Raises:
        gr.Error: Weights that cannot be fetched (the missing-weights message).
    """
    with as_gr_errors():
        yield from fetch_weights(config.model_loads())


def run_events(
    video: str,
    config: RunConfig,
    outputs: Mapping[str, str | Path],
    stop_token: str | None = None,
    preview_interval_s: float = PREVIEW_INTERVAL_S,
    per_call: int | None = None,
    *,
    probed: VideoInfo | None = None,
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
        per_call: Frames per GPU call (:func:`frames_per_call`); a longer run
            is split into calls, None: one call.
        probed: ``video`` as already probed and checked against ``config``
            (:func:`pipeline.runs.check_input`), not probed again; None: the
            run probes it.

    Yields:
        ``Downloading`` while weights are fetched (here, before any GPU call),
        ``FirstFrame`` (downscaled), ``Progress``, ``Preview``, then ``Done``
        (its summary's ``partial`` true when the run was stopped; its ``calls``
        set when it was split).

    Raises:
        gr.Error: Bad video, model, query, setting or weights, a GPU refused
            by ZeroGPU (how long to wait), or a failed run.
    """
    yield from fetch_before_calls(config)
    if per_call is not None and _frames_to_run(video, config, probed) > per_call:
        # The run stays here; only its calls go to the GPU.
        events = _run_here(video, config, outputs, stop_token, preview_interval_s, per_call, probed)
    else:
        events = _whole_run(video, config, outputs, stop_token, preview_interval_s, probed)
    with closing(events), as_gr_errors(), gpu_errors():
        yield from events


@spaces.GPU(duration=estimate_gpu_seconds)
def _whole_run(
    video: str,
    config: RunConfig,
    outputs: Mapping[str, str | Path],
    stop_token: str | None,
    preview_interval_s: float,
    probed: VideoInfo | None = None,
) -> Iterator[Event]:
    """The whole run in one GPU call."""
    yield from _run_here(video, config, outputs, stop_token, preview_interval_s, None, probed)


def _run_here(
    video: str,
    config: RunConfig,
    outputs: Mapping[str, str | Path],
    stop_token: str | None,
    preview_interval_s: float,
    per_call: int | None,
    probed: VideoInfo | None = None,
) -> Iterator[Event]:
    """The run in this process; with ``per_call``, its model work in GPU calls of that size.

    A call that ZeroGPU refuses once the run has frames (the visitor's quota ran
    out halfway through a long video) ends the run as a stop does: the frames
    done are kept, and the summary says why it stopped (``"stopped_because"``).
    """
    folder = Path(next(iter(outputs.values()))).parent
    refusals: list[str] = []
    with contextlib.ExitStack() as stack:
        stop = STOP_FLAGS.event(stop_token) or stack.enter_context(stop_file_watch(folder))
        chunks = None
        if per_call is not None:

            def call(chunk: Chunk) -> Iterator[object]:
                try:
                    with gpu_errors():
                        yield from gpu_chunk(video, config, str(folder), chunk)
                except GpuUnavailable as exc:
                    if chunk.start == 0:
                        raise  # nothing done yet: the run fails with ZeroGPU's message
                    refusals.append(str(exc))
                    # Ends the run as a stop does, but keeps the results in flight.
                    raise CallRefused(str(exc)) from exc

            chunks = ChunkPlan(per_call, call)
        with as_gr_errors():
            events = pipeline.start(
                video, config, outputs, stop,
                preview_interval_s=preview_interval_s, chunks=chunks, probed=probed,
            )  # fmt: skip
        with closing(relay_events(events, config.preview_max_width)) as relayed:
            for event in relayed:
                if isinstance(event, Done) and refusals:
                    event = Done(event.outputs, replace(event.summary, stopped_because=refusals[0]))
                yield event


def estimate_chunk_seconds(
    video: str, config: RunConfig, folder: str, chunk: Chunk, *_: object
) -> int:
    """How long to borrow a GPU for one call of a split run (the ``spaces.GPU`` duration)."""
    return _gpu_seconds(chunk.frames, config)


@spaces.GPU(duration=estimate_chunk_seconds)
def gpu_chunk(video: str, config: RunConfig, folder: str, chunk: Chunk) -> Iterator[object]:
    """One GPU call of a split run: the model results of ``chunk``'s frames.

    Args:
        video: Input video file.
        config: The run's config.
        folder: The job's folder (its stop file reaches a ZeroGPU worker).
        chunk: Which frames, and what the previous call left.

    Yields:
        ``(frame index, result)`` pairs, then a ``ChunkEnd``
        (:func:`pipeline.runs.chunk_results`).

    Raises:
        gr.Error: A model or the video failed in the worker.
    """
    with stop_file_watch(Path(folder)) as stop, as_gr_errors():
        yield from pipeline.runs.chunk_results(video, config, chunk, stop)


def first_frame_image(
    video: str, config: RunConfig, *, probed: VideoInfo | None = None
) -> np.ndarray:
    """The first frame as the run would show it; the quick check before a full run.

    The weights are fetched here first, so that the GPU call only loads them.

    Args:
        video: Input video file.
        config: The run's config; its type says the task.
        probed: ``video`` as already probed and checked against ``config``
            (not probed again); None: it is probed in the call.

    Returns:
        The annotated first frame, BGR, at most ``config.preview_max_width`` wide.

    Raises:
        gr.Error: Bad video, model, query, setting or weights.
    """
    for _ in fetch_before_calls(config):
        pass
    with as_gr_errors(), gpu_errors():
        return _first_frame_in_call(video, config, probed)


@spaces.GPU(duration=FIRST_FRAME_GPU_S)
def _first_frame_in_call(
    video: str, config: RunConfig, probed: VideoInfo | None = None
) -> np.ndarray:
    """:func:`first_frame_image`'s GPU call: load the models, do frame 0."""
    with as_gr_errors():
        result = pipeline.first_frame(video, config, probed=probed)
    return downscale(result.image, config.preview_max_width)


def device_count() -> int:
    """How many devices a run can use here: visible GPUs, or 1 for the CPU.

    ``python app.py`` sets the queue's concurrency to this, one run per device.
    """
    return len(resolve_devices(()))
