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

#: HGNetV2 stage layout shared by every size (one stem, four stages), and the stages whose
#: features the encoder takes (the config class's default is the last stage alone).
_STAGES = {
    "out_indices": [2, 3, 4],
    "stage_downsample": [False, True, True, True],
    "stage_light_block": [False, False, True, True],
    "stage_kernel_size": [3, 3, 5, 5],
}
_HGNETV2_B0 = {
    **_STAGES,
    "hidden_sizes": [128, 256, 512, 1024],
    "stem_channels": [3, 16, 16],
    "stage_in_channels": [16, 64, 256, 512],
    "stage_mid_channels": [16, 32, 64, 128],
    "stage_out_channels": [64, 256, 512, 1024],
    "stage_num_blocks": [1, 1, 2, 1],
    "stage_numb_of_layers": [3, 3, 3, 3],
    "use_learnable_affine_block": True,
}

FAMILY = Family(
    name="d_fine",
    label="D-FINE",
    env_var="DFINE_WEIGHTS",
    model_class="DFineForObjectDetection",
    config_class="DFineConfig",
    module="transformers.models.d_fine",
    checkpoints={
        "n": "ustc-community/dfine-nano-coco",
        "s": "ustc-community/dfine-small-coco",
        "m": "ustc-community/dfine-medium-coco",
        "l": "ustc-community/dfine-large-coco",
        "x": "ustc-community/dfine-xlarge-coco",
    },
    architectures={
        "n": Architecture(
            config={
                "d_model": 128,
                "encoder_hidden_dim": 128,
                "encoder_in_channels": [512, 1024],
                "encoder_ffn_dim": 512,
                "encode_proj_layers": [1],
                "feat_strides": [16, 32],
                "num_feature_levels": 2,
                "decoder_in_channels": [128, 128],
                "decoder_ffn_dim": 512,
                "decoder_n_points": [6, 6],
                "decoder_layers": 3,
                "depth_mult": 0.5,
                "hidden_expansion": 0.34,
            },
            backbone_type="hgnet_v2",
            backbone={**_HGNETV2_B0, "out_indices": [3, 4]},
        ),
        "s": Architecture(
            config={
                "encoder_in_channels": [256, 512, 1024],
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 3,
                "depth_mult": 0.34,
                "hidden_expansion": 0.5,
            },
            backbone_type="hgnet_v2",
            backbone=_HGNETV2_B0,
        ),
        "m": Architecture(
            config={
                "encoder_in_channels": [384, 768, 1536],
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 4,
                "depth_mult": 0.67,
            },
            backbone_type="hgnet_v2",
            backbone={
                **_STAGES,
                "hidden_sizes": [192, 384, 768, 1536],
                "stem_channels": [3, 24, 32],
                "stage_in_channels": [32, 96, 384, 768],
                "stage_mid_channels": [32, 64, 128, 256],
                "stage_out_channels": [96, 384, 768, 1536],
                "stage_num_blocks": [1, 1, 3, 1],
                "stage_numb_of_layers": [4, 4, 4, 4],
                "use_learnable_affine_block": True,
            },
        ),
        "l": Architecture(
            config={
                "encoder_in_channels": [512, 1024, 2048],
                "encoder_ffn_dim": 1024,
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 6,
            },
            backbone_type="hgnet_v2",
            backbone={
                **_STAGES,
                "hidden_sizes": [256, 512, 1024, 2048],
                "stem_channels": [3, 32, 48],
                "stage_in_channels": [48, 128, 512, 1024],
                "stage_mid_channels": [48, 96, 192, 384],
                "stage_out_channels": [128, 512, 1024, 2048],
                "stage_num_blocks": [1, 1, 3, 1],
                "stage_numb_of_layers": [6, 6, 6, 6],
            },
        ),
        "x": Architecture(
            config={
                "encoder_in_channels": [512, 1024, 2048],
                "encoder_hidden_dim": 384,
                "encoder_ffn_dim": 2048,
                "decoder_in_channels": [384, 384, 384],
                "decoder_n_points": [3, 6, 3],
                "decoder_layers": 6,
            },
            backbone_type="hgnet_v2",
            backbone={
                **_STAGES,
                "hidden_sizes": [256, 512, 1024, 2048],
                "stem_channels": [3, 32, 64],
                "stage_in_channels": [64, 128, 512, 1024],
                "stage_mid_channels": [64, 128, 256, 512],
                "stage_out_channels": [128, 512, 1024, 2048],
                "stage_num_blocks": [1, 2, 5, 2],
                "stage_numb_of_layers": [6, 6, 6, 6],
            },
        ),
    },
    default_size="s",
)


def locate_d_fine(
    *, size: str = FAMILY.default_size, weights: str | None = None
) -> WeightsLocation:
    """Where a D-FINE size's weights are (see :func:`realtime_detr.locate_weights`)."""
    return locate_weights(FAMILY, size=size, weights=weights)


@register(
    "detector",
    FAMILY.name,
    label=FAMILY.label,
    sizes=FAMILY.sizes,
    default_size=FAMILY.default_size,
    description="D-FINE real-time DETR (transformers) trained on COCO (80 classes); no AGPL code.",
    license=LICENSE,
    throughput_fps=ESTIMATED_ZEROGPU_FPS,
    locate=locate_d_fine,
    env_var=FAMILY.env_var,
    requires=(FAMILY.requirement,),
)
def create_d_fine(
    *, device: str, size: str = FAMILY.default_size, weights: str | None = None
) -> RealTimeDetrDetector:
    """Build a D-FINE detector.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: One of n, s, m, l, x.
        weights: ``random:<size>``, a ``save_pretrained`` folder or a Hub id;
            defaults to ``$DFINE_WEIGHTS``, then the size's checkpoint.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.

    Example:
        >>> detector = create_d_fine(device="cpu", weights="random:n")  # doctest: +SKIP
    """
    return create_detector(FAMILY, device=device, size=size, weights=weights)
