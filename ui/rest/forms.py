"""The original service's form fields, read into a task and its config.

Every field is text in a multipart form. A mode takes the fields its config
has (:func:`fields_of`) and refuses any other it is sent; each field is read
as every client's is (:mod:`pipeline.request`) and checked by the task's
config, and a bad one is a 422 that names the valid values.

Example:
    >>> form = RunForm(mode="object_detection", detector="yolox_nano", queries="person")
    >>> task, config = form.task_and_config(limits={"max_duration_s": 600})
    >>> task, config.detector, config.queries
    ('detection', 'yolox_nano', ('person',))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from pipeline.configs import DepthConfig, DetectionConfig, RunConfig, SegmentationConfig
from pipeline.request import config_from_fields, detection_config, flag, is_empty
from ui.rest.errors import ApiError, quoted

#: The form's ``mode`` values and the task each runs.
MODES = {"object_detection": "detection", "segmentation": "segmentation", "depth": "depth"}
#: Each mode's config: the form's fields of the same name set its fields.
CONFIGS: dict[str, type[RunConfig]] = {
    "detection": DetectionConfig,
    "segmentation": SegmentationConfig,
    "depth": DepthConfig,
}
#: Form fields that are no field of their mode's config, by task: detection's
#: counting lines and zones come as one JSON text.
EXTRA_FIELDS = {"detection": frozenset({"counting"})}


def fields_of(task: str) -> frozenset[str]:
    """The form fields ``task`` takes: its config's fields (the one rule of which mode takes what).

    Example:
        >>> "step" in fields_of("segmentation"), "step" in fields_of("detection")
        (True, False)
    """
    own = {item.name for item in fields(CONFIGS[task]) if item.init}
    return frozenset(own | EXTRA_FIELDS.get(task, frozenset()))


def not_for_mode(name: str, mode: str) -> str:
    """What a client sending field ``name`` to ``mode``, whose config lacks it, is told."""
    takers = [other for other, task in MODES.items() if name in fields_of(task)]
    return f"{name} is for {' and '.join(takers)} only, not {mode}."


#: The form's true-or-false fields: one that is false asks for nothing.
FLAGS = ("depth", "paths", "heatmap", "heatmap_overlay", "slicing", "speed")

#: Longest name (a mode, model, tracker, runtime, style): none is near it, and a
#: message that names a wrong one quotes it whole.
MAX_NAME_CHARS = 40
#: The fields that hold one name.
NAME_FIELDS = ("mode", "detector", "segmenter", "tracker", "runtime", "detect_every", "privacy")
#: Longest list of numbers (``speed_area``: eight of them; ``speed_area_size``: two).
MAX_POINTS_CHARS = 200


def _check_length(name: str, raw: str | None, most: int | None) -> None:
    """Refuse ``raw`` when longer than ``most`` characters (None: no limit); never echo it.

    Raises:
        ApiError: 422.
    """
    if most is not None and raw is not None and len(raw) > most:
        raise ApiError(422, f"{name} is {len(raw)} characters long; the limit is {most}.")


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
            ApiError: 422 for a bad mode, a field too long or one the mode does not take.
            ConfigError, models.ModelError: A value that is not of its field's
                type, or one the config refuses (the caller answers 422 with
                its message).
        """
        _check_length("mode", self.mode, MAX_NAME_CHARS)
        mode = (self.mode or "object_detection").strip().lower()
        if mode not in MODES:
            raise ApiError(
                422, f"Unknown mode {quoted(self.mode)}. Choose one of {', '.join(MODES)}."
            )
        task = MODES[mode]
        self._check_lengths(max_query_chars)
        raw = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "mode"}
        for name in FLAGS:  # a bad flag is refused whatever the mode
            raw[name] = flag(name, raw[name])
        asked = {name for name, value in raw.items() if value and not is_empty(value)}
        own = fields_of(task)
        # A field the mode's config lacks would be dropped unread: the client is told instead.
        refused = sorted(asked - own)
        if refused:
            raise ApiError(422, not_for_mode(refused[0], mode))
        taken = {name: value for name, value in raw.items() if name in own}
        if task == "detection":
            return task, detection_config(taken, **limits)
        return task, config_from_fields(CONFIGS[task], taken, **limits)
