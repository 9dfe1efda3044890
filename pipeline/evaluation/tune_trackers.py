r"""Choose every tracker's defaults on four MOT15 sequences together, never on one.

``python -m pipeline.evaluation.tune_trackers`` tracks the detections of TUD-Campus,
KITTI-13, ETH-Sunnyday and ADL-Rundle-6 (each at its own frame rate from ``seqinfo.ini``)
with each setting of a small grid of each tracker's main parameters, scores the results with the
``trackers`` package's evaluation (:mod:`pipeline.evaluation.track_eval`: MOTA, IDF1 and
HOTA, TrackEval's MOT15 rules) and keeps, per tracker, the setting with the best combined
score:

- the objective is the mean over the four sequences of their HOTA. HOTA weighs finding
  objects and keeping their identities in one figure; the mean over sequences counts each
  scene once, where scores summed over all frames would let ADL-Rundle-6 (half of all
  ground-truth boxes) outweigh the other three;
- settings within :data:`HOTA_TIE` of the best mean HOTA are too close to tell apart on
  sequences this short; among them the one with the best mean of MOTA + IDF1 (fewer
  false tracks and switches) wins.

``--detections`` names the detections file of each sequence: ``det_frcnn.txt`` (Faster
R-CNN, scores in 0..1 like the app's own detectors: what the registry's defaults are
tuned on), or ``det.txt`` (MOT15's public ACF detections, the default of the option,
scores mapped to 0..1 by :mod:`pipeline.evaluation.det_scores`).

Every tracker is also held to the app's own detectors: only its settings that keep
YOLOX-Nano and Faster R-CNN on TUD-Campus at the floors of ``tests/test_tracking.py`` (or
as close as the tracker gets) are candidates (:mod:`pipeline.evaluation.tracker_guard`;
``--no-guard`` shows what the four sequences alone would choose).

It prints a table per tracker (MOTA, IDF1, HOTA per sequence, their mean, and
``trackers.eval``'s aggregate over all frames, then the guard's detectors for orientation)
and writes the chosen parameters as JSON, to be copied into
:data:`pipeline.stages.tracker_registry.TRACKERS` (ByteTrack's into
:class:`pipeline.stages.tracker_registry.TrackerConfig`).

``--compare-score-maps`` instead measures the candidate score mappings
(:data:`pipeline.evaluation.det_scores.SCORE_MAPS`) with ByteTrack, and ``--calibrate``
fits the ACF logistic's two constants.

Example:
    $ python -m pipeline.evaluation.tune_trackers --detections det_frcnn.txt --out tuned.json
    $ python -m pipeline.evaluation.tune_trackers --trackers sort --sequences TUD-Campus \
          --grid track_activation_threshold=0.3,0.5
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.evaluation.det_scores import DEFAULT_SCORE_MAP, SCORE_MAPS
from pipeline.evaluation.mot import track_detections_file
from pipeline.evaluation.mot_sequences import (
    FRCNN_DETECTIONS,
    PUBLIC_DETECTIONS,
    MotSequence,
    find_sequences,
    sequence_parser,
)
from pipeline.evaluation.track_eval import COMBINED, MEAN, METRICS, score_tracking
from pipeline.evaluation.tracker_guard import GuardCase, build_guard, check, floors, passes
from pipeline.io.mot_files import read_mot_rows
from pipeline.stages.tracker_registry import TRACKERS

#: Mean-HOTA differences below this (half a HOTA point) do not decide between settings.
HOTA_TIE = 0.005

# Each tracker's main parameters and the values tried (the product of them all); the
# parameters not named keep their registry defaults. Scores are the mapped ones (0..1).
# ByteTrack's score thresholds start high: the guard rules out the low ones.
_THRESHOLDS = (0.3, 0.45, 0.6, 0.75, 0.9, 1.0)
_LOW_THRESHOLDS = (0.12, 0.25, 0.4)
_BOTSORT_ROUNDS = {
    "track_activation_threshold": _THRESHOLDS,
    "high_conf_det_threshold": _LOW_THRESHOLDS,
    "minimum_iou_threshold_first_assoc": (0.1, 0.2, 0.3),
    "minimum_consecutive_frames": (1, 2, 3),
}
GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "bytetrack": {
        "track_activation_threshold": (0.5, 0.6, 0.7, 0.8, 0.9),
        "high_conf_det_threshold": (0.2, 0.3, 0.4, 0.5, 0.6),
        "minimum_iou_threshold": (0.05, 0.1, 0.15, 0.2),
        "minimum_consecutive_frames": (1, 2, 3),
        "lost_track_buffer": (30, 60),
    },
    "sort": {
        "track_activation_threshold": _THRESHOLDS,
        "minimum_iou_threshold": (0.1, 0.2, 0.3),
        "minimum_consecutive_frames": (1, 2, 3),
        "lost_track_buffer": (15, 30, 60),
    },
    "ocsort": {
        "high_conf_det_threshold": _THRESHOLDS,
        "minimum_iou_threshold": (0.1, 0.2, 0.3),
        "minimum_consecutive_frames": (1, 2, 3),
        "direction_consistency_weight": (0.0, 0.2),
    },
    "botsort": _BOTSORT_ROUNDS,
    "cbiou": {
        "track_activation_threshold": _THRESHOLDS,
        "high_conf_det_threshold": _LOW_THRESHOLDS,
        "minimum_iou_threshold_first_assoc": (0.2, 0.3, 0.4),
        "minimum_consecutive_frames": (1, 2),
        "buffer_ratio_first": (0.1, 0.3),
    },
    # McByte's box mode takes BoT-SORT's association parameters: the same grid.
    "mcbyte": _BOTSORT_ROUNDS,
}


@dataclass(frozen=True)
class Trial:
    """One setting of one tracker and its scores.

    Attributes:
        tracker: The tracker's name.
        params: The parameters given (the others are the registry's).
        scores: :func:`pipeline.evaluation.track_eval.score_tracking`'s result.
    """

    tracker: str
    params: dict[str, Any]
    scores: dict[str, dict[str, float]]

    @property
    def hota(self) -> float:
        """The objective: mean HOTA over the sequences."""
        return self.scores[MEAN]["hota"]

    @property
    def mota_idf1(self) -> float:
        """The tie-break: mean MOTA + mean IDF1."""
        return self.scores[MEAN]["mota"] + self.scores[MEAN]["idf1"]


def evaluate(
    tracker: str,
    params: Mapping[str, Any],
    sequences: Sequence[MotSequence],
    score_map: str = DEFAULT_SCORE_MAP,
    detections: str = PUBLIC_DETECTIONS,
) -> Trial:
    """Track every sequence's detections with one setting and score the results.

    Args:
        tracker: A tracker name.
        params: Overrides of its registry defaults.
        sequences: The sequences.
        score_map: How the detections' scores are mapped to 0..1 (when they are not
            already in 0..1).
        detections: The detections file in each sequence folder.

    Returns:
        The trial, scored with :func:`pipeline.evaluation.track_eval.score_tracking`.
    """
    with tempfile.TemporaryDirectory(prefix="tune-trackers-") as out:
        for sequence in sequences:
            track_detections_file(
                sequence.detections(detections),
                Path(out) / f"{sequence.name}.txt",
                fps=sequence.fps,
                num_frames=sequence.length,
                tracker=tracker,
                params=params,
                score_map=score_map,
            )
        return Trial(tracker, dict(params), score_tracking(sequences, out))


def grid_settings(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid's values, in a fixed order."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def choose(trials: Sequence[Trial]) -> Trial:
    """The best trial: highest mean HOTA, near ties (:data:`HOTA_TIE`) to MOTA + IDF1.

    Args:
        trials: At least one trial.

    Returns:
        The chosen trial (the first in grid order among exact equals).
    """
    best_hota = max(trial.hota for trial in trials)
    close = [trial for trial in trials if trial.hota >= best_hota - HOTA_TIE]
    return max(close, key=lambda trial: trial.mota_idf1)


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found.

    Attributes:
        chosen: The chosen trial.
        tried: Settings in the grid.
        candidates: Settings the guard let through (all of them without a guard).
        floors: The guard's floors for this tracker (empty without a guard).
    """

    chosen: Trial
    tried: int
    candidates: int
    floors: dict[str, dict[str, float]]


