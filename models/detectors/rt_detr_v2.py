"""RT-DETRv2 (transformers' ``RTDetrV2ForObjectDetection``), trained on COCO: Apache-2.0.

Sizes r18, r34, r50 and r101 (ResNet-vd backbones), as published by the
authors (github.com/lyuwenyu/RT-DETR, ``rtdetrv2_pytorch/configs/rtdetrv2``)
and converted to ``transformers`` as ``PekingU/rtdetr_v2_r{18,34,50,101}vd``
(Apache-2.0 model cards). The architectures below are those configs in
``RTDetrV2Config``'s terms, as transformers' conversion script
(``models/rt_detr_v2/convert_rt_detr_v2_weights_to_hf.py``) maps them; the
``r50vd_m`` variant is left out (its conversion is marked as not working).

Weights: ``weights=`` / ``$RTDETR_V2_WEIGHTS`` (a ``save_pretrained`` folder, a
Hub id, or ``random:<size>``), else the size's Hub checkpoint.
"""

from __future__ import annotations

from models.detectors.realtime_detr import (
    ESTIMATED_ZEROGPU_FPS,
    LICENSE,
    Architecture,
    Family,
    RealTimeDetrDetector,
    create_detector,
    locate_weights,
)
from models.registry import register
from models.weights_sources import WeightsLocation

#: ResNet-18/34-vd: basic blocks, and a lighter hybrid encoder.
_BASIC = {"hidden_sizes": [64, 128, 256, 512], "layer_type": "basic", "out_indices": [2, 3, 4]}

FAMILY = Family(
    name="rt_detr_v2",
    label="RT-DETRv2",
    env_var="RTDETR_V2_WEIGHTS",
    model_class="RTDetrV2ForObjectDetection",
    config_class="RTDetrV2Config",
    module="transformers.models.rt_detr_v2",
    checkpoints={
        "r18": "PekingU/rtdetr_v2_r18vd",
        "r34": "PekingU/rtdetr_v2_r34vd",
        "r50": "PekingU/rtdetr_v2_r50vd",
        "r101": "PekingU/rtdetr_v2_r101vd",
    },
    architectures={
        "r18": Architecture(
            config={
                "encoder_in_channels": [128, 256, 512],
                "hidden_expansion": 0.5,
                "decoder_layers": 3,
            },
            backbone_type="rt_detr_resnet",
            backbone={**_BASIC, "depths": [2, 2, 2, 2]},
        ),
        "r34": Architecture(
            config={
                "encoder_in_channels": [128, 256, 512],
                "hidden_expansion": 0.5,
                "decoder_layers": 4,
            },
            backbone_type="rt_detr_resnet",
            backbone={**_BASIC, "depths": [3, 4, 6, 3]},
        ),
        "r50": Architecture(
            config={"encoder_in_channels": [512, 1024, 2048], "decoder_layers": 6},
            backbone_type="rt_detr_resnet",
            backbone={
                "hidden_sizes": [256, 512, 1024, 2048],
                "depths": [3, 4, 6, 3],
                "layer_type": "bottleneck",
                "out_indices": [2, 3, 4],
            },
        ),
        "r101": Architecture(
            config={
                "encoder_in_channels": [512, 1024, 2048],
                "encoder_hidden_dim": 384,
                "encoder_ffn_dim": 2048,
                "decoder_in_channels": [384, 384, 384],
                "decoder_layers": 6,
            },
            backbone_type="rt_detr_resnet",
            backbone={
                "hidden_sizes": [256, 512, 1024, 2048],
                "depths": [3, 4, 23, 3],
                "layer_type": "bottleneck",
                "out_indices": [2, 3, 4],
            },
        ),
    },
    default_size="r18",
)


def locate_rt_detr_v2(
    *, size: str = FAMILY.default_size, weights: str | None = None
) -> WeightsLocation:
    """Where an RT-DETRv2 size's weights are (see :func:`realtime_detr.locate_weights`)."""
    return locate_weights(FAMILY, size=size, weights=weights)


@register(
    "detector",
    FAMILY.name,
    label=FAMILY.label,
    sizes=FAMILY.sizes,
    default_size=FAMILY.default_size,
    description="RT-DETRv2 real-time DETR (transformers), COCO (80 classes); no AGPL code.",
    license=LICENSE,
    throughput_fps=ESTIMATED_ZEROGPU_FPS,
    locate=locate_rt_detr_v2,
    env_var=FAMILY.env_var,
    requires=(FAMILY.requirement,),
)
def create_rt_detr_v2(
    *, device: str, size: str = FAMILY.default_size, weights: str | None = None
) -> RealTimeDetrDetector:
    """Build an RT-DETRv2 detector.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: One of r18, r34, r50, r101 (the ResNet-vd backbone's depth).
        weights: ``random:<size>``, a ``save_pretrained`` folder or a Hub id;
            defaults to ``$RTDETR_V2_WEIGHTS``, then the size's checkpoint.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    return create_detector(FAMILY, device=device, size=size, weights=weights)
