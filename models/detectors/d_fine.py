"""D-FINE (transformers' ``DFineForObjectDetection``), trained on COCO: Apache-2.0 real-time DETR.

Sizes n, s, m, l, x, as published by the authors (github.com/Peterande/D-FINE,
``configs/dfine/dfine_hgnetv2_{n,s,m,l,x}_coco.yml``) and converted to
``transformers`` as ``ustc-community/dfine-{nano,small,medium,large,xlarge}-coco``
(the model cards say ``license: apache-2.0``). The architectures below are
those configs in ``DFineConfig``'s terms, as transformers' conversion script
(``models/d_fine/convert_d_fine_original_pytorch_checkpoint_to_hf.py``) maps
them: an HGNetV2 backbone (B0 for n and s, B2 for m, B4 for l, B5 for x), a
hybrid encoder and the fine-grained distribution refinement decoder.

Weights: ``weights=`` / ``$DFINE_WEIGHTS`` (a ``save_pretrained`` folder, a Hub
id, or ``random:<size>``), else the size's Hub checkpoint.
"""

from __future__ import annotations

from models.detectors.realtime_detr_family import Family, decoder_width, hgnet_v2_architecture

FAMILY = Family(
    name="d_fine",
    label="D-FINE",
    env_var="DFINE_WEIGHTS",
    model_class="DFineForObjectDetection",
    checkpoints={
        "n": "ustc-community/dfine-nano-coco",
        "s": "ustc-community/dfine-small-coco",
        "m": "ustc-community/dfine-medium-coco",
        "l": "ustc-community/dfine-large-coco",
        "x": "ustc-community/dfine-xlarge-coco",
    },
    architectures={
        "n": hgnet_v2_architecture(
            "B0",
            {
                **decoder_width(128, 2),
                "encoder_in_channels": [512, 1024],
                "encoder_ffn_dim": 512,
                "encode_proj_layers": [1],
                "feat_strides": [16, 32],
                "decoder_ffn_dim": 512,
                "decoder_n_points": [6, 6],
                "decoder_layers": 3,
                "depth_mult": 0.5,
                "hidden_expansion": 0.34,
            },
            out_indices=[3, 4],
        ),
        "s": hgnet_v2_architecture(
            "B0",
            {
                "encoder_in_channels": [256, 512, 1024],
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 3,
                "depth_mult": 0.34,
                "hidden_expansion": 0.5,
            },
        ),
        "m": hgnet_v2_architecture(
            "B2",
            {
                "encoder_in_channels": [384, 768, 1536],
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 4,
                "depth_mult": 0.67,
            },
        ),
        "l": hgnet_v2_architecture(
            "B4",
            {
                "encoder_in_channels": [512, 1024, 2048],
                "encoder_ffn_dim": 1024,
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 6,
            },
        ),
        "x": hgnet_v2_architecture(
            "B5",
            {
                "encoder_in_channels": [512, 1024, 2048],
                "encoder_hidden_dim": 384,
                "encoder_ffn_dim": 2048,
                "decoder_in_channels": [384, 384, 384],
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 6,
            },
        ),
    },
    default_size="s",
)
