"""Each track's speed: pixels per second, and km/h over a rectangle of known size.

A track's speed is how far its box's bottom centre (where it touches the
ground) moved over the last :data:`SPEED_WINDOW_S` seconds of its life, per
second of the frames' own timestamps. With a :class:`SpeedArea` (four points
of a rectangle on the ground, as they appear in the first frame, and its size
in metres) the points are also mapped onto the ground by the rectangle's
perspective transform (``cv2.getPerspectiveTransform``; supervision 0.31 has
no ``ViewTransformer``), and the distance is in metres.

Example:
    >>> import numpy as np, supervision as sv
    >>> stage = SpeedStage()
    >>> for frame in range(3):
    ...     found = sv.Detections(xyxy=np.array([[4.0 * frame, 0, 4.0 * frame + 10, 10]]),
    ...                           tracker_id=np.array([1]))
    ...     found = stage.update(found, frame / 25)
    >>> float(found.data[SPEED_PX_S][0])
    100.0
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import supervision as sv

from pipeline.errors import ConfigError
from pipeline.stages.annotation import SPEED_KMH, SPEED_PX_S

#: A track's speed is measured over its last this many seconds (steadier than frame to frame).
SPEED_WINDOW_S = 1.0
#: Metres per second to kilometres per hour.
MS_TO_KMH = 3.6
#: Where an object is: the bottom centre of its box, on the ground.
ANCHOR = sv.Position.BOTTOM_CENTER

Point = tuple[float, float]
#: The largest side a speed area may have: a rectangle on the ground that one camera
#: sees is metres to hundreds of metres; beyond this the transform loses all precision.
MAX_AREA_SIDE_M = 10_000.0


@dataclass(frozen=True)
class SpeedArea:
    """A rectangle on the ground: its four corners in the video and its size in metres.

    Attributes:
        points: The corners in the video's pixels, in order around the
            rectangle: the first edge (points 1 to 2) is ``width_m`` long,
            the second (points 2 to 3) ``length_m``.
        width_m: The first edge's length, in metres.
        length_m: The second edge's length, in metres.
    """

    points: tuple[Point, Point, Point, Point]
    width_m: float
    length_m: float

    def __post_init__(self) -> None:
        check_area_points(self.points)
        check_area_size(self.width_m, self.length_m)

    @property
    def transform(self) -> np.ndarray:
        """The 3x3 perspective transform from the video's pixels to metres on the ground."""
        source = np.asarray(self.points, dtype=np.float32)
        target = np.array(
            [[0, 0], [self.width_m, 0], [self.width_m, self.length_m], [0, self.length_m]],
            dtype=np.float32,
        )
        return cv2.getPerspectiveTransform(source, target)

    def to_metres(self, points: np.ndarray) -> np.ndarray:
        """``(N, 2)`` pixel points as ``(N, 2)`` metres on the ground."""
        if len(points) == 0:
            return np.empty((0, 2))
        shaped = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(shaped, self.transform.astype(np.float64)).reshape(-1, 2)

    def to_json(self) -> dict[str, Any]:
        """``{"points": [[x, y] x4], "width_m", "length_m"}``."""
        return {
            "points": [[float(x), float(y)] for x, y in self.points],
            "width_m": self.width_m,
            "length_m": self.length_m,
        }


def check_area_points(points: Sequence[Point]) -> None:
    """A speed area's corners: four, around a rectangle in order, enclosing an area.

    Raises:
        ConfigError: Not four points, no area, or edges that cross.
    """
    if len(points) != 4:
        raise ConfigError(f"The speed area needs four points, not {len(points)}.")
    corners = np.asarray(points, dtype=np.float64)
    area = 0.5 * abs(_cross(corners[2] - corners[0], corners[3] - corners[1]))
    if area < 1.0:
        raise ConfigError("The speed area's four points enclose no area: mark a rectangle.")
    if not _convex(corners):
        raise ConfigError(
            "The speed area's points must go around the rectangle in order "
            "(its edges cross as given)."
        )


def check_area_size(width_m: float, length_m: float) -> None:
    """A speed area's sides: positive metres, at most :data:`MAX_AREA_SIDE_M`.

    Raises:
        ConfigError: A side that is not.
    """
    for size in (width_m, length_m):
        if not (isinstance(size, int | float) and 0 < size <= MAX_AREA_SIDE_M):
            raise ConfigError(
                f"The speed area's sides must be positive metres, at most "
                f"{MAX_AREA_SIDE_M:g}, not {size}."
            )


def _cross(a: np.ndarray, b: np.ndarray) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _convex(corners: np.ndarray) -> bool:
    """Whether the quadrilateral's corners go around it in order (no crossing edges)."""
    edges = [corners[(i + 1) % 4] - corners[i] for i in range(4)]
    turns = [_cross(edges[i], edges[(i + 1) % 4]) for i in range(4)]
    return all(t > 0 for t in turns) or all(t < 0 for t in turns)


def as_points(value: str | Sequence[Any]) -> tuple[Point, ...]:
    """Points from ``"x1,y1,x2,y2,..."`` (the command line), a JSON list, or pairs.

    Example:
        >>> as_points("0,0, 10,0, 10,5, 0,5")
        ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))

    Raises:
        ConfigError: Not an even count of numbers.
    """
    if isinstance(value, str):
        text = value.strip().replace("[", " ").replace("]", " ")
        words = [w for w in text.replace(",", " ").split() if w]
        try:
            numbers = [float(w) for w in words]
        except ValueError:
            raise ConfigError(f"Points must be numbers x1,y1,x2,y2,..., not {value!r}.") from None
    else:
        numbers = []
        for item in value:
            if isinstance(item, list | tuple):
                numbers += [float(v) for v in item]
            else:
                numbers.append(float(item))
    if len(numbers) % 2 or not all(math.isfinite(n) for n in numbers):
        raise ConfigError(f"Points must be pairs of finite numbers x,y, not {value!r}.")
    return tuple((numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2))


