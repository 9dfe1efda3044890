"""Whether a model's weights are at hand, found without loading the model.

Each registered model states where its weights come from (its ``locate``
function, see :mod:`models.weights_sources`); this module checks that place,
quickly: the explicit file, the bundled file, the library's cache, and last
whether the download host answers at all (one TCP connection per host and
process, never when an offline flag is set).

Example:
    >>> import models
    >>> status = models.weights_status("detector", "yolox_nano")
    >>> status.available, status.source
    (True, 'bundled')
"""

from __future__ import annotations

import functools
import socket
import threading
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse

from models.errors import MissingWeightsError
from models.registry import available, spec
from models.requirements import missing_package
from models.weights import is_offline, missing_weights_error
from models.weights_sources import WeightsLocation

BUNDLED = "bundled"
PACKAGE = "package"
LOCAL_FILE = "local file"
CACHE = "cache"
DOWNLOAD = "download"
ARCHITECTURE = "architecture (random weights)"
#: Sources that need no network.
AT_HAND = (BUNDLED, LOCAL_FILE, CACHE)
#: Longest wait for a download host to accept a connection.
PROBE_TIMEOUT_S = 2.0
HTTPS_PORT = 443
#: The detector preselected when its weights are available.
PREFERRED_DETECTOR = "yolo11"


@dataclass(frozen=True)
class WeightsStatus:
    """Whether a model's weights can be loaded now, and from where.

    Attributes:
        available: The model can load its weights now (from disk, or by a
            download from a host that answers).
        source: Where they come from: ``"bundled"``, ``"local file"``,
            ``"cache"``, ``"download"`` or ``"architecture (random weights)"``
            (for an unavailable model, where they were looked for), or
            ``"package"`` when a Python package the model needs is missing.
        message: One line for people: where the weights are, or which weights
            are missing and how to supply them.
    """

    available: bool
    source: str
    message: str


def weights_status(
    kind: str, name: str, size: str | None = None, weights: str | None = None
) -> WeightsStatus:
    """Check, without loading it, whether a model's weights are available.

    A segmenter needs both its SAM 2 checkpoint and its prompting detector's
    default weights; its source is the checkpoint's.

    Args:
        kind: Model family, e.g. ``"detector"``.
        name: Registered name.
        size: Model size (None: the default size).
        weights: The ``weights=`` option, as :func:`models.create` would get it.

    Returns:
        The status.

    Raises:
        UnknownModelError: No such model or size.
    """
    model_spec = spec(kind, name)
    resolved = model_spec.resolve_size(size)
    missing = missing_package(model_spec)
    if missing is not None:
        return WeightsStatus(False, PACKAGE, missing)
    if model_spec.locate is None:
        return WeightsStatus(
            False, "", f"{model_spec.label} does not state where its weights come from."
        )
    sized = {"size": resolved} if resolved is not None else {}
    status = location_status(model_spec.locate(weights=weights, **sized))
    prompter = model_spec.extra.get("detector") if kind == "segmenter" else None
    if prompter is None:
        return status
    detector = weights_status("detector", prompter)
    if detector.available and status.available:
        return WeightsStatus(True, status.source, f"{status.message}; {detector.message}")
    missing = [status.message] if not status.available else []
    if not detector.available:
        missing.append(f"The detector that prompts it ({prompter}): {detector.message}")
    return WeightsStatus(False, status.source, " ".join(missing))


