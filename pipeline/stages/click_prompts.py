"""Objects picked by hand on one frame: clicks and boxes, as JSON, checked.

The API, the CLI and the Segmentation tab's clicks give the objects to follow
instead of a detector::

    {"frame": 0, "objects": [
        {"points": [[120, 80, 1], [140, 95, 0]]},
        {"box": [10, 20, 110, 220]},
        {"points": [[300, 200, 1]], "box": [260, 150, 360, 260]}]}

Each object has positive (label 1: on the object) and negative (label 0: not
on it) clicks in frame pixels, a box ``[x1, y1, x2, y2]``, or both. Objects
get the ids 1, 2, 3... in the order given, each its own colour; SAM 2 (or
EdgeTAM) follows them from ``frame`` to the end of the video.

Example:
    >>> prompts = parse_prompts('{"frame": 2, "objects": [{"points": [[5, 6, 1]]}]}')
    >>> prompts.frame, prompts.objects[0].points, prompts.objects[0].box
    (2, ((5.0, 6.0, 1),), None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.segmenters.base import ClickableSession
from pipeline.errors import ConfigError, quoted
from pipeline.io import json_text

#: A click on the object (positive) or off it (negative), as SAM 2 labels them.
POSITIVE, NEGATIVE = 1, 0
#: Keys an object may have.
OBJECT_KEYS = ("points", "box")
#: The first object's id; the others follow in the order given.
FIRST_ID = 1
#: Most objects picked by hand: each is a mask followed on every frame.
MAX_OBJECTS = 100
#: Most clicks on one object: SAM 2 is prompted by a few.
MAX_CLICKS = 100


@dataclass(frozen=True)
class ObjectPrompt:
    """One object picked by hand.

    Attributes:
        points: ``(x, y, label)`` clicks in frame pixels; label 1 on the object, 0 off it.
        box: ``(x1, y1, x2, y2)`` in frame pixels, or None.
    """

    points: tuple[tuple[float, float, int], ...] = ()
    box: tuple[float, float, float, float] | None = None

    def extent(self) -> np.ndarray:
        """The object's first box: the box given, else one around its positive clicks."""
        if self.box is not None:
            return np.array(self.box, dtype=np.float32)
        on = np.array([(x, y) for x, y, label in self.points if label == POSITIVE], np.float32)
        return np.concatenate([on.min(axis=0), on.max(axis=0) + 1])

    def to_json(self) -> dict[str, Any]:
        """The object as the JSON gives it (what the run's output records)."""
        values: dict[str, Any] = {}
        if self.points:
            values["points"] = [[x, y, label] for x, y, label in self.points]
        if self.box is not None:
            values["box"] = list(self.box)
        return values


@dataclass(frozen=True)
class ClickPrompts:
    """The objects picked on one frame.

    Attributes:
        frame: Index of the frame the clicks and boxes are on.
        objects: The objects, ids :data:`FIRST_ID` onwards in this order.
    """

    frame: int
    objects: tuple[ObjectPrompt, ...]

    def by_id(self) -> dict[int, ObjectPrompt]:
        """Each object under its id."""
        return {FIRST_ID + i: prompt for i, prompt in enumerate(self.objects)}

    def to_json(self) -> dict[str, Any]:
        """The prompts as JSON values."""
        return {"frame": self.frame, "objects": [o.to_json() for o in self.objects]}


def parse_prompts(value: str | Mapping[str, Any]) -> ClickPrompts:
    """Read and check the prompts' JSON.

    Args:
        value: The JSON text, or the object it decodes to.

    Returns:
        The prompts.

    Raises:
        ConfigError: Not JSON, or not of the documented shape, or over a limit
            (:data:`pipeline.io.json_text.MAX_JSON_CHARS`, :data:`MAX_OBJECTS`, :data:`MAX_CLICKS`);
            the message says what is wrong and where.
    """
    if isinstance(value, str):
        value = json_text.decode(value, "The prompts", error=ConfigError)
    if not isinstance(value, Mapping):
        raise ConfigError('The prompts must be a JSON object: {"frame": 0, "objects": [...]}.')
    unknown = sorted(set(value) - {"frame", "objects"})
    if unknown:
        raise ConfigError(f"The prompts have unknown keys {unknown}; use frame and objects.")
    frame = value.get("frame", 0)
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise ConfigError(
            f"The prompts' frame must be a whole number from 0, not {quoted(frame)}."
        )
    objects = value.get("objects")
    if not isinstance(objects, list) or not objects:
        raise ConfigError("The prompts need a non-empty list of objects.")
    if len(objects) > MAX_OBJECTS:
        raise ConfigError(f"The prompts pick {len(objects)} objects; the limit is {MAX_OBJECTS}.")
    return ClickPrompts(frame, tuple(_object(i, o) for i, o in enumerate(objects)))


