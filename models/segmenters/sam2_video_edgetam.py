"""EdgeTAM (``transformers``' ``EdgeTamVideoModel``): the video model of two SAM 2 segmenters.

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

Its segmenters, GEdgeTAM and YEdgeTAM, are registered in
:mod:`models.segmenters.sam2_video`.

Example:
    >>> import models
    >>> models.spec("segmenter", "YEdgeTAM").license_for()
    'Apache-2.0'
"""

from __future__ import annotations

from models.segmenters.edgetam_architecture import random_architecture, with_image_size
from models.segmenters.sam2_weights import Sam2Variant, VideoModelFamily, locate_variant_weights
from models.weights_sources import WeightsLocation

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
