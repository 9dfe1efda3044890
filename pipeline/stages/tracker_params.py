"""Tracker parameter overrides: read from the command line or JSON, checked against a tracker.

Example:
    >>> checked_tracker_params("sort", dict(as_tracker_params(["lost_track_buffer=60"])))
    {'lost_track_buffer': 60}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from pipeline.errors import ConfigError
from pipeline.stages.tracker_registry import TrackerSpec, tracker_spec


def as_tracker_params(values: Any) -> tuple[tuple[str, Any], ...]:
    """Tracker parameter overrides, as the config holds them: sorted ``(name, value)`` pairs.

    Args:
        values: A mapping, ``(name, value)`` pairs, or ``NAME=VALUE`` texts (the command
            line's; a whole number is read as an int, anything else as a float).

    Returns:
        The pairs, sorted by name (values not yet checked: :func:`checked_tracker_params`).

    Raises:
        pipeline.errors.ConfigError: A text without ``=`` or with a value that is not a
            number, or a name given twice.

    Example:
        >>> as_tracker_params(["lost_track_buffer=60", "minimum_iou_threshold=0.2"])
        (('lost_track_buffer', 60), ('minimum_iou_threshold', 0.2))
    """
    if values is None:
        return ()
    items = list(values.items()) if isinstance(values, Mapping) else list(values)
    pairs: dict[str, Any] = {}
    for item in items:
        if isinstance(item, str):
            name, equals, text = item.partition("=")
            name = name.strip()
            if not equals or not name:
                raise ConfigError(f"A tracker parameter is NAME=VALUE, not {item!r}.")
            value = _number(name, text.strip())
        elif isinstance(item, list | tuple) and len(item) == 2:
            name, value = str(item[0]), item[1]
        else:
            raise ConfigError(f"A tracker parameter is NAME=VALUE, not {item!r}.")
        if name in pairs:
            raise ConfigError(f"The tracker parameter {name!r} is given twice.")
        pairs[name] = value
    return tuple(sorted(pairs.items()))


def _number(name: str, text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        message = f"The tracker parameter {name} must be a number, not {text!r}."
        raise ConfigError(message) from None


def checked_tracker_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` if ``name`` is a tracker and each parameter is one of its own, in range.

    Args:
        name: A name from :func:`tracker_names`.
        params: Overrides of its defaults (``TRACKERS[name].defaults`` names them).

    Returns:
        ``params`` as a dict.

    Raises:
        pipeline.errors.ConfigError: Unknown tracker or parameter, or a bad value.
    """
    return _checked_params(tracker_spec(name), params)


def _checked_params(spec: TrackerSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` if every name is one of ``spec``'s and every value has the default's kind.

    Every float parameter of these trackers is a score, an IoU, a weight or a ratio in
    0..1, and every int one a count of frames; the library checks little of either.
    """
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise ConfigError(
            f"{spec.name} has no parameter {', '.join(map(repr, unknown))}. "
            f"Its parameters: {', '.join(spec.defaults)}."
        )
    for name, value in params.items():
        default = spec.defaults[name]
        if isinstance(default, float):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (ok and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ConfigError(f"{spec.name} {name} must be between 0 and 1, not {value!r}.")
        elif isinstance(default, int) and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0
        ):
            raise ConfigError(f"{spec.name} {name} must be a whole number >= 0, not {value!r}.")
    return dict(params)
