"""From what a user (or API client) sent to one ``DetectionConfig``.

Validation happens here, before any GPU time is requested, and every mistake
raises a ``gr.Error`` that says what to change.

Example:
    >>> config = build_config("yolox_nano", None, "person, car", 0.3)
    >>> config.detector, config.queries, config.confidence
    ('yolox_nano', ('person', 'car'), 0.3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gradio as gr

import models
from models.detectors.base import normalize_queries
from pipeline.configs import DEFAULT_MAX_DURATION_S, DetectionConfig
from ui.errors import as_gr_errors, user_error

DEFAULT_DETECTOR = "yolo11"
DEFAULT_CONFIDENCE = 0.25
ONE_SIZE_INFO = "This model comes in one size."
#: Size dropdown value meaning "the model's default size".
DEFAULT_SIZE = ""


@dataclass(frozen=True)
class DetectorChoice:
    """What the detector-dependent widgets show for one detector.

    Attributes:
        name: Registry name.
        sizes: Sizes offered (empty: the size dropdown is disabled).
        default_size: The size preselected.
        queries_label: Label of the queries box.
        queries_placeholder: Example text in the empty queries box.
        info: One line under the detector dropdown.
    """

    name: str
    sizes: tuple[str, ...]
    default_size: str | None
    queries_label: str
    queries_placeholder: str
    info: str

    @property
    def size_choices(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs of the size dropdown; ``""`` is the model's default.

        ``""`` is also the dropdown's initial value, so that an API client that
        leaves the size out gets each model's default size, whichever model it names.
        """
        default = f"Default ({self.default_size})" if self.default_size else "Default"
        return [(default, DEFAULT_SIZE)] + [(size, size) for size in self.sizes]


def detector_choices() -> list[tuple[str, str]]:
    """``(label, name)`` pairs for the detector dropdown; test-only models are left out."""
    return [(models.spec("detector", name).label, name) for name in models.available("detector")]


def default_detector() -> str | None:
    """The detector preselected in the UI: YOLO11 when registered, else the first one."""
    names = models.available("detector")
    if DEFAULT_DETECTOR in names:
        return DEFAULT_DETECTOR
    return names[0] if names else None


def describe(detector: str | None) -> DetectorChoice:
    """Sizes and query hints for ``detector`` (neutral hints when unknown or empty).

    Args:
        detector: Registry name, or None.

    Returns:
        What the size dropdown and the queries box should show.
    """
    try:
        spec = models.spec("detector", detector) if detector else None
    except models.UnknownModelError:
        spec = None
    if spec is not None and spec.open_vocabulary:
        return DetectorChoice(
            name=spec.name,
            sizes=spec.sizes,
            default_size=spec.default_size,
            queries_label="What to find (free text, required)",
            queries_placeholder="person, red car, dog",
            info=spec.description,
        )
    return DetectorChoice(
        name=spec.name if spec else "",
        sizes=spec.sizes if spec else (),
        default_size=spec.default_size if spec else None,
        queries_label="Classes to keep (comma-separated; empty keeps all)",
        queries_placeholder="person, car",
        info=spec.description if spec else "",
    )


def build_config(
    detector: str | None,
    size: str | None,
    queries: str | None,
    confidence: float | None,
    *,
    max_duration_s: float | None = DEFAULT_MAX_DURATION_S,
    devices: tuple[str, ...] = (),
    object_depth: bool = False,
) -> DetectionConfig:
    """Check a request and turn it into the run's config.

    Query names are checked against the model later, when it is loaded
    (the model knows its vocabulary); everything else is checked here.

    Args:
        detector: Registry name of the detector.
        size: Model size; None or ``""`` for the model's default. Ignored for
            models that come in one size (the UI may still send the last value).
        queries: Comma-separated class names or text prompts.
        confidence: Minimum detection score in [0, 1]; None for the default.
        max_duration_s: Longer videos are refused.
        devices: Devices to run on (empty: all visible GPUs, else the CPU).
        object_depth: Also measure each tracked object's relative depth.

    Returns:
        The frozen config of the run.

    Raises:
        gr.Error: Unknown detector or size, or a confidence outside [0, 1].
    """
    detector = (detector or "").strip()
    if not detector:
        raise user_error("Choose a detector.")
    with as_gr_errors():
        spec = models.spec("detector", detector)
    size = (size or "").strip() or None
    if not spec.sizes:
        size = None
    elif size is not None and size not in spec.sizes:
        raise user_error(f"{spec.label} has no size {size!r}. Available: {', '.join(spec.sizes)}.")
    if confidence is None:
        confidence = DEFAULT_CONFIDENCE
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        raise user_error(f"Confidence must be a number, not {confidence!r}.") from None
    if not math.isfinite(confidence) or not 0.0 <= confidence <= 1.0:
        raise user_error(f"Confidence must be between 0 and 1, not {confidence}.")
    return DetectionConfig(
        detector=detector,
        size=size,
        queries=normalize_queries(queries),
        confidence=confidence,
        devices=devices,
        max_duration_s=max_duration_s,
        depth=bool(object_depth),
    )


def size_update(detector: str | None) -> gr.Dropdown:
    """The size dropdown for ``detector``: its sizes, or disabled when it has one size."""
    choice = describe(detector)
    return gr.Dropdown(
        choices=choice.size_choices,
        value=DEFAULT_SIZE,
        interactive=bool(choice.sizes),
        info=None if choice.sizes else ONE_SIZE_INFO,
    )


def queries_update(detector: str | None) -> gr.Textbox:
    """The queries box for ``detector``: closed-vocabulary or free-text hints."""
    choice = describe(detector)
    return gr.Textbox(label=choice.queries_label, placeholder=choice.queries_placeholder)
