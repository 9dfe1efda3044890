"""What the ``python -m pipeline`` subcommands share: run subcommands, following a run, exits."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from typing import Any

import models
from pipeline.cli.options import (
    add_config_options,
    add_output_options,
    config_from_args,
    outputs_from_args,
)
from pipeline.configs import PREVIEW_INTERVAL_S
from pipeline.errors import PipelineError
from pipeline.runs import run_type, start
from pipeline.runtime.events import Done, Downloading, Event, FirstFrame, Progress

#: Exit status for errors a user can cause (bad file, unknown model, bad option).
USER_ERROR = 2
#: Exit status after Ctrl-C, as shells report SIGINT.
INTERRUPTED = 130


def add_run_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    task: str,
    help: str,
    description: str,
) -> argparse.ArgumentParser:
    """Add a subcommand that runs ``task`` on a video: its options come from the task's config.

    Args:
        subparsers: What ``parser.add_subparsers()`` returned.
        name: The subcommand (``detect``, ``depth``, ``segment``).
        task: The task it runs.
        help: One line for ``python -m pipeline --help``.
        description: The subcommand's ``--help`` text.

    Returns:
        The subcommand's parser (its handler is set).
    """
    run = run_type(task)
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.add_argument(
        "video",
        help="the input: a video file, a camera number (0 is the first), a stream URL "
        "(rtsp://, rtmp://, http(s)://, tcp://, udp://, srt://...) or - for standard input; "
        "a live input runs until it ends or Ctrl-C, its video written in fragments so that "
        "it plays whenever it is cut off",
    )
    add_config_options(parser.add_argument_group(f"{task} settings"), run.config_type)
    add_output_options(parser, dict(run.outputs))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=lambda args: run_command(task, args))
    return parser


def run_command(task: str, args: argparse.Namespace) -> int:
    """Run ``task`` as the parsed options say, with a progress bar; returns the exit status.

    Raises:
        PipelineError: Bad video or option, or a failed run.
        models.ModelError: Unknown model, bad query or missing weights.
    """
    run = run_type(task)
    config = config_from_args(run.config_type, args)
    config.check_request()
    stop = threading.Event()
    events = start(
        args.video,
        config,
        outputs_from_args(dict(run.outputs), args),
        stop,
        preview_interval_s=PREVIEW_INTERVAL_S,
    )
    flags = {name: output.flag.lstrip("-") for name, output in run.outputs.items()}
    return follow_run(
        events, stop, show_progress=not args.no_progress, on_done=lambda d: print_done(d, flags)
    )


def print_done(done: Done, labels: dict[str, str]) -> None:
    """Print where each output went (labelled by its option) and the summary as JSON."""
    if done.summary.warning:
        print(f"WARNING: {done.summary.warning}", file=sys.stderr)
    if done.summary.partial:
        print(f"stopped after {done.summary.frames} frames", file=sys.stderr)
    width = max(len(label) for label in labels.values()) + 1
    for name, path in done.outputs.items():
        print(f"{labels[name] + ':':<{width}} {path}")
    print(json.dumps(done.summary.to_dict(), indent=2))


def follow_run(
    events: Iterator[Event],
    stop: threading.Event,
    *,
    show_progress: bool,
    on_done: Callable[[Done], None],
) -> int:
    """Consume a run's events with a progress bar; returns the exit status.

    Ctrl-C stops the run, which then ends with its partial result (the frames
    processed so far, in the video and the files alike); ``on_done`` gets it
    as it gets a finished run.

    Args:
        events: A run's events (:func:`pipeline.start`).
        stop: The run's stop flag, set on Ctrl-C.
        show_progress: Draw a tqdm bar on stderr.
        on_done: Called with the final event.

    Returns:
        0 when the run finished, 130 when it was interrupted.
    """
    from tqdm import tqdm

    bar = None
    interrupted = threading.Event()
    downloading = False
    try:
        with closing(events), stop_on_ctrl_c(stop, interrupted):
            for event in events:
                if isinstance(event, Downloading):
                    if show_progress:
                        # One line rewritten in place, as the frames bar is.
                        print(f"\r{event.text()}", end="", file=sys.stderr, flush=True)
                        downloading = True
                    continue
                if downloading:
                    print(file=sys.stderr)
                    downloading = False
                if bar is None and isinstance(event, FirstFrame | Progress):
                    bar = tqdm(desc="frames", unit="frame", disable=not show_progress)
                if isinstance(event, FirstFrame):
                    print(f"first frame: {len(event.detections)} objects", file=sys.stderr)
                elif isinstance(event, Progress):
                    assert bar is not None
                    bar.total = event.total_frames
                    bar.update(event.frame_index + 1 - bar.n)
                    bar.set_postfix(fps=f"{event.fps:.1f}")
                elif isinstance(event, Done):
                    if bar is not None:
                        bar.update(event.summary.frames - bar.n)
                        bar.close()
                    on_done(event)
    finally:
        if downloading:  # a download that failed: its error starts on a line of its own
            print(file=sys.stderr)
    if bar is not None:
        bar.close()
    return INTERRUPTED if interrupted.is_set() else 0


@contextlib.contextmanager
def stop_on_ctrl_c(stop: threading.Event, interrupted: threading.Event) -> Iterator[None]:
    """The first Ctrl-C stops the run (it ends with its partial result); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: object) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        stop.set()
        print("\nstopping; the partial result is kept (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    """Run one subcommand on its own (``python -m pipeline.cli.detect VIDEO ...``)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline")
    add_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([command, *(sys.argv[1:] if argv is None else argv)])
    return run_handler(args)
