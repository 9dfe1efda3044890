"""YOLOX-Nano (Megvii, Apache-2.0): a 0.9 M-parameter COCO detector for CPUs, four runtimes.

Weights, first match wins: ``weights=`` / ``$YOLOX_NANO_WEIGHTS`` (a local
``.onnx`` file or a URL); the copy bundled with the app
(``assets/models/yolox_nano/yolox_nano.onnx``, Apache-2.0, so that a first run
works offline); else the official export from the YOLOX 0.1.1rc0 release
(``$YOLOX_NANO_URL`` overrides the address), downloaded once into
:func:`models.weights.cache_dir`.

The export takes ``images`` [1, 3, 416, 416] float32 BGR in 0..255 (no
normalisation), letterboxed to the top-left with padding 114, and returns the
raw head [1, 3549, 85]: grid offsets, log width/height, objectness and 80 class
scores (both already sigmoid-activated), over strides 8, 16 and 32.

It runs on ONNX Runtime or OpenVINO (from the same ONNX file), float32 or int8
(:mod:`models.int8`), or on OpenVINO in bfloat16 where the CPU has it;
``runtime="auto"`` measures them (:mod:`models.runtimes`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import cv2
import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME, Batch, Detector
from models.detectors.coco import darknet_classes
from models.errors import InvalidWeightsError, ModelError
from models.int8 import calibration_frames, quantized_model
from models.onnx_sessions import FrameParallelSession, frames_at_once, onnx_session, run_frames
from models.openvino_models import OpenVinoModel, openvino_installed, precision_runs_here
from models.registry import ModelCard, register
from models.runtimes import (
    AUTO,
    BF16,
    FLOAT,
    INT8,
    InvalidRuntimeError,
    check_runtime,
    fastest,
    measured_batch,
    split_runtime,
)
from models.weights import BUNDLED_MODELS_DIR, loading_weights, resolve_weights
from models.weights_sources import UrlFile, WeightsLocation

log = logging.getLogger(__name__)

CARD = ModelCard(
    label="YOLOX-Nano",
    description="YOLOX-Nano (COCO, 80 classes) on ONNX Runtime or OpenVINO; small and fast on CPU.",
    # github.com/Megvii-BaseDetection/YOLOX is Apache-2.0; the bundled export ships that licence
    # (assets/models/yolox_nano/LICENSE, see assets/README.md).
    license="Apache-2.0",
    throughput_fps=60.0,
    env_var="YOLOX_NANO_WEIGHTS",
)
URL_ENV_VAR = "YOLOX_NANO_URL"
DEFAULT_URL = (
    "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx"
)
#: The copy that ships with the app (see ``assets/README.md``).
BUNDLED_WEIGHTS = BUNDLED_MODELS_DIR / "yolox_nano" / "yolox_nano.onnx"
#: The runtimes it takes, ``"auto"`` first; the int8 and bf16 ones keep person
#: precision and recall on TUD-Campus within a point of float32's
#: (tests/test_cpu_runtimes.py).
RUNTIMES = ("auto", "onnxruntime", "onnxruntime-int8", "openvino", "openvino-int8", "openvino-bf16")
STRIDES = (8, 16, 32)
PAD_VALUE = 114
NMS_IOU = 0.45
# The model's class order, with the darknet spellings its exports ship with.
COCO_CLASSES = darknet_classes()


def letterbox(frame: np.ndarray, height: int, width: int) -> tuple[np.ndarray, float]:
    """Resize ``frame`` to fit (height, width), keep its aspect, pad bottom/right with 114.

    Args:
        frame: BGR uint8 image (H, W, 3).
        height: Model input height.
        width: Model input width.

    Returns:
        The NCHW float32 input blob and the resize ratio (model pixels per frame pixel).
    """
    ratio = min(height / frame.shape[0], width / frame.shape[1])
    new_w, new_h = int(frame.shape[1] * ratio), int(frame.shape[0] * ratio)
    canvas = np.full((height, width, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
    return np.ascontiguousarray(blob), ratio


def make_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell offsets and strides of the YOLOX head outputs, in output order.

    Args:
        height: Model input height.
        width: Model input width.

    Returns:
        ``(grid, strides)`` of shapes (N, 2) and (N, 1).
    """
    grids, strides = [], []
    for stride in STRIDES:
        xs, ys = np.meshgrid(np.arange(width // stride), np.arange(height // stride))
        grid = np.stack((xs, ys), axis=-1).reshape(-1, 2)
        grids.append(grid)
        strides.append(np.full((len(grid), 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


class YoloxNanoDetector(Detector):
    """YOLOX-Nano on ONNX Runtime or OpenVINO.

    Its export has a fixed batch of 1: on a CPU a batch's frames run one per core
    at once (:class:`~models.onnx_sessions.FrameParallelSession`,
    :meth:`~models.openvino_models.OpenVinoModel.run_each`), otherwise one after
    the other.

    Attributes:
        session: The ONNX Runtime session (ONNX Runtime only).
        openvino: The compiled OpenVINO model (OpenVINO only).
        path: The ONNX file it was made from (the int8 one for int8 runtimes).
        runtime: The runtime that runs it, e.g. ``"onnxruntime-int8"``.
        providers: Execution providers the ONNX Runtime session uses (else empty).
    """

    name = "yolox_nano"

    def __init__(
        self,
        session: Any | None = None,
        *,
        device: str,
        weights: str,
        class_names: tuple[str, ...],
        path: Path | None = None,
        openvino: OpenVinoModel | None = None,
        runtime: str = "onnxruntime",
    ) -> None:
        super().__init__(
            device=device, weights=weights, class_names=class_names, license=CARD.license_for()
        )
        if (session is None) == (openvino is None):
            raise ValueError("give an ONNX Runtime session or an OpenVINO model, not both")
        self.openvino = openvino
        if session is not None:
            self.session = session
            self.providers: list[str] = session.get_providers()
            input_shape = session.get_inputs()[0].shape
        else:
            assert openvino is not None
            self.providers = []
            input_shape = openvino.input_shape
        self.path = path
        self.runtime = runtime
        self._input_name = session.get_inputs()[0].name if session is not None else ""
        self._height, self._width = (int(d) for d in input_shape[2:4])
        self._grid, self._strides = make_grid(self._height, self._width)
        self._class_index = {n: i for i, n in enumerate(self.class_names)}
        if device == "cpu":
            self.default_batch_size = frames_at_once(session if session is not None else openvino)

    def _infer(self, blobs: list[np.ndarray]) -> list[np.ndarray]:
        # Read the session at each call: the profiler swaps in a profiling one.
        if self.openvino is not None:
            return self.openvino.run_each(blobs)
        return run_frames(self.session, [{self._input_name: blob} for blob in blobs])

    def _predict(self, batch: Batch) -> list[sv.Detections]:
        wanted = [self._class_index[q] for q in batch.queries]
        timing = batch.timing
        with self.stage(timing, "preprocess"):
            letterboxed = [letterbox(frame, self._height, self._width) for frame in batch.frames]
        with self.stage(timing, "inference"):
            outputs = self._infer([blob for blob, _ in letterboxed])
        with self.stage(timing, "postprocess"):
            ratios = [ratio for _, ratio in letterboxed]
            return [
                self._decode(output[0], ratio, frame.shape, batch.confidence, wanted)
                for output, ratio, frame in zip(outputs, ratios, batch.frames, strict=True)
            ]

    def _decode(
        self,
        output: np.ndarray,
        ratio: float,
        shape: tuple[int, ...],
        confidence: float,
        wanted: list[int],
    ) -> sv.Detections:
        scores = output[:, 5:] * output[:, 4:5]
        if wanted:
            # Choose each box's best class among the queried ones, not overall.
            mask = np.zeros(scores.shape[1], dtype=bool)
            mask[wanted] = True
            scores = np.where(mask, scores, 0.0)
        class_id = scores.argmax(axis=1)
        score = scores[np.arange(len(scores)), class_id]
        keep = score > confidence
        centers = (output[keep, :2] + self._grid[keep]) * self._strides[keep]
        sizes = np.exp(output[keep, 2:4]) * self._strides[keep]
        xyxy = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1) / ratio
        height, width = shape[:2]
        xyxy = np.clip(xyxy, 0, [width, height, width, height]).astype(np.float32)
        ids = class_id[keep].astype(int)
        detections = sv.Detections(
            xyxy=xyxy.reshape(-1, 4),
            confidence=score[keep].astype(np.float32),
            class_id=ids,
            data={CLASS_NAME: np.array([self.class_names[i] for i in ids], dtype=object)},
        )
        return detections.with_nms(threshold=NMS_IOU, class_agnostic=False)

    def info(self) -> dict[str, Any]:
        """What the tracks file records about the model, with its runtime, precision, providers."""
        engine, precision = split_runtime(self.runtime)
        return {
            **super().info(),
            "runtime": engine,
            "precision": precision,
            "providers": self.providers,
        }


def _class_names(weights: Path, n_classes: int) -> tuple[str, ...]:
    # A custom export may ship its own names beside the model.
    names_file = weights.with_name("coco_classes.txt")
    if names_file.is_file():
        names = tuple(line.strip() for line in names_file.read_text().splitlines() if line.strip())
        if len(names) == n_classes:
            return names
    if n_classes == len(COCO_CLASSES):
        return COCO_CLASSES
    return tuple(str(i) for i in range(n_classes))


def _session(path: Path, device: str) -> Any:
    import onnxruntime as ort

    providers: list[Any] = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        index = int(device.partition(":")[2] or 0)
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": index}))
    return FrameParallelSession(path, providers)


def locate_weights(*, weights: str | None = None) -> WeightsLocation:
    """Where YOLOX-Nano's weights are: ``weights``, ``$YOLOX_NANO_WEIGHTS``, bundled, or the URL.

    Args:
        weights: The ``weights=`` option: a local ``.onnx`` file or a URL.

    Returns:
        A local file (the bundled one when nothing is set), or a download.
    """
    default = os.environ.get(URL_ENV_VAR, "").strip() or DEFAULT_URL
    if BUNDLED_WEIGHTS.is_file():
        default = str(BUNDLED_WEIGHTS)
    chosen = resolve_weights(weights, env_var=CARD.env_var, default=default)
    if urlparse(chosen).scheme in ("http", "https"):
        filename = Path(urlparse(chosen).path).name or "yolox_nano.onnx"
        return WeightsLocation.download(CARD.label, chosen, CARD.env_var, UrlFile(chosen, filename))
    bundled = chosen == str(BUNDLED_WEIGHTS)
    return WeightsLocation.at_path(CARD.label, chosen, CARD.env_var, bundled=bundled)


@register("detector", "yolox_nano", CARD, locate=locate_weights, runtimes=RUNTIMES)
def create_yolox_nano(
    *, device: str, weights: str | None = None, runtime: str = AUTO
) -> YoloxNanoDetector:
    """Build a YOLOX-Nano detector.

    Args:
        device: ``"cpu"``, or ``"cuda"``/``"cuda:N"`` to use ONNX Runtime's CUDA
            provider when the installed onnxruntime has it (else CPU).
        weights: A local ``.onnx`` file or a URL; defaults to
            ``$YOLOX_NANO_WEIGHTS``, then the bundled file, then the official
            release download.
        runtime: One of :data:`RUNTIMES`: ``"auto"`` (on a CPU the fastest of
            the others, measured once per process, see :mod:`models.runtimes`;
            on a GPU ONNX Runtime, as before), ``"onnxruntime"``,
            ``"onnxruntime-int8"``, ``"openvino"``, ``"openvino-int8"`` (the
            int8 ones quantized once, see :mod:`models.int8`) or
            ``"openvino-bf16"`` (bfloat16, on a CPU that has it; OpenVINO on the
            CPU only).

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
        InvalidRuntimeError: A runtime YOLOX-Nano cannot use, OpenVINO on a
            GPU or not installed, or bf16 on a CPU without it.

    Example:
        >>> detector = create_yolox_nano(device="cpu", runtime="onnxruntime")
        >>> detector.info()["runtime"], detector.class_names[:2]
        ('onnxruntime', ['person', 'bicycle'])
    """
    check_runtime(CARD.label, runtime, RUNTIMES)
    location = locate_weights(weights=weights)
    with loading_weights(CARD.label, location.weights, CARD.env_var):
        if isinstance(location.remote, UrlFile):
            path = location.remote.fetch()
        elif location.path is not None and location.path.is_file():
            path = location.path
        else:
            raise FileNotFoundError(f"no such file: {location.path}")
    cpu = not device.startswith("cuda")
    if runtime.startswith("openvino") and not (cpu and openvino_installed()):
        why = "runs on the CPU only" if not cpu else "needs the openvino package"
        raise InvalidRuntimeError(f"{CARD.label}: {runtime!r} {why}; use 'onnxruntime' or 'auto'.")
    if not precision_runs_here(runtime):
        raise InvalidRuntimeError(
            f"{CARD.label}: {runtime!r} needs a CPU with bfloat16 instructions (AVX-512 BF16 or "
            "AMX), which this one lacks; use 'openvino' or 'auto'."
        )
    if runtime == AUTO:
        runtime = _auto_runtime(path, device) if cpu else "onnxruntime"
    return _build(path, device, location.weights, runtime)


def _build(path: Path, device: str, weights: str, runtime: str) -> YoloxNanoDetector:
    """The detector on ``runtime`` (checked and available)."""
    engine, precision = split_runtime(runtime)
    model_path = path
    if precision == INT8:
        # Calibrate on the inputs the float model declares (a custom export may differ).
        model_input = onnx_session(path).get_inputs()[0]
        height, width = (int(d) for d in model_input.shape[2:4])
        try:
            model_path = quantized_model(
                path, lambda frame: {model_input.name: letterbox(frame, height, width)[0]}
            )
        except Exception as exc:  # a custom export the quantizer cannot handle
            raise ModelError(
                f"{CARD.label}: could not quantize {path.name} to int8 "
                f"({type(exc).__name__}: {exc}); "
                "use 'onnxruntime' or 'auto'."
            ) from exc
    names_path = path  # a custom export's names sit beside the original file
    if engine == "openvino":
        model = OpenVinoModel(model_path, precision if precision == BF16 else FLOAT)
        n_classes = int(model.output_shape[-1]) - 5
        return YoloxNanoDetector(
            device=device, weights=weights, class_names=_class_names(names_path, n_classes),
            path=model_path, openvino=model, runtime=runtime,
        )  # fmt: skip
    session = _session(model_path, device)
    n_classes = int(session.get_outputs()[0].shape[-1]) - 5
    return YoloxNanoDetector(
        session, device=device, weights=weights, class_names=_class_names(names_path, n_classes),
        path=model_path, runtime=runtime,
    )  # fmt: skip


def _auto_runtime(path: Path, device: str) -> str:
    """The fastest CPU runtime for the model at ``path``, measured once per process."""
    candidates = [r for r in RUNTIMES if r != AUTO]
    if not openvino_installed():
        candidates = [r for r in candidates if not r.startswith("openvino")]
    candidates = [r for r in candidates if precision_runs_here(r)]

    def one_call(runtime: str) -> Any:
        try:
            detector = _build(path, device, str(path), runtime)
        except InvalidWeightsError:
            if runtime == "onnxruntime":  # the file as given: no other runtime reads it either
                raise
            return None
        except Exception as exc:  # a runtime that fails here is simply not a candidate
            log.warning("%s: %s unavailable for auto (%s: %s)", CARD.label, runtime,
                        type(exc).__name__, exc)  # fmt: skip
            return None
        frames = measured_batch(calibration_frames(count=1)[0])
        return lambda: detector.detect(frames, confidence=0.25)

    return fastest(("yolox_nano", str(path.resolve()), device), candidates, one_call)