def guarded_settings(
    tracker: str,
    settings: Sequence[dict[str, Any]],
    guard: Sequence[GuardCase],
    workers: int = 1,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """The settings a tracker may take: those that reach the guard's floors.

    Args:
        tracker: A tracker name.
        settings: The tracker's whole grid (the floors depend on the best it reaches).
        guard: From :func:`pipeline.evaluation.tracker_guard.build_guard`; empty: no guard.
        workers: Processes to spread the checks over.

    Returns:
        The settings that pass, in their order, and the floors applied.
    """
    if not guard:
        return list(settings), {}
    results = _map(_guard_job, [(tracker, params, guard) for params in settings], workers)
    held = floors(guard, results)
    allowed = [p for p, r in zip(settings, results, strict=True) if passes(r, held)]
    return allowed, held


def tune(
    tracker: str,
    sequences: Sequence[MotSequence],
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    score_map: str = DEFAULT_SCORE_MAP,
    detections: str = PUBLIC_DETECTIONS,
    workers: int = 1,
    guard: Sequence[GuardCase] = (),
) -> TuneResult:
    """Try every setting of a tracker's grid that its guard allows and choose one.

    Args:
        tracker: A tracker name.
        sequences: The sequences, scored together.
        grid: Parameter values to combine; :data:`GRIDS` ``[tracker]`` when None.
        score_map: How the detections' scores are mapped to 0..1.
        detections: The detections file in each sequence folder.
        workers: Processes to spread the settings over.
        guard: The guard's cases; empty: no guard.

    Returns:
        The chosen trial, how many settings were tried and allowed, and the floors.
    """
    settings = grid_settings(GRIDS[tracker] if grid is None else grid)
    allowed, held = guarded_settings(tracker, settings, guard, workers)
    jobs = [(tracker, params, sequences, score_map, detections) for params in allowed]
    trials = _map(_evaluate_job, jobs, workers)
    return TuneResult(choose(trials), len(settings), len(allowed), held)


def compare_score_maps(
    sequences: Sequence[MotSequence],
    *,
    retune: bool = False,
    workers: int = 1,
    guard: Sequence[GuardCase] = (),
) -> dict[str, Trial]:
    """ByteTrack on the sequences with each candidate score mapping.

    Args:
        sequences: The sequences.
        retune: Tune ByteTrack's grid anew for each mapping (among the settings its
            guard allows, which do not depend on the mapping) instead of using its
            defaults: a fair comparison, since the defaults were tuned on the default
            mapping.
        workers: Processes to spread the runs over.
        guard: The guard's cases for the retuning; empty: no guard.

    Returns:
        The trial of each mapping, by name.
    """
    if not retune:
        jobs = [("bytetrack", {}, sequences, name, PUBLIC_DETECTIONS) for name in SCORE_MAPS]
        return dict(zip(SCORE_MAPS, _map(_evaluate_job, jobs, workers), strict=True))
    allowed, _ = guarded_settings("bytetrack", grid_settings(GRIDS["bytetrack"]), guard, workers)
    grid_of_allowed = [(name, params) for name in SCORE_MAPS for params in allowed]
    jobs = [
        ("bytetrack", params, sequences, name, PUBLIC_DETECTIONS)
        for name, params in grid_of_allowed
    ]
    trials = _map(_evaluate_job, jobs, workers)
    return {
        name: choose([t for (m, _), t in zip(grid_of_allowed, trials, strict=True) if m == name])
        for name in SCORE_MAPS
    }


def calibrate(sequences: Sequence[MotSequence], iou: float = 0.5) -> tuple[float, float]:
    """Fit ``P(true positive | score) = logistic((score - centre) / width)`` to detections.

    A detection is a true positive when it matches (one to one, IoU >= ``iou``) a scored
    ground-truth box of its frame (7th column not 0, as in
    :mod:`pipeline.evaluation.track_eval`).

    Args:
        sequences: The sequences whose public detections are fitted together.
        iou: Least IoU of a match.

    Returns:
        ``(centre, width)``, by maximum likelihood.
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    scores, hits = [], []
    for sequence in sequences:
        detections, truth = read_mot_rows(sequence.det), read_mot_rows(sequence.gt)
        truth = truth[truth[:, 6] != 0]
        for frame in np.unique(detections[:, 0]):
            found = detections[detections[:, 0] == frame]
            boxes = truth[truth[:, 0] == frame]
            scores.extend(found[:, 6])
            hits.extend(_true_positives(_xyxy(boxes), _xyxy(found), iou))
    x, y = np.asarray(scores), np.asarray(hits, dtype=float)

    def loss(theta: np.ndarray) -> float:
        p = np.clip(expit((x - theta[0]) / theta[1]), 1e-9, 1 - 1e-9)
        return -float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    start = np.array([float(np.median(x)), float(np.std(x)) or 1.0])
    centre, width = minimize(loss, start, method="Nelder-Mead").x
    return float(centre), float(width)


def format_table(title: str, scores: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table: one row per sequence (and mean, all frames), MOTA / IDF1 / HOTA."""
    lines = [f"{title}", "", "| sequence | MOTA | IDF1 | HOTA |", "|---|---:|---:|---:|"]
    for name, row in scores.items():
        label = {MEAN: "**mean**", COMBINED: "all frames"}.get(name, name)
        lines.append(f"| {label} | " + " | ".join(f"{100 * row[m]:.1f}" for m in METRICS) + " |")
    return "\n".join(lines)


def worst_hota_loss(trials: Mapping[str, Trial]) -> dict[str, float]:
    """Per rule, its largest HOTA loss on any sequence against the best other rule there.

    The criterion for a score rule: the one that loses least where it loses most.

    Args:
        trials: One trial per rule, on the same sequences.

    Returns:
        The loss of each rule (0 when it is best, or tied, on every sequence).
    """
    names = [n for n in next(iter(trials.values())).scores if n not in (MEAN, COMBINED)]
    losses = {}
    for rule, trial in trials.items():
        others = [t for r, t in trials.items() if r != rule]
        losses[rule] = max(
            max(0.0, max(o.scores[n]["hota"] for o in others) - trial.scores[n]["hota"])
            for n in names
        )
    return losses


def format_comparison(trials: Mapping[str, Trial]) -> str:
    """A Markdown table: one row per rule, MOTA / IDF1 / HOTA per sequence and mean."""
    names = [n for n in next(iter(trials.values())).scores if n != COMBINED]
    losses = worst_hota_loss(trials)
    lines = [
        "MOTA / IDF1 / HOTA (%); worst HOTA loss against the best other rule on a sequence",
        "",
        "| rule | " + " | ".join(names) + " | worst loss |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for rule, trial in trials.items():
        cells = [" / ".join(f"{100 * trial.scores[n][m]:.1f}" for m in METRICS) for n in names]
        loss = f"{100 * losses[rule]:.1f}"
        lines.append(f"| {rule} | " + " | ".join(cells) + f" | {loss} |")
    return "\n".join(lines)


def format_guard(
    results: Mapping[str, Mapping[str, float]], held: Mapping[str, Mapping[str, float]]
) -> str:
    """One line: each guard detector's MOTA / IDF1 on TUD-Campus (motmetrics) and floors."""
    return "App detectors on TUD-Campus, MOTA / IDF1 (floors), %: " + ", ".join(
        f"{name} {100 * r['mota']:.1f} / {100 * r['idf1']:.1f} "
        f"({100 * held[name]['mota']:.1f} / {100 * held[name]['idf1']:.1f})"
        for name, r in results.items()
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search (or a comparison) as the command line says; returns the exit status."""
    args = _parser().parse_args(argv)
    sequences = find_sequences(args.data, args.sequences)
    started = time.monotonic()
    if args.calibrate:
        centre, width = calibrate(sequences)
        print(json.dumps({"centre": round(centre, 2), "width": round(width, 2)}))
        return 0
    grid = _parse_grid(args.grid) if args.grid else None
    if grid is not None and len(args.trackers) != 1:
        raise SystemExit("--grid applies to one tracker: name it with --trackers")
    if (args.compare_score_maps or args.calibrate) and args.detections != PUBLIC_DETECTIONS:
        raise SystemExit(
            f"--compare-score-maps and --calibrate measure the public {PUBLIC_DETECTIONS} "
            "(scores not in 0..1): leave --detections out"
        )
    missing = [s.name for s in sequences if not _has_detections(s, args.detections)]
    if missing:
        raise SystemExit(f"no {args.detections} in {', '.join(missing)} (under {args.data})")

    with tempfile.TemporaryDirectory(prefix="tracker-guard-") as work:
        guard = [] if args.no_guard else build_guard(args.assets, Path(work))
        if args.compare_score_maps:
            trials = compare_score_maps(
                sequences, retune=args.retune, workers=args.workers, guard=guard
            )
            print(format_comparison(trials))
            for rule, trial in trials.items() if args.retune else ():
                print(f"{rule}: {json.dumps(trial.params)}")
            print(f"\n{time.monotonic() - started:.0f} s")
            return 0

        chosen: dict[str, Any] = {}
        for tracker in args.trackers:
            start = time.monotonic()
            found = tune(
                tracker,
                sequences,
                grid,
                detections=args.detections,
                workers=args.workers,
                guard=guard,
            )
            seconds = time.monotonic() - start
            app = check(tracker, found.chosen.params, guard) if guard else {}
            chosen[tracker] = {
                "params": found.chosen.params,
                "scores": found.chosen.scores,
                "app_detectors": app,
                "guard_floors": found.floors,
                "settings_tried": found.tried,
                "settings_allowed_by_guard": found.candidates,
                "seconds": round(seconds, 1),
            }
            title = (
                f"### {tracker}: {json.dumps(found.chosen.params)}\n\n"
                f"{found.tried} settings"
                + (f", {found.candidates} of them within the guard" if guard else "")
                + f", in {seconds:.0f} s; chosen by mean HOTA"
            )
            print(format_table(title, found.chosen.scores), flush=True)
            print(("\n" + format_guard(app, found.floors) if app else "") + "\n", flush=True)
    result = {
        "sequences": [s.name for s in sequences],
        "detections": args.detections,
        "score_map": DEFAULT_SCORE_MAP if args.detections == PUBLIC_DETECTIONS else None,
        "objective": f"mean HOTA over sequences; within {HOTA_TIE} of the best, MOTA + IDF1",
        "guard": "off" if args.no_guard else "app detectors on TUD-Campus",
        "trackers": chosen,
    }
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"chosen parameters written to {args.out}")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = sequence_parser(
        "tune_trackers",
        "Choose each tracker's defaults on MOT15 sequences together (mean HOTA).",
        trackers=GRIDS,
        tracker_choices=TRACKERS,
        detections=PUBLIC_DETECTIONS,
        detections_help=f"detections file in each sequence folder (default: {PUBLIC_DETECTIONS}, "
        f"MOT15's ACF, scores mapped to 0..1; {FRCNN_DETECTIONS}: Faster R-CNN, scores in "
        "0..1 like the app's detectors, what the registry's defaults are tuned on)",
    )
    parser.add_argument(
        "--grid",
        action="append",
        metavar="PARAM=V1,V2",
        help="replace the tracker's grid by these values (repeatable; one tracker)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all CPUs)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the chosen JSON here")
    parser.add_argument(
        "--no-guard",
        action="store_true",
        help="do not hold the trackers to the app's detectors (see what the sequences choose)",
    )
    parser.add_argument(
        "--compare-score-maps",
        action="store_true",
        help="measure the score mappings with ByteTrack instead",
    )
    parser.add_argument(
        "--retune", action="store_true", help="with --compare-score-maps: tune per mapping"
    )
    parser.add_argument(
        "--calibrate", action="store_true", help="fit the ACF logistic's centre and width"
    )
    return parser


def _has_detections(sequence: MotSequence, name: str) -> bool:
    try:
        sequence.detections(name)
    except FileNotFoundError:
        return False
    return True


def _parse_grid(items: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    grid: dict[str, tuple[Any, ...]] = {}
    for item in items:
        name, _, values = item.partition("=")
        if not values:
            raise SystemExit(f"--grid {item!r}: expected PARAM=V1,V2")
        grid[name.strip()] = tuple(json.loads(v) for v in values.split(","))
    return grid


def _evaluate_job(job: tuple[str, dict[str, Any], Sequence[MotSequence], str, str]) -> Trial:
    tracker, params, sequences, score_map, detections = job
    return evaluate(tracker, params, sequences, score_map, detections)


def _guard_job(
    job: tuple[str, dict[str, Any], Sequence[GuardCase]],
) -> dict[str, dict[str, float]]:
    tracker, params, guard = job
    return check(tracker, params, guard)


def _map(function: Any, jobs: list[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(jobs) <= 1:
        return [function(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, jobs, chunksize=max(1, len(jobs) // (8 * workers))))


def _true_positives(truth: np.ndarray, found: np.ndarray, iou: float) -> np.ndarray:
    """Which ``found`` boxes match a ``truth`` box one to one at ``iou`` (as count_matches)."""
    import supervision as sv
    from scipy.optimize import linear_sum_assignment

    hits = np.zeros(len(found), dtype=bool)
    if len(truth) and len(found):
        overlaps = sv.box_iou_batch(truth, found)
        rows, cols = linear_sum_assignment(np.where(overlaps >= iou, overlaps, 0.0), maximize=True)
        hits[cols[overlaps[rows, cols] >= iou]] = True
    return hits


def _xyxy(rows: np.ndarray) -> np.ndarray:
    xyxy = rows[:, 2:6].copy()
    xyxy[:, 2:] += xyxy[:, :2]
    return xyxy


if __name__ == "__main__":
    sys.exit(main())
