"""What the model dropdowns offer and say: labels, licences, and whether the weights can be had.

Everything here is read from the model registry (each model's registration
carries its label, sizes, licence and where its weights come from), so adding
a model needs no change in the UI. Whether weights can be had is checked
without loading the model (:func:`models.weights_status`): a local file or
setting, a library cache, or a reachable download host.

Example:
    >>> ("YOLOX-Nano", "yolox_nano") in model_choices("detector")
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import models
from models.availability import PACKAGE, at_hand, location_status
from models.errors import MissingPackageError, MissingWeightsError
from models.licenses import NON_COMMERCIAL_NOTE, non_commercial
from models.requirements import missing_package_error
from models.weights import NO_NETWORK
from models.weights_sources import WeightsLocation

#: Shown after a model's label in a dropdown when its weights cannot be had here.
UNAVAILABLE_MARK = " (weights not available here)"
#: How a note on missing weights opens.
WEIGHTS_MISSING = "Weights not available here:"
#: Shown instead when a Python package the model needs is not installed (e.g. ultralytics).
NOT_INSTALLED_MARK = " (not installed here)"
#: How a note on a missing package opens.
NOT_INSTALLED = "Not installed here:"


def model_choices(kind: str, names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(label, name)`` pairs for a dropdown; test-only models are left out by default.

    A model whose default weights cannot be had here (no network, nothing
    local), or whose package is not installed, stays offered, marked, so that
    choosing it gives the clear error.
    """
    names = models.available(kind) if names is None else names
    choices = []
    for name in names:
        label = models.spec(kind, name).label
        status = models.weights_status(kind, name)
        if not status.available:
            label += NOT_INSTALLED_MARK if status.source == PACKAGE else UNAVAILABLE_MARK
        choices.append((label, name))
    return choices


def model_note(kind: str, name: str | None, size: str | None = None) -> str:
    """One Markdown paragraph about a model: what it is, its licence, and its weights.

    Args:
        kind: ``"detector"``, ``"depth"`` or ``"segmenter"``.
        name: Registry name (None or unknown: an empty note).
        size: The chosen size (None: the model's default; unknown: an empty note).

    Returns:
        The description and licence, and, when the weights cannot be had
        here, a warning that says why and how to supply them.
    """
    if not name:
        return ""
    try:
        spec = models.spec(kind, name)
        license = spec.license_for(size)
    except models.UnknownModelError:  # an unknown name or size: the run will say so
        return ""
    note = f"{spec.description} Licence: {_with_note(license)}."
    if spec.license_summary != license:
        note += f" (By size: {spec.license_summary}.)"
    finder = _finder(spec)
    if finder is not None:
        note += f" Its detector, {finder.label}: {_with_note(finder.license_for(None))}."
    missing = weights_note(kind, name, size)
    for heading in (WEIGHTS_MISSING, NOT_INSTALLED):
        if missing.startswith(heading):
            note += f"\n\n**{heading}**{missing.removeprefix(heading)}"
    return note


def weights_note(kind: str, name: str, size: str | None = None) -> str:
    """A short note on a model's missing weights: which, why, what to do, what works instead.

    One sentence per point, and each missing checkpoint named once (a
    segmenter's SAM 2 and its prompting detector together), so the note
    stays short under a dropdown; the run's error says the same at greater
    length. Empty when the weights can be had; else it opens with
    :data:`WEIGHTS_MISSING`, or :data:`NOT_INSTALLED` when a package the model
    (or its prompting detector) needs is missing. Plain text (it also goes in
    an ``info=`` line).

    Args:
        kind: ``"detector"``, ``"depth"`` or ``"segmenter"``.
        name: Registry name.
        size: The chosen size (None: the default).

    Example:
        >>> weights_note("detector", "yolox_nano")
        ''
    """
    package = _missing_package(kind, name)
    if package is not None:
        return f"{NOT_INSTALLED} {package.with_alternatives(at_hand(kind)).summary}"
    missing = _missing_weights(kind, name, size)
    if not missing:
        return ""
    labels = " and ".join(location.label for location, _ in missing)
    causes = {cause for _, cause in missing}
    why = f" ({causes.pop()})" if len(causes) == 1 else ""
    variables = " and ".join(location.env_var for location, _ in missing)
    # Worded as the run's error (models.errors.MissingWeightsError), without its how-to at length.
    note = MissingWeightsError(
        f"{WEIGHTS_MISSING} {labels}{why}.",
        remedy=f"set {variables} to local weights",
        alternatives=at_hand(kind),
    )
    return note.summary


def _missing_package(kind: str, name: str) -> MissingPackageError | None:
    """Why a model, or the detector that prompts it, cannot load for want of a package."""
    spec = models.spec(kind, name)
    prompter = spec.extra.get("detector") if kind == "segmenter" else None
    own = missing_package_error(spec)
    return own or (missing_package_error(models.spec("detector", prompter)) if prompter else None)


def _missing_weights(kind: str, name: str, size: str | None) -> list[tuple[WeightsLocation, str]]:
    """The checkpoints a model needs that cannot be had here, each with why in a few words."""
    spec = models.spec(kind, name)
    missing = []
    if spec.locate is not None:
        resolved = spec.resolve_size(size)
        location = spec.locate(weights=None, **({"size": resolved} if resolved else {}))
        status = location_status(location)
        if not status.available:
            cause = NO_NETWORK if location.remote is not None else "not found"
            missing.append((location, cause))
    prompter = spec.extra.get("detector") if kind == "segmenter" else None
    if prompter:
        missing.extend(_missing_weights("detector", prompter, None))
    return missing


def licences_info(kind: str, names: Sequence[str] | None = None) -> str:
    """One line naming the licence of each model a dropdown offers, for its ``info=``.

    A model that runs another model (a segmenter's detector) names that
    model's licence too, where it differs.

    Example:
        >>> licences_info("detector", ["yolo11", "yolox_nano"])
        'Licences: YOLO11: AGPL-3.0 · YOLOX-Nano: Apache-2.0'
    """
    names = models.available(kind) if names is None else names
    each = (f"{_short_label(kind, name)}: {licence_text(kind, name)}" for name in names)
    return "Licences: " + " · ".join(each)


def licence_text(kind: str, name: str) -> str:
    """The licence of a model and, where it differs, of the model it runs.

    Example:
        >>> licence_text("segmenter", "YSAM2-S")
        'Apache-2.0 + AGPL-3.0 (YOLO11)'
    """
    spec = models.spec(kind, name)
    text = _with_note(spec.license_summary)
    finder = _finder(spec)
    if finder is not None and finder.license_summary != spec.license_summary:
        text += f" + {_with_note(finder.license_summary)} ({finder.label})"
    return text


def _with_note(license: str) -> str:
    return f"{license}, {NON_COMMERCIAL_NOTE}" if non_commercial(license) else license


def _finder(spec: models.ModelSpec) -> models.ModelSpec | None:
    """The detector a segmenter runs on its keyframes (None: none)."""
    name = spec.extra.get("detector")
    return models.spec("detector", name) if name else None


def _short_label(kind: str, name: str) -> str:
    # Segmenters are offered by name (GSAM2-S...); the others by label.
    return name if kind == "segmenter" else models.spec(kind, name).label
