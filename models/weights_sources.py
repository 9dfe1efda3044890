"""Where one model's weights will come from, decided without loading anything.

Each model module has a ``locate_weights`` function, registered with the model
(``register(..., locate=locate_weights)``), that applies the model's own rule
(``weights=`` option, environment variable, bundled file, default download) and
returns a :class:`WeightsLocation`. The model's factory loads from that same
location, so the rule is written once; :mod:`models.availability` reads it to
tell whether the weights are there before anything is loaded.

A remote source (a Hub file or repository, a URL, an ultralytics asset) knows
where its library caches it (:meth:`RemoteWeights.cached`) and which host it is
downloaded from (:attr:`RemoteWeights.host`).

Example:
    >>> location = WeightsLocation.at_path("YOLOX-Nano", "/x/yolox_nano.onnx", "YOLOX_NANO_WEIGHTS")
    >>> location.path, location.remote
    (PosixPath('/x/yolox_nano.onnx'), None)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from models.download_progress import ByteProgress, reporting_tqdm
from models.weights import cache_dir, download_url, hub_file

#: Files a transformers checkpoint keeps its weights in; one of them must be cached.
TRANSFORMERS_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
)


class RemoteWeights(Protocol):
    """Weights that a library downloads and caches.

    Each downloads with ``fetch(progress=None) -> Path`` (or takes the cached
    copy), reporting the bytes as they come (:mod:`models.download_progress`),
    so that an app can fetch a model's weights before it loads it
    (:mod:`models.prefetch`).
    """

    @property
    def host(self) -> str:
        """The host the weights are downloaded from."""
        ...

    def describe(self) -> str:
        """What is downloaded, for messages (e.g. ``"yolo11m.pt"``)."""
        ...

    def cached(self) -> Path | None:
        """The cached copy, or None when it is not (completely) cached."""
        ...

    def fetch(self, progress: ByteProgress | None = None) -> Path:
        """Download the weights (or take the cached copy).

        Raises:
            OSError: Offline and not cached, or the download failed.
        """
        ...


def hub_host() -> str:
    """Host of the Hugging Face Hub endpoint (``$HF_ENDPOINT`` when set), with its port if any."""
    from huggingface_hub import constants

    return urlparse(constants.ENDPOINT).netloc or "huggingface.co"


def _hub_cached(repo_id: str, filename: str, revision: str | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, revision=revision)
    # Besides a path, it may answer None (unknown) or a marker for "known to be absent".
    return Path(found) if isinstance(found, str) else None


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face Hub repository, cached by ``huggingface_hub``.

    Attributes:
        repo_id: Repository id, e.g. ``"facebook/sam2.1-hiera-small"``.
        filename: File in the repository.
        revision: Branch, tag or commit; None for the default branch.
    """

    repo_id: str
    filename: str
    revision: str | None = None

    @property
    def host(self) -> str:
        """The Hub's host."""
        return hub_host()

    def describe(self) -> str:
        """``repo_id/filename``."""
        return f"{self.repo_id}/{self.filename}"

    def preload_entry(self) -> str:
        """The ``preload_from_hub`` line of a Space that fetches this file: ``repo file [rev]``."""
        return " ".join([self.repo_id, self.filename, *([self.revision] if self.revision else [])])

    def cached(self) -> Path | None:
        """The file in the Hub cache, if there."""
        return _hub_cached(self.repo_id, self.filename, self.revision)

    def fetch(self, progress: ByteProgress | None = None) -> Path:
        """Download the file (or take it from the Hub cache).

        Args:
            progress: Called with the bytes downloaded so far and the total.

        Raises:
            OSError: Offline and not cached, or no such repository or file.
        """
        tqdm_class = reporting_tqdm(progress) if progress is not None else None
        return Path(
            hub_file(self.repo_id, self.filename, revision=self.revision, tqdm_class=tqdm_class)
        )


