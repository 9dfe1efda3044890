"""The tracker stage: ByteTrack on ``supervision.Detections`` with user-facing ids.

:class:`ObjectTracker` wraps :class:`trackers.ByteTrackTracker` (``sv.ByteTrack`` is gone
from supervision 0.31) and hides its two quirks from the rest of the pipeline: its ids start
at 0, and detections that are not (yet) part of a confirmed track come back with
``tracker_id == -1``. Callers get only confirmed tracks, numbered 1, 2, 3... in the order
they were confirmed, with every field of the matched detection (``class_id``,
``confidence``, ``mask``, ``data["class_name"]``, per-object depth...) intact.

ByteTrack needs every frame (roughly 15 fps or more) to hold ids: feed it frames in order
and do not drop frames before it.

Example:
    >>> tracker = ObjectTracker(frame_rate=25.0)
    >>> for detections in detections_per_frame:  # doctest: +SKIP
    ...     tracked = tracker.update(detections)
    ...     print(tracked.tracker_id, tracked.data["class_name"])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import supervision as sv

if TYPE_CHECKING:
    from trackers import ByteTrackTracker

# Private column used to find, after tracking, which input row each output row came from.
_ROW_KEY = "_object_tracker_row"


@dataclass(frozen=True)
class TrackerConfig:
    """ByteTrack settings.

    The defaults were chosen on MOT15 TUD-Campus only (71 frames at 25 fps), with both its
    Faster R-CNN detections and YOLOX-Nano run on the clip; ``tests/test_tracking.py`` holds
    the scores they give there. Detection scores are assumed to lie in 0..1. The threshold
    that mattered is ``track_activation_threshold``: a light detector's many 0.3..0.6 false
    positives must not start tracks, while ``high_conf_det_threshold`` below it lets such
    scores still carry an existing track through the first association round. On a
    detector whose true objects score lower (open-vocabulary models), lower the
    activation threshold.

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
            from the second frame it is detected in even with 1.
        high_conf_det_threshold: Detections at or above this score take part in the
            first association round; lower ones only extend existing tracks.
    """

    track_activation_threshold: float = 0.7
    lost_track_buffer: int = 30
    minimum_iou_threshold: float = 0.1
    minimum_consecutive_frames: int = 2
    high_conf_det_threshold: float = 0.5

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


class ObjectTracker:
    """Assigns stable ids to detections across the frames of one video.

    Association is class-agnostic, as in ByteTrack; a track's class (``class_id``,
    ``data["class_name"]``) is that of the detection it matched in the current frame.

    Args:
        config: Tracker settings; :class:`TrackerConfig` defaults when None.
        frame_rate: Frame rate of the video in frames per second, used to scale
            ``lost_track_buffer``.

    Raises:
        ValueError: ``frame_rate`` is not a positive finite number.

    Example:
        >>> import numpy as np, supervision as sv
        >>> tracker = ObjectTracker(frame_rate=25.0)
        >>> box = sv.Detections(xyxy=np.array([[10.0, 10.0, 50.0, 90.0]]),
        ...                     confidence=np.array([0.9]))
        >>> len(tracker.update(box))  # a new track is not confirmed yet
        0
        >>> tracker.update(box).tracker_id
        array([1])
    """

    def __init__(self, config: TrackerConfig | None = None, frame_rate: float = 30.0) -> None:
        if not (math.isfinite(frame_rate) and frame_rate > 0):
            raise ValueError(f"frame_rate must be a positive number, got {frame_rate!r}")
        self.config = config if config is not None else TrackerConfig()
        self.frame_rate = float(frame_rate)
        self._tracker = self._new_tracker()
        self._user_ids: dict[int, int] = {}

    def _new_tracker(self) -> ByteTrackTracker:
        # Imported here so that importing the pipeline stays cheap for the UI and CLI.
        from trackers import ByteTrackTracker

        return ByteTrackTracker(frame_rate=self.frame_rate, **asdict(self.config))

    @property
    def num_tracks(self) -> int:
        """How many distinct ids have been handed out since the last reset."""
        return len(self._user_ids)

    def update(self, detections: sv.Detections) -> sv.Detections:
        """Advance the tracker by one frame.

        Args:
            detections: This frame's detections (``xyxy`` in pixels, ``confidence`` in
                0..1). Call once per frame, in order, including frames with no detections.

        Returns:
            The detections that belong to confirmed tracks, as rows of the input (all
            fields kept) with ``tracker_id`` set to ids starting at 1 that stay the same
            for an object through the video, sorted by ``tracker_id``.
        """
        tagged = detections[:]  # a copy, so the caller's data dict is not touched
        tagged.data[_ROW_KEY] = np.arange(len(detections))
        result = self._tracker.update(tagged)
        if len(result) == 0:
            return _with_tracker_ids(detections[np.zeros(0, dtype=int)], [])

        if _ROW_KEY not in result.data:
            # Would mean a `trackers` release stopped returning indexed input rows.
            raise RuntimeError("ByteTrackTracker did not keep detection data; cannot map rows")
        rows = np.asarray(result.data[_ROW_KEY], dtype=int)
        internal_ids = np.asarray(result.tracker_id, dtype=int)
        confirmed = internal_ids >= 0
        rows, internal_ids = rows[confirmed], internal_ids[confirmed]

        user_ids = [self._user_id(int(i)) for i in internal_ids]
        order = np.argsort(np.asarray(user_ids, dtype=int), kind="stable")
        return _with_tracker_ids(detections[rows[order]], [user_ids[i] for i in order])

    def reset(self) -> None:
        """Forget all tracks; the next video's ids start again at 1."""
        self._tracker.reset()
        self._user_ids.clear()

    def _user_id(self, internal_id: int) -> int:
        # Keyed on ByteTrack's id rather than computed as id + 1, so user ids stay dense
        # and in order of first appearance even if the library ever skips internal ids.
        if internal_id not in self._user_ids:
            self._user_ids[internal_id] = len(self._user_ids) + 1
        return self._user_ids[internal_id]


def _with_tracker_ids(detections: sv.Detections, tracker_ids: list[int]) -> sv.Detections:
    detections.tracker_id = np.asarray(tracker_ids, dtype=int)
    return detections


#: Open-vocabulary detectors (Grounding DINO) score true objects around 0.3-0.6, so
#: the closed-vocabulary thresholds above would rarely start a track. Not tuned on
#: ground truth (no open-vocabulary weights are available offline): chosen so that
#: anything above the usual 0.35 box threshold can start and extend tracks.
OPEN_VOCABULARY_TRACKER = TrackerConfig(
    track_activation_threshold=0.4, high_conf_det_threshold=0.35
)


def tracker_config_for(config: TrackerConfig, open_vocabulary: bool) -> TrackerConfig:
    """The tracker settings for a detector: defaults adapted to open vocabulary.

    Args:
        config: The run's tracker settings.
        open_vocabulary: Whether the detector is open-vocabulary.

    Returns:
        ``config`` unless it is the default and the detector is open-vocabulary.
    """
    if open_vocabulary and config == TrackerConfig():
        return OPEN_VOCABULARY_TRACKER
    return config
