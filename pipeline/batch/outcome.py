"""What a batch runner reports as it goes, and how each video's end is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.batch.manifest import DONE, FAILED, Manifest
from pipeline.batch.work import VideoJob, VideoProgress, VideoResult


class BatchListener(Protocol):
    """Told what a batch runner does (the command line's progress bars)."""

    def started(self, job: VideoJob) -> None:
        """A video's run started."""

    def progress(self, progress: VideoProgress) -> None:
        """A video got further."""

    def finished(self, job: VideoJob, result: VideoResult) -> None:
        """A video ended (done, failed, stopped or fatal)."""


@dataclass
class BatchOutcome:
    """How a batch went.

    Attributes:
        done: Videos processed in this batch.
        skipped: Videos an earlier batch finished or saw fail (set by the caller).
        failed_before: Of the skipped, those that failed in an earlier batch.
        failed: Videos that failed in this batch.
        stopped: The batch was stopped (Ctrl-C) before its end.
        fatal: The error that stopped the batch, when every video would fail
            with it (:attr:`VideoResult.fatal`).
    """

    done: int = 0
    skipped: int = 0
    failed_before: int = 0
    failed: int = 0
    stopped: bool = False
    fatal: str | None = None

    def record(self, job: VideoJob, result: VideoResult, manifest: Manifest) -> None:
        """Count a video's end and write its manifest line when it is done or failed alone."""
        if result.fatal:
            self.fatal = self.fatal or result.error
        elif result.status in (DONE, FAILED):
            manifest.append(result.manifest_line(job))
            if result.status == DONE:
                self.done += 1
            else:
                self.failed += 1
        else:
            self.stopped = True

    @property
    def ended_early(self) -> bool:
        """Whether the batch must not start another video."""
        return self.stopped or self.fatal is not None
