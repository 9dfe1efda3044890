"""The original service's form fields, read into a task and its config.

Every field is text in a multipart form; each is checked here or by the
task's config, and a bad one is a 422 that names the valid values.

Example:
    >>> form = RunForm(mode="object_detection", detector="yolox_nano", queries="person")
    >>> task, config = form.task_and_config(limits={"max_duration_s": 600})
    >>> task, config.detector, config.queries
    ('detection', 'yolox_nano', ('person',))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import models
from models.detectors.base import normalize_queries
from pipeline.configs import DepthConfig, DetectionConfig, RunConfig, SegmentationConfig
from pipeline.stages.counting import from_json
from ui.rest.errors import ApiError, quoted

#: The form's ``mode`` values and the task each runs.
MODES = {"object_detection": "detection", "segmentation": "segmentation", "depth": "depth"}
#: The form fields that hide objects (detection and segmentation).
PRIVACY_FIELDS = ("privacy", "privacy_classes")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


#: Longest text a number field is read from (more is no number a run takes).
MAX_NUMBER_CHARS = 32
#: Longest name (a mode, model, tracker, runtime, style): none is near it, and a
#: message that names a wrong one quotes it whole.
MAX_NAME_CHARS = 40
#: The fields that hold one name.
NAME_FIELDS = ("mode", "detector", "segmenter", "tracker", "runtime", "detect_every", "privacy")
#: Longest list of numbers (``speed_area``: eight of them; ``speed_area_size``: two).
MAX_POINTS_CHARS = 200


def number(name: str, raw: str | None, kind: type) -> float | int | None:
    """A form field's number (None when empty).

    Raises:
        ApiError: 422 for anything but a finite number (a whole one for ``int``).
    """
    if raw is None or not raw.strip():
        return None
    try:
        if len(raw) > MAX_NUMBER_CHARS:
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        raise ApiError(422, f"{name} must be a number, not {quoted(raw)}.") from None
    if not math.isfinite(value):
        raise ApiError(422, f"{name} must be a finite number, not {quoted(raw)}.")
    if kind is int:
        if not value.is_integer():
            raise ApiError(422, f"{name} must be a whole number, not {quoted(raw)}.")
        return int(value)
    return value


def _check_length(name: str, raw: str | None, most: int | None) -> None:
    """Refuse ``raw`` when longer than ``most`` characters (None: no limit); never echo it.

    Raises:
        ApiError: 422.
    """
    if most is not None and raw is not None and len(raw) > most:
        raise ApiError(422, f"{name} is {len(raw)} characters long; the limit is {most}.")


def _flag(name: str, raw: str | None) -> bool:
    text = (raw or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ApiError(422, f"{name} must be true or false, not {quoted(raw)}.")


@dataclass(frozen=True)
class RunForm:
    """The form fields of ``POST /detect`` and ``POST /detect/async`` (all optional text).

    Attributes:
        mode: ``object_detection`` (default), ``segmentation`` or ``depth``.
        queries: Comma-separated class names or free text, as for the tabs.
        detector: The detector (object_detection), or the one prompting SAM 2
            (segmentation) instead of the segmenter's own.
        segmenter: The segmenter (segmentation), e.g. ``GSAM2-S``.
        step: Frames between keyframes (segmentation).
        confidence: Minimum detection score, 0 to 1.
        depth: Also measure each object's depth (object_detection): true or false.
        counting: Counting lines and zones (object_detection), as JSON in the
            video's pixels: ``{"lines": [{"name": "door", "points": [[x1, y1],
            [x2, y2]]}], "zones": [{"name": "desk", "points": [[x1, y1], ...]}]}``.
        tracker: The tracker (object_detection): cbiou (default), bytetrack,
            sort, ocsort, botsort or mcbyte.
        runtime: What runs the detector (object_detection): auto (default) or
            one the detector offers, e.g. onnxruntime-int8 (docs/cpu-runtimes.md).
        prompts: Objects picked by hand (segmentation; no detector then), as
            JSON in the video's pixels: ``{"frame": 0, "objects": [{"points":
            [[x, y, 1], [x, y, 0]], "box": [x1, y1, x2, y2]}]}``.
        paths: Draw each track's path (object_detection): true or false.
        heatmap: Write the heat map image (object_detection): true or false.
        heatmap_overlay: Draw the heat map over the video: true or false.
        privacy: Hide objects (object_detection: boxes; segmentation: masks):
            ``blur`` or ``pixelate`` (empty: off).
        privacy_classes: The classes to hide, comma-separated (empty: every object).
        slicing: Detect on overlapping tiles (small objects): true or false.
        slice_size: The tiles' side in pixels.
        speed: Measure each track's speed (px/s): true or false.
        speed_area: Four corners of a rectangle on the ground,
            ``x1,y1,x2,y2,x3,y3,x4,y4`` in the video's pixels (turns speed on).
        speed_area_size: The rectangle's size ``W,L`` in metres: speeds in km/h too.
        detect_every: Detect on every K-th frame only, the tracker predicting
            the frames between (object_detection): a whole number >= 1
            (default 1), or ``auto`` (every frame of a file; docs/cpu-runtimes.md).
    """

    mode: str | None = None
    queries: str | None = None
    detector: str | None = None
    segmenter: str | None = None
    step: str | None = None
    confidence: str | None = None
    depth: str | None = None
    counting: str | None = None
    tracker: str | None = None
    runtime: str | None = None
    prompts: str | None = None
    paths: str | None = None
    heatmap: str | None = None
    heatmap_overlay: str | None = None
    privacy: str | None = None
    privacy_classes: str | None = None
    slicing: str | None = None
    slice_size: str | None = None
    speed: str | None = None
    speed_area: str | None = None
    speed_area_size: str | None = None
    detect_every: str | None = None

    def after_counting(self) -> dict[str, object]:
        """The paths, heat map, privacy, slicing and speed fields as config fields.

        Raises:
            ApiError: 422 for a bad flag or number.
        """
        settings: dict[str, object] = {
            name: _flag(name, getattr(self, name))
            for name in ("paths", "heatmap", "heatmap_overlay", "slicing", "speed")
        }
        slice_size = number("slice_size", self.slice_size, int)
        if slice_size is not None:
            settings["slice_size"] = slice_size
        texts = ("privacy", "privacy_classes", "speed_area", "speed_area_size")
        settings.update({name: getattr(self, name) for name in texts if getattr(self, name)})
        return settings

    def _check_lengths(self, max_query_chars: int | None) -> None:
        """Refuse a text field longer than any value it takes, before it is read.

        The messages about a wrong value quote it whole (a model's, a class's
        name): its length is checked first, so no long value is ever echoed.

        Raises:
            ApiError: 422, naming the field and its limit (not its value).
        """
        for name in NAME_FIELDS:
            _check_length(name, getattr(self, name), MAX_NAME_CHARS)
        for name in ("speed_area", "speed_area_size"):
            _check_length(name, getattr(self, name), MAX_POINTS_CHARS)
        for name in ("queries", "privacy_classes"):  # class names or a text prompt
            _check_length(name, getattr(self, name), max_query_chars)

    def task_and_config(
        self, *, limits: Mapping[str, float | int | None], max_query_chars: int | None = None
    ) -> tuple[str, RunConfig]:
        """The task the form asks for and its config.

        Args:
            limits: The video's limits, as config fields (``max_duration_s``...).
            max_query_chars: Longer ``queries`` and ``privacy_classes`` are
                refused (None: no limit).

        Raises:
            ApiError: 422 for a bad mode, number or flag.
            ConfigError, models.ModelError: A value the config refuses (the
                caller answers 422 with its message).
        """
        _check_length("mode", self.mode, MAX_NAME_CHARS)
        mode = (self.mode or "object_detection").strip().lower()
        if mode not in MODES:
            raise ApiError(
                422, f"Unknown mode {quoted(self.mode)}. Choose one of {', '.join(MODES)}."
            )
        task = MODES[mode]
        self._check_lengths(max_query_chars)
        settings: dict[str, object] = dict(limits)
        confidence = number("confidence", self.confidence, float)
        if confidence is not None:
            settings["confidence"] = confidence
        if task != "detection" and (self.counting or "").strip():
            raise ApiError(422, "Counting lines and zones are for object_detection only.")
        tracker = (self.tracker or "").strip()
        if task != "detection" and tracker:
            raise ApiError(422, "The tracker is chosen for object_detection only.")
        runtime = (self.runtime or "").strip()
        if task != "detection" and runtime:
            raise ApiError(422, "The runtime is chosen for object_detection only.")
        detect_every = (self.detect_every or "").strip()
        if task != "detection" and detect_every:
            raise ApiError(422, "The detection stride is chosen for object_detection only.")
        prompts = (self.prompts or "").strip() or None
        if task != "segmentation" and prompts:
            raise ApiError(422, "Prompts (objects picked by hand) are for segmentation only.")
        after_counting = self.after_counting()
        privacy = {
            name: after_counting.pop(name) for name in PRIVACY_FIELDS if name in after_counting
        }
        if task != "detection" and any(after_counting.values()):
            raise ApiError(
                422, "Paths, heat maps, slicing and speed are for object_detection only."
            )
        if task == "depth" and privacy:
            raise ApiError(422, "Privacy is for object_detection and segmentation.")
        if task == "depth":
            return task, DepthConfig(**limits)
        queries = normalize_queries(self.queries)
        detector = (self.detector or "").strip() or None
        if task == "detection":
            lines, zones = from_json(self.counting)
            return task, DetectionConfig(
                **settings,
                queries=queries,
                depth=_flag("depth", self.depth),
                lines=lines,
                zones=zones,
                **({"detector": detector} if detector else {}),
                **({"tracker": tracker} if tracker else {}),
                **({"runtime": runtime} if runtime else {}),
                **({"detect_every": detect_every} if detect_every else {}),
                **after_counting,
                **privacy,
            )
        step = number("step", self.step, int)
        segmenter = (self.segmenter or "").strip() or None
        config = SegmentationConfig(
            **settings,
            queries=queries,
            detector=detector,
            **({"step": step} if step is not None else {}),
            **({"segmenter": segmenter} if segmenter else {}),
            prompts=prompts,
            **privacy,
        )
        if (
            models.spec("segmenter", config.segmenter).open_vocabulary
            and not queries
            and detector is None
            and prompts is None
        ):
            raise ApiError(
                422,
                f"{config.segmenter} finds what you describe: send queries, e.g. 'person, dog'.",
            )
        return task, config
