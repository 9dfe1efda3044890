"""Which objects a segmentation run follows, and under which ids.

SAM 2 carries each object's mask from frame to frame; the detector only runs on
keyframes. At a keyframe :meth:`KeyframeTracker.match` compares the detector's
boxes with the objects already followed (their masks on that frame):

- a detection that overlaps a followed object of the same class confirms it:
  the object keeps its id (and its SAM 2 memory);
- a detection that overlaps where an object whose mask had vanished (occluded,
  or lost by SAM 2) would be by now, moving on at its last speed, re-acquires
  it if it is not dropped yet: same id, and the caller prompts SAM 2 again with
  the new box;
- any other detection is a new object and gets the next id;
- detections overlapping an already matched object are duplicates and ignored.

Matching is one-to-one (Hungarian assignment on overlap) and class-aware, so
two objects crossing each other cannot trade ids at a keyframe; between
keyframes ids come from SAM 2's own memory and cannot change at all. Ids are
never reused. :meth:`KeyframeTracker.observe` runs on every frame: an object
whose mask stays empty for more than ``drop_after`` frames is dropped.

Example:
    >>> import numpy as np, supervision as sv
    >>> tracker = KeyframeTracker(match_iou=0.3, drop_after=0, min_mask_area=1, max_objects=5)
    >>> boxes = sv.Detections(xyxy=np.array([[0.0, 0.0, 4.0, 4.0]]),
    ...                       class_id=np.array([0]), confidence=np.array([0.9]),
    ...                       data={"class_name": np.array(["cat"])})
    >>> tracker.match(0, boxes, {}).new
    {0: 1}
    >>> mask = np.zeros((8, 8), dtype=bool); mask[0:4, 0:4] = True
    >>> tracker.match(5, boxes, {1: mask}).matched
    {0: 1}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME

#: The label of objects picked by hand (no detector names them).
PICKED_CLASS = "object"


@dataclass
class FollowedObject:
    """One object a run follows.

    Attributes:
        object_id: Its id, from 1, never reused in a run.
        class_name: Class (or query) of the detection that started it; kept for
            the object's whole life so labels do not flicker.
        class_id: The detector's class id for ``class_name``.
        confidence: Score of the latest detection that matched it.
        first_frame: Frame where it was first detected.
        box: Its latest known box ``[x1, y1, x2, y2]`` (from its mask, or from
            the detection that started or re-acquired it).
        last_seen_frame: Latest frame where its mask was not empty.
        missing_frames: Consecutive frames with an empty mask.
        velocity: Smoothed motion of its box centre, pixels per frame ``[dx, dy]``.
    """

    object_id: int
    class_name: str
    class_id: int
    confidence: float
    first_frame: int
    box: np.ndarray
    last_seen_frame: int
    missing_frames: int = 0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=np.float32))

    def predicted_box(self, frame_index: int) -> np.ndarray:
        """Where the box would be on ``frame_index``, moving on at :attr:`velocity`."""
        shift = self.velocity * max(0, frame_index - self.last_seen_frame)
        return self.box + np.tile(shift, 2)

    def seen(self, frame_index: int, box: np.ndarray) -> None:
        """Take a new box (from its mask), updating the velocity."""
        gap = frame_index - self.last_seen_frame
        if gap > 0:
            moved = (_centre(box) - _centre(self.box)) / gap
            # Halfway smoothing: follows turns within a few frames and damps
            # the jitter of mask outlines.
            self.velocity = (0.5 * self.velocity + 0.5 * moved).astype(np.float32)
        self.box = box
        self.last_seen_frame = frame_index
        self.missing_frames = 0


@dataclass(frozen=True)
class KeyframeMatch:
    """What a keyframe's detections mean for the followed objects.

    Attributes:
        matched: Detection row to the id of the visible object it confirms.
        reacquired: Detection row to the id of a vanished object it finds again
            (prompt SAM 2 with this box under the same id).
        new: Detection row to the id given to a new object (prompt SAM 2 with its box).
        ignored: Rows that duplicate a followed object, or that found no room
            under ``max_objects``.
    """

    matched: dict[int, int] = field(default_factory=dict)
    reacquired: dict[int, int] = field(default_factory=dict)
    new: dict[int, int] = field(default_factory=dict)
    ignored: tuple[int, ...] = ()

    @property
    def prompts(self) -> dict[int, int]:
        """Rows whose box must be given to SAM 2, to the object id it is for."""
        return {**self.reacquired, **self.new}


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """Tight ``[x1, y1, x2, y2]`` box of a mask (exclusive ends), None if it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float32)


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], dtype=np.float32)


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


