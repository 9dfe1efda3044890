"""Each offered D-FINE, DEIMv2 and RT-DETRv2 size's architecture is the published one.

The numbers below are copied from the published sources, not from our modules:

- D-FINE: the authors' configs, github.com/Peterande/D-FINE
  ``configs/dfine/dfine_hgnetv2_{n,s,m,l,x}_coco.yml`` (HGNetv2 ``name`` B0/B0/B2/B4/B5,
  ``HybridEncoder`` in_channels, hidden_dim, dim_feedforward, depth_mult, expansion,
  ``DFINETransformer`` hidden_dim, num_layers, num_points, num_levels, num_queries), and
  the HGNetv2 stage tables those names stand for, as
  huggingface/transformers ``models/d_fine/convert_d_fine_original_pytorch_checkpoint_to_hf.py``
  writes them (``get_d_fine_config``). Parameters: the README's model table
  (N 4M, S 10M, M 19M, L 31M, X 62M).
- RT-DETRv2: github.com/lyuwenyu/RT-DETR ``rtdetrv2_pytorch/configs/rtdetrv2/
  rtdetrv2_r{18,34,50,101}vd_*_coco.yml`` (PResNet depth, HybridEncoder in_channels,
  hidden_dim, dim_feedforward, expansion, RTDETRTransformerv2 num_layers), as
  transformers' ``models/rt_detr_v2/convert_rt_detr_v2_weights_to_hf.py``
  (``get_rt_detr_config``) maps them. Parameters: the README (20M, 31M, 42M, 76M).
- DEIMv2: github.com/Intellindust-AI-Lab/DEIMv2 ``configs/deimv2/
  deimv2_{hgnetv2_pico,hgnetv2_n,dinov3_s}_coco.yml`` (backbone, ``LiteEncoder`` or
  ``HybridEncoder``, ``DEIMTransformer``; S's ``DINOv3STAs``: vit_tiny, embed_dim 192,
  num_heads 3, interaction_indexes [5, 8, 11]), the HGNetv2 Pico and B0 tables of
  transformers' ``models/deimv2/convert_deimv2_original_pytorch_checkpoint_to_hf.py``
  (``HGNETV2_BACKBONE_CONFIGS``). Parameters: the README's model zoo (Pico 1.5M,
  N 3.6M, S 9.71M).

Parameters are counted on the meta device (nothing allocated) and compared
within half a unit of the published figure's last digit, plus 2 %.
"""

from __future__ import annotations

from typing import Any

import pytest

from models.detectors import d_fine, deimv2, rt_detr_v2
from models.detectors.realtime_detr import Family, architecture_config

#: HGNetv2 stage tables (stage_out_channels, stage_num_blocks, stage_numb_of_layers).
HGNETV2 = {
    "Pico": ([64, 256, 512], [1, 1, 2], [3, 3, 3]),
    "B0": ([64, 256, 512, 1024], [1, 1, 2, 1], [3, 3, 3, 3]),
    "B2": ([96, 384, 768, 1536], [1, 1, 3, 1], [4, 4, 4, 4]),
    "B4": ([128, 512, 1024, 2048], [1, 1, 3, 1], [6, 6, 6, 6]),
    "B5": ([128, 512, 1024, 2048], [1, 2, 5, 2], [6, 6, 6, 6]),
}

#: size: (HGNetv2 name, encoder in_channels, encoder hidden_dim, encoder dim_feedforward,
#: depth_mult, expansion, decoder hidden_dim, num_layers, num_points, num_queries)
D_FINE = {
    "n": ("B0", [512, 1024], 128, 512, 0.5, 0.34, 128, 3, [6, 6], 300),
    "s": ("B0", [256, 512, 1024], 256, 1024, 0.34, 0.5, 256, 3, [3, 6, 3], 300),
    "m": ("B2", [384, 768, 1536], 256, 1024, 0.67, 1.0, 256, 4, [3, 6, 3], 300),
    "l": ("B4", [512, 1024, 2048], 256, 1024, 1.0, 1.0, 256, 6, [3, 6, 3], 300),
    "x": ("B5", [512, 1024, 2048], 384, 2048, 1.0, 1.0, 256, 6, [3, 6, 3], 300),
}
#: size: (PResNet depths, block, encoder in_channels, hidden_dim, dim_feedforward,
#: expansion, decoder num_layers)
RT_DETR_V2 = {
    "r18": ([2, 2, 2, 2], "basic", [128, 256, 512], 256, 1024, 0.5, 3),
    "r34": ([3, 4, 6, 3], "basic", [128, 256, 512], 256, 1024, 0.5, 4),
    "r50": ([3, 4, 6, 3], "bottleneck", [512, 1024, 2048], 256, 1024, 1.0, 6),
    "r101": ([3, 4, 23, 3], "bottleneck", [512, 1024, 2048], 384, 2048, 1.0, 6),
}
#: size: (encoder, encoder in_channels, encoder hidden_dim, decoder hidden_dim,
#: num_layers, dim_feedforward, num_points, num_queries)
DEIMV2 = {
    "pico": ("lite", [512], 112, 112, 3, 320, [4, 2], 200),
    "n": ("hybrid", [512, 1024], 128, 128, 3, 512, [6, 6], 300),
    "s": ("hybrid", [192, 192, 192], 192, 192, 4, 512, [3, 6, 3], 300),
}
#: Millions of parameters as published, with the unit of the figure's last digit.
PUBLISHED_MILLIONS = {
    ("d_fine", "n"): (4, 1), ("d_fine", "s"): (10, 1), ("d_fine", "m"): (19, 1),
    ("d_fine", "l"): (31, 1), ("d_fine", "x"): (62, 1),
    ("rt_detr_v2", "r18"): (20, 1), ("rt_detr_v2", "r34"): (31, 1),
    ("rt_detr_v2", "r50"): (42, 1), ("rt_detr_v2", "r101"): (76, 1),
    ("deimv2", "pico"): (1.5, 0.1), ("deimv2", "n"): (3.6, 0.1), ("deimv2", "s"): (9.71, 0.01),
}  # fmt: skip
FAMILIES: dict[str, Family] = {m.FAMILY.name: m.FAMILY for m in (d_fine, deimv2, rt_detr_v2)}


