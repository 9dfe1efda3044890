"""What D-FINE, DEIMv2 and RT-DETRv2 share: real-time DETRs in ``transformers``, trained on COCO.

The three are Apache-2.0, come in several published sizes, and run the same
way: a ``*ForObjectDetection`` model, the RT-DETR image processor (a fixed
640x640 resize) and its post-processing (top-k over queries x classes, no
NMS). Each model's module holds a :class:`Family`: its Hub checkpoints and,
per size, the published architecture (:class:`Architecture`), from which
:func:`architecture_config` builds the ``transformers`` config without any
checkpoint: random weights with the real compute (``weights="random:<size>"``,
for benchmarks) and the reference that ``tests/test_realtime_detr_sizes.py``
compares with the published numbers.

Weights: ``weights=`` / the family's environment variable (a ``save_pretrained``
folder or a Hub id, or ``random:<size>``), else the size's Hub checkpoint,
downloaded on first use (and fetched before a GPU call, :mod:`models.prefetch`).

Nothing here imports ``torch`` or ``transformers`` until a model is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME, Detector
from models.detectors.transformers_common import bgr_to_rgb, load_pretrained, locate_pretrained
from models.errors import ModelError
from models.requirements import Requirement
from models.weights import loading_weights, resolve_weights
from models.weights_sources import WeightsLocation

#: Licence of the three families' code (their GitHub repositories) and COCO weights (model cards).
LICENSE = "Apache-2.0"
#: Rough end-to-end fps on a ZeroGPU slice, which sizes a GPU call (``ui.gpu``): not measured
#: there; DETR ResNet-50's figure, the same eager transformers path with a heavier model, so
#: an under-estimate for most sizes (which only costs queue priority and more, shorter calls).
ESTIMATED_ZEROGPU_FPS = 15.0
#: ``weights=`` names a size's architecture with random weights as ``random:<size>``.
RANDOM_PREFIX = "random:"
#: The published models' input: the RT-DETR processor resizes every frame to this.
INPUT_SIZE = 640
#: ImageNet statistics, for the sizes whose backbone was trained on normalised input (DINOv3).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: COCO's 80 detection classes in the contiguous order these checkpoints use (their
#: ``id2label``, converted from ``huggingface/label-files`` coco-detection-mmdet-id2label.json).
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


@dataclass(frozen=True)
class Architecture:
    """One published size, in ``transformers``' config terms.

    Attributes:
        config: Settings of the detector's config (``d_model``, ``decoder_layers``...);
            the rest keep the config class's defaults.
        backbone_type: ``model_type`` of the backbone config (``"hgnet_v2"``,
            ``"rt_detr_resnet"``, ``"dinov3_vit"``).
        backbone: Settings of the backbone config.
        normalize: Whether the processor normalises with ImageNet statistics.
    """

    config: Mapping[str, Any]
    backbone_type: str
    backbone: Mapping[str, Any]
    normalize: bool = False


@dataclass(frozen=True)
class Family:
    """One detector family: its registry facts, checkpoints and per-size architectures.

    Attributes:
        name: Registry name, e.g. ``"d_fine"``.
        label: Display name, e.g. ``"D-FINE"``.
        env_var: Environment variable for local weights.
        model_class: ``transformers`` class name, e.g. ``"DFineForObjectDetection"``.
        config_class: Its config class name.
        module: The ``transformers`` module that defines it (checked before loading:
            older releases lack it).
        checkpoints: Hub repository of each offered size, in size order.
        architectures: Published architecture of each offered size.
        default_size: The size used when none is given.
    """

    name: str
    label: str
    env_var: str
    model_class: str
    config_class: str
    module: str
    checkpoints: Mapping[str, str]
    architectures: Mapping[str, Architecture] = field(repr=False)
    default_size: str

    def __post_init__(self) -> None:
        if set(self.checkpoints) != set(self.architectures):
            raise ValueError(f"{self.name}: checkpoints and architectures name different sizes")
        if self.default_size not in self.checkpoints:
            raise ValueError(f"{self.name}: no default size {self.default_size!r}")

    @property
    def sizes(self) -> tuple[str, ...]:
        """The offered sizes, smallest first."""
        return tuple(self.checkpoints)

    @property
    def requirement(self) -> Requirement:
        """The ``transformers`` module this family needs (see :mod:`models.requirements`)."""
        return Requirement(
            self.module,
            "install a transformers release that has it (requirements.txt pins one)",
            f"The installed transformers has no {self.model_class}.",
        )

    def size_label(self, size: str) -> str:
        """e.g. ``"D-FINE-s"``."""
        return f"{self.label}-{size}"


def architecture_config(family: Family, size: str) -> Any:
    """The ``transformers`` config of one published size, with COCO's classes.

    Args:
        family: The detector family.
        size: One of ``family.sizes``.

    Returns:
        A config for ``family.model_class``.

    Raises:
        KeyError: Unknown size.
    """
    import transformers
    from transformers import CONFIG_MAPPING

    arch = family.architectures[size]
    backbone = CONFIG_MAPPING[arch.backbone_type](**arch.backbone)
    id2label = dict(enumerate(COCO_CLASSES))
    config_class = getattr(transformers, family.config_class)
    return config_class(
        backbone_config=backbone,
        id2label=id2label,
        label2id={name: i for i, name in id2label.items()},
        **arch.config,
    )


def architecture_processor(family: Family, size: str) -> Any:
    """The image processor the published checkpoints of ``size`` ship with (RT-DETR's, 640x640)."""
    from transformers import RTDetrImageProcessor

    normalize = family.architectures[size].normalize
    return RTDetrImageProcessor(
        size={"height": INPUT_SIZE, "width": INPUT_SIZE},
        do_normalize=normalize,
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
    )


def locate_weights(
    family: Family, *, size: str | None = None, weights: str | None = None
) -> WeightsLocation:
    """Where a size's weights are: ``weights``, else the environment variable, else the Hub.

    Args:
        family: The detector family.
        size: One of ``family.sizes`` (None: the default size).
        weights: ``random:<size>``, a ``save_pretrained`` folder or a Hub id.

    Returns:
        An architecture (random weights), a local folder or a Hub repository.
    """
    size = size or family.default_size
    label = family.size_label(size)
    default = family.checkpoints.get(size, family.checkpoints[family.default_size])
    chosen = resolve_weights(weights, env_var=family.env_var, default=default)
    if chosen.startswith(RANDOM_PREFIX):
        return WeightsLocation.architecture(label, chosen, family.env_var)
    required = ("config.json", "preprocessor_config.json")
    return locate_pretrained(label, chosen, family.env_var, required=required)


class RealTimeDetrDetector(Detector):
    """A D-FINE, DEIMv2 or RT-DETRv2 detector (closed vocabulary from ``config.id2label``).

    ``class_id`` is the model's own label id (COCO's 80 classes, 0 = person for
    the published checkpoints); queries filter by those class names, before the
    post-processing picks its best (query, class) pairs.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        name: str,
        device: str,
        weights: str,
        size: str,
        random_weights: bool,
    ) -> None:
        self.name = name
        self.id2label: dict[int, str] = {int(k): v for k, v in model.config.id2label.items()}
        super().__init__(
            device=device,
            weights=weights,
            size=size,
            class_names=[self.id2label[i] for i in sorted(self.id2label)],
            random_weights=random_weights,
            license=LICENSE,
        )
        self.model = model
        self.processor = processor

    def _predict(
        self,
        frames: list[np.ndarray],
        confidence: float,
        queries: tuple[str, ...],
        timing: dict[str, float],
    ) -> list[sv.Detections]:
        import torch

        if not frames:
            return []
        with self.stage(timing, "preprocess"):
            inputs = self.processor(images=bgr_to_rgb(frames), return_tensors="pt")
            pixel_values = inputs["pixel_values"].to(self.device, self.model.dtype)
        with self.stage(timing, "inference"), torch.inference_mode():
            outputs = self.model(pixel_values=pixel_values)
        with self.stage(timing, "postprocess"):
            if queries:
                # Other classes out before the top-k over (query, class) pairs, which would
                # otherwise spend its places on classes the filter then drops.
                wanted = [i for i, name in self.id2label.items() if name in queries]
                keep = torch.zeros(outputs.logits.shape[-1], dtype=torch.bool)
                keep[wanted] = True
                outputs.logits = outputs.logits.masked_fill(
                    ~keep.to(outputs.logits.device), float("-inf")
                )
            results = self.processor.post_process_object_detection(
                outputs,
                threshold=confidence,
                target_sizes=[frame.shape[:2] for frame in frames],
            )
            return [self._to_detections(result) for result in results]

    def _to_detections(self, result: dict[str, Any]) -> sv.Detections:
        class_id = result["labels"].cpu().numpy().astype(int)
        return sv.Detections(
            xyxy=result["boxes"].float().cpu().numpy().reshape(-1, 4),
            confidence=result["scores"].float().cpu().numpy(),
            class_id=class_id,
            data={CLASS_NAME: np.array([self.id2label[i] for i in class_id], dtype=object)},
        )


def create_detector(
    family: Family, *, device: str, size: str | None = None, weights: str | None = None
) -> RealTimeDetrDetector:
    """Build one size of a family's detector: its checkpoint, or random weights.

    Args:
        family: The detector family.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: One of ``family.sizes`` (None: the default size).
        weights: ``random:<size>`` (that size's published architecture with
            random weights), a ``save_pretrained`` folder or a Hub id; defaults
            to the family's environment variable, then the size's checkpoint.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
        ModelError: ``random:`` names no offered size.
    """
    import transformers

    size = size or family.default_size
    location = locate_weights(family, size=size, weights=weights)
    model_class = getattr(transformers, family.model_class)
    if location.random_weights:
        # The size is the architecture's: ``random:n`` builds n whatever ``size`` said.
        size, (model, processor) = _random_model(family, location, device=device)
    else:
        model, processor = load_pretrained(
            model_class, transformers.AutoImageProcessor, location=location, device=device
        )
    return RealTimeDetrDetector(
        model,
        processor,
        name=family.name,
        device=device,
        weights=location.weights,
        size=size,
        random_weights=location.random_weights,
    )


def _random_model(
    family: Family, location: WeightsLocation, *, device: str
) -> tuple[str, tuple[Any, Any]]:
    import torch
    import transformers

    arch_size = location.weights.removeprefix(RANDOM_PREFIX)
    if arch_size not in family.architectures:
        raise ModelError(
            f"Unknown {family.label} architecture {location.weights!r}; use "
            + ", ".join(f"{RANDOM_PREFIX}{s}" for s in family.sizes)
            + "."
        )
    config = architecture_config(family, arch_size)
    model_class = getattr(transformers, family.model_class)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with loading_weights(location.label, location.weights, location.env_var):
        model = model_class(config)
    return arch_size, (model.to(device, dtype).eval(), architecture_processor(family, arch_size))
