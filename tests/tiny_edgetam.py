"""A tiny EdgeTAM video model for tests: EdgeTAM's code path at 128 px.

RepViT keeps its published layout with one block per stage and narrow
stages; the sizes keep what ``transformers``' EdgeTAM code assumes: the
memory attention reads 64-channel memories (the perceiver's width), and its
hidden size is a multiple of them larger than 64 (object pointers are split
into 64-channel tokens); the perceiver's 2-D latents form the square grid
that ``memory_attention_rope_k_sizes`` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

IMAGE_SIZE = 128
HIDDEN = 128
#: RepViT's stage widths, shallowest first.
WIDTHS = (8, 16, 32, 64)


def tiny_config(image_size: int = IMAGE_SIZE) -> Any:
    """An ``EdgeTamVideoConfig`` with a 4-block RepViT and one memory-attention layer."""
    from transformers import EdgeTamVideoConfig, EdgeTamVisionConfig, TimmWrapperConfig

    from models.segmenters.edgetam_architecture import BACKBONE, BACKBONE_ARGS

    backbone = TimmWrapperConfig(
        architecture=BACKBONE,
        model_args={**BACKBONE_ARGS, "embed_dim": WIDTHS, "depth": (1, 1, 1, 1)},
    )
    vision = EdgeTamVisionConfig(
        backbone_config=backbone,
        backbone_channel_list=list(WIDTHS[::-1]),
        backbone_feature_sizes=[[image_size // s] * 2 for s in (4, 8, 16)],
        fpn_hidden_size=HIDDEN,
    )
    return EdgeTamVideoConfig(
        vision_config=vision,
        prompt_encoder_config={"hidden_size": HIDDEN, "image_size": image_size},
        mask_decoder_config={
            "hidden_size": HIDDEN,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
        image_size=image_size,
        enable_temporal_pos_encoding_for_object_pointers=False,
        enable_occlusion_spatial_embedding=False,
        memory_attention_hidden_size=HIDDEN,
        memory_attention_num_layers=1,
        memory_attention_mlp_hidden_size=64,
        memory_attention_rope_feat_sizes=[image_size // 16] * 2,
        memory_attention_rope_k_sizes=[4, 4],
        perceiver_resampler_num_latents=16,
        perceiver_resampler_num_latents_2d=16,
        perceiver_resampler_num_layers=1,
        perceiver_resampler_mlp_intermediate_size=64,
        memory_encoder_hidden_size=HIDDEN,
        mask_downsampler_embed_dim=HIDDEN,
        memory_fuser_embed_dim=HIDDEN,
        memory_fuser_intermediate_dim=64,
    )


def tiny_model(seed: int = 0) -> Any:
    """The tiny model with random weights whose object-score head says "object present"."""
    import torch
    from transformers import EdgeTamVideoModel

    torch.manual_seed(seed)
    model = EdgeTamVideoModel(tiny_config()).eval()
    head = model.mask_decoder.pred_obj_score_head.proj_out
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(10.0)
    return model


def save_tiny_weights(folder: Path) -> Path:
    """The tiny model saved with ``save_pretrained``, as a user's weights would be."""
    tiny_model().save_pretrained(folder)
    return folder
