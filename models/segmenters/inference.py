"""How the video segmenters run a model step: locked, without autograd, bf16 on CUDA.

SAM 2.1, EdgeTAM and SAM 3 share one rule: a model instance serves one step at a
time (sessions of several runs take turns), and on CUDA their weights run in
bfloat16 as Meta's own predictors do. :func:`propagated` walks a session's frames
that way, one step each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


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


class SteppedSegmenter(Protocol):
    """A segmenter whose ``model`` propagates a ``transformers`` video session."""

    model: Any

    def running(self) -> Any:
        """The context of one model step (:func:`model_step`)."""


def propagated(
    segmenter: SteppedSegmenter, state: Any, start: int, end: int, read: Callable[[Any], T]
) -> Iterator[T]:
    """Frames ``start`` to ``end`` of a session, each one model step, read inside it.

    Args:
        segmenter: Its model propagates ``state``; its ``running()`` holds a step.
        state: The ``transformers`` video session (``Sam2VideoInferenceSession``...).
        start: First frame (window index).
        end: Last frame, included.
        read: Turns the model's output for a frame into what the caller yields; it
            runs inside the step (post-processing on the model's device, freeing
            the session's memory), the caller's own work outside it.

    Yields:
        ``read(output)`` for each frame the model gives, in its order.
    """
    outputs = segmenter.model.propagate_in_video_iterator(
        state, start_frame_idx=start, max_frame_num_to_track=end - start
    )
    try:
        while True:
            with segmenter.running():
                output = next(outputs, None)
                if output is None:
                    return
                result = read(output)
            yield result
    finally:
        outputs.close()
