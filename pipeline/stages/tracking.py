"""The tracker stage: box trackers on ``supervision.Detections`` with user-facing ids.

:class:`ObjectTracker` wraps one tracker of the ``trackers`` package (``sv.ByteTrack`` is
gone from supervision 0.31), chosen by name from :data:`TRACKERS`: ByteTrack, SORT,
OC-SORT, BoT-SORT, C-BIoU (:data:`DEFAULT_TRACKER`) or McByte. It hides their two quirks
from the rest of the pipeline: their ids start at 0, and detections that are not (yet)
part of a confirmed track come back with ``tracker_id == -1``. Callers get only confirmed
tracks, numbered 1, 2, 3... in the order they were confirmed, with every field of the
matched detection (``class_id``, ``confidence``, ``mask``, ``data["class_name"]``,
per-object depth...) intact.

These trackers need every frame (roughly 15 fps or more) to hold ids: feed them frames in
order and do not drop frames before them.

Example:
    >>> import numpy as np
    >>> import supervision as sv
    >>> tracker = ObjectTracker(frame_rate=25.0, tracker="ocsort")
    >>> person = sv.Detections(
    ...     xyxy=np.array([[10.0, 10.0, 50.0, 90.0]]), confidence=np.array([0.9]),
    ...     class_id=np.array([0]), data={"class_name": np.array(["person"])},
    ... )
    >>> [tracker.update(person).tracker_id.tolist() for _ in range(3)]  # confirmed at frame 2
    [[], [1], [1]]
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import supervision as sv

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from trackers.core.base import BaseTracker

# Private column used to find, after tracking, which input row each output row came from.
_ROW_KEY = "_object_tracker_row"

#: Column set to True on boxes the tracker predicted rather than a detector found
#: (frames between detections: :mod:`pipeline.stages.stride`).
PREDICTED = "predicted"


@dataclass(frozen=True)
class TrackerConfig:
    """ByteTrack's settings, as a typed config (``TRACKERS["bytetrack"]`` takes them).

    The defaults were chosen by ``python -m pipeline.evaluation.tune_trackers`` on the
    Faster R-CNN detections of four MOT15 sequences together (docs/trackers.md), among the
    settings that keep the app's own detectors (YOLOX-Nano and Faster R-CNN on
    TUD-Campus) at the scores ``tests/test_tracking.py`` holds them to
    (:mod:`pipeline.evaluation.tracker_guard`). Detection scores are assumed to lie in
    0..1. The thresholds that matter are the score ones: a light detector's many
    0.3..0.6 false positives must not start tracks (``track_activation_threshold``),
    while ``high_conf_det_threshold`` below it lets such scores still carry an existing
    track through the first association round. On a detector whose true objects score
    lower (open-vocabulary models), lower the activation threshold.

    Attributes:
        track_activation_threshold: Minimum confidence for an unmatched detection to
            start a new track.
        lost_track_buffer: How long a confirmed track survives without a matching
            detection, in frames at 30 fps; it is scaled to the real frame rate.
        minimum_iou_threshold: Minimum IoU between a track's predicted box and a
            detection for them to be associated.
        minimum_consecutive_frames: Consecutive frames with a detection before a track
            is confirmed and gets an id. Unconfirmed tracks are never returned, and
            ByteTrack confirms a track at a match at the earliest, so an object shows
            from the second frame it is detected in even with 1 (from the third with
            the default 3).
        high_conf_det_threshold: Detections at or above this score take part in the
            first association round; lower ones only extend existing tracks.
    """

    track_activation_threshold: float = 0.7
    lost_track_buffer: int = 30
    minimum_iou_threshold: float = 0.1
    minimum_consecutive_frames: int = 3
    high_conf_det_threshold: float = 0.4

    def __post_init__(self) -> None:
        for name in (
            "track_activation_threshold",
            "minimum_iou_threshold",
            "high_conf_det_threshold",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.lost_track_buffer < 0:
            raise ValueError(f"lost_track_buffer must be >= 0, got {self.lost_track_buffer}")
        if self.minimum_consecutive_frames < 1:
            raise ValueError(
                f"minimum_consecutive_frames must be >= 1, got {self.minimum_consecutive_frames}"
            )

    @property
    def minimum_matching_threshold(self) -> float:
        """Alias of :attr:`minimum_iou_threshold` (supervision's old ``sv.ByteTrack`` name)."""
        return self.minimum_iou_threshold


@dataclass(frozen=True)
class TrackerSpec:
    """One tracker of the ``trackers`` package, as the app offers it.

    Attributes:
        name: The name users choose it by (``"bytetrack"``), also the ``trackers``
            package's own ``tracker_id``.
        class_name: The class in the ``trackers`` package (imported when a tracker is
            built, so that importing this module stays cheap).
        description: One line for help texts and dropdowns.
        defaults: The tuned default of every parameter a user may set, by
            ``__init__`` argument name (``frame_rate`` is always the video's).
        fixed: Arguments always passed and never offered (camera-motion compensation
            off: see :data:`TRACKERS`).
        start_param: The parameter holding the least score that starts a track, if any.
        keep_param: The parameter holding the least score that takes part in the first
            association round (lower scores only extend tracks, or are ignored), if any.
    """

    name: str
    class_name: str
    description: str
    defaults: Mapping[str, Any]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    start_param: str | None = None
    keep_param: str | None = None

    def __post_init__(self) -> None:
        # Read-only views: a spec is shared by every run of the process.
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "fixed", MappingProxyType(dict(self.fixed)))

    @property
    def tracker_class(self) -> type[BaseTracker]:
        """The ``trackers`` class itself."""
        import trackers

        return getattr(trackers, self.class_name)


