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
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


#: Longest text a number field is read from (more is no number a run takes).
MAX_NUMBER_CHARS = 32


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

    def task_and_config(
        self, *, limits: Mapping[str, float | int | None], max_query_chars: int | None = None
    ) -> tuple[str, RunConfig]:
        """The task the form asks for and its config.

        Args:
            limits: The video's limits, as config fields (``max_duration_s``...).
            max_query_chars: Longer ``queries`` are refused (None: no limit).

        Raises:
            ApiError: 422 for a bad mode, number or flag.
            ConfigError, models.ModelError: A value the config refuses (the
                caller answers 422 with its message).
        """
        mode = (self.mode or "object_detection").strip().lower()
        if mode not in MODES:
            raise ApiError(
                422, f"Unknown mode {quoted(self.mode)}. Choose one of {', '.join(MODES)}."
            )
        task = MODES[mode]
        if max_query_chars is not None and len(self.queries or "") > max_query_chars:
            raise ApiError(
                422, f"queries is {len(self.queries or '')} characters long; the limit is "
                f"{max_query_chars}.",
            )  # fmt: skip
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
        prompts = (self.prompts or "").strip() or None
        if task != "segmentation" and prompts:
            raise ApiError(422, "Prompts (objects picked by hand) are for segmentation only.")
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
