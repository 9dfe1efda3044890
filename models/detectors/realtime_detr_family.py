"""A real-time DETR family (D-FINE, DEIMv2, RT-DETRv2) described: sizes, checkpoints, configs.

The three are Apache-2.0, come in several published sizes, and run the same
way (:mod:`models.detectors.realtime_detr`). Each model's module holds one
:class:`Family`: its registry facts, Hub checkpoints and, per size, the
published architecture (:class:`Architecture`), from which
:func:`architecture_config` builds the ``transformers`` config without any
checkpoint: random weights with the real compute (``weights="random:<size>"``,
for benchmarks) and the reference that ``tests/test_realtime_detr_sizes.py``
compares with the published numbers.

Nothing here imports ``torch`` or ``transformers`` until a config is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.detectors.coco import COCO_CLASSES
from models.requirements import Requirement

#: The published models' input: the RT-DETR processor resizes every frame to this.
INPUT_SIZE = 640
#: ImageNet statistics, for the sizes whose backbone was trained on normalised input (DINOv3).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
        model_class: ``transformers`` class name, e.g. ``"DFineForObjectDetection"``; its
            config class and module follow from it and from ``name``.
        checkpoints: Hub repository of each offered size, in size order.
        architectures: Published architecture of each offered size.
        default_size: The size used when none is given.
    """

    name: str
    label: str
    env_var: str
    model_class: str
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
    def description(self) -> str:
        """The registry's one-line description."""
        return (
            f"{self.label} real-time DETR (transformers) trained on COCO (80 classes); "
            "no AGPL code."
        )

    @property
    def config_class(self) -> str:
        """The config class's name, e.g. ``"DFineConfig"``."""
        return self.model_class.replace("ForObjectDetection", "Config")

    @property
    def module(self) -> str:
        """The ``transformers`` module that defines the model, named as the registry names it.

        Checked before loading: older transformers releases lack it.
        """
        return f"transformers.models.{self.name}"

    @property
    def requirement(self) -> Requirement:
        """The ``transformers`` module this family needs (see :mod:`models.requirements`)."""
        return Requirement(
            self.module,
            "install a transformers release that has it (requirements.txt pins one)",
            f"The installed transformers has no {self.model_class}.",
        )

    def size_label(self, size: str) -> str:
        """The display name of one size.

        Example:
            >>> from models.detectors.d_fine import FAMILY
            >>> FAMILY.size_label("s")
            'D-FINE-s'
        """
        return f"{self.label}-{size}"


#: The published HGNetV2 variants, as transformers' conversion scripts write them: stem
#: channels, each stage's middle and output channels and blocks, layers per block, and
#: whether its blocks have learnable affine layers.
HGNETV2_VARIANTS: dict[str, tuple[list[int], list[int], list[int], list[int], int, bool]] = {
    "Pico": ([3, 16, 16], [16, 32, 64], [64, 256, 512], [1, 1, 2], 3, True),
    "B0": ([3, 16, 16], [16, 32, 64, 128], [64, 256, 512, 1024], [1, 1, 2, 1], 3, True),
    "B2": ([3, 24, 32], [32, 64, 128, 256], [96, 384, 768, 1536], [1, 1, 3, 1], 4, True),
    "B4": ([3, 32, 48], [48, 96, 192, 384], [128, 512, 1024, 2048], [1, 1, 3, 1], 6, False),
    "B5": ([3, 32, 64], [64, 128, 256, 512], [128, 512, 1024, 2048], [1, 2, 5, 2], 6, False),
}


def hgnet_v2(
    variant: str, *, out_indices: Sequence[int] = (2, 3, 4), **settings: Any
) -> dict[str, Any]:
    """An HGNetV2 backbone's config settings, from its published stage table.

    Every variant has the same layout: a stem, then stages that each take the
    previous one's output, downsample from the second on, and use light blocks
    with 5x5 kernels from the third on.

    Args:
        variant: A key of :data:`HGNETV2_VARIANTS`.
        out_indices: The stages (1-based after the stem) whose features the encoder takes.
        **settings: Further ``HGNetV2Config`` settings (``depths``...).

    Returns:
        Keyword arguments of ``HGNetV2Config``.

    Example:
        >>> b0 = hgnet_v2("B0")
        >>> b0["stage_in_channels"], b0["stage_kernel_size"], b0["hidden_sizes"]
        ([16, 64, 256, 512], [3, 3, 5, 5], [128, 256, 512, 1024])
    """
    stem, mid, out, blocks, layers, affine = HGNETV2_VARIANTS[variant]
    stages = range(len(out))
    # The conversion scripts give the four-stage variants a first hidden size of twice the
    # first stage's output (the encoders here read later stages only).
    hidden = out if len(out) < 4 else [2 * out[0], *out[1:]]
    return {
        "hidden_sizes": list(hidden),
        "stem_channels": list(stem),
        "stage_in_channels": [stem[-1], *out[:-1]],
        "stage_mid_channels": list(mid),
        "stage_out_channels": list(out),
        "stage_num_blocks": list(blocks),
        "stage_numb_of_layers": [layers] * len(out),
        "stage_downsample": [i > 0 for i in stages],
        "stage_light_block": [i > 1 for i in stages],
        "stage_kernel_size": [5 if i > 1 else 3 for i in stages],
        "out_indices": list(out_indices),
        **({"use_learnable_affine_block": True} if affine else {}),
        **settings,
    }


def hgnet_v2_architecture(variant: str, config: Mapping[str, Any], **backbone: Any) -> Architecture:
    """A published size whose backbone is an HGNetV2 variant (D-FINE's sizes, DEIMv2's Pico and N).

    Args:
        variant: The backbone, a key of :data:`HGNETV2_VARIANTS`.
        config: Settings of the detector's config.
        **backbone: Further backbone settings, as :func:`hgnet_v2` takes them
            (``out_indices``, ``depths``...).

    Returns:
        The architecture.

    Example:
        >>> hgnet_v2_architecture("B0", {"decoder_layers": 3}).backbone_type
        'hgnet_v2'
    """
    return Architecture(
        config=config, backbone_type="hgnet_v2", backbone=hgnet_v2(variant, **backbone)
    )


def decoder_width(width: int, levels: int) -> dict[str, Any]:
    """Settings of a DETR whose encoder and decoder share one width at every feature level.

    Args:
        width: The encoder's hidden dimension, which is also the decoder's ``d_model``.
        levels: Feature levels the decoder reads.

    Returns:
        ``d_model``, ``encoder_hidden_dim``, ``decoder_in_channels`` and ``num_feature_levels``.

    Example:
        >>> decoder_width(128, 2)["decoder_in_channels"]
        [128, 128]
    """
    return {
        "d_model": width,
        "encoder_hidden_dim": width,
        "decoder_in_channels": [width] * levels,
        "num_feature_levels": levels,
    }


def architecture_config(family: Family, size: str) -> Any:
    """The ``transformers`` config of one published size, with COCO's classes.

    Args:
        family: The detector family.
        size: One of ``family.sizes``.

    Returns:
        A config for ``family.model_class``.

    Raises:
        KeyError: Unknown size.

    Example:
        >>> from models.detectors.rt_detr_v2 import FAMILY
        >>> architecture_config(FAMILY, "r18").decoder_layers
        3
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
