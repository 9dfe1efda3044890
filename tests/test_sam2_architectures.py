"""Each offered SAM 2.1 size's architecture is the published one.

The numbers below are copied from the published sources, not from our module:

- Meta's configs, github.com/facebookresearch/sam2, ``sam2/configs/sam2.1/
  sam2.1_hiera_{s,b+,l}.yaml`` (``trunk``: embed_dim, num_heads, stages,
  global_att_blocks, window_pos_embed_bkg_spatial_size, window_spec; ``neck``:
  d_model, backbone_channel_list, fpn_top_down_levels; ``memory_attention``,
  ``memory_encoder`` and the model's own settings). Base-plus's yaml gives only
  embed_dim and num_heads: its other trunk values are the defaults of ``Hiera``
  in ``sam2/modeling/backbones/hieradet.py`` (stages (2, 3, 16, 3),
  global_att_blocks (12, 16, 20), window_pos_embed_bkg_spatial_size (14, 14),
  window_spec (8, 4, 14, 7)); max_obj_ptrs_in_encoder (16) and
  max_cond_frames_in_attn (-1) are ``SAM2Base``'s defaults
  (``sam2/modeling/sam2_base.py``), the mask decoder's sizes are what
  ``SAM2Base._build_sam_heads`` builds, and the stability fallback is what
  ``sam2/build_sam.py`` adds for the video predictor.
- How those map onto ``transformers``' config: huggingface/transformers,
  ``src/transformers/models/sam2/convert_sam2_to_hf.py`` (``get_config``:
  hidden_size = embed_dim, embed_dim_per_stage and
  num_attention_heads_per_stage double per stage, blocks_per_stage = stages,
  backbone_channel_list; SAM 2.1 sets
  enable_temporal_pos_encoding_for_object_pointers and
  enable_occlusion_spatial_embedding).
- Parameter counts: the model table of Meta's README (38.9 M tiny, 46 M small,
  80.8 M base-plus, 224.4 M large).
"""

from __future__ import annotations

import pytest
import torch

from models.segmenters.sam2_architectures import SIZES, architecture
from models.segmenters.sam2_weights import VARIANTS

#: trunk of sam2.1_hiera_{s,b+,l}.yaml (b+: Hiera's defaults, see the module docstring).
TRUNK_FIELDS = (
    "embed_dim",
    "num_heads",
    "stages",
    "global_att_blocks",
    "window_pos_embed_bkg_spatial_size",
    "window_spec",
)
PUBLISHED_TRUNK = {
    size: dict(zip(TRUNK_FIELDS, values, strict=True))
    for size, values in {
        "small": (96, 1, [1, 2, 11, 2], [7, 10, 13], [7, 7], [8, 4, 14, 7]),
        "base_plus": (112, 2, [2, 3, 16, 3], [12, 16, 20], [14, 14], [8, 4, 14, 7]),
        "large": (144, 2, [2, 6, 36, 4], [23, 33, 43], [7, 7], [8, 4, 16, 8]),
    }.items()
}
#: neck.backbone_channel_list of the same yamls.
PUBLISHED_CHANNELS = {
    "small": [768, 384, 192, 96],
    "base_plus": [896, 448, 224, 112],
    "large": [1152, 576, 288, 144],
}
#: Millions of parameters, Meta's README.
PUBLISHED_MILLIONS = {"small": 46.0, "base_plus": 80.8, "large": 224.4}
#: Identical in the three yamls (and SAM2Base / build_sam, as the module docstring says),
#: in transformers' names.
PUBLISHED_SHARED = {
    "image_size": 1024,  # image_size
    "num_maskmem": 7,  # num_maskmem
    "sigmoid_scale_for_mem_enc": 20.0,
    "sigmoid_bias_for_mem_enc": -10.0,
    "enable_occlusion_spatial_embedding": True,  # no_obj_embed_spatial
    "enable_temporal_pos_encoding_for_object_pointers": True,  # proj_tpos_enc_in_obj_ptrs
    "multimask_output_in_sam": True,
    "multimask_min_pt_num": 0,
    "multimask_max_pt_num": 1,
    "multimask_output_for_tracking": True,
    "max_object_pointers_in_encoder": 16,  # SAM2Base max_obj_ptrs_in_encoder
    "max_cond_frame_num": -1,  # SAM2Base max_cond_frames_in_attn
    "memory_attention_hidden_size": 256,  # memory_attention.d_model
    "memory_attention_num_layers": 4,  # memory_attention.num_layers
    "memory_attention_num_attention_heads": 1,  # layer.self_attention.num_heads
    "memory_attention_downsample_rate": 1,  # layer.self_attention.downsample_rate
    "memory_attention_feed_forward_hidden_size": 2048,  # layer.dim_feedforward
    "memory_attention_feed_forward_hidden_act": "relu",  # layer.activation
    "memory_attention_dropout": 0.1,  # layer.dropout
    "memory_attention_rope_dropout": 0.1,  # self_attention.dropout
    "memory_attention_rope_feat_sizes": [64, 64],  # self_attention.feat_sizes
    "memory_encoder_output_channels": 64,  # memory_encoder.out_dim (cross_attention.kv_in_dim)
    "mask_downsampler_kernel_size": 3,  # mask_downsampler.kernel_size
    "mask_downsampler_stride": 2,  # mask_downsampler.stride
    "mask_downsampler_padding": 1,  # mask_downsampler.padding
    "mask_downsampler_total_stride": 16,  # MaskDownSampler's total_stride default
    "memory_fuser_num_layers": 2,  # fuser.num_layers
    "memory_fuser_embed_dim": 256,  # fuser.layer.dim
    "memory_fuser_intermediate_dim": 1024,  # CXBlock: 4 * dim
    "memory_fuser_kernel_size": 7,  # fuser.layer.kernel_size
    "memory_fuser_padding": 3,  # fuser.layer.padding
    "memory_fuser_layer_scale_init_value": 1e-6,  # fuser.layer.layer_scale_init_value
}
PUBLISHED_ROPE_THETA = 10000.0  # self_attention.rope_theta
PUBLISHED_NECK = {
    "fpn_hidden_size": 256,  # neck.d_model
    "fpn_top_down_levels": [2, 3],  # neck.fpn_top_down_levels
    "num_feature_levels": 3,  # scalp: 1 (4 levels, the last dropped)
    "backbone_feature_sizes": [[256, 256], [128, 128], [64, 64]],  # 1024 / 4, 8, 16
}
#: SAM2Base's mask decoder (TwoWayTransformer depth 2), with the video predictor's
#: dynamic multimask fallback.
PUBLISHED_MASK_DECODER = {
    "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 8, "mlp_dim": 2048,
    "num_multimask_outputs": 3, "iou_head_depth": 3, "iou_head_hidden_dim": 256,
    "dynamic_multimask_via_stability": True, "dynamic_multimask_stability_delta": 0.05,
    "dynamic_multimask_stability_thresh": 0.98,
}  # fmt: skip
PUBLISHED_PROMPT_ENCODER = {
    "hidden_size": 256,
    "image_size": 1024,
    "patch_size": 16,  # backbone_stride
    "mask_input_channels": 16,  # mask_in_chans
}


