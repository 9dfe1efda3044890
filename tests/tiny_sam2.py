"""A tiny SAM 2 video model for tests: SAM 2's code path at 128 px in about a million weights.

The sizes keep what ``transformers``' SAM 2 video code assumes: the memory
attention's cross-attention reads 64-channel memories, and the hidden size
must be a multiple of them larger than 64 (object pointers are split into
64-channel tokens); a global-attention block may not open a Hiera stage.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMAGE_SIZE = 128
HIDDEN = 128


def tiny_config(image_size: int = IMAGE_SIZE) -> Any:
    """A ``Sam2VideoConfig`` with a 4-stage, 5-block Hiera and one memory-attention layer."""
    from transformers import Sam2VideoConfig
    from transformers.models.sam2.configuration_sam2 import Sam2HieraDetConfig, Sam2VisionConfig

    dims = [8, 16, 32, 64]
    backbone = Sam2HieraDetConfig(
        hidden_size=dims[0],
        embed_dim_per_stage=dims,
        num_attention_heads_per_stage=[1, 1, 2, 2],
        blocks_per_stage=[1, 1, 2, 1],
        global_attention_blocks=[3],
        window_size_per_stage=[4, 4, 4, 2],
        window_positional_embedding_background_size=[4, 4],
        image_size=[image_size, image_size],
    )
    vision = Sam2VisionConfig(
        backbone_config=backbone, backbone_channel_list=dims[::-1], **vision_settings(image_size)
    )
    return Sam2VideoConfig(
        vision_config=vision,
        memory_attention_feed_forward_hidden_size=64,
        **shared_settings(image_size),
    )


def vision_settings(image_size: int) -> dict[str, Any]:
    """The vision config's settings that SAM 2 and EdgeTAM share at this size."""
    return {
        "backbone_feature_sizes": [[image_size // s] * 2 for s in (4, 8, 16)],
        "fpn_hidden_size": HIDDEN,
    }


def shared_settings(image_size: int) -> dict[str, Any]:
    """The video config's settings that tiny SAM 2 and EdgeTAM share: decoders and memory."""
    return {
        "prompt_encoder_config": {"hidden_size": HIDDEN, "image_size": image_size},
        "mask_decoder_config": {
            "hidden_size": HIDDEN,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
        "image_size": image_size,
        "memory_attention_hidden_size": HIDDEN,
        "memory_attention_num_layers": 1,
        "memory_attention_rope_feat_sizes": [image_size // 16] * 2,
        "memory_encoder_hidden_size": HIDDEN,
        "mask_downsampler_embed_dim": HIDDEN,
        "memory_fuser_embed_dim": HIDDEN,
        "memory_fuser_intermediate_dim": 64,
    }


def object_present(model: Any) -> Any:
    """``model`` in eval mode, its object-score head set to say "object present".

    Otherwise random weights often score every mask as an occlusion and leave
    nothing to follow or check.
    """
    import torch

    head = model.mask_decoder.pred_obj_score_head.proj_out
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(10.0)
    return model.eval()


def random_model(class_name: str, config: Any, seed: int = 0) -> Any:
    """A ``transformers`` video model with random weights whose object-score head says "object
    present" (:func:`object_present`).

    Args:
        class_name: The ``transformers`` class (``Sam2VideoModel``, ``EdgeTamVideoModel``).
        config: Its config.
        seed: Seeds the random weights.

    Returns:
        The model, in eval mode.
    """
    import torch
    import transformers

    torch.manual_seed(seed)
    return object_present(getattr(transformers, class_name)(config))


def tiny_model(seed: int = 0) -> Any:
    """The tiny model with random weights whose object-score head says "object present"."""
    return random_model("Sam2VideoModel", tiny_config(), seed)


def save_tiny_weights(folder: Path, model: Any = None) -> Path:
    """The tiny model (or ``model``) saved with ``save_pretrained``, like a user's weights."""
    (tiny_model() if model is None else model).save_pretrained(folder)
    return folder


@contextlib.contextmanager
def weights_in_env(env_var: str, folder: Path) -> Iterator[Path]:
    """``env_var`` names the tiny model's folder; the model cache is cleared before and after."""
    import pytest

    import models

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(env_var, str(folder))
        models.clear_cache()
        yield folder
    models.clear_cache()
