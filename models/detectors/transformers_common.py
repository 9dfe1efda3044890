"""Loading and input helpers shared by the transformers detectors (DETR, Grounding DINO)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.weights import loading_weights


def bgr_to_rgb(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Convert BGR frames to contiguous RGB arrays.

    transformers image processors reject the negative strides of a plain
    ``frame[..., ::-1]`` view, hence the copy.

    Args:
        frames: BGR uint8 images (H, W, 3).

    Returns:
        RGB uint8 images, C-contiguous.
    """
    return [np.ascontiguousarray(frame[..., ::-1]) for frame in frames]


def load_pretrained(
    model_class: Any,
    processor_class: Any,
    *,
    weights: str,
    label: str,
    env_var: str,
    device: str,
    revision: str | None = None,
) -> tuple[Any, Any]:
    """Load a transformers model and its processor onto ``device`` for inference.

    On CUDA the weights are loaded in fp16, which these detectors tolerate and
    which halves memory and time; on CPU they stay fp32.

    Args:
        model_class: e.g. ``DetrForObjectDetection``.
        processor_class: e.g. ``AutoImageProcessor`` or ``AutoProcessor``.
        weights: A local folder or a Hub id.
        label: Display name used in error messages.
        env_var: The model's weights environment variable.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        revision: Hub revision, or None.

    Returns:
        ``(model, processor)``, the model in eval mode on ``device``.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    import torch

    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with loading_weights(label, weights, env_var):
        processor = processor_class.from_pretrained(weights, revision=revision)
        model = model_class.from_pretrained(weights, revision=revision, dtype=dtype)
    return model.to(device).eval(), processor
