"""Per-frame detection precision and recall against a MOTChallenge ground-truth file.

Used by tests and benchmarks to check a detector on real footage: boxes are matched one to
one in each frame (Hungarian assignment on IoU) and a match counts when IoU reaches the
threshold.

Example:
    by_frame = {k + 1: detector.detect([f], queries="person")[0]
                for k, f in enumerate(frames)}
    score_detections("gt.txt", by_frame)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import supervision as sv
from scipy.optimize import linear_sum_assignment

from pipeline.io.mot_files import StrPath, read_mot_detections


def count_matches(gt_xyxy: np.ndarray, det_xyxy: np.ndarray, iou: float = 0.5) -> int:
    """Count one-to-one matches between two sets of boxes at an IoU threshold.

    Args:
        gt_xyxy: Ground-truth boxes, shape (G, 4), ``xyxy``.
        det_xyxy: Detected boxes, shape (D, 4), ``xyxy``.
        iou: Minimum IoU for a pair to count as a match.

    Returns:
        The number of matched pairs (true positives).
    """
    if len(gt_xyxy) == 0 or len(det_xyxy) == 0:
        return 0
    overlaps = sv.box_iou_batch(np.asarray(gt_xyxy, float), np.asarray(det_xyxy, float))
    # Pairs under the threshold are worth nothing, so the assignment spends no match on them.
    eligible = np.where(overlaps >= iou, overlaps, 0.0)
    rows, cols = linear_sum_assignment(eligible, maximize=True)
    return int(np.count_nonzero(overlaps[rows, cols] >= iou))


def score_detections(
    gt_path: StrPath,
    detections_by_frame: Mapping[int, sv.Detections],
    iou: float = 0.5,
) -> dict[str, float | int]:
    """Score detections against a MOTChallenge ground truth, frame by frame.

    Ground-truth rows with confidence 0 (MOTChallenge's "ignore" marker) are left out.
    Frames of the ground truth missing from ``detections_by_frame`` count as frames with
    no detections, and detections in frames without ground truth are false positives.
    Filter the detections to the ground truth's classes (e.g. persons) beforehand.

    Args:
        gt_path: ``gt.txt``, ``frame,id,x,y,w,h,conf,...`` with 1-based frames.
        detections_by_frame: Detections keyed by 1-based MOT frame number (frame ``k``
            of the video, counted from 0, is MOT frame ``k + 1``), with 0-based ``xyxy``.
        iou: Minimum IoU for a detection to match a ground-truth box.

    Returns:
        ``precision``, ``recall`` (0 when undefined), ``tp``, ``fp`` and ``fn``.
    """
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"iou must be in (0, 1], got {iou!r}")
    ground_truth = read_mot_detections(gt_path)
    tp = fp = fn = 0
    for frame in sorted(set(ground_truth) | set(detections_by_frame)):
        gt = ground_truth.get(frame)
        gt_xyxy = np.zeros((0, 4)) if gt is None else gt.xyxy[gt.confidence != 0]
        detections = detections_by_frame.get(frame)
        det_xyxy = np.zeros((0, 4)) if detections is None else detections.xyxy
        matched = count_matches(gt_xyxy, det_xyxy, iou)
        tp += matched
        fp += len(det_xyxy) - matched
        fn += len(gt_xyxy) - matched
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }
