"""int8 models by ONNX Runtime's static quantization, calibrated on real frames, cached once.

OpenVINO runs the same quantized file too. NNCF (OpenVINO's own quantizer) was
measured and not taken: on the 2-vCPU development machine (AMD EPYC, AVX-512
VNNI) its int8 YOLOX-Nano ran within 0.08 of OpenVINO float32
(``docs/cpu-runtimes.md``), and NNCF is a large dependency.

The quantized model is QDQ (quantize/dequantize pairs around int8 operators),
weights per channel, calibrated by min/max on frames of the bundled clip
(:data:`CALIBRATION_CLIP`) or of any video given. The head's last convolutions
and everything after them (sigmoids, decoding, concatenation) stay float32, as
ultralytics' own int8 export keeps its head: scores and box offsets are where
8 bits are felt, and they are a sliver of the compute. The calibration clip
matters more: calibrated on ``one_by_one_person.mp4`` instead, YOLOX-Nano's
int8 lost 2.2 points of recall on TUD-Campus, with or without the float head.

Example:
    path = quantized_model(Path("yolox_nano.onnx"), preprocess)
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from models.weights import cache_dir

#: Frames the quantization is calibrated on: a bundled CC BY 4.0 clip (street
#: traffic, so persons and vehicles at several scales), kept out of the examples.
CALIBRATION_CLIP = (
    Path(__file__).resolve().parents[1] / "assets" / "calibration" / "car_detection.mp4"
)
CALIBRATION_FRAMES = 20
CALIBRATION_STEP = 5
#: Per-channel weights need QDQ with an axis, which ONNX has from opset 13.
MIN_OPSET = 13
INT8_CACHE_FOLDER = "int8"
# Part of the cache key: bump it when the quantization settings below change.
QUANTIZATION_VERSION = 1

log = logging.getLogger(__name__)
_QUANTIZE_LOCK = threading.Lock()


def calibration_frames(
    video: Path = CALIBRATION_CLIP, count: int = CALIBRATION_FRAMES, step: int = CALIBRATION_STEP
) -> list[np.ndarray]:
    """Every ``step``-th frame of ``video``, at most ``count``, as BGR uint8 arrays."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % step == 0:
                frames.append(frame.to_ndarray(format="bgr24"))
            if len(frames) >= count:
                break
    if not frames:
        raise ValueError(f"no frames to calibrate on in {video}")
    return frames


def quantized_path(source: Path, calibration: Path = CALIBRATION_CLIP) -> Path:
    """Where the int8 model of ``source`` calibrated on ``calibration`` is cached.

    Keyed by the bytes of both files and the onnxruntime version, in
    :func:`models.weights.cache_dir` beside the downloaded weights.
    """
    import onnxruntime

    digest = hashlib.sha256()
    for path in (source, calibration):
        digest.update(path.read_bytes())
    digest.update(f"ort={onnxruntime.__version__};v={QUANTIZATION_VERSION}".encode())
    key = digest.hexdigest()[:20]
    return cache_dir() / INT8_CACHE_FOLDER / f"{source.stem}-int8-{key}.onnx"


def quantized_model(
    source: Path,
    preprocess: Callable[[np.ndarray], dict[str, np.ndarray]],
    *,
    calibration: Path = CALIBRATION_CLIP,
) -> Path:
    """The int8 model of ``source``: quantized once, then taken from the cache.

    Args:
        source: The float32 ONNX model.
        preprocess: One BGR frame to the model's inputs (name to array), as
            the detector feeds it.
        calibration: The video whose frames calibrate the activations' ranges.

    Returns:
        The quantized ONNX file.
    """
    target = quantized_path(source, calibration)
    with _QUANTIZE_LOCK:
        if target.is_file():
            return target
        log.info("quantizing %s to int8 once (calibration: %s), cached at %s",
                 source.name, calibration.name, target)  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantize-") as tmp:
            quantized = Path(tmp) / "model.onnx"
            _quantize(source, quantized, [preprocess(f) for f in calibration_frames(calibration)])
            os.replace(quantized, target)
    return target


def _quantize(source: Path, target: Path, inputs: list[dict[str, np.ndarray]]) -> None:
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self._inputs: Iterator[dict[str, np.ndarray]] = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._inputs, None)

    model = onnx.load(str(source))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        model = version_converter.convert_version(model, MIN_OPSET)
    upgraded, prepared = target.with_name("upgraded.onnx"), target.with_name("prepared.onnx")
    onnx.save(model, str(upgraded))
    # Shape inference and constant folding first, as onnxruntime recommends.
    quant_pre_process(str(upgraded), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(target),
        Frames(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        nodes_to_exclude=float_head(onnx.load(str(prepared))),
    )


def float_head(model: Any) -> list[str]:
    """The nodes kept float32: those no convolution follows (the last convolutions included).

    Args:
        model: An ``onnx.ModelProto``.

    Returns:
        Node names.
    """
    consumers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    # Nodes come in topological order: walking them backwards sees each consumer first.
    feeds_conv: dict[str, bool] = {}
    for node in reversed(model.graph.node):
        feeds_conv[node.name] = any(
            consumer.op_type == "Conv" or feeds_conv[consumer.name]
            for output in node.output
            for consumer in consumers.get(output, [])
        )
    return sorted(name for name, feeds in feeds_conv.items() if not feeds)