#: Scores of open-vocabulary detectors (Grounding DINO) that may start a track, and that
#: may take part in the first association round, for every tracker. Those detectors score
#: true objects around 0.3-0.6, so closed-vocabulary thresholds would rarely start a
#: track. Not tuned on ground truth (no open-vocabulary weights are available offline):
#: chosen so that anything above the usual 0.35 box threshold can extend tracks and
#: anything above 0.4 can start them. A tuned default below these stays as it is.
OPEN_VOCABULARY_START_SCORE = 0.4
OPEN_VOCABULARY_KEEP_SCORE = 0.35

#: The tracker of every run that names none: the best mean HOTA over four MOT15
#: sequences' Faster R-CNN detections among the trackers (at their defaults below) that
#: keep the app's detectors on TUD-Campus at the floors of ``tests/test_tracking.py``
#: (``python -m pipeline.evaluation.compare_trackers``; docs/trackers.md).
DEFAULT_TRACKER = "cbiou"

# The parameters below were chosen by `python -m pipeline.evaluation.tune_trackers
# --detections det_frcnn.txt` on the Faster R-CNN detections of four MOT15 sequences
# together (scores in 0..1, as the app's own detectors give them), among the settings
# that keep the app's own detectors (YOLOX-Nano, Faster R-CNN) on TUD-Campus at the
# floors of tests/test_tracking.py (pipeline.evaluation.tracker_guard;
# docs/trackers.md). The parameters it does not search keep the `trackers` package's defaults.
# BoT-SORT and McByte can warp their tracks by the camera's motion between frames (CMC,
# from the images); it is off for both: the tracker stage gets boxes only, the MOT
# sequences used for tuning have no images here, and untested sparse optical flow on
# every frame would cost CPU for a gain nobody measured.
TRACKERS: dict[str, TrackerSpec] = {
    spec.name: spec
    for spec in (
        TrackerSpec(
            name="bytetrack",
            class_name="ByteTrackTracker",
            description="ByteTrack: Kalman filter and IoU; low-score boxes extend tracks",
            # TrackerConfig holds ByteTrack's defaults (the app's config type).
            defaults=asdict(TrackerConfig()),
            start_param="track_activation_threshold",
            keep_param="high_conf_det_threshold",
        ),
        TrackerSpec(
            name="sort",
            class_name="SORTTracker",
            description="SORT: Kalman filter and IoU, one association round",
            defaults={
                "track_activation_threshold": 0.75,
                "lost_track_buffer": 15,
                "minimum_iou_threshold": 0.1,
                "minimum_consecutive_frames": 2,
            },
            start_param="track_activation_threshold",
        ),
        TrackerSpec(
            name="ocsort",
            class_name="OCSORTTracker",
            description="OC-SORT: SORT corrected by observations; motion direction in matching",
            defaults={
                "high_conf_det_threshold": 0.6,
                "lost_track_buffer": 30,
                "minimum_iou_threshold": 0.1,
                "minimum_consecutive_frames": 2,
                "direction_consistency_weight": 0.2,
                "delta_t": 3,
            },
            # OC-SORT ignores boxes under this one threshold, for starting and matching.
            keep_param="high_conf_det_threshold",
        ),
        TrackerSpec(
            name="botsort",
            class_name="BoTSORTTracker",
            description="BoT-SORT: ByteTrack's rounds with IoU fused with scores (no camera "
            "motion compensation)",
            defaults={
                "track_activation_threshold": 0.75,
                "high_conf_det_threshold": 0.12,
                "lost_track_buffer": 30,
                "minimum_consecutive_frames": 3,
                "minimum_iou_threshold_first_assoc": 0.2,
                "minimum_iou_threshold_second_assoc": 0.5,
                "minimum_iou_threshold_unconfirmed_assoc": 0.3,
            },
            fixed={"enable_cmc": False},
            start_param="track_activation_threshold",
            keep_param="high_conf_det_threshold",
        ),
        TrackerSpec(
            name="cbiou",
            class_name="CBIoUTracker",
            description="C-BIoU: BoT-SORT's rounds on boxes enlarged by a buffer, for "
            "irregular motion",
            defaults={
                "track_activation_threshold": 0.75,
                "high_conf_det_threshold": 0.12,
                "lost_track_buffer": 30,
                "minimum_consecutive_frames": 2,
                "minimum_iou_threshold_first_assoc": 0.2,
                "minimum_iou_threshold_second_assoc": 0.5,
                "minimum_iou_threshold_unconfirmed_assoc": 0.3,
                "buffer_ratio_first": 0.3,
                "buffer_ratio_second": 0.5,
            },
            start_param="track_activation_threshold",
            keep_param="high_conf_det_threshold",
        ),
        TrackerSpec(
            name="mcbyte",
            class_name="McByteTracker",
            description="McByte on boxes: ByteTrack with clear-match locking (without its "
            "SAM + Cutie masks)",
            defaults={
                "track_activation_threshold": 0.75,
                "high_conf_det_threshold": 0.12,
                "lost_track_buffer": 30,
                "minimum_consecutive_frames": 3,
                "minimum_iou_threshold_first_assoc": 0.2,
                "minimum_iou_threshold_second_assoc": 0.5,
                "minimum_iou_threshold_unconfirmed_assoc": 0.3,
            },
            # Its mask pipeline (SAM + Cutie) needs weights downloaded at run time and
            # the frames; without it McByte is a box tracker, its own default mode.
            fixed={"enable_cmc": False, "enable_mask_manager": False},
            start_param="track_activation_threshold",
            keep_param="high_conf_det_threshold",
        ),
    )
}


