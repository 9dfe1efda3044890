"""The SAM 2 segmenters offered: each video model (SAM 2.1's sizes, EdgeTAM) with each prompter.

============ ================== ===============================
name         prompts from       video model
============ ================== ===============================
``GSAM2-S``  Grounding DINO     SAM 2.1 Hiera small
``GSAM2-B``  Grounding DINO     SAM 2.1 Hiera base-plus
``GSAM2-L``  Grounding DINO     SAM 2.1 Hiera large
``YSAM2-S``  YOLO11             SAM 2.1 Hiera small
``YSAM2-B``  YOLO11             SAM 2.1 Hiera base-plus
``YSAM2-L``  YOLO11             SAM 2.1 Hiera large
``GEdgeTAM`` Grounding DINO     EdgeTAM
``YEdgeTAM`` YOLO11             EdgeTAM
============ ================== ===============================

The segmenter (:mod:`models.segmenters.sam2_segmenter`) holds the video model
and follows objects window by window (:mod:`models.segmenters.sam2_session`,
frames read on demand by :mod:`models.segmenters.sam2_frames`); where the
weights come from and how they load: :mod:`models.segmenters.sam2_weights`.

Example:
    >>> import models
    >>> models.spec("segmenter", "YSAM2-S").extra["detector"]
    'yolo11'
"""

from __future__ import annotations

import functools

from models.errors import ModelError
from models.registry import ModelCard, register
from models.segmenters.sam2_architectures import check_image_size
from models.segmenters.sam2_segmenter import Sam2VideoSegmenter
from models.segmenters.sam2_session import Sam2Session
from models.segmenters.sam2_video_edgetam import EDGETAM
from models.segmenters.sam2_weights import (
    VARIANTS,
    Sam2Variant,
    build_processor,
    load_model,
    locate_variant_weights,
)

__all__ = ["LICENSE", "Sam2Session", "Sam2VideoSegmenter", "create_sam2_segmenter"]

#: SAM 2.1's code and checkpoints (the prompting detector has its own licence): the model
#: cards huggingface.co/facebook/sam2.1-hiera-{small,base-plus,large} say "license: apache-2.0",
#: as does github.com/facebookresearch/sam2's LICENSE; EdgeTAM's model card
#: huggingface.co/facebook/EdgeTAM says the same (the conversion yonigozlan/EdgeTAM-hf holds
#: those weights).
LICENSE = "Apache-2.0"

#: What each prompting detector finds objects from, as the descriptions say it.
PROMPTERS = {
    "grounding_dino": "Grounding DINO (free-text queries)",
    "yolo11": "YOLO11 (COCO class names)",
}


def create_sam2_segmenter(
    *,
    device: str,
    name: str,
    detector: str,
    open_vocabulary: bool,
    variant: str | Sam2Variant,
    weights: str | None = None,
    image_size: int | None = None,
) -> Sam2VideoSegmenter:
    """Build a segmenter: SAM 2.1 of one size (or EdgeTAM), to be prompted by ``detector``.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        name: Registry name.
        detector: Registry name of the prompting detector.
        open_vocabulary: Whether that detector takes free text.
        variant: ``"small"``, ``"base_plus"`` or ``"large"``, or the model itself
            (EdgeTAM's, :data:`models.segmenters.sam2_video_edgetam.EDGETAM`).
        weights: A ``save_pretrained`` folder, a Hub id, or an architecture for
            random weights (``random:<size>``, a config ``.json``); defaults to
            the size's environment variable, then the Hub.
        image_size: SAM 2's input size (default: the config's, 1024); smaller is
            faster and coarser.

    Returns:
        The segmenter.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
        ModelError: What is there is not a SAM 2 video checkpoint, or does not fit;
            ``image_size`` is not a positive multiple of 32.
    """
    sam2 = variant if isinstance(variant, Sam2Variant) else VARIANTS[variant]
    if image_size is not None:
        try:
            image_size = check_image_size(int(image_size))
        except ValueError as exc:
            raise ModelError(f"{sam2.family.name}'s input size: {exc}.") from exc
    location = locate_variant_weights(sam2, weights)
    model = load_model(location, device=device, image_size=image_size, family=sam2.family)
    return Sam2VideoSegmenter(
        model,
        build_processor(model.config),
        name=name,
        detector=detector,
        open_vocabulary=open_vocabulary,
        variant=sam2,
        device=device,
        weights=location.weights,
        random_weights=location.random_weights,
        license=LICENSE,
    )


def register_segmenter(
    name: str, detector: str, variant: Sam2Variant, *, label: str, follower: str
) -> None:
    """Register ``variant`` prompted by ``detector`` under ``name``.

    Args:
        name: Registry name.
        detector: A key of :data:`PROMPTERS`.
        variant: The video model.
        label: The video model's display name (after "Grounded" or "YOLO").
        follower: The video model as the description's subject.
    """
    grounded = detector == "grounding_dino"
    card = ModelCard(
        label=f"{'Grounded' if grounded else 'YOLO'} {label}",
        description=f"{PROMPTERS[detector]} finds objects on keyframes; "
        f"{follower} follows their masks.",
        license=LICENSE,
        open_vocabulary=grounded,
        throughput_fps=variant.throughput_fps,
        env_var=variant.env_var,
    )
    register(
        "segmenter",
        name,
        card,
        locate=functools.partial(locate_variant_weights, variant),
        detector=detector,
        # Which video model, under its family's key (``sam2=``, ``edgetam=``).
        **{variant.family.key: variant.key},
    )(
        functools.partial(
            create_sam2_segmenter,
            name=name,
            detector=detector,
            open_vocabulary=grounded,
            variant=variant,
        )
    )


for _name, _detector, _size in (
    ("GSAM2-S", "grounding_dino", "small"),
    ("GSAM2-B", "grounding_dino", "base_plus"),
    ("GSAM2-L", "grounding_dino", "large"),
    ("YSAM2-S", "yolo11", "small"),
    ("YSAM2-B", "yolo11", "base_plus"),
    ("YSAM2-L", "yolo11", "large"),
):
    _sam2 = VARIANTS[_size]
    register_segmenter(_name, _detector, _sam2, label=_sam2.label, follower=_sam2.label)
for _name, _detector in (("GEdgeTAM", "grounding_dino"), ("YEdgeTAM", "yolo11")):
    register_segmenter(
        _name,
        _detector,
        EDGETAM,
        label="EdgeTAM (fast)",
        follower="EdgeTAM, a faster SAM 2 for small hardware,",
    )
