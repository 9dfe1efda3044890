"""Sliced inference for small objects (supervision's ``InferenceSlicer``).

A detector sees each frame shrunk (or grown) to its own input size, so objects
a few pixels tall in a large frame vanish. Sliced, the frame is cut into
overlapping tiles of :attr:`slice_size` pixels, each tile is detected at the
detector's input size, and the tiles' detections are put back in the frame's
pixels and merged (non-maximum suppression over the overlaps). It costs one
detector call per tile.

Example:
    >>> slicer = FrameSlicer(320)
    >>> slicer.overlap
    64
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import supervision as sv

from models.detectors.base import Detector
from pipeline.errors import ConfigError

#: Tiles overlap by this share of their side, so an object on a seam is whole in one.
SLICE_OVERLAP = 0.2
#: Boxes of two tiles covering this share of the smaller one are one object, merged.
SLICE_MERGE_THRESHOLD = 0.5
#: The least tile side in pixels (smaller tiles hold too little context to detect in).
MIN_SLICE_SIZE = 32
#: Most tiles one frame is cut into: each is a detector call on every frame (a
#: DCI 4K frame in 32-pixel tiles would be 13,000 calls a frame, minutes each on a
#: CPU); the default 320-pixel tiles cut it into 144.
MAX_TILES = 256


def tile_count(width: int, height: int, slice_size: int) -> int:
    """How many tiles a ``width`` x ``height`` frame is cut into (as supervision cuts it).

    Example:
        >>> tile_count(4096, 2160, 320), tile_count(640, 360, 320), tile_count(200, 100, 320)
        (144, 6, 1)
    """
    stride = slice_size - round(slice_size * SLICE_OVERLAP)

    def along(size: int) -> int:
        return 1 if size <= slice_size else math.ceil((size - slice_size) / stride) + 1

    return along(width) * along(height)


def check_tiles(width: int, height: int, slice_size: int) -> None:
    """Refuse tiles so small that a frame would take more than :data:`MAX_TILES` calls.

    Raises:
        ConfigError: Naming the count and the limit.
    """
    tiles = tile_count(width, height, slice_size)
    if tiles > MAX_TILES:
        raise ConfigError(
            f"{slice_size}-pixel tiles cut a {width}x{height} frame into {tiles} tiles, each "
            f"a detector call on every frame; the limit is {MAX_TILES}. Use larger tiles."
        )


class FrameSlicer:
    """Detects on overlapping tiles of each frame and merges the results.

    Args:
        slice_size: The tiles' side in the frame's pixels.
    """

    def __init__(self, slice_size: int) -> None:
        self.slice_size = slice_size
        self.overlap = round(slice_size * SLICE_OVERLAP)

    def detect(
        self,
        detector: Detector,
        images: Sequence[np.ndarray],
        *,
        confidence: float,
        queries: Sequence[str],
        timing: dict[str, float],
    ) -> list[sv.Detections]:
        """One merged :class:`sv.Detections` per image, in the image's pixels.

        Args:
            detector: Detects on the tiles (batches of up to its own batch size).
            images: BGR frames.
            confidence: Minimum score kept on each tile.
            queries: As for :meth:`Detector.detect`.
            timing: Each stage's seconds are added into it, over all tiles.
        """
        batch = max(1, detector.default_batch_size)

        def tiles(crops: list[np.ndarray]) -> list[sv.Detections]:
            return detector.detect(crops, confidence=confidence, queries=queries, timing=timing)

        def one_tile(crop: np.ndarray) -> sv.Detections:
            return tiles([crop])[0]

        slicer = sv.InferenceSlicer(
            callback=tiles if batch > 1 else one_tile,  # type: ignore[arg-type]
            slice_wh=self.slice_size,
            overlap_wh=self.overlap,
            batch_size=batch,
            thread_workers=1,
            # A box cut by a tile's edge lies inside the whole box of the next tile:
            # merged by how much of the smaller is covered (as SAHI does), not by IoU.
            overlap_filter=sv.OverlapFilter.NON_MAX_MERGE,
            overlap_metric=sv.OverlapMetric.IOS,
            iou_threshold=SLICE_MERGE_THRESHOLD,
        )
        return [slicer(np.ascontiguousarray(image)) for image in images]