def location_status(location: WeightsLocation) -> WeightsStatus:
    """Check one :class:`~models.weights_sources.WeightsLocation` (see :func:`weights_status`)."""
    label, weights = location.label, location.weights
    if location.random_weights:
        if location.path is not None and not location.path.is_file():
            return _missing(location, ARCHITECTURE, f"no such file: {location.path}")
        return WeightsStatus(
            True, ARCHITECTURE, f"{label}: random weights from the architecture {weights}."
        )
    if location.path is not None:
        source = BUNDLED if location.bundled else LOCAL_FILE
        if not location.path.exists():
            return _missing(location, source, f"no such file or folder: {location.path}")
        if location.one_of and not any(p.exists() for p in location.one_of):
            names = " or ".join(p.name for p in location.one_of)
            return _missing(location, source, f"no {names} beside {location.path}")
        return WeightsStatus(True, source, f"{label}: {source} weights at {location.path}.")
    remote = location.remote
    if remote is None:
        raise ValueError(f"{label}: a weights location needs a path, a download or an architecture")
    cached = remote.cached()
    if cached is not None:
        return WeightsStatus(True, CACHE, f"{label}: {remote.describe()} cached at {cached}.")
    if is_offline():
        cause = f"offline mode is on and {remote.describe()} is not cached"
    elif host_reachable(remote.host):
        return WeightsStatus(
            True, DOWNLOAD, f"{label}: {remote.describe()} will be downloaded from {remote.host}."
        )
    else:
        cause = f"{remote.host} cannot be reached and {remote.describe()} is not cached"
    return _missing(location, DOWNLOAD, cause)


def _missing(location: WeightsLocation, source: str, cause: str) -> WeightsStatus:
    error = missing_weights_error(location.label, location.weights, location.env_var, cause)
    return WeightsStatus(False, source, error.summary)


@functools.cache
def host_reachable(host: str) -> bool:
    """Whether ``host`` accepts a TCP connection on port 443 (through the HTTPS proxy if set).

    Asked once per host and process; never call it when :func:`models.weights.is_offline`.

    Args:
        host: A host name, e.g. ``"huggingface.co"``, with ``:port`` when not 443.

    Returns:
        True when a connection opened within :data:`PROBE_TIMEOUT_S`.
    """
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    host = name or host
    address = (host, int(port) if port.isdigit() else HTTPS_PORT)
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        address = (parsed.hostname or host, parsed.port or 80)
    answered: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection(address, timeout=PROBE_TIMEOUT_S):
                answered.append(True)
        except OSError:
            answered.append(False)

    # In a thread: the name lookup before the connection has no timeout of its own.
    probe = threading.Thread(target=connect, name=f"probe-{host}", daemon=True)
    probe.start()
    probe.join(PROBE_TIMEOUT_S)
    return bool(answered and answered[0])


def at_hand(kind: str) -> list[str]:
    """The models of a kind whose default weights need no download, as ``Label (name)``.

    For a model in several sizes, the default size counts first, else the
    first other size at hand is named (``YOLO11 (yolo11, size n)``).

    Args:
        kind: Model family.

    Returns:
        One entry per model, in registry order; test-only models are left out.
    """
    found = []
    for name in available(kind):
        model_spec = spec(kind, name)
        sizes = model_spec.sizes or (None,)
        preferred = [model_spec.default_size, *(s for s in sizes if s != model_spec.default_size)]
        for size in preferred:
            status = weights_status(kind, name, size)
            if status.available and status.source in AT_HAND:
                suffix = "" if size == model_spec.default_size else f", size {size}"
                found.append(f"{model_spec.label} ({name}{suffix})")
                break
    return found


def with_alternatives(kind: str, error: MissingWeightsError) -> MissingWeightsError:
    """``error`` with the models of ``kind`` whose weights are at hand named after it.

    Never loads another model in the missing one's place: it only says which would work.
    """
    others = at_hand(kind)
    return error.with_alternatives(others) if others else error


def default_detector() -> str:
    """The detector to preselect: YOLO11 when its default weights are available.

    Otherwise the detector that ships with the app (the bundled YOLOX-Nano),
    else the first whose default weights are available; YOLO11 again when none
    is, so that loading it says which weights are missing.

    Returns:
        A registered detector name.
    """
    if weights_status("detector", PREFERRED_DETECTOR).available:
        return PREFERRED_DETECTOR
    statuses = {name: weights_status("detector", name) for name in available("detector")}
    for name, status in statuses.items():
        if status.source == BUNDLED:
            return name
    for name, status in statuses.items():
        if status.available:
            return name
    return PREFERRED_DETECTOR
