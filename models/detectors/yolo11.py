"""YOLO11 (ultralytics), trained on COCO: fast closed-vocabulary detection.

Weights: ``weights=`` / ``$YOLO11_WEIGHTS`` (a ``.pt`` file, or an architecture
such as ``yolo11n.yaml`` for random weights), else the ultralytics release asset
``yolo11{size}.pt``, cached under :func:`models.weights.cache_dir`.
"""

from __future__ import annotations

from pathlib import Path

from models.detectors.ultralytics_common import (
    RUNTIMES,
    UltralyticsAsset,
    UltralyticsDetector,
    locate,
)
from models.registry import register
from models.requirements import ULTRALYTICS
from models.weights import resolve_weights
from models.weights_sources import WeightsLocation

ENV_VAR = "YOLO11_WEIGHTS"
LABEL = "YOLO11"
# Code and the yolo11*.pt weights: AGPL-3.0 (or an Ultralytics Enterprise licence), per
# github.com/ultralytics/ultralytics LICENSE and docs.ultralytics.com/models/yolo11 ("Licensing").
LICENSE = "AGPL-3.0"
SIZES = ("n", "s", "m", "l", "x")
DEFAULT_SIZE = "m"


def locate_weights(*, size: str = DEFAULT_SIZE, weights: str | None = None) -> WeightsLocation:
    """Where YOLO11's weights are: ``weights``, else ``$YOLO11_WEIGHTS``, else the asset.

    Args:
        size: One of n, s, m, l, x.
        weights: The ``weights=`` option.

    Returns:
        An architecture, a local ``.pt``, or the ultralytics asset (a bare file
        name such as ``yolo11{size}.pt``).
    """
    chosen = resolve_weights(weights, env_var=ENV_VAR, default=f"yolo11{size}.pt")
    return locate(f"{LABEL}-{size}", chosen, ENV_VAR, _asset)


def _asset(name: str) -> UltralyticsAsset | None:
    # Only a bare file name can be an asset; a path that does not exist is a missing file.
    return UltralyticsAsset(name) if Path(name).name == name else None


@register(
    "detector",
    "yolo11",
    label=LABEL,
    sizes=SIZES,
    default_size=DEFAULT_SIZE,
    description="Ultralytics YOLO11 trained on COCO (80 classes); fast on GPU and CPU.",
    license=LICENSE,
    throughput_fps=40.0,
    locate=locate_weights,
    env_var=ENV_VAR,
    runtimes=RUNTIMES,
    requires=(ULTRALYTICS,),
)
def create_yolo11(
    *,
    device: str,
    size: str = DEFAULT_SIZE,
    weights: str | None = None,
    imgsz: int = 640,
    runtime: str = "auto",
    cuda_graphs: bool = True,
) -> UltralyticsDetector:
    """Build a YOLO11 detector.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: One of n, s, m, l, x.
        weights: A ``.pt`` file, an architecture ``.yaml`` (random weights), or
            an ultralytics asset name; defaults to ``$YOLO11_WEIGHTS``, then
            ``yolo11{size}.pt``.
        imgsz: Inference image size.
        runtime: ``"auto"`` (ONNX Runtime on the CPU, exported once and cached,
            when that works; else ``"torch"``), ``"torch"`` (PyTorch called
            directly: fp16, pinned memory and static shapes on CUDA),
            ``"onnxruntime"`` or ``"ultralytics"`` (ultralytics' predictor).
        cuda_graphs: With the ``"torch"`` runtime on CUDA, replay the forward
            pass from a captured CUDA graph.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.

    Example:
        >>> detector = create_yolo11(device="cpu", weights="yolo11n.yaml")  # doctest: +SKIP
    """
    from ultralytics.utils import ROOT, YAML

    coco = YAML.load(ROOT / "cfg" / "datasets" / "coco.yaml")["names"]
    return UltralyticsDetector.load(
        name="yolo11",
        location=locate_weights(size=size, weights=weights),
        license=LICENSE,
        device=device,
        size=size,
        imgsz=imgsz,
        runtime=runtime,
        cuda_graphs=cuda_graphs,
        random_class_names=[coco[i] for i in sorted(coco)],
    )
