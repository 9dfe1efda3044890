"""EdgeTAM video segmenters (``transformers``' ``EdgeTamVideoModel``) with a detector for prompts.

EdgeTAM is SAM 2's video tracker made for phones: a RepViT-M1 image encoder
and a spatial perceiver over its memories (architecture:
:mod:`models.segmenters.edgetam_architecture`). In ``transformers`` it shares
SAM 2's processor and inference session, so the segmenter, its sessions
(windows read from the frame store, bounded memory) and its weights rule are
SAM 2's (:mod:`models.segmenters.sam2_video`, :mod:`models.segmenters.sam2_weights`):

1. ``weights=`` (``--weights``);
2. ``EDGETAM_WEIGHTS``;
3. the ``transformers`` conversion of Meta's checkpoint on the Hugging Face
   Hub, ``yonigozlan/EdgeTAM-hf`` (the checkpoint ``transformers``' own
   EdgeTAM tests load).

``random:edgetam`` gives the published architecture with random weights.

Registered segmenters (kind ``"segmenter"``):

============ ================== ============
name         prompts from       model
============ ================== ============
``GEdgeTAM`` Grounding DINO     EdgeTAM
``YEdgeTAM`` YOLO11             EdgeTAM
============ ================== ============

Example:
    >>> import models
    >>> models.spec("segmenter", "YEdgeTAM").license_for()
    'Apache-2.0'
"""

from __future__ import annotations

import functools

from models.registry import register
from models.segmenters.edgetam_architecture import random_architecture, with_image_size
from models.segmenters.sam2_video import Sam2VideoSegmenter, create_sam2_segmenter
from models.segmenters.sam2_weights import Sam2Variant, VideoModelFamily, locate_variant_weights
from models.weights_sources import WeightsLocation

#: EdgeTAM's code and checkpoint: the model card huggingface.co/facebook/EdgeTAM says
#: "license: apache-2.0" (the Hub conversion yonigozlan/EdgeTAM-hf holds those weights).
LICENSE = "Apache-2.0"

#: EdgeTAM in ``transformers``: its RepViT encoder is built by ``timm``.
EDGETAM_FAMILY = VideoModelFamily(
    key="edgetam",
    name="EdgeTAM",
    model_class="EdgeTamVideoModel",
    config_class="EdgeTamVideoConfig",
    checkpoint_types=("edgetam_video",),
    random_architecture=random_architecture,
    with_image_size=with_image_size,
    example_hub_id="yonigozlan/EdgeTAM-hf",
    original_code="Meta's EdgeTAM repository",
    packages=("timm",),
)

#: EdgeTAM's one size. Its ZeroGPU rate is not measured yet: that of SAM 2.1-S, which
#: EdgeTAM outran on this project's CPU (docs/segmentation-models.md), sizes a ZeroGPU
#: request on the safe side (a slower rate asks for more time, never too little).
EDGETAM = Sam2Variant(
    "edgetam", "EdgeTAM", "yonigozlan/EdgeTAM-hf", "EDGETAM_WEIGHTS", 8.0, EDGETAM_FAMILY
)


def locate_weights(*, weights: str | None = None) -> WeightsLocation:
    """Where EdgeTAM's weights are (the rule in this module's docstring).

    Args:
        weights: The ``weights=`` option.

    Returns:
        The :class:`~models.weights_sources.WeightsLocation`.
    """
    return locate_variant_weights(EDGETAM, weights)


def create_edgetam_segmenter(
    *,
    device: str,
    name: str,
    detector: str,
    open_vocabulary: bool,
    weights: str | None = None,
    image_size: int | None = None,
) -> Sam2VideoSegmenter:
    """Build a segmenter: EdgeTAM, to be prompted by ``detector``.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        name: Registry name.
        detector: Registry name of the prompting detector.
        open_vocabulary: Whether that detector takes free text.
        weights: A ``save_pretrained`` folder, a Hub id, or an architecture for
            random weights (``random:edgetam``, a config ``.json``); defaults to
            ``EDGETAM_WEIGHTS``, then the Hub.
        image_size: EdgeTAM's input size (default 1024), a multiple of 32.

    Returns:
        The segmenter (SAM 2's, holding EdgeTAM).

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
        ModelError: What is there is not an EdgeTAM video checkpoint, or does not
            fit; the installed transformers has no EdgeTAM, or timm is missing.
    """
    return create_sam2_segmenter(
        device=device,
        name=name,
        detector=detector,
        open_vocabulary=open_vocabulary,
        variant=EDGETAM,
        weights=weights,
        image_size=image_size,
    )


def _register(name: str, detector: str) -> None:
    grounded = detector == "grounding_dino"
    finder = "Grounding DINO (free-text queries)" if grounded else "YOLO11 (COCO class names)"
    register(
        "segmenter",
        name,
        label=f"{'Grounded' if grounded else 'YOLO'} EdgeTAM (fast)",
        open_vocabulary=grounded,
        description=f"{finder} finds objects on keyframes; EdgeTAM, a faster SAM 2 "
        "for small hardware, follows their masks.",
        detector=detector,
        edgetam=EDGETAM.key,
        env_var=EDGETAM.env_var,
        license=LICENSE,
        throughput_fps=EDGETAM.throughput_fps,
        locate=locate_weights,
    )(
        functools.partial(
            create_edgetam_segmenter, name=name, detector=detector, open_vocabulary=grounded
        )
    )


for _name, _detector in (("GEdgeTAM", "grounding_dino"), ("YEdgeTAM", "yolo11")):
    _register(_name, _detector)
