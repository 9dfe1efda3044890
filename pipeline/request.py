"""A request's raw fields made into its checked config, the same way wherever they come from.

A run is asked for with raw fields: a tab's component values, a REST form's
text, the JSON body of a ``gradio_client`` or MCP call, the command line's
options. :func:`config_from_fields` reads each one once, by the type of the
config field it sets (a whole number, a number, true or false, a name), and
leaves every rule to the config (:mod:`pipeline.configs`): which values are
allowed, which fields go together. An empty field takes the config's default,
so a client that leaves one out and a page that sends ``""`` get the same run.

Example:
    >>> config = config_from_fields(
    ...     DetectionConfig,
    ...     {"detector": "yolox_nano", "size": "", "confidence": "0.4", "depth": "no"},
    ...     max_duration_s=None,
    ... )
    >>> config.detector, config.size, config.confidence, config.depth, config.max_duration_s
    ('yolox_nano', None, 0.4, False, None)
    >>> try:
    ...     config_from_fields(SegmentationConfig, {"step": 2.5})
    ... except ConfigError as error:
    ...     print(error)
    step must be a whole number, not 2.5.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from pipeline.configs import DetectionConfig, RunConfig, SegmentationConfig  # noqa: F401 - doctest
from pipeline.errors import ConfigError, quoted
from pipeline.stages.counting import from_json

ConfigT = TypeVar("ConfigT", bound=RunConfig)

#: Text read as true, and as false, in a true-or-false field.
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")
#: Longest text a number is read from (more is no number a run takes).
MAX_NUMBER_CHARS = 32


def is_empty(raw: Any) -> bool:
    """Whether a raw field says nothing: None, or text of blanks only."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def number(name: str, raw: Any, kind: type = float) -> float | int | None:
    """A raw field's number: text or a number, whole for ``int`` (None when empty).

    Example:
        >>> number("step", "7", int), number("step", 7.0, int), number("confidence", " ")
        (7, 7, None)

    Raises:
        ConfigError: Anything but a number (a whole one for ``int``; text
            must spell a finite one), naming the field and quoting the value.
    """
    if is_empty(raw):
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ConfigError(f"{name} must be a number, not {quoted(raw)}.")
    try:
        if isinstance(raw, str) and len(raw) > MAX_NUMBER_CHARS:
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {quoted(raw)}.") from None
    if isinstance(raw, str) and not math.isfinite(value):
        # Text that spells no number a run takes; a number already is one, which
        # the config's own range check names (e.g. a confidence of nan).
        raise ConfigError(f"{name} must be a finite number, not {quoted(raw)}.")
    if kind is int:
        if not value.is_integer():
            raise ConfigError(f"{name} must be a whole number, not {quoted(raw)}.")
        return int(value)
    return value


def flag(name: str, raw: Any) -> bool:
    """A raw true-or-false field: a bool, or text such as ``yes``/``no`` (empty: false).

    Raises:
        ConfigError: Text that says neither.
    """
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {quoted(raw)}.")


def base_type(annotation: Any) -> Any:
    """The type a field's value is read as: ``int`` for ``int | None``, ``tuple`` for tuples.

    A union of two kinds (``int | str``) is read as text; the config reads it further.

    Example:
        >>> base_type(int | None), base_type(tuple[str, ...]), base_type(int | str)
        (<class 'int'>, <class 'tuple'>, <class 'str'>)
    """
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else str
    return typing.get_origin(annotation) or annotation


def field_value(item: dataclasses.Field, kind: Any, raw: Any) -> Any:
    """One raw field, not empty, as the value of the config field ``item`` (of type ``kind``).

    The field's own ``parse`` (:func:`pipeline.configs.option`) reads it when
    it has one; else a number, a flag or a name is read by its type, and
    anything else goes to the config as it is (the config normalises it).

    Raises:
        ConfigError: A value that is not of the field's type.
    """
    parse = item.metadata.get("parse")
    if parse is not None:
        return parse(raw)
    if kind is bool:
        return flag(item.name, raw)
    if kind in (int, float):
        return number(item.name, raw, kind)
    if kind is str and isinstance(raw, str):
        return raw.strip()
    return raw


def config_from_fields(
    config_type: type[ConfigT],
    raw: Mapping[str, Any],
    /,
    *,
    check_request: bool = True,
    **fixed: Any,
) -> ConfigT:
    """The checked config that raw fields ask for.

    Args:
        config_type: The config class (its type says the kind of run).
        raw: Field values as a client sent them, by config field name; an
            empty one (None, blank text) takes the config's default.
        check_request: Also check what a request must say
            (:meth:`~pipeline.configs.RunConfig.check_request`); off where
            the caller checks it later.
        **fixed: Fields set by the caller rather than the client (the
            deployment's limits, its overrides), passed on as they are.

    Returns:
        The config, checked once: by its own ``__post_init__``, then (with
        ``check_request``) by its :meth:`~pipeline.configs.RunConfig.check_request`.

    Raises:
        ConfigError: A value of the wrong type, or one the config refuses.
        models.ModelError: An unknown model or size.
        TypeError: A name that is no field of ``config_type`` (a caller's mistake).
    """
    hints = typing.get_type_hints(config_type)
    items = {item.name: item for item in dataclasses.fields(config_type) if item.init}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in items:
            raise TypeError(f"{config_type.__name__} has no field {name!r}")
        if not is_empty(value):
            values[name] = field_value(items[name], base_type(hints[name]), value)
    config = config_type(**{**values, **fixed})
    if check_request:
        config.check_request()
    return config


def detection_config(raw: Mapping[str, Any], **fixed: Any) -> DetectionConfig:
    """A detection request's config; its ``counting`` field (JSON) gives the lines and zones.

    What the Detection and Live tabs and the REST form send: the counting lines
    and zones drawn on the page come as one JSON text
    (:func:`pipeline.stages.counting.from_json`) rather than the command line's
    ``--line``/``--zone`` options.

    Args:
        raw: The fields, by config field name, and ``counting``.
        **fixed: Fields set by the caller, as for :func:`config_from_fields`.

    Raises:
        ConfigError, GeometryError, models.ModelError: As for :func:`config_from_fields`.
    """
    fields = dict(raw)
    lines, zones = from_json(fields.pop("counting", None))
    return config_from_fields(DetectionConfig, fields, lines=lines, zones=zones, **fixed)
