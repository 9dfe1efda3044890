"""What sliced inference gains on small objects: recall at the same precision, and its cost.

The clip is scaled down and, optionally, laid out N x N times side by side
in one frame (a wide view of a crowd: many people, each a few pixels tall, in
a frame larger than the detector's input); the ground truth is moved the
same way. Each frame is detected whole and sliced
(:class:`~pipeline.stages.slicing.FrameSlicer`, as a run with ``slicing``
does) at several score thresholds and scored against the ground truth
(:func:`score_detections`). Comparing recall where both reach the same
precision leaves out what a threshold alone would change.

Example:
    ``python -m pipeline.evaluation.slicing clip.mp4 gt.txt --scale 0.25 --mosaic 4 --slice 208``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv

import models
from models.detectors.base import Detector
from pipeline.evaluation.detection import score_detections
from pipeline.io.mot_files import read_mot_rows
from pipeline.io.video import iter_frames, probe
from pipeline.stages.slicing import FrameSlicer

#: Score thresholds of the precision/recall curve.
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6)


def scaled_frames(video: str | Path, scale: float, mosaic: int = 1) -> list[np.ndarray]:
    """The clip's frames, smaller and side by side.

    Each side is times ``scale`` (area-averaged, as a camera further away), and
    the frame is laid out ``mosaic`` x ``mosaic`` times in one.
    """
    info = probe(video)
    size = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
    return [
        np.tile(cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA), (mosaic, mosaic, 1))
        for frame in iter_frames(video)
    ]


def moved_ground_truth(
    gt_path: str | Path, target: Path, scale: float, tile_wh: tuple[int, int], mosaic: int = 1
) -> Path:
    """The ground truth of :func:`scaled_frames`: boxes scaled, one copy per tile.

    Args:
        gt_path: MOTChallenge ``gt.txt`` of the clip.
        target: Where to write the moved ground truth (same format).
        scale: As for :func:`scaled_frames`.
        tile_wh: One scaled frame's ``(width, height)``.
        mosaic: As for :func:`scaled_frames`.
    """
    rows = read_mot_rows(gt_path)
    copies = []
    for row in range(mosaic):
        for column in range(mosaic):
            moved = rows.copy()
            # MOTChallenge pixels count from 1: scale the offset from the corner.
            moved[:, 2:4] = (rows[:, 2:4] - 1) * scale + 1
            moved[:, 4:6] *= scale
            moved[:, 2] += column * tile_wh[0]
            moved[:, 3] += row * tile_wh[1]
            copies.append(moved)
    np.savetxt(target, np.vstack(copies), delimiter=",", fmt="%.4f")
    return target


def _detect(
    detector: Detector,
    frames: Sequence[np.ndarray],
    slicer: FrameSlicer | None,
    threshold: float,
    queries: tuple[str, ...],
) -> tuple[list[sv.Detections], float]:
    """Detections of every frame, and the seconds per frame they took."""
    found: list[sv.Detections] = []
    started = time.perf_counter()
    for image in frames:
        if slicer is None:
            [detections] = detector.detect([image], confidence=threshold, queries=queries)
        else:
            [detections] = slicer.detect(
                detector, [image], confidence=threshold, queries=queries, timing={}
            )
        found.append(detections)
    return found, (time.perf_counter() - started) / max(1, len(frames))


def curve(
    detector: Detector,
    frames: Sequence[np.ndarray],
    gt_path: str | Path,
    slice_size: int | None,
    queries: tuple[str, ...] = ("person",),
) -> list[dict[str, Any]]:
    """Precision and recall at each of :data:`THRESHOLDS`, with the seconds per frame.

    Args:
        detector: The detector.
        frames: The scaled frames (frame ``k`` is MOT frame ``k + 1``).
        gt_path: The ground truth, in the frames' pixels (:func:`moved_ground_truth`).
        slice_size: Tiles' side in the scaled frames' pixels (None: whole frames).
        queries: The classes the ground truth holds.
    """
    slicer = FrameSlicer(slice_size) if slice_size else None
    points = []
    for threshold in THRESHOLDS:
        found, seconds = _detect(detector, frames, slicer, threshold, queries)
        score = score_detections(gt_path, {k + 1: d for k, d in enumerate(found)})
        points.append({"threshold": threshold, **score, "ms_per_frame": 1000 * seconds})
    return points


def recall_at_precision(points: Sequence[dict[str, Any]], precision: float) -> float:
    """The highest recall among thresholds whose precision reaches ``precision`` (0: none)."""
    return max((p["recall"] for p in points if p["precision"] >= precision), default=0.0)


def compare(
    video: str | Path,
    gt_path: str | Path,
    *,
    scale: float,
    slice_sizes: Sequence[int],
    mosaic: int = 1,
    detector: str = "yolox_nano",
    reference_threshold: float = 0.3,
) -> dict[str, Any]:
    """Whole frames against each slice size: recall at the whole frames' precision, cost.

    Args:
        video: The clip.
        gt_path: Its MOTChallenge ground truth.
        scale: Each side of the frames is scaled by this.
        mosaic: Frames laid out this many times across and down.
        slice_sizes: Tile sides to try, in the scaled frames' pixels.
        detector: The detector's registry name.
        reference_threshold: The whole frames' threshold whose precision is the bar.

    Returns:
        ``{"frame_size", "whole": {...}, "sliced": {size: {...}}}``, each with its
        curve, its recall at the bar's precision, and milliseconds per frame.
    """
    model = models.create("detector", detector, device="cpu")
    frames = scaled_frames(video, scale, mosaic)
    tile_wh = (frames[0].shape[1] // mosaic, frames[0].shape[0] // mosaic)
    with tempfile.TemporaryDirectory() as folder:
        moved = moved_ground_truth(gt_path, Path(folder) / "gt.txt", scale, tile_wh, mosaic)
        whole = curve(model, frames, moved, None)
        sliced = {size: curve(model, frames, moved, size) for size in slice_sizes}
    bar = next(p for p in whole if p["threshold"] == reference_threshold)["precision"]
    result: dict[str, Any] = {
        "frame_size": list(frames[0].shape[1::-1]),
        "precision_bar": bar,
        "whole": _row(whole, bar),
        "sliced": {},
    }
    for size, points in sliced.items():
        result["sliced"][size] = _row(points, bar)
    return result


def _row(points: list[dict[str, Any]], bar: float) -> dict[str, Any]:
    return {
        "recall_at_bar": recall_at_precision(points, bar),
        "ms_per_frame": float(np.median([p["ms_per_frame"] for p in points])),
        "curve": points,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`compare` as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("video")
    parser.add_argument("gt")
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--mosaic", type=int, default=1)
    parser.add_argument("--slice", type=int, action="append", dest="slices", required=True)
    parser.add_argument("--detector", default="yolox_nano")
    args = parser.parse_args(argv)
    report = compare(
        args.video, args.gt, scale=args.scale, slice_sizes=args.slices, mosaic=args.mosaic,
        detector=args.detector,
    )  # fmt: skip
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
