"""The processors of the SAM video models (SAM 2.1, EdgeTAM, SAM 3), built for an input size.

They differ in their classes and normalisation; the square input size, the
masks at a quarter of it and the video frames' processor are the same for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def video_processor(
    config: Any,
    processor_class: type,
    image_processor_class: type,
    mean: Sequence[float],
    std: Sequence[float],
    **parts: Any,
) -> Any:
    """A video processor for a model config's square input size.

    Args:
        config: The model's config (its ``image_size``).
        processor_class: The processor (``Sam2VideoProcessor``, ``Sam3VideoProcessor``).
        image_processor_class: Its image processor (``Sam2ImageProcessor``...).
        mean: The normalisation's per-channel mean.
        std: The normalisation's per-channel standard deviation.
        **parts: Further parts the processor takes (SAM 3's ``tokenizer``).

    Returns:
        The processor (prompts in, masks out at the frame's size).
    """
    from transformers import Sam2VideoVideoProcessor

    side = int(config.image_size)
    size = {"height": side, "width": side}
    normalise = {"image_mean": list(mean), "image_std": list(std)}
    return processor_class(
        image_processor=image_processor_class(
            size=size, mask_size={"height": side // 4, "width": side // 4}, **normalise
        ),
        video_processor=Sam2VideoVideoProcessor(size=size, **normalise),
        **parts,
    )
