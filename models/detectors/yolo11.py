"""YOLO11 (ultralytics), trained on COCO: fast closed-vocabulary detection.

Weights: ``weights=`` / ``$YOLO11_WEIGHTS`` (a ``.pt`` file, or an architecture
such as ``yolo11n.yaml`` for random weights), else the ultralytics release asset
``yolo11{size}.pt``, cached under :func:`models.weights.cache_dir`.
"""

from __future__ import annotations

from pathlib import Path

from models.detectors.coco import COCO_CLASSES
from models.detectors.ultralytics_common import (
    THROUGHPUT_FPS,
    YOLO_SIZES,
    UltralyticsAsset,
    UltralyticsModel,
    locate,
)
from models.registry import ModelCard
from models.weights import resolve_weights
from models.weights_sources import WeightsLocation

CARD = ModelCard(
    label="YOLO11",
    description="Ultralytics YOLO11 trained on COCO (80 classes); fast on GPU and CPU.",
    # Code and the yolo11*.pt weights: AGPL-3.0 (or an Ultralytics Enterprise licence), per
    # github.com/ultralytics/ultralytics LICENSE and docs.ultralytics.com/models/yolo11
    # ("Licensing").
    license="AGPL-3.0",
    sizes=YOLO_SIZES,
    default_size="m",
    throughput_fps=THROUGHPUT_FPS,
    env_var="YOLO11_WEIGHTS",
)


def locate_weights(*, size: str = CARD.default_size, weights: str | None = None) -> WeightsLocation:
    """Where YOLO11's weights are: ``weights``, else ``$YOLO11_WEIGHTS``, else the asset.

    Args:
        size: One of n, s, m, l, x.
        weights: The ``weights=`` option.

    Returns:
        An architecture, a local ``.pt``, or the ultralytics asset (a bare file
        name such as ``yolo11{size}.pt``).
    """
    chosen = resolve_weights(weights, env_var=CARD.env_var, default=f"yolo11{size}.pt")
    return locate(f"{CARD.label}-{size}", chosen, CARD.env_var, _asset)


def _asset(name: str) -> UltralyticsAsset | None:
    # Only a bare file name can be an asset; a path that does not exist is a missing file.
    return UltralyticsAsset(name) if Path(name).name == name else None


MODEL = UltralyticsModel("yolo11", CARD, locate_weights, classes=COCO_CLASSES)
#: Build a YOLO11 detector (:meth:`UltralyticsDetector.load`), e.g.
#: ``create_yolo11(device="cpu", weights="yolo11n.yaml")`` for random weights.
create_yolo11 = MODEL.register()
