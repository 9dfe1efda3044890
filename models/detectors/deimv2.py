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

from models.detectors import d_fine
from models.detectors.realtime_detr_family import (
    Architecture,
    Family,
    decoder_width,
    hgnet_v2_architecture,
)

FAMILY = Family(
    name="deimv2",
    label="DEIMv2",
    env_var="DEIMV2_WEIGHTS",
    model_class="Deimv2ForObjectDetection",
    checkpoints={
        "pico": "harshaljanjani/DEIMv2_HGNetv2_PICO_COCO_Transformers",
        "n": "harshaljanjani/DEIMv2_HGNetv2_N_COCO_Transformers",
        "s": "harshaljanjani/DEIMv2_DINOv3_S_COCO_Transformers",
    },
    architectures={
        "pico": hgnet_v2_architecture(
            "Pico",
            {
                **decoder_width(112, 2),
                "encoder_type": "lite",
                "encoder_layers": 0,
                "encoder_in_channels": [512],
                "feat_strides": [16],
                "depth_mult": 0.5,
                "hidden_expansion": 0.34,
                "decoder_n_points": [4, 2],
                "decoder_layers": 3,
                "decoder_ffn_dim": 320,
                "num_queries": 200,
                "share_bbox_head": True,
                "use_gateway": False,
            },
            out_indices=[3],
            depths=[3, 3, 3],
        ),
        "n": hgnet_v2_architecture(
            "B0",
            # D-FINE-N's hybrid encoder and decoder, which DEIMv2 trains with its own matching.
            {**d_fine.FAMILY.architectures["n"].config, "num_queries": 300},
            out_indices=[3, 4],
            depths=[3, 3, 3, 3],
        ),
        "s": Architecture(
            config={
                **decoder_width(192, 3),
                "encoder_in_channels": [192, 192, 192],
                "feat_strides": [8, 16, 32],
                "encoder_ffn_dim": 512,
                "depth_mult": 0.67,
                "hidden_expansion": 0.34,
                "encoder_has_trailing_conv": False,
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
