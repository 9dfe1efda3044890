"""The command line: ``python -m pipeline detect|depth|segment|batch|track|bench|bench-grid``.

Each module of this package adds its subcommands with an ``add_command(subparsers)``.
The run subcommands build the same config objects as the UI and the API
(their options come from the configs) and follow the same events.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pipeline.cli import batch, bench, bench_grid, detect, track, video_runs
from pipeline.cli.common import run_handler

SUBCOMMANDS = (detect, video_runs, batch, track, bench, bench_grid)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m pipeline`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description="Video detection, tracking, segmentation, depth."
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Errors a user can cause (bad file, unknown model, bad query, bad option,
    missing weights) print one clear line and exit with status 2.
    """
    return run_handler(build_parser().parse_args(argv))
