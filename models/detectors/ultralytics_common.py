"""The ultralytics YOLO wrapper shared by ``yolo11`` and ``drone_yolo``.

The two models differ only in where their weights come from, so each module
supplies its :class:`~models.weights_sources.WeightsLocation` (an architecture,
a local ``.pt`` or a download: an ultralytics release asset, a Hub file) and
this module does the loading, prediction and conversion.

Four runtimes run the same network (see :mod:`models.detectors.yolo_networks`):

- ``"torch"``: the PyTorch module called directly, fp16 and pinned host
  memory on CUDA (the default on GPUs);
- ``"onnxruntime"``: on the CPU, the model exported to ONNX once (ultralytics'
  own exporter, dynamic input shape, so every frame size runs on one file) and
  cached under ``<cache_dir>/onnx``, keyed by a hash of the model's
  architecture and state dict, the image size and the ultralytics, torch and
  onnx versions (the default on CPUs). Exports of random (architecture-only)
  weights are not cached: those weights differ per instance;
- ``"openvino"``: on the CPU, ultralytics' own OpenVINO export (dynamic input
  shape, compiled for each input shape it is given), cached under
  ``<cache_dir>/openvino`` with the same key plus the openvino version;
  ``"openvino-bf16"`` runs it in bfloat16 on a CPU that has it, once its boxes
  on the bundled clip are shown to agree with float32's
  (:mod:`models.precision_check`), else float32 with a warning;
- ``"ultralytics"``: ultralytics' own predictor (``YOLO.predict``), the
  reference the other two are tested against.

Pre- and post-processing are ultralytics' own (``LetterBox``,
``non_max_suppression``, ``scale_boxes``) in all four, so they return the
same boxes up to float rounding.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from models.base import GPU_BATCH_SIZE
from models.detectors.base import CLASS_NAME, Batch, Detector
from models.detectors.yolo_networks import OnnxRuntimeYolo, OpenVinoYolo, TorchYolo
from models.download_progress import ByteProgress
from models.int8 import calibration_frames
from models.onnx_sessions import FrameParallelSession, frames_at_once
from models.openvino_models import OpenVinoModel, openvino_installed, precision_runs_here
from models.precision_check import MIN_AGREEMENT, agreement
from models.registry import ModelCard, register
from models.requirements import ULTRALYTICS
from models.runtimes import BF16, FLOAT, check_runtime, fastest, measured_batch, split_runtime
from models.weights import cache_dir, is_architecture_file, is_offline, loading_weights
from models.weights_sources import RemoteWeights, WeightsLocation, cached_file

STAGES = ("preprocess", "inference", "postprocess")
RUNTIMES = ("auto", "torch", "onnxruntime", "openvino", "openvino-bf16", "ultralytics")
#: What ``runtime="auto"`` measures on a CPU (real weights), the default first.
CPU_RUNTIMES = ("onnxruntime", "openvino", "openvino-bf16")
#: Batch size of the pool on CUDA, and the smallest padded batch of the
#: ``"torch"`` runtime's static shapes.
CUDA_BATCH_SIZE = GPU_BATCH_SIZE
ONNX_CACHE_FOLDER = "onnx"
OPENVINO_CACHE_FOLDER = "openvino"
ASSETS_HOST = "github.com"
# Part of the cache key: bump it when the export settings below change.
EXPORT_VERSION = 1

log = logging.getLogger(__name__)
# The exporter builds a deep copy and logs through ultralytics' global logger;
# one export at a time keeps memory and log silencing simple.
_EXPORT_LOCK = threading.Lock()


class UltralyticsDetector(Detector):
    """A detector backed by an ultralytics ``YOLO`` model.

    Build instances with :meth:`load`; ``__init__`` takes an already loaded model.

    Attributes:
        model: The ``ultralytics.YOLO`` instance, on :attr:`device` (kept with
            every runtime: it is the ONNX export's source and the plain-loop
            baseline).
        imgsz: Inference image size (pixels, longest side).
        half: Whether inference runs in fp16 (CUDA only).
        runtime: The runtime that actually runs the network: ``"torch"``,
            ``"onnxruntime"`` or ``"ultralytics"``.
        network: The network of the ``"torch"`` or ``"onnxruntime"`` runtime;
            None with ``"ultralytics"`` (its predictor runs :attr:`model`).
    """

    def __init__(
        self,
        model: Any,
        *,
        name: str,
        device: str,
        weights: str,
        size: str | None,
        imgsz: int,
        random_weights: bool,
        network: TorchYolo | OnnxRuntimeYolo | OpenVinoYolo | None = None,
        license: str = "",
    ) -> None:
        names: Mapping[int, str] = model.names
        super().__init__(
            device=device,
            weights=weights,
            size=size,
            class_names=[names[i] for i in sorted(names)],
            random_weights=random_weights,
            license=license,
        )
        self.name = name
        self.model = model
        self.imgsz = imgsz
        self.half = device.startswith("cuda")
        self.network = network
        self.runtime = {
            OnnxRuntimeYolo: "onnxruntime",
            OpenVinoYolo: "openvino",
            TorchYolo: "torch",
        }.get(type(network), "ultralytics")
        if isinstance(network, OpenVinoYolo) and network.model.precision == BF16:
            self.runtime = "openvino-bf16"
        self._class_index = {n: i for i, n in enumerate(self.class_names)}
        if isinstance(network, OnnxRuntimeYolo):
            self.default_batch_size = frames_at_once(network.session)
        elif isinstance(network, OpenVinoYolo):
            self.default_batch_size = frames_at_once(network.model)

    @property
    def onnx(self) -> OnnxRuntimeYolo | None:
        """The ONNX Runtime network, when that is the runtime."""
        return self.network if isinstance(self.network, OnnxRuntimeYolo) else None

    @classmethod
    def load(
        cls,
        described: UltralyticsModel,
        *,
        device: str,
        size: str | None = None,
        weights: str | None = None,
        imgsz: int = 640,
        runtime: str = "auto",
        cuda_graphs: bool = True,
    ) -> UltralyticsDetector:
        """Load a model's weights (or build an architecture with random weights) onto ``device``.

        Args:
            described: The model (its name, licence, classes and where its weights are).
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
            size: One of its sizes (None: the default size).
            weights: A local ``.pt``, an architecture ``.yaml`` (random weights, named
                with the model's classes when their count matches), or what the model
                downloads (an ultralytics asset name, a Hub repository); defaults to
                its environment variable, then the size's published weights.
            imgsz: Inference image size.
            runtime: ``"auto"`` (on the CPU the faster of ONNX Runtime and
                OpenVINO, measured once per process for real weights, ONNX
                Runtime for random ones; ``"torch"`` when no export works;
                on CUDA ``"torch"``), ``"openvino"`` (CPU only; falls back
                like ONNX Runtime), ``"torch"`` (the PyTorch module called
                directly), ``"onnxruntime"`` (CPU only; falls back to
                ``"torch"`` with a warning when the export fails) or
                ``"ultralytics"`` (ultralytics' predictor).
            cuda_graphs: With ``"torch"`` on CUDA, replay each batch shape's
                forward pass from a captured CUDA graph (falls back to eager
                execution with a warning when capture fails).

        Returns:
            The detector.

        Raises:
            MissingWeightsError: The weights are neither local nor downloadable.
            InvalidRuntimeError: ``runtime`` is not one of :data:`RUNTIMES`.
        """
        from ultralytics import YOLO

        size = size or described.card.default_size
        location = described.locate(size=size, weights=weights)
        label, weights = location.label, location.weights
        check_runtime(label, runtime, RUNTIMES)
        random_weights = location.random_weights
        with loading_weights(label, weights, location.env_var):
            # An architecture yaml is resolved from ultralytics' bundled configs and
            # a file path is loaded as is, so only the location's download may fetch.
            if random_weights:
                source = weights
            elif location.remote is not None:
                source = str(location.remote.fetch())
            elif location.path is not None and location.path.is_file():
                source = str(location.path)
            else:
                raise FileNotFoundError(f"no such file: {location.path}")
            model = YOLO(source, task="detect")
        if random_weights and len(described.classes) == len(model.names):
            model.model.names = dict(enumerate(described.classes))
        model.to(device)
        network: TorchYolo | OnnxRuntimeYolo | OpenVinoYolo | None = None
        if runtime == "auto" and auto_runtime(device) != "torch" and not random_weights:
            runtime = _fastest_cpu_runtime(model, label=label, device=device, imgsz=imgsz)
            network = _cpu_network(
                model, runtime, label=label, device=device, imgsz=imgsz, cache=True, explicit=False
            )
        elif runtime in ("auto", *CPU_RUNTIMES):
            network = _cpu_network(
                model,
                "onnxruntime" if runtime == "auto" else runtime,
                label=label,
                device=device,
                imgsz=imgsz,
                cache=not random_weights,
                explicit=runtime != "auto",
            )
        if network is None and runtime != "ultralytics":
            cuda = device.startswith("cuda")
            network = TorchYolo(
                model.model,
                device=device,
                imgsz=imgsz,
                half=True,
                static_batch=CUDA_BATCH_SIZE if cuda else None,
                cuda_graphs=cuda_graphs,
            )
            # The first call of an input shape is slow on a GPU; pay it at load,
            # not in the first run's first preview.
            network.warmup((1, CUDA_BATCH_SIZE))
        return cls(
            model,
            name=described.name,
            device=device,
            weights=weights,
            size=size,
            imgsz=imgsz,
            random_weights=random_weights,
            network=network,
            license=described.card.license,
        )

    def _predict(self, batch: Batch) -> list[sv.Detections]:
        # Filtering inside ultralytics' NMS is cheaper than dropping boxes afterwards.
        classes = [self._class_index[q] for q in batch.queries] or None
        frames, confidence, timing = batch.frames, batch.confidence, batch.timing
        if self.network is not None:
            return self._predict_network(frames, confidence, classes, timing)
        results = self.model.predict(
            frames,
            conf=confidence,
            device=self.device,
            quantize=16 if self.half else None,
            imgsz=self.imgsz,
            classes=classes,
            verbose=False,
        )
        # result.speed holds milliseconds per image for each stage.
        for result in results:
            for stage in STAGES:
                timing[stage] = timing.get(stage, 0.0) + (result.speed.get(stage) or 0.0) / 1000
        with self.stage(timing, "postprocess"):
            detections = []
            for result in results:
                dets = sv.Detections.from_ultralytics(result)
                if CLASS_NAME not in dets.data:
                    ids = dets.class_id if dets.class_id is not None else np.zeros(0, int)
                    dets.data[CLASS_NAME] = np.array(
                        [self.class_names[i] for i in ids], dtype=object
                    )
                detections.append(dets)
        return detections

    def _predict_network(
        self,
        frames: list[np.ndarray],
        confidence: float,
        classes: list[int] | None,
        timing: dict[str, float],
    ) -> list[sv.Detections]:
        network = self.network
        assert network is not None
        # CUDA runs asynchronously: without a sync at each stage's end, the
        # device's time would be booked to whichever stage waits for it.
        sync = getattr(network, "synchronize", lambda: None)
        with self.stage(timing, "preprocess"):
            batch = network.preprocess(frames)
            sync()
        with self.stage(timing, "inference"):
            raw = network.infer(batch)
            sync()
        with self.stage(timing, "postprocess"):
            shapes = [frame.shape for frame in frames]
            predictions = network.postprocess(raw, batch.shape[2:], shapes, confidence, classes)
            detections = []
            for pred in predictions:
                ids = pred[:, 5].astype(int)
                detections.append(
                    sv.Detections(
                        xyxy=pred[:, :4].astype(np.float32).reshape(-1, 4),
                        confidence=pred[:, 4].astype(np.float32),
                        class_id=ids,
                        data={
                            CLASS_NAME: np.array([self.class_names[i] for i in ids], dtype=object)
                        },
                    )
                )
        return detections

    def info(self) -> dict[str, Any]:
        """What the tracks file records about the model, with the runtime and precision that ran."""
        engine, precision = split_runtime(self.runtime)
        if self.half and engine in ("torch", "ultralytics"):
            precision = "fp16"
        return {**super().info(), "runtime": engine, "precision": precision}


def model_fingerprint(model: Any) -> str:
    """A hash of a model's architecture and every tensor of its state dict.

    Keys the ONNX cache on what is actually exported, whatever file the
    weights came from.

    Args:
        model: The ``torch.nn.Module`` (``YOLO(...).model``).

    Returns:
        A hex SHA-256 digest.
    """
    digest = hashlib.sha256()
    architecture = getattr(model, "yaml", None) or {}
    digest.update(json.dumps(architecture, sort_keys=True, default=str).encode())
    for key, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{key}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def onnx_cache_path(model: Any, imgsz: int) -> Path:
    """Where the ONNX export of ``model`` at ``imgsz`` is cached.

    Args:
        model: The ``torch.nn.Module`` to export.
        imgsz: Inference image size.

    Returns:
        ``<cache_dir>/onnx/<architecture>-<imgsz>-<key>.onnx``.
    """
    import onnx
    import torch
    import ultralytics

    versions = (
        f"ultralytics={ultralytics.__version__};torch={torch.__version__};onnx={onnx.__version__}"
    )
    key = hashlib.sha256(
        f"{model_fingerprint(model)};imgsz={imgsz};{versions};export={EXPORT_VERSION}".encode()
    ).hexdigest()[:20]
    stem = Path(str((getattr(model, "yaml", None) or {}).get("yaml_file", "model"))).stem or "model"
    return cache_dir() / ONNX_CACHE_FOLDER / f"{stem}-{imgsz}-{key}.onnx"


def export_onnx(model: Any, target: Path, imgsz: int) -> Path:
    """Export ``model`` to ONNX at ``target`` with ultralytics' exporter.

    The export has a dynamic input shape (any batch and frame size, so the
    letterbox can keep the minimum rectangle) and the raw head output, fp32.

    Args:
        model: The ``torch.nn.Module`` (``YOLO(...).model``), left unchanged.
        target: Output file; written atomically.
        imgsz: Size of the dummy input the export traces.

    Returns:
        ``target``.
    """
    from ultralytics.utils import LOGGER

    from models.compat.ultralytics import export_module_to_onnx

    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        _EXPORT_LOCK,
        tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp,
        _quiet(LOGGER),
    ):
        exported = export_module_to_onnx(
            copy.deepcopy(model).cpu(),
            Path(tmp),
            imgsz=imgsz,
            simplify=importlib.util.find_spec("onnxslim") is not None,
        )
        os.replace(exported, target)
    return target


def auto_runtime(device: str) -> str:
    """The runtime ``runtime="auto"`` picks on ``device``: ONNX Runtime on the CPU, else PyTorch.

    (Where the ONNX export fails, the CPU falls back to PyTorch too.)
    """
    return "onnxruntime" if device == "cpu" else "torch"


def _fastest_cpu_runtime(yolo: Any, *, label: str, device: str, imgsz: int) -> str:
    """The faster of :data:`CPU_RUNTIMES` for ``yolo``, measured once per process."""
    frame = np.zeros((imgsz, imgsz, 3), np.uint8)

    def one_call(runtime: str) -> Callable[[], Any] | None:
        network = _cpu_network(
            yolo, runtime, label=label, device=device, imgsz=imgsz, cache=True, explicit=False
        )
        if network is None:
            return None
        frames = measured_batch(frame)
        return lambda: network.postprocess(
            network.infer(network.preprocess(frames)), network.imgsz,
            [f.shape for f in frames], 0.25, None,
        )  # fmt: skip

    key = ("ultralytics", model_fingerprint(yolo.model), imgsz, device)
    # Without bfloat16 instructions OpenVINO would run float32 twice over.
    candidates = [r for r in CPU_RUNTIMES if precision_runs_here(r)]
    return fastest(key, candidates, one_call)


def _cpu_network(
    yolo: Any, runtime: str, *, label: str, device: str, imgsz: int, cache: bool, explicit: bool
) -> OnnxRuntimeYolo | OpenVinoYolo | None:
    """The network of a CPU runtime for ``yolo``, or None to stay on PyTorch."""
    if auto_runtime(device) != "onnxruntime":
        # CUDA runs PyTorch in fp16, which the CPU runtimes cannot beat.
        if explicit:
            log.warning(
                "%s: runtime=%r runs on the CPU only; using PyTorch on %s.", label, runtime, device
            )
        return None
    engine, precision = split_runtime(runtime)
    packages = ("onnx", "onnxruntime") if engine == "onnxruntime" else ("openvino",)
    missing = [m for m in packages if importlib.util.find_spec(m) is None]
    if missing or (engine == "openvino" and not openvino_installed()):
        log.warning("%s: %s not installed; running on PyTorch.", label, " and ".join(missing))
        return None
    if not precision_runs_here(runtime):
        log.warning("%s: this CPU has no bfloat16 instructions; running float32.", label)
        precision = FLOAT
    network = yolo.model
    try:
        if engine == "onnxruntime":
            return _onnx_network(network, label=label, imgsz=imgsz, cache=cache)
        built = functools.partial(_openvino_network, network, label=label, imgsz=imgsz, cache=cache)
        openvino = built(precision=precision)
        # Random weights (not cached) have no accuracy to keep.
        if precision == BF16 and cache and not _keeps_accuracy(openvino, network, label, imgsz):
            return built()
        return openvino
    except Exception as exc:  # any export failure must leave PyTorch working
        log.warning(
            "%s: %s export or load failed (%s: %s); running on PyTorch.",
            label,
            runtime,
            type(exc).__name__,
            exc,
        )
        return None


def _onnx_network(network: Any, *, label: str, imgsz: int, cache: bool) -> OnnxRuntimeYolo:
    stride = max(int(network.stride.max()), 32)
    if cache:
        path = onnx_cache_path(network, imgsz)
        export = functools.partial(export_onnx, network, path, imgsz)
        session = _cached_export(label, "ONNX", path, load=FrameParallelSession, export=export)
    else:
        # Random weights differ per instance: export beside nothing, keep the
        # session (it holds the model in memory) and drop the file.
        with tempfile.TemporaryDirectory(prefix="yolo-onnx-") as tmp:
            path = export_onnx(network, Path(tmp) / "model.onnx", imgsz)
            session = FrameParallelSession(path)
    return OnnxRuntimeYolo(session, path=path, imgsz=imgsz, stride=stride)


def _openvino_network(
    network: Any, *, label: str, imgsz: int, cache: bool, precision: str = FLOAT
) -> OpenVinoYolo:
    stride = max(int(network.stride.max()), 32)
    compile_model = functools.partial(OpenVinoModel, precision=precision)
    if cache:
        folder = openvino_cache_path(network, imgsz)
        xml = folder / "model.xml"
        export = functools.partial(export_openvino, network, folder, imgsz)
        model = _cached_export(label, "OpenVINO", xml, load=compile_model, export=export)
        return OpenVinoYolo(model, path=xml, imgsz=imgsz, stride=stride)
    with tempfile.TemporaryDirectory(prefix="yolo-openvino-") as tmp:
        xml = export_openvino(network, Path(tmp) / "model", imgsz)
        # Compiled, the model lives in memory: the files may go.
        return OpenVinoYolo(compile_model(xml), path=xml, imgsz=imgsz, stride=stride)


def _boxes(network: OnnxRuntimeYolo | OpenVinoYolo, frame: np.ndarray) -> np.ndarray:
    """``network``'s boxes in ``frame`` at confidence 0.25: (n, 6) x1, y1, x2, y2, score, class."""
    blob = network.preprocess([frame])
    return network.postprocess(network.infer(blob), blob.shape[2:], [frame.shape], 0.25, None)[0]


#: :func:`_keeps_accuracy`'s answers, by model fingerprint and image size: once per process.
_AGREEMENT: dict[tuple[str, int], float] = {}


def _keeps_accuracy(reduced: OpenVinoYolo, network: Any, label: str, imgsz: int) -> bool:
    """Whether ``reduced`` finds float32's boxes on the bundled clip.

    Real weights cannot be checked against ground truth offline, so a reduced
    precision is held to the float model's own boxes at confidence 0.25
    (:mod:`models.precision_check`).
    """
    key = (model_fingerprint(network), imgsz)
    if key not in _AGREEMENT:
        reference = _openvino_network(network, label=label, imgsz=imgsz, cache=True)
        frames = calibration_frames()
        boxes = [[_boxes(net, frame) for frame in frames] for net in (reference, reduced)]
        _AGREEMENT[key] = agreement(*boxes)
    if _AGREEMENT[key] >= MIN_AGREEMENT:
        return True
    log.warning(
        "%s: bfloat16 agrees with float32 on %.1f %% of the boxes of the bundled clip (at "
        "least %.0f %% needed); running float32.",
        label, 100 * _AGREEMENT[key], 100 * MIN_AGREEMENT,
    )  # fmt: skip
    return False


def _cached_export(
    label: str,
    format_name: str,
    path: Path,
    *,
    load: Callable[[Path], Any],
    export: Callable[[], Path],
) -> Any:
    """Load the cached export at ``path``, exporting it first when absent or unreadable."""
    if path.is_file():
        try:
            return load(path)
        except Exception as exc:
            # A damaged cache entry (disk full, killed copy) would otherwise
            # disable the fast path for good: export it again.
            log.warning("%s: discarding unreadable %s (%s)", label, path, exc)
            # An ONNX export is one file; an OpenVINO one, a folder of its own.
            if path.suffix == ".onnx":
                path.unlink(missing_ok=True)
            else:
                shutil.rmtree(path.parent, ignore_errors=True)
    log.info("%s: exporting to %s once, cached at %s", label, format_name, path)
    return load(export())


def openvino_cache_path(model: Any, imgsz: int) -> Path:
    """Where the OpenVINO export of ``model`` at ``imgsz`` is cached (a folder).

    Args:
        model: The ``torch.nn.Module`` to export.
        imgsz: Inference image size.

    Returns:
        ``<cache_dir>/openvino/<the ONNX cache file's stem>-ov<openvino version>``.
    """
    import openvino

    stem = onnx_cache_path(model, imgsz).stem
    version = openvino.__version__.split("-")[0]
    return cache_dir() / OPENVINO_CACHE_FOLDER / f"{stem}-ov{version}"


def export_openvino(model: Any, target: Path, imgsz: int) -> Path:
    """Export ``model`` to OpenVINO IR in the folder ``target`` with ultralytics' exporter.

    Args:
        model: The ``torch.nn.Module`` (``YOLO(...).model``), left unchanged.
        target: Output folder, holding ``model.xml`` and ``model.bin``; written
            atomically (renamed into place when complete).
        imgsz: Size of the dummy input the export traces.

    Returns:
        ``target / "model.xml"``.
    """
    from ultralytics.utils import LOGGER

    from models.compat.ultralytics import export_module_to_openvino

    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        _EXPORT_LOCK,
        tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp,
        _quiet(LOGGER),
    ):
        xml = export_module_to_openvino(copy.deepcopy(model).cpu(), Path(tmp), imgsz=imgsz)
        staged = Path(tmp) / "staged"
        staged.mkdir()
        os.replace(xml, staged / "model.xml")
        os.replace(xml.with_suffix(".bin"), staged / "model.bin")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)
    return target / "model.xml"


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    # The exporter prints a dozen lines (and a link to a website) per export.
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class UltralyticsAsset:
    """An ultralytics release asset (``yolo11m.pt``), cached in :func:`models.weights.cache_dir`.

    Ultralytics would otherwise download into the current directory; keeping
    assets in the cache avoids litter and re-downloads.

    Attributes:
        name: Asset file name.
    """

    name: str

    #: Ultralytics downloads its assets from GitHub releases.
    host = ASSETS_HOST

    def describe(self) -> str:
        """The asset's file name."""
        return self.name

    def cached(self) -> Path | None:
        """The cached asset, if there."""
        return cached_file(self.name)

    def fetch(self, progress: ByteProgress | None = None) -> Path:
        """Download the asset once (or take the cached copy).

        Args:
            progress: Told when the download starts (size unknown: ultralytics
                downloads it) and when it ends.

        Raises:
            OSError: Offline and not cached, or the download failed.
        """
        from ultralytics.utils.downloads import attempt_download_asset

        cached = self.cached()
        if cached is not None:
            return cached
        target = cache_dir() / self.name
        if is_offline():
            raise ConnectionError(f"offline mode is on and {target} is not cached")
        if progress is not None:
            progress(0, None)
        path = Path(attempt_download_asset(str(target)))
        if not path.is_file():
            raise FileNotFoundError(f"{self.name} is not an ultralytics asset")
        if progress is not None:
            size = path.stat().st_size
            progress(size, size)
        return path


