"""A tiny SAM 3 video model for tests: SAM 3's code path at 112 px in about six million weights.

The sizes keep what ``transformers``' SAM 3 code assumes: the feature
pyramid's width is the detector's and the tracker's hidden size, and the
tracker's memories are 64 channels with a hidden size a multiple of them
larger than 64 (as SAM 2's, ``tiny_sam2.py``); the feature maps are 4, 2 and 1
times the ViT's grid (112 / 14 = 8). Random weights score every query about
alike, so the detection thresholds are 0 (every query of the detector's two is
an instance), at most four objects are followed, and none is removed for
matching no later detection (SAM 3's "hotstart" check): the test checks the
path, ids and masks' form, not what random weights see.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IMAGE_SIZE = 112
HIDDEN = 128
GRID = IMAGE_SIZE // 14


def tiny_config() -> Any:
    """A ``Sam3VideoConfig``: a 2-block ViT, 1-layer text encoder and DETR, one memory layer."""
    from transformers import Sam3VideoConfig

    vision = {
        "backbone_config": {
            "model_type": "sam3_vit_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": IMAGE_SIZE,
            "patch_size": 14,
            "window_size": 4,
            "global_attn_indexes": [1],
            "pretrain_image_size": 56,
        },
        "fpn_hidden_size": HIDDEN,
        "backbone_feature_sizes": [[GRID * 4] * 2, [GRID * 2] * 2, [GRID] * 2],
    }
    small = {"hidden_size": HIDDEN, "num_attention_heads": 2}
    layers = {**small, "num_layers": 1, "intermediate_size": 64}
    detector = {
        "vision_config": vision,
        "text_config": {
            "model_type": "clip_text_model",
            "vocab_size": 49408,
            "hidden_size": 32,
            "intermediate_size": 64,
            "projection_dim": HIDDEN,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
        },
        "geometry_encoder_config": layers,
        "detr_encoder_config": layers,
        "detr_decoder_config": {**layers, "num_queries": 2},
        "mask_decoder_config": small,
    }
    tracker = {
        "vision_config": vision,
        "image_size": IMAGE_SIZE,
        "prompt_encoder_config": {"hidden_size": HIDDEN},
        "mask_decoder_config": {
            "hidden_size": HIDDEN,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
        "memory_attention_hidden_size": HIDDEN,
        "memory_attention_num_layers": 1,
        "memory_attention_feed_forward_hidden_size": 64,
        "memory_attention_rope_feat_sizes": [GRID, GRID],
        "memory_encoder_hidden_size": HIDDEN,
        "mask_downsampler_embed_dim": HIDDEN,
        "memory_fuser_embed_dim": HIDDEN,
        "memory_fuser_intermediate_dim": 64,
    }
    return Sam3VideoConfig(
        detector_config=detector,
        tracker_config=tracker,
        low_res_mask_size=GRID * 4,
        score_threshold_detection=0.0,
        new_det_thresh=0.0,
        max_num_objects=4,
        # No "hotstart": random detections never match the tracks, which it would remove.
        hotstart_delay=0,
    )


def save_tiny_config(folder: Path) -> Path:
    """The tiny config as a ``.json`` file: ``weights=`` that path builds it with random weights."""
    path = folder / "tiny_sam3.json"
    path.write_text(json.dumps(json.loads(tiny_config().to_json_string())))
    return path


def tiny_model(seed: int = 0) -> Any:
    """The tiny model with random weights whose tracker says "object present".

    Otherwise random weights often score every tracked mask as an occlusion and
    leave nothing to follow after the frame an object is found on.
    """
    import torch
    from transformers import Sam3VideoModel

    torch.manual_seed(seed)
    model = Sam3VideoModel(tiny_config()).eval()
    head = model.tracker_model.mask_decoder.pred_obj_score_head.proj_out
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(10.0)
    return model


def save_tiny_weights(folder: Path) -> Path:
    """The tiny model and its processor saved with ``save_pretrained``, as a user's would be."""
    from models.segmenters.sam3_video import build_processor, byte_tokenizer

    model = tiny_model()
    model.save_pretrained(folder)
    build_processor(model.config, byte_tokenizer()).save_pretrained(folder)
    return folder
