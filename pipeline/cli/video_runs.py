"""``python -m pipeline depth|segment VIDEO ...``: the run subcommands made of their config alone.

Their options come from the task's config (:func:`~pipeline.cli.common.add_run_command`);
``detect``, which adds options of its own, is :mod:`pipeline.cli.detect`.

Examples:
    ``python -m pipeline depth clip.mp4 --size small --view side_by_side --out depth.mp4``

    ``python -m pipeline segment clip.mp4 --segmenter GSAM2-S --queries "person, dog"
    --step 10 --out masks.mp4 --json masks.json``
"""

from __future__ import annotations

import argparse
from typing import NamedTuple

from pipeline.cli.common import add_run_command


class VideoRun(NamedTuple):
    """A subcommand's task, its line in ``python -m pipeline --help`` and its own ``--help``."""

    task: str
    help: str
    description: str


#: The subcommands, in the order ``--help`` lists them.
VIDEO_RUNS = {
    "depth": VideoRun(
        "depth",
        "estimate depth in a video (Depth Anything V2)",
        "Estimate relative depth in every frame with Depth Anything V2 and write an H.264 "
        "video coloured with a display range smoothed over time. Values are relative "
        "inverse depth (larger is nearer), not metres.",
    ),
    "segment": VideoRun(
        "segmentation",
        "segment and follow objects through a video (Grounded SAM 2 / YOLO + SAM 2)",
        "Find objects with a detector every STEP frames, segment them with SAM 2.1 and "
        "follow their masks through the video with stable ids. Writes an annotated H.264 "
        "video and per-frame JSON with each object's mask (COCO RLE).",
    ),
}


def add_command(subparsers: argparse._SubParsersAction) -> None:
    """Add every subcommand of :data:`VIDEO_RUNS`."""
    for name, run in VIDEO_RUNS.items():
        add_run_command(
            subparsers, name, task=run.task, help=run.help, description=run.description
        )
