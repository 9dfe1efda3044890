"""Which class each track was seen as: the summary's track counts per class.

Example:
    >>> import numpy as np, supervision as sv
    >>> classes = TrackClasses()
    >>> classes.add(sv.Detections(xyxy=np.zeros((2, 4)), tracker_id=np.array([1, 2]),
    ...                           data={"class_name": np.array(["person", "car"])}))
    >>> classes.summary()
    {'tracks': 2, 'tracks_per_class': {'person': 1, 'car': 1}}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import supervision as sv

from models.detectors.base import CLASS_NAME


class TrackClasses:
    """Counts, per track id, the frames it was seen as each class."""

    def __init__(self) -> None:
        self._seen: defaultdict[int, Counter[str]] = defaultdict(Counter)

    def add(self, detections: sv.Detections) -> None:
        """Record one frame's tracked objects (``tracker_id`` and class names)."""
        if detections.tracker_id is None:
            return
        names = detections.data.get(CLASS_NAME, [])
        for track_id, name in zip(detections.tracker_id, names, strict=False):
            self._seen[int(track_id)][str(name)] += 1

    def summary(self) -> dict[str, Any]:
        """``tracks`` (distinct ids) and ``tracks_per_class`` (each track's most frequent class)."""
        per_class: Counter[str] = Counter()
        for counts in self._seen.values():
            per_class[counts.most_common(1)[0][0]] += 1
        return {"tracks": len(self._seen), "tracks_per_class": dict(per_class.most_common())}
