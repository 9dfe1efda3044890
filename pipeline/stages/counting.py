"""Counting lines and zones: what crosses a line, what stays in a zone and for how long.

Built on supervision's ``LineZone`` and ``PolygonZone`` and their annotators. The
crossing rule, :data:`CROSSING_RULE`, was chosen by measurement
(``python -m pipeline.evaluation.counting_eval``; ``docs/counting.md``):

- **Where an object is: the bottom centre of its box** (its feet, a car's wheels), for
  lines and zones alike. The four corners, supervision's default for lines, lost about
  half of the ground truth's crossings even on perfect boxes: a large box, or one that
  comes in from the frame's edge or leaves it soon after, is never wholly on one side.
- **A box jittering on a line** (or on a zone's edge) counts once: a crossing counts
  once the point has been on the new side for :attr:`CrossingRule.min_seconds` (0.15 s:
  the frames that span it at the video's frame rate, :meth:`CrossingRule.frames_at`,
  ``LineZone``'s ``minimum_crossing_threshold``), so an object that touches the line
  and turns back sooner counts zero, as does a bad box that jumps across for a frame or
  two. A frame in which a track is not seen neither extends that run nor breaks it,
  however long it lasts: a track keeps its side for its whole life
  (:class:`RuleLineZone`), so a person who crosses while hidden behind another, and
  comes back under the same id, counts.
- **A track handed to another object** (its box's height jumps 1.8-fold,
  :mod:`pipeline.stages.track_swaps`) starts afresh: its sides of every line and zone are
  set again by its next observation, so the jump of its bottom centre is no crossing.
- **A track's first observation sets its side**, so a track that starts one frame before
  the line and goes on across it counts. A crossing in a track's last 0.15 s does not
  (the price of the jitter guard).
- **Unconfirmed tracks.** Only confirmed tracks reach this stage (the tracker
  stage returns them with ids from 1), and ``LineZone`` ignores negative ids.
  Trackers confirm a track within its first two or three detections; measured, at most
  4 % of crossings happen that early.
- **One object in two zones.** Each zone keeps its own occupancy and timers, so
  an object inside two overlapping zones counts in both, once each.
- **Time in a zone** runs from the timestamp of the frame a track is first
  inside to that of the first frame it is no longer inside (or of the last
  frame), from the frames' own timestamps, so a variable frame rate is
  counted right; the timers forget nothing (the summary and the CSV read
  them at the end). A zone's **entries** count the tracks that came in from outside,
  by the crossing rule (seen outside, then inside for the rule's wait).

Directions follow supervision: looking along the line from its first point to
its second, ``in`` is a crossing from the right side to the left, ``out`` the
reverse.

Example:
    >>> line = parse_line("door:100,0,100,480")
    >>> line.name, line.points
    ('door', ((100, 0), (100, 480)))
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from numbers import Real
from typing import Any

import cv2
import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME
from pipeline.errors import PipelineError, quoted
from pipeline.io import json_text
from pipeline.stages.track_swaps import SizeJumps

#: The points of a box a crossing may be decided by (``LineZone``'s ``triggering_anchors``):
#: with several, the box is on a side only when all of them are, and on neither while it
#: straddles the line.
CROSSING_ANCHORS: dict[str, tuple[sv.Position, ...]] = {
    "center": (sv.Position.CENTER,),
    "bottom_center": (sv.Position.BOTTOM_CENTER,),
    "corners": (
        sv.Position.TOP_LEFT,
        sv.Position.TOP_RIGHT,
        sv.Position.BOTTOM_LEFT,
        sv.Position.BOTTOM_RIGHT,
    ),
}
#: Names: letters, digits, spaces, ``_``, ``-`` and ``.``, up to 40 characters.
_NAME = re.compile(r"^[\w .-]{1,40}$")
#: A wrong name is quoted whole up to its longest valid length (and its quotes).
NAME_QUOTE_CHARS = 42

Point = tuple[int, int]


#: Each anchor in words, for the help that says what a crossing is.
ANCHOR_WORDS = {
    "center": "the centre of its box",
    "bottom_center": "the bottom centre of its box (where it stands)",
    "corners": "all four corners of its box",
}


class GeometryError(PipelineError, ValueError):
    """A counting line or zone is malformed, outside the frame, or named twice."""


@dataclass(frozen=True)
class CrossingRule:
    """When a tracked box has crossed a line.

    Attributes:
        anchor: Which points of the box decide its side, a key of :data:`CROSSING_ANCHORS`.
        min_frames: Observations in a row on the new side before the crossing counts
            (``LineZone``'s ``minimum_crossing_threshold``); 1 when ``min_seconds`` is set.
        min_seconds: The same wait as a duration: at a video's frame rate, the frames
            that span it, rounded up (:meth:`frames_at`), so the guard holds as long
            at 10 fps as at 60. None: ``min_frames``, whatever the frame rate.
        remember_unseen: Keep a track's side while it is unseen, for its whole life;
            False: ``LineZone``'s own rule, which forgets a track unseen for
            ``min_frames + 1`` frames (the rule before, for measuring).
        band: A hysteresis band on each side of a line (or a zone's edge), as a share of
            the box's height: an anchor closer than that is on neither side, and the
            observation neither extends nor breaks a run. 0: none.
        swap_ratio: A box whose height jumps by more than this factor from the track's
            usual height (:mod:`pipeline.stages.track_swaps`) is taken for another
            object the tracker handed the track to: the track's sides start afresh
            there, so the jump is no crossing. None: never.
    """

    anchor: str
    min_frames: int = 1
    min_seconds: float | None = None
    remember_unseen: bool = True
    band: float = 0.0
    swap_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.anchor not in CROSSING_ANCHORS:
            raise ValueError(f"anchor must be one of {', '.join(CROSSING_ANCHORS)}")
        if self.min_frames < 1:
            raise ValueError("min_frames must be at least 1")
        if self.min_seconds is not None and (self.min_seconds <= 0 or self.min_frames != 1):
            raise ValueError("give the wait in frames or in seconds (above 0), not both")
        if not 0 <= self.band < 1:
            raise ValueError("band must be at least 0 and below 1 (a share of the box height)")
        if self.swap_ratio is not None and self.swap_ratio <= 1:
            raise ValueError("swap must be greater than 1 (a factor of the box height)")

    @property
    def name(self) -> str:
        """The rule as the counting evaluation prints and reads it.

        ``anchor/min_frames`` (or ``anchor/{min_seconds}s``), then ``/forget`` without
        ``remember_unseen``, ``/band=B`` and ``/swap=R`` when set.
        """
        wait = f"{self.min_seconds:g}s" if self.min_seconds else str(self.min_frames)
        return (
            f"{self.anchor}/{wait}"
            + ("" if self.remember_unseen else "/forget")
            + (f"/band={self.band:g}" if self.band else "")
            + (f"/swap={self.swap_ratio:g}" if self.swap_ratio else "")
        )

    def frames_at(self, fps: float | None) -> int:
        """Observations in a row on the new side before a crossing counts, at ``fps``.

        Example:
            >>> [CrossingRule("bottom_center", min_seconds=0.15).frames_at(fps)
            ...  for fps in (10, 14, 25, 30, 60)]
            [2, 3, 4, 5, 9]
        """
        if self.min_seconds is None:
            return self.min_frames
        rate = fps if fps and fps > 0 else FALLBACK_FPS
        # The tolerance keeps a duration that is a whole number of frames at that number.
        return max(1, math.ceil(self.min_seconds * rate - 1e-6))

    def sentence(self) -> str:
        """What counts as a crossing, in one sentence for the page's help.

        Example:
            >>> CrossingRule("center", 2).sentence()[:64]
            'An object crosses a line once the centre of its box has gone to '
        """
        swap = (
            f", nor does a track whose box suddenly grows or shrinks {self.swap_ratio:g}-fold "
            "(the tracker jumped to another object)"
            if self.swap_ratio
            else ""
        )
        wait = (
            f"{self.min_seconds:g} s ({self.frames_at(FALLBACK_FPS)} frames at "
            f"{FALLBACK_FPS:g} fps)"
            if self.min_seconds
            else f"{self.min_frames} frames"
        )
        return (
            f"An object crosses a line once {ANCHOR_WORDS[self.anchor]} has gone to its other "
            f"side and stayed there for {wait} in a row, so a box that only touches the "
            f"line and turns back does not count{swap}."
        )


#: The rule the app counts with, chosen by ``python -m pipeline.evaluation.counting_eval``
#: (``docs/counting.md``: the table of every rule measured).
CROSSING_RULE = CrossingRule(anchor="bottom_center", min_seconds=0.15, swap_ratio=1.8)
#: The frame rate a rule in seconds is counted at when a stage is given none (one made
#: only to draw shapes, or fed frames without a rate): the most common video rate.
FALLBACK_FPS = 25.0


@dataclass(frozen=True)
class CountingLine:
    """A line objects are counted crossing, in the input video's pixels.

    Attributes:
        name: Its name in the summary, the events and the CSV.
        points: Its two ends, ``((x1, y1), (x2, y2))``.
    """

    name: str
    points: tuple[Point, Point]

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.points) != 2:
            raise GeometryError(f"Line {self.name!r} needs two points, not {len(self.points)}.")
        if self.points[0] == self.points[1]:
            raise GeometryError(f"Line {self.name!r} has no length: its two points are one.")


@dataclass(frozen=True)
class CountingZone:
    """A polygon objects are counted inside, in the input video's pixels.

    Attributes:
        name: Its name in the summary, the events and the CSV.
        points: Its corners, at least three, in order.
    """

    name: str
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.points) < 3:
            raise GeometryError(
                f"Zone {self.name!r} needs at least three points, not {len(self.points)}."
            )
        x, y = np.array(self.points, dtype=float).T
        if abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) < 1e-9:
            raise GeometryError(f"Zone {self.name!r} has no area: its points are on one line.")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        # A wrong name is quoted only as far as a right one could go (40 characters).
        hint = "use 1 to 40 letters, digits, spaces, '_-.'"
        raise GeometryError(f"Name {quoted(name, NAME_QUOTE_CHARS)} is not a valid name: {hint}.")


def _pixel(value: float, whose: str) -> int:
    """A coordinate as a whole pixel; NaN and the infinities are none."""
    if not math.isfinite(value):
        raise GeometryError(f"{whose} must be finite numbers, not {quoted(value)}.")
    return round(value)


def _points(name: str, numbers: list[float], what: str) -> tuple[Point, ...]:
    if len(numbers) % 2:
        raise GeometryError(f"{name!r} has an odd count of coordinates: give x,y pairs.")
    pixels = [_pixel(number, f"The coordinates of {what} {name!r}") for number in numbers]
    return tuple((pixels[i], pixels[i + 1]) for i in range(0, len(pixels), 2))


def _parse(text: str, what: str) -> tuple[str, tuple[Point, ...]]:
    name, separator, coordinates = str(text).partition(":")
    if not separator:
        raise GeometryError(f"A {what} is NAME:x1,y1,x2,y2...; {text!r} has no ':'.")
    try:
        numbers = [float(part) for part in coordinates.split(",") if part.strip()]
    except ValueError:
        raise GeometryError(f"The coordinates of {what} {name!r} must be numbers.") from None
    return name.strip(), _points(name.strip(), numbers, what)


def parse_line(text: str) -> CountingLine:
    """``NAME:x1,y1,x2,y2`` as a line (the command line's ``--line``).

    Raises:
        GeometryError: Not two points, or a bad name or number.
    """
    name, points = _parse(text, "line")
    if len(points) != 2:
        raise GeometryError(f"Line {name!r} needs two points (x1,y1,x2,y2), not {len(points)}.")
    return CountingLine(name, (points[0], points[1]))


def parse_zone(text: str) -> CountingZone:
    """``NAME:x1,y1,x2,y2,x3,y3,...`` as a zone (the command line's ``--zone``).

    Raises:
        GeometryError: Fewer than three points, or a bad name or number.
    """
    name, points = _parse(text, "zone")
    return CountingZone(name, points)


def _line_of(name: Any, points: tuple[Point, ...]) -> CountingLine:
    if len(points) != 2:
        raise GeometryError(
            f"Line {quoted(name, NAME_QUOTE_CHARS)} needs two points, not {len(points)}."
        )
    # The name as given: a number is no name (the name check says so), not one made text.
    return CountingLine(name, (points[0], points[1]))


def _zone_of(name: Any, points: tuple[Point, ...]) -> CountingZone:
    return CountingZone(name, points)


def _shape_from(
    value: Any,
    *,
    kind: type,
    parse: Callable[[str], Any],
    build: Callable[[Any, tuple[Point, ...]], Any],
    what: str,
    form: str,
) -> Any:
    """``value`` as a ``kind``: one already, a ``form`` text, or a ``{"name", "points"}`` dict.

    Lines and zones take the same three forms; only their parser, their
    builder from points and their wording differ.
    """
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        return parse(value)
    if isinstance(value, dict) and "name" in value and "points" in value:
        return build(value["name"], tuple(_pair(p) for p in value["points"]))
    raise GeometryError(f"A {what} is {form} or {{'name', 'points'}}, not {quoted(value)}.")


_line_from = partial(
    _shape_from, kind=CountingLine, parse=parse_line, build=_line_of, what="line",
    form="NAME:x1,y1,x2,y2",
)  # fmt: skip
_zone_from = partial(
    _shape_from, kind=CountingZone, parse=parse_zone, build=_zone_of, what="zone",
    form="NAME:x1,y1,x2,y2,x3,y3,...",
)  # fmt: skip


def _each(values: Any, convert: Callable[[Any], Any], what: str) -> tuple[Any, ...]:
    """``convert`` applied to one value or to each of several; errors become GeometryError."""
    if values is None or isinstance(values, str | dict):
        values = () if values is None else (values,)
    try:
        return tuple(convert(value) for value in values)
    except GeometryError:
        raise
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"{what} must be given as points [[x1, y1], ...]: {exc}") from None


def as_lines(values: Any) -> tuple[CountingLine, ...]:
    """Counting lines from lines, ``NAME:x1,y1,x2,y2`` texts or ``{"name", "points"}`` dicts.

    Raises:
        GeometryError: A value that is none of these, or a bad line.
    """
    return _each(values, _line_from, "Lines")


def as_zones(values: Any) -> tuple[CountingZone, ...]:
    """Counting zones from zones, ``NAME:x1,y1,...`` texts or ``{"name", "points"}`` dicts.

    Raises:
        GeometryError: A value that is none of these, or a bad zone.
    """
    return _each(values, _zone_from, "Zones")


#: What :func:`from_json` reads, for its error message.
JSON_FORM = (
    '{"lines": [{"name": "door", "points": [[x1, y1], [x2, y2]]}], '
    '"zones": [{"name": "desk", "points": [[x1, y1], [x2, y2], [x3, y3]]}]}'
)


#: Most lines, and most zones, one run counts with; each costs time on every frame.
MAX_SHAPES = 50
#: Most corners of one zone.
MAX_ZONE_POINTS = 100

def from_json(value: Any) -> tuple[tuple[CountingLine, ...], tuple[CountingZone, ...]]:
    """Lines and zones as the API and REST take them, as JSON.

    Args:
        value: ``{"lines": [{"name": ..., "points": [[x, y], [x, y]]}],
            "zones": [{"name": ..., "points": [[x, y], ...]}]}`` (a dict or its
            JSON text; empty or None: none). At most :data:`MAX_SHAPES` lines
            and as many zones, :data:`MAX_ZONE_POINTS` corners per zone,
            :data:`pipeline.io.json_text.MAX_JSON_CHARS` characters of text.

    Raises:
        GeometryError: Not that shape, over a limit, or a bad line or zone.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return (), ()
    data = (
        json_text.decode(value, "Lines and zones", error=GeometryError, form=JSON_FORM)
        if isinstance(value, str)
        else value
    )
    if not isinstance(data, dict) or set(data) - {"lines", "zones"}:
        raise GeometryError(f"Lines and zones are JSON of the form {JSON_FORM}.")
    lines, zones = data.get("lines") or [], data.get("zones") or []
    if not isinstance(lines, list) or not isinstance(zones, list):
        raise GeometryError(f"Lines and zones are JSON of the form {JSON_FORM}.")
    if len(lines) > MAX_SHAPES or len(zones) > MAX_SHAPES:
        raise GeometryError(
            f"{len(lines)} lines and {len(zones)} zones: the limit is {MAX_SHAPES} of each."
        )
    for zone in zones:
        points = zone.get("points") if isinstance(zone, dict) else None
        if isinstance(points, list) and len(points) > MAX_ZONE_POINTS:
            raise GeometryError(
                f"A zone has {len(points)} corners; the limit is {MAX_ZONE_POINTS}."
            )
    return as_lines(lines), as_zones(zones)


def _pair(point: Any) -> Point:
    """``[x, y]`` of numbers as a pixel; text and true/false are refused, not read as numbers."""
    if (
        not isinstance(point, list | tuple)
        or len(point) != 2
        or not all(isinstance(v, Real) and not isinstance(v, bool) for v in point)
    ):
        raise GeometryError(f"A point is [x, y], two numbers, not {quoted(point)}.")
    return _pixel(point[0], "A point's coordinates"), _pixel(point[1], "A point's coordinates")


def to_json(lines: tuple[CountingLine, ...], zones: tuple[CountingZone, ...]) -> dict[str, Any]:
    """The JSON form :func:`from_json` reads."""
    return {
        "lines": [{"name": line.name, "points": [list(p) for p in line.points]} for line in lines],
        "zones": [{"name": zone.name, "points": [list(p) for p in zone.points]} for zone in zones],
    }


def check_names(lines: tuple[CountingLine, ...], zones: tuple[CountingZone, ...]) -> None:
    """Every line and zone has its own name.

    Raises:
        GeometryError: A name used twice.
    """
    names = Counter(item.name for item in (*lines, *zones))
    repeated = [name for name, count in names.items() if count > 1]
    if repeated:
        raise GeometryError(
            f"The name {repeated[0]!r} is used twice: give each line and zone its own."
        )


def check_inside(
    lines: tuple[CountingLine, ...], zones: tuple[CountingZone, ...], width: int, height: int
) -> None:
    """Every point of every line and zone lies inside a ``width`` × ``height`` frame.

    Raises:
        GeometryError: A point outside the frame.
    """
    for item in (*lines, *zones):
        for x, y in item.points:
            if not (0 <= x <= width and 0 <= y <= height):
                kind = "Line" if isinstance(item, CountingLine) else "Zone"
                raise GeometryError(
                    f"{kind} {item.name!r} has the point ({quoted(x)}, {quoted(y)}) outside the "
                    f"{width}x{height} frame of this video."
                )


class RuleLineZone(sv.LineZone):
    """``LineZone`` with the parts of :class:`CrossingRule` it lacks.

    - **A track keeps its side for its whole life** (``remember_unseen``). ``LineZone``
      forgets a track unseen for ``minimum_crossing_threshold + 1`` frames, so a person
      who crosses while hidden behind another comes back, under the same id, as if new,
      on the far side: the crossing is lost. The tracker keeps ids across such gaps and
      never reuses one, so the counter keeps their sides too.
    - **A hysteresis band** (``band``): an anchor closer to the line than ``band`` times
      its box's height is treated as a box straddling the line, which ``LineZone``
      skips (neither extending nor breaking a run).
    - **A fresh start** (:meth:`restart`) for a track the tracker handed to another object.

    Args:
        start: The line's first point.
        end: Its second point.
        rule: The crossing rule.
        min_frames: Its wait in observations, at the video's frame rate
            (:meth:`CrossingRule.frames_at`).
    """

    def __init__(
        self, start: sv.Point, end: sv.Point, rule: CrossingRule, min_frames: int
    ) -> None:
        super().__init__(
            start=start,
            end=end,
            triggering_anchors=CROSSING_ANCHORS[rule.anchor],
            minimum_crossing_threshold=min_frames,
        )
        self.rule = rule

    def restart(self, track_ids: set[int]) -> None:
        """Forget these tracks' sides: their next observation sets them again."""
        for key in track_ids:
            self.crossing_state_history.pop(key, None)
            self._confirmed_crossing_side.pop(key, None)
            self._tracker_frames_absent.pop(key, None)

    def _evict_stale_crossing_history(self, current_keys: set[int]) -> None:
        """Forget nothing when remembering: ids are never reused within a run."""
        if not self.rule.remember_unseen:
            super()._evict_stale_crossing_history(current_keys)

    def _compute_anchor_sides(
        self, detections: sv.Detections, coord_transform: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``LineZone``'s sides, with an anchor inside the band on both (so skipped)."""
        in_limits, left, right = super()._compute_anchor_sides(detections, coord_transform)
        if self.rule.band:
            start, end = self.vector.start, self.vector.end
            direction = np.array([end.x - start.x, end.y - start.y], dtype=float)
            heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
            near = np.zeros(len(detections), dtype=bool)
            for anchor in self.triggering_anchors:
                offset = detections.get_anchors_coordinates(anchor) - [start.x, start.y]
                cross = direction[0] * offset[:, 1] - direction[1] * offset[:, 0]
                distance = np.abs(cross) / np.linalg.norm(direction)
                near |= distance < self.rule.band * heights
            left, right = left | near, right | near
        return in_limits, left, right


class CountingStage:
    """Counts line crossings and zone stays of tracked objects, frame after frame.

    Args:
        lines: The counting lines.
        zones: The counting zones.
        rule: When a box has crossed a line (the app's :data:`CROSSING_RULE`; other
            rules are for measuring, :mod:`pipeline.evaluation.counting_eval`).
        fps: The video's frame rate, for a rule in seconds (None: :data:`FALLBACK_FPS`).

    Call :meth:`update` once per frame, in order, with that frame's tracked
    detections and its timestamp; :meth:`annotate` draws the current counts.
    """

    def __init__(
        self,
        lines: tuple[CountingLine, ...],
        zones: tuple[CountingZone, ...],
        rule: CrossingRule = CROSSING_RULE,
        fps: float | None = None,
    ) -> None:
        self.lines = lines
        self.rule = rule
        self.zones = zones
        #: Observations in a row on the new side before a crossing (or entry) counts.
        self.min_frames = rule.frames_at(fps)
        self._line_zones = {
            line.name: RuleLineZone(
                sv.Point(*line.points[0]), sv.Point(*line.points[1]), rule, self.min_frames
            )
            for line in lines
        }
        self._polygon_zones = {
            # PolygonZone's own anchor, the bottom centre: the chosen rule's for lines too.
            zone.name: sv.PolygonZone(polygon=np.array(zone.points, dtype=np.int64))
            for zone in zones
        }
        self.line_counts: dict[str, dict[str, Counter[str]]] = {
            line.name: {"in": Counter(), "out": Counter()} for line in lines
        }
        self.occupancy: dict[str, Counter[str]] = {zone.name: Counter() for zone in zones}
        self.peak_occupancy: dict[str, int] = {zone.name: 0 for zone in zones}
        #: Seconds each track spent in each zone: ``{zone: {track_id: seconds}}``.
        self.seconds_in_zone: dict[str, defaultdict[int, float]] = {
            zone.name: defaultdict(float) for zone in zones
        }
        #: Each track's crossings: ``{track_id: [(line, direction), ...]}``.
        self.crossings: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
        #: The tracks that were ever inside each zone.
        self.visitors: dict[str, set[int]] = {zone.name: set() for zone in zones}
        #: Per zone and class, the tracks that came in from outside (the crossing rule).
        self.entries: dict[str, Counter[str]] = {zone.name: Counter() for zone in zones}
        # Per zone and track: its confirmed inside-or-not, and its run on the other side.
        self._zone_sides: dict[str, dict[int, tuple[bool, int]]] = {z.name: {} for z in zones}
        self._inside: dict[str, dict[int, str]] = {zone.name: {} for zone in zones}
        self._size_jumps = SizeJumps(rule.swap_ratio) if rule.swap_ratio else None
        self._last_time: float | None = None
        self._annotators: (
            tuple[sv.LineZoneAnnotator, list[sv.PolygonZoneAnnotator], float] | None
        ) = None

    @property
    def active(self) -> bool:
        """Whether there is anything to count."""
        return bool(self.lines or self.zones)

    def update(self, detections: sv.Detections, timestamp: float) -> list[dict[str, Any]]:
        """Count one frame; returns its events.

        Args:
            detections: The frame's tracked objects (``tracker_id`` from 1).
            timestamp: The frame's time in seconds (from the stream).

        Returns:
            ``{"line", "track_id", "class", "direction"}`` per crossing and
            ``{"zone", "track_id", "class", "event": "enter" | "exit"}`` per zone change.
        """
        events: list[dict[str, Any]] = []
        if detections.class_id is None:  # LineZone needs class ids beside class names
            detections = detections[:]
            detections.class_id = np.zeros(len(detections), dtype=int)
        ids = [] if detections.tracker_id is None else [int(i) for i in detections.tracker_id]
        names = [str(n) for n in detections.data.get(CLASS_NAME, [""] * len(ids))]
        if self._size_jumps is not None and ids:
            heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
            self._restart(self._size_jumps.update(ids, heights.tolist()))
        for name, line_zone in self._line_zones.items():
            crossed_in, crossed_out = line_zone.trigger(detections) if ids else ([], [])
            for row, (went_in, went_out) in enumerate(zip(crossed_in, crossed_out, strict=True)):
                for direction, happened in (("in", went_in), ("out", went_out)):
                    if happened:
                        self.line_counts[name][direction][names[row]] += 1
                        self.crossings[ids[row]].append((name, direction))
                        events.append({"line": name, "track_id": ids[row],
                                       "class": names[row], "direction": direction})  # fmt: skip
        # The previous frame lasted until this one: its stays end now.
        elapsed = 0.0 if self._last_time is None else max(0.0, timestamp - self._last_time)
        self._last_time = timestamp
        for name, polygon in self._polygon_zones.items():
            for track_id in self._inside[name]:
                self.seconds_in_zone[name][track_id] += elapsed
            inside_mask = polygon.trigger(detections) if ids else np.zeros(0, bool)
            now = {ids[row]: names[row] for row in np.flatnonzero(inside_mask)}
            near = self._near_edge(name, detections) if ids else np.zeros(0, bool)
            self._count_entries(name, ids, names, inside_mask, near)
            before = self._inside[name]
            for track_id in now.keys() - before.keys():
                events.append({"zone": name, "track_id": track_id, "class": now[track_id],
                               "event": "enter"})  # fmt: skip
            for track_id in before.keys() - now.keys():
                events.append({"zone": name, "track_id": track_id, "class": before[track_id],
                               "event": "exit"})  # fmt: skip
            self.visitors[name] |= now.keys()
            self._inside[name] = now
            self.occupancy[name] = Counter(now.values())
            self.peak_occupancy[name] = max(self.peak_occupancy[name], len(now))
        return events

    def _restart(self, track_ids: set[int]) -> None:
        """Forget these tracks' sides of every line and zone (another object now)."""
        for line_zone in self._line_zones.values():
            line_zone.restart(track_ids)
        for sides in self._zone_sides.values():
            for track_id in track_ids:
                sides.pop(track_id, None)

    def _near_edge(self, zone: str, detections: sv.Detections) -> np.ndarray:
        """Which boxes' anchors lie within the rule's band of the zone's edge."""
        if not self.rule.band:
            return np.zeros(len(detections), dtype=bool)
        polygon = self._polygon_zones[zone].polygon.astype(np.float32)
        points = detections.get_anchors_coordinates(sv.Position.BOTTOM_CENTER)
        heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
        distance = np.array(
            [abs(cv2.pointPolygonTest(polygon, (float(x), float(y)), True)) for x, y in points]
        )
        return distance < self.rule.band * heights

    def _count_entries(
        self, zone: str, ids: list[int], names: list[str], inside: np.ndarray, near: np.ndarray
    ) -> None:
        """A track's side of a zone's edge changes as a line's does (:class:`CrossingRule`)."""
        sides = self._zone_sides[zone]
        rows = zip(ids, names, inside.tolist(), near.tolist(), strict=True)
        for track_id, name, now_inside, in_band in rows:
            if in_band:  # as on a line: on neither side
                continue
            confirmed, run = sides.get(track_id, (now_inside, 0))
            run = run + 1 if now_inside != confirmed else 0
            if run >= self.min_frames:
                confirmed, run = now_inside, 0
                if now_inside:
                    self.entries[zone][name] += 1
            sides[track_id] = (confirmed, run)

    def summary(self) -> dict[str, Any]:
        """Per line the in and out counts per class; per zone its occupancy, entries and times."""
        return {
            "lines": {
                name: {
                    "in": dict(counts["in"]),
                    "out": dict(counts["out"]),
                    "in_total": sum(counts["in"].values()),
                    "out_total": sum(counts["out"].values()),
                }
                for name, counts in self.line_counts.items()
            },
            "zones": {
                name: {
                    "occupancy_at_end": dict(self.occupancy[name]),
                    "peak_occupancy": self.peak_occupancy[name],
                    "visitors": len(self.visitors[name]),
                    "entries": dict(self.entries[name]),
                    "entries_total": sum(self.entries[name].values()),
                    "seconds_by_track": {
                        str(track): round(self.seconds_in_zone[name][track], 3)
                        for track in sorted(self.visitors[name])
                    },
                }
                for name in self.occupancy
            },
        }

    def annotate(self, image: np.ndarray) -> np.ndarray:
        """Draw the lines with their in/out counts and the zones with their occupancy."""
        if not self.active:
            return image
        line_annotator, zone_annotators, scale = self._annotators_for(image)
        for line_zone in self._line_zones.values():
            image = line_annotator.annotate(image, line_counter=line_zone)
        for zone_annotator in zone_annotators:
            image = zone_annotator.annotate(image)
        return _legend(image, self.legend_lines(), scale)

    def _annotators_for(
        self, image: np.ndarray
    ) -> tuple[sv.LineZoneAnnotator, list[sv.PolygonZoneAnnotator], float]:
        """The annotators, sized for the run's frames at its first frame."""
        if self._annotators is None:
            scale = sv.calculate_optimal_text_scale(image.shape[1::-1])
            thickness = sv.calculate_optimal_line_thickness(image.shape[1::-1])
            line_annotator = sv.LineZoneAnnotator(
                thickness=thickness, text_thickness=max(1, thickness // 2), text_scale=scale
            )
            zone_annotators = [
                sv.PolygonZoneAnnotator(
                    zone=zone,
                    color=sv.ColorPalette.DEFAULT.by_idx(index),
                    thickness=thickness,
                    text_scale=scale,
                    opacity=0.15,
                )
                for index, zone in enumerate(self._polygon_zones.values())
            ]
            self._annotators = (line_annotator, zone_annotators, scale)
        return self._annotators

    def legend_lines(self) -> list[str]:
        """One text line per line and zone: its counts per class."""
        text = []
        for name, counts in self.line_counts.items():
            per_class = ", ".join(
                f"{c} {counts['in'][c]}/{counts['out'][c]}"
                for c in sorted(counts["in"].keys() | counts["out"].keys())
            )
            text.append(f"{name} in/out: {per_class or '0/0'}")
        for name, occupancy in self.occupancy.items():
            now = ", ".join(f"{c} {n}" for c, n in sorted(occupancy.items())) or "empty"
            text.append(f"{name}: {now}")
        return text


def _legend(image: np.ndarray, lines: list[str], scale: float) -> np.ndarray:
    """White text on black boxes in the top-left corner, one line each."""
    font, thickness, pad = cv2.FONT_HERSHEY_SIMPLEX, 1, 4
    y = 0
    for text in lines:
        (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
        top = y + pad
        cv2.rectangle(image, (0, top - pad), (width + 2 * pad, top + height + baseline + pad),
                      (0, 0, 0), cv2.FILLED)  # fmt: skip
        cv2.putText(image, text, (pad, top + height), font, scale, (255, 255, 255), thickness,
                    cv2.LINE_AA)  # fmt: skip
        y = top + height + baseline + pad
    return image
