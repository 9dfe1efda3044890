"""A batch on this machine: one video after another, each spread over every device.

Why one video at a time rather than one per device: a run already spreads its
frames over all the devices of its config (:class:`~pipeline.runtime.pool.DevicePool`,
dynamic batches, results back in frame order for the tracker and encoder), so
one video keeps every device busy; the models are loaded once and cached
(:mod:`models.instances`) for every later video; and on a CPU machine a second
concurrent run would only fight the first for the same cores (each run sizes
torch's threads to all of them). Videos in parallel pay off across machines,
which is what ``--ray`` is for (:mod:`pipeline.batch.ray_runner`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from pipeline.batch.manifest import Manifest
from pipeline.batch.outcome import BatchListener, BatchOutcome
from pipeline.batch.work import VideoJob, VideoResult, process_video


class BatchStop(threading.Event):
    """A batch's stop flag: setting it also stops the video under way.

    Each video needs a flag of its own because a run sets its flag when it
    ends (to stop its threads), which must not stop the batch.
    """

    def __init__(self) -> None:
        super().__init__()
        self._video: threading.Event | None = None

    def for_video(self) -> threading.Event:
        """A fresh flag for the next video, set whenever this one is."""
        self._video = threading.Event()
        if self.is_set():
            self._video.set()
        return self._video

    def set(self) -> None:
        """Stop the batch and the video under way."""
        super().set()
        if self._video is not None:
            self._video.set()


def run_local(
    jobs: Sequence[VideoJob],
    manifest: Manifest,
    listener: BatchListener,
    stop: BatchStop,
    *,
    progress_interval_s: float,
    outcome: BatchOutcome | None = None,
) -> BatchOutcome:
    """Process ``jobs`` one after another here, recording each in ``manifest`` as it ends.

    Args:
        jobs: The videos still to process.
        manifest: Where each video's line goes.
        listener: Told of each start, progress and end.
        stop: Set it (Ctrl-C) to stop the current video and the batch; the
            stopped video gets no manifest line, so the next batch redoes it.
        progress_interval_s: Least time between two progress reports.
        outcome: Counts to add to (its ``skipped`` set by the caller).

    Returns:
        The counts, and why the batch ended early if it did.
    """
    outcome = outcome or BatchOutcome()
    for job in jobs:
        if outcome.ended_early:
            break
        if stop.is_set():
            outcome.stopped = True
            break
        listener.started(job)
        video_stop = stop.for_video()
        for item in process_video(job, video_stop, progress_interval_s=progress_interval_s):
            if isinstance(item, VideoResult):
                outcome.record(job, item, manifest)
                listener.finished(job, item)
            else:
                listener.progress(item)
    return outcome