#: Rough ZeroGPU end-to-end frames per second of the ultralytics detectors' default sizes.
THROUGHPUT_FPS = 40.0
#: The sizes an ultralytics YOLO family comes in, nano to extra large.
YOLO_SIZES = ("n", "s", "m", "l", "x")


@dataclass(frozen=True)
class UltralyticsModel:
    """One ultralytics detector offered here: its card and where its weights are.

    Attributes:
        name: Registry name.
        card: What users are told about it (its sizes, the licence of the weights and
            of ultralytics, the environment variable for local weights...).
        locate: ``locate(size=..., weights=...)``: where a size's weights are (see :func:`locate`).
        classes: Names given to random weights whose class count matches, so that they
            accept the same queries as the trained ones.
    """

    name: str
    card: ModelCard
    locate: Callable[..., WeightsLocation]
    classes: Sequence[str]

    def register(self) -> Callable[..., UltralyticsDetector]:
        """Register :meth:`UltralyticsDetector.load` of this model under :attr:`name`.

        Returns:
            The factory: ``factory(device=..., size=..., weights=..., imgsz=..., runtime=...,
            cuda_graphs=...)`` builds the detector.
        """
        return register(
            "detector",
            self.name,
            self.card,
            locate=self.locate,
            runtimes=RUNTIMES,
            requires=(ULTRALYTICS,),
        )(functools.partial(UltralyticsDetector.load, self))


def locate(
    label: str, weights: str, env_var: str, download: Callable[[str], RemoteWeights | None]
) -> WeightsLocation:
    """Where chosen ultralytics weights are, as :meth:`UltralyticsDetector.load` reads them.

    Args:
        label: Display name (with the size), for messages.
        weights: The chosen weights (option, environment variable or default).
        env_var: The model's environment variable.
        download: What ``weights`` names when it is neither an architecture nor
            an existing file (an asset, a Hub repository); None: a missing file.

    Returns:
        An architecture (``.yaml``: random weights), a local file, or the download.
    """
    if is_architecture_file(weights):
        return WeightsLocation.architecture(label, weights, env_var)
    if Path(weights).expanduser().is_file():
        return WeightsLocation.at_path(label, weights, env_var)
    remote = download(weights)
    if remote is None:
        return WeightsLocation.at_path(label, weights, env_var)
    return WeightsLocation.download(label, weights, env_var, remote)
