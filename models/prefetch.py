"""Fetching a model's weights before it is loaded, with the progress to show.

Loading a model downloads its weights on first use. Where loading happens
inside a borrowed GPU (a ZeroGPU call has a duration fixed up front and is
charged to the visitor's quota), that download would be paid in GPU time and
could outlast the call: GDINO-base and SAM 2.1-L are about 1.8 GB together.
So the app fetches first, in its own process (:func:`fetch_weights`, a
generator of :class:`Download` progress), then makes the call, which finds
the weights in the cache. Weights that cannot be fetched fail here, with the
one missing-weights message, before any GPU is asked for.

Example:
    >>> loads = [ModelLoad("detector", "yolox_nano")]
    >>> [download for download in fetch_weights(loads)]  # the bundled copy: nothing to fetch
    []
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.availability import with_alternatives
from models.errors import MissingWeightsError
from models.registry import spec
from models.requirements import check_requirements
from models.weights import loading_weights
from models.weights_sources import WeightsLocation

#: Least time between two progress reports of one download.
REPORT_INTERVAL_S = 0.5


@dataclass(frozen=True)
class ModelLoad:
    """One model a run loads: what :func:`models.get_cached` is called with.

    Attributes:
        kind: Model family, e.g. ``"detector"``.
        name: Registered name.
        options: The registry options (``size``, ``weights`` and the model's own).
    """

    kind: str
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def location(self) -> WeightsLocation | None:
        """Where this model's weights come from (its registered rule, nothing loaded).

        Returns:
            The location; None for a model that states no rule (it gets its
            weights its own way, e.g. a test-only model).

        Raises:
            UnknownModelError: No such model or size.
            MissingPackageError: A package the model needs is not installed
                (nothing is worth fetching then).
        """
        model_spec = spec(self.kind, self.name)
        size = model_spec.resolve_size(self.options.get("size"))
        check_requirements(model_spec)
        if model_spec.locate is None:
            return None
        sized = {"size": size} if size is not None else {}
        return model_spec.locate(weights=self.options.get("weights"), **sized)


@dataclass(frozen=True)
class Download:
    """How far the download of one model's weights is.

    Attributes:
        label: The model, e.g. ``"SAM 2.1 Hiera-L"``.
        source: What is downloaded, e.g. ``"facebook/sam2.1-hiera-large"``.
        done_bytes: Bytes downloaded so far.
        total_bytes: Bytes in all, when known.
    """

    label: str
    source: str
    done_bytes: int
    total_bytes: int | None

    @property
    def fraction(self) -> float | None:
        """Done share in [0, 1], when the total is known.

        Example:
            >>> Download("M", "m.pt", 40, 100).fraction
            0.4
        """
        if not self.total_bytes:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)

    def text(self) -> str:
        """One line for people.

        Example:
            >>> Download("SAM 2.1 Hiera-L", "sam2.1-hiera-large", 360 << 20, 898 << 20).text()
            'Downloading SAM 2.1 Hiera-L: 40 % of 898 MB'
        """
        fraction = self.fraction
        if fraction is None:
            return f"Downloading {self.label}: {self.done_bytes / 2**20:.0f} MB so far"
        total_mb = (self.total_bytes or 0) / 2**20
        return f"Downloading {self.label}: {round(fraction * 100)} % of {total_mb:.0f} MB"


def pending_downloads(loads: Iterable[ModelLoad]) -> list[tuple[str, WeightsLocation]]:
    """The weights among ``loads`` still to be downloaded (not cached), once each, with their kind.

    Raises:
        UnknownModelError: No such model or size.
        MissingPackageError: A model needs a package that is not installed.
    """
    pending: dict[str, tuple[str, WeightsLocation]] = {}
    for load in loads:
        try:
            location = load.location()
        except MissingWeightsError as exc:  # a missing package: say what else works
            raise with_alternatives(load.kind, exc) from exc
        remote = location.remote if location is not None else None
        if location is not None and remote is not None and remote.cached() is None:
            pending.setdefault(remote.describe(), (load.kind, location))
    return list(pending.values())


def fetch_weights(loads: Iterable[ModelLoad]) -> Iterator[Download]:
    """Download every weights file ``loads`` need that is not cached, yielding the progress.

    Each download runs in a thread of its own while this generator reports it
    (at most every :data:`REPORT_INTERVAL_S`); closing the generator leaves a
    download under way to finish into the cache.

    Args:
        loads: The models a run loads (:meth:`pipeline.configs.RunConfig.model_loads`).

    Yields:
        :class:`Download` progress, the last one of each download complete.

    Raises:
        MissingWeightsError: A download failed (offline, no such repository...);
            the message names the weights, how to supply them, and the models
            of that kind whose weights are at hand.
        UnknownModelError: No such model or size.
    """
    for kind, location in pending_downloads(loads):
        try:
            yield from _fetch(location)
        except MissingWeightsError as exc:
            raise with_alternatives(kind, exc) from exc


def _fetch(location: WeightsLocation) -> Iterator[Download]:
    remote = location.remote
    assert remote is not None
    source = remote.describe()
    state: dict[str, Any] = {"done": 0, "total": None}
    changed = threading.Event()
    failure: list[BaseException] = []

    def progress(done: int, total: int | None) -> None:
        state.update(done=done, total=total)
        changed.set()

    def download() -> None:
        try:
            with loading_weights(location.label, location.weights, location.env_var):
                remote.fetch(progress=progress)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the generator's thread
            failure.append(exc)
        finally:
            changed.set()

    worker = threading.Thread(target=download, name=f"fetch-{source}", daemon=True)
    worker.start()
    yield Download(location.label, source, 0, None)
    while worker.is_alive():
        worker.join(REPORT_INTERVAL_S)
        if changed.is_set() and worker.is_alive():
            changed.clear()
            yield Download(location.label, source, state["done"], state["total"])
    if failure:
        raise failure[0]
    yield Download(location.label, source, state["done"], state["total"] or state["done"])
