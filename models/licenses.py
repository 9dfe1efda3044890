"""The licences of the models a run used, as its summary lists them.

Each loaded model reports its licence in :meth:`models.base.Model.info`; a
run's ``model_info()`` nests those dicts (a segmentation run's segmenter and
detector, a detection run's depth model). :func:`licenses_used` collects them
into one flat list, so every summary says what each model's licence is
without the reader knowing how each kind of run nests its models.

Example:
    >>> licenses_used({"name": "yolo11", "size": "n", "license": "AGPL-3.0",
    ...                "depth": {"name": "depth_anything_v2", "size": "base",
    ...                          "license": "CC-BY-NC-4.0"}})  # doctest: +NORMALIZE_WHITESPACE
    [{'name': 'yolo11', 'size': 'n', 'license': 'AGPL-3.0', 'non_commercial': False},
     {'name': 'depth_anything_v2', 'size': 'base', 'license': 'CC-BY-NC-4.0',
      'non_commercial': True}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Creative Commons' NonCommercial term (CC-BY-NC-4.0, CC-BY-NC-SA-4.0...): no commercial use.
_NON_COMMERCIAL = re.compile(r"\bCC-BY(-[A-Z]+)*-NC\b", re.IGNORECASE)
#: Said of a model whose licence forbids commercial use, wherever its licence is shown.
NON_COMMERCIAL_NOTE = "non-commercial use only"
#: Reported when a model states no licence (a test-only model).
UNSTATED = "not stated"


def non_commercial(license: str) -> bool:
    """Whether ``license`` (an SPDX-style id, or several in one text) forbids commercial use."""
    return bool(_NON_COMMERCIAL.search(license))


def licenses_used(model_info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every model in a run's ``model_info()`` with its licence, each model once, outermost first.

    Args:
        model_info: What :meth:`pipeline.runtime.template.Run.model_info` returns:
            a model's ``info()``, possibly with other models' ``info()`` nested in it.

    Returns:
        ``{"name", "size", "license", "non_commercial"}`` per model.
    """
    found: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            if "name" in value and "license" in value:
                key = (value["name"], value.get("size"))
                if key not in seen:
                    seen.add(key)
                    license = str(value["license"] or UNSTATED)
                    found.append(
                        {
                            "name": value["name"],
                            "size": value.get("size"),
                            "license": license,
                            "non_commercial": non_commercial(license),
                        }
                    )
            for item in value.values():
                visit(item)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)

    visit(model_info)
    return found
