"""A registry of model factories, keyed by (kind, name).

Adding a model is adding one module that decorates its factory with
:func:`register`. Factories import their heavy libraries (torch, ultralytics,
transformers) inside the factory body so that importing :mod:`models`
stays fast.

Example:
    >>> from models import available
    >>> "yolox_nano" in available("detector")
    True
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from models.errors import UnknownModelError

if TYPE_CHECKING:
    from models.weights_sources import WeightsLocation

Factory = Callable[..., Any]


@dataclass(frozen=True)
class ModelCard:
    """What a user is told about a model before choosing it, written once per model.

    The dropdowns, ``--help``, the licence lists and the ZeroGPU request sizing
    all read these facts from the registry (:class:`ModelSpec` is a card with
    the registry's own fields added).

    Attributes:
        label: Human-readable name for dropdowns.
        description: One line for the UI and ``--help``.
        license: Licence of the model and its default weights (SPDX-style, e.g.
            ``"Apache-2.0"``), or one per size; read it with :meth:`license_for`.
        sizes: Sizes the model comes in (first is not necessarily default).
        default_size: Size used when none is given.
        open_vocabulary: Whether queries are free text rather than class names.
        throughput_fps: Rough end-to-end frames per second on a ZeroGPU slice
            (decode, model, track, annotate, encode), or one per size; None when
            not measured. Sizes a ZeroGPU request (:meth:`throughput_for`).
        env_var: The environment variable that names local weights ("" if none).

    Raises:
        ValueError: A per-size licence or speed does not cover exactly the sizes.

    Example:
        >>> depth = spec("depth", "depth_anything_v2")
        >>> depth.license_for("base"), depth.license_for(None), depth.throughput_for("large")
        ('CC-BY-NC-4.0', 'Apache-2.0', 6.0)
    """

    label: str
    description: str = ""
    license: str | Mapping[str, str] = ""
    sizes: tuple[str, ...] = ()
    default_size: str | None = None
    open_vocabulary: bool = False
    throughput_fps: float | Mapping[str, float] | None = None
    env_var: str = ""

    def __post_init__(self) -> None:
        for what, value in (("license", self.license), ("throughput_fps", self.throughput_fps)):
            if isinstance(value, Mapping) and set(value) != set(self.sizes):
                raise ValueError(
                    f"{self.label}: {what} has sizes {sorted(value)}, "
                    f"the model {sorted(self.sizes)}"
                )
        # Frozen, so the normalised copies are set past the guard.
        object.__setattr__(self, "sizes", tuple(self.sizes))
        if isinstance(self.license, Mapping):
            object.__setattr__(self, "license", dict(self.license))
        if isinstance(self.throughput_fps, Mapping):
            fps = {size: float(value) for size, value in self.throughput_fps.items()}
            object.__setattr__(self, "throughput_fps", fps)

    def resolve_size(self, size: str | None) -> str | None:
        """The size a call with ``size`` uses: ``size`` itself, or the default for None.

        Args:
            size: A size, or None for the default.

        Returns:
            The size, or None for a model that comes in one size.

        Raises:
            UnknownModelError: The model has no such size, or has no sizes and one was given.
        """
        if not self.sizes:
            if size is not None:
                raise UnknownModelError(f"{self.label} comes in one size only; give no size.")
            return None
        size = self.default_size if size is None else size
        if size not in self.sizes:
            raise UnknownModelError(
                f"{self.label} has no size {size!r}. Available: {', '.join(self.sizes)}."
            )
        return size

    def license_for(self, size: str | None = None) -> str:
        """The licence of one size (None: the default size).

        Raises:
            UnknownModelError: The model has no such size.
        """
        return str(_per_size(self.license, self.resolve_size(size)))

    def throughput_for(self, size: str | None = None) -> float | None:
        """Rough ZeroGPU frames per second of one size (None: the default size), if measured.

        Raises:
            UnknownModelError: The model has no such size.
        """
        fps = _per_size(self.throughput_fps, self.resolve_size(size))
        return None if fps is None else float(fps)

    @property
    def license_summary(self) -> str:
        """Every licence in one line, with its sizes when they differ.

        Example:
            >>> spec("depth", "depth_anything_v2").license_summary
            'Apache-2.0 (small); CC-BY-NC-4.0 (base, large)'
        """
        if not isinstance(self.license, Mapping):
            return self.license
        sizes_by_license: dict[str, list[str]] = {}
        for size in self.sizes:
            sizes_by_license.setdefault(self.license[size], []).append(size)
        return "; ".join(f"{text} ({', '.join(sizes)})" for text, sizes in sizes_by_license.items())


@dataclass(frozen=True, kw_only=True)
class ModelSpec(ModelCard):
    """What the registry knows about one model: its card, and how to build it.

    Attributes:
        kind: Model family, e.g. ``"detector"``, ``"segmenter"``, ``"depth"``.
        name: Registry name, e.g. ``"yolo11"``.
        factory: Callable ``factory(device=..., **options)`` returning the model.
        locate: The model's weights rule, ``locate(weights=..., size=...)`` (no
            ``size`` for a model in one size) returning a
            :class:`~models.weights_sources.WeightsLocation`; the factory loads
            from it and :func:`models.weights_status` checks it without loading.
        extra: Further metadata: ``hidden`` (test-only models), ``runtimes``,
            ``requires``, a segmenter's ``detector`` and ``sam2`` size...
    """

    kind: str
    name: str
    factory: Factory
    locate: Callable[..., WeightsLocation] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, card: ModelCard, **registry_fields: Any) -> ModelSpec:
        """The spec that adds ``registry_fields`` (kind, name, factory...) to ``card``."""
        return cls(
            **{each.name: getattr(card, each.name) for each in fields(ModelCard)}, **registry_fields
        )


def _per_size(value: Any, size: str | None) -> Any:
    """``value[size]`` for a per-size mapping, else ``value`` itself."""
    return value[size] if isinstance(value, Mapping) else value


_REGISTRY: dict[tuple[str, str], ModelSpec] = {}
_LISTING_RANKS: dict[tuple[str, str], tuple[int, str, int]] = {}

#: Packages whose modules register models on import: every module in them is
#: imported (helper modules that register nothing included), so adding a model
#: is adding one file.
MODEL_PACKAGES = ("models.detectors", "models.depth", "models.segmenters")
_loaded = False
_LOAD_LOCK = threading.RLock()


def discover(packages: tuple[str, ...] = MODEL_PACKAGES) -> list[str]:
    """Import every module of ``packages``, which registers the models they define.

    A module that fails to import (a missing third-party dependency, a bug)
    raises: a model never silently disappears from the choices.

    Args:
        packages: Dotted names of packages holding model modules.

    Returns:
        The dotted names of the modules imported, in order.

    Example:
        >>> "models.detectors.yolox_nano" in discover()
        True
    """
    imported = []
    for package_name in packages:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(module.name)
            imported.append(module.name)
    return imported


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    # Re-entrant: a model module that asks the registry something while it is
    # being imported must not deadlock.
    with _LOAD_LOCK:
        if not _loaded:
            discover()
            _loaded = True


def register(
    kind: str,
    name: str,
    card: ModelCard | None = None,
    *,
    locate: Callable[..., WeightsLocation] | None = None,
    **extra: Any,
) -> Callable[[Factory], Factory]:
    """Register a model factory under ``(kind, name)``.

    Args:
        kind: Model family, e.g. ``"detector"``.
        name: Unique name within the family.
        card: What users are told about the model; None: a card with ``name`` as its label.
        locate: Where the weights come from, ``locate(weights=..., size=...)``
            (see :attr:`ModelSpec.locate`).
        **extra: Any further metadata (``hidden``, ``runtimes``...).

    Returns:
        A decorator that registers and returns the factory unchanged.

    Raises:
        TypeError: ``extra`` names a card's field, which belongs in ``card``.
        ValueError: The name is taken.
    """
    card = card or ModelCard(label=name)
    misplaced = sorted(set(extra) & {each.name for each in fields(ModelCard)})
    if misplaced:
        raise TypeError(f"{kind} {name!r}: {', '.join(misplaced)} belongs in the model's card")

    def decorator(factory: Factory) -> Factory:
        key = (kind, name)
        if key in _REGISTRY:
            raise ValueError(f"{kind} {name!r} is already registered")
        _LISTING_RANKS[key] = _listing_rank(factory, len(_LISTING_RANKS))
        _REGISTRY[key] = ModelSpec.of(
            card, kind=kind, name=name, factory=factory, locate=locate, extra=dict(extra)
        )
        return factory

    return decorator


def available(kind: str, *, include_hidden: bool = False) -> list[str]:
    """Names registered for a kind, in discovery order.

    Discovery order is that of :data:`MODEL_PACKAGES`, then module names, then
    registration within a module; models registered from elsewhere (tests)
    come last. It does not depend on which module happened to be imported first.

    Args:
        kind: Model family, e.g. ``"detector"``.
        include_hidden: Also list models registered with ``hidden=True``
            (test-only models that the UI and CLI must not offer).

    Returns:
        The registered names.
    """
    _ensure_loaded()
    keys = [
        key
        for key, model_spec in _REGISTRY.items()
        if key[0] == kind and (include_hidden or not model_spec.extra.get("hidden", False))
    ]
    return [name for _, name in sorted(keys, key=lambda key: _LISTING_RANKS[key])]


def _listing_rank(factory: Factory, sequence: int) -> tuple[int, str, int]:
    """Sort key of a registration: its package's place, its module, then its sequence."""
    target = factory.func if isinstance(factory, functools.partial) else factory
    module = str(getattr(target, "__module__", "") or "")
    package = module.rpartition(".")[0]
    place = MODEL_PACKAGES.index(package) if package in MODEL_PACKAGES else len(MODEL_PACKAGES)
    return place, module, sequence


def spec(kind: str, name: str) -> ModelSpec:
    """Look up a model's metadata.

    Args:
        kind: Model family.
        name: Registered name.

    Returns:
        The model's :class:`ModelSpec`.

    Raises:
        UnknownModelError: If nothing is registered under that name.
    """
    _ensure_loaded()
    try:
        return _REGISTRY[(kind, name)]
    except KeyError:
        valid = ", ".join(available(kind)) or "none"
        raise UnknownModelError(f"Unknown {kind} {name!r}. Available: {valid}.") from None