def tracker_names() -> list[str]:
    """The names :class:`ObjectTracker` accepts, in the registry's order."""
    return list(TRACKERS)


def tracker_spec(name: str) -> TrackerSpec:
    """The registry entry of a tracker.

    Args:
        name: A name from :func:`tracker_names`.

    Returns:
        Its :class:`TrackerSpec`.

    Raises:
        pipeline.errors.ConfigError: ``name`` is not a tracker.
    """
    if name not in TRACKERS:
        raise ConfigError(f"Unknown tracker {name!r}. Choose one of {', '.join(TRACKERS)}.")
    return TRACKERS[name]


def open_vocabulary_params(name: str) -> dict[str, float]:
    """A tracker's score thresholds for open-vocabulary detectors.

    Args:
        name: A name from :func:`tracker_names`.

    Returns:
        Its start and keep thresholds lowered to :data:`OPEN_VOCABULARY_START_SCORE` and
        :data:`OPEN_VOCABULARY_KEEP_SCORE` (or left at their defaults when lower).

    Example:
        >>> open_vocabulary_params("sort")
        {'track_activation_threshold': 0.4}
    """
    spec = tracker_spec(name)
    params: dict[str, float] = {}
    # Only ever lowered: a default already below stays.
    if spec.start_param is not None:
        params[spec.start_param] = min(spec.defaults[spec.start_param], OPEN_VOCABULARY_START_SCORE)
    if spec.keep_param is not None:
        params[spec.keep_param] = min(spec.defaults[spec.keep_param], OPEN_VOCABULARY_KEEP_SCORE)
    return params


