"""``python -m pipeline batch INPUTS... --out DIR``: one kind of run over many videos.

Example:
    ``python -m pipeline batch videos/ "more/**/*.mp4" --out results/ --task detect
    --detector yolo11 --queries person,car --no-video``

    ``python -m pipeline batch videos/ --out /shared/results --ray 10.0.0.1:6379``

Each video gets its own folder in DIR (its stem and a hash of its path) with the
files a run in its own folder writes, and a line in ``DIR/manifest.jsonl``
(:mod:`pipeline.batch.manifest`) as it finishes; running the same command again
skips the videos already done. The task's options are those of its own
subcommand, made from the same config (``--task segment --help`` lists them).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.batch.inputs import expand_inputs, is_pattern
from pipeline.batch.local import BatchStop, run_local
from pipeline.batch.manifest import DONE, FAILED, MANIFEST_NAME, Manifest
from pipeline.batch.outcome import BatchOutcome
from pipeline.batch.ray_runner import check_reachable, import_ray, run_on_ray
from pipeline.batch.work import VideoJob, VideoProgress, VideoResult, check_without_video, plan_jobs
from pipeline.cli.common import (
    INTERRUPTED,
    standalone_main,
    stop_on_ctrl_c,
)
from pipeline.cli.options import add_config_options, config_from_args
from pipeline.configs import PREVIEW_INTERVAL_S
from pipeline.errors import PipelineError
from pipeline.runs import run_type

#: ``--task`` names (the subcommands') and the runs they start.
TASKS = {"detect": "detection", "segment": "segmentation", "depth": "depth"}
#: The task when ``--task`` is not given.
DEFAULT_TASK = "detect"
#: Exit status when every video was processed or skipped but some failed.
SOME_FAILED = 1


class _TaskOptionsParser(argparse.ArgumentParser):
    """An argument parser that adds the options of the ``--task`` named on the line.

    The task's options come from its config, as for its own subcommand; tasks
    share flags with different meanings (``--size``, ``--queries``), so only the
    chosen task's options can be on the parser, and which one is known only
    once the words are seen.
    """

    _task_added: str | None = None

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        words = list(sys.argv[1:] if args is None else args)
        self.add_task_options(_named_task(words))
        return super().parse_known_args(words, namespace)

    def add_task_options(self, task: str) -> None:
        if self._task_added is not None or task not in TASKS:
            return
        self._task_added = task
        group = self.add_argument_group(f"{task} settings (the options of the {task} subcommand)")
        add_config_options(group, run_type(TASKS[task]).config_type)


def _named_task(words: Sequence[str]) -> str:
    """The value of ``--task`` among ``words`` (the last one wins, as argparse does)."""
    task = DEFAULT_TASK
    for index, word in enumerate(words):
        if word == "--":
            break
        if word == "--task" and index + 1 < len(words):
            task = words[index + 1]
        elif word.startswith("--task="):
            task = word.split("=", 1)[1]
    return task


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``batch`` subcommand (the task's options from its config, as for its subcommand)."""
    # add_parser builds every subparser with one class; this one needs its own.
    default_class = subparsers._parser_class
    subparsers._parser_class = _TaskOptionsParser
    try:
        parser = subparsers.add_parser(
            "batch",
            help="run detect, segment or depth over many videos (here or on a Ray cluster)",
            description="Run one kind of run over every video that INPUTS name, each in its "
            "own folder in DIR, with a manifest (DIR/manifest.jsonl, one JSON line per video "
            "as it ends). Running it again skips the videos already done or failed. A video that "
            "fails is recorded and the batch goes on; the exit status is 1 when any video of "
            "the batch failed (now or before). The "
            "options shown after the batch's own are those of --task (detect unless given); "
            "--task segment --help shows segment's.",
            allow_abbrev=False,
        )
    finally:
        subparsers._parser_class = default_class
    parser.add_argument(
        "inputs",
        # "*" and a check of our own: ``--ray clip.mp4`` takes the only input as its address.
        nargs="*",
        metavar="INPUT",
        help="video files, folders (their videos, recursively) and glob patterns "
        "(quote them; ** for any depth)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the batch's output folder"
    )
    parser.add_argument(
        "--task", choices=list(TASKS), default=DEFAULT_TASK, help="what to run on each video"
    )
    parser.add_argument(
        "--no-video",
        action="store_true",
        help="write only the tracks (or masks), not the annotated videos",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run on a Ray cluster (pip install ray): one actor per GPU (else per CPU), each "
        "video whole in one actor; without ADDRESS a local cluster is started for the batch, "
        "'auto' joins one started here with 'ray start --head', HOST:PORT or ray://HOST:PORT "
        "a remote one (inputs and DIR must then be on a file system every node shares)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="run again the videos an earlier batch recorded as failed (skipped otherwise)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_batch_command)
    return parser


