r"""How tracking accuracy falls as the detection stride grows, on MOT15 sequences.

``python -m pipeline.evaluation.stride_eval`` tracks each sequence's Faster R-CNN
detections (``det_frcnn.txt``) as a run with ``detect_every=k`` would: the tracker is
given the detections of frames 1, 1 + k, 1 + 2k... only, and every other frame gets
the boxes its motion model predicts (:meth:`pipeline.stages.tracking.ObjectTracker.predict`,
the very code of the detection run). The tracks are scored with MOTA, IDF1 and HOTA
(:mod:`pipeline.evaluation.track_eval`) against the whole ground truth, every frame
counting, and printed as a Markdown table (docs/cpu-runtimes.md, "Detection stride").

Example:
    $ python -m pipeline.evaluation.stride_eval
    $ python -m pipeline.evaluation.stride_eval --sequences TUD-Campus --strides 1 3 \
          --frames 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline.evaluation.mot_sequences import (
    FRCNN_DETECTIONS,
    MotSequence,
    sequence_parser,
    sequences_for,
)
from pipeline.evaluation.track_eval import COMBINED, MEAN, score_tracking
from pipeline.io.mot_files import MotWriter, StrPath, mot_rows_by_frame, read_mot_rows
from pipeline.stages.stride import on_stride
from pipeline.stages.tracker_registry import DEFAULT_TRACKER
from pipeline.stages.tracking import ObjectTracker

#: The strides of the documentation's table.
STRIDES = (1, 2, 3, 5, 10)
#: The metrics of the table (HOTA is computed too, and returned).
SHOWN = ("mota", "idf1")


def track_with_stride(
    sequence: MotSequence,
    stride: int,
    out_path: StrPath,
    *,
    detections: str = FRCNN_DETECTIONS,
    tracker: str = DEFAULT_TRACKER,
    frames: int | None = None,
) -> int:
    """Track one sequence detecting every ``stride``-th frame, as the detection run does.

    Args:
        sequence: The sequence.
        stride: Detect on frames 1, 1 + stride...; the tracker predicts the others.
        out_path: The result file (MOTChallenge rows), predicted boxes included.
        detections: The detections file in the sequence's folder.
        tracker: The tracker, at its tuned defaults.
        frames: Track the first this many frames only (None: the whole sequence).

    Returns:
        How many frames went to the tracker as detections.
    """
    rows = read_mot_rows(sequence.detections(detections))
    length = sequence.length if frames is None else min(frames, sequence.length)
    rows = rows[rows[:, 0] <= length]
    by_frame = mot_rows_by_frame(rows, num_frames=length, source=sequence.name)
    tracking = ObjectTracker(frame_rate=sequence.fps, tracker=tracker)
    detected = 0
    with MotWriter(out_path) as writer:
        for number, found in by_frame.items():
            index = number - 1
            # As in the detection run: times only when frames are skipped.
            when = index / sequence.fps
            if on_stride(index, stride):
                tracked = tracking.update(found, timestamp=when if stride != 1 else None)
                detected += 1
            else:
                tracked = tracking.predict(when)
            writer.write(index, tracked)
    return detected


def window(sequence: MotSequence, frames: int, folder: Path) -> MotSequence:
    """The sequence's first ``frames`` frames: its ground truth cut, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = sequence.gt.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip() and int(float(line.split(",")[0])) <= frames]
    (folder / "gt.txt").write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    detections = sequence.detections(FRCNN_DETECTIONS)
    (folder / FRCNN_DETECTIONS).write_bytes(detections.read_bytes())
    return MotSequence(sequence.name, folder, sequence.fps, min(frames, sequence.length))


def evaluate_strides(
    sequences: Sequence[MotSequence],
    strides: Sequence[int] = STRIDES,
    *,
    detections: str = FRCNN_DETECTIONS,
    tracker: str = DEFAULT_TRACKER,
) -> dict[int, dict[str, dict[str, float]]]:
    """MOTA, IDF1 and HOTA of each stride on each sequence and their mean.

    Args:
        sequences: The sequences (each scored on its whole ground truth).
        strides: The strides, each at least 1.
        detections: The detections file in each sequence's folder.
        tracker: The tracker, at its tuned defaults.

    Returns:
        For each stride, :func:`pipeline.evaluation.track_eval.score_tracking`'s scores
        (by sequence, and ``"mean"``), plus ``"detected"``: the share of frames the
        detector saw, under the key ``"detected"`` of each sequence's scores.
    """
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="stride-eval-") as work:
        for stride in strides:
            folder = Path(work) / f"k{stride}"
            folder.mkdir()
            shares = {}
            for sequence in sequences:
                detected = track_with_stride(
                    sequence, stride, folder / f"{sequence.name}.txt",
                    detections=detections, tracker=tracker,
                )  # fmt: skip
                shares[sequence.name] = detected / sequence.length
            scores = score_tracking(sequences, folder)
            scores.pop(COMBINED, None)
            for name, share in shares.items():
                scores[name]["detected"] = share
            results[stride] = scores
    return results


def format_table(results: dict[int, dict[str, dict[str, float]]]) -> str:
    """A Markdown table: one row per stride, MOTA / IDF1 (%) per sequence and their mean."""
    first = next(iter(results.values()))
    names = [name for name in first if name != MEAN]
    header = ["detect every", *names, "**mean**"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---:|" + "---:|" * (len(header) - 1),
    ]
    for stride, scores in results.items():
        cells = [" / ".join(f"{100 * scores[n][m]:.1f}" for m in SHOWN) for n in names]
        mean = " / ".join(f"{100 * scores[MEAN][m]:.1f}" for m in SHOWN)
        lines.append(f"| {stride} | " + " | ".join(cells) + f" | **{mean}** |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the strides as the command line says; returns the exit status."""
    args = _parser().parse_args(argv)
    if any(stride < 1 for stride in args.strides):
        raise SystemExit("stride_eval: every stride must be at least 1")
    sequences = sequences_for(args, "stride_eval")
    with tempfile.TemporaryDirectory(prefix="stride-window-") as work:
        if args.frames is not None:
            sequences = [window(s, args.frames, Path(work) / s.name) for s in sequences]
        results = evaluate_strides(
            sequences, args.strides, detections=args.detections, tracker=args.tracker
        )
    print(f"{args.tracker} on {args.detections}, MOTA / IDF1 (%)\n")
    print(format_table(results))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = sequence_parser(
        "stride_eval",
        "MOTA and IDF1 as the detection stride grows, on MOT15 sequences.",
        detections=FRCNN_DETECTIONS,
    )
    parser.add_argument("--strides", nargs="+", type=int, default=list(STRIDES), help="strides")
    parser.add_argument(
        "--frames", type=int, default=None, help="score the first N frames of each sequence"
    )
    parser.add_argument("--tracker", default=DEFAULT_TRACKER, help="the tracker")
    return parser


if __name__ == "__main__":
    sys.exit(main())
