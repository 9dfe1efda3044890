"""The settings of every kind of run: one frozen dataclass per task, side by side.

Each field has its default and its check here and nowhere else. The command line
builds its options from these fields (:mod:`pipeline.cli.options`: the flag, type
and default come from the field, the help text from the class's ``Attributes``),
the UI takes its initial values from them, and a bad value is the same clear
:class:`ConfigError` on every path.

Example:
    >>> DetectionConfig(detector="yolox_nano", confidence=0.3).confidence
    0.3
    >>> try:
    ...     DetectionConfig(confidence=1.5)
    ... except ConfigError as error:
    ...     print(error)
    Confidence must be between 0 and 1, not 1.5.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import models
from models.detectors.base import normalize_queries
from models.prefetch import ModelLoad
from models.runtimes import AUTO, InvalidRuntimeError, check_runtime, known_runtimes, runtimes_for
from pipeline.errors import ConfigError
from pipeline.io.video_limits import (
    DEFAULT_MAX_DURATION_S,
    DEFAULT_MAX_FPS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_VIDEO_FRAMES,
    VideoLimits,
)
from pipeline.stages.click_prompts import ClickPrompts, parse_prompts
from pipeline.stages.counting import (
    CountingLine,
    CountingZone,
    as_lines,
    as_zones,
    check_names,
)
from pipeline.stages.depth_display import COLORMAPS, VIEWS
from pipeline.stages.privacy import PRIVACY_STYLES
from pipeline.stages.slicing import MIN_SLICE_SIZE
from pipeline.stages.speed import (
    SpeedArea,
    as_points,
    as_size,
    check_area_points,
    check_area_size,
)
from pipeline.stages.stride import EVERY_FRAME, as_detect_every
from pipeline.stages.tracker_params import as_tracker_params, checked_tracker_params
from pipeline.stages.tracker_registry import DEFAULT_TRACKER, tracker_names

#: A frame count no video reaches.
NEVER = 2**62
MIB = 1024 * 1024
#: Least time between two live previews of a run, wherever it is watched: the page, the
#: REST stream, the command line's progress. Each preview is a JPEG (a file in Gradio's
#: cache on the page), so more often costs the run time and disk for no visible gain.
PREVIEW_INTERVAL_S = 0.2
#: The least detection score a detection run keeps, unless told otherwise.
DEFAULT_CONFIDENCE = 0.25
#: The longest keyframe step: past it a segmentation run would hardly look for new objects.
MAX_STEP = 300


def option(
    default: Any = None,
    *,
    flag: str | None = None,
    cli: bool = True,
    parse: Callable[[Any], Any] | None = None,
    repeat: bool = False,
    choices: Callable[[], Any] | tuple[str, ...] | None = None,
    default_factory: Callable[[], Any] | None = None,
    metavar: str | None = None,
) -> Any:
    """A config field, with how the command line offers it.

    Args:
        default: The field's default value.
        flag: The command-line flag (default: ``--`` and the name with dashes).
        cli: Whether the command line offers the field at all.
        parse: Turns the command-line value into the field's value
            (e.g. ``"person, car"`` into ``("person", "car")``).
        repeat: The flag may be given several times; the values form a tuple.
        choices: The allowed values (or a callable returning them), named in
            the help text; the check itself is the config's.
        default_factory: For mutable defaults, as in :func:`dataclasses.field`.
        metavar: How ``--help`` names the value (default: the field's name).

    Returns:
        A :func:`dataclasses.field`.
    """
    metadata = {
        "flag": flag,
        "cli": cli,
        "parse": parse,
        "repeat": repeat,
        "choices": choices,
        "metavar": metavar,
    }
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def field_default(config_type: type, name: str) -> Any:
    """The default of a config field: what the UI shows before the user changes anything.

    Example:
        >>> field_default(DetectionConfig, "confidence")
        0.25
    """
    item = next(f for f in fields(config_type) if f.name == name)
    if item.default is not MISSING:
        return item.default
    return item.default_factory()  # type: ignore[misc]


def registry_options(extra: tuple[tuple[str, Any], ...] = (), **given: Any) -> dict[str, Any]:
    """Options for :func:`models.get_cached`: ``extra``, then each given option that is set.

    Example:
        >>> registry_options((("imgsz", 416),), size="n", weights=None)
        {'imgsz': 416, 'size': 'n'}
    """
    return {**dict(extra), **{name: value for name, value in given.items() if value is not None}}


def _no_limit_when_zero(value: float) -> float | None:
    return value or None


def _check_at_least(name: str, value: float | None, least: float) -> None:
    if value is not None and not value >= least:
        raise ConfigError(f"{name} must be at least {least:g}, not {value}.")


def _check_confidence(value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"Confidence must be between 0 and 1, not {value}.")


def _check_size(kind: str, name: str, size: str | None) -> None:
    """The model exists and comes in ``size`` (raises the registry's own errors)."""
    spec = models.spec(kind, name)
    if size is None:
        return
    if not spec.sizes:
        raise ConfigError(f"{spec.label} comes in one size only; give no size.")
    if size not in spec.sizes:
        raise ConfigError(f"{spec.label} has no size {size!r}. Available: {', '.join(spec.sizes)}.")


def _check_privacy(config: Any) -> None:
    """A config's ``privacy`` style (None, blur or pixelate) and classes, normalised."""
    privacy = (config.privacy or "").strip().lower() or None
    if privacy is not None and privacy not in PRIVACY_STYLES:
        raise ConfigError(
            f"Unknown privacy style {config.privacy!r}. Choose {' or '.join(PRIVACY_STYLES)}."
        )
    object.__setattr__(config, "privacy", privacy)
    object.__setattr__(config, "privacy_classes", normalize_queries(config.privacy_classes))


def _check_queries_given(config: Any) -> None:
    """A segmenter that finds what is described (GSAM2, SAM 3) is told what: queries.

    Unless a detector of the caller's own finds the objects (not for SAM 3,
    which takes none), or they were picked by hand.
    """
    spec = models.spec("segmenter", config.segmenter)
    if not spec.open_vocabulary or config.queries or config.prompts is not None:
        return
    if config.detector is None or config.text_prompted:
        # Said before anything loads (SAM 3 has 0.9B parameters to fetch and load).
        raise ConfigError(
            f"{config.segmenter} finds what you describe: enter text queries, "
            "e.g. 'person, red car'."
        )


def _check_text_segmenter(config: Any) -> None:
    """A segmenter that finds the queries itself (SAM 3): no detector, no clicks."""
    if not config.text_prompted:
        return
    if config.detector is not None:
        raise ConfigError(
            f"{config.segmenter} finds the text queries itself and takes no detector; "
            "leave the detector unset, or choose a GSAM2 or YSAM2 segmenter to use one."
        )
    if config.prompts is not None:
        raise ConfigError(
            f"{config.segmenter} takes text queries, not clicks; "
            "choose a SAM 2 or EdgeTAM segmenter to follow objects picked by hand."
        )


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """What every kind of run is told.

    Attributes:
        devices: Devices to run on: cpu, cuda or cuda:N, repeated for several
            (default: every visible GPU, else the CPU).
        max_duration_s: Refuse video files longer than this many seconds (0: no
            limit; a live source runs until it ends or is stopped).
        max_frames: Stop after this many frames (default: the whole video).
        max_pixels: Refuse video files whose frames have more pixels than this
            (0: no limit).
        max_fps: Refuse video files with a higher frame rate (0: no limit).
        max_video_frames: Refuse video files with more frames than this, from
            their headers, and fail a run that decodes more (0: no limit).
        preview_max_width: Live preview frames are downscaled to this width.
        queue_size: Bound on decoded frames waiting to be processed.
        source_timeout_s: Live sources: seconds to wait for the source to open,
            and for each frame before a stream counts as dropped.
        reconnect_tries: Live streams: how many more times a stream that cannot
            be opened, or drops, is tried, waiting 0.5, 1, 2, 4, 8, 8... s
            between tries (0: never).
    """

    devices: tuple[str, ...] = option((), flag="--device", repeat=True)
    max_duration_s: float | None = option(
        DEFAULT_MAX_DURATION_S, flag="--max-duration", parse=_no_limit_when_zero
    )
    max_frames: int | None = option(None)
    max_pixels: int | None = option(DEFAULT_MAX_PIXELS, parse=_no_limit_when_zero)
    max_fps: float | None = option(DEFAULT_MAX_FPS, parse=_no_limit_when_zero)
    max_video_frames: int | None = option(DEFAULT_MAX_VIDEO_FRAMES, parse=_no_limit_when_zero)
    preview_max_width: int = option(640, cli=False)
    queue_size: int = option(16)
    source_timeout_s: float = option(10.0, flag="--source-timeout")
    reconnect_tries: int = option(5)

    #: Frames allowed between decoder and encoder at once (None: bounded by the
    #: run's own queues). Pooled runs make it a field.
    max_in_flight: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(self.devices))
        if self.max_duration_s is not None and not self.max_duration_s > 0:
            raise ConfigError(
                f"The duration limit must be a positive number of seconds, not "
                f"{self.max_duration_s}."
            )
        _check_at_least("The frame limit (max_frames)", self.max_frames, 1)
        _check_at_least("The pixel limit (max_pixels)", self.max_pixels, 1)
        _check_at_least("The frame rate limit (max_fps)", self.max_fps, 1)
        _check_at_least("The video's frame limit (max_video_frames)", self.max_video_frames, 1)
        _check_at_least("The preview width (preview_max_width)", self.preview_max_width, 16)
        _check_at_least("The queue size (queue_size)", self.queue_size, 1)
        if not (isinstance(self.source_timeout_s, int | float) and self.source_timeout_s > 0):
            raise ConfigError(
                f"The source timeout must be a positive number of seconds, not "
                f"{self.source_timeout_s}."
            )
        _check_at_least("The reconnection tries (reconnect_tries)", self.reconnect_tries, 0)

    def check_request(self) -> None:
        """Check what a request must say that the defaults may leave open (nothing here).

        Where fields become a config (:func:`pipeline.request.config_from_fields`:
        the tabs, REST, MCP, the command line) it runs after the field checks; a
        config made in code (the defaults, to list what they load) need not pass
        it, and its run finds the same when its models load.

        Raises:
            ConfigError: Something the request must say is missing.
        """

    def video_limits(self) -> VideoLimits:
        """The limits a video file must fit (:mod:`pipeline.io.video_limits`)."""
        return VideoLimits(
            max_duration_s=self.max_duration_s,
            max_pixels=self.max_pixels,
            max_fps=self.max_fps,
            max_frames=self.max_video_frames,
        )

    def models_used(self) -> list[tuple[str, str, str | None]]:
        """``(kind, name, size)`` of each model the run loads (size None: the default)."""
        raise NotImplementedError

    def model_loads(self) -> list[ModelLoad]:
        """Each model the run loads, with the registry options it is loaded with.

        What a run gives :func:`models.get_cached`, so that its weights can be
        fetched before it loads them (:func:`models.prefetch.fetch_weights`).
        """
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class PooledRunConfig(RunConfig):
    """What runs that batch frames over a device pool are told besides.

    Attributes:
        batch_size: Frames per model call per device (default: the model's own).
        max_in_flight: Bound on frames anywhere between decoder and encoder.
    """

    batch_size: int | None = option(None)
    max_in_flight: int = option(64)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_at_least("The batch size (batch_size)", self.batch_size, 1)
        _check_at_least("The bound on frames in flight (max_in_flight)", self.max_in_flight, 1)


@dataclass(frozen=True, kw_only=True)
class DetectionConfig(PooledRunConfig):
    """Everything that decides what a detection run does.

    Attributes:
        detector: Registry name of the detector (default: yolo11 where its
            weights can be had, else the first whose weights can, such as the
            bundled yolox_nano offline).
        size: Model size, e.g. n/s/m/l/x for yolo11, tiny/base for
            grounding_dino (default: the model's own).
        weights: Local weights file or folder, or a hub id; for YOLO also an
            architecture file such as yolo11n.yaml (random weights, real compute).
        queries: Class names to keep, comma-separated (empty: all), or what to
            find in free text for grounding_dino.
        confidence: Minimum detection score, 0 to 1.
        runtime: What runs the detector's network: auto (on a CPU the fastest
            the detector offers, measured at first use; on a GPU its default),
            or one the detector offers, such as onnxruntime, onnxruntime-int8,
            openvino or torch (docs/cpu-runtimes.md).
        tracker: The tracker that gives objects their ids (each with defaults
            tuned on MOT sequences; docs/trackers.md).
        tracker_params: Overrides of the tracker's tuned defaults as
            NAME=VALUE, repeated for several (for example
            lost_track_buffer=60; `python -m pipeline track --help` lists
            each tracker's parameters).
        detector_options: Further detector options as ``(name, value)`` pairs
            (for example ``(("imgsz", 416),)``).
        detect_every: Detect on every K-th frame only, the tracker predicting
            the boxes between (marked predicted in the tracks file and the
            objects table): faster, somewhat less accurate as K grows
            (docs/cpu-runtimes.md). auto: on a live source the least K that
            keeps up with it, from measured times; on a file every frame.
        depth: Also measure each tracked object's relative depth with Depth
            Anything V2 (labels, tracks file, near-to-far order in the summary).
        depth_size: Depth Anything V2 size when measuring depth: small, base or large.
        depth_weights: Local Depth Anything V2 weights.
        lines: Counting lines as NAME:x1,y1,x2,y2 in the input video's pixels,
            repeated for several: objects crossing each are counted in and
            out, per class ("in" runs from the right of the line to its left,
            looking from its first point to its second).
        zones: Counting zones as NAME:x1,y1,x2,y2,x3,y3,... (three or more
            corners, the video's pixels), repeated for several: each zone's
            occupancy per class and each track's seconds inside.
        paths: Draw each track's path over its last two seconds on the video.
        heatmap: Write a heat map of where objects were over the whole video,
            all objects and per class, over the first frame (an image).
        heatmap_overlay: Draw the heat map so far over the video's frames.
        privacy: Hide objects in the video, the preview and the first frame:
            blur or pixelate their boxes (default: off).
        privacy_classes: The classes to hide, comma-separated (empty: every
            object); with privacy on.
        slicing: Detect on overlapping tiles of each frame and merge them
            (supervision's InferenceSlicer): finds small objects in large
            frames, one detector call per tile.
        slice_size: The tiles' side in the video's pixels, with slicing on.
        speed: Measure each track's speed in pixels per second (labels,
            tracks file, per-track table); km/h with a speed area.
        speed_area: Four corners of a rectangle on the ground as
            x1,y1,x2,y2,x3,y3,x4,y4 in the video's pixels, in order around it
            (turns speed on; with speed_area_size, speeds are in km/h too).
        speed_area_size: The rectangle's size W,L in metres: W from its first
            point to its second, L from its second to its third.
    """

    detector: str = option(
        default_factory=models.default_detector, choices=lambda: models.available("detector")
    )
    size: str | None = option(None)
    weights: str | None = option(None)
    queries: tuple[str, ...] = option(())
    confidence: float = option(DEFAULT_CONFIDENCE, flag="--conf")
    runtime: str = option(AUTO, choices=known_runtimes)
    tracker: str = option(DEFAULT_TRACKER, choices=tracker_names)
    tracker_params: tuple[tuple[str, Any], ...] = option(
        (), flag="--tracker-param", repeat=True, parse=as_tracker_params, metavar="NAME=VALUE"
    )
    detector_options: tuple[tuple[str, Any], ...] = option((), cli=False)
    detect_every: int | str = option(EVERY_FRAME, metavar="K|auto")
    depth: bool = option(False)
    depth_size: str | None = option(None)
    depth_weights: str | None = option(None)
    lines: tuple[CountingLine, ...] = option(
        (), flag="--line", repeat=True, parse=as_lines, metavar="NAME:x1,y1,x2,y2"
    )
    zones: tuple[CountingZone, ...] = option(
        (), flag="--zone", repeat=True, parse=as_zones, metavar="NAME:x1,y1,x2,y2,x3,y3,..."
    )
    paths: bool = option(False)
    heatmap: bool = option(False)
    heatmap_overlay: bool = option(False)
    privacy: str | None = option(None, choices=PRIVACY_STYLES)
    privacy_classes: tuple[str, ...] = option(())
    slicing: bool = option(False)
    slice_size: int = option(320)
    speed: bool = option(False)
    speed_area: tuple[tuple[float, float], ...] = option(
        (), parse=as_points, metavar="x1,y1,x2,y2,x3,y3,x4,y4"
    )
    speed_area_size: tuple[float, float] | None = option(None, parse=as_size, metavar="W,L")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "queries", normalize_queries(self.queries))
        object.__setattr__(self, "lines", as_lines(self.lines))
        object.__setattr__(self, "zones", as_zones(self.zones))
        check_names(self.lines, self.zones)
        object.__setattr__(self, "tracker_params", as_tracker_params(self.tracker_params))
        checked_tracker_params(self.tracker, dict(self.tracker_params))
        object.__setattr__(self, "detect_every", as_detect_every(self.detect_every))
        _check_size("detector", self.detector, self.size)
        _check_confidence(self.confidence)
        _check_runtime(self.detector, self.runtime)
        if self.depth:
            _check_size("depth", DEPTH_MODEL, self.depth_size)
        self._check_after_counting()

    def _check_after_counting(self) -> None:
        """The paths, heat map, privacy, slicing and speed settings."""
        _check_privacy(self)
        if not (isinstance(self.slice_size, int) and self.slice_size >= MIN_SLICE_SIZE):
            raise ConfigError(
                f"The slice size must be a whole number of at least {MIN_SLICE_SIZE} "
                f"pixels, not {self.slice_size}."
            )
        object.__setattr__(self, "speed_area", as_points(self.speed_area))
        object.__setattr__(self, "speed_area_size", as_size(self.speed_area_size))
        if self.speed_area_size is not None and not self.speed_area:
            raise ConfigError(
                "A speed area size needs the area: its four points on the first frame."
            )
        if self.speed_area:
            check_area_points(self.speed_area)  # said first: a size would not mend them
            if self.speed_area_size is None:
                raise ConfigError("The speed area needs its size in metres (W,L) to give km/h.")
            check_area_size(*self.speed_area_size)

    def check_request(self) -> None:
        """A detector that finds what is described (Grounding DINO) is told what: queries.

        Said before its weights are fetched; the detector says the same when it
        loads (``validate_queries``), for a config made in code.
        """
        if models.spec("detector", self.detector).open_vocabulary and not self.queries:
            raise ConfigError(f"{self.detector} needs at least one text query, e.g. 'person, car'.")

    @property
    def speed_area_m(self) -> SpeedArea | None:
        """The rectangle that gives km/h (None: speeds in pixels per second only)."""
        if not self.speed_area or self.speed_area_size is None:
            return None
        return SpeedArea(self.speed_area, *self.speed_area_size)  # type: ignore[arg-type]

    @property
    def measures_speed(self) -> bool:
        """Whether the run measures speeds: asked for, or given a speed area."""
        return self.speed or bool(self.speed_area)

    @property
    def counting(self) -> bool:
        """Whether the run counts anything (it has a line or a zone)."""
        return bool(self.lines or self.zones)

    def models_used(self) -> list[tuple[str, str, str | None]]:
        """``(kind, name, size)`` of each model the run loads (size None: the default)."""
        used = [("detector", self.detector, self.size)]
        if self.depth:
            used.append(("depth", DEPTH_MODEL, self.depth_size))
        return used

    def model_options(self) -> dict[str, Any]:
        """Options passed to the model registry for this run's detector."""
        # "auto" is every factory's default, and a detector that declares no
        # runtimes runs on PyTorch only: neither is passed on.
        runtime = self.runtime
        if runtime == AUTO or runtimes_for("detector", self.detector) == (AUTO, "torch"):
            runtime = None
        return registry_options(
            self.detector_options, size=self.size, weights=self.weights, runtime=runtime
        )

    def depth_options(self) -> dict[str, Any]:
        """Options passed to the model registry for the per-object depth model."""
        return registry_options(size=self.depth_size, weights=self.depth_weights)

    def model_loads(self) -> list[ModelLoad]:
        """The detector, and the depth model when depth is on."""
        loads = [ModelLoad("detector", self.detector, self.model_options())]
        if self.depth:
            loads.append(ModelLoad("depth", DEPTH_MODEL, self.depth_options()))
        return loads


