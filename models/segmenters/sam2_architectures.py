"""SAM 2.1's architectures as ``transformers`` configs: the three offered sizes, and the input size.

Meta publishes one config per size (``configs/sam2.1/sam2.1_hiera_{s,b+,l}.yaml``
in github.com/facebookresearch/sam2); only the Hiera image encoder differs
between the sizes. :data:`HIERA` holds those numbers and :data:`SHARED`,
:data:`FPN`, :data:`PROMPT_ENCODER` and :data:`MASK_DECODER` the rest, in
``Sam2VideoConfig``'s terms, so that :func:`architecture` builds each size
without any checkpoint: random weights with SAM 2's real compute (benchmarks),
and the reference that ``tests/test_sam2_architectures.py`` compares with the
published configuration.

Nothing here imports ``transformers`` until a config is built.

Example:
    >>> config = architecture("large", image_size=512)
    >>> config.vision_config.backbone_config.blocks_per_stage
    [2, 6, 36, 4]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import ModelError
from models.weights import describe_failure

#: The sizes the segmenters offer.
SIZES = ("small", "base_plus", "large")
#: ``weights=`` names a size's architecture with random weights as ``random:<size>``.
RANDOM_PREFIX = "random:"
#: Hiera downsamples by 32 at its last stage: input sizes are multiples of this.
SIZE_MULTIPLE = 32
#: The memory attention runs on the stride-16 feature grid.
FEATURE_STRIDE = 16


@dataclass(frozen=True)
class Hiera:
    """The Hiera image encoder of one SAM 2.1 size (Meta's ``trunk`` settings).

    Attributes:
        embed_dim: Channels of the first stage (doubled at each of the three later stages).
        num_heads: Attention heads of the first stage (doubled likewise).
        stages: Blocks per stage.
        global_attention_blocks: Blocks that attend globally instead of in windows.
        window_background_size: Size of the background positional embedding.
        window_sizes: Attention window per stage.
    """

    embed_dim: int
    num_heads: int
    stages: tuple[int, int, int, int]
    global_attention_blocks: tuple[int, int, int]
    window_background_size: tuple[int, int]
    window_sizes: tuple[int, int, int, int]

    def per_stage(self, first: int) -> list[int]:
        """``first`` doubled at each stage: the channel and head counts of the four stages."""
        return [first * 2**stage for stage in range(len(self.stages))]


#: Each size's image encoder. Base-plus's yaml names only embed_dim and num_heads;
#: the rest are the defaults of Meta's ``Hiera`` class.
HIERA = {
    "small": Hiera(96, 1, (1, 2, 11, 2), (7, 10, 13), (7, 7), (8, 4, 14, 7)),
    "base_plus": Hiera(112, 2, (2, 3, 16, 3), (12, 16, 20), (14, 14), (8, 4, 14, 7)),
    "large": Hiera(144, 2, (2, 6, 36, 4), (23, 33, 43), (7, 7), (8, 4, 16, 8)),
}

#: The image encoder's feature pyramid (``neck``): the same for every size.
FPN: dict[str, Any] = {
    "fpn_hidden_size": 256,
    "fpn_top_down_levels": [2, 3],
    "num_feature_levels": 3,
}
#: Prompt encoder, as Meta's ``SAM2Base`` builds it for every size.
PROMPT_ENCODER: dict[str, Any] = {
    "hidden_size": 256,
    "patch_size": FEATURE_STRIDE,
    "mask_input_channels": 16,
    "num_point_embeddings": 4,
}
#: Mask decoder, as ``SAM2Base`` builds it, with the stability fallback that
#: Meta's video predictor builder switches on.
MASK_DECODER: dict[str, Any] = {
    "hidden_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "mlp_dim": 2048,
    "num_multimask_outputs": 3,
    "iou_head_depth": 3,
    "iou_head_hidden_dim": 256,
    "dynamic_multimask_via_stability": True,
    "dynamic_multimask_stability_delta": 0.05,
    "dynamic_multimask_stability_thresh": 0.98,
}
#: Memory attention, memory encoder and tracking settings: the same for every size.
SHARED: dict[str, Any] = {
    "image_size": 1024,
    "num_maskmem": 7,
    "sigmoid_scale_for_mem_enc": 20.0,
    "sigmoid_bias_for_mem_enc": -10.0,
    "enable_occlusion_spatial_embedding": True,
    "enable_temporal_pos_encoding_for_object_pointers": True,
    "multimask_output_in_sam": True,
    "multimask_min_pt_num": 0,
    "multimask_max_pt_num": 1,
    "multimask_output_for_tracking": True,
    "max_object_pointers_in_encoder": 16,
    "max_cond_frame_num": -1,
    "memory_attention_hidden_size": 256,
    "memory_attention_num_layers": 4,
    "memory_attention_num_attention_heads": 1,
    "memory_attention_downsample_rate": 1,
    "memory_attention_feed_forward_hidden_size": 2048,
    "memory_attention_feed_forward_hidden_act": "relu",
    "memory_attention_dropout": 0.1,
    "memory_attention_rope_dropout": 0.1,
    "memory_encoder_hidden_size": 256,
    "memory_encoder_output_channels": 64,
    "mask_downsampler_embed_dim": 256,
    "mask_downsampler_kernel_size": 3,
    "mask_downsampler_stride": 2,
    "mask_downsampler_padding": 1,
    "mask_downsampler_total_stride": FEATURE_STRIDE,
    "memory_fuser_num_layers": 2,
    "memory_fuser_embed_dim": 256,
    "memory_fuser_intermediate_dim": 1024,
    "memory_fuser_kernel_size": 7,
    "memory_fuser_padding": 3,
    "memory_fuser_layer_scale_init_value": 1e-6,
}
#: The rotary embedding's base in the memory attention.
ROPE_THETA = 10000.0


def check_image_size(image_size: int) -> int:
    """``image_size`` when it is a positive multiple of 32.

    Raises:
        ValueError: It is not.
    """
    if image_size <= 0 or image_size % SIZE_MULTIPLE:
        raise ValueError(f"image_size must be a positive multiple of 32, got {image_size}")
    return int(image_size)


def architecture(size: str, *, image_size: int | None = None) -> Any:
    """The ``Sam2VideoConfig`` of one SAM 2.1 size.

    Args:
        size: ``"small"``, ``"base_plus"`` or ``"large"``.
        image_size: Square input size (default 1024, as published).

    Returns:
        The config.

    Raises:
        KeyError: Unknown size.
        ValueError: ``image_size`` is not a positive multiple of 32.
    """
    from transformers import Sam2VideoConfig
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    hiera = HIERA[size]
    dims = hiera.per_stage(hiera.embed_dim)
    backbone = Sam2HieraDetConfig(
        hidden_size=hiera.embed_dim,
        num_attention_heads=hiera.num_heads,
        embed_dim_per_stage=dims,
        num_attention_heads_per_stage=hiera.per_stage(hiera.num_heads),
        blocks_per_stage=list(hiera.stages),
        global_attention_blocks=list(hiera.global_attention_blocks),
        window_positional_embedding_background_size=list(hiera.window_background_size),
        window_size_per_stage=list(hiera.window_sizes),
    )
    vision = Sam2VisionConfig(backbone_config=backbone, backbone_channel_list=dims[::-1], **FPN)
    config = Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config=dict(PROMPT_ENCODER),
        mask_decoder_config=dict(MASK_DECODER),
        rope_parameters={"rope_type": "axial", "rope_theta": ROPE_THETA},
        **SHARED,
    )
    return with_image_size(config, image_size or SHARED["image_size"])


def with_image_size(config: Any, image_size: int) -> Any:
    """``config`` at another square input size, every size-dependent setting with it.

    The feature grids of the image encoder, the prompt encoder's image size and
    the memory attention's rotary grid follow the input size; no weight's shape
    depends on it, so trained weights load at any size (smaller is faster and coarser).
    SAM 2's and EdgeTAM's configs alike (EdgeTAM's perceiver keeps its latent grid,
    ``memory_attention_rope_k_sizes``).

    Args:
        config: A ``Sam2VideoConfig`` or ``EdgeTamVideoConfig`` (left unchanged).
        image_size: Square input size, a multiple of 32.

    Returns:
        A new config.

    Raises:
        ValueError: ``image_size`` is not a positive multiple of 32.

    Example:
        >>> with_image_size(architecture("small"), 512).memory_attention_rope_feat_sizes
        [32, 32]
    """
    size = check_image_size(image_size)
    config = type(config).from_dict(config.to_dict())
    grids = [[size // stride] * 2 for stride in (4, 8, FEATURE_STRIDE)]
    config.image_size = size
    backbone = config.vision_config.backbone_config
    if hasattr(backbone, "image_size"):
        # SAM 2's Hiera sizes its positional embedding by it; EdgeTAM's timm encoder has none.
        backbone.image_size = [size, size]
    config.vision_config.backbone_feature_sizes = grids
    config.prompt_encoder_config.image_size = size
    config.memory_attention_rope_feat_sizes = grids[-1]
    return config


def config_file(
    weights: str, config_class: Any, model_type: str, what: str, *, image_size: int | None
) -> Any:
    """The video config saved as JSON (``config.to_json_file``) at ``weights``.

    Args:
        weights: The file's path.
        config_class: ``Sam2VideoConfig`` or ``EdgeTamVideoConfig``.
        model_type: The ``model_type`` the file must have.
        what: The config, for the message, e.g. ``"a SAM 2 video config"``.
        image_size: Input size instead of the file's own.

    Returns:
        The config.

    Raises:
        OSError: The file cannot be read.
        ModelError: The file is not such a config.
    """
    path = Path(weights).expanduser()
    text = path.read_text()
    try:
        values = json.loads(text)
        if not isinstance(values, dict) or values.get("model_type") != model_type:
            raise ValueError(f"its model_type is not {model_type}")
        config = config_class.from_dict(values)
    except Exception as exc:  # noqa: BLE001 - json and transformers' config checks raise many kinds
        raise ModelError(f"{path} is not {what} ({describe_failure(exc)}).") from exc
    return with_image_size(config, image_size) if image_size else config


def is_random_architecture(weights: str) -> bool:
    """Whether ``weights`` names an architecture with random weights.

    That is ``random:<size>`` or a transformers config file (``.json``).

    Example:
        >>> is_random_architecture("random:large"), is_random_architecture("facebook/sam2")
        (True, False)
    """
    return weights.startswith(RANDOM_PREFIX) or weights.lower().endswith(".json")


def random_architecture(weights: str, *, image_size: int | None = None) -> Any:
    """The config that ``random:<size>`` or a config file names.

    Args:
        weights: ``random:small``, ``random:base_plus``, ``random:large``, or the
            path of a ``Sam2VideoConfig`` saved as JSON (``config.to_json_file``).
        image_size: Input size instead of the config's own.

    Returns:
        The config.

    Raises:
        OSError: The file cannot be read.
        ModelError: Not a known size, or the file is not a SAM 2 video config.
    """
    if weights.startswith(RANDOM_PREFIX):
        size = weights.removeprefix(RANDOM_PREFIX)
        if size not in HIERA:
            raise ModelError(
                f"Unknown SAM 2.1 architecture {weights!r}; use "
                + ", ".join(f"{RANDOM_PREFIX}{s}" for s in SIZES)
                + " or a config .json file."
            )
        return architecture(size, image_size=image_size)
    from transformers import Sam2VideoConfig

    return config_file(
        weights, Sam2VideoConfig, "sam2_video", "a SAM 2 video config", image_size=image_size
    )
