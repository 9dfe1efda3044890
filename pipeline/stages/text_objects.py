"""The run's ids for the objects a text-prompted segmenter (SAM 3) finds and follows itself.

SAM 3 detects every instance of the queries on every frame and keeps its own
object ids, stable within one session. A run opens a fresh session per
window (bounded memory), so its ids would restart each window; and a run's
ids must stay those of :class:`~pipeline.stages.keyframes.KeyframeTracker`
(from 1, never reused, dropped after ``drop_after`` empty frames) whatever
the segmenter. :class:`TextObjects` maps one to the other:

- a session id seen before in the window keeps its run id;
- a new session id goes through :meth:`KeyframeTracker.match` against the
  objects' masks on that frame: on a window's first frame those are the
  masks carried from the previous window (same frame), so an object keeps
  its id across windows; later, an id that overlaps a vanished object
  re-acquires it, one that duplicates a visible object is left out, and any
  other is a new object with the next id;
- of new ids whose masks repeat one another (same query), only the surest is
  taken: SAM 3's own suppression of repeats needs the ``kernels`` package.

Example:
    >>> from pipeline.stages.keyframes import KeyframeTracker
    >>> tracker = KeyframeTracker(match_iou=0.3, drop_after=0, min_mask_area=1, max_objects=5)
    >>> objects = TextObjects(tracker)
    >>> mask = np.zeros((4, 4), dtype=bool); mask[:2, :2] = True
    >>> found = sv.Detections(xyxy=np.array([[0.0, 0.0, 2.0, 2.0]]), mask=mask[None],
    ...                       confidence=np.array([0.9]), class_id=np.array([0]),
    ...                       tracker_id=np.array([7]), data={"class_name": np.array(["cat"])})
    >>> list(objects.assign(0, found))
    [1]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME
from pipeline.stages.keyframes import KeyframeTracker


class TextObjects:
    """Maps a text session's object ids to the run's, frame by frame.

    Args:
        tracker: The run's followed objects and ids.
    """

    def __init__(self, tracker: KeyframeTracker) -> None:
        self.tracker = tracker
        self._ids: dict[int, int] = {}

    def new_session(self) -> None:
        """Forget the session ids: a new window's session numbers its objects afresh."""
        self._ids.clear()

    def assign(
        self,
        frame_index: int,
        found: sv.Detections,
        carried: Mapping[int, np.ndarray] | None = None,
    ) -> dict[int, np.ndarray]:
        """One frame's masks under the run's ids.

        Args:
            frame_index: The frame's index in the video.
            found: The session's instances on that frame (``tracker_id``: its ids).
            carried: Masks of the run's objects on this same frame from the
                previous window (a window's first frame), by run id.

        Returns:
            ``{run id: mask}`` of the instances the run follows on that frame.
        """
        masks: dict[int, np.ndarray] = {}
        unknown: list[int] = []
        for row, own in enumerate(found.tracker_id if found.tracker_id is not None else ()):
            run_id = self._ids.get(int(own))
            if run_id is not None and run_id in self.tracker.objects:
                masks[run_id] = found.mask[row]
            else:
                unknown.append(row)
        unknown = self._distinct(found, unknown)
        if not unknown:
            return masks
        decision = self.tracker.match(frame_index, found[unknown], {**(carried or {}), **masks})
        for row, run_id in {**decision.matched, **decision.prompts}.items():
            if run_id in masks:
                continue  # a second instance on an object already shown: SAM 3's duplicate
            self._ids[int(found.tracker_id[unknown[row]])] = run_id
            masks[run_id] = found.mask[unknown[row]]
        return masks

    def _distinct(self, found: sv.Detections, rows: list[int]) -> list[int]:
        """``rows`` less those that repeat a surer row of the same query (mask IoU >= match_iou).

        SAM 3 suppresses such repeats itself only where the ``kernels`` package
        gives it its NMS; without it every detection above its threshold is kept.
        """
        if len(rows) < 2:
            return rows
        scores = found.confidence if found.confidence is not None else np.ones(len(found))
        names = found.data.get(CLASS_NAME, np.array([""] * len(found)))
        kept: list[int] = []
        for row in sorted(rows, key=lambda r: -float(scores[r])):
            if not any(
                names[row] == names[other]
                and _mask_iou(found.mask[row], found.mask[other]) >= self.tracker.match_iou
                for other in kept
            ):
                kept.append(row)
        return sorted(kept)


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0
