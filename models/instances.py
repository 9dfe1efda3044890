"""Model instances: a fresh one per call, or one shared per model, options and device.

Built on the registry (:mod:`models.registry`, what exists) and the weights
check (:mod:`models.availability`, what can be loaded here), so that a model
that cannot get its weights says which others can.

Example:
    >>> options = {"device": "cpu", "runtime": "onnxruntime"}
    >>> create("detector", "yolox_nano", **options) is create("detector", "yolox_nano", **options)
    False
    >>> get_cached("detector", "yolox_nano", **options) is get_cached(
    ...     "detector", "yolox_nano", **options)
    True
"""

from __future__ import annotations

import threading
from typing import Any

from models.availability import with_alternatives
from models.errors import MissingWeightsError
from models.registry import spec
from models.requirements import check_requirements

_CACHE: dict[tuple[Any, ...], Any] = {}
_CACHE_LOCK = threading.Lock()


def create(kind: str, name: str, *, device: str = "cpu", **options: Any) -> Any:
    """Build a fresh model instance on ``device``.

    Args:
        kind: Model family.
        name: Registered name.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... Always explicit.
        **options: Model-specific options such as ``size`` or ``weights``.

    Returns:
        A new model instance.

    Raises:
        UnknownModelError: No such model or size.
        MissingWeightsError: The weights are neither local nor downloadable, or
            (:class:`~models.errors.MissingPackageError`) a package the model
            needs is not installed; the message also names the models of this
            kind whose weights are at hand.
    """
    model_spec = spec(kind, name)
    size = model_spec.resolve_size(options.pop("size", None))
    if size is not None:
        options["size"] = size
    try:
        check_requirements(model_spec)
        return model_spec.factory(device=device, **options)
    except MissingWeightsError as exc:
        raise with_alternatives(kind, exc) from exc


def get_cached(kind: str, name: str, *, device: str = "cpu", **options: Any) -> Any:
    """Return one shared instance per (kind, name, device, options).

    The UI uses this so that repeated runs reuse loaded weights; the
    multi-device pool uses :func:`create` to get an instance per device.

    Args:
        kind: Model family.
        name: Registered name.
        device: Target device.
        **options: Model-specific options.

    Returns:
        The cached (or newly built) model instance.
    """
    model_spec = spec(kind, name)
    size = model_spec.resolve_size(options.pop("size", None))
    if size is not None:
        options["size"] = size
    key = (kind, name, device, tuple(sorted((k, str(v)) for k, v in options.items())))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = create(kind, name, device=device, **options)
        return _CACHE[key]


def clear_cache() -> None:
    """Drop every cached instance (tests, or freeing GPU memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