@dataclass(frozen=True)
class HubRepo:
    """A transformers checkpoint on the Hub, loaded with ``from_pretrained(repo_id)``.

    Attributes:
        repo_id: Repository id, e.g. ``"facebook/detr-resnet-50"``.
        revision: Branch, tag or commit; None for the default branch.
        required: Files that must all be cached besides the weights (config,
            processor, tokenizer).
    """

    repo_id: str
    revision: str | None = None
    required: tuple[str, ...] = ("config.json",)

    @property
    def host(self) -> str:
        """The Hub's host."""
        return hub_host()

    def describe(self) -> str:
        """The repository id (and revision)."""
        return self.repo_id + (f"@{self.revision}" if self.revision else "")

    def cached(self) -> Path | None:
        """The cached snapshot folder when the required files and the weights are all there."""
        found = [_hub_cached(self.repo_id, name, self.revision) for name in self.required]
        weights = (_hub_cached(self.repo_id, n, self.revision) for n in TRANSFORMERS_WEIGHT_FILES)
        if not all(found) or not any(weights):
            return None
        return found[0].parent if found else None

    def fetch(self, progress: ByteProgress | None = None) -> Path:
        """Download the files ``from_pretrained`` reads into the Hub cache (or find them there).

        Args:
            progress: Called with the bytes downloaded so far and the total.

        Returns:
            The cached snapshot folder.

        Raises:
            OSError: Offline and not cached, or no such repository.
        """
        from huggingface_hub import snapshot_download

        # The weights in whichever of their usual files the repository has, and the
        # small files a processor or tokenizer may read; not the other formats some
        # repositories also hold (e.g. Meta's own SAM 2 checkpoint).
        patterns = [*self.required, *TRANSFORMERS_WEIGHT_FILES, "model-*.safetensors", "*.json",
                    "*.txt"]  # fmt: skip
        tqdm_class = reporting_tqdm(progress) if progress is not None else None
        folder = snapshot_download(
            self.repo_id, revision=self.revision, allow_patterns=patterns, tqdm_class=tqdm_class
        )
        return Path(folder)

    def preload_entry(self) -> str:
        """The ``preload_from_hub`` line of a Space that fetches it: ``repo files [revision]``."""
        files = ",".join([*self.required, TRANSFORMERS_WEIGHT_FILES[0]])
        return " ".join([self.repo_id, files, *([self.revision] if self.revision else [])])


def cached_file(filename: str) -> Path | None:
    """A download kept in :func:`models.weights.cache_dir` under ``filename``, if there."""
    target = cache_dir() / filename
    return target if target.is_file() else None


@dataclass(frozen=True)
class UrlFile:
    """A file downloaded once from a URL into :func:`models.weights.cache_dir`.

    Attributes:
        url: HTTP(S) address.
        filename: Name it is cached under.
    """

    url: str
    filename: str

    @property
    def host(self) -> str:
        """The URL's host, with its port if any."""
        return urlparse(self.url).netloc

    def describe(self) -> str:
        """The URL."""
        return self.url

    def cached(self) -> Path | None:
        """The cached download, if there."""
        return cached_file(self.filename)

    def fetch(self, progress: ByteProgress | None = None) -> Path:
        """Download the file once (or take the cached copy).

        Args:
            progress: Called with the bytes downloaded so far and the total.

        Raises:
            OSError: Offline and not cached, or the download failed.
        """
        return download_url(self.url, self.filename, progress=progress)


@dataclass(frozen=True)
class WeightsLocation:
    """Where a model will load its weights from: an architecture, a local path, or a download.

    Build one with :meth:`architecture`, :meth:`at_path`, :meth:`transformers_folder`
    or :meth:`download`.

    Attributes:
        label: The model's display name (with its size), for messages.
        weights: The weights as chosen (option, environment variable, bundled
            file or default): what :meth:`models.base.Model.info` records.
        env_var: The model's environment variable, named in messages.
        path: The local file or folder that must exist (weights, or an
            architecture's description file); None otherwise.
        remote: The download; None for a local path or an architecture.
        one_of: Files of which one must exist too (a ``save_pretrained``
            folder's weights, besides its ``config.json`` at ``path``).
        random_weights: An architecture description: random weights.
        bundled: The file ships with the app (``assets/models``).
    """

    label: str
    weights: str
    env_var: str
    path: Path | None = None
    remote: RemoteWeights | None = None
    one_of: tuple[Path, ...] = ()
    random_weights: bool = False
    bundled: bool = False

    @classmethod
    def architecture(
        cls, label: str, weights: str, env_var: str, path: Path | None = None
    ) -> WeightsLocation:
        """Random weights built from an architecture description (``yolo11n.yaml``).

        ``path``: the description's file, when it must exist (a library's own
        named architectures need none).
        """
        return cls(label, weights, env_var, path=path, random_weights=True)

    @classmethod
    def at_path(
        cls,
        label: str,
        weights: str,
        env_var: str,
        path: Path | None = None,
        *,
        bundled: bool = False,
    ) -> WeightsLocation:
        """Weights in a local file or folder (``path``, default ``weights`` itself)."""
        return cls(
            label, weights, env_var, path=Path(path or weights).expanduser(), bundled=bundled
        )

    @classmethod
    def transformers_folder(
        cls, label: str, weights: str, env_var: str, folder: Path
    ) -> WeightsLocation:
        """A folder saved with ``save_pretrained``: its ``config.json`` and a weights file."""
        folder = Path(folder).expanduser()
        return cls(
            label,
            weights,
            env_var,
            path=folder / "config.json",
            one_of=tuple(folder / name for name in TRANSFORMERS_WEIGHT_FILES),
        )

    @classmethod
    def download(
        cls, label: str, weights: str, env_var: str, remote: RemoteWeights
    ) -> WeightsLocation:
        """Weights a library downloads (or finds in its cache)."""
        return cls(label, weights, env_var, remote=remote)