def _object(index: int, value: Any) -> ObjectPrompt:
    where = f"Object {index + 1} of the prompts"
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a JSON object with points and/or a box.")
    unknown = sorted(set(value) - set(OBJECT_KEYS))
    if unknown:
        raise ConfigError(f"{where} has unknown keys {quoted(unknown)}; use points and box.")
    clicks = value.get("points") or ()
    if not isinstance(clicks, list | tuple):
        raise ConfigError(f"{where}: its points must be a list of [x, y, label].")
    if len(clicks) > MAX_CLICKS:
        raise ConfigError(f"{where} has {len(clicks)} clicks; the limit is {MAX_CLICKS}.")
    points = tuple(_point(where, i, p) for i, p in enumerate(clicks))
    box = _box(where, value["box"]) if value.get("box") is not None else None
    if box is None and not any(label == POSITIVE for _, _, label in points):
        raise ConfigError(f"{where} needs a box or at least one positive click (label 1).")
    return ObjectPrompt(points, box)


def _numbers(where: str, value: Any, count: int) -> list[float]:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != count
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    ):
        raise ConfigError(f"{where} must be {count} numbers, not {quoted(value)}.")
    return [float(v) for v in value]


def _point(where: str, index: int, value: Any) -> tuple[float, float, int]:
    x, y, label = _numbers(f"{where}: click {index + 1}, [x, y, label],", value, 3)
    if label not in (POSITIVE, NEGATIVE):
        raise ConfigError(
            f"{where}: click {index + 1} has label {label:g}; use 1 (on the object) "
            "or 0 (not on it)."
        )
    if x < 0 or y < 0:
        raise ConfigError(f"{where}: click {index + 1} is outside the frame ({x:g}, {y:g}).")
    return x, y, int(label)


def _box(where: str, value: Any) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = _numbers(f"{where}: its box, [x1, y1, x2, y2],", value, 4)
    if x1 < 0 or y1 < 0 or x2 <= x1 or y2 <= y1:
        raise ConfigError(
            f"{where}: its box {quoted(value)} must have 0 <= x1 < x2 and 0 <= y1 < y2 "
            "(frame pixels)."
        )
    return x1, y1, x2, y2


def check_inside(prompts: ClickPrompts, width: int, height: int, frames: int | None) -> None:
    """Check the prompts against the video: the frame exists, clicks and boxes lie in it.

    Args:
        prompts: The prompts.
        width: Frame width.
        height: Frame height.
        frames: Frames in the video, when known.

    Raises:
        ConfigError: Something lies outside the video.
    """
    if frames is not None and prompts.frame >= frames:
        raise ConfigError(
            f"The prompts are on frame {prompts.frame}, but the video has {frames} frames."
        )
    for object_id, prompt in prompts.by_id().items():
        for x, y, _ in prompt.points:
            if x >= width or y >= height:
                raise ConfigError(
                    f"Object {object_id} of the prompts: the click ({x:g}, {y:g}) is outside "
                    f"the {width}x{height} frame."
                )
        if prompt.box is not None and (prompt.box[0] >= width or prompt.box[1] >= height):
            raise ConfigError(
                f"Object {object_id} of the prompts: the box {list(prompt.box)} is outside "
                f"the {width}x{height} frame."
            )


def check_clickable(session: object, segmenter: str) -> None:
    """Check that a segmenter's session takes clicks and boxes.

    Raises:
        ConfigError: It does not (it can only be prompted by a detector).
    """
    if not isinstance(session, ClickableSession):
        raise ConfigError(
            f"The segmenter {segmenter} cannot follow objects picked by hand; "
            "choose a SAM 2 or EdgeTAM segmenter."
        )


def add_click_prompts(session: ClickableSession, frame: int, prompts: ClickPrompts) -> None:
    """Prompt a session with every object picked by hand, on its window index ``frame``."""
    for object_id, prompt in prompts.by_id().items():
        points = np.array([(x, y) for x, y, _ in prompt.points], dtype=np.float32).reshape(-1, 2)
        labels = np.array([label for _, _, label in prompt.points], dtype=np.int64)
        box = None if prompt.box is None else np.array(prompt.box, dtype=np.float32)
        session.add_clicks(frame, object_id, points, labels, box)
