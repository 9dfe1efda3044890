"""Every runtime and precision a detector offers, measured side by side in one run.

``python -m pipeline bench VIDEO --detector yolox_nano --compare-runtimes``:
for each runtime the detector takes (``"auto"`` aside), model-only fps on the
clip's decoded frames and end-to-end fps of the full pipeline, with their
ratios to ONNX Runtime float32 and to the shared-cores bound (decode, model and
encode times per frame added, as in :mod:`pipeline.evaluation.benchmark`).

A runtime that runs several frames at once on a CPU (ONNX Runtime, one frame
per core: :class:`models.onnx_sessions.FrameParallelSession`) is measured both
ways, one frame at a time and as many as it runs at once (its CPU batch size,
what a run of a file uses); the reference is ONNX Runtime float32 one frame at
a time, as every runtime ran before.

The model-only passes are interleaved (every runtime once per round, best
round kept), so that a burst of load on a shared machine hits all of them
alike; comparing figures from separate runs on a shared machine says little.
The figures also say which runtime ``"auto"`` picks here: the one a run of the
detector gets, chosen once per process at its first load
(:func:`models.runtimes.fastest`), and which runtime this comparison found
fastest end to end, which need not be the same.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import models
from models.runtimes import AUTO, runtimes_for, split_runtime
from pipeline.configs import DetectionConfig
from pipeline.evaluation.benchmark import (
    decode_only,
    encode_only,
    end_to_end,
    fetch_weights_first,
)
from pipeline.evaluation.benchmark_grid import model_only_frames
from pipeline.runs.detection import load_detector
from pipeline.runtime.devices import prepare_devices

#: The reference every ratio is taken to.
REFERENCE = "onnxruntime"
ROUNDS = 3


def compare_runtimes(
    config: DetectionConfig, video: Path, *, rounds: int = ROUNDS, end_to_end_runs: bool = True
) -> dict[str, Any]:
    """Measure every runtime of ``config.detector`` on ``video``.

    Args:
        config: The detection settings (its ``runtime`` is ignored: all are measured;
            its ``max_frames`` bounds the frames of the clip used).
        video: The clip.
        rounds: Interleaved model-only passes over the clip per runtime.
        end_to_end_runs: Also run the whole pipeline once per runtime.

    Returns:
        ``decode_fps``, ``encode_fps``, ``auto_picks`` (what ``auto`` runs here:
        :func:`_auto_pick`), ``fastest_end_to_end`` (the runtime of the fastest
        entry end to end; None without ``end_to_end_runs``) and ``runtimes``: one
        entry per runtime and ``frames_at_once`` with ``runtime``, ``precision``,
        ``model_only_fps``,
        ``end_to_end_fps``, ``ratio_model_only_over_onnxruntime``,
        ``ratio_end_to_end_over_onnxruntime`` and
        ``ratio_end_to_end_over_shared_cores_bound``.
    """
    device = prepare_devices(config.devices)[0]
    names = [r for r in runtimes_for("detector", config.detector) if r != AUTO]
    fetch_weights_first([config])
    # Held in memory for the model-only passes: at most max_frames, and a bounded size.
    images = model_only_frames(video, config.max_frames)
    results: dict[str, Any] = {
        "detector": config.detector,
        "size": config.size,
        "weights": config.weights,
        "device": device,
        "frames": len(images),
    }
    results["decode_fps"], _ = decode_only(video, config.max_frames)
    with tempfile.TemporaryDirectory() as tmp:
        results["encode_fps"] = encode_only(video, images, Path(tmp))
    detectors = {name: load_detector(dataclasses.replace(config, runtime=name), device)
                 for name in names}  # fmt: skip
    variants = [
        (name, batch)
        for name, detector in detectors.items()
        for batch in sorted({1, config.batch_size or detector.default_batch_size})
        if not config.batch_size or batch == config.batch_size
    ]
    model_only = _interleaved_model_only(detectors, variants, config, images, rounds)
    entries = []
    for name, batch in variants:
        engine, precision = split_runtime(name)
        entry: dict[str, Any] = {
            "runtime": engine,
            "precision": precision,
            "ran_on": getattr(detectors[name], "runtime", name),
            "frames_at_once": batch,
            "model_only_fps": model_only[name, batch],
        }
        if end_to_end_runs:
            run_config = dataclasses.replace(config, runtime=name, batch_size=batch)
            with tempfile.TemporaryDirectory() as tmp:
                entry["end_to_end_fps"] = end_to_end(run_config, video, Path(tmp))["fps"]
            bound = 1 / sum(
                1 / fps
                for fps in (results["decode_fps"], results["encode_fps"], entry["model_only_fps"])
            )
            entry["shared_cores_bound_fps"] = bound
            entry["ratio_end_to_end_over_shared_cores_bound"] = entry["end_to_end_fps"] / bound
        entries.append(entry)
    reference = next(
        (e for e in entries if e["ran_on"] == REFERENCE and e["frames_at_once"] == 1), None
    )
    for entry in entries:
        for figure in ("model_only_fps", "end_to_end_fps"):
            if reference is not None and figure in entry:
                key = f"ratio_{figure.removesuffix('_fps')}_over_{REFERENCE}"
                entry[key] = entry[figure] / reference[figure]
    results["runtimes"] = entries
    results["auto_picks"] = _auto_pick(config, device)
    timed = [entry for entry in entries if "end_to_end_fps" in entry]
    fastest = max(timed, key=lambda entry: entry["end_to_end_fps"], default=None)
    results["fastest_end_to_end"] = fastest["ran_on"] if fastest is not None else None
    results["model_label"] = models.spec("detector", config.detector).label
    return results


def _interleaved_model_only(
    detectors: dict[str, Any],
    variants: list[tuple[str, int]],
    config: DetectionConfig,
    images: list[np.ndarray],
    rounds: int,
) -> dict[tuple[str, int], float]:
    """Best-of-rounds model-only fps per runtime and batch, taking turns each round."""
    best = dict.fromkeys(variants, 0.0)
    for detector in detectors.values():  # warm-up: first calls build caches and kernels
        detector.detect(images[:2], confidence=config.confidence)
    for _ in range(rounds):
        for name, batch in variants:
            detector = detectors[name]
            queries = detector.validate_queries(config.queries)
            start = time.perf_counter()
            for i in range(0, len(images), batch):
                chunk = images[i : i + batch]
                detector.detect(chunk, confidence=config.confidence, queries=queries)
            best[name, batch] = max(best[name, batch], len(images) / (time.perf_counter() - start))
    return best


def _auto_pick(config: DetectionConfig, device: str) -> str | None:
    """The runtime ``auto`` runs here: that of the instance a run of ``config`` with it gets.

    Not measured again: ``auto`` chooses once per process, at the detector's first
    load, and runs keep that choice; measured afresh (on a machine the comparison
    has just loaded) it named runtimes the runs did not use. In a process that has
    not loaded the detector yet, this is that first load.
    """
    detector = load_detector(dataclasses.replace(config, runtime=AUTO), device)
    return getattr(detector, "runtime", None)


def table(results: dict[str, Any]) -> str:
    """The comparison as aligned text, one runtime per line."""
    header = (
        "runtime", "precision", "frames at once", "model fps", "x ORT", "e2e fps", "x ORT",
        "e2e/bound",
    )  # fmt: skip
    rows = [header]
    for e in results["runtimes"]:
        rows.append((
            e["ran_on"],
            e["precision"],
            str(e["frames_at_once"]),
            f"{e['model_only_fps']:.1f}",
            _ratio(e.get(f"ratio_model_only_over_{REFERENCE}")),
            f"{e['end_to_end_fps']:.1f}" if "end_to_end_fps" in e else "-",
            _ratio(e.get(f"ratio_end_to_end_over_{REFERENCE}")),
            _ratio(e.get("ratio_end_to_end_over_shared_cores_bound")),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(
        f"decode {results['decode_fps']:.1f} fps, encode {results['encode_fps']:.1f} fps; "
        f"auto picks: {results['auto_picks']}"
    )
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