def tracker_params_for(
    name: str, params: Mapping[str, Any] | None, open_vocabulary: bool
) -> dict[str, Any]:
    """A tracker's parameter overrides for a detector: defaults adapted to open vocabulary.

    Args:
        name: A name from :func:`tracker_names`.
        params: The run's overrides (None or empty: the tracker's defaults).
        open_vocabulary: Whether the detector is open-vocabulary.

    Returns:
        ``params`` unless there are none and the detector is open-vocabulary, then
        :func:`open_vocabulary_params`.
    """
    tracker_spec(name)
    if open_vocabulary and not params:
        return open_vocabulary_params(name)
    return dict(params or {})


def as_tracker_params(values: Any) -> tuple[tuple[str, Any], ...]:
    """Tracker parameter overrides, as the config holds them: sorted ``(name, value)`` pairs.

    Args:
        values: A mapping, ``(name, value)`` pairs, or ``NAME=VALUE`` texts (the command
            line's; a whole number is read as an int, anything else as a float).

    Returns:
        The pairs, sorted by name (values not yet checked: :func:`checked_tracker_params`).

    Raises:
        pipeline.errors.ConfigError: A text without ``=`` or with a value that is not a
            number, or a name given twice.

    Example:
        >>> as_tracker_params(["lost_track_buffer=60", "minimum_iou_threshold=0.2"])
        (('lost_track_buffer', 60), ('minimum_iou_threshold', 0.2))
    """
    if values is None:
        return ()
    items = list(values.items()) if isinstance(values, Mapping) else list(values)
    pairs: dict[str, Any] = {}
    for item in items:
        if isinstance(item, str):
            name, equals, text = item.partition("=")
            name = name.strip()
            if not equals or not name:
                raise ConfigError(f"A tracker parameter is NAME=VALUE, not {item!r}.")
            value = _number(name, text.strip())
        elif isinstance(item, list | tuple) and len(item) == 2:
            name, value = str(item[0]), item[1]
        else:
            raise ConfigError(f"A tracker parameter is NAME=VALUE, not {item!r}.")
        if name in pairs:
            raise ConfigError(f"The tracker parameter {name!r} is given twice.")
        pairs[name] = value
    return tuple(sorted(pairs.items()))