def _check_runtime(detector: str, runtime: str) -> None:
    spec = models.spec("detector", detector)
    try:
        check_runtime(spec.label, runtime, runtimes_for("detector", detector))
    except InvalidRuntimeError as error:
        raise ConfigError(str(error)) from None


#: The depth estimator of depth runs and of per-object depth.
DEPTH_MODEL = "depth_anything_v2"


@dataclass(frozen=True, kw_only=True)
class DepthConfig(PooledRunConfig):
    """Everything that decides what a depth run does.

    Attributes:
        model: Registry name of the depth estimator.
        size: Model size: small (Apache-2.0), base or large (CC-BY-NC-4.0,
            non-commercial) (default: small).
        weights: Local save_pretrained folder or hub id (default: the size's
            environment variable, then its hub checkpoint).
        colormap: Colour table of the depth video.
        view: depth (depth only), side_by_side (the frame and its depth) or
            blend (depth over the frame).
        opacity: Weight of the colours in the blend view, 0 to 1.
        input_size: Side in pixels the model sees (default: its own, 518);
            smaller is faster and coarser.
        low_percentile: Depth percentile shown at the far end of the colours.
        high_percentile: Depth percentile shown at the near end.
        smoothing_window: Frames in the running median of the display range.
        smoothing_momentum: Share of the previous display range kept per frame.
        max_in_flight: Bound on frames anywhere between decoder and encoder
            (lower than detection's: each carries a float32 full-size map).
    """

    model: str = option(DEPTH_MODEL, cli=False)
    size: str | None = option(None)
    weights: str | None = option(None)
    colormap: str = option("turbo", choices=tuple(COLORMAPS))
    view: str = option("side_by_side", choices=VIEWS)
    opacity: float = option(0.6)
    input_size: int | None = option(None)
    low_percentile: float = option(2.0)
    high_percentile: float = option(98.0)
    smoothing_window: int = option(15)
    smoothing_momentum: float = option(0.8)
    max_in_flight: int = option(32)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_size("depth", self.model, self.size)
        object.__setattr__(self, "colormap", str(self.colormap).strip().lower())
        if self.colormap not in COLORMAPS:
            raise ConfigError(
                f"Unknown colormap {self.colormap!r}. Choose one of {', '.join(COLORMAPS)}."
            )
        if self.view not in VIEWS:
            raise ConfigError(f"Unknown view {self.view!r}. Choose one of {', '.join(VIEWS)}.")
        if not 0.0 <= self.opacity <= 1.0:
            raise ConfigError(f"The opacity must be between 0 and 1, not {self.opacity}.")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ConfigError("Depth percentiles need 0 <= low < high <= 100.")
        if self.smoothing_window < 1 or not 0 <= self.smoothing_momentum < 1:
            raise ConfigError("Need smoothing_window >= 1 and 0 <= smoothing_momentum < 1.")
        if self.input_size is not None and self.input_size < 14:
            raise ConfigError("input_size must be at least 14 pixels.")

    def models_used(self) -> list[tuple[str, str, str | None]]:
        """``(kind, name, size)`` of each model the run loads (size None: the default)."""
        return [("depth", self.model, self.size)]

    def model_options(self) -> dict[str, Any]:
        """Options passed to the model registry for this run's estimator."""
        return registry_options(size=self.size, weights=self.weights)

    def model_loads(self) -> list[ModelLoad]:
        """The depth estimator."""
        return [ModelLoad("depth", self.model, self.model_options())]


