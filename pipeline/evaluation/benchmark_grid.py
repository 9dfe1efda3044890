"""Benchmarks over many settings at once: detectors × sizes × runtimes × batch sizes × devices.

Each configuration is measured as :mod:`pipeline.evaluation.benchmark` measures
one, in the same process and on the same decoded clip: model-only fps (the
detector alone on frames decoded beforehand), end-to-end fps of the whole run,
time to its first preview, per-stage latency (decode, preprocess, inference,
postprocess, track, annotate, encode) and peak memory. The rows come out as
JSON-ready dicts, and as CSV.

Example:
    plan = BenchmarkPlan(detectors=("yolox_nano",), batch_sizes=(1, 4))
    rows = run_grid(plan, Path("clip.mp4"), Path("/tmp/work"))
    rows[0]["end_to_end_fps"], rows[0]["stage_ms_per_frame"]["inference"]
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

import models
from models.runtimes import AUTO, INT8, known_runtimes, runtimes_for
from pipeline.configs import ConfigError, DetectionConfig
from pipeline.errors import RunStopped
from pipeline.evaluation.benchmark import end_to_end, fetch_weights_first, model_only
from pipeline.io.video import iter_frames
from pipeline.runtime.devices import resolve_devices

#: The stages a run's latency is split into, in pipeline order.
STAGES = ("decode", "preprocess", "inference", "postprocess", "track", "annotate", "encode")
#: Most memory the frames kept for the model-only passes may take: the clip is
#: held decoded, and a long 4K clip within the video limits would not fit
#: (36000 frames of 26 MB each). The model-only fps is measured on its first frames.
MODEL_ONLY_MAX_BYTES = 512 * 2**20
#: How often peak memory is sampled while a run is measured.
MEMORY_SAMPLE_S = 0.05
#: The threads besides the device workers whose time the stages count (decoder,
#: in-order stage, encoder): stage seconds add up to at most this many plus the
#: workers, times the wall time.
PIPELINE_THREADS = 3


@dataclass(frozen=True)
class BenchmarkPlan:
    """What to measure: every combination of these is one configuration.

    Attributes:
        detectors: Registry names of the detectors.
        sizes: Sizes to try (None: each detector's default; a size a detector
            lacks is skipped for it).
        runtimes: Runtimes (``torch``, ``onnxruntime``, ``openvino``,
            ``onnxruntime-int8``...; None: the detector's own choice); a
            detector is measured on those it offers (docs/cpu-runtimes.md).
        batch_sizes: Frames per model call.
        device_sets: Devices per run, e.g. ``(("cuda:0",), ("cuda:0", "cuda:1"))``
            (empty: every visible GPU, else the CPU).
        weights: Weights for every detector (e.g. ``yolo11n.yaml`` offline);
            None: each detector's own.
        max_frames: Frames of the clip used (None: all).
    """

    detectors: tuple[str, ...] = ("yolo11",)
    sizes: tuple[str | None, ...] = (None,)
    runtimes: tuple[str | None, ...] = (None,)
    batch_sizes: tuple[int, ...] = (1,)
    device_sets: tuple[tuple[str, ...], ...] = ((),)
    weights: str | None = None
    max_frames: int | None = None

    def __post_init__(self) -> None:
        for name in ("detectors", "sizes", "runtimes", "batch_sizes", "device_sets"):
            if not getattr(self, name):
                raise ConfigError(f"Choose at least one of {name.replace('_', ' ')}.")
        for detector in self.detectors:
            models.spec("detector", detector)  # an unknown one lists the valid ones
        bad = [b for b in self.batch_sizes if not (isinstance(b, int) and b >= 1)]
        if bad:
            raise ConfigError(f"Batch sizes must be whole numbers of at least 1, not {bad[0]}.")
        known = known_runtimes()
        unknown = [r for r in self.runtimes if r is not None and r not in known]
        if unknown:
            raise ConfigError(f"Unknown runtime {unknown[0]!r}. Choose one of {', '.join(known)}.")
        for devices in self.device_sets:
            resolve_devices(devices)  # a device that does not exist is an error now
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError(f"max_frames must be at least 1, not {self.max_frames}.")
        if not self.configs():
            raise ConfigError(f"Nothing to measure: {'; '.join(self._unmeasured())}.")

    def configs(self) -> list[DetectionConfig]:
        """One config per combination a detector supports (its sizes, its runtimes)."""
        configs = []
        for detector, size, runtime, batch, devices in itertools.product(
            self.detectors, self.sizes, self.runtimes, self.batch_sizes, self.device_sets
        ):
            spec = models.spec("detector", detector)
            if size is not None and size not in spec.sizes:
                continue
            if runtime is not None and runtime not in runtimes_for("detector", detector):
                continue
            configs.append(
                DetectionConfig(
                    detector=detector,
                    size=size,
                    weights=self.weights if _weights_fit(self.weights, detector) else None,
                    batch_size=batch,
                    devices=devices,
                    max_duration_s=None,
                    max_frames=self.max_frames,
                    # The config's field, not a model option: it leaves "torch" out for a
                    # PyTorch-only detector, whose factory takes no runtime.
                    runtime=runtime or AUTO,
                )
            )
        return configs

    def _unmeasured(self) -> list[str]:
        """Per detector, the sizes or runtimes asked for that it lacks, and those it has."""
        sizes = [size for size in self.sizes if size is not None]
        runtimes = [runtime for runtime in self.runtimes if runtime is not None]
        reasons = []
        for detector in dict.fromkeys(self.detectors):
            # None (each one's default, its own runtime) suits every detector.
            own = models.spec("detector", detector).sizes
            if len(sizes) == len(self.sizes) and not set(sizes) & set(own):
                asked = ", ".join(sizes)
                reasons.append(
                    f"{detector} does not come in {asked} (its sizes: {', '.join(own)})"
                    if own
                    else f"{detector} comes in one size only, not {asked}"
                )
            offered = [r for r in runtimes_for("detector", detector) if r != AUTO]
            if len(runtimes) == len(self.runtimes) and not set(runtimes) & set(offered):
                reasons.append(
                    f"{detector} does not run on {', '.join(runtimes)} "
                    f"(its runtimes: {', '.join(offered)})"
                )
        return reasons


def _runtime_name(model: dict[str, Any]) -> str:
    """The runtime that ran, as ``--runtime`` names it (``onnxruntime-int8``)."""
    runtime = model.get("runtime") or ("onnxruntime" if "providers" in model else "torch")
    return f"{runtime}-int8" if model.get("precision") == INT8 else runtime


def _weights_fit(weights: str | None, detector: str) -> bool:
    """Architecture files (``.yaml``) suit the ultralytics detectors only."""
    if weights is None:
        return False
    ultralytics = "ultralytics" in runtimes_for("detector", detector)
    return not weights.endswith((".yaml", ".yml")) or ultralytics


@dataclass
class _PeakMemory:
    """The process's peak resident memory while a block runs (sampled)."""

    peak_bytes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> _PeakMemory:
        process = psutil.Process()
        self.peak_bytes = process.memory_info().rss

        def watch() -> None:
            while not self._stop.wait(MEMORY_SAMPLE_S):
                self.peak_bytes = max(self.peak_bytes, process.memory_info().rss)

        self._thread = threading.Thread(target=watch, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _cuda_peak_reset() -> Callable[[], float | None]:
    import torch

    if not torch.cuda.is_available():
        return lambda: None
    torch.cuda.reset_peak_memory_stats()
    return lambda: round(torch.cuda.max_memory_allocated() / 2**20, 1)


def measure(
    config: DetectionConfig,
    video: Path,
    images: list[Any],
    workdir: Path,
    stopped: Callable[[], bool] | None = None,
) -> dict:
    """One configuration's row: model-only and end-to-end fps, stage latency, memory.

    Args:
        config: The configuration.
        video: The clip.
        images: The clip's frames, decoded once for every model-only measurement.
        workdir: Where the measured run writes its (throw-away) outputs.
        stopped: Asked while it measures; True stops it (``RunStopped``).

    Returns:
        ``detector``, ``size``, ``runtime``, ``batch_size``, ``devices``,
        ``frames``, ``seconds``, ``end_to_end_fps`` (frames / seconds),
        ``model_only_fps``, ``first_preview_s``, ``stage_ms_per_frame``
        (:data:`STAGES`), ``stage_seconds`` (the totals behind them),
        ``threads`` (the threads those totals are spread over), ``peak_rss_mib``
        and ``peak_cuda_mib`` (None without CUDA).
    """
    model_fps = model_only(config, images, stopped=stopped)
    cuda_peak = _cuda_peak_reset()
    with _PeakMemory() as memory:
        run = end_to_end(config, video, workdir, stopped=stopped)
    frames, seconds = run["frames"], run["seconds"]
    timing = run["timing_s"]
    model = run["model"]
    return {
        "detector": config.detector,
        "size": model.get("size"),
        "runtime": _runtime_name(model),
        "batch_size": config.batch_size,
        "devices": run["devices"],
        "frames": frames,
        "seconds": seconds,
        "end_to_end_fps": frames / seconds,
        "model_only_fps": model_fps,
        "first_preview_s": run["first_preview_s"],
        "stage_ms_per_frame": {s: 1000 * timing.get(s, 0.0) / max(frames, 1) for s in STAGES},
        "stage_seconds": {s: timing.get(s, 0.0) for s in STAGES},
        "threads": len(run["devices"]) + PIPELINE_THREADS,
        "peak_rss_mib": round(memory.peak_bytes / 2**20, 1),
        "peak_cuda_mib": cuda_peak(),
    }


def run_grid(
    plan: BenchmarkPlan,
    video: Path,
    workdir: Path,
    *,
    progress: Callable[[int, int, DetectionConfig], None] | None = None,
    stopped: Callable[[], bool] | None = None,
) -> list[dict[str, Any]]:
    """Measure every configuration of ``plan`` on ``video``.

    Args:
        plan: What to measure.
        video: The clip (decoded once; the model-only passes reuse its frames).
        workdir: Where the runs write their throw-away outputs.
        progress: Called before each configuration with ``(index, total, config)``.
        stopped: Asked before each configuration and while it is measured;
            True ends the grid within about a frame (its caller was stopped,
            or its client went away).

    Returns:
        One row per configuration (see :func:`measure`), in plan order.

    Raises:
        RunStopped: ``stopped`` said so; the rows measured so far are dropped
            (a grid's figures mean something only together).
        models.MissingWeightsError: A detector's weights cannot be had here
            (said before anything is measured).
    """
    configs = plan.configs()
    fetch_weights_first(configs)
    images = model_only_frames(video, plan.max_frames)
    rows = []
    for index, config in enumerate(configs):
        if stopped is not None and stopped():
            raise RunStopped(
                f"The benchmark was stopped after {index} of {len(configs)} configurations."
            )
        if progress is not None:
            progress(index, len(configs), config)
        folder = workdir / f"run-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        rows.append(measure(config, video, images, folder, stopped))
    return rows


def model_only_frames(video: Path, max_frames: int | None) -> list[Any]:
    """The clip's first frames, decoded once for the model-only passes.

    At most ``max_frames`` of them (None: all), and no more than
    :data:`MODEL_ONLY_MAX_BYTES` take (at least one frame).
    """
    images: list[Any] = []
    held = 0
    for frame in iter_frames(video, max_frames):
        held += frame.image.nbytes
        if images and held > MODEL_ONLY_MAX_BYTES:
            break
        images.append(frame.image)
    return images


def scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """End-to-end fps against the number of devices, and the share each device keeps.

    Returns:
        Per row: its label, ``devices``, ``end_to_end_fps`` and
        ``scaling_per_device``: fps / (fps on one device × devices), against
        the same detector, size, runtime and batch size on one device (None
        when that was not measured).
    """
    single = {_key(r): r["end_to_end_fps"] for r in rows if len(r["devices"]) == 1}
    return [
        {
            "config": label(row),
            "devices": len(row["devices"]),
            "end_to_end_fps": row["end_to_end_fps"],
            "scaling_per_device": (
                row["end_to_end_fps"] / (single[_key(row)] * len(row["devices"]))
                if _key(row) in single
                else None
            ),
        }
        for row in rows
    ]


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["detector"], row["size"], row["runtime"], row["batch_size"]


def label(row: dict[str, Any]) -> str:
    """A short name of a row's configuration, e.g. ``yolo11-n onnxruntime b8 cpu``."""
    name = row["detector"] + (f"-{row['size']}" if row["size"] else "")
    runtime = f" {row['runtime']}" if row["runtime"] else ""
    return f"{name}{runtime} b{row['batch_size']} {'+'.join(row['devices'])}"


CSV_COLUMNS = (
    "detector", "size", "runtime", "batch_size", "devices", "frames", "seconds",
    "end_to_end_fps", "model_only_fps", "first_preview_s", "peak_rss_mib", "peak_cuda_mib",
    *(f"{stage}_ms_per_frame" for stage in STAGES),
)  # fmt: skip


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV: one line per configuration, the stage latencies as columns."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {**row, "devices": "+".join(row["devices"])}
        flat.update({f"{s}_ms_per_frame": v for s, v in row["stage_ms_per_frame"].items()})
        writer.writerow({k: _rounded(v) for k, v in flat.items()})
    return out.getvalue()


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def iter_stage_bars(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``{"config", "stage", "ms_per_frame"}`` per row and stage: the stacked bars' data."""
    for row in rows:
        for stage in STAGES:
            ms = row["stage_ms_per_frame"][stage]
            yield {"config": label(row), "stage": stage, "ms_per_frame": ms}
