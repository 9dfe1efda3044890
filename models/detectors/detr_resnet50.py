"""DETR with a ResNet-50 backbone (transformers), trained on COCO.

Weights: ``weights=`` / ``$DETR_WEIGHTS`` (a ``save_pretrained`` folder or a Hub
id), else ``facebook/detr-resnet-50`` at its ``no_timm`` revision, whose backbone
is transformers' own ResNet so that ``timm`` is not needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.detectors.base import Batch
from models.detectors.transformers_common import (
    Detected,
    TransformersDetector,
    bgr_to_rgb,
    create_pretrained,
    locate_pretrained,
    model_labels,
)
from models.registry import ModelCard, register
from models.weights import resolve_weights
from models.weights_sources import WeightsLocation

CARD = ModelCard(
    label="DETR ResNet-50",
    description="DETR (ResNet-50) trained on COCO; transformer detector, slower than YOLO.",
    # The model card huggingface.co/facebook/detr-resnet-50: "license: apache-2.0".
    license="Apache-2.0",
    throughput_fps=15.0,
    env_var="DETR_WEIGHTS",
)
DEFAULT_WEIGHTS = "facebook/detr-resnet-50"
DEFAULT_REVISION = "no_timm"
# DETR's 91-id COCO label map keeps placeholders for ids COCO never used.
UNUSED_LABEL = "N/A"


class DetrDetector(TransformersDetector):
    """DETR object detector (closed vocabulary from ``config.id2label``).

    ``class_id`` is the model's own label id (COCO's 91-id numbering), and
    :attr:`class_names` lists the names it can output.
    """

    name = "detr_resnet50"

    def __init__(self, model: Any, processor: Any, *, device: str, weights: str) -> None:
        names = dict.fromkeys(
            v for _, v in sorted(model_labels(model).items()) if v != UNUSED_LABEL
        )
        super().__init__(
            model,
            processor,
            device=device,
            weights=weights,
            class_names=list(names),
            license=CARD.license_for(),
        )

    def _inputs(self, batch: Batch) -> Mapping[str, Any]:
        pixels = self.processor(images=bgr_to_rgb(batch.frames), return_tensors="pt")
        return self._processed(pixels)

    def _detections(self, outputs: Any, inputs: Mapping[str, Any], batch: Batch) -> Detected:
        return self._labelled(outputs, batch)


def locate_weights(*, weights: str | None = None, revision: str | None = None) -> WeightsLocation:
    """Where DETR's weights are: ``weights``, else ``$DETR_WEIGHTS``, else the Hub.

    Args:
        weights: The ``weights=`` option: a ``save_pretrained`` folder or a Hub id.
        revision: Hub revision; ``no_timm`` for the default weights.

    Returns:
        The local folder or the Hub repository.
    """
    chosen = resolve_weights(weights, env_var=CARD.env_var, default=DEFAULT_WEIGHTS)
    if revision is None and chosen == DEFAULT_WEIGHTS:
        revision = DEFAULT_REVISION
    required = ("config.json", "preprocessor_config.json")
    return locate_pretrained(CARD.label, chosen, CARD.env_var, required=required, revision=revision)


@register("detector", "detr_resnet50", CARD, locate=locate_weights)
def create_detr(
    *, device: str, weights: str | None = None, revision: str | None = None
) -> DetrDetector:
    """Build a DETR ResNet-50 detector.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        weights: A ``save_pretrained`` folder or Hub id; defaults to
            ``$DETR_WEIGHTS``, then ``facebook/detr-resnet-50``.
        revision: Hub revision; defaults to ``no_timm`` for the default weights.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    from transformers import AutoImageProcessor, DetrForObjectDetection

    location = locate_weights(weights=weights, revision=revision)
    return create_pretrained(
        DetrDetector, DetrForObjectDetection, AutoImageProcessor, location=location, device=device
    )
