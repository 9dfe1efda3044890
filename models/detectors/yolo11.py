"""YOLO11 (ultralytics), trained on COCO: fast closed-vocabulary detection.

Weights: ``weights=`` / ``$YOLO11_WEIGHTS`` (a ``.pt`` file, or an architecture
such as ``yolo11n.yaml`` for random weights), else the ultralytics release asset
``yolo11{size}.pt``, cached under :func:`models.weights.cache_dir`.
"""

from __future__ import annotations

from models.detectors.ultralytics_common import UltralyticsDetector, ultralytics_asset
from models.registry import register
from models.weights import resolve_weights

ENV_VAR = "YOLO11_WEIGHTS"
LABEL = "YOLO11"
LICENSE = "AGPL-3.0"


@register(
    "detector",
    "yolo11",
    label=LABEL,
    sizes=("n", "s", "m", "l", "x"),
    default_size="m",
    description="Ultralytics YOLO11 trained on COCO (80 classes); fast on GPU and CPU.",
    license=LICENSE,
    throughput_fps=40.0,
    env_var=ENV_VAR,
)
def create_yolo11(
    *,
    device: str,
    size: str = "m",
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

    chosen = resolve_weights(weights, env_var=ENV_VAR, default=f"yolo11{size}.pt")
    coco = YAML.load(ROOT / "cfg" / "datasets" / "coco.yaml")["names"]
    return UltralyticsDetector.load(
        name="yolo11",
        label=f"{LABEL}-{size}",
        weights=chosen,
        env_var=ENV_VAR,
        fetch=ultralytics_asset,
        license=LICENSE,
        device=device,
        size=size,
        imgsz=imgsz,
        runtime=runtime,
        cuda_graphs=cuda_graphs,
        random_class_names=[coco[i] for i in sorted(coco)],
    )
