"""``python -m pipeline track --detections det.txt --out result.txt``: the tracker alone.

Tracks MOTChallenge detections with the app's ByteTrack settings, to score the
tracker against public ground truth (:mod:`pipeline.evaluation.mot`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.errors import PipelineError


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``track`` subcommand."""
    parser = subparsers.add_parser(
        "track",
        help="run the tracker alone on MOTChallenge detections",
        description="Track MOTChallenge detections (frame,-1,x,y,w,h,score,...) with the "
        "app's ByteTrack settings and write MOTChallenge results, to score against ground "
        "truth.",
    )
    parser.add_argument("--detections", type=Path, required=True, help="det.txt")
    parser.add_argument("--out", type=Path, required=True, help="result .txt")
    parser.add_argument("--fps", type=float, default=25.0, help="sequence frame rate")
    parser.add_argument(
        "--min-score", type=float, default=None, help="ignore detections below this score"
    )
    parser.set_defaults(handler=run_track_command)
    return parser


def run_track_command(args: argparse.Namespace) -> int:
    """Handle ``python -m pipeline track``; prints the summary as JSON."""
    from pipeline.evaluation.mot import track_detections_file

    if not args.detections.is_file():
        raise PipelineError(f"Detections file not found: {args.detections}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = track_detections_file(
        args.detections, args.out, fps=args.fps, min_score=args.min_score
    )
    print(json.dumps(summary, indent=2))
    return 0
