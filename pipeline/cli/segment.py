"""``python -m pipeline segment VIDEO ...``: the segmentation run on the command line.

:func:`add_segment_command` adds the subcommand to the ``python -m pipeline``
parser (:mod:`pipeline.cli.main`); its handler builds the same
``SegmentationConfig`` as the UI and the API and consumes the same events,
with a progress bar.

Example:
    ``python -m pipeline segment clip.mp4 --segmenter GSAM2-S --queries "person, dog"
    --step 10 --out masks.mp4 --json masks.json``
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
    add_run_limit_arguments,
    follow_run,
    standalone_main,
)
from pipeline.runtime.events import Done

MIB = 1024 * 1024


def add_segment_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``segment`` subcommand; its handler is stored as ``args.handler``.

    Args:
        subparsers: What ``parser.add_subparsers()`` returned.

    Returns:
        The subcommand's parser.
    """
    from pipeline.runs.segmentation import DEFAULT_SEGMENTER

    segmenters = models.available("segmenter")
    parser = subparsers.add_parser(
        "segment",
        help="segment and follow objects through a video (Grounded SAM 2 / YOLO + SAM 2)",
        description="Find objects with a detector every STEP frames, segment them with "
        "SAM 2.1 and follow their masks through the video with stable ids. Writes an "
        "annotated H.264 video and per-frame JSON with each object's mask (COCO RLE).",
    )
    parser.add_argument("video", type=Path, help="input video file")
    parser.add_argument(
        "--segmenter",
        default=DEFAULT_SEGMENTER,
        choices=segmenters,
        help="GSAM2-*: Grounding DINO, free-text queries; YSAM2-*: YOLO11, COCO class "
        "names; S/B/L: SAM 2.1 small/base-plus/large",
    )
    parser.add_argument(
        "--queries",
        default="",
        help="what to find, comma-separated: free text for GSAM2 (required), class names "
        "for YSAM2 (empty: all classes)",
    )
    parser.add_argument(
        "--step", type=int, default=10, help="run the detector every STEP frames (keyframes)"
    )
    parser.add_argument("--conf", type=float, default=0.3, help="minimum detection score")
    parser.add_argument(
        "--weights",
        default=None,
        help="SAM 2 checkpoint (.pt), folder or hub id (default: $SAM2_<SIZE>_WEIGHTS, then "
        "facebook/sam2.1-hiera-<size>)",
    )
    parser.add_argument(
        "--image-size", type=int, default=None, help="SAM 2 input size (default 1024)"
    )
    parser.add_argument(
        "--detector",
        default=None,
        help="prompt with this detector instead of the segmenter's own (e.g. yolox_nano)",
    )
    parser.add_argument(
        "--detector-size", default=None, help="detector size (e.g. tiny/base, n..x)"
    )
    parser.add_argument("--detector-weights", default=None, help="detector weights or hub id")
    parser.add_argument(
        "--device", default=None, help="cpu, cuda or cuda:N (default: the first GPU, else cpu)"
    )
    parser.add_argument(
        "--window",
        type=int,
        default=60,
        help="frames per window (memory does not grow with the video's length, only with this)",
    )
    parser.add_argument(
        "--frame-budget-mb",
        type=float,
        default=None,
        help="MiB of decoded frames kept in memory; more spill to JPEG on disk "
        "(default: an eighth of the machine's memory)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output video (.mp4, H.264)")
    parser.add_argument("--json", type=Path, required=True, help="output masks (.json)")
    add_run_limit_arguments(parser)
    parser.set_defaults(handler=run_segment_command)
    return parser


def run_segment_command(args: argparse.Namespace) -> int:
    """Handle ``python -m pipeline segment``.

    Args:
        args: Parsed arguments of the ``segment`` subcommand.

    Returns:
        The exit status: 0 done, 130 interrupted.

    Raises:
        PipelineError: Bad video or option, or a failed run.
        models.ModelError: Unknown model, bad query or missing weights.
    """
    from pipeline.runs.segmentation import SegmentationConfig, run_segmentation

    budget = None if args.frame_budget_mb is None else int(args.frame_budget_mb * MIB)
    options = () if args.image_size is None else (("image_size", args.image_size),)
    config = SegmentationConfig(
        segmenter=args.segmenter,
        queries=normalize_queries(args.queries),
        step=args.step,
        confidence=args.conf,
        weights=args.weights,
        segmenter_options=options,
        detector=args.detector,
        detector_size=args.detector_size,
        detector_weights=args.detector_weights,
        devices=(args.device,) if args.device else (),
        window=args.window,
        frame_budget_bytes=budget,
        max_frames=args.max_frames,
        max_duration_s=args.max_duration or None,
    )
    for path in (args.out, args.json):
        path.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    events = run_segmentation(
        args.video,
        config,
        out_video=args.out,
        out_json=args.json,
        stop=stop,
        preview_interval_s=0.25,
    )
    return follow_run(events, stop, show_progress=not args.no_progress, on_done=_print_done)


def _print_done(event: Done) -> None:
    if event.summary.get("warning"):
        print(f"WARNING: {event.summary['warning']}", file=sys.stderr)
    print(f"video: {event.video_path}")
    print(f"json:  {event.tracks_path}")
    print(json.dumps(event.summary, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``segment`` alone (``python -m pipeline.cli.segment VIDEO ...``); the exit status.

    User errors print one line and exit with status 2, as in :mod:`pipeline.cli.main`.
    """
    return standalone_main(add_segment_command, "segment", argv)


if __name__ == "__main__":
    sys.exit(main())
