"""``python -m pipeline track --detections det.txt --out result.txt``: the tracker alone.

Tracks MOTChallenge detections with one of the app's trackers at its tuned defaults, to
score it against public ground truth (:mod:`pipeline.evaluation.mot`).
"""

from __future__ import annotations

import argparse
import json
import math
import textwrap
from pathlib import Path

from pipeline.errors import PipelineError, quoted
from pipeline.evaluation.det_scores import SCORE_RULE
from pipeline.io.output_files import check_outputs
from pipeline.stages.tracker_registry import DEFAULT_TRACKER, TRACKERS, TrackerSpec
from pipeline.stages.tracking import check_frame_rate


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``track`` subcommand."""
    parser = subparsers.add_parser(
        "track",
        help="run a tracker alone on MOTChallenge detections",
        description=textwrap.fill(
            "Track MOTChallenge detections (frame,-1,x,y,w,h,score,...) with one of the "
            "app's trackers at its tuned defaults and write MOTChallenge results, to score "
            f"against ground truth. Scores: {SCORE_RULE}."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="trackers and their parameters (tuned defaults):\n"
        + "\n".join(_tracker_help(spec) for spec in TRACKERS.values()),
    )
    parser.add_argument("--detections", type=Path, required=True, help="det.txt")
    parser.add_argument("--out", type=Path, required=True, help="result .txt")
    parser.add_argument(
        "--fps", type=_frame_rate, default=25.0, help="sequence frame rate (default: 25)"
    )
    parser.add_argument(
        "--tracker",
        default=DEFAULT_TRACKER,
        help=f"one of {', '.join(TRACKERS)} (default: {DEFAULT_TRACKER})",
    )
    parser.add_argument(
        "--tracker-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one of the tracker's defaults (repeatable)",
    )
    parser.add_argument(
        "--min-score",
        type=_score,
        default=None,
        help="ignore detections below this score (0..1, after mapping)",
    )
    parser.set_defaults(handler=run_track_command)
    return parser


def _score(text: str) -> float:
    # A score is compared with detections' scores in 0..1: NaN would drop every one.
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a score from 0 to 1, not {quoted(text)}")
    return value


def _frame_rate(text: str) -> float:
    # Refused with the options, before any file is read.
    try:
        return check_frame_rate(float(text))
    except ValueError:  # not a number, or the tracker's ConfigError
        raise argparse.ArgumentTypeError(
            f"must be a positive number of frames a second, not {quoted(text)}"
        ) from None


def _tracker_help(spec: TrackerSpec) -> str:
    params = ", ".join(f"{name}={value}" for name, value in spec.defaults.items())
    indent = " " * 13
    params = textwrap.fill(params, 78, initial_indent=indent, subsequent_indent=indent)
    return f"  {spec.name:<10} {spec.description}\n{params}"


def run_track_command(args: argparse.Namespace) -> int:
    """Handle ``python -m pipeline track``; prints the summary as JSON."""
    from pipeline.evaluation.mot import track_detections_file
    from pipeline.stages.tracker_params import as_tracker_params, checked_tracker_params

    # An unknown name or parameter, or a path it cannot write, fails before any file is touched.
    params = checked_tracker_params(args.tracker, dict(as_tracker_params(args.tracker_param)))
    if args.detections.is_dir():
        raise PipelineError(f"{args.detections} is a folder, not a detections file.")
    if not args.detections.is_file():
        raise PipelineError(f"Detections file not found: {args.detections}")
    check_outputs({"--out": args.out}, inputs=[args.detections])
    # The result's folder is made by its writer, once the detections are read.
    summary = track_detections_file(
        args.detections, args.out, fps=args.fps, min_score=args.min_score, tracker=args.tracker,
        params=params,
    )  # fmt: skip
    print(json.dumps(summary, indent=2))
    return 0
