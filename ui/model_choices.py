"""What the model dropdowns offer and say: labels, licences, and whether the weights can be had.

Everything here is read from the model registry (each model's registration
carries its label, sizes, licence and where its weights come from), so adding
a model needs no change in the UI. Whether weights can be had is checked
without loading the model (:func:`models.weights_status`): a local file or
setting, a library cache, or a reachable download host.

Example:
    >>> ("YOLOX-Nano", "yolox_nano") in model_choices("detector")  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import models

#: Shown after a model's label in a dropdown when its weights cannot be had here.
UNAVAILABLE_MARK = " (weights not available here)"


def model_choices(kind: str, names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """``(label, name)`` pairs for a dropdown; test-only models are left out by default.

    A model whose default weights cannot be had here (no network, nothing
    local) stays offered, marked, so that choosing it gives the clear error.
    """
    names = models.available(kind) if names is None else names
    choices = []
    for name in names:
        label = models.spec(kind, name).label
        if not models.weights_status(kind, name).available:
            label += UNAVAILABLE_MARK
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
    note = f"{spec.description} Licence: {license}."
    if spec.license_summary != license:
        note += f" (By size: {spec.license_summary}.)"
    status = models.weights_status(kind, name, size)
    if not status.available:
        note += f"\n\n**Weights not available here.** {status.message}"
    return note
