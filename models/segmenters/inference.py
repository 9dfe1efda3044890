"""How the video segmenters run a model step: locked, without autograd, bf16 on CUDA.

SAM 2.1, EdgeTAM and SAM 3 share one rule: a model instance serves one step at a
time (sessions of several runs take turns), and on CUDA their weights run in
bfloat16 as Meta's own predictors do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def model_step(lock: threading.Lock | threading.RLock, device: str) -> Iterator[None]:
    """Hold ``lock``, in inference mode, with bf16 autocast when ``device`` is CUDA.

    Args:
        lock: The model instance's lock.
        device: The model's device (``cpu``, ``cuda``, ``cuda:N``).

    Yields:
        Nothing; the step runs inside.

    Example:
        >>> import torch
        >>> with model_step(threading.Lock(), "cpu"):
        ...     torch.is_inference_mode_enabled()
        True
    """
    import torch

    with lock, torch.inference_mode():
        if device.startswith("cuda"):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                yield
        else:
            yield
