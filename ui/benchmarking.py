"""Benchmarks and profiles as the Benchmark tab and the REST API run them.

Both go through the app's job store: a benchmark waits in the same queue as
runs and jobs and then holds every device while it measures, so no run shares
a device with it. Its results (JSON, CSV, a profile's trace) are files of its
job, swept with the others.

Example:
    >>> plan = parse_plan("yolox_nano", "", "", "1, 8", "")
    >>> plan.batch_sizes
    (1, 8)
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from pipeline.configs import ConfigError, DetectionConfig
from pipeline.evaluation import analysis, benchmark_grid, profiling, runtime_comparison
from pipeline.evaluation.benchmark_grid import BenchmarkPlan
from pipeline.jobs import JobStore, Requester
from pipeline.request import config_from_fields, number
from pipeline.runtime.template import check_video

#: What a benchmark measures when no video is given: a shipped example clip.
EXAMPLE_CLIP = Path(__file__).resolve().parents[1] / "assets" / "one_by_one_person.mp4"


#: Longest name or number in a benchmark's lists (a model, size, runtime, device):
#: none is near it, and an unknown one is quoted whole in its message.
MAX_NAME_CHARS = 40


def _names(text: str | list[str] | None) -> list[str]:
    if isinstance(text, list):
        names = [str(t).strip() for t in text if str(t).strip()]
    else:
        names = [part.strip() for part in (text or "").split(",") if part.strip()]
    for name in names:
        _check_name_length(name)
    return names


def _check_name_length(name: str) -> None:
    """Refuse a name longer than :data:`MAX_NAME_CHARS`, quoting only its start.

    Raises:
        ConfigError: Naming the limit.
    """
    if len(name) > MAX_NAME_CHARS:
        raise ConfigError(
            f"{name[:20]!r}... is {len(name)} characters long; a model, size, runtime, "
            f"device or batch size is at most {MAX_NAME_CHARS}."
        )


def _whole_numbers(
    name: str, text: str | list[Any] | None, default: tuple[int, ...]
) -> tuple[int, ...]:
    values = _names([str(v) for v in text] if isinstance(text, list) else text)
    numbers = []
    for value in values:
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not number.is_integer():
            raise ConfigError(f"{name} must be whole numbers, not {value!r}.")
        numbers.append(int(number))
    return tuple(numbers) or default


#: A grid whose lists multiply past this is refused before its configs are built.
GRID_PRODUCT_CAP = 1000


def check_grid(plan: BenchmarkPlan, most: int) -> None:
    """Refuse a benchmark of more than ``most`` combinations (rows), before it starts.

    Every route checks it (REST, the tab, ``gradio_client``): each row is a measured run.

    Raises:
        ConfigError: Naming the limit.
    """
    lists = (plan.detectors, plan.sizes, plan.runtimes, plan.batch_sizes, plan.device_sets)
    product = math.prod(max(1, len(values)) for values in lists)
    rows = product if product > max(GRID_PRODUCT_CAP, most) else len(plan.configs())
    if rows > most:
        raise _too_many_rows(rows, most)


def _too_many_rows(rows: int, most: int) -> ConfigError:
    return ConfigError(
        f"The benchmark asks for {rows} combinations; the limit is {most}. "
        "Ask for fewer detectors, sizes, runtimes, batch sizes or device sets."
    )


def parse_plan(
    detectors: str | list[str] | None,
    sizes: str | list[str] | None,
    runtimes: str | list[str] | None,
    batch_sizes: str | list[Any] | None,
    device_sets: str | None,
    *,
    max_frames: int | None = None,
    weights: str | None = None,
    max_rows: int | None = None,
) -> BenchmarkPlan:
    """A benchmark plan from what a form or an API client sent (lists or comma-separated text).

    Args:
        detectors: Detector names (required).
        sizes: Sizes (empty: each detector's default).
        runtimes: YOLO runtimes (empty: each detector's own).
        batch_sizes: Frames per model call (empty: 1).
        device_sets: Device sets separated by ``;``, devices in a set by ``,``
            (``"cuda:0; cuda:0,cuda:1"``; empty: every GPU, else the CPU).
        max_frames: Frames of the clip used (None: all).
        weights: Weights for every detector (tests use architecture files).
        max_rows: Most combinations (:func:`check_grid`; None: no limit).

    Raises:
        ConfigError: Nothing to measure, a bad number, an unknown runtime or
            device, more than ``max_rows`` combinations.
        models.UnknownModelError: An unknown detector.
    """
    chosen = _names(detectors)
    if not chosen:
        raise ConfigError("Choose at least one detector to benchmark.")
    sets = tuple(
        tuple(_names(part)) for part in (device_sets or "").split(";") if _names(part)
    ) or ((),)
    lists = {
        "detectors": tuple(chosen),
        "sizes": tuple(_names(sizes)) or (None,),
        "runtimes": tuple(_names(runtimes)) or (None,),
        "batch_sizes": _whole_numbers("Batch sizes", batch_sizes, (1,)),
        "device_sets": sets,
    }
    product = math.prod(len(values) for values in lists.values())
    if max_rows is not None and product > max(GRID_PRODUCT_CAP, max_rows):
        # Before the plan is built: checking it walks every combination (30000 sizes
        # by 30000 batch sizes took minutes of a worker's time to be refused).
        raise _too_many_rows(product, max_rows)
    plan = BenchmarkPlan(**lists, weights=weights, max_frames=max_frames)
    if max_rows is not None:
        check_grid(plan, max_rows)
    return plan


def profile_config(
    detector: str | None,
    size: str | None,
    runtime: str | None,
    batch_size: str | float | None,
    device: str | None,
) -> DetectionConfig:
    """The config a profile measures, from what a form or an API client sent.

    Args:
        detector: The detector (empty: the app's default, :func:`models.default_detector`).
        size: Its size (empty: its default).
        runtime: The runtime (empty: ``auto``, what a run uses).
        batch_size: Frames per call (empty: its default).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (empty: the first GPU, else the CPU).

    Raises:
        ConfigError: An unknown runtime or one the detector lacks, a batch size
            that is no whole number of at least 1, a value longer than
            :data:`MAX_NAME_CHARS`.
        models.UnknownModelError: An unknown detector or size.
    """
    for value in (detector, size, runtime, device, str(batch_size or "")):
        _check_name_length((value or "").strip())
    device = (device or "").strip()
    return _measured_config(
        detector,
        size,
        runtime=runtime,
        batch_size=number("The batch size", batch_size, int),
        devices=(device,) if device else (),
    )


def _measured_config(
    detector: str | None, size: str | None, runtime: str | None = None, **fixed: Any
) -> DetectionConfig:
    """A measure's config: the detector, size and runtime a form sent, and the measure's fields.

    Empty ones take the config's defaults, as a run's do: the app's default
    detector, its default size, ``auto``. No video is too long to measure.
    """
    fields = {"detector": detector, "size": size, "runtime": runtime}
    return config_from_fields(DetectionConfig, fields, max_duration_s=None, **fixed)


def measured_clip(video: str | Path | None) -> Path:
    """The clip a measure runs on: ``video``, or the example clip when None, checked readable.

    Raises:
        VideoError: The video is unreadable.
    """
    path = Path(video) if video else EXAMPLE_CLIP
    check_video(path, None)
    return path


def run_benchmark(
    jobs: JobStore, video: str | Path | None, plan: BenchmarkPlan, requester: Requester
) -> dict[str, Any]:
    """Measure ``plan`` on ``video`` (the example clip when None), holding every device.

    It counts against ``requester``'s share of the queue. It ends early, keeping
    nothing, when its job is stopped (``POST /detect/stop/{job_id}``) or
    ``requester.cancel`` is set (its client went away): out of the queue if it
    still waits, else within about a frame of the configuration it measures.

    Returns:
        ``job_id``, ``video``, ``rows`` (one per configuration), ``scaling``
        (fps per number of devices), ``analysis`` (for a one-minute 30 fps
        video), and the ``json`` and ``csv`` files of the results.

    Raises:
        VideoError: The video is unreadable.
        QueueFull: Every device is busy and the queue is full.
        RunStopped: Stopped or cancelled while it ran.
        PipelineError: Cancelled while it waited.
    """
    path = measured_clip(video)
    with jobs.exclusive("benchmark", requester) as job:

        def stopped() -> bool:
            return job.stop_event.is_set() or requester.cancel.is_set()

        # The measured runs' outputs are thrown away; the results stay.
        with tempfile.TemporaryDirectory(dir=job.folder) as work:
            rows = benchmark_grid.run_grid(plan, path, Path(work), stopped=stopped)
        results = {
            "job_id": job.id,
            "video": path.name,
            "rows": rows,
            "scaling": benchmark_grid.scaling(rows),
            "analysis": analysis.analyze(rows),
        }
        files = {"json": job.folder / "benchmark.json", "csv": job.folder / "benchmark.csv"}
        files["json"].write_text(json.dumps(results, indent=2))
        files["csv"].write_text(benchmark_grid.to_csv(rows))
        job.outputs.update(files)
    return {**results, **{name: str(file) for name, file in files.items()}}


#: Frames of the clip a runtime comparison uses when the form gives none: each
#: runtime decodes, detects and encodes them several times.
COMPARISON_FRAMES = 60


def comparison_config(
    detector: str | None, size: str | None, max_frames: str | float | None
) -> DetectionConfig:
    """The settings a runtime comparison measures, from what a form or an API client sent.

    Args:
        detector: The detector (empty: the app's default, :func:`models.default_detector`).
        size: Its size (empty: its default).
        max_frames: Frames of the clip used (empty: :data:`COMPARISON_FRAMES`).

    Raises:
        ConfigError: A value longer than :data:`MAX_NAME_CHARS`, or a frame count
            that is no whole number of at least 1.
        models.UnknownModelError: An unknown detector or size (when it is measured).
    """
    for value in (detector, size, str(max_frames or "")):
        _check_name_length((value or "").strip())
    frames = number("The frame count", max_frames, int)
    return _measured_config(
        detector, size, max_frames=COMPARISON_FRAMES if frames is None else frames
    )


def run_runtime_comparison(
    jobs: JobStore, video: str | Path | None, config: DetectionConfig, requester: Requester
) -> dict[str, Any]:
    """Every runtime and precision of ``config``'s detector on ``video``, holding every device.

    The same measurement as ``python -m pipeline bench --compare-runtimes``
    (:mod:`pipeline.evaluation.runtime_comparison`): model-only passes taking
    turns, one end-to-end run each, ratios to ONNX Runtime float32.

    Returns:
        Its figures (``runtimes``, ``decode_fps``, ``encode_fps``, ``auto_picks``...),
        ``job_id`` and the ``json`` file.

    Raises:
        VideoError: The video is unreadable.
        QueueFull: Every device is busy and the queue (or the client's share) is full.
        PipelineError: Cancelled while it waited.
    """
    path = measured_clip(video)
    with jobs.exclusive("runtimes", requester) as job:
        results = runtime_comparison.compare_runtimes(config, path)
        results["video"] = path.name
        file = job.folder / "runtimes.json"
        file.write_text(json.dumps(results, indent=2))
        job.outputs["json"] = file
    return {**results, "job_id": job.id, "json": str(file)}


def run_profile(
    jobs: JobStore, video: str | Path | None, config: DetectionConfig, requester: Requester
) -> dict[str, Any]:
    """Profile ``config``'s detector on a few batches of ``video``, holding every device.

    It counts against ``requester``'s share of the queue; ``requester.cancel`` (its
    client went away) takes it out of the queue. Once started it is a few batches.

    Returns:
        :func:`pipeline.evaluation.profiling.profile`'s result, with ``job_id``.

    Raises:
        PipelineError: Cancelled while it waited.
    """
    path = measured_clip(video)
    with jobs.exclusive("profile", requester) as job:
        result = profiling.profile(config, path, job.folder)
        job.outputs["trace"] = Path(result["trace"])
    return {**result, "job_id": job.id}
