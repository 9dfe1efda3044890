"""MOTA, IDF1 and HOTA of tracker results, from the ``trackers`` package's own evaluation.

:func:`trackers.eval.evaluate_mot_sequences` (written for TrackEval parity) reads a folder
of ground truth in MOTChallenge's layout (``SEQ/gt/gt.txt``) and a folder of results
(``SEQ.txt``). It scores a ground-truth row only when its 8th column says pedestrian
(class 1) and its 7th is not 0. MOT15 files have no class column (theirs is -1, or a
world coordinate in ETH-Sunnyday), so :func:`score_tracking` writes each ``gt.txt`` again
with class 1 and its own 7th column: the rows marked 0 (167 in KITTI-13, 43 in
ETH-Sunnyday) are then left out of the scores, which is what TrackEval does for MOT15.
motmetrics (:func:`pipeline.evaluation.mot.score_mot`) counts those rows as ground truth,
so its figures differ from these on those two sequences.

All three metrics come from here, so that the figures of one table agree with each other.

Example:
    scores = score_tracking(sequences, "results/")
    scores["mean"]["hota"]
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline.evaluation.mot_sequences import MotSequence
from pipeline.io.mot_files import StrPath, read_mot_rows

if TYPE_CHECKING:
    from trackers.eval import SequenceResult

#: The metrics reported, as fractions (0..1; MOTA can be negative).
METRICS = ("mota", "idf1", "hota")
#: The row of the mean over sequences: what trackers are tuned on, each scene counting once.
MEAN = "mean"
#: The row of ``trackers.eval``'s aggregate (counts summed over all frames of all sequences).
COMBINED = "combined"


def score_tracking(
    sequences: Sequence[MotSequence], result_dir: StrPath
) -> dict[str, dict[str, float]]:
    """Score one result file per sequence against its ground truth.

    Args:
        sequences: The sequences scored.
        result_dir: Folder with ``NAME.txt`` for each sequence (MOTChallenge rows
            ``frame,id,x,y,w,h,conf,...``, as :class:`pipeline.io.mot_files.MotWriter`
            writes them).

    Returns:
        For each sequence name, and for :data:`MEAN` (the mean over sequences) and
        :data:`COMBINED` (``trackers.eval``'s aggregate over all frames; absent when a
        result is empty), the :data:`METRICS`. An empty result scores 0 on all three:
        no true or false positives and no switches give MOTA 1 - FN / GT = 0.

    Raises:
        FileNotFoundError: A sequence's result file is missing.
    """
    from trackers.eval import evaluate_mot_sequences

    result_dir = Path(result_dir)
    scored = [s for s in sequences if _has_rows(result_dir / f"{s.name}.txt")]
    scores: dict[str, dict[str, float]] = {
        s.name: dict.fromkeys(METRICS, 0.0) for s in sequences if s not in scored
    }
    if scored:
        with tempfile.TemporaryDirectory(prefix="track-eval-") as work:
            gt_dir = Path(work) / "gt"
            for sequence in scored:
                _write_ground_truth(sequence, gt_dir / sequence.name / "gt" / "gt.txt")
            seqmap = Path(work) / "seqmap.txt"
            seqmap.write_text("".join(f"{s.name}\n" for s in scored), encoding="utf-8")
            result = evaluate_mot_sequences(
                gt_dir, result_dir, seqmap=seqmap, metrics=["CLEAR", "HOTA", "Identity"]
            )
        for name, sequence_result in result.sequences.items():
            scores[name] = _metrics(sequence_result)
        if len(scored) == len(sequences):
            scores[COMBINED] = _metrics(result.aggregate)
    ordered = {s.name: scores[s.name] for s in sequences}
    return {
        **ordered,
        MEAN: {m: float(np.mean([row[m] for row in ordered.values()])) for m in METRICS},
        **({COMBINED: scores[COMBINED]} if COMBINED in scores else {}),
    }


def _has_rows(path: Path) -> bool:
    if not path.is_file():
        raise FileNotFoundError(f"Tracker result not found: {path}")
    return path.stat().st_size > 0


def _write_ground_truth(sequence: MotSequence, path: Path) -> None:
    """``sequence``'s ground truth as ``trackers.eval`` reads it: class 1, 7th column kept."""
    rows = read_mot_rows(sequence.gt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for frame, track, x, y, w, h, mark in rows:
            handle.write(f"{int(frame)},{int(track)},{x},{y},{w},{h},{mark},1,1\n")


def _metrics(result: SequenceResult) -> dict[str, float]:
    assert result.CLEAR and result.Identity and result.HOTA  # all three were asked for
    return {
        "mota": float(result.CLEAR.MOTA),
        "idf1": float(result.Identity.IDF1),
        "hota": float(result.HOTA.HOTA),
    }
