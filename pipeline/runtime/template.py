"""Pieces every kind of run shares: input checks, the throttled report loop, the run's threads."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np

from models.errors import ModelError
from pipeline.io.video import FrameReader, VideoInfo, probe
from pipeline.runtime.errors import PipelineError, VideoError
from pipeline.runtime.events import Preview, Progress
from pipeline.runtime.pool import DevicePool, Worker
from pipeline.runtime.report import LatestValue
from pipeline.stages.annotation import downscale

R = TypeVar("R")


def check_video(path: str | Path, max_duration_s: float | None) -> VideoInfo:
    """Probe a video and apply a run's length limit.

    Args:
        path: The video file.
        max_duration_s: Longest accepted duration in seconds (None: no limit).

    Returns:
        The video's :class:`VideoInfo`.

    Raises:
        VideoError: Unreadable, or longer than ``max_duration_s``.
    """
    info = probe(path)
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise VideoError(
            f"The video is {info.duration_s:.0f} s long; the limit is "
            f"{max_duration_s:.0f} s. Trim it or raise the limit."
        )
    return info


def report_progress(
    latest: LatestValue[tuple[int, np.ndarray]],
    *,
    started: float,
    frames_done: Callable[[], int],
    total_frames: int | None,
    preview_interval_s: float,
    preview_max_width: int,
) -> Iterator[Progress | Preview]:
    """Yield progress and the newest frame, at most once per interval, until the run ends.

    The processing thread publishes every finished frame to ``latest``; this
    loop only reads the newest, so a slow consumer (a browser on a poor link)
    skips frames instead of slowing the run.

    Args:
        latest: Channel of ``(frame_index, BGR image)``; closed at the end of the run.
        started: ``time.perf_counter()`` at the start of the run.
        frames_done: Returns how many frames are fully processed.
        total_frames: Frames expected, if known.
        preview_interval_s: Least time between two previews.
        preview_max_width: Previews are downscaled to at most this width.

    Yields:
        A ``Progress`` then a ``Preview`` per interval.
    """
    version, next_yield = 0, 0.0
    while not latest.closed:
        wait = next_yield - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        version_now, value = latest.wait_newer(version, timeout=0.5)
        if value is None or version_now == version:
            continue
        version = version_now
        now = time.perf_counter()
        next_yield = now + preview_interval_s
        index, image = value
        elapsed = max(now - started, 1e-9)
        yield Progress(index, total_frames or None, frames_done() / elapsed)
        yield Preview(index, downscale(image, preview_max_width))


class RunLimits(Protocol):
    """The settings a :class:`PooledRun` reads from a run's (frozen) config."""

    @property
    def queue_size(self) -> int: ...

    @property
    def max_frames(self) -> int | None: ...

    @property
    def max_in_flight(self) -> int: ...

    @property
    def preview_max_width(self) -> int: ...


class PooledRun(Generic[R]):
    """The threads of one pooled run, and the reporting generator's side of them.

    Detection and depth runs have this shape: a prefetching decoder, a device
    pool, and one thread (the in-order stage) that takes the pool's results in
    frame order, does the stateful work (tracker or depth normaliser,
    annotation, writers), releases each frame's slot and publishes the finished
    frame to :attr:`latest`. The run's generator only reports from that
    channel (:meth:`report`), so a slow consumer never slows the run.

    Args:
        video: The input video.
        workers: One per device.
        stop: The run's stop flag.
        limits: The run's config: its queue size, frame limit, bound on frames
            in flight and preview width.
        name: Name of the in-order stage's thread.

    Attributes:
        reader: The prefetching decoder.
        pool: The device pool.
        slots: Released by the in-order stage once per finished frame.
        latest: Channel of ``(frame_index, image)`` for the preview.
        frames_done: Frames fully processed; set by the in-order stage.
        timing: Seconds per stage of the in-order stage.
        started: ``time.perf_counter()`` when the threads started.
        error: What the in-order stage raised, if anything.
    """

    def __init__(
        self,
        video: str | Path,
        workers: Sequence[Worker[R]],
        stop: threading.Event,
        limits: RunLimits,
        *,
        name: str,
    ) -> None:
        self.stop = stop
        self.slots = threading.Semaphore(limits.max_in_flight)
        self.latest: LatestValue[tuple[int, np.ndarray]] = LatestValue()
        self.frames_done = 0
        self.timing: dict[str, float] = {}
        self.error: BaseException | None = None
        self.started = time.perf_counter()
        self.reader = FrameReader(
            video,
            queue_size=limits.queue_size,
            stop=stop,
            max_frames=limits.max_frames,
            slots=self.slots,
        )
        self._preview_max_width = limits.preview_max_width
        self.pool = DevicePool(workers, self.reader, stop)
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self, in_order_stage: Callable[[], None]) -> None:
        """Run ``in_order_stage`` in its own thread; its exception ends the run.

        It must raise :class:`RunStopped` when it sees :attr:`stop` set before
        the end, so that a stopped run never reports success.
        """

        def target() -> None:
            try:
                in_order_stage()
            except BaseException as exc:  # noqa: BLE001 - re-raised by report()
                self.error = exc
                self.stop.set()
            finally:
                self.latest.close()

        self._thread = threading.Thread(target=target, name=self._name, daemon=True)
        self._thread.start()

    def report(
        self, total_frames: int | None, preview_interval_s: float
    ) -> Iterator[Progress | Preview]:
        """Yield progress and previews until the in-order stage ends; re-raise its error.

        Args:
            total_frames: Frames expected, if known.
            preview_interval_s: Least time between two previews.

        Yields:
            ``Progress`` and ``Preview`` events (see :func:`report_progress`).
        """
        yield from report_progress(
            self.latest,
            started=self.started,
            frames_done=lambda: self.frames_done,
            total_frames=total_frames,
            preview_interval_s=preview_interval_s,
            preview_max_width=self._preview_max_width,
        )
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise self.error

    def stage_timing(self, encode_seconds: float) -> dict[str, float]:
        """Seconds per stage: decode, the pool's stages, the in-order stage's, encode."""
        return {
            "decode": self.reader.decode_seconds,
            **self.pool.timing,
            **self.timing,
            "encode": encode_seconds,
        }

    def close(self) -> None:
        """Stop every thread of the run and wait for them (after the end, an error or a stop)."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.pool.join()
        self.reader.close()


@contextlib.contextmanager
def pipeline_errors(what: str) -> Iterator[None]:
    """Let the errors a user can act on through; wrap anything else in a :class:`PipelineError`.

    Args:
        what: Names the run in the message, e.g. ``"The depth run"``.
    """
    try:
        yield
    except (PipelineError, ModelError):  # RunStopped is a PipelineError
        raise
    except Exception as exc:
        raise PipelineError(f"{what} failed: {exc}") from exc
