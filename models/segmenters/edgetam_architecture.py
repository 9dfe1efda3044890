"""EdgeTAM's architecture as a ``transformers`` config, and its input size.

EdgeTAM (Meta, github.com/facebookresearch/EdgeTAM) is SAM 2's video tracker
with a RepViT-M1 image encoder (from ``timm``) and a spatial perceiver that
compresses each memory into 256 + 256 tokens; it comes in one size. The
numbers below are those of ``transformers``' conversion script
(``src/transformers/models/edgetam_video/convert_edgetam_video_to_hf.py``,
``get_config``): a ``timm/repvit_m1.dist_in1k`` backbone giving its four
stages, the ``EdgeTamVideoConfig`` defaults otherwise, with the temporal
encoding of object pointers and the occlusion embedding switched off.
``tests/test_edgetam.py`` compares :func:`architecture` with them.

Nothing here imports ``transformers`` until a config is built; the backbone
is built by ``timm`` without its ImageNet weights (the checkpoint holds them).

Example:
    >>> config = architecture(image_size=512)
    >>> config.vision_config.backbone_channel_list, config.image_size
    ([384, 192, 96, 48], 512)
"""

from __future__ import annotations

from typing import Any

from models.errors import ModelError
from models.segmenters.sam2_architectures import RANDOM_PREFIX, config_file, with_image_size

#: The one size EdgeTAM comes in.
SIZE = "edgetam"
#: ``timm`` name of the image encoder (the published checkpoint's).
BACKBONE = "repvit_m1.dist_in1k"
#: What the vision encoder asks of ``timm``: the feature maps of all four stages.
BACKBONE_ARGS: dict[str, Any] = {"in_chans": 3, "features_only": True, "out_indices": (0, 1, 2, 3)}
#: RepViT-M1's stage widths, deepest first, as the feature pyramid reads them.
BACKBONE_CHANNELS = [384, 192, 96, 48]
#: What the conversion script sets away from ``EdgeTamVideoConfig``'s defaults.
PUBLISHED_OVERRIDES: dict[str, Any] = {
    "enable_temporal_pos_encoding_for_object_pointers": False,
    "enable_occlusion_spatial_embedding": False,
}
#: The published input size.
IMAGE_SIZE = 1024


def architecture(*, image_size: int | None = None) -> Any:
    """EdgeTAM's ``EdgeTamVideoConfig``, as published.

    Args:
        image_size: Square input size (default 1024, as published).

    Returns:
        The config.

    Raises:
        ValueError: ``image_size`` is not a positive multiple of 32.
    """
    from transformers import EdgeTamVideoConfig, EdgeTamVisionConfig, TimmWrapperConfig

    backbone = TimmWrapperConfig(architecture=BACKBONE, model_args=dict(BACKBONE_ARGS))
    vision = EdgeTamVisionConfig(
        backbone_config=backbone, backbone_channel_list=list(BACKBONE_CHANNELS)
    )
    config = EdgeTamVideoConfig(vision_config=vision, **PUBLISHED_OVERRIDES)
    return with_image_size(config, image_size or IMAGE_SIZE)


def random_architecture(weights: str, *, image_size: int | None = None) -> Any:
    """The config that ``random:edgetam`` or a config file names.

    Args:
        weights: ``random:edgetam``, or the path of an ``EdgeTamVideoConfig``
            saved as JSON (``config.to_json_file``).
        image_size: Input size instead of the config's own.

    Returns:
        The config.

    Raises:
        OSError: The file cannot be read.
        ModelError: Not ``random:edgetam``, or the file is not an EdgeTAM video config.
    """
    if weights.startswith(RANDOM_PREFIX):
        if weights != f"{RANDOM_PREFIX}{SIZE}":
            raise ModelError(
                f"Unknown EdgeTAM architecture {weights!r}; use {RANDOM_PREFIX}{SIZE} "
                "or a config .json file."
            )
        return architecture(image_size=image_size)
    from transformers import EdgeTamVideoConfig

    return config_file(
        weights,
        EdgeTamVideoConfig,
        "edgetam_video",
        "an EdgeTAM video config",
        image_size=image_size,
    )
