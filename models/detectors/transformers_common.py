"""What the transformers detectors share: locating and loading a checkpoint, and running it.

DETR, Grounding DINO, D-FINE, DEIMv2 and RT-DETRv2 are :class:`TransformersDetector`
subclasses: each says how frames become the model's inputs and how its outputs
become detections; the stages, their timing and inference mode are written here.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME, Batch, Detector
from models.weights import loading_weights, looks_like_path
from models.weights_sources import HubRepo, WeightsLocation

#: One ``sv.Detections`` per frame of a batch.
Detected = list[sv.Detections]


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


def model_labels(model: Any) -> dict[int, str]:
    """A model's ``config.id2label`` with integer ids (a loaded config may hold strings)."""
    return {int(k): v for k, v in model.config.id2label.items()}


class TransformersDetector(Detector, abc.ABC):
    """A detector that runs a ``transformers`` model and its processor.

    Subclasses implement :meth:`_inputs` and :meth:`_detections`; closed-vocabulary
    ones read their classes from :attr:`id2label` (the model's ``config.id2label``).
    """

    def __init__(self, model: Any, processor: Any, **settings: Any) -> None:
        self.id2label = model_labels(model)
        super().__init__(**settings)
        self.model = model
        self.processor = processor

    def _predict(self, batch: Batch) -> list[sv.Detections]:
        import torch

        with self.stage(batch.timing, "preprocess"):
            inputs = self._inputs(batch)
        with self.stage(batch.timing, "inference"), torch.inference_mode():
            outputs = self.model(**inputs)
        with self.stage(batch.timing, "postprocess"):
            return self._detections(outputs, inputs, batch)

    def _processed(self, features: Any) -> Any:
        """The processor's output on the model's device, its pixels in the model's dtype."""
        features = features.to(self.device)
        features["pixel_values"] = features["pixel_values"].to(self.model.dtype)
        return features

    def _labelled(self, outputs: Any, batch: Batch) -> Detected:
        """The processor's own post-processing, named by :attr:`id2label`, one per frame."""
        sizes = [frame.shape[:2] for frame in batch.frames]
        results = self.processor.post_process_object_detection(
            outputs, threshold=batch.confidence, target_sizes=sizes
        )
        detections = []
        for result in results:
            class_id = result["labels"].cpu().numpy().astype(int)
            detections.append(
                sv.Detections(
                    xyxy=result["boxes"].float().cpu().numpy().reshape(-1, 4),
                    confidence=result["scores"].float().cpu().numpy(),
                    class_id=class_id,
                    data={CLASS_NAME: np.array([self.id2label[i] for i in class_id], dtype=object)},
                )
            )
        return detections

    @abc.abstractmethod
    def _inputs(self, batch: Batch) -> Mapping[str, Any]:
        """The model's keyword arguments for a batch of BGR frames, on its device."""

    @abc.abstractmethod
    def _detections(self, outputs: Any, inputs: Mapping[str, Any], batch: Batch) -> Detected:
        """One ``sv.Detections`` per frame from the model's outputs."""


def create_pretrained(
    detector_class: type[TransformersDetector],
    model_class: Any,
    processor_class: Any,
    *,
    location: WeightsLocation,
    device: str,
    **settings: Any,
) -> Any:
    """Load a checkpoint (:func:`load_pretrained`) into a detector.

    Args:
        detector_class: The :class:`TransformersDetector` subclass.
        model_class: e.g. ``DetrForObjectDetection``.
        processor_class: e.g. ``AutoImageProcessor``.
        location: A local folder or a Hub repository.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        **settings: Further arguments of ``detector_class`` (``size``...).

    Returns:
        The detector, whose ``weights`` are ``location.weights``.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    model, processor = load_pretrained(
        model_class, processor_class, location=location, device=device
    )
    return detector_class(model, processor, device=device, weights=location.weights, **settings)