def _number(name: str, text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        message = f"The tracker parameter {name} must be a number, not {text!r}."
        raise ConfigError(message) from None


def checked_tracker_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` if ``name`` is a tracker and each parameter is one of its own, in range.

    Args:
        name: A name from :func:`tracker_names`.
        params: Overrides of its defaults (``TRACKERS[name].defaults`` names them).

    Returns:
        ``params`` as a dict.

    Raises:
        pipeline.errors.ConfigError: Unknown tracker or parameter, or a bad value.
    """
    return _checked_params(tracker_spec(name), params)


class ObjectTracker:
    """Assigns stable ids to detections across the frames of one video.

    Association is class-agnostic, as in ByteTrack; a track's class (``class_id``,
    ``data["class_name"]``) is that of the detection it matched in the current frame.
    Every tracker gets boxes and scores only (no frames): see :data:`TRACKERS`.

    Args:
        config: ByteTrack settings; :class:`TrackerConfig` defaults when None. Only for
            ``tracker="bytetrack"``; other trackers take ``params``.
        frame_rate: Frame rate of the video in frames per second, used to scale
            ``lost_track_buffer``.
        tracker: Which tracker, a name from :func:`tracker_names`.
        params: Overrides of the tracker's defaults (``TRACKERS[tracker].defaults``
            names them); for ByteTrack they override ``config``.

    Raises:
        ValueError: ``frame_rate`` is not a positive finite number.
        pipeline.errors.ConfigError: Unknown tracker or parameter, a bad value, or a
            ``config`` given to a tracker other than ByteTrack.

    Example:
        >>> import numpy as np, supervision as sv
        >>> tracker = ObjectTracker(frame_rate=25.0, tracker="bytetrack")
        >>> box = sv.Detections(xyxy=np.array([[10.0, 10.0, 50.0, 90.0]]),
        ...                     confidence=np.array([0.9]))
        >>> [len(tracker.update(box)) for _ in range(2)]  # not confirmed yet
        [0, 0]
        >>> tracker.update(box).tracker_id
        array([1])
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        frame_rate: float = 30.0,
        *,
        tracker: str = DEFAULT_TRACKER,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if not (math.isfinite(frame_rate) and frame_rate > 0):
            raise ValueError(f"frame_rate must be a positive number, got {frame_rate!r}")
        self.spec = tracker_spec(tracker)
        if config is not None and tracker != "bytetrack":
            raise ConfigError(
                f"TrackerConfig holds ByteTrack's settings; give {tracker}'s as params."
            )
        self.config = config if config is not None else TrackerConfig()
        self.frame_rate = float(frame_rate)
        base = asdict(self.config) if tracker == "bytetrack" else dict(self.spec.defaults)
        self.params: dict[str, Any] = {**base, **_checked_params(self.spec, params or {})}
        self._tracker = self._new_tracker()
        self._user_ids: dict[int, int] = {}
        # The last update's output, its tracks' internal ids and its time: what
        # predict() moves forward.
        self._last: tuple[sv.Detections, np.ndarray, float | None] | None = None

    @property
    def tracker_name(self) -> str:
        """The name of the tracker in use."""
        return self.spec.name

    def _new_tracker(self) -> BaseTracker:
        # The trackers package is imported here so that importing the pipeline stays
        # cheap for the UI and CLI.
        try:
            return self.spec.tracker_class(
                frame_rate=self.frame_rate, **self.params, **self.spec.fixed
            )
        except ValueError as error:  # the library's own checks of a value
            raise ConfigError(f"Bad {self.spec.name} setting: {error}") from error

    @property
    def num_tracks(self) -> int:
        """How many distinct ids have been handed out since the last reset."""
        return len(self._user_ids)

    def update(self, detections: sv.Detections, timestamp: float | None = None) -> sv.Detections:
        """Advance the tracker by one frame.

        Args:
            detections: This frame's detections (``xyxy`` in pixels, ``confidence`` in
                0..1). Call once per frame, in order, including frames with no detections.
            timestamp: The frame's time in seconds, for runs that detect on some frames
                only (:meth:`predict` between): the motion model then steps by the time
                since the last update. None (every frame detected): one frame per call.

        Returns:
            The detections that belong to confirmed tracks, as rows of the input (all
            fields kept) with ``tracker_id`` set to ids starting at 1 that stay the same
            for an object through the video, sorted by ``tracker_id``.
        """
        tagged = detections[:]  # a copy, so the caller's data dict is not touched
        tagged.data[_ROW_KEY] = np.arange(len(detections))
        result = self._tracker.update(tagged, timestamp=timestamp)
        if len(result) == 0:
            self._last = None
            return _with_tracker_ids(detections[np.zeros(0, dtype=int)], [])

        if _ROW_KEY not in result.data:
            # Would mean a `trackers` release stopped returning indexed input rows.
            raise RuntimeError(
                f"{self.spec.class_name} did not keep detection data; cannot map rows"
            )
        rows = np.asarray(result.data[_ROW_KEY], dtype=int)
        internal_ids = np.asarray(result.tracker_id, dtype=int)
        confirmed = internal_ids >= 0
        rows, internal_ids = rows[confirmed], internal_ids[confirmed]

        user_ids = [self._user_id(int(i)) for i in internal_ids]
        order = np.argsort(np.asarray(user_ids, dtype=int), kind="stable")
        tracked = _with_tracker_ids(detections[rows[order]], [user_ids[i] for i in order])
        self._last = (tracked, internal_ids[order], timestamp)
        return tracked

    def predict(self, timestamp: float) -> sv.Detections:
        """Where the tracks of the last :meth:`update` are at ``timestamp``, by the motion model.

        For the frames between two detected ones: the tracker itself is not changed
        (each track's Kalman filter is copied and stepped forward from the time of
        the last update, which must have been given its ``timestamp``).

        Args:
            timestamp: The frame's time in seconds, at or after the last update's.

        Returns:
            The last update's rows (class, score, depth... of the detection each track
            last matched) with predicted boxes, no masks (a detection's mask would
            not follow the box) and ``data["predicted"]`` True; empty when that
            update returned nothing.

        Raises:
            ValueError: The last update was given no timestamp.
        """
        if self._last is None:
            return _with_tracker_ids(sv.Detections.empty(), [])
        tracked, internal_ids, last_time = self._last
        if last_time is None:
            raise ValueError("predict() needs the last update's timestamp")
        from trackers.utils.predict_timing import PredictTiming

        timing = PredictTiming(
            frame_step=max(0.0, timestamp - last_time) * self.frame_rate, elapsed_seconds=None
        )
        states = {t.tracker_id: t for t in self._tracker.tracks}
        predicted = tracked[:]
        predicted.mask = None
        predicted.xyxy = predicted.xyxy.copy()  # a slice shares the last update's array
        for row, internal_id in enumerate(internal_ids):
            tracklet = states.get(int(internal_id))
            if tracklet is None:  # removed by the update: keep its last box
                continue
            if not timing.skip_predict:
                tracklet = copy.deepcopy(tracklet)
                tracklet.predict(timing)
            predicted.xyxy[row] = tracklet.get_state_bbox()
        predicted.data[PREDICTED] = np.ones(len(predicted), dtype=bool)
        return predicted

    def reset(self) -> None:
        """Forget all tracks; the next video's ids start again at 1."""
        self._tracker.reset()
        self._user_ids.clear()
        self._last = None

    def _user_id(self, internal_id: int) -> int:
        # Keyed on the library's id rather than computed as id + 1, so user ids stay dense
        # and in order of first appearance even if the library ever skips internal ids.
        if internal_id not in self._user_ids:
            self._user_ids[internal_id] = len(self._user_ids) + 1
        return self._user_ids[internal_id]


def _checked_params(spec: TrackerSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` if every name is one of ``spec``'s and every value has the default's kind.

    Every float parameter of these trackers is a score, an IoU, a weight or a ratio in
    0..1, and every int one a count of frames; the library checks little of either.
    """
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise ConfigError(
            f"{spec.name} has no parameter {', '.join(map(repr, unknown))}. "
            f"Its parameters: {', '.join(spec.defaults)}."
        )
    for name, value in params.items():
        default = spec.defaults[name]
        if isinstance(default, float):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (ok and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ConfigError(f"{spec.name} {name} must be between 0 and 1, not {value!r}.")
        elif isinstance(default, int) and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0
        ):
            raise ConfigError(f"{spec.name} {name} must be a whole number >= 0, not {value!r}.")
    return dict(params)


def _with_tracker_ids(detections: sv.Detections, tracker_ids: list[int]) -> sv.Detections:
    detections.tracker_id = np.asarray(tracker_ids, dtype=int)
    return detections