def test_every_offered_size_has_an_architecture() -> None:
    assert set(SIZES) == set(VARIANTS) == set(PUBLISHED_TRUNK)


@pytest.mark.parametrize("size", SIZES)
def test_the_architecture_of_each_size_is_the_published_one(size: str) -> None:
    config = architecture(size)
    trunk = PUBLISHED_TRUNK[size]
    hiera = config.vision_config.backbone_config
    doubling = [2**stage for stage in range(4)]
    assert hiera.hidden_size == trunk["embed_dim"]
    assert hiera.num_attention_heads == trunk["num_heads"]
    assert hiera.embed_dim_per_stage == [trunk["embed_dim"] * d for d in doubling]
    assert hiera.num_attention_heads_per_stage == [trunk["num_heads"] * d for d in doubling]
    assert hiera.blocks_per_stage == trunk["stages"]
    assert hiera.global_attention_blocks == trunk["global_att_blocks"]
    assert (
        list(hiera.window_positional_embedding_background_size)
        == trunk["window_pos_embed_bkg_spatial_size"]
    )
    assert hiera.window_size_per_stage == trunk["window_spec"]
    assert list(hiera.image_size) == [1024, 1024]
    # Hiera's fixed settings: 7x7 patch embedding with stride 4, three 2x2 query-pool stages.
    assert (hiera.patch_kernel_size, hiera.patch_stride, hiera.patch_padding) == (
        [7, 7],
        [4, 4],
        [3, 3],
    )
    assert (hiera.query_stride, hiera.num_query_pool_stages, hiera.mlp_ratio) == ([2, 2], 3, 4.0)

    vision = config.vision_config
    assert vision.backbone_channel_list == PUBLISHED_CHANNELS[size]
    for name, value in PUBLISHED_NECK.items():
        assert getattr(vision, name) == value, name
    for name, value in PUBLISHED_SHARED.items():
        assert getattr(config, name) == value, name
    assert config.rope_parameters["rope_theta"] == PUBLISHED_ROPE_THETA
    for name, value in PUBLISHED_MASK_DECODER.items():
        assert getattr(config.mask_decoder_config, name) == value, name
    for name, value in PUBLISHED_PROMPT_ENCODER.items():
        assert getattr(config.prompt_encoder_config, name) == value, name


@pytest.mark.parametrize("size", SIZES)
def test_each_size_has_the_published_number_of_parameters(size: str) -> None:
    from transformers import Sam2VideoModel

    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = Sam2VideoModel(architecture(size))
    millions = sum(p.numel() for p in model.parameters()) / 1e6
    assert millions == pytest.approx(PUBLISHED_MILLIONS[size], abs=0.1)


def test_another_input_size_moves_every_grid_with_it() -> None:
    config = architecture("base_plus", image_size=512)
    assert config.image_size == config.prompt_encoder_config.image_size == 512
    assert config.vision_config.backbone_config.image_size == [512, 512]
    assert config.vision_config.backbone_feature_sizes == [[128, 128], [64, 64], [32, 32]]
    assert config.memory_attention_rope_feat_sizes == [32, 32]
    # Nothing else changes.
    reference = architecture("base_plus").to_dict()
    changed = config.to_dict()
    for key in ("image_size", "vision_config", "prompt_encoder_config"):
        reference.pop(key), changed.pop(key)
    (
        reference.pop("memory_attention_rope_feat_sizes"),
        changed.pop("memory_attention_rope_feat_sizes"),
    )
    assert changed == reference
    with pytest.raises(ValueError, match="multiple of 32"):
        architecture("small", image_size=1000)
