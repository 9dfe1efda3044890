"""Depth Anything V2 (transformers): relative monocular depth, in three sizes.

Weights, first match wins (see :mod:`models.weights`):

1. ``weights=`` (``--weights`` on the CLI): a local folder saved with
   ``save_pretrained`` (``config.json`` + ``model.safetensors``, and ideally
   ``preprocessor_config.json``), or a Hub id;
2. ``$DEPTH_ANYTHING_V2_<SIZE>_WEIGHTS`` (e.g. ``DEPTH_ANYTHING_V2_SMALL_WEIGHTS``),
   then ``$DEPTH_ANYTHING_WEIGHTS`` (any size);
3. the Hub checkpoint ``depth-anything/Depth-Anything-V2-<Size>-hf``, downloaded
   and cached by transformers on a machine with network access.

Licences differ by size: Small is Apache-2.0; Base and Large are CC-BY-NC-4.0
(non-commercial use only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from models.depth.base import DepthEstimator
from models.registry import ModelCard, register
from models.transfer import PinnedUploader
from models.weights import loading_weights, looks_like_path, missing_weights_error, resolve_weights
from models.weights_sources import HubRepo, WeightsLocation

CARD = ModelCard(
    label="Depth Anything V2",
    description="Relative monocular depth (larger is nearer); small, base or large.",
    # The model cards huggingface.co/depth-anything/Depth-Anything-V2-{Small,Base,Large}-hf:
    # "license: apache-2.0" (Small), "license: cc-by-nc-4.0" (Base, Large).
    license={"small": "Apache-2.0", "base": "CC-BY-NC-4.0", "large": "CC-BY-NC-4.0"},
    sizes=("small", "base", "large"),
    default_size="small",
    throughput_fps={"small": 25.0, "base": 12.0, "large": 6.0},
    # Read for every size, after the size's own variable (:func:`size_env_var`).
    env_var="DEPTH_ANYTHING_WEIGHTS",
)
HUB_IDS = {size: f"depth-anything/Depth-Anything-V2-{size.title()}-hf" for size in CARD.sizes}
#: What loading reads from the Hub besides the weights.
REQUIRED_FILES = ("config.json", "preprocessor_config.json")

# The published checkpoints' preprocessing, used when a local folder lacks
# ``preprocessor_config.json`` (a model saved without its processor).
_DEFAULT_PROCESSOR = {
    "size": {"height": 518, "width": 518},
    "keep_aspect_ratio": True,
    "ensure_multiple_of": 14,
    "resample": 3,  # bicubic
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}


def size_env_var(size: str) -> str:
    """The environment variable for one size's weights, e.g. ``DEPTH_ANYTHING_V2_SMALL_WEIGHTS``."""
    return f"DEPTH_ANYTHING_V2_{size.upper()}_WEIGHTS"


