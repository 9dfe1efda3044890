"""Host-to-device copies of frame batches through reused page-locked memory.

A copy from ordinary (pageable) host memory makes the CUDA driver stage the
data through its own page-locked buffer, synchronously. Stacking a batch
straight into a page-locked buffer instead saves that staging copy and lets
the transfer run asynchronously; reusing the buffer while the batch shape
holds avoids a page-locking allocation per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class PinnedUploader:
    """Uploads stacked uint8 frames to a device, through a reused pinned buffer on CUDA.

    One instance per model instance: the buffer is reused by the next call,
    which first waits for the previous copy out of it to finish. Calls must
    not overlap (the detector's lock serialises them).

    Args:
        device: ``"cpu"`` or ``"cuda:N"``.
        pin_memory: Stage through page-locked memory; None means "on CUDA".
            Always off on the CPU, where there is no transfer.

    Example:
        >>> uploader = PinnedUploader("cpu")
        >>> uploader.upload([np.zeros((2, 3, 3), np.uint8)]).shape
        torch.Size([1, 2, 3, 3])
    """

    def __init__(self, device: str, pin_memory: bool | None = None) -> None:
        cuda = device.startswith("cuda")
        self.device = device
        self.pin_memory = cuda if pin_memory is None else (pin_memory and cuda)
        self.buffer: Any = None
        self._copied: Any = None

    def upload(self, images: Sequence[np.ndarray], batch: int | None = None) -> Any:
        """Stack same-shape images and copy them to the device.

        Args:
            images: Arrays of one shape and dtype (e.g. letterboxed HWC frames).
            batch: Pad the batch to this many entries (the padding's content
                is unspecified: slice the results); None means ``len(images)``.

        Returns:
            A tensor (batch, *shape) on the device. With pinned memory the copy
            may still be running: work queued after it on the current stream
            sees the data, anything else must synchronise first.
        """
        import torch

        count = len(images)
        shape = (max(batch or count, count), *images[0].shape)
        if not self.pin_memory:
            if shape[0] == count:
                return torch.from_numpy(np.stack(images)).to(self.device)
            host = np.zeros(shape, images[0].dtype)
            np.stack(images, out=host[:count])
            return torch.from_numpy(host).to(self.device)
        dtype = torch.from_numpy(images[0][:0]).dtype
        if self.buffer is None or tuple(self.buffer.shape) != shape or self.buffer.dtype != dtype:
            self.buffer = torch.zeros(shape, dtype=dtype, pin_memory=True)
            self._copied = None
        elif self._copied is not None:
            self._copied.synchronize()
        np.stack(images, out=self.buffer.numpy()[:count])
        uploaded = self.buffer.to(self.device, non_blocking=True)
        self._copied = torch.cuda.Event()
        self._copied.record(torch.cuda.current_stream(self.device))
        return uploaded
