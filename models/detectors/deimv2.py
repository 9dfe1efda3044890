"""DEIMv2 (transformers' ``Deimv2ForObjectDetection``), trained on COCO: Apache-2.0 real-time DETR.

The authors (github.com/Intellindust-AI-Lab/DEIMv2, Apache-2.0) publish eight
sizes, ``Intellindust/DEIMv2_{HGNetv2_ATTO,FEMTO,PICO,N,DINOv3_S,M,L,X}_COCO``,
in their own format, which ``from_pretrained`` cannot read (transformers
converts them with ``models/deimv2/convert_deimv2_original_pytorch_checkpoint_to_hf.py``).
The sizes offered here are those with a converted ``transformers`` checkpoint,
the ones transformers' own tests load (``tests/models/deimv2``):
``harshaljanjani/DEIMv2_{HGNetv2_PICO,HGNetv2_N,DINOv3_S}_COCO_Transformers``,
converted by the author of transformers' DEIMv2 port. Another size converted
with that script loads with ``weights=FOLDER``.

The architectures below are the authors' configs
(``configs/deimv2/deimv2_{hgnetv2_pico,hgnetv2_n,dinov3_s}_coco.yml``) in
``Deimv2Config``'s terms, as the conversion script maps them: Pico is an
HGNetV2-Pico backbone with the light encoder, N an HGNetV2-B0 with the hybrid
encoder, S a distilled DINOv3 ViT-Tiny with the spatial tuning adapter.

Weights: ``weights=`` / ``$DEIMV2_WEIGHTS`` (a ``save_pretrained`` folder, a Hub
id, or ``random:<size>``), else the size's Hub checkpoint.
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

FAMILY = Family(
    name="deimv2",
    label="DEIMv2",
    env_var="DEIMV2_WEIGHTS",
    model_class="Deimv2ForObjectDetection",
    config_class="Deimv2Config",
    module="transformers.models.deimv2",
    checkpoints={
        "pico": "harshaljanjani/DEIMv2_HGNetv2_PICO_COCO_Transformers",
        "n": "harshaljanjani/DEIMv2_HGNetv2_N_COCO_Transformers",
        "s": "harshaljanjani/DEIMv2_DINOv3_S_COCO_Transformers",
    },
    architectures={
        "pico": Architecture(
            config={
                "encoder_type": "lite",
                "encoder_layers": 0,
                "encoder_hidden_dim": 112,
                "encoder_in_channels": [512],
                "feat_strides": [16],
                "depth_mult": 0.5,
                "hidden_expansion": 0.34,
                "d_model": 112,
                "decoder_in_channels": [112, 112],
                "num_feature_levels": 2,
                "decoder_n_points": [4, 2],
                "decoder_layers": 3,
                "decoder_ffn_dim": 320,
                "num_queries": 200,
                "share_bbox_head": True,
                "use_gateway": False,
            },
            backbone_type="hgnet_v2",
            backbone={
                "hidden_sizes": [64, 256, 512],
                "depths": [3, 3, 3],
                "stem_channels": [3, 16, 16],
                "stage_in_channels": [16, 64, 256],
                "stage_mid_channels": [16, 32, 64],
                "stage_out_channels": [64, 256, 512],
                "stage_num_blocks": [1, 1, 2],
                "stage_downsample": [False, True, True],
                "stage_light_block": [False, False, True],
                "stage_kernel_size": [3, 3, 5],
                "stage_numb_of_layers": [3, 3, 3],
                "use_learnable_affine_block": True,
                "out_indices": [3],
            },
        ),
        "n": Architecture(
            config={
                "encoder_hidden_dim": 128,
                "encoder_in_channels": [512, 1024],
                "feat_strides": [16, 32],
                "encode_proj_layers": [1],
                "encoder_ffn_dim": 512,
                "depth_mult": 0.5,
                "hidden_expansion": 0.34,
                "d_model": 128,
                "decoder_in_channels": [128, 128],
                "num_feature_levels": 2,
                "decoder_n_points": [6, 6],
                "decoder_layers": 3,
                "decoder_ffn_dim": 512,
                "num_queries": 300,
            },
            backbone_type="hgnet_v2",
            backbone={
                "hidden_sizes": [128, 256, 512, 1024],
                "depths": [3, 3, 3, 3],
                "stem_channels": [3, 16, 16],
                "stage_in_channels": [16, 64, 256, 512],
                "stage_mid_channels": [16, 32, 64, 128],
                "stage_out_channels": [64, 256, 512, 1024],
                "stage_num_blocks": [1, 1, 2, 1],
                "stage_downsample": [False, True, True, True],
                "stage_light_block": [False, False, True, True],
                "stage_kernel_size": [3, 3, 5, 5],
                "stage_numb_of_layers": [3, 3, 3, 3],
                "use_learnable_affine_block": True,
                "out_indices": [3, 4],
            },
        ),
        "s": Architecture(
            config={
                "encoder_hidden_dim": 192,
                "encoder_in_channels": [192, 192, 192],
                "feat_strides": [8, 16, 32],
                "encoder_ffn_dim": 512,
                "depth_mult": 0.67,
                "hidden_expansion": 0.34,
                "encoder_has_trailing_conv": False,
                "d_model": 192,
                "decoder_in_channels": [192, 192, 192],
                "num_feature_levels": 3,
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 4,
                "decoder_ffn_dim": 512,
                "num_queries": 300,
            },
            backbone_type="dinov3_vit",
            # The distilled ViT-Tiny: DINOv3's layout at width 192, 3 heads, no
            # register tokens; features of blocks 5, 8 and 11 (0-based).
            backbone={
                "hidden_size": 192,
                "num_attention_heads": 3,
                "num_hidden_layers": 12,
                "intermediate_size": 768,
                "layerscale_value": 1.0,
                "num_register_tokens": 0,
                "pos_embed_rescale": None,
                "key_bias": False,
                "rope_theta": 100.0,
                "out_indices": [6, 9, 12],
                "apply_layernorm": False,
                "reshape_hidden_states": True,
            },
            normalize=True,
        ),
    },
    default_size="s",
)


def locate_deimv2(
    *, size: str = FAMILY.default_size, weights: str | None = None
) -> WeightsLocation:
    """Where a DEIMv2 size's weights are (see :func:`realtime_detr.locate_weights`)."""
    return locate_weights(FAMILY, size=size, weights=weights)


@register(
    "detector",
    FAMILY.name,
    label=FAMILY.label,
    sizes=FAMILY.sizes,
    default_size=FAMILY.default_size,
    description="DEIMv2 real-time DETR (transformers) trained on COCO (80 classes); no AGPL code.",
    license=LICENSE,
    throughput_fps=ESTIMATED_ZEROGPU_FPS,
    locate=locate_deimv2,
    env_var=FAMILY.env_var,
    requires=(FAMILY.requirement,),
)
def create_deimv2(
    *, device: str, size: str = FAMILY.default_size, weights: str | None = None
) -> RealTimeDetrDetector:
    """Build a DEIMv2 detector.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: One of pico, n, s.
        weights: ``random:<size>``, a ``save_pretrained`` folder or a Hub id;
            defaults to ``$DEIMV2_WEIGHTS``, then the size's checkpoint.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    return create_detector(FAMILY, device=device, size=size, weights=weights)
