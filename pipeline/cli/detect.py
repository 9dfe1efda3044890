"""``python -m pipeline detect VIDEO ...``: detect and track objects in a video.

Example:
    ``python -m pipeline detect clip.mp4 --detector yolo11 --size m --queries person,car
    --out out.mp4 --tracks tracks.json --mot tracks.txt``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli.common import add_run_command, standalone_main


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``detect`` subcommand (options from :class:`~pipeline.configs.DetectionConfig`)."""
    return add_run_command(
        subparsers,
        "detect",
        task="detection",
        help="detect and track objects in a video",
        description="Detect objects, track them with ByteTrack, and write an annotated "
        "H.264 video and the tracks (JSON, optionally MOTChallenge text).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``detect`` alone; user errors print one line and exit with status 2."""
    return standalone_main(add_command, "detect", argv)


if __name__ == "__main__":
    sys.exit(main())
