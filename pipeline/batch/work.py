"""One video of a batch: where its files go, and processing it whole, in order.

The same :func:`process_video` runs on this machine (:mod:`pipeline.batch.local`)
and inside a Ray actor (:mod:`pipeline.batch.ray_runner`); it is one ordinary
run (:func:`pipeline.start`), so the stages and files are those of
``python -m pipeline detect|segment|depth`` and of the app.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ModelError
from pipeline.batch.inputs import output_folder_name
from pipeline.batch.manifest import DONE, FAILED
from pipeline.configs import RunConfig
from pipeline.errors import PipelineError
from pipeline.runs import output_paths, run_type, start
from pipeline.runtime.events import Done, Progress
from pipeline.runtime.summary import RunSummary

#: ``status`` of a video stopped part-way (Ctrl-C): never written to the manifest.
STOPPED = "stopped"
#: The output that ``--no-video`` leaves out.
VIDEO_OUTPUT = "video"


@dataclass(frozen=True)
class VideoJob:
    """One video to process and where its files go.

    Attributes:
        video: The input's absolute path.
        task: The kind of run (``"detection"``, ``"segmentation"``, ``"depth"``).
        config: The run's config, the same for every video of a batch.
        folder: The video's own output folder.
        outputs: The files the run writes, by output name.
    """

    video: Path
    task: str
    config: RunConfig
    folder: Path
    outputs: dict[str, Path]


@dataclass(frozen=True)
class VideoProgress:
    """How far one video is.

    Attributes:
        video: The input's absolute path.
        frames_done: Frames fully processed.
        total_frames: Frames expected (from the container; may be None).
    """

    video: Path
    frames_done: int
    total_frames: int | None


@dataclass(frozen=True)
class VideoResult:
    """How one video ended.

    Attributes:
        video: The input's absolute path.
        status: :data:`~pipeline.batch.manifest.DONE`,
            :data:`~pipeline.batch.manifest.FAILED` or :data:`STOPPED`.
        outputs: The files written, by output name (empty unless done).
        summary: The run's summary (None when it failed, or stopped before it began).
        error: One line saying why it failed.
        fatal: The failure is the batch's, not the video's (an unknown model,
            a bad query, missing weights): every video would fail the same
            way, so the batch stops and the video is not recorded as failed.
    """

    video: Path
    status: str
    outputs: dict[str, Path] = field(default_factory=dict)
    summary: RunSummary | None = None
    error: str | None = None
    fatal: bool = False

    def manifest_line(self, job: VideoJob) -> dict[str, Any]:
        """The video's manifest line (:mod:`pipeline.batch.manifest`)."""
        return {
            "input": str(self.video),
            "task": job.task,
            "status": self.status,
            "folder": str(job.folder),
            "outputs": {name: str(path) for name, path in self.outputs.items()},
            "summary": {} if self.summary is None else self.summary.to_dict(),
            "error": self.error,
        }


def check_without_video(task: str) -> None:
    """Check that a ``task`` run can leave its annotated video out (``--no-video``).

    Raises:
        PipelineError: The video is what the run makes (depth).
    """
    output = run_type(task).outputs.get(VIDEO_OUTPUT)
    if output is None or output.required:
        raise PipelineError(
            f"A {task} run's video is its result, so --no-video does not apply to it."
        )


def plan_jobs(
    videos: Sequence[Path],
    out_dir: Path,
    task: str,
    config: RunConfig,
    *,
    with_video: bool = True,
) -> list[VideoJob]:
    """One job per video, each with its own folder under ``out_dir``.

    Args:
        videos: The inputs' absolute paths (:func:`~pipeline.batch.inputs.expand_inputs`).
        out_dir: The batch's output folder.
        task: The kind of run.
        config: The run's config.
        with_video: Write each video's annotated video (see :func:`check_without_video`).

    Returns:
        The jobs, in the order of ``videos``; each writes the files a run in
        its own folder writes (:func:`pipeline.output_paths`).
    """
    jobs = []
    for video in videos:
        folder = out_dir / output_folder_name(video)
        outputs = output_paths(task, folder, config)
        if not with_video:
            outputs.pop(VIDEO_OUTPUT, None)
        jobs.append(VideoJob(video, task, config, folder, outputs))
    return jobs


def process_video(
    job: VideoJob,
    stop: threading.Event | None = None,
    *,
    progress_interval_s: float,
) -> Iterator[VideoProgress | VideoResult]:
    """Process one video whole and in order; never raises for a bad video.

    Args:
        job: The video and where its files go.
        stop: Set it to stop the run (its result is then :data:`STOPPED`).
        progress_interval_s: Least time between two progress reports.

    Yields:
        :class:`VideoProgress` now and then, and last one :class:`VideoResult`:
        done, failed with its one-line error (a run that fails removes its
        files), stopped, or fatal.
    """
    done: Done | None = None
    try:
        events = start(
            job.video,
            job.config,
            job.outputs,
            stop,
            preview_interval_s=progress_interval_s,
            with_first_frame=False,
        )
        with closing(events):
            for event in events:
                if isinstance(event, Progress):
                    yield VideoProgress(job.video, event.frame_index + 1, event.total_frames)
                elif isinstance(event, Done):
                    done = event
    except ModelError as exc:
        _remove_if_empty(job.folder)
        yield VideoResult(job.video, FAILED, error=one_line(exc), fatal=True)
        return
    except Exception as exc:  # noqa: BLE001 - one bad video fails alone
        text = str(exc) if isinstance(exc, PipelineError) else f"{type(exc).__name__}: {exc}"
        _remove_if_empty(job.folder)
        yield VideoResult(job.video, FAILED, error=one_line(text))
        return
    if done is None or done.summary.partial:
        yield VideoResult(job.video, STOPPED, summary=done.summary if done else None)
        return
    yield VideoProgress(job.video, done.summary.frames, done.summary.frames)
    yield VideoResult(job.video, DONE, dict(done.outputs), done.summary)


def _remove_if_empty(folder: Path) -> None:
    # A failed run removed its files; its folder goes too unless something else is in it.
    with contextlib.suppress(OSError):
        folder.rmdir()


def one_line(error: object) -> str:
    """An error's text on one line (the manifest's ``error``)."""
    return " ".join(str(error).split()) or type(error).__name__
