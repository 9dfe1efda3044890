"""The depth run: decode, estimate depth on every device, colour steadily, encode.

Built like :mod:`pipeline.runs.detection`: a generator of events consumed alike by
the UI, the CLI and the tests, with the work in threads (prefetching decoder,
one worker per device, an in-order colouring and encoding thread) and a
latest-value preview channel, so a slow consumer drops preview frames instead
of slowing the run. Closing the generator early stops the run, joins its
threads and removes the partial video.

Depth values are relative inverse depth (larger is nearer, no unit); the video
shows them with a display range smoothed over time (:mod:`pipeline.stages.depth_display`)
so that a static scene keeps its colours.

Example:
    >>> config = DepthConfig(size="small", view="side_by_side")
    >>> for event in run_depth("clip.mp4", config, out_video="depth.mp4"):  # doctest: +SKIP
    ...     if isinstance(event, DepthDone):
    ...         print(event.summary["fps"])
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

import models
from models.depth.base import DepthEstimator
from models.timing import timed
from pipeline.configs import DEFAULT_MAX_DURATION_S
from pipeline.io.video import Frame, H264Writer, VideoInfo, read_first_frame
from pipeline.runtime.devices import resolve_devices
from pipeline.runtime.errors import PipelineError, RunStopped
from pipeline.runtime.events import FirstFrame, Preview, Progress
from pipeline.runtime.pool import DevicePool, Worker
from pipeline.runtime.template import PooledRun, check_video, pipeline_errors
from pipeline.stages.depth_display import (
    COLORMAPS,
    VIEWS,
    DepthNormalizer,
    DepthPainter,
    DisplayRange,
    output_size,
)

log = logging.getLogger(__name__)

#: What the numbers are, for summaries and the API.
VALUE_MEANING = (
    "relative inverse depth: larger is nearer; unitless, with an unknown scale and "
    "shift per frame, so not metres"
)


class InvalidDepthOption(PipelineError, ValueError):
    """A depth option (colormap, view, percentiles...) is out of range."""


@dataclass(frozen=True)
class DepthConfig:
    """Everything that decides what a depth run does.

    Attributes:
        model: Registry name of the depth estimator.
        size: Model size (None: the model's default, ``"small"``).
        weights: Local folder or Hub id, or None for the model's default weights.
        colormap: One of :data:`pipeline.depth_display.COLORMAPS`.
        view: ``"depth"``, ``"side_by_side"`` or ``"blend"``.
        opacity: Weight of the colours in the ``"blend"`` view.
        input_size: Side the model sees (None: the model's own, 518).
        devices: Devices to run on; empty means every visible CUDA device, or
            the CPU when there is none.
        batch_size: Frames per model call per device (None: the model's default).
        low_percentile: Depth percentile shown at the far end of the colours.
        high_percentile: Depth percentile shown at the near end.
        smoothing_window: Frames in the running median of the display range.
        smoothing_momentum: Share of the previous display range kept per frame.
        max_duration_s: Longer videos are refused (None: no limit).
        max_frames: Stop after this many frames (None: the whole video).
        preview_max_width: Live preview frames are downscaled to this width.
        queue_size: Bound on decoded frames waiting for the model.
        max_in_flight: Bound on frames anywhere between decoder and encoder
            (lower than detection's: each carries a float32 full-size map).
    """

    model: str = "depth_anything_v2"
    size: str | None = None
    weights: str | None = None
    colormap: str = "turbo"
    view: str = "depth"
    opacity: float = 0.6
    input_size: int | None = None
    devices: tuple[str, ...] = ()
    batch_size: int | None = None
    low_percentile: float = 2.0
    high_percentile: float = 98.0
    smoothing_window: int = 15
    smoothing_momentum: float = 0.8
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S
    max_frames: int | None = None
    preview_max_width: int = 640
    queue_size: int = 16
    max_in_flight: int = 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(self.devices))
        if self.colormap not in COLORMAPS:
            raise InvalidDepthOption(
                f"Unknown colormap {self.colormap!r}. Choose one of {', '.join(COLORMAPS)}."
            )
        if self.view not in VIEWS:
            raise InvalidDepthOption(
                f"Unknown view {self.view!r}. Choose one of {', '.join(VIEWS)}."
            )
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise InvalidDepthOption("Depth percentiles need 0 <= low < high <= 100.")
        if self.smoothing_window < 1 or not 0 <= self.smoothing_momentum < 1:
            raise InvalidDepthOption("Need smoothing_window >= 1 and 0 <= smoothing_momentum < 1.")
        if self.input_size is not None and self.input_size < 14:
            raise InvalidDepthOption("input_size must be at least 14 pixels.")

    def model_options(self) -> dict[str, str]:
        """Options passed to the model registry for this run's estimator."""
        options: dict[str, str] = {}
        if self.size is not None:
            options["size"] = self.size
        if self.weights is not None:
            options["weights"] = self.weights
        return options

    def normalizer(self) -> DepthNormalizer:
        """A fresh display-range normaliser with this config's settings."""
        return DepthNormalizer(
            self.low_percentile,
            self.high_percentile,
            window=self.smoothing_window,
            momentum=self.smoothing_momentum,
        )

    def painter(self) -> DepthPainter:
        """The painter for this config's colormap and view."""
        return DepthPainter(self.colormap, view=self.view, opacity=self.opacity)


@dataclass(frozen=True)
class DepthFrame:
    """One frame's depth, coloured for display.

    Attributes:
        image: The configured view (BGR uint8).
        depth: Relative inverse depth, float32 ``(H, W)`` at the frame's size.
        display_range: Depth values at the far and near ends of the colours.
    """

    image: np.ndarray
    depth: np.ndarray
    display_range: DisplayRange


@dataclass(frozen=True)
class DepthDone:
    """The depth run finished; its video is on disk."""

    video_path: Path
    summary: dict[str, Any] = field(default_factory=dict)


DepthEvent = FirstFrame | Progress | Preview | DepthDone


def load_estimator(config: DepthConfig, device: str) -> DepthEstimator:
    """The cached estimator for ``device`` (one per model, options and device)."""
    return models.get_cached("depth", config.model, device=device, **config.model_options())


def first_frame_depth(video: str | Path, config: DepthConfig) -> DepthFrame:
    """Decode frame 0 and estimate its depth: the fast preview shown before a run.

    Args:
        video: Video file.
        config: The run's settings (model, colormap, view, devices).

    Returns:
        The frame's depth and its coloured view.

    Raises:
        VideoError: The video is unreadable or too long.
        models.ModelError: Unknown model or size, or missing weights.
    """
    check_video(video, config.max_duration_s)
    device = resolve_devices(config.devices)[0]
    estimator = load_estimator(config, device)
    return _depth_frame(estimator, read_first_frame(video), config)


def _depth_frame(estimator: DepthEstimator, frame: Frame, config: DepthConfig) -> DepthFrame:
    [depth] = estimator.predict([frame.image], input_size=config.input_size)
    # A fresh normaliser gives frame 0 exactly the range the run will give it.
    display_range = config.normalizer().update(depth)
    image = config.painter().paint(frame.image, depth, display_range)
    return DepthFrame(image=image, depth=depth, display_range=display_range)


@dataclass
class _RunState:
    """What the in-order stage gathers for the summary."""

    value_range: list[float] = field(default_factory=lambda: [np.inf, -np.inf])
    display_range: DisplayRange | None = None


def run_depth(
    video: str | Path,
    config: DepthConfig,
    *,
    out_video: str | Path,
    stop: threading.Event | None = None,
    preview_interval_s: float = 0.1,
    with_first_frame: bool = True,
) -> Iterator[DepthEvent]:
    """Estimate depth over a whole video, yielding events as it goes.

    Args:
        video: Input video file.
        config: The run's settings.
        out_video: Output H.264 ``.mp4`` (one output frame per input frame).
        stop: Set it to stop the run (as does closing the generator).
        preview_interval_s: Least time between two yielded preview frames.
        with_first_frame: Yield a :class:`~pipeline.events.FirstFrame` (its
            ``detections`` empty) before the run starts.

    Yields:
        ``FirstFrame``, then ``Progress`` and ``Preview`` events, then
        :class:`DepthDone`.

    Raises:
        VideoError: Bad or too-long video.
        models.ModelError: Unknown model or size, or missing weights.
        RunStopped: ``stop`` was set before the end.
        PipelineError: Anything else that failed, with the original message.
    """
    stop = stop or threading.Event()
    out_video = Path(out_video)
    info = check_video(video, config.max_duration_s)
    devices = resolve_devices(config.devices)
    # Fail on a bad model or missing weights before any thread or file exists.
    estimators = {device: load_estimator(config, device) for device in dict.fromkeys(devices)}
    main_estimator = estimators[devices[0]]

    first_started = time.perf_counter()
    if with_first_frame:
        first = _depth_frame(main_estimator, read_first_frame(video), config)
        yield FirstFrame(image=first.image, detections=sv.Detections.empty())
    first_frame_s = time.perf_counter() - first_started

    def make_worker(device: str) -> Worker[np.ndarray]:
        estimator = estimators[device]

        def process(frames: list[Frame], timing: dict[str, float]) -> list[np.ndarray]:
            return estimator.predict(
                [f.image for f in frames], timing=timing, input_size=config.input_size
            )

        return Worker(device, process, config.batch_size or estimator.default_batch_size)

    state = _RunState()
    workers = [make_worker(d) for d in devices]
    run = PooledRun(video, workers, stop, config, name="depth-encoder")
    writers: dict[str, H264Writer] = {}

    def process_in_order() -> None:
        normalizer, painter, timing = config.normalizer(), config.painter(), run.timing
        width, height = output_size(info.width, info.height, config.view)
        writers["video"] = writer = H264Writer(
            out_video, width, height, info.fps, queue_size=config.queue_size, stop=stop
        )
        for frame, depth in run.pool:
            with timed(timing, "normalize"):
                display_range = normalizer.update(depth)
            with timed(timing, "colorize"):
                image = painter.paint(frame.image, depth, display_range)
            with timed(timing, "write"):
                writer.write(image)
            state.value_range[0] = min(state.value_range[0], display_range.low)
            state.value_range[1] = max(state.value_range[1], display_range.high)
            state.display_range = display_range
            run.frames_done = frame.index + 1
            run.latest.publish((frame.index, image))
            run.slots.release()
        if stop.is_set():
            raise RunStopped("The run was stopped.")
        writer.close()

    run.start(process_in_order)
    completed = False
    try:
        with pipeline_errors("The depth run"):
            yield from run.report(info.frames, preview_interval_s)
            elapsed = time.perf_counter() - run.started
            timing = run.stage_timing(writers["video"].encode_seconds)
            summary = _summary(
                run.frames_done, state, info, config, elapsed, timing, devices, run.pool,
                main_estimator,
            )  # fmt: skip
            summary["first_frame_s"] = round(first_frame_s, 3)
            completed = True
            yield DepthDone(out_video, summary)
    finally:
        run.close()
        if not completed:
            if "video" in writers:
                writers["video"].abort()
            out_video.unlink(missing_ok=True)


def _summary(
    frames_done: int,
    state: _RunState,
    info: VideoInfo,
    config: DepthConfig,
    elapsed: float,
    timing: dict[str, float],
    devices: list[str],
    pool: DevicePool[np.ndarray],
    estimator: DepthEstimator,
) -> dict[str, Any]:
    low, high = state.value_range
    final = state.display_range
    return {
        "frames": frames_done,
        "fps": round(frames_done / max(elapsed, 1e-9), 2),
        "seconds": round(elapsed, 3),
        "video": {"width": info.width, "height": info.height, "fps": info.fps},
        "view": config.view,
        "colormap": config.colormap,
        "depth": {
            "kind": estimator.kind,
            "meaning": VALUE_MEANING,
            "display_range_span": [round(low, 4), round(high, 4)] if low <= high else None,
            "final_display_range": [round(final.low, 4), round(final.high, 4)] if final else None,
        },
        "devices": devices,
        "frames_per_device": pool.frames_per_device,
        "timing_s": {k: round(v, 4) for k, v in timing.items()},
        "model": estimator.info(),
    }