@dataclass(frozen=True, kw_only=True)
class SegmentationConfig(RunConfig):
    """Everything that decides what a segmentation run does.

    Attributes:
        segmenter: GSAM2-S/B/L (Grounding DINO, free-text queries) or YSAM2-S/B/L
            (YOLO11, COCO class names), with SAM 2.1 small/base-plus/large; or
            SAM3, which finds every instance of free-text queries itself.
        queries: What to find, comma-separated: free text for GSAM2 and SAM3 (required),
            class names for YSAM2 (empty: all classes).
        step: Run the detector every STEP frames (keyframes); SAM 2 propagates
            the masks in between.
        confidence: Minimum detection score on keyframes, 0 to 1.
        weights: SAM 2 weights: a save_pretrained folder, a hub id, or random:<size>
            / a config .json for random weights (default: the size's environment
            variable, then facebook/sam2.1-hiera-<size>).
        image_size: SAM 2 input size in pixels, a multiple of 32 (default: its own, 1024).
        segmenter_options: Further segmenter options as ``(name, value)`` pairs.
        detector: Prompt with this detector instead of the segmenter's own
            (e.g. yolox_nano).
        detector_size: Size of that detector (e.g. tiny/base, n..x).
        detector_weights: Weights or hub id of that detector.
        detector_options: Further detector options as ``(name, value)`` pairs.
        window: Frames per window (rounded up to a multiple of the step); memory
            grows with this, not with the video's length.
        frame_budget_mb: MiB of decoded frames kept in memory; more spill to
            JPEG on disk (default: an eighth of the machine's memory).
        match_iou: Least overlap for a detection to be an object already followed.
        drop_after: Frames an object may have an empty mask before it is
            dropped (default: the step).
        min_mask_area: Masks with fewer pixels count as empty.
        max_objects: Most objects followed at once.
        prompts: Objects picked by hand instead of a detector, as JSON:
            {"frame": 0, "objects": [{"points": [[x, y, 1], [x, y, 0]], "box":
            [x1, y1, x2, y2]}]} (clicks labelled 1 on the object, 0 off it; frame
            pixels); ids 1, 2... in that order, followed from that frame on.
            The queries and the detector are then unused.
        privacy: Hide objects in the video, the preview and the first frame:
            blur or pixelate them within their masks (default: off).
        privacy_classes: The classes to hide, comma-separated (empty: every
            object); with privacy on.
    """

    segmenter: str = option("GSAM2-S", choices=lambda: models.available("segmenter"))
    queries: tuple[str, ...] = option(())
    step: int = option(10)
    confidence: float = option(0.3, flag="--conf")
    weights: str | None = option(None)
    image_size: int | None = option(None)
    segmenter_options: tuple[tuple[str, Any], ...] = option((), cli=False)
    detector: str | None = option(None)
    detector_size: str | None = option(None)
    detector_weights: str | None = option(None)
    detector_options: tuple[tuple[str, Any], ...] = option((), cli=False)
    window: int = option(60)
    frame_budget_mb: float | None = option(None)
    match_iou: float = option(0.3)
    drop_after: int | None = option(None)
    min_mask_area: int = option(1)
    max_objects: int = option(50)
    prompts: str | None = option(None, metavar="JSON")
    privacy: str | None = option(None, choices=PRIVACY_STYLES)
    privacy_classes: tuple[str, ...] = option(())

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "queries", normalize_queries(self.queries))
        if self.prompts is not None:
            # Kept as canonical JSON text: the config stays hashable and serialisable.
            canonical = json.dumps(parse_prompts(self.prompts).to_json())
            object.__setattr__(self, "prompts", canonical)
        models.spec("segmenter", self.segmenter)
        if self.detector is not None:
            _check_size("detector", self.detector, self.detector_size)
        _check_text_segmenter(self)
        if self.step < 1:
            raise ConfigError(f"The keyframe step must be at least 1 frame, not {self.step}.")
        if self.step > MAX_STEP:
            raise ConfigError(
                f"The keyframe step must be at most {MAX_STEP} frames, not {self.step}."
            )
        if self.window < 1:
            raise ConfigError(f"The window must be at least 1 frame, not {self.window}.")
        _check_confidence(self.confidence)
        if not 0.0 < self.match_iou <= 1.0:
            raise ConfigError(f"match_iou must be in (0, 1], not {self.match_iou}.")
        if self.frame_budget_mb is not None and self.frame_budget_mb < 0:
            raise ConfigError("The frame budget cannot be negative.")
        _check_at_least("The SAM 2 image size (image_size)", self.image_size, 32)
        _check_at_least(
            "The frames before an empty object is dropped (drop_after)", self.drop_after, 1
        )
        _check_at_least("The least mask area (min_mask_area)", self.min_mask_area, 0)
        _check_at_least("The most objects followed (max_objects)", self.max_objects, 1)
        _check_privacy(self)
        if self.text_prompted:
            # No SAM 3 run goes without queries, however its config is made.
            _check_queries_given(self)

    def check_request(self) -> None:
        """A segmenter that finds what is described is told what (queries), or given a detector."""
        _check_queries_given(self)

    @property
    def click_prompts(self) -> ClickPrompts | None:
        """The objects picked by hand, or None when a detector finds them."""
        return None if self.prompts is None else parse_prompts(self.prompts)

    @property
    def window_frames(self) -> int:
        """Frames per window, a multiple of ``step`` so that windows start on keyframes."""
        return self.step * max(1, math.ceil(self.window / self.step))

    @property
    def drop_after_frames(self) -> int:
        """Frames with an empty mask before an object is dropped.

        By default the step; never for objects picked by hand, which no
        detector would find again (SAM 2 finds them again after an occlusion).
        """
        if self.drop_after is not None:
            return self.drop_after
        return NEVER if self.prompts is not None else self.step

    @property
    def frame_budget_bytes(self) -> int | None:
        """The frame store's memory budget in bytes (None: scaled to the machine)."""
        return None if self.frame_budget_mb is None else int(self.frame_budget_mb * MIB)

    def models_used(self) -> list[tuple[str, str, str | None]]:
        """``(kind, name, size)`` of each model the run loads (size None: the default).

        The segmenter's own prompting detector counts as part of it; a detector
        given instead is listed too.
        """
        used: list[tuple[str, str, str | None]] = [("segmenter", self.segmenter, None)]
        if self.detector is not None and self.prompts is None:
            used.append(("detector", self.detector, self.detector_size))
        return used

    def segmenter_model_options(self) -> dict[str, Any]:
        """Options passed to the registry for the segmenter."""
        return registry_options(
            self.segmenter_options, weights=self.weights, image_size=self.image_size
        )

    def detector_model_options(self) -> dict[str, Any]:
        """Options passed to the registry for the detector."""
        return registry_options(
            self.detector_options, size=self.detector_size, weights=self.detector_weights
        )

    @property
    def prompting_detector(self) -> str:
        """The detector whose boxes prompt the segmenter: the one given, else its own."""
        return self.detector or models.spec("segmenter", self.segmenter).extra["detector"]

    @property
    def text_prompted(self) -> bool:
        """Whether the segmenter finds the queries itself (SAM 3): no detector then."""
        return bool(models.spec("segmenter", self.segmenter).extra.get("text_prompts"))

    def model_loads(self) -> list[ModelLoad]:
        """The segmenter and the detector that prompts it (none with hand-picked prompts)."""
        loads = [ModelLoad("segmenter", self.segmenter, self.segmenter_model_options())]
        if self.prompts is None and not self.text_prompted:
            loads.append(
                ModelLoad("detector", self.prompting_detector, self.detector_model_options())
            )
        return loads
