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

from typing import Any

from models.detectors.realtime_detr_family import Architecture, Family


def _resnet_vd(layer_type: str, depths: list[int], **config: Any) -> Architecture:
    """A size: its ResNet-vd backbone (block type, blocks per stage) and its detector settings."""
    wide = layer_type == "bottleneck"
    return Architecture(
        config={"encoder_in_channels": [512, 1024, 2048] if wide else [128, 256, 512], **config},
        backbone_type="rt_detr_resnet",
        backbone={
            "hidden_sizes": [256, 512, 1024, 2048] if wide else [64, 128, 256, 512],
            "depths": depths,
            "layer_type": layer_type,
            "out_indices": [2, 3, 4],
        },
    )


FAMILY = Family(
    name="rt_detr_v2",
    label="RT-DETRv2",
    env_var="RTDETR_V2_WEIGHTS",
    model_class="RTDetrV2ForObjectDetection",
    checkpoints={
        "r18": "PekingU/rtdetr_v2_r18vd",
        "r34": "PekingU/rtdetr_v2_r34vd",
        "r50": "PekingU/rtdetr_v2_r50vd",
        "r101": "PekingU/rtdetr_v2_r101vd",
    },
    architectures={
        # ResNet-18/34-vd: basic blocks, and a lighter hybrid encoder.
        "r18": _resnet_vd("basic", [2, 2, 2, 2], hidden_expansion=0.5, decoder_layers=3),
        "r34": _resnet_vd("basic", [3, 4, 6, 3], hidden_expansion=0.5, decoder_layers=4),
        "r50": _resnet_vd("bottleneck", [3, 4, 6, 3], decoder_layers=6),
        "r101": _resnet_vd(
            "bottleneck",
            [3, 4, 23, 3],
            encoder_hidden_dim=384,
            encoder_ffn_dim=2048,
            decoder_in_channels=[384, 384, 384],
            decoder_layers=6,
        ),
    },
    default_size="r18",
)
