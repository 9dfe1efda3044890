"""Each track's life in a run: when it was seen, how sure, as what, how deep.

The detection run keeps one :class:`TrackLedger`; the summary's track counts,
the near-to-far order and the per-track CSV are all read from it, so they agree.

Example:
    >>> import numpy as np, supervision as sv
    >>> ledger = TrackLedger()
    >>> ledger.add(0, 0.0, sv.Detections(xyxy=np.zeros((1, 4)), confidence=np.array([0.8]),
    ...            tracker_id=np.array([1]), data={"class_name": np.array(["person"])}))
    >>> ledger.add(1, 0.04, sv.Detections(xyxy=np.zeros((1, 4)), confidence=np.array([0.6]),
    ...            tracker_id=np.array([1]), data={"class_name": np.array(["person"])}))
    >>> record = ledger.records[1]
    >>> record.first_frame, record.last_frame, record.frames_seen, round(record.mean_score, 2)
    (0, 1, 2, 0.7)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME
from pipeline.stages.annotation import DEPTH
from pipeline.stages.object_depth import near_to_far


@dataclass
class TrackRecord:
    """One track, as seen so far.

    Attributes:
        first_frame: The first frame it was tracked in (from 0).
        last_frame: The last such frame.
        first_time: That first frame's timestamp, in seconds.
        last_time: The last frame's timestamp, in seconds.
        frames_seen: Frames it was tracked in.
        score_sum: The sum of its detection scores (for the mean).
        classes: Frames it was seen as each class.
        depths: Its relative depth in each frame where measured.
    """

    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    frames_seen: int = 0
    score_sum: float = 0.0
    classes: Counter[str] = field(default_factory=Counter)
    depths: list[float] = field(default_factory=list)

    @property
    def class_name(self) -> str:
        """The class it was seen as most often."""
        return self.classes.most_common(1)[0][0] if self.classes else ""

    @property
    def mean_score(self) -> float:
        """Its mean detection score."""
        return self.score_sum / max(1, self.frames_seen)

    @property
    def median_depth(self) -> float | None:
        """The median of its finite depths; None where none was measured."""
        values = np.asarray(self.depths, dtype=np.float64)
        values = values[np.isfinite(values)]
        return float(np.median(values)) if values.size else None


class TrackLedger:
    """Records every tracked object of every frame, by track id.

    Attributes:
        records: ``{track_id: TrackRecord}``, in the order tracks appeared.
    """

    def __init__(self) -> None:
        self.records: dict[int, TrackRecord] = {}

    def add(self, frame_index: int, timestamp: float, detections: sv.Detections) -> None:
        """Record one frame's tracked objects (``tracker_id`` set); call in frame order."""
        if detections.tracker_id is None:
            return
        names = detections.data.get(CLASS_NAME)
        depths = detections.data.get(DEPTH)
        for row, track_id in enumerate(detections.tracker_id):
            record = self.records.get(int(track_id))
            if record is None:
                record = TrackRecord(frame_index, frame_index, timestamp, timestamp)
                self.records[int(track_id)] = record
            record.last_frame, record.last_time = frame_index, timestamp
            record.frames_seen += 1
            if detections.confidence is not None:
                record.score_sum += float(detections.confidence[row])
            record.classes[str(names[row]) if names is not None else ""] += 1
            if depths is not None:
                record.depths.append(float(depths[row]))

    def summary(self) -> dict[str, Any]:
        """``tracks`` (distinct ids) and ``tracks_per_class`` (each track's most frequent class)."""
        per_class = Counter(record.class_name for record in self.records.values())
        return {"tracks": len(self.records), "tracks_per_class": dict(per_class.most_common())}

    def near_to_far(self) -> list[tuple[int, float]]:
        """Tracks from nearest to farthest by median depth (see :func:`near_to_far`)."""
        return near_to_far({track_id: r.depths for track_id, r in self.records.items()})
