"""Hiding chosen objects: their boxes blurred or pixelated, before anything is drawn.

The detection and segmentation runs apply it to every frame they show or
write (the video, the live preview and the first frame), on the frame itself,
so the boxes and labels drawn afterwards stay readable while what was inside
them is gone (inside their masks, in segmentation runs).

Example:
    >>> import numpy as np, supervision as sv
    >>> image = np.tile(np.arange(40, dtype=np.uint8)[None, :, None] * 6, (40, 1, 3))
    >>> found = sv.Detections(xyxy=np.array([[0.0, 0, 20, 20]]),
    ...                       data={"class_name": np.array(["person"])})
    >>> hidden = PrivacyFilter("blur", ("person",)).apply(image, found)
    >>> changed = hidden != image
    >>> bool(changed[:20, :20].any()), bool(changed[:, 20:].any())
    (True, False)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME

#: How hidden objects look: blurred or pixelated (supervision's annotators).
PRIVACY_STYLES = ("blur", "pixelate")


class PrivacyFilter:
    """Blurs or pixelates the boxes of chosen classes.

    The strength follows each box (supervision's dynamic sizes: a blur kernel a
    third of the box's shorter side, pixels half of it), so a face far away is
    hidden as well as one close by.

    Args:
        style: ``"blur"`` or ``"pixelate"``.
        classes: The class names to hide (any case); empty: every object.
    """

    def __init__(self, style: str, classes: Sequence[str] = ()) -> None:
        if style not in PRIVACY_STYLES:
            raise ValueError(f"Unknown privacy style {style!r}: {', '.join(PRIVACY_STYLES)}.")
        self.style = style
        self.classes = frozenset(name.lower() for name in classes)
        self._annotator: sv.BlurAnnotator | sv.PixelateAnnotator = (
            sv.BlurAnnotator() if style == "blur" else sv.PixelateAnnotator()
        )

    def chosen(self, detections: sv.Detections) -> sv.Detections:
        """The detections to hide."""
        if not self.classes or len(detections) == 0:
            return detections
        names = detections.data.get(CLASS_NAME)
        if names is None:
            return detections[np.zeros(len(detections), dtype=bool)]
        keep = np.array([str(name).lower() in self.classes for name in names], dtype=bool)
        return detections[keep]

    def apply(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """A copy of ``image`` (BGR) with the chosen objects hidden.

        Objects with masks (segmentation runs) are hidden within their masks:
        their boxes are blurred or pixelated, and only the masks' pixels are
        taken from that, so the background inside a box stays sharp.

        Args:
            image: The frame, untouched.
            detections: Its objects (boxes in the frame's pixels; masks optional).

        Returns:
            The frame with those objects blurred or pixelated (``image`` itself
            when none is chosen).
        """
        hidden = self.chosen(detections)
        if len(hidden) == 0:
            return image
        covered = self._annotator.annotate(image.copy(), hidden)
        if hidden.mask is None:
            return covered
        inside = hidden.mask.any(axis=0)
        shown = image.copy()
        shown[inside] = covered[inside]
        return shown

    def to_json(self) -> dict[str, object]:
        """``{"style", "classes"}`` for the summary (classes empty: every object)."""
        return {"style": self.style, "classes": sorted(self.classes)}
