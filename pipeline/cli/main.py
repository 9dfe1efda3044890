"""The command line: ``python -m pipeline detect|track ...``.

The CLI builds the same config object as the UI and the API, and consumes the
same events; it adds a progress bar.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import models
from models.detectors.base import normalize_queries
from pipeline.cli.common import (
    add_device_arguments,
    add_run_limit_arguments,
    follow_run,
    run_handler,
)
from pipeline.cli.depth import add_depth_command
from pipeline.cli.segment import add_segment_command
from pipeline.configs import DetectionConfig
from pipeline.runtime.errors import PipelineError
from pipeline.runtime.events import Done


def _add_detect_command(subparsers: argparse._SubParsersAction) -> None:
    detectors = models.available("detector")
    parser = subparsers.add_parser(
        "detect",
        help="detect and track objects in a video",
        description="Detect objects, track them with ByteTrack, and write an annotated "
        "H.264 video and the tracks (JSON, optionally MOTChallenge text).",
    )
    parser.add_argument("video", type=Path, help="input video file")
    parser.add_argument("--detector", default="yolo11", help=f"one of: {', '.join(detectors)}")
    parser.add_argument("--size", default=None, help="model size, e.g. n/s/m/l/x for yolo11")
    parser.add_argument(
        "--queries", default="", help="class names to keep (comma-separated), or the text "
        "prompt for grounding_dino",
    )
    parser.add_argument("--conf", type=float, default=0.25, help="minimum detection score")
    add_device_arguments(parser)
    parser.add_argument(
        "--weights", default=None, help="local weights file/folder or hub id; for YOLO also an "
        "architecture file such as yolo11n.yaml (random weights, real compute)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output video (.mp4, H.264)")
    parser.add_argument("--tracks", type=Path, required=True, help="output tracks (.json)")
    parser.add_argument("--mot", type=Path, default=None, help="also write MOTChallenge text")
    add_run_limit_arguments(parser)
    parser.add_argument(
        "--depth", action="store_true",
        help="add each tracked object's relative depth (Depth Anything V2) to labels and tracks",
    )
    parser.add_argument("--depth-size", default=None, help="small (default), base or large")
    parser.add_argument("--depth-weights", default=None, help="local Depth Anything V2 weights")
    parser.set_defaults(handler=_detect)


def _detect(args: argparse.Namespace) -> int:
    from pipeline.runs.detection import run_detection

    config = DetectionConfig(
        detector=args.detector,
        size=args.size,
        weights=args.weights,
        queries=normalize_queries(args.queries),
        confidence=args.conf,
        devices=tuple(args.device or ()),
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        max_duration_s=args.max_duration or None,
        depth=args.depth,
        depth_size=args.depth_size,
        depth_weights=args.depth_weights,
    )
    for path in (args.out, args.tracks, args.mot):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    events = run_detection(
        args.video, config, out_video=args.out, out_tracks=args.tracks, out_mot=args.mot,
        stop=stop, preview_interval_s=0.25,
    )
    return follow_run(events, stop, show_progress=not args.no_progress, on_done=_print_done)


def _print_done(event: Done) -> None:
    summary = event.summary
    if summary.get("warning"):
        print(f"WARNING: {summary['warning']}", file=sys.stderr)
    print(f"video:  {event.video_path}")
    print(f"tracks: {event.tracks_path}")
    if event.mot_path is not None:
        print(f"mot:    {event.mot_path}")
    print(json.dumps(summary, indent=2))


def _add_track_command(subparsers: argparse._SubParsersAction) -> None:
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
    parser.set_defaults(handler=_track)


def _track(args: argparse.Namespace) -> int:
    from pipeline.evaluation.mot import track_detections_file

    if not args.detections.is_file():
        raise PipelineError(f"Detections file not found: {args.detections}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = track_detections_file(
        args.detections, args.out, fps=args.fps, min_score=args.min_score
    )
    print(json.dumps(summary, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m pipeline`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description="Video detection, tracking, segmentation, depth."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_detect_command(subparsers)
    _add_track_command(subparsers)
    add_depth_command(subparsers)
    add_segment_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors a user can cause (bad file, unknown model, bad query, missing
    weights) print one clear line and exit with status 2.
    """
    return run_handler(build_parser().parse_args(argv))
