"""``python -m pipeline depth VIDEO ...``: the depth run on the command line.

:func:`add_depth_command` adds the subcommand to the ``python -m pipeline``
parser (:mod:`pipeline.cli.main`); its handler builds the same ``DepthConfig`` as
the UI and the API and consumes the same events, with a progress bar.

Example:
    ``python -m pipeline depth clip.mp4 --size small --view side_by_side --out depth.mp4``
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import models
from pipeline.cli.common import (
    add_device_arguments,
    add_run_limit_arguments,
    follow_run,
    standalone_main,
)
from pipeline.stages.depth_display import COLORMAPS, VIEWS

MODEL = "depth_anything_v2"


if TYPE_CHECKING:
    from pipeline.runs.depth import DepthDone


def add_depth_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``depth`` subcommand; its handler is stored as ``args.handler``.

    Args:
        subparsers: What ``parser.add_subparsers()`` returned.

    Returns:
        The subcommand's parser.
    """
    spec = models.spec("depth", MODEL)
    licenses = spec.extra.get("licenses", {})
    sizes = ", ".join(f"{s} ({licenses.get(s, '?')})" for s in spec.sizes)
    parser = subparsers.add_parser(
        "depth",
        help="estimate depth in a video (Depth Anything V2)",
        description="Estimate relative depth in every frame with Depth Anything V2 and write "
        "an H.264 video coloured with a display range smoothed over time. Values are "
        "relative inverse depth (larger is nearer), not metres.",
    )
    parser.add_argument("video", type=Path, help="input video file")
    parser.add_argument(
        "--size", default=spec.default_size, choices=spec.sizes, help=f"model size: {sizes}"
    )
    parser.add_argument("--colormap", default="turbo", choices=list(COLORMAPS))
    parser.add_argument(
        "--view",
        default="depth",
        choices=VIEWS,
        help="depth only, the frame and its depth side by side, or depth blended over the frame",
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="local save_pretrained folder or hub id (default: $DEPTH_ANYTHING_V2_<SIZE>_WEIGHTS, "
        "then $DEPTH_ANYTHING_WEIGHTS, then the size's hub checkpoint)",
    )
    add_device_arguments(parser)
    parser.add_argument(
        "--input-size", type=int, default=None, help="side the model sees (default 518)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output video (.mp4, H.264)")
    add_run_limit_arguments(parser)
    parser.set_defaults(handler=run_depth_command)
    return parser


def run_depth_command(args: argparse.Namespace) -> int:
    """Handle ``python -m pipeline depth``.

    Args:
        args: Parsed arguments of the ``depth`` subcommand.

    Returns:
        The exit status: 0 done, 130 interrupted.

    Raises:
        PipelineError: Bad video or option, or a failed run.
        models.ModelError: Unknown size or missing weights.
    """
    from pipeline.runs.depth import DepthConfig, run_depth

    config = DepthConfig(
        model=MODEL,
        size=args.size,
        weights=args.weights,
        colormap=args.colormap,
        view=args.view,
        input_size=args.input_size,
        devices=tuple(args.device or ()),
        batch_size=args.batch_size,
        max_frames=args.max_frames,
        max_duration_s=args.max_duration or None,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    events = run_depth(args.video, config, out_video=args.out, stop=stop, preview_interval_s=0.25)
    return follow_run(events, stop, show_progress=not args.no_progress, on_done=_print_done)


def _print_done(event: DepthDone) -> None:
    print(f"video: {event.video_path}")
    print(json.dumps(event.summary, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``depth`` alone (``python -m pipeline.cli.depth VIDEO ...``); the exit status.

    User errors print one line and exit with status 2, as in :mod:`pipeline.cli.main`.
    """
    return standalone_main(add_depth_command, "depth", argv)


if __name__ == "__main__":
    sys.exit(main())