class DepthAnythingV2(DepthEstimator):
    """Depth Anything V2 through ``transformers``' ``AutoModelForDepthEstimation``.

    Build instances with :meth:`load`; ``__init__`` takes an already loaded model.

    Attributes:
        model: The ``DepthAnythingForDepthEstimation`` module, on :attr:`device`.
        processor: Its ``DPTImageProcessor`` (torchvision backend, so resizing
            and normalising run on :attr:`device` too).
        half: Whether inference runs under fp16 autocast (CUDA only).
        uploader: Copies the uint8 frames to :attr:`device` (through pinned
            memory on CUDA).
    """

    name = "depth_anything_v2"

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        device: str,
        weights: str,
        size: str | None,
        half: bool,
    ) -> None:
        super().__init__(
            device=device, weights=weights, size=size, license=CARD.license_for(size)
        )
        self.model = model
        self.processor = processor
        self.half = half
        self.uploader = PinnedUploader(device)

    @classmethod
    def load(
        cls, *, weights: str, device: str, size: str, half: bool | None = None
    ) -> DepthAnythingV2:
        """Load weights and processor onto ``device``.

        Args:
            weights: A local ``save_pretrained`` folder or a Hub id.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
            size: Model size, for messages, the licence and :meth:`info`.
            half: fp16 autocast; None means "on CUDA only".

        Returns:
            The estimator.

        Raises:
            MissingWeightsError: The weights are neither local nor downloadable.
        """
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation, DPTImageProcessor

        label = f"{CARD.label} {size}"
        env_var = size_env_var(size)
        local = Path(weights).expanduser()
        if looks_like_path(weights) and not (local / "config.json").is_file():
            raise missing_weights_error(
                label, weights, env_var, f"{local} is not a folder holding config.json"
            )
        source = str(local) if local.is_dir() else weights
        with loading_weights(label, weights, env_var):
            model = AutoModelForDepthEstimation.from_pretrained(source)
            if local.is_dir() and not (local / "preprocessor_config.json").is_file():
                processor = DPTImageProcessor(**_DEFAULT_PROCESSOR)
            else:
                processor = AutoImageProcessor.from_pretrained(source)
        model.eval().to(device)
        half = device.startswith("cuda") if half is None else half
        return cls(model, processor, device=device, weights=weights, size=size, half=half)

    def _predict(
        self, frames: list[np.ndarray], timing: dict[str, float], input_size: int | None
    ) -> list[np.ndarray]:
        # One model call per frame size: the processor cannot stack mixed sizes.
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for index, frame in enumerate(frames):
            by_shape.setdefault(frame.shape, []).append(index)
        results: list[np.ndarray] = [np.empty(0, np.float32)] * len(frames)
        for indices in by_shape.values():
            maps = self._predict_same_size([frames[i] for i in indices], timing, input_size)
            for i, depth in zip(indices, maps, strict=True):
                results[i] = depth
        return results

    def _predict_same_size(
        self, frames: list[np.ndarray], timing: dict[str, float], input_size: int | None
    ) -> list[np.ndarray]:
        import torch

        height, width = frames[0].shape[:2]
        options: dict[str, Any] = {}
        if input_size is not None:
            options["size"] = {"height": int(input_size), "width": int(input_size)}
        with self.stage(timing, "preprocess"), torch.inference_mode():
            # uint8 crosses to the device (4x less than float); the BGR->RGB flip
            # is a torch copy, which sidesteps the processor's rejection of
            # negative-stride numpy views.
            batch = self.uploader.upload(frames)
            batch = batch.permute(0, 3, 1, 2).flip(1)
            inputs = self.processor(
                images=batch, return_tensors="pt", device=self.device, **options
            )
            pixel_values = inputs["pixel_values"].to(self.device)
        with self.stage(timing, "inference"), torch.inference_mode():
            with torch.autocast("cuda", dtype=torch.float16, enabled=self.half):
                predicted = self.model(pixel_values=pixel_values).predicted_depth
            if self.device.startswith("cuda"):
                # Otherwise the asynchronous kernels' time is booked to postprocess.
                torch.cuda.synchronize(self.device)
        with self.stage(timing, "postprocess"), torch.inference_mode():
            # The processor's post_process_depth_estimation, batched: the same
            # bicubic resize back to the frame, in one call for the whole batch.
            resized = torch.nn.functional.interpolate(
                predicted.float().unsqueeze(1),
                size=(height, width),
                mode="bicubic",
                align_corners=False,
            )[:, 0]
            # The head ends in a ReLU; bicubic overshoot must not create negative
            # values, which supervision reads as "no depth".
            resized.clamp_(min=0.0)
            maps = resized.cpu().numpy()
        return [np.ascontiguousarray(m, dtype=np.float32) for m in maps]


def locate_weights(
    *, size: str = CARD.default_size, weights: str | os.PathLike[str] | None = None
) -> WeightsLocation:
    """Where one size's weights are (the rule in this module's docstring).

    Args:
        size: ``"small"``, ``"base"`` or ``"large"``.
        weights: The ``weights=`` option: a ``save_pretrained`` folder or a Hub id.

    Returns:
        The local folder (its ``config.json`` must exist) or the Hub repository.
    """
    label, env_var = f"{CARD.label} {size}", size_env_var(size)
    fallback = resolve_weights(None, env_var=CARD.env_var, default=HUB_IDS[size])
    chosen = resolve_weights(weights, env_var=env_var, default=fallback)
    if looks_like_path(chosen):
        return WeightsLocation.at_path(label, chosen, env_var, Path(chosen) / "config.json")
    repo = HubRepo(chosen, required=REQUIRED_FILES)
    return WeightsLocation.download(label, chosen, env_var, repo)


@register("depth", "depth_anything_v2", CARD, locate=locate_weights)
def create_depth_anything_v2(
    *,
    device: str,
    size: str = CARD.default_size,
    weights: str | os.PathLike[str] | None = None,
    half: bool | None = None,
) -> DepthAnythingV2:
    """Build a Depth Anything V2 estimator.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: ``"small"`` (Apache-2.0), ``"base"`` or ``"large"`` (CC-BY-NC-4.0).
        weights: A local ``save_pretrained`` folder or a Hub id; defaults to
            ``$DEPTH_ANYTHING_V2_<SIZE>_WEIGHTS``, then ``$DEPTH_ANYTHING_WEIGHTS``,
            then the size's Hub checkpoint.
        half: fp16 autocast; None means "on CUDA only".

    Returns:
        The estimator.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.

    Example:
        estimator = create_depth_anything_v2(device="cpu")
        [depth] = estimator.predict([frame_bgr])
    """
    location = locate_weights(size=size, weights=weights)
    return DepthAnythingV2.load(weights=location.weights, device=device, size=size, half=half)
