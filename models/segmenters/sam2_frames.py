"""A window's frames as SAM 2 reads them: taken from the caller and processed on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np


class WindowFrames(Mapping[int, Any]):
    """A window's frames as the model reads them (``processed_frames[i]``), made on demand.

    Holds nothing: each access takes one frame from the caller (BGR uint8),
    resizes and normalises it with the processor on the model's device. The
    model caches the features of the latest frame itself.

    Args:
        frame_at: Returns frame ``i`` of the window (BGR uint8, (H, W, 3)).
        count: Frames in the window.
        video_processor: The processor's ``Sam2VideoVideoProcessor``.
        device: Where the processed frames go.
    """

    def __init__(
        self, frame_at: Callable[[int], np.ndarray], count: int, video_processor: Any, device: str
    ) -> None:
        self._frame_at = frame_at
        self._count = count
        self._video_processor = video_processor
        self._device = device

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._count))

    def __contains__(self, index: object) -> bool:
        # Mapping's own would process the frame just to answer.
        return isinstance(index, int) and 0 <= index < self._count

    def __getitem__(self, index: int) -> Any:
        import torch

        if index not in self:
            raise KeyError(index)
        frame = self._frame_at(index)
        if not (frame.flags.c_contiguous and frame.flags.writeable):
            # The store's frames may be read-only views; torch wants its own.
            frame = np.array(frame, order="C")
        image = torch.from_numpy(frame)
        # uint8 crosses to the device; the BGR->RGB flip is a copy there.
        rgb = image.to(self._device).permute(2, 0, 1).flip(0)
        processed = self._video_processor(
            videos=[rgb.unsqueeze(0)], device=self._device, return_tensors="pt"
        )
        return processed["pixel_values_videos"][0][0]
