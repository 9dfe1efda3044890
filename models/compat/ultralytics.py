"""What this project takes from ``ultralytics``' private internals, checked against one version.

:func:`export_module_to_onnx` drives ``ultralytics.engine.exporter.Exporter``
directly on a bare detection module (the public ``YOLO.export`` needs a
``YOLO`` object and writes beside its weights), naming the output through the
module's ``pt_path`` attribute.

Importing this module on another ultralytics version raises
:class:`models.compat.IncompatibleVersionError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.compat import require_version

DISTRIBUTION = "ultralytics"
#: The ultralytics release this module was checked against.
VERIFIED_VERSION = "8.4.190"

require_version(DISTRIBUTION, VERIFIED_VERSION, shim=__name__)


def export_module_to_onnx(module: Any, folder: Path, *, imgsz: int, simplify: bool) -> Path:
    """Export a detection module to ONNX with ultralytics' own exporter.

    The export has a dynamic input shape (any batch and frame size) and the raw
    head output, fp32, on the CPU.

    Args:
        module: The ``torch.nn.Module`` (``YOLO(...).model``); the exporter
            modifies it, so pass a copy.
        folder: Where the exporter writes (its file is named after ``model.pt``
            there, never beside the weights or in the working directory).
        imgsz: Size of the dummy input the export traces.
        simplify: Run onnxslim on the graph (when installed).

    Returns:
        The exported file, inside ``folder``.

    Raises:
        RuntimeError: The exporter produced no file.
    """
    exported = _export(module, folder, imgsz=imgsz, format="onnx", simplify=simplify)
    if not exported or not Path(exported).is_file():
        raise RuntimeError("ultralytics' exporter produced no ONNX file")
    return Path(exported)


def export_module_to_openvino(module: Any, folder: Path, *, imgsz: int) -> Path:
    """Export a detection module to OpenVINO IR with ultralytics' own exporter.

    Dynamic input shape (any batch and frame size), raw head output, fp32.

    Args:
        module: The ``torch.nn.Module`` (``YOLO(...).model``); the exporter
            modifies it, so pass a copy.
        folder: Where the exporter writes its ``model_openvino_model`` folder.
        imgsz: Size of the dummy input the export traces.

    Returns:
        The exported ``.xml`` file (its ``.bin`` beside it).

    Raises:
        RuntimeError: The exporter produced no model.
    """
    exported = _export(module, folder, imgsz=imgsz, format="openvino", quantize=None)
    xml = next(Path(exported).glob("*.xml"), None) if exported else None
    if xml is None:
        raise RuntimeError("ultralytics' exporter produced no OpenVINO model")
    return xml


def _export(module: Any, folder: Path, *, imgsz: int, format: str, **settings: Any) -> Any:
    """Run the exporter on a bare module: dynamic shape, batch 1, CPU, raw head output."""
    from ultralytics.engine.exporter import Exporter

    module.pt_path = str(folder / "model.pt")
    overrides = {
        "format": format,
        "imgsz": imgsz,
        "dynamic": True,
        **settings,
        "batch": 1,
        "device": "cpu",
        "nms": None,
        "data": None,
        "verbose": False,
        "mode": "export",
    }
    return Exporter(overrides=overrides)(model=module)
