"""Masks as COCO run-length encoding, the format the segmentation JSON uses.

An encoded mask is ``{"size": [height, width], "counts": "..."}`` with the
compressed ``counts`` string of the COCO API (``pycocotools.mask.encode``), so
``pycocotools.mask.decode`` and ``supervision.rle_to_mask`` read it as well as
:func:`decode` does. Pixels run in column-major order, as in COCO.

The codec itself is supervision's (``sv.mask_to_rle`` / ``sv.rle_to_mask``);
this module fixes the dict layout and adds :func:`rle_area`, which reads the
area without decoding.

Example:
    >>> import numpy as np
    >>> mask = np.zeros((4, 4), dtype=bool)
    >>> mask[1:3, 1:3] = True
    >>> rle = encode(mask)
    >>> rle
    {'size': [4, 4], 'counts': '52203'}
    >>> rle_area(rle), bool((decode(rle) == mask).all())
    (4, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import supervision as sv


def encode(mask: np.ndarray) -> dict[str, Any]:
    """Encode one binary mask.

    Args:
        mask: ``(H, W)`` array; non-zero is foreground.

    Returns:
        ``{"size": [H, W], "counts": str}`` (COCO compressed RLE).

    Raises:
        ValueError: The mask is not 2-D or is empty.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"expected a non-empty 2-D mask, got shape {mask.shape}")
    counts = sv.mask_to_rle(mask.astype(bool, copy=False), compressed=True)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def decode(rle: dict[str, Any]) -> np.ndarray:
    """Decode a mask written by :func:`encode` (or by pycocotools).

    Args:
        rle: ``{"size": [H, W], "counts": str | list[int]}``.

    Returns:
        The ``(H, W)`` boolean mask.

    Raises:
        ValueError: The counts do not add up to ``H * W``.
    """
    height, width = (int(v) for v in rle["size"])
    return sv.rle_to_mask(rle["counts"], resolution_wh=(width, height))


def rle_area(rle: dict[str, Any]) -> int:
    """Foreground pixels of an encoded mask, without decoding it.

    Args:
        rle: ``{"size": [H, W], "counts": str | list[int]}``.

    Returns:
        The number of foreground pixels (the sum of the odd runs).
    """
    counts = rle["counts"]
    if sv.is_compressed_rle(counts):
        from pipeline.compat.supervision_rle import rle_counts

        counts = rle_counts(counts)
    return int(np.asarray(counts, dtype=np.int64)[1::2].sum())
