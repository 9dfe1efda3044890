"""Pieces every kind of run shares: input checks and the throttled report loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from pipeline.annotate import downscale
from pipeline.errors import VideoError
from pipeline.events import Preview, Progress
from pipeline.io import VideoInfo, probe
from pipeline.preview import LatestValue


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
