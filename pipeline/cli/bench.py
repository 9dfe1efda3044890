"""``python -m pipeline bench VIDEO ...``: the throughput benchmark.

The measurements live in :mod:`pipeline.evaluation.benchmark`.
"""

from __future__ import annotations

import argparse


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand."""
    from pipeline.evaluation import benchmark

    parser = subparsers.add_parser(
        "bench",
        help="measure throughput: decode, encode, model-only, end to end, plain loop, memory",
        description=benchmark.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    benchmark.add_arguments(parser)
    parser.set_defaults(handler=benchmark.run_from_args)
    return parser