def test_the_offered_sizes_are_the_published_ones() -> None:
    assert set(FAMILIES["d_fine"].sizes) == set(D_FINE)
    assert set(FAMILIES["rt_detr_v2"].sizes) == set(RT_DETR_V2)
    assert set(FAMILIES["deimv2"].sizes) == set(DEIMV2)
    assert {(name, size) for name, f in FAMILIES.items() for size in f.sizes} == set(
        PUBLISHED_MILLIONS
    )


@pytest.mark.parametrize("size", list(D_FINE))
def test_d_fine_size(size: str) -> None:
    hgnet, enc_in, enc_dim, enc_ffn, depth, expansion, dim, layers, points, queries = D_FINE[size]
    config = architecture_config(FAMILIES["d_fine"], size)
    backbone = config.backbone_config
    assert (
        backbone.stage_out_channels,
        backbone.stage_num_blocks,
        backbone.stage_numb_of_layers,
    ) == (list(HGNETV2[hgnet][0]), list(HGNETV2[hgnet][1]), list(HGNETV2[hgnet][2]))
    # The encoder's inputs are the last stages' outputs.
    assert enc_in == backbone.stage_out_channels[-len(enc_in) :]
    assert config.encoder_in_channels == enc_in
    assert (config.encoder_hidden_dim, config.encoder_ffn_dim) == (enc_dim, enc_ffn)
    assert (config.depth_mult, config.hidden_expansion) == (depth, expansion)
    assert (config.d_model, config.decoder_layers) == (dim, layers)
    assert config.decoder_n_points == points and config.num_feature_levels == len(points)
    assert config.num_queries == queries


@pytest.mark.parametrize("size", list(RT_DETR_V2))
def test_rt_detr_v2_size(size: str) -> None:
    depths, block, enc_in, enc_dim, enc_ffn, expansion, layers = RT_DETR_V2[size]
    config = architecture_config(FAMILIES["rt_detr_v2"], size)
    backbone = config.backbone_config
    assert (backbone.depths, backbone.layer_type) == (depths, block)
    assert config.encoder_in_channels == enc_in
    assert (config.encoder_hidden_dim, config.encoder_ffn_dim) == (enc_dim, enc_ffn)
    assert list(config.decoder_in_channels) == [enc_dim] * 3
    assert (config.hidden_expansion, config.decoder_layers) == (expansion, layers)
    assert (config.d_model, config.num_queries) == (256, 300)


@pytest.mark.parametrize("size", list(DEIMV2))
def test_deimv2_size(size: str) -> None:
    encoder, enc_in, enc_dim, dim, layers, ffn, points, queries = DEIMV2[size]
    config = architecture_config(FAMILIES["deimv2"], size)
    assert config.encoder_type == encoder
    assert (config.encoder_in_channels, config.encoder_hidden_dim) == (enc_in, enc_dim)
    assert (config.d_model, config.decoder_layers, config.decoder_ffn_dim) == (dim, layers, ffn)
    assert config.decoder_n_points == points and config.num_queries == queries
    backbone = config.backbone_config
    if size == "s":
        vit = (backbone.hidden_size, backbone.num_attention_heads, backbone.num_hidden_layers)
        assert vit == (192, 3, 12)
        # interaction_indexes [5, 8, 11] count blocks from 0; out_indices count the embeddings.
        assert backbone.out_indices == [5 + 1, 8 + 1, 11 + 1]
    else:
        table = HGNETV2["Pico" if size == "pico" else "B0"]
        assert backbone.stage_out_channels == table[0]
        assert backbone.stage_num_blocks == table[1]
        assert backbone.stage_numb_of_layers == table[2]


@pytest.mark.parametrize(("name", "size"), list(PUBLISHED_MILLIONS))
def test_parameter_count_is_the_published_one(name: str, size: str) -> None:
    published, unit = PUBLISHED_MILLIONS[(name, size)]
    millions = _parameters(FAMILIES[name], size) / 1e6
    assert abs(millions - published) <= unit / 2 + 0.02 * published, f"{millions:.2f} M"


def _parameters(family: Family, size: str) -> int:
    import torch
    import transformers

    model_class: Any = getattr(transformers, family.model_class)
    with torch.device("meta"):
        model = model_class(architecture_config(family, size))
    return sum(p.numel() for p in model.parameters())