def as_size(value: str | Sequence[float] | None) -> tuple[float, float] | None:
    """A rectangle's size in metres from ``"W,L"`` or a pair; None or empty: none.

    Raises:
        ConfigError: Not two numbers.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            numbers = [float(w) for w in value.replace("x", ",").split(",") if w.strip()]
        except ValueError:
            raise ConfigError(
                f"The size must be two numbers W,L in metres, not {value!r}."
            ) from None
    else:
        numbers = [float(v) for v in value]
    if len(numbers) != 2:
        raise ConfigError(f"The size must be two numbers W,L in metres, not {value!r}.")
    return numbers[0], numbers[1]


@dataclass
class TrackSpeeds:
    """One track's measured speeds so far (running, so memory stays flat)."""

    count: int = 0
    total_px_s: float = 0.0
    max_px_s: float = 0.0
    total_kmh: float = 0.0
    max_kmh: float = 0.0

    @property
    def mean_px_s(self) -> float | None:
        """Its mean speed in pixels per second; None before it was measured."""
        return self.total_px_s / self.count if self.count else None

    @property
    def mean_kmh(self) -> float | None:
        """Its mean speed in km/h; None before it was measured."""
        return self.total_kmh / self.count if self.count else None


@dataclass
class SpeedStage:
    """Measures each track's speed, frame by frame, in order.

    Args:
        area: The rectangle that gives km/h; None: pixels per second only.
        window_s: Seconds of each track's life its speed is measured over.
    """

    area: SpeedArea | None = None
    window_s: float = SPEED_WINDOW_S
    tracks: dict[int, TrackSpeeds] = field(default_factory=dict)
    _history: dict[int, deque[tuple[float, float, float]]] = field(default_factory=dict)

    def update(self, detections: sv.Detections, timestamp: float) -> sv.Detections:
        """Add ``speed_px_s`` (and ``speed_kmh``) to tracked detections' data (NaN: not yet).

        Args:
            detections: This frame's tracked objects (``tracker_id`` set).
            timestamp: The frame's time in seconds.

        Returns:
            The same detections, their data holding the speeds.
        """
        count = len(detections)
        px_s = np.full(count, np.nan)
        kmh = np.full(count, np.nan)
        if count and detections.tracker_id is not None:
            anchors = detections.get_anchors_coordinates(ANCHOR).astype(np.float64)
            for row, track_id in enumerate(int(t) for t in detections.tracker_id):
                history = self._history.setdefault(track_id, deque())
                history.append((timestamp, *anchors[row]))
                while len(history) > 2 and history[1][0] <= timestamp - self.window_s:
                    history.popleft()
                then, now = history[0], history[-1]
                seconds = now[0] - then[0]
                if seconds <= 0:
                    continue
                px_s[row] = math.dist(then[1:], now[1:]) / seconds
                if self.area is not None:
                    metres = self.area.to_metres(np.array([then[1:], now[1:]]))
                    kmh[row] = math.dist(metres[0], metres[1]) / seconds * MS_TO_KMH
                self._record(track_id, float(px_s[row]), float(kmh[row]))
        detections.data[SPEED_PX_S] = px_s
        if self.area is not None:
            detections.data[SPEED_KMH] = kmh
        return detections

    def _record(self, track_id: int, px_s: float, kmh: float) -> None:
        speeds = self.tracks.setdefault(track_id, TrackSpeeds())
        speeds.count += 1
        speeds.total_px_s += px_s
        speeds.max_px_s = max(speeds.max_px_s, px_s)
        if math.isfinite(kmh):
            speeds.total_kmh += kmh
            speeds.max_kmh = max(speeds.max_kmh, kmh)

    def summary(self, top: int = 5) -> dict[str, Any]:
        """The unit, the area, and the ``top`` fastest tracks by their highest speed."""
        calibrated = self.area is not None
        key = "max_kmh" if calibrated else "max_px_s"
        fastest = sorted(self.tracks.items(), key=lambda item: -getattr(item[1], key))[:top]
        summary: dict[str, Any] = {
            "unit": "km/h" if calibrated else "px/s",
            "window_s": self.window_s,
            "fastest": [
                {"track_id": track_id, **self.track_columns(track_id)} for track_id, _ in fastest
            ],
        }
        if calibrated:
            summary["area"] = self.area.to_json()  # type: ignore[union-attr]
        return summary

    def columns(self) -> list[str]:
        """The per-track table's speed columns."""
        names = ["mean_speed_px_s", "max_speed_px_s"]
        return names + (["mean_speed_kmh", "max_speed_kmh"] if self.area is not None else [])

    def track_columns(self, track_id: int) -> dict[str, float | None]:
        """One track's :meth:`columns`, rounded (None: never measured)."""
        speeds = self.tracks.get(track_id, TrackSpeeds())
        measured = speeds.count > 0
        values: dict[str, float | None] = {
            "mean_speed_px_s": _round(speeds.mean_px_s),
            "max_speed_px_s": round(speeds.max_px_s, 2) if measured else None,
        }
        if self.area is not None:
            values["mean_speed_kmh"] = _round(speeds.mean_kmh)
            values["max_speed_kmh"] = round(speeds.max_kmh, 2) if measured else None
        return values


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
