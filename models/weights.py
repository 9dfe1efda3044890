"""Where model weights come from, and the one error when they cannot be found.

Every model resolves its weights the same way, first match wins:

1. the ``weights=`` option (``--weights`` on the CLI): a local file or folder, a
   Hugging Face Hub id, or for ultralytics models an architecture file such as
   ``yolo11n.yaml`` (random weights, for tests and benchmarks);
2. the model's environment variable, e.g. ``YOLO11_WEIGHTS``;
3. a copy bundled with the app under :data:`BUNDLED_MODELS_DIR`, where the
   licence allows one (YOLOX-Nano);
4. the model's default: a Hub id or an ultralytics asset, downloaded and cached
   by the model's own library on a machine with network access.

Each model module writes its rule once, as a ``locate_weights`` function
(:mod:`models.weights_sources`), which its factory loads from and
:func:`models.weights_status` checks without loading. When no weights are
found, loading raises :class:`~models.errors.MissingWeightsError` naming the
weights and the ways to supply them. Nothing falls back to a fake model.

Example:
    >>> from models.weights import resolve_weights
    >>> resolve_weights("yolo11n.yaml", env_var="YOLO11_WEIGHTS", default="yolo11m.pt")
    'yolo11n.yaml'
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models.download_progress import ByteProgress, copy_reporting
from models.errors import MissingWeightsError, ModelError

_TRUE = {"1", "true", "yes", "on"}
ARCHITECTURE_SUFFIXES = (".yaml", ".yml")
#: Weights that ship with the app (small, with a licence that allows it).
BUNDLED_MODELS_DIR = Path(__file__).resolve().parents[1] / "assets" / "models"


def resolve_weights(option: str | os.PathLike[str] | None, *, env_var: str, default: str) -> str:
    """Pick the weights: explicit option, else ``$env_var``, else ``default``.

    Args:
        option: The ``weights=`` option, or None.
        env_var: Environment variable naming this model's weights.
        default: Hub id or asset name used when neither is set.

    Returns:
        The chosen weights, as a string (a path, hub id or asset name).
    """
    if option is not None and str(option).strip():
        return str(option).strip()
    from_env = os.environ.get(env_var, "").strip()
    return from_env or default


def is_architecture_file(weights: str) -> bool:
    """True for an architecture description (``yolo11n.yaml``): random weights."""
    return weights.lower().endswith(ARCHITECTURE_SUFFIXES)


def looks_like_path(weights: str) -> bool:
    """True when ``weights`` names a file system path rather than a Hub id.

    Example:
        >>> looks_like_path("./my-model"), looks_like_path("facebook/detr-resnet-50")
        (True, False)
    """
    return Path(weights).expanduser().exists() or weights.startswith(("/", ".", "~"))


def is_offline() -> bool:
    """True when the environment asks libraries not to use the network."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE")
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


def cache_dir() -> Path:
    """Folder for weights that no library caches for us (``$MODELS_CACHE_DIR``).

    Returns:
        The folder (created if needed); defaults to ``~/.cache/video-analysis/models``.
    """
    base = os.environ.get("MODELS_CACHE_DIR")
    path = Path(base) if base else Path.home() / ".cache" / "video-analysis" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def missing_weights_error(
    model: str, weights: str, env_var: str, cause: BaseException | str | None = None
) -> MissingWeightsError:
    """Build the error that tells a user which weights are missing and how to supply them.

    Short first (which model, why, what to do: the page shows only this), then
    the full how-to for the CLI and REST (what was looked for, ``--weights``,
    the network). :func:`models.availability.with_alternatives` adds the
    models to choose instead.

    Args:
        model: Display name of the model, e.g. ``"YOLO11"``.
        weights: What was looked for (path, hub id or asset name).
        env_var: The model's environment variable.
        cause: The underlying failure, summarised in the message.

    Returns:
        A :class:`MissingWeightsError` ready to raise.

    Example:
        >>> missing_weights_error("M", "/w", "M_WEIGHTS", "gone").summary
        'Could not load the weights of M (gone). To use it, set M_WEIGHTS to local weights.'
    """
    if isinstance(cause, BaseException) and _is_gated(cause):
        return MissingWeightsError(gated_message(model, weights))
    reason = f" ({describe_failure(cause)})" if cause else ""
    return MissingWeightsError(
        f"Could not load the weights of {model}{reason}.",
        remedy=f"set {env_var} to local weights",
        detail=(
            f"It looked for {weights!r}. Other ways to supply weights: pass --weights PATH "
            "(weights= in Python), or run with network access so they can be downloaded."
        ),
    )


