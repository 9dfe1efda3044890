"""Loading and input helpers shared by the transformers detectors (DETR, Grounding DINO)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.weights import loading_weights, looks_like_path
from models.weights_sources import HubRepo, WeightsLocation


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


def locate_pretrained(
    label: str,
    weights: str,
    env_var: str,
    *,
    required: tuple[str, ...],
    revision: str | None = None,
) -> WeightsLocation:
    """Where a transformers checkpoint is: a ``save_pretrained`` folder or a Hub repository.

    Args:
        label: Display name, for messages.
        weights: The chosen weights: a local folder or a Hub id.
        env_var: The model's environment variable.
        required: Files ``from_pretrained`` reads besides the weights (config,
            processor, tokenizer), checked in the Hub cache.
        revision: Hub revision, or None.

    Returns:
        The folder (its ``config.json`` must exist) or the Hub repository.
    """
    if looks_like_path(weights):
        return WeightsLocation.at_path(label, weights, env_var, Path(weights) / "config.json")
    repo = HubRepo(weights, revision=revision, required=required)
    return WeightsLocation.download(label, weights, env_var, repo)


def load_pretrained(
    model_class: Any, processor_class: Any, *, location: WeightsLocation, device: str
) -> tuple[Any, Any]:
    """Load a transformers model and its processor onto ``device`` for inference.

    On CUDA the weights are loaded in fp16, which these detectors tolerate and
    which halves memory and time; on CPU they stay fp32.

    Args:
        model_class: e.g. ``DetrForObjectDetection``.
        processor_class: e.g. ``AutoImageProcessor`` or ``AutoProcessor``.
        location: A local folder or a Hub repository (:func:`locate_pretrained`).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...

    Returns:
        ``(model, processor)``, the model in eval mode on ``device``.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    import torch

    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    weights = location.weights
    revision = location.remote.revision if isinstance(location.remote, HubRepo) else None
    with loading_weights(location.label, weights, location.env_var):
        processor = processor_class.from_pretrained(weights, revision=revision)
        model = model_class.from_pretrained(weights, revision=revision, dtype=dtype)
    return model.to(device).eval(), processor
