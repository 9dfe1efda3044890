"""What every ``python -m pipeline`` subcommand shares: options, following a run, exit statuses."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from typing import Any

import models
from pipeline.runtime.errors import PipelineError
from pipeline.runtime.events import FirstFrame, Progress

#: Exit status for errors a user can cause (bad file, unknown model, bad option).
USER_ERROR = 2
#: Exit status after Ctrl-C, as shells report SIGINT.
INTERRUPTED = 130


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device`` (repeatable: one worker per device) and ``--batch-size``."""
    parser.add_argument(
        "--device",
        action="append",
        default=None,
        help="cpu, cuda or cuda:N; repeat for several devices (default: every GPU, else cpu)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="frames per model call")


def add_run_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """``--max-frames``, ``--max-duration`` and ``--no-progress``."""
    from pipeline.configs import DEFAULT_MAX_DURATION_S

    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    parser.add_argument(
        "--max-duration",
        type=float,
        default=DEFAULT_MAX_DURATION_S,
        help="refuse videos longer than this many seconds (0: no limit)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def follow_run(
    events: Iterator[Any],
    stop: threading.Event,
    *,
    show_progress: bool,
    on_done: Callable[[Any], None],
) -> int:
    """Consume a run's events with a progress bar; returns the exit status.

    Args:
        events: A run generator (``run_detection``, ``run_depth``, ``run_segmentation``).
        stop: The run's stop flag, set on Ctrl-C.
        show_progress: Draw a tqdm bar on stderr.
        on_done: Called with the final event (the one with a ``summary``).

    Returns:
        0 when the run finished, 130 when interrupted (partial outputs are removed).
    """
    from tqdm import tqdm

    bar = None
    try:
        with closing(events):
            for event in events:
                if isinstance(event, FirstFrame):
                    bar = tqdm(desc="frames", unit="frame", disable=not show_progress)
                    print(f"first frame: {len(event.detections)} objects", file=sys.stderr)
                elif isinstance(event, Progress) and bar is not None:
                    bar.total = event.total_frames
                    bar.update(event.frame_index + 1 - bar.n)
                    bar.set_postfix(fps=f"{event.fps:.1f}")
                elif hasattr(event, "summary"):
                    if bar is not None:
                        bar.update(event.summary["frames"] - bar.n)
                        bar.close()
                    on_done(event)
    except KeyboardInterrupt:
        stop.set()
        print("stopped; partial outputs removed", file=sys.stderr)
        return INTERRUPTED
    finally:
        if bar is not None:
            bar.close()
    return 0


def run_handler(args: argparse.Namespace) -> int:
    """Call the parsed subcommand's handler; user errors print one line and give status 2."""
    try:
        return args.handler(args)
    except (PipelineError, models.ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR


def standalone_main(
    add_command: Callable[[argparse._SubParsersAction], Any],
    command: str,
    argv: Sequence[str] | None = None,
) -> int:
    """Run one subcommand on its own (``python -m pipeline.cli.depth VIDEO ...``)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline")
    add_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([command, *(sys.argv[1:] if argv is None else argv)])
    return run_handler(args)
