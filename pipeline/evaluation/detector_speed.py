"""Model-only speed of several detectors on one clip, measured in interleaved rounds.

Each round measures every detector once (:func:`pipeline.evaluation.benchmark.model_only`:
the detector alone on frames decoded beforehand, after a warm-up pass), so that
a machine whose load changes during the measurement (other people's jobs on a
shared machine) slows every detector alike rather than whichever ran then.
The figure kept per detector is its median over the rounds, with the spread.

Run it as ``python -m pipeline.evaluation.detector_speed CLIP [--rounds N]
[--frames N] [--json PATH] SPEC...`` where each ``SPEC`` is
``detector:size:weights[:runtime]``, e.g. ``yolo11:s:yolo11s.yaml`` or
``d_fine:s:random:s`` (random weights of a published architecture).

Example:
    >>> parse_spec("d_fine:s:random:s").weights
    'random:s'
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from pipeline.configs import DetectionConfig
from pipeline.evaluation.benchmark import model_only
from pipeline.io.video import iter_frames

#: Runtimes that only the ultralytics detectors take.
_RUNTIME_OPTION = "runtime"


@dataclass(frozen=True)
class Spec:
    """One detector to measure: name, size, weights and, for YOLO, the runtime."""

    detector: str
    size: str
    weights: str
    runtime: str | None = None

    @property
    def label(self) -> str:
        """e.g. ``d_fine-s`` or ``yolo11-s (onnxruntime)``."""
        runtime = f" ({self.runtime})" if self.runtime else ""
        return f"{self.detector}-{self.size}{runtime}"

    def config(self) -> DetectionConfig:
        """The detection settings :func:`model_only` takes, on the CPU."""
        options = ((_RUNTIME_OPTION, self.runtime),) if self.runtime else ()
        return DetectionConfig(
            detector=self.detector,
            size=self.size,
            weights=self.weights,
            devices=("cpu",),
            detector_options=options,
        )


def parse_spec(text: str) -> Spec:
    """``detector:size:weights[:runtime]``; a ``random:<size>`` weights keeps its colon.

    Raises:
        ValueError: Fewer than three fields.
    """
    detector, size, rest = (text.split(":", 2) + ["", ""])[:3]
    if not (detector and size and rest):
        raise ValueError(f"expected detector:size:weights[:runtime], got {text!r}")
    if rest.startswith("random:"):
        return Spec(detector, size, rest)
    weights, _, runtime = rest.partition(":")
    return Spec(detector, size, weights, runtime or None)


def measure(specs: Sequence[Spec], clip: Path, *, rounds: int, frames: int) -> list[dict[str, Any]]:
    """Every spec's model-only fps in each of ``rounds`` interleaved rounds.

    Args:
        specs: The detectors to compare.
        clip: The video whose first ``frames`` frames every detector sees.
        rounds: How many times each detector is measured, in turn.
        frames: Frames per measurement.

    Returns:
        One row per spec: its label, every round's fps, the median and the range.
    """
    images = [frame.image for frame in iter_frames(clip, frames)]
    per_spec: dict[Spec, list[float]] = {spec: [] for spec in specs}
    for round_index in range(rounds):
        for spec in specs:
            per_spec[spec].append(model_only(spec.config(), images))
            # As it goes: on a busy machine a full measurement takes a while.
            print(f"round {round_index + 1}: {spec.label} {per_spec[spec][-1]:.2f} fps", flush=True)
    return [
        {
            "detector": spec.label,
            "weights": spec.weights,
            "fps_per_round": [round(fps, 2) for fps in values],
            "median_fps": round(statistics.median(values), 2),
            "min_fps": round(min(values), 2),
            "max_fps": round(max(values), 2),
        }
        for spec, values in per_spec.items()
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print a table, and optionally save the rows with the machine's description."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("specs", nargs="+", type=parse_spec, metavar="SPEC")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = measure(args.specs, args.clip, rounds=args.rounds, frames=args.frames)
    for row in rows:
        print(
            f"{row['detector']:<32} {row['median_fps']:7.2f} fps "
            f"(rounds: {', '.join(f'{v:.2f}' for v in row['fps_per_round'])})"
        )
    if args.json:
        machine = {
            "cpu": platform.processor() or platform.machine(),
            "logical_cpus": psutil.cpu_count(),
            "load_average_after": list(psutil.getloadavg()),
        }
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