class KeyframeTracker:
    """Keeps the followed objects and their ids across keyframes.

    Args:
        match_iou: Least overlap (IoU of boxes, or of masks when the detector
            gives masks) for a detection to be the same object as a followed one.
        drop_after: Frames an object may stay with an empty mask before it is
            dropped (0: dropped on the first empty frame).
        min_mask_area: Masks with fewer pixels count as empty.
        max_objects: Most objects followed at once; further new detections are
            ignored (SAM 2's cost grows with every object).

    The values come from :class:`~pipeline.configs.SegmentationConfig`, which holds their
    defaults and checks them.

    Attributes:
        objects: The followed objects by id.
    """

    def __init__(
        self, *, match_iou: float, drop_after: int, min_mask_area: int, max_objects: int
    ) -> None:
        self.match_iou = match_iou
        self.drop_after = drop_after
        self.min_mask_area = max(1, int(min_mask_area))
        self.max_objects = max_objects
        self.objects: dict[int, FollowedObject] = {}
        self._next_id = 1

    @property
    def ids_issued(self) -> int:
        """How many ids were handed out so far (followed or since dropped)."""
        return self._next_id - 1

    def adopt(
        self, frame_index: int, boxes: dict[int, np.ndarray], class_name: str = PICKED_CLASS
    ) -> None:
        """Follow objects picked by hand under the ids given (no detector, no matching).

        Args:
            frame_index: Frame they were picked on.
            boxes: Each object's id and its box ``[x1, y1, x2, y2]`` there.
            class_name: The label they all get.
        """
        for object_id, box in boxes.items():
            self.objects[object_id] = FollowedObject(
                object_id=object_id,
                class_name=class_name,
                class_id=0,
                confidence=1.0,
                first_frame=frame_index,
                box=np.asarray(box, dtype=np.float32).reshape(4),
                last_seen_frame=frame_index,
            )
        self._next_id = max(self._next_id, *(i + 1 for i in boxes))

    def _visible(self, mask: np.ndarray | None) -> bool:
        return mask is not None and np.count_nonzero(mask) >= self.min_mask_area

    def _overlaps(
        self,
        frame_index: int,
        detections: sv.Detections,
        ids: list[int],
        masks: Mapping[int, np.ndarray],
    ) -> np.ndarray:
        """``(detections, objects)`` overlap on ``frame_index``, zero across classes.

        Visible objects are compared where their mask is; vanished ones where
        they would be by now.
        """
        overlap = np.zeros((len(detections), len(ids)), dtype=np.float64)
        if not len(detections) or not ids:
            return overlap
        boxes = np.stack(
            [
                self.objects[i].box
                if self._visible(masks.get(i))
                else self.objects[i].predicted_box(frame_index)
                for i in ids
            ]
        ).astype(np.float64)
        overlap = sv.box_iou_batch(detections.xyxy.astype(np.float64), boxes)
        if detections.mask is not None:
            # Masks say more than boxes where both exist (thin or diagonal objects).
            for col, object_id in enumerate(ids):
                mask = masks.get(object_id)
                if self._visible(mask):
                    for row in range(len(detections)):
                        overlap[row, col] = _mask_iou(detections.mask[row], mask)
        names = _class_names(detections)
        same_class = np.array(
            [[names[row] == self.objects[i].class_name for i in ids] for row in range(len(names))]
        )
        return np.where(same_class, overlap, 0.0)

    def match(
        self,
        frame_index: int,
        detections: sv.Detections,
        masks: Mapping[int, np.ndarray],
    ) -> KeyframeMatch:
        """Sort a keyframe's detections into confirmed, re-acquired, new and ignored.

        New objects are added to :attr:`objects` with fresh ids; matched ones
        get the detection's score.

        Args:
            frame_index: The keyframe's index in the video.
            detections: The detector's output on that frame, with
                ``data["class_name"]`` (and optionally ``mask``).
            masks: Masks of the followed objects on that frame, by id (an id
                that is missing or has an empty mask counts as vanished).

        Returns:
            The :class:`KeyframeMatch`.
        """
        from scipy.optimize import linear_sum_assignment

        ids = list(self.objects)
        for object_id in ids:
            box = mask_box(masks[object_id]) if self._visible(masks.get(object_id)) else None
            if box is not None:
                self.objects[object_id].seen(frame_index, box)
        overlap = self._overlaps(frame_index, detections, ids, masks)
        matched: dict[int, int] = {}
        reacquired: dict[int, int] = {}
        if overlap.size:
            rows, cols = linear_sum_assignment(overlap, maximize=True)
            for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
                if overlap[row, col] < self.match_iou:
                    continue
                obj = self.objects[ids[col]]
                obj.confidence = _score(detections, row)
                if self._visible(masks.get(obj.object_id)):
                    matched[row] = obj.object_id
                else:
                    # The box is where SAM 2 starts again; no velocity from a jump.
                    obj.box = detections.xyxy[row].astype(np.float32)
                    obj.last_seen_frame = frame_index
                    obj.missing_frames = 0
                    reacquired[row] = obj.object_id

        new: dict[int, int] = {}
        ignored: list[int] = []
        rest = [r for r in range(len(detections)) if r not in matched and r not in reacquired]
        # Best detections first, so the limit on objects keeps the surest ones.
        rest.sort(key=lambda r: -_score(detections, r))
        names = _class_names(detections)
        for row in rest:
            duplicate = overlap.shape[1] > 0 and overlap[row].max() >= self.match_iou
            if duplicate or len(self.objects) >= self.max_objects:
                ignored.append(row)
                continue
            object_id = self._next_id
            self._next_id += 1
            class_id = int(detections.class_id[row]) if detections.class_id is not None else 0
            self.objects[object_id] = FollowedObject(
                object_id=object_id,
                class_name=names[row],
                class_id=class_id,
                confidence=_score(detections, row),
                first_frame=frame_index,
                box=detections.xyxy[row].astype(np.float32),
                last_seen_frame=frame_index,
            )
            new[row] = object_id
        return KeyframeMatch(matched, reacquired, new, tuple(sorted(ignored)))

    def observe(
        self,
        frame_index: int,
        masks: Mapping[int, np.ndarray],
        shape: tuple[int, int],
    ) -> tuple[sv.Detections, list[int]]:
        """Take one frame's masks: update the objects, drop the long-vanished ones.

        Call once per frame, in order, for every frame of the video.

        Args:
            frame_index: The frame's index in the video.
            masks: SAM 2's masks on that frame, by object id (ids no longer
                followed are ignored).
            shape: ``(height, width)`` of the frame.

        Returns:
            The visible objects as ``sv.Detections`` (boxes from the masks,
            ``mask``, ``tracker_id``, ``class_id``, ``confidence``,
            ``data["class_name"]``; sorted by id), and the ids dropped on this frame.
        """
        visible: list[int] = []
        dropped: list[int] = []
        for object_id, obj in list(self.objects.items()):
            mask = masks.get(object_id)
            box = mask_box(mask) if self._visible(mask) else None
            if box is not None:
                obj.seen(frame_index, box)
                visible.append(object_id)
                continue
            obj.missing_frames += 1
            if obj.missing_frames > self.drop_after:
                del self.objects[object_id]
                dropped.append(object_id)
        visible.sort()
        return self._detections(visible, masks, shape), dropped

    def _detections(
        self, ids: list[int], masks: Mapping[int, np.ndarray], shape: tuple[int, int]
    ) -> sv.Detections:
        objs = [self.objects[i] for i in ids]
        stacked = (
            np.stack([np.asarray(masks[i], dtype=bool) for i in ids])
            if ids
            else np.zeros((0, *shape), dtype=bool)
        )
        return sv.Detections(
            xyxy=np.array([o.box for o in objs], dtype=np.float32).reshape(-1, 4),
            mask=stacked,
            confidence=np.array([o.confidence for o in objs], dtype=np.float32),
            class_id=np.array([o.class_id for o in objs], dtype=int),
            tracker_id=np.array(ids, dtype=int),
            data={CLASS_NAME: np.array([o.class_name for o in objs], dtype=object)},
        )


def _class_names(detections: sv.Detections) -> list[str]:
    names = detections.data.get(CLASS_NAME)
    if names is None:
        return [""] * len(detections)
    return [str(n) for n in names]


def _score(detections: sv.Detections, row: int) -> float:
    return float(detections.confidence[row]) if detections.confidence is not None else 1.0
