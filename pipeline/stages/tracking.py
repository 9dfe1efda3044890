"""The tracker stage: box trackers on ``supervision.Detections`` with user-facing ids.

:class:`ObjectTracker` wraps one tracker of the ``trackers`` package (``sv.ByteTrack`` is
gone from supervision 0.31), chosen by name from those :mod:`pipeline.stages.tracker_registry`
offers: ByteTrack, SORT, OC-SORT, BoT-SORT, C-BIoU (the default) or McByte. It hides their
two quirks from the rest of the pipeline: their ids start at 0, and detections that are not (yet)
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
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import supervision as sv

from pipeline.errors import ConfigError
from pipeline.stages.tracker_params import checked_tracker_params
from pipeline.stages.tracker_registry import DEFAULT_TRACKER, TrackerConfig, tracker_spec

if TYPE_CHECKING:
    from trackers.core.base import BaseTracker

# Private column used to find, after tracking, which input row each output row came from.
_ROW_KEY = "_object_tracker_row"

#: Column set to True on boxes the tracker predicted rather than a detector found
#: (frames between detections: :mod:`pipeline.stages.stride`).
PREDICTED = "predicted"


def check_frame_rate(frame_rate: float) -> float:
    """``frame_rate`` if a tracker can scale its buffers by it: a positive finite number.

    Raises:
        ConfigError: Zero, negative, NaN or infinite.

    Example:
        >>> check_frame_rate(25.0)
        25.0
    """
    if not (math.isfinite(frame_rate) and frame_rate > 0):
        raise ConfigError(
            f"The frame rate must be a positive number of frames a second, not {frame_rate!r}."
        )
    return frame_rate


class ObjectTracker:
    """Assigns stable ids to detections across the frames of one video.

    Association is class-agnostic, as in ByteTrack; a track's class (``class_id``,
    ``data["class_name"]``) is that of the detection it matched in the current frame.
    Every tracker gets boxes and scores only (no frames): see
    :data:`pipeline.stages.tracker_registry.TRACKERS`.

    Args:
        config: ByteTrack settings; :class:`TrackerConfig` defaults when None. Only for
            ``tracker="bytetrack"``; other trackers take ``params``.
        frame_rate: Frame rate of the video in frames per second, used to scale
            ``lost_track_buffer``.
        tracker: Which tracker, a name from :func:`tracker_names`.
        params: Overrides of the tracker's defaults (``TRACKERS[tracker].defaults``
            names them); for ByteTrack they override ``config``.

    Raises:
        pipeline.errors.ConfigError: ``frame_rate`` is not a positive finite number
            (:func:`check_frame_rate`); unknown tracker or parameter, a bad value, or a
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
        check_frame_rate(frame_rate)
        self.spec = tracker_spec(tracker)
        if config is not None and tracker != "bytetrack":
            raise ConfigError(
                f"TrackerConfig holds ByteTrack's settings; give {tracker}'s as params."
            )
        self.config = config if config is not None else TrackerConfig()
        self.frame_rate = float(frame_rate)
        base = asdict(self.config) if tracker == "bytetrack" else dict(self.spec.defaults)
        self.params: dict[str, Any] = {**base, **checked_tracker_params(tracker, params or {})}
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


def _with_tracker_ids(detections: sv.Detections, tracker_ids: list[int]) -> sv.Detections:
    detections.tracker_id = np.asarray(tracker_ids, dtype=int)
    return detections