def gated_message(model: str, repo_id: str) -> str:
    """What to do when the Hub refuses a gated repository: ask for access, then set a token.

    Example:
        >>> gated_message("SAM 3", "facebook/sam3")  # doctest: +ELLIPSIS
        "SAM 3's weights (facebook/sam3) are gated: ...huggingface.co/facebook/sam3..."
    """
    return (
        f"{model}'s weights ({repo_id}) are gated: request access on "
        f"https://huggingface.co/{repo_id} (signed in), then set the HF_TOKEN Space secret "
        "(or environment variable) to an access token of that account."
    )


@contextmanager
def loading_weights(model: str, weights: str, env_var: str) -> Iterator[None]:
    """Turn any failure to find, fetch or read weights inside the block into MissingWeightsError.

    Libraries report "offline and not cached", "no such repo" and "no such file"
    as ``OSError``, but weights that are there and cannot be read fail in many
    other ways: a config that needs a package that is not installed
    (``ImportError``, e.g. a DETR checkpoint with a timm backbone), a file that
    is not what it claims (``ValueError``, ``KeyError``, an unpickling error),
    an architecture that does not fit (``RuntimeError``). Whatever the type,
    the user gets the one message that says which weights could not be loaded,
    why in a few words, and how to supply others. Running out of memory is not
    a weights problem and passes through, as do the library's own model errors.

    Args:
        model: Display name of the model.
        weights: What is being loaded.
        env_var: The model's environment variable.

    Raises:
        MissingWeightsError: The block failed to load the weights.
    """
    try:
        yield
    except (ModelError, MemoryError):
        raise
    except Exception as exc:
        if type(exc).__name__ == "OutOfMemoryError":  # torch's, without importing torch here
            raise
        raise missing_weights_error(model, weights, env_var, exc) from exc


def hub_file(
    repo_id: str, filename: str, *, revision: str | None = None, tqdm_class: Any = None
) -> str:
    """Fetch one file from the Hugging Face Hub (or its local cache).

    Args:
        repo_id: Repository id, e.g. ``"mshamrai/yolov8s-visdrone"``.
        filename: File inside the repository.
        revision: Branch, tag or commit; None for the default branch.
        tqdm_class: Progress bar class for the download
            (:func:`models.download_progress.reporting_tqdm`); None: the library's.

    Returns:
        Local path of the cached file.

    Raises:
        OSError: Offline and not cached, or no such repository or file.
    """
    from huggingface_hub import hf_hub_download

    return hf_hub_download(repo_id, filename, revision=revision, tqdm_class=tqdm_class)


def download_url(url: str, filename: str, progress: ByteProgress | None = None) -> Path:
    """Download ``url`` once into :func:`cache_dir` and return the cached file.

    Args:
        url: HTTP(S) address of the file.
        filename: Name to store it under in the cache.
        progress: Called with the bytes downloaded so far and the total.

    Returns:
        Path of the cached file.

    Raises:
        OSError: Offline (see :func:`is_offline`) and not cached, or the download failed.
    """
    target = cache_dir() / filename
    if target.is_file():
        return target
    if is_offline():
        raise ConnectionError(f"offline mode is on and {target} is not cached")
    # Download beside the target and rename, so an interrupted download never
    # leaves a truncated file that later runs would take for the real one.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{filename}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            copy_reporting(response, out, total, progress)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def describe_failure(cause: BaseException | str) -> str:
    """One short line for a failure: ``"Type: first line of its message"`` (300 characters at most).

    A download that failed for want of a network (whatever the library calls
    it) is said in plain words, :data:`NO_NETWORK`: the library's own text
    names internals (``LocalEntryNotFoundError``, a proxy's ``ConnectError``)
    that tell a user nothing more.

    Example:
        >>> describe_failure(ValueError("bad value"))
        'ValueError: bad value'
        >>> describe_failure(ConnectionError("Download failure. Environment may be offline."))
        'no network connection, and not cached on this machine'
    """
    if isinstance(cause, BaseException) and _is_network_failure(cause):
        return NO_NETWORK
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    if isinstance(cause, BaseException):
        text = f"{type(cause).__name__}: {text}" if text else type(cause).__name__
    return text[:300]


#: How :func:`describe_failure` says that weights could not be downloaded for want of a network.
NO_NETWORK = "no network connection, and not cached on this machine"
#: Exception types, by name, that libraries raise when a download host cannot be reached
#: (named, not imported: huggingface_hub and httpx are not imported here).
_NETWORK_FAILURES = {"LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectError"}


def _is_gated(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it was raised from is the Hub refusing a gated repository.

    ``huggingface_hub`` raises ``GatedRepoError`` (named, not imported); ``transformers``
    re-raises it as an ``OSError`` from it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "GatedRepoError":
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_network_failure(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it was raised from is a failed connection."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError) or type(current).__name__ in _NETWORK_FAILURES:
            return True
        current = current.__cause__ or current.__context__
    return False
