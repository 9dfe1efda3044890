"""The kinds of run, and the one way to start any of them.

The UI, the command line, the job store and the batch runner all call
:func:`start` (and :func:`first_frame` for the quick look); each kind of run is
a :class:`~pipeline.runtime.template.Run` subclass listed in :data:`RUNS`.

Example:
    >>> import tempfile
    >>> from pipeline import DetectionConfig, Done, start
    >>> clip = Path(__file__).resolve().parents[2] / "assets" / "one_by_one_person.mp4"
    >>> folder = tempfile.TemporaryDirectory()
    >>> events = start(
    ...     clip, DetectionConfig(detector="yolox_nano", max_frames=5),
    ...     {"video": Path(folder.name, "out.mp4"), "tracks": Path(folder.name, "tracks.json")},
    ... )
    >>> *progress, done = events  # FirstFrame, Progress, Preview..., then one Done
    >>> isinstance(done, Done), done.summary.frames, sorted(done.outputs)
    (True, 5, ['tracks', 'video'])
    >>> folder.cleanup()
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from models.prefetch import fetch_weights
from pipeline.configs import PREVIEW_INTERVAL_S, RunConfig
from pipeline.errors import PipelineError
from pipeline.io.output_files import check_outputs
from pipeline.io.sources import LiveSource, source_spec
from pipeline.io.video import VideoInfo
from pipeline.runs.depth import DepthRun
from pipeline.runs.detection import DetectionRun
from pipeline.runs.segmentation import SegmentationRun
from pipeline.runtime.chunks import Chunk, ChunkPlan
from pipeline.runtime.devices import prepare_devices
from pipeline.runtime.events import Event, FirstFrame
from pipeline.runtime.template import Run, check_video, pipeline_errors

#: Every kind of run, by task name.
RUNS: dict[str, type[Run]] = {run.task: run for run in (DetectionRun, DepthRun, SegmentationRun)}


def run_type(task: str) -> type[Run]:
    """The run class of ``task``.

    Raises:
        PipelineError: No such task.
    """
    try:
        return RUNS[task]
    except KeyError:
        raise PipelineError(f"Unknown task {task!r}. Available: {', '.join(RUNS)}.") from None


def task_of(config: RunConfig) -> str:
    """The task a config is for (``"detection"`` for a :class:`DetectionConfig`...).

    Raises:
        TypeError: Not the config of any task.
    """
    for task, run in RUNS.items():
        if type(config) is run.config_type:
            return task
    raise TypeError(f"{config!r} is not the config of any task")


def output_paths(task: str, folder: str | Path, config: RunConfig | None = None) -> dict[str, Path]:
    """Every file of a ``task`` run inside ``folder``, under its usual name.

    Args:
        task: The task's name.
        folder: The run's own folder.
        config: The run's config: the optional files a run in its own folder
            writes (``Output.in_folder``: the annotated video, a detection
            run's CSV tables) are included when the config allows them (a
            detection run's depth video only with depth on); without a config,
            those that need no setting. Other optional files (MOT text) are
            only written when asked for by name.

    Returns:
        ``{output name: path}``, ready for :func:`start`.
    """
    return {
        name: Path(folder) / output.filename
        for name, output in run_type(task).outputs.items()
        if output.required
        or (output.in_folder and (output.possible(config) if config else output.needs is None))
    }


def output_for(task: str, result: str, config: RunConfig | None = None) -> str | None:
    """The output of a ``task`` run that holds ``result``, as its kind of run declares it.

    What the REST routes ask before they serve a job's file, rather than
    guessing from the task's name.

    Args:
        task: The task's name.
        result: An output's name (``"tracks"``, ``"heatmap"``...) or one of
            its :attr:`~pipeline.runtime.template.Output.aliases`.
        config: The run's config: the output is then only one the config
            allows (a detection run's depth video needs depth on). Without
            one: whether the kind of run has such an output at all.

    Returns:
        The output's name, or None when the run has none.

    Example:
        >>> output_for("segmentation", "tracks"), output_for("depth", "depth_video")
        ('masks', 'video')
        >>> output_for("depth", "tracks") is None
        True
        >>> from pipeline.configs import DetectionConfig
        >>> output_for("detection", "depth_video", DetectionConfig(detector="yolox_nano")) is None
        True
    """
    outputs = run_type(task).outputs
    name = result if result in outputs else None
    if name is None:
        name = next((n for n, output in outputs.items() if result in output.aliases), None)
    if name is None or (config is not None and not outputs[name].possible(config)):
        return None
    return name


def _checked_outputs(
    run: type[Run], config: RunConfig, outputs: Mapping[str, str | Path], video: str | Path
) -> dict[str, Path]:
    unknown = sorted(set(outputs) - set(run.outputs))
    if unknown:
        raise PipelineError(
            f"A {run.task} run writes no {', '.join(unknown)}; "
            f"its outputs are {', '.join(run.outputs)}."
        )
    missing = [n for n, o in run.outputs.items() if o.required and outputs.get(n) is None]
    if missing:
        raise PipelineError(f"A {run.task} run needs a path for {', '.join(missing)}.")
    impossible = [n for n in outputs if not run.outputs[n].possible(config)]
    if impossible:
        needs = {run.outputs[n].needs for n in impossible}
        raise PipelineError(
            f"A {run.task} run writes {', '.join(impossible)} only with "
            f"{', '.join(sorted(str(n) for n in needs))} on."
        )
    paths = {name: Path(path) for name, path in outputs.items() if path is not None}
    # A camera, a stream or standard input is no file an output could overwrite.
    inputs = [Path(video)] if source_spec(str(video)) is None else []
    check_outputs(
        {f"the {name} output": path for name, path in paths.items()},
        inputs=inputs,
        suffixes={f"the {name} output": run.outputs[name].suffixes for name in paths},
    )
    return paths


def start(
    video: str | Path,
    config: RunConfig,
    outputs: Mapping[str, str | Path],
    stop: threading.Event | None = None,
    *,
    preview_interval_s: float = PREVIEW_INTERVAL_S,
    with_first_frame: bool = True,
    chunks: ChunkPlan | None = None,
    probed: VideoInfo | None = None,
) -> Iterator[Event]:
    """Start a run of any kind; its events come out of the returned generator.

    Nothing happens until the first event is asked for. Setting ``stop``
    ends the run with a partial result (its ``Done`` summary's ``partial``
    is true); closing the generator early stops it the same way, keeping the
    files. A run that fails removes the files it made.

    Args:
        video: The input video file.
        config: The request: its type says the kind of run
            (:class:`~pipeline.configs.DetectionConfig` for detection...).
        outputs: Where each file goes, by name (``run_type(task).outputs``
            lists them; :func:`output_paths` gives the usual names in a folder).
            Their folders are created when the run starts writing. A file
            that exists is replaced only once the run keeps its result: a
            run that fails removes the files and folders it made, never one
            that was there before.
        stop: Set it to stop the run.
        preview_interval_s: Least time between two yielded previews.
        with_first_frame: Yield a :class:`FirstFrame` first.
        chunks: Split the model work into calls of at most ``chunks.frames``
            frames (:mod:`pipeline.runtime.chunks`; :func:`local_chunks` makes
            the calls here); the outputs are those of one uninterrupted run.
        probed: ``video`` (a file) as the caller already probed and checked it
            against ``config`` with :func:`check_input` (the app does, before
            a job queues): the run takes it as it is, not probing it again.

    Returns:
        The events: ``Downloading`` while weights that are not cached yet are
        fetched, ``FirstFrame``, ``Progress`` and ``Preview``, then ``Done``
        with the outputs by name and the summary.

    Raises:
        PipelineError: Outputs that do not fit the run, or paths it cannot
            write or that would destroy the input or another output
            (:class:`~pipeline.errors.OutputPathError`), at once; while
            iterating: ``VideoError`` for a bad or too-long video,
            ``PipelineError`` for anything else that failed.
        TypeError: ``config`` is no run's config.
        models.ModelError: While iterating, an unknown model, bad query or missing weights.
    """
    run = run_type(task_of(config))
    paths = _checked_outputs(run, config, outputs, video)
    return _events(run, video, config, paths, stop or threading.Event(), preview_interval_s,
                   with_first_frame, chunks, probed)  # fmt: skip


def open_input(
    video: str | Path, config: RunConfig, stop: threading.Event | None = None
) -> VideoInfo:
    """Open a run's input: probe a file (:func:`check_input`) or open a live source.

    Args:
        video: A video file, or a live source (a camera index such as ``0``,
            a stream URL such as ``rtsp://...`` or ``tcp://...``, or ``-`` for
            standard input; :func:`pipeline.io.sources.source_spec`).
        config: The run's config (its live-source timeout and tries).
        stop: Interrupts a live source's waits between tries.

    Returns:
        The input; a live one holds its open source (``info.live``), which the
        run closes.

    Raises:
        VideoError: A file that is unreadable or too long; a live source that
            could not be opened after every try, or sends no frame.
        PipelineError: A setting that does not fit the input.
    """
    spec = source_spec(str(video))
    if spec is None:
        return check_input(video, config)
    live = LiveSource(
        spec, timeout_s=config.source_timeout_s, reconnect_tries=config.reconnect_tries, stop=stop
    )
    info = VideoInfo(Path(spec.label), live.width, live.height, live.fps, 0, 0.0, live=live)
    try:
        run_type(task_of(config)).check_config(config, info)
    except BaseException:
        live.close()
        raise
    return info


def check_input(video: str | Path, config: RunConfig) -> VideoInfo:
    """Probe ``video`` and check that it and ``config`` fit each other, before any model loads.

    What the UI and the REST API check before they queue a run, and what every
    run checks first (:func:`start` takes the app's result as it is: ``probed``).

    Raises:
        VideoError: Unreadable, or longer than the config's limit.
        PipelineError: A setting that does not fit the video (a counting
            line outside its frame...).
    """
    info = check_video(video, config.video_limits())
    run_type(task_of(config)).check_config(config, info)
    return info


def _events(
    run_class: type[Run],
    video: str | Path,
    config: RunConfig,
    outputs: dict[str, Path],
    stop: threading.Event,
    preview_interval_s: float,
    with_first_frame: bool,
    chunks: ChunkPlan | None,
    probed: VideoInfo | None,
) -> Iterator[Event]:
    info = probed if probed is not None else open_input(video, config, stop)
    try:
        # Weights are fetched before anything loads them (and after the video is
        # known to be good): a download is never paid for inside a borrowed GPU.
        yield from fetch_weights(config.model_loads())
        devices = prepare_devices(config.devices)
        # Models load here, so a bad model, weights or query fails before any thread or
        # file; a run split into calls loads them only in its calls (on ZeroGPU the GPU
        # exists only there), which say what they loaded.
        run = run_class(config, info, devices, load_models=chunks is None)
    except BaseException:
        if info.live is not None:
            info.live.close()
        raise
    yield from run.events(
        outputs, stop=stop, preview_interval_s=preview_interval_s,
        with_first_frame=with_first_frame, chunks=chunks,
    )  # fmt: skip


def chunk_results(
    video: str | Path,
    config: RunConfig,
    chunk: Chunk,
    stop: threading.Event | None = None,
) -> Iterator[Any]:
    """One call of a run split into calls: the model results for ``chunk``'s frames.

    What a call does wherever it runs (here, or in a ZeroGPU worker): it loads
    (or finds cached) the same models as the run, decodes from the chunk's
    first frame and gives each frame's result, then what the next call needs.

    Args:
        video: The input video file.
        config: The run's config (its type says the kind of run).
        chunk: Which frames, and the previous call's state.
        stop: Ends the call early.

    Yields:
        ``(frame index, result)`` in frame order, then one
        :class:`~pipeline.runtime.chunks.ChunkEnd`.

    Raises:
        VideoError, models.ModelError, PipelineError: As for :func:`start`.
    """
    task = task_of(config)
    run_class = run_type(task)
    info = check_input(video, config)
    with pipeline_errors(f"The {task} run"):
        run = run_class(config, info, prepare_devices(config.devices))
    try:
        with pipeline_errors(f"The {task} run"):
            yield from run.chunk_results(chunk, stop or threading.Event())
    finally:
        run.close()


def local_chunks(video: str | Path, config: RunConfig, frames: int) -> ChunkPlan:
    """A plan whose calls run here, one after the other (:func:`chunk_results`).

    What the UI's setting of frames per GPU call does off ZeroGPU, and how the
    tests check that a run split into calls equals one that is not.

    Args:
        video: The input video file.
        config: The run's config.
        frames: Frames per call, at most.
    """
    return ChunkPlan(frames, lambda chunk: chunk_results(video, config, chunk))


def first_frame(
    video: str | Path, config: RunConfig, *, probed: VideoInfo | None = None
) -> FirstFrame:
    """The first frame as the config's run would show it, done alone on the first device.

    Args:
        video: The input video file.
        config: The run's config (its type says the kind of run).
        probed: ``video`` as already probed and checked, as for :func:`start`.

    Returns:
        The annotated (or coloured) first frame and what was found on it.

    Raises:
        VideoError: The video is unreadable or too long.
        models.ModelError: Unknown model, bad query or missing weights.
        PipelineError: Anything else that failed.
    """
    run_class = run_type(task_of(config))
    info = probed if probed is not None else open_input(video, config)
    try:
        for _ in fetch_weights(config.model_loads()):
            pass
        devices = prepare_devices(config.devices)[:1]
        with pipeline_errors("The first frame"):
            run = run_class(config, info, devices)
            try:
                return run.preview(info.first_frame())
            finally:
                run.close()
    finally:
        if info.live is not None:
            info.live.close()
