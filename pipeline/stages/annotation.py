"""Drawing detections and tracks on frames with supervision's annotators."""

from __future__ import annotations

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME

#: Key in ``Detections.data`` holding each object's relative depth, when measured.
DEPTH = "depth"
#: Keys in ``Detections.data`` holding each tracked object's speed, when measured
#: (:mod:`pipeline.stages.speed` writes them; NaN: not measured yet).
SPEED_PX_S = "speed_px_s"
SPEED_KMH = "speed_kmh"


def object_labels(detections: sv.Detections) -> list[str]:
    """Labels like ``"#3 person 0.87"`` (track id when tracked, depth when measured).

    Args:
        detections: Detections with ``data["class_name"]``; ``tracker_id`` optional.

    Returns:
        One label per detection.
    """
    names = detections.data.get(CLASS_NAME, [""] * len(detections))
    scores = detections.confidence if detections.confidence is not None else [None] * len(names)
    ids = detections.tracker_id if detections.tracker_id is not None else [None] * len(names)
    depths = detections.data.get(DEPTH, [None] * len(names))
    speeds = speed_texts(detections)
    labels = []
    for name, score, track_id, depth, speed in zip(
        names, scores, ids, depths, speeds, strict=True
    ):
        parts = [f"#{int(track_id)}"] if track_id is not None else []
        parts.append(str(name))
        if score is not None:
            parts.append(f"{float(score):.2f}")
        if depth is not None and np.isfinite(depth):
            parts.append(f"d={float(depth):.2f}")
        if speed:
            parts.append(speed)
        labels.append(" ".join(parts))
    return labels


def speed_texts(detections: sv.Detections) -> list[str]:
    """Each object's speed as its label shows it: km/h where known, else px/s ("" if none).

    Example:
        >>> found = sv.Detections(xyxy=np.zeros((2, 4)),
        ...                       data={SPEED_PX_S: np.array([np.nan, 98.6])})
        >>> speed_texts(found)
        ['', '99 px/s']
    """
    texts = [""] * len(detections)
    for key, unit in ((SPEED_PX_S, "px/s"), (SPEED_KMH, "km/h")):
        values = detections.data.get(key)
        if values is None:
            continue
        for row, value in enumerate(values):
            if value is not None and np.isfinite(value):
                texts[row] = f"{float(value):.0f} {unit}"
    return texts


_AnnotatorPair = tuple[sv.BoxAnnotator, sv.LabelAnnotator]


class FrameAnnotator:
    """Boxes and labels; colours follow the track id when there is one, else the class.

    Args:
        thickness: Box line width in pixels (None: scaled to the frame).
    """

    def __init__(self, thickness: int | None = None) -> None:
        self.thickness = thickness
        self._annotators: dict[tuple[int, sv.ColorLookup], _AnnotatorPair] = {}

    def _for(self, image: np.ndarray, lookup: sv.ColorLookup) -> _AnnotatorPair:
        thickness = self.thickness or sv.calculate_optimal_line_thickness(image.shape[1::-1])
        key = (thickness, lookup)
        if key not in self._annotators:
            text_scale = sv.calculate_optimal_text_scale(image.shape[1::-1])
            self._annotators[key] = (
                sv.BoxAnnotator(thickness=thickness, color_lookup=lookup),
                sv.LabelAnnotator(
                    text_scale=text_scale,
                    text_thickness=max(1, thickness // 2),
                    color_lookup=lookup,
                    smart_position=True,
                ),
            )
        return self._annotators[key]

    def annotate(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """Return a copy of ``image`` (BGR) with boxes and labels drawn.

        Args:
            image: BGR uint8 frame.
            detections: What to draw.

        Returns:
            The annotated copy.
        """
        canvas = image.copy()
        if len(detections) == 0:
            return canvas
        lookup = sv.ColorLookup.TRACK if detections.tracker_id is not None else sv.ColorLookup.CLASS
        boxes, labels = self._for(canvas, lookup)
        canvas = boxes.annotate(canvas, detections)
        return labels.annotate(canvas, detections, labels=object_labels(detections))


class SegmentationAnnotator:
    """Masks, then boxes and ``#id class score`` labels; colours follow the object id.

    Args:
        opacity: Opacity of the mask overlay.
    """

    def __init__(self, opacity: float = 0.5) -> None:
        self._masks = sv.MaskAnnotator(opacity=opacity, color_lookup=sv.ColorLookup.TRACK)
        self._boxes = FrameAnnotator()

    def annotate(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """Return a copy of ``image`` (BGR) with the objects drawn."""
        if len(detections) and detections.mask is not None:
            image = self._masks.annotate(image.copy(), detections)
        return self._boxes.annotate(image, detections)
