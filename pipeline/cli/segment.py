"""``python -m pipeline segment VIDEO ...``: segment and follow objects (SAM 2.1).

Example:
    ``python -m pipeline segment clip.mp4 --segmenter GSAM2-S --queries "person, dog"
    --step 10 --out masks.mp4 --json masks.json``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli.common import add_run_command, standalone_main


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``segment`` (options from :class:`~pipeline.configs.SegmentationConfig`)."""
    return add_run_command(
        subparsers,
        "segment",
        task="segmentation",
        help="segment and follow objects through a video (Grounded SAM 2 / YOLO + SAM 2)",
        description="Find objects with a detector every STEP frames, segment them with "
        "SAM 2.1 and follow their masks through the video with stable ids. Writes an "
        "annotated H.264 video and per-frame JSON with each object's mask (COCO RLE).",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``segment`` alone; user errors print one line and exit with status 2."""
    return standalone_main(add_command, "segment", argv)


if __name__ == "__main__":
    sys.exit(main())
