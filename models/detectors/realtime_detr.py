"""D-FINE, DEIMv2 and RT-DETRv2: real-time DETRs in ``transformers``, trained on COCO.

The three run the same way: a ``*ForObjectDetection`` model, the RT-DETR image
processor (a fixed 640x640 resize) and its post-processing (top-k over queries x
classes, no NMS). Each family is described once, in its own module
(:mod:`~models.detectors.d_fine`, :mod:`~models.detectors.deimv2`,
:mod:`~models.detectors.rt_detr_v2`, in the terms of
:mod:`~models.detectors.realtime_detr_family`); :data:`FAMILIES` registers them
all from those descriptions.

Weights: ``weights=`` / the family's environment variable (a ``save_pretrained``
folder or a Hub id, or ``random:<size>``), else the size's Hub checkpoint,
downloaded on first use (and fetched before a GPU call, :mod:`models.prefetch`).

Nothing here imports ``torch`` or ``transformers`` until a model is built.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from models.detectors import d_fine, deimv2, rt_detr_v2
from models.detectors.base import Batch
from models.detectors.realtime_detr_family import (
    COCO_CLASSES,
    Architecture,
    Family,
    architecture_config,
    architecture_processor,
)
from models.detectors.transformers_common import (
    Detected,
    TransformersDetector,
    bgr_to_rgb,
    load_pretrained,
    locate_pretrained,
    model_labels,
)
from models.errors import ModelError
from models.registry import ModelCard, register
from models.weights import loading_weights, resolve_weights
from models.weights_sources import WeightsLocation

__all__ = [
    "COCO_CLASSES",
    "FAMILIES",
    "LICENSE",
    "Architecture",
    "Family",
    "RealTimeDetrDetector",
    "architecture_config",
    "create_detector",
    "family_card",
    "locate_weights",
]

#: Licence of the three families' code (their GitHub repositories) and COCO weights (model cards).
LICENSE = "Apache-2.0"
#: Rough end-to-end fps on a ZeroGPU slice, which sizes a GPU call (``ui.gpu``): not measured
#: there; DETR ResNet-50's figure, the same eager transformers path with a heavier model, so
#: an under-estimate for most sizes (which only costs queue priority and more, shorter calls).
ESTIMATED_ZEROGPU_FPS = 15.0
#: ``weights=`` names a size's architecture with random weights as ``random:<size>``.
RANDOM_PREFIX = "random:"
#: The families offered, each registered under its ``name``.
FAMILIES: tuple[Family, ...] = (d_fine.FAMILY, deimv2.FAMILY, rt_detr_v2.FAMILY)


def family_card(family: Family) -> ModelCard:
    """What users are told about one family: its own name, sizes and weights variable."""
    return ModelCard(
        label=family.label,
        description=family.description,
        license=LICENSE,
        sizes=family.sizes,
        default_size=family.default_size,
        throughput_fps=ESTIMATED_ZEROGPU_FPS,
        env_var=family.env_var,
    )


def locate_weights(
    family: Family, *, size: str | None = None, weights: str | None = None
) -> WeightsLocation:
    """Where a size's weights are: ``weights``, else the environment variable, else the Hub.

    Args:
        family: The detector family.
        size: One of ``family.sizes`` (None: the default size).
        weights: ``random:<size>``, a ``save_pretrained`` folder or a Hub id.

    Returns:
        An architecture (random weights), a local folder or a Hub repository.
    """
    size = size or family.default_size
    label = family.size_label(size)
    default = family.checkpoints.get(size, family.checkpoints[family.default_size])
    chosen = resolve_weights(weights, env_var=family.env_var, default=default)
    if chosen.startswith(RANDOM_PREFIX):
        return WeightsLocation.architecture(label, chosen, family.env_var)
    required = ("config.json", "preprocessor_config.json")
    return locate_pretrained(label, chosen, family.env_var, required=required)


class RealTimeDetrDetector(TransformersDetector):
    """A D-FINE, DEIMv2 or RT-DETRv2 detector (closed vocabulary from ``config.id2label``).

    ``class_id`` is the model's own label id (COCO's 80 classes, 0 = person for
    the published checkpoints); queries filter by those class names, before the
    post-processing picks its best (query, class) pairs.
    """

    def __init__(self, model: Any, processor: Any, *, name: str, **settings: Any) -> None:
        """Wrap a loaded model; ``settings`` are :class:`~models.detectors.base.Detector`'s."""
        self.name = name
        labels = model_labels(model)
        super().__init__(
            model,
            processor,
            class_names=[labels[i] for i in sorted(labels)],
            license=LICENSE,
            **settings,
        )

    def _inputs(self, batch: Batch) -> Mapping[str, Any]:
        # The pixels alone: these models take no mask.
        pixels = self.processor(images=bgr_to_rgb(batch.frames), return_tensors="pt")
        inputs = self._processed(pixels)
        return {"pixel_values": inputs["pixel_values"]}

    def _detections(self, outputs: Any, inputs: Mapping[str, Any], batch: Batch) -> Detected:
        import torch

        if queries := batch.queries:
            # Other classes out before the top-k over (query, class) pairs, which would
            # otherwise spend its places on classes the filter then drops.
            wanted = [i for i, name in self.id2label.items() if name in queries]
            keep = torch.zeros(outputs.logits.shape[-1], dtype=torch.bool)
            keep[wanted] = True
            outputs.logits = outputs.logits.masked_fill(
                ~keep.to(outputs.logits.device), float("-inf")
            )
        return self._labelled(outputs, batch)


def create_detector(
    family: Family, *, device: str, size: str | None = None, weights: str | None = None
) -> RealTimeDetrDetector:
    """Build one size of a family's detector: its checkpoint, or random weights.

    Args:
        family: The detector family.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: One of ``family.sizes`` (None: the default size).
        weights: ``random:<size>`` (that size's published architecture with
            random weights), a ``save_pretrained`` folder or a Hub id; defaults
            to the family's environment variable, then the size's checkpoint.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
        ModelError: ``random:`` names no offered size.
    """
    import transformers

    size = size or family.default_size
    location = locate_weights(family, size=size, weights=weights)
    model_class = getattr(transformers, family.model_class)
    if location.random_weights:
        # The size is the architecture's: ``random:n`` builds n whatever ``size`` said.
        size, (model, processor) = _random_model(family, location, device=device)
    else:
        model, processor = load_pretrained(
            model_class, transformers.AutoImageProcessor, location=location, device=device
        )
    return RealTimeDetrDetector(
        model,
        processor,
        name=family.name,
        device=device,
        weights=location.weights,
        size=size,
        random_weights=location.random_weights,
    )


def _random_model(
    family: Family, location: WeightsLocation, *, device: str
) -> tuple[str, tuple[Any, Any]]:
    import torch
    import transformers

    arch_size = location.weights.removeprefix(RANDOM_PREFIX)
    if arch_size not in family.architectures:
        raise ModelError(
            f"Unknown {family.label} architecture {location.weights!r}; use "
            + ", ".join(f"{RANDOM_PREFIX}{s}" for s in family.sizes)
            + "."
        )
    config = architecture_config(family, arch_size)
    model_class = getattr(transformers, family.model_class)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with loading_weights(location.label, location.weights, location.env_var):
        model = model_class(config)
    return arch_size, (model.to(device, dtype).eval(), architecture_processor(family, arch_size))


for _family in FAMILIES:
    register(
        "detector",
        _family.name,
        family_card(_family),
        locate=functools.partial(locate_weights, _family),
        requires=(_family.requirement,),
    )(functools.partial(create_detector, _family))
