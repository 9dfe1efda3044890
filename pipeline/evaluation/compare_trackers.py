r"""Every tracker at its tuned defaults on four MOT15 sequences: how the default is chosen.

``python -m pipeline.evaluation.compare_trackers`` tracks each sequence's Faster R-CNN
detections (``det_frcnn.txt``, scores in 0..1 like the app's own detectors) with every
tracker of :data:`pipeline.stages.tracker_registry.TRACKERS` at its registry defaults, scores
the tracks as :mod:`pipeline.evaluation.tune_trackers` does (MOTA, IDF1, HOTA from
:mod:`pipeline.evaluation.track_eval`) and checks each tracker against the guard
(:mod:`pipeline.evaluation.tracker_guard`): YOLOX-Nano and Faster R-CNN on TUD-Campus
at the very floors ``tests/test_tracking.py`` holds the default tracker to.

The default tracker is the one that wins by the tuning's own rule
(:func:`pipeline.evaluation.tune_trackers.choose`: best mean HOTA over the sequences,
near ties to MOTA + IDF1) among the trackers that pass the guard. The command prints a
Markdown table (MOTA / IDF1 / HOTA per sequence and their mean, the guard's figures)
and names the winner and the registry's default.

Example:
    $ python -m pipeline.evaluation.compare_trackers
    $ python -m pipeline.evaluation.compare_trackers --sequences TUD-Campus \
          --trackers sort botsort --no-guard
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.evaluation.mot_sequences import (
    FRCNN_DETECTIONS,
    MotSequence,
    sequence_parser,
    sequences_for,
)
from pipeline.evaluation.track_eval import COMBINED, METRICS
from pipeline.evaluation.tracker_guard import GuardCase, build_guard, check, own_floors, passes
from pipeline.evaluation.tune_trackers import Trial, choose, evaluate
from pipeline.stages.tracker_registry import DEFAULT_TRACKER, TRACKERS

#: The guard's detectors as the table names them.
_GUARD_LABELS = {"yolox_nano": "YOLOX-Nano", "faster_rcnn": "Faster R-CNN"}


@dataclass(frozen=True)
class TrackerResult:
    """One tracker at its registry defaults.

    Attributes:
        trial: Its scores on the sequences (``trial.scores``, by sequence and mean).
        guard: :func:`pipeline.evaluation.tracker_guard.check`'s result (empty
            without a guard).
        within_guard: Whether it reaches every floor of the guard (True without one).
    """

    trial: Trial
    guard: dict[str, dict[str, float]]
    within_guard: bool


def compare(
    trackers: Sequence[str],
    sequences: Sequence[MotSequence],
    *,
    detections: str = FRCNN_DETECTIONS,
    guard: Sequence[GuardCase] = (),
) -> dict[str, TrackerResult]:
    """Each tracker at its registry defaults, scored on the sequences and the guard.

    Args:
        trackers: Tracker names.
        sequences: The sequences, scored together.
        detections: The detections file in each sequence folder.
        guard: The guard's cases (:func:`pipeline.evaluation.tracker_guard.build_guard`);
            empty: no guard.

    Returns:
        Per tracker, in the order given, its result.
    """
    held = own_floors(guard)
    results = {}
    for tracker in trackers:
        trial = evaluate(tracker, {}, sequences, detections=detections)
        app = check(tracker, {}, guard) if guard else {}
        results[tracker] = TrackerResult(trial, app, passes(app, held) if guard else True)
    return results


def winner(results: Mapping[str, TrackerResult]) -> str | None:
    """The tracker that should be the default: the tuning's rule, among those within the guard.

    Args:
        results: From :func:`compare`.

    Returns:
        Its name (the first in order among exact equals), or None when no tracker
        passes the guard.
    """
    allowed = [result.trial for result in results.values() if result.within_guard]
    return choose(allowed).tracker if allowed else None


def format_results(results: Mapping[str, TrackerResult]) -> str:
    """A Markdown table: one row per tracker, MOTA / IDF1 / HOTA per sequence and mean.

    The guard's columns (with a guard) give each detector's MOTA / IDF1 on TUD-Campus
    (motmetrics, %) and whether the tracker reaches every floor.
    """
    first = next(iter(results.values()))
    names = [name for name in first.trial.scores if name != COMBINED]
    guard_names = list(first.guard)
    header = ["tracker", *names[:-1], f"**{names[-1]}**"]
    if guard_names:
        header += [f"{_GUARD_LABELS.get(n, n)} on TUD-Campus" for n in guard_names]
        header.append("within the guard")
    lines = [
        "MOTA / IDF1 / HOTA (%)" + (", guard MOTA / IDF1 (%)" if guard_names else ""),
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for tracker, result in results.items():
        scores = result.trial.scores
        cells = [" / ".join(f"{100 * scores[n][m]:.1f}" for m in METRICS) for n in names]
        cells[-1] = f"**{cells[-1]}**"
        cells += [
            f"{100 * result.guard[n]['mota']:.1f} / {100 * result.guard[n]['idf1']:.1f}"
            for n in guard_names
        ]
        if guard_names:
            cells.append("yes" if result.within_guard else "no")
        lines.append(f"| {tracker} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Compare the trackers as the command line says; returns the exit status."""
    args = _parser().parse_args(argv)
    started = time.monotonic()
    sequences = sequences_for(args, "compare_trackers")
    with tempfile.TemporaryDirectory(prefix="tracker-guard-") as work:
        try:
            guard = [] if args.no_guard else build_guard(args.assets, Path(work))
        except FileNotFoundError as error:
            message = f"compare_trackers: {error} (or leave the guard out: --no-guard)"
            raise SystemExit(message) from None
        results = compare(args.trackers, sequences, detections=args.detections, guard=guard)
    print(f"{args.detections} of {', '.join(s.name for s in sequences)}\n")
    print(format_results(results))
    best = winner(results)
    print(
        f"\nbest mean HOTA{' within the guard' if guard else ''}: {best or 'none'}"
        f" (the registry's default: {DEFAULT_TRACKER})"
    )
    print(f"{time.monotonic() - started:.0f} s")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = sequence_parser(
        "compare_trackers",
        "Every tracker at its defaults on MOT15 sequences together: the default "
        "is the best mean HOTA within the guard.",
        trackers=TRACKERS,
        tracker_choices=TRACKERS,
        detections=FRCNN_DETECTIONS,
    )
    parser.add_argument(
        "--no-guard", action="store_true", help="do not check the app's detectors on TUD-Campus"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
