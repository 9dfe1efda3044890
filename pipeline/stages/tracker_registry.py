"""The trackers the app offers, with their tuned defaults, and the default tracker.

:data:`TRACKERS` names each tracker of the ``trackers`` package the app offers
(ByteTrack, SORT, OC-SORT, BoT-SORT, C-BIoU, McByte) with its defaults, tuned on
four MOT15 sequences (docs/trackers.md); :data:`DEFAULT_TRACKER` is the one chosen by
measurement. :class:`pipeline.stages.tracking.ObjectTracker` builds them.

Example:
    >>> DEFAULT_TRACKER in tracker_names()
    True
    >>> tracker_spec("sort").defaults["lost_track_buffer"]
    15
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from trackers.core.base import BaseTracker


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
#: BoT-SORT's tuned association settings, which McByte takes too: without its masks McByte
#: tracks exactly as BoT-SORT does, so the same grid (``tune_trackers``) chose the same values.
BOTSORT_ROUNDS_DEFAULTS = MappingProxyType(
    {
        "track_activation_threshold": 0.75,
        "high_conf_det_threshold": 0.12,
        "lost_track_buffer": 30,
        "minimum_consecutive_frames": 3,
        "minimum_iou_threshold_first_assoc": 0.2,
        "minimum_iou_threshold_second_assoc": 0.5,
        "minimum_iou_threshold_unconfirmed_assoc": 0.3,
    }
)
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
            defaults=BOTSORT_ROUNDS_DEFAULTS,
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
            defaults=BOTSORT_ROUNDS_DEFAULTS,
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
