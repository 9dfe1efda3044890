"""Whether a reduced precision finds what float32 finds, on real frames.

A reduced precision (int8, bf16) is offered only where it keeps accuracy. For
YOLOX-Nano a test measures that against TUD-Campus' ground truth. Models whose
real weights are not available offline (the ultralytics ones) are checked where
they load instead: their reduced-precision boxes on the bundled calibration clip
must agree with their float32 boxes (:func:`agreement`) within
:data:`MIN_AGREEMENT`, the "within one point" of the ground-truth test, with the
float model standing in for the ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import supervision as sv

#: Least agreement (F1 of the boxes matched one to one) a reduced precision must keep.
MIN_AGREEMENT = 0.99
#: Overlap at which two boxes are the same find.
MATCH_IOU = 0.5


def agreement(
    reference: Sequence[np.ndarray], candidate: Sequence[np.ndarray], iou: float = MATCH_IOU
) -> float:
    """How well ``candidate``'s boxes agree with ``reference``'s: F1 of one-to-one matches.

    Two boxes match when they have the same class and overlap at IoU ``iou`` or
    more; matches are taken greedily, best overlap first.

    Args:
        reference: Per frame, an (n, 6) array x1, y1, x2, y2, score, class.
        candidate: The same frames, the same layout.
        iou: The overlap that makes two boxes the same find.

    Returns:
        ``2 × matched / (reference boxes + candidate boxes)``; 1.0 when neither has any.

    Example:
        >>> box = np.array([[0, 0, 10, 10, 0.9, 0]], np.float32)
        >>> moved = np.array([[1, 0, 11, 10, 0.8, 0]], np.float32)
        >>> agreement([box], [moved]), agreement([box], [np.zeros((0, 6))])
        (1.0, 0.0)
    """
    matched = total = 0
    for ref, cand in zip(reference, candidate, strict=True):
        total += len(ref) + len(cand)
        if not len(ref) or not len(cand):
            continue
        overlaps = sv.box_iou_batch(ref[:, :4], cand[:, :4])
        overlaps[ref[:, 5][:, None] != cand[:, 5][None, :]] = 0.0
        for flat in np.argsort(overlaps, axis=None)[::-1]:
            r, c = np.unravel_index(flat, overlaps.shape)
            if overlaps[r, c] < iou:
                break
            matched += 1
            overlaps[r, :] = 0.0
            overlaps[:, c] = 0.0
    return 1.0 if total == 0 else 2 * matched / total
