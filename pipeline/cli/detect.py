"""``python -m pipeline detect VIDEO ...``: detect and track objects in a video.

Example:
    ``python -m pipeline detect clip.mp4 --detector yolo11 --size m --queries person,car
    --out out.mp4 --tracks tracks.json --mot tracks.txt``

    ``python -m pipeline detect clip.mp4 --out out.mp4 --tracks tracks.json
    --line door:320,0,320,480 --zone desk:0,300,200,300,200,480,0,480 --csv tables/``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.cli.common import add_run_command, run_command, standalone_main
from pipeline.errors import ConfigError
from pipeline.runs import run_type

#: The outputs ``--csv DIR`` writes into DIR, under their usual names.
CSV_OUTPUTS = ("tracks_csv", "objects_csv")


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``detect`` subcommand (options from :class:`~pipeline.configs.DetectionConfig`)."""
    parser = add_run_command(
        subparsers,
        "detect",
        task="detection",
        help="detect and track objects in a video",
        description="Detect objects, track them, count them over lines and in zones, and "
        "write an annotated H.264 video and the tracks (JSON, optionally MOTChallenge text "
        "and CSV tables).",
    )
    outputs = run_type("detection").outputs
    names = " and ".join(outputs[name].filename for name in CSV_OUTPUTS)
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="DIR",
        help=f"write the CSV tables ({names}) into DIR; --tracks-csv and --objects-csv "
        "name one file instead",
    )
    parser.set_defaults(handler=run_detect_command)
    return parser


def run_detect_command(args: argparse.Namespace) -> int:
    """Run ``detect``: ``--csv DIR`` names the CSV tables not named on their own.

    ``--heatmap-out`` turns the heat map on; ``--heatmap`` alone is an error (no file named).
    """
    if args.csv is not None:
        outputs = run_type("detection").outputs
        for name in CSV_OUTPUTS:
            if getattr(args, f"output_{name}") is None:
                setattr(args, f"output_{name}", args.csv / outputs[name].filename)
    if args.output_heatmap is not None:
        args.heatmap = True  # naming the image is asking for it
    elif args.heatmap:
        raise ConfigError("--heatmap writes an image: name it with --heatmap-out FILE.png.")
    return run_command("detection", args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``detect`` alone; user errors print one line and exit with status 2."""
    return standalone_main(add_command, "detect", argv)


if __name__ == "__main__":
    sys.exit(main())