def run_batch_command(args: argparse.Namespace) -> int:
    """Run ``batch`` as the parsed options say; returns the exit status.

    Raises:
        PipelineError: No video found, a bad option, Ray missing or unreachable,
            or an error that every video would hit (before anything is kept).
        models.ModelError: Unknown model or size.
    """
    task = TASKS[args.task]
    config = config_from_args(run_type(task).config_type, args)
    config.check_request()
    if args.no_video:
        check_without_video(task)
    address = args.ray
    if address is not None:
        import_ray()
        if address and (Path(address).exists() or is_pattern(address)):
            # ``--ray clip.mp4 ...``: argparse took an input for the optional address.
            args.inputs.insert(0, address)
            address = ""
        if address:
            check_reachable(address)
    if not args.inputs:
        raise PipelineError("No input: name video files, folders or glob patterns.")
    out_dir = args.out.expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise PipelineError(f"--out {args.out} is a file, not a folder.")
    jobs = plan_jobs(
        expand_inputs(args.inputs, exclude=out_dir), out_dir, task, config,
        with_video=not args.no_video,
    )  # fmt: skip
    manifest = Manifest(out_dir / MANIFEST_NAME)
    previous = {job.video: manifest.previous(job.video, task, job.outputs) for job in jobs}
    skip = {DONE} if args.retry_failed else {DONE, FAILED}
    pending = [job for job in jobs if previous[job.video] not in skip]
    failed_before = sum(previous[job.video] == FAILED for job in jobs)
    outcome = BatchOutcome(
        skipped=len(jobs) - len(pending), failed_before=0 if args.retry_failed else failed_before
    )
    created = not out_dir.exists()
    stop, interrupted = BatchStop(), threading.Event()
    try:
        show = not args.no_progress
        with (
            BatchProgress(len(jobs), outcome.skipped, show=show) as progress,
            stop_on_ctrl_c(stop, interrupted),
        ):
            if address is None:
                run_local(pending, manifest, progress, stop,
                          progress_interval_s=PREVIEW_INTERVAL_S, outcome=outcome)  # fmt: skip
            else:
                run_on_ray(pending, manifest, progress, stop, address=address or None,
                           progress_interval_s=PREVIEW_INTERVAL_S, outcome=outcome)  # fmt: skip
        if outcome.fatal is not None:
            raise PipelineError(outcome.fatal)
    except BaseException:
        if created and not (outcome.done or outcome.failed):
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    skipped = f"{outcome.skipped} skipped"
    if outcome.failed_before:
        skipped += f" ({outcome.failed_before} failed before: --retry-failed runs them again)"
    line = f"{outcome.done} done, {skipped}, {outcome.failed} failed"
    if outcome.stopped:
        print(f"{line}; stopped (the same command goes on from here)")
        return INTERRUPTED
    print(line)
    return SOME_FAILED if outcome.failed or outcome.failed_before else 0


class BatchProgress:
    """Two progress bars on stderr: videos (skipped ones counted in) and frames.

    The frames bar counts the frames of the videos under way and done in this
    batch; its total grows as videos start and their lengths become known.
    Failed videos are written above the bars as they fail.

    Args:
        videos: Videos in the batch, skipped ones included.
        skipped: Videos an earlier batch finished.
        show: Draw the bars (the failures are printed either way).
    """

    def __init__(self, videos: int, skipped: int, *, show: bool) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.videos = tqdm(total=videos, initial=skipped, desc="videos", unit="video",
                           position=0, disable=not show)  # fmt: skip
        self.frames = tqdm(desc="frames", unit="frame", position=1, disable=not show)
        self._done: dict[Path, int] = {}
        self._totals: dict[Path, int | None] = {}
        self._failed = 0

    def __enter__(self) -> BatchProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.frames.close()
        self.videos.close()

    def started(self, job: VideoJob) -> None:
        self._done[job.video] = 0
        self._totals[job.video] = None

    def progress(self, progress: VideoProgress) -> None:
        self._done[progress.video] = progress.frames_done
        self._totals[progress.video] = progress.total_frames
        self._redraw()

    def finished(self, job: VideoJob, result: VideoResult) -> None:
        if result.status == DONE:
            self.videos.update(1)
        elif not result.fatal and result.error is not None:
            self._failed += 1
            self.videos.update(1)
            self.videos.set_postfix(failed=self._failed)
            self._tqdm.write(f"failed: {job.video}: {result.error}", file=sys.stderr)
        self._redraw()

    def _redraw(self) -> None:
        totals = list(self._totals.values())
        self.frames.total = None if None in totals else sum(totals)  # type: ignore[arg-type]
        self.frames.update(sum(self._done.values()) - self.frames.n)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``batch`` alone; user errors print one line and exit with status 2."""
    return standalone_main(add_command, "batch", argv)


if __name__ == "__main__":
    sys.exit(main())
