"""``python -m pipeline depth VIDEO ...``: relative depth over a video (Depth Anything V2).

Example:
    ``python -m pipeline depth clip.mp4 --size small --view side_by_side --out depth.mp4``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli.common import add_run_command, standalone_main


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``depth`` subcommand (options from :class:`~pipeline.configs.DepthConfig`)."""
    return add_run_command(
        subparsers,
        "depth",
        task="depth",
        help="estimate depth in a video (Depth Anything V2)",
        description="Estimate relative depth in every frame with Depth Anything V2 and write "
        "an H.264 video coloured with a display range smoothed over time. Values are "
        "relative inverse depth (larger is nearer), not metres.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``depth`` alone; user errors print one line and exit with status 2."""
    return standalone_main(add_command, "depth", argv)


if __name__ == "__main__":
    sys.exit(main())
