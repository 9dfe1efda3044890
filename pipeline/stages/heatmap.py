"""Where objects were over the whole video: a heat map per class (``sv.HeatMapAnnotator``).

Each frame adds a disc at every object's bottom centre to the heat of its
class and to the heat of all objects. The annotator draws the heat: on the
frames as an overlay (the heat so far), and at the end on the first frame,
one panel for all objects and one per class, as the run's heatmap image.

Example:
    >>> import numpy as np, supervision as sv
    >>> heat = HeatmapStage(100, 80)
    >>> heat.update(sv.Detections(xyxy=np.array([[10.0, 10, 30, 50]]),
    ...                           data={"class_name": np.array(["person"])}))
    >>> sorted(heat.heat), float(heat.total[50, 20]) > 0, float(heat.total[5, 90])
    (['person'], True, 0.0)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME

#: Where an object counts as being: the bottom centre of its box, on the ground.
HEAT_ANCHOR = sv.Position.BOTTOM_CENTER
#: Each object's disc, as a share of the frame's shorter side.
HEAT_RADIUS_SHARE = 1 / 24
#: Opacity of the heat over a frame.
HEAT_OPACITY = 0.5
#: Panels of the heatmap image are at most this wide.
PANEL_MAX_WIDTH = 640
#: The heatmap image shows all objects and at most this many classes (the most seen).
MAX_CLASS_PANELS = 8
#: The heatmap image's panels per row.
PANELS_PER_ROW = 2
ALL_OBJECTS = "all objects"
#: The extensions the heat map image is written as (OpenCV picks the format by the name).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class HeatmapStage:
    """Accumulates where objects were, per class, over a run; draws it.

    Args:
        width: The frames' width in pixels.
        height: Their height.
    """

    def __init__(self, width: int, height: int) -> None:
        self.size = (height, width)
        self.radius = max(2, round(min(width, height) * HEAT_RADIUS_SHARE))
        self.total = np.zeros(self.size, dtype=np.float32)
        #: The heat of each class, by name.
        self.heat: dict[str, np.ndarray] = {}
        #: Object-frames seen of each class (the order of the image's panels).
        self.seen: dict[str, int] = {}
        self._disc = np.zeros((2 * self.radius + 1,) * 2, dtype=np.float32)
        cv2.circle(self._disc, (self.radius, self.radius), self.radius, (1,), thickness=-1)

    def _annotator(self) -> sv.HeatMapAnnotator:
        kernel = self.radius | 1
        return sv.HeatMapAnnotator(
            position=HEAT_ANCHOR, opacity=HEAT_OPACITY, radius=self.radius, kernel_size=kernel
        )

    def update(self, detections: sv.Detections) -> None:
        """Add one frame's objects to the heat (call once per frame)."""
        if len(detections) == 0:
            return
        # The annotator's own accumulation blends a picture on every call; here only
        # the heat is wanted, per class, drawn the same way (a filled disc per anchor).
        names = detections.data.get(CLASS_NAME, np.array([""] * len(detections)))
        anchors = detections.get_anchors_coordinates(HEAT_ANCHOR)
        for name, (x, y) in zip(names, anchors, strict=True):
            name = str(name)
            heat = self.heat.get(name)
            if heat is None:
                heat = self.heat[name] = np.zeros(self.size, dtype=np.float32)
            self._stamp(heat, int(x), int(y))
            self._stamp(self.total, int(x), int(y))
            self.seen[name] = self.seen.get(name, 0) + 1

    def _stamp(self, heat: np.ndarray, x: int, y: int) -> None:
        """Add a disc of :attr:`radius` at ``(x, y)``, clipped to the frame."""
        r = self.radius
        height, width = self.size
        x1, y1, x2, y2 = max(0, x - r), max(0, y - r), min(width, x + r + 1), min(height, y + r + 1)
        if x1 >= x2 or y1 >= y2:
            return
        heat[y1:y2, x1:x2] += self._disc[y1 - (y - r) : y2 - (y - r), x1 - (x - r) : x2 - (x - r)]

    def draw(self, image: np.ndarray, heat: np.ndarray | None = None) -> np.ndarray:
        """``image`` (BGR, the frames' size) with ``heat`` (default: all objects) over it."""
        annotator = self._annotator()
        annotator.heat_mask = (self.total if heat is None else heat).copy()
        return annotator.annotate(image.copy(), sv.Detections.empty())

    def classes(self) -> list[str]:
        """The classes of the image's panels: the most seen first."""
        ranked = sorted(self.seen, key=lambda name: -self.seen[name])
        return ranked[:MAX_CLASS_PANELS]

    def image(self, background: np.ndarray) -> np.ndarray:
        """The heatmap image: all objects, then each class, over ``background``, in a grid."""
        panels = [_panel(self.draw(background), ALL_OBJECTS)]
        panels += [_panel(self.draw(background, self.heat[name]), name) for name in self.classes()]
        if len(panels) > PANELS_PER_ROW:
            panels += [np.zeros_like(panels[0])] * (-len(panels) % PANELS_PER_ROW)
        rows = [
            np.hstack(panels[start : start + PANELS_PER_ROW])
            for start in range(0, len(panels), PANELS_PER_ROW)
        ]
        return np.vstack(rows)

    def summary(self) -> dict[str, object]:
        """Object-frames seen per class, the most seen first."""
        return {"object_frames": {name: self.seen[name] for name in self.classes()}}


def _panel(image: np.ndarray, title: str) -> np.ndarray:
    height, width = image.shape[:2]
    if width > PANEL_MAX_WIDTH:
        size = (PANEL_MAX_WIDTH, max(1, round(height * PANEL_MAX_WIDTH / width)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    scale = sv.calculate_optimal_text_scale(image.shape[1::-1])
    bar = max(12, round(30 * scale))
    titled = np.vstack([np.full((bar, image.shape[1], 3), 32, dtype=np.uint8), image])
    cv2.putText(titled, title, (6, bar - max(3, bar // 4)), cv2.FONT_HERSHEY_SIMPLEX,
                scale, (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return titled


class HeatmapWriter:
    """Writes the heatmap image (PNG) when the run ends.

    Args:
        path: The ``.png`` file (created now, so a bad path fails before the run).
        stage: The run's heat.
    """

    def __init__(self, path: str | Path, stage: HeatmapStage) -> None:
        self.path = Path(path)
        self.stage = stage
        self.background: np.ndarray | None = None
        self.path.touch()

    def keep_background(self, image: np.ndarray) -> None:
        """The frame the heat is drawn on (the first one given is kept)."""
        if self.background is None:
            self.background = image.copy()

    def close(self) -> None:
        """Write the image (over a grey frame when the run had none)."""
        background = self.background
        if background is None:
            background = np.full((*self.stage.size, 3), 128, dtype=np.uint8)
        if not cv2.imwrite(str(self.path), self.stage.image(background)):
            raise OSError(f"Could not write the heatmap image {self.path}.")

    def abort(self) -> None:
        """Nothing is held open (the caller removes the file)."""
