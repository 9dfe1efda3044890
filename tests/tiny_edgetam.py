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

import tiny_sam2
from tiny_sam2 import IMAGE_SIZE, random_model, shared_settings, vision_settings

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
        **vision_settings(image_size),
    )
    return EdgeTamVideoConfig(
        vision_config=vision,
        enable_temporal_pos_encoding_for_object_pointers=False,
        enable_occlusion_spatial_embedding=False,
        memory_attention_mlp_hidden_size=64,
        memory_attention_rope_k_sizes=[4, 4],
        perceiver_resampler_num_latents=16,
        perceiver_resampler_num_latents_2d=16,
        perceiver_resampler_num_layers=1,
        perceiver_resampler_mlp_intermediate_size=64,
        **shared_settings(image_size),
    )


def tiny_model(seed: int = 0) -> Any:
    """The tiny model with random weights whose object-score head says "object present"."""
    return random_model("EdgeTamVideoModel", tiny_config(), seed)


def save_tiny_weights(folder: Path) -> Path:
    """The tiny model saved with ``save_pretrained``, as a user's weights would be."""
    return tiny_sam2.save_tiny_weights(folder, tiny_model())
