"""Synthetic videos with known content, and a test-only detector that finds it."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import supervision as sv

from models import ModelCard, register
from models.detectors.base import CLASS_NAME, Detector

COLORS_BGR = {"red": (0, 0, 255), "green": (0, 255, 0), "blue": (255, 0, 0)}
SHAPE_SIZE = 40


@dataclass(frozen=True)
class MovingShape:
    """A filled square moving linearly: top-left at ``start + frame * velocity``."""

    color: str
    start: tuple[float, float]
    velocity: tuple[float, float]

    def box(self, frame: int) -> tuple[int, int, int, int]:
        x = round(self.start[0] + frame * self.velocity[0])
        y = round(self.start[1] + frame * self.velocity[1])
        return x, y, x + SHAPE_SIZE, y + SHAPE_SIZE


@dataclass(frozen=True)
class WaypointShape:
    """A filled square moving from waypoint to waypoint: ``(frame, x, y)`` of its top-left.

    Before the first waypoint and after the last it stays put; in between it
    moves linearly.
    """

    color: str
    waypoints: tuple[tuple[int, float, float], ...]

    def box(self, frame: int) -> tuple[int, int, int, int]:
        frames = [w[0] for w in self.waypoints]
        x = round(float(np.interp(frame, frames, [w[1] for w in self.waypoints])))
        y = round(float(np.interp(frame, frames, [w[2] for w in self.waypoints])))
        return x, y, x + SHAPE_SIZE, y + SHAPE_SIZE


DEFAULT_SHAPES = (
    MovingShape("red", (10, 20), (4, 0)),
    MovingShape("green", (260, 150), (-3, 1)),
    MovingShape("blue", (150, 190), (0, -2)),
)


def draw_frame(index: int, width: int, height: int, shapes=DEFAULT_SHAPES) -> np.ndarray:
    """Frame ``index``: grey background, the shapes at their known positions."""
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    for shape in shapes:
        x1, y1, x2, y2 = shape.box(index)
        cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), COLORS_BGR[shape.color], thickness=-1)
        if getattr(shape, "striped", False):
            # Every other pair of rows darker, still within the detector's colour range:
            # texture, so that blurring or pixelating the box changes its pixels.
            rows = np.arange(max(0, y1), min(height, y2))
            image[rows[rows % 4 < 2], max(0, x1) : max(0, x2)] = _darker(shape.color)
    return image


def _darker(color: str) -> tuple[int, int, int]:
    return tuple(200 if channel == 255 else channel for channel in COLORS_BGR[color])


@dataclass(frozen=True)
class StripedShape(MovingShape):
    """A :class:`MovingShape` with horizontal stripes of a darker shade of its colour."""

    striped: bool = True


def make_video(
    path: Path,
    frames: int = 30,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    shapes=DEFAULT_SHAPES,
    timestamps_ms: list[int] | None = None,
) -> Path:
    """Write a synthetic H.264 video (near-lossless so colours stay exact).

    With ``timestamps_ms`` (one per frame, increasing) the frames carry those
    times: a variable frame rate.
    """
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "1", "preset": "ultrafast"}
        if timestamps_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
            stream.time_base = Fraction(1, 1000)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(draw_frame(index, width, height, shapes), "bgr24")
            if timestamps_ms is not None:
                frame.pts, frame.time_base = timestamps_ms[index], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class ShapeDetector(Detector):
    """Finds the saturated squares of :func:`draw_frame` by colour. Test-only."""

    name = "test_shapes"

    def __init__(self, device: str, delay_s: float = 0.0, fail_on_frame: int | None = None):
        super().__init__(
            device=device, weights="none (colour thresholds)", class_names=list(COLORS_BGR)
        )
        self.delay_s = delay_s
        self.fail_on_frame = fail_on_frame
        self.calls = 0

    def _predict(self, batch):
        results = []
        for image in batch.frames:
            self.calls += 1
            if self.fail_on_frame is not None and self.calls > self.fail_on_frame:
                raise RuntimeError("shape detector exploded on purpose")
            if self.delay_s:
                time.sleep(random.uniform(0, self.delay_s))
            boxes, class_ids = [], []
            for class_id, bgr in enumerate(COLORS_BGR.values()):
                mask = np.all(np.abs(image.astype(int) - bgr) < 60, axis=-1).astype(np.uint8)
                count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
                for i in range(1, count):
                    x, y, w, h, area = stats[i]
                    if area > 100:
                        boxes.append([x, y, x + w, y + h])
                        class_ids.append(class_id)
            detections = sv.Detections(
                xyxy=np.array(boxes, dtype=np.float32).reshape(-1, 4),
                confidence=np.full(len(boxes), 0.9, dtype=np.float32),
                class_id=np.array(class_ids, dtype=int),
            )
            detections.data[CLASS_NAME] = np.array(
                [self.class_names[c] for c in class_ids], dtype=object
            )
            results.append(detections)
        return results


@register(
    "detector", "test_shapes", ModelCard("test_shapes", "test-only colour squares"), hidden=True
)
def _create_shape_detector(device: str = "cpu", **options) -> ShapeDetector:
    return ShapeDetector(device, **options)
