"""Depth per detected object, and objects ordered from near to far.

Values are the depth model's *relative inverse depth* (larger is nearer, no
unit): fine for ordering objects within a video, not a distance in metres.

Example:
    >>> detections = sv.Detections(xyxy=np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float))
    >>> depth = np.full((10, 40), 2.1, np.float32)  # a depth model's output, one frame
    >>> depth[:, :15] = 7.9  # the left object is nearer
    >>> add_object_depths(detections, depth).data["depth"]
    array([7.9, 2.1], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np
import supervision as sv

from pipeline.stages.annotation import DEPTH

#: Share of each box side, around its centre, that :func:`object_depths` reads.
CENTRAL_FRACTION = 0.5


def _as_array(depth_map: np.ndarray | sv.DepthMap) -> np.ndarray:
    if isinstance(depth_map, sv.DepthMap):
        return depth_map.to_float()
    array = np.asarray(depth_map, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"A depth map is (H, W); got shape {array.shape}.")
    return array


def object_depths(
    depth_map: np.ndarray | sv.DepthMap,
    detections: sv.Detections,
    *,
    central_fraction: float = CENTRAL_FRACTION,
    resolution_wh: tuple[int, int] | None = None,
) -> np.ndarray:
    """A robust depth for each detection: the median over the centre of its box.

    A box also holds background at its corners and edges; its central part
    (``central_fraction`` of each side) is mostly the object, and the median
    ignores the rest. With masks, the median is over the mask's pixels instead.

    Args:
        depth_map: ``(H, W)`` relative inverse depth (larger is nearer), as an
            array or a ``supervision.DepthMap``.
        detections: Boxes in the pixel coordinates of the frame.
        central_fraction: Share of the box width and height read, in (0, 1].
        resolution_wh: The frame's ``(width, height)`` when the map has another
            size; boxes (not masks) are scaled to the map.

    Returns:
        float32 ``(N,)``; NaN where a box or mask holds no finite depth.

    Example:
        >>> depth = np.zeros((100, 100), np.float32)
        >>> depth[10:50, 10:50] = 5.0
        >>> boxes = sv.Detections(xyxy=np.array([[10, 10, 50, 50], [60, 60, 90, 90.0]]))
        >>> object_depths(depth, boxes).tolist()
        [5.0, 0.0]
    """
    values = _as_array(depth_map)
    height, width = values.shape
    result = np.full(len(detections), np.nan, dtype=np.float32)
    if len(detections) == 0:
        return result
    if detections.mask is not None and detections.mask.shape[1:] == (height, width):
        for i, mask in enumerate(detections.mask):
            region = values[np.asarray(mask, dtype=bool)]
            result[i] = _median(region)
        return result
    boxes = np.asarray(detections.xyxy, dtype=np.float64).copy()
    if resolution_wh is not None and tuple(resolution_wh) != (width, height):
        boxes[:, [0, 2]] *= width / resolution_wh[0]
        boxes[:, [1, 3]] *= height / resolution_wh[1]
    fraction = float(np.clip(central_fraction, 1e-3, 1.0))
    centers_x = (boxes[:, 0] + boxes[:, 2]) / 2
    centers_y = (boxes[:, 1] + boxes[:, 3]) / 2
    half_w = (boxes[:, 2] - boxes[:, 0]) * fraction / 2
    half_h = (boxes[:, 3] - boxes[:, 1]) * fraction / 2
    for i in range(len(boxes)):
        # At least the pixel under the centre, so a tiny box still gets a value.
        x1 = int(np.clip(np.floor(centers_x[i] - half_w[i]), 0, width - 1))
        y1 = int(np.clip(np.floor(centers_y[i] - half_h[i]), 0, height - 1))
        x2 = int(np.clip(np.ceil(centers_x[i] + half_w[i]), x1 + 1, width))
        y2 = int(np.clip(np.ceil(centers_y[i] + half_h[i]), y1 + 1, height))
        if boxes[i, 2] <= 0 or boxes[i, 3] <= 0 or boxes[i, 0] >= width or boxes[i, 1] >= height:
            continue  # entirely outside the map
        result[i] = _median(values[y1:y2, x1:x2])
    return result


def _median(region: np.ndarray) -> float:
    finite = region[np.isfinite(region)]
    return float(np.median(finite)) if finite.size else float("nan")


def add_object_depths(
    detections: sv.Detections, depth_map: np.ndarray | sv.DepthMap, **options: object
) -> sv.Detections:
    """Return the detections with :func:`object_depths` in ``data["depth"]``.

    The key is :data:`pipeline.annotate.DEPTH`, which the labels
    (``d=7.93``) and the tracks file (``"depth"``) already read.

    Args:
        detections: The frame's detections.
        depth_map: The frame's relative inverse depth.
        **options: Passed to :func:`object_depths`.

    Returns:
        A new ``sv.Detections`` sharing the input's arrays.
    """
    depths = object_depths(depth_map, detections, **options)  # type: ignore[arg-type]
    return replace(detections, data={**detections.data, DEPTH: depths})


def near_to_far(depths_by_track: Mapping[int, Iterable[float]]) -> list[tuple[int, float]]:
    """Order tracks from nearest to farthest by their median depth.

    Args:
        depths_by_track: Each track's per-frame relative inverse depths
            (larger is nearer); NaNs are ignored.

    Returns:
        ``[(track_id, median_depth), ...]``, nearest first; tracks without any
        finite depth are left out. Ties keep the track-id order.

    Example:
        >>> near_to_far({1: [2.0, 2.2], 2: [9.0, 8.0], 3: [float("nan")]})
        [(2, 8.5), (1, 2.1)]
    """
    medians = []
    for track_id, depths in depths_by_track.items():
        values = np.asarray(list(depths), dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            medians.append((int(track_id), round(float(np.median(values)), 4)))
    return sorted(medians, key=lambda item: (-item[1], item[0]))
