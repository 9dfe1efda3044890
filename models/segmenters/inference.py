"""How the video segmenters run a model step: locked, without autograd, bf16 on CUDA.

SAM 2.1, EdgeTAM and SAM 3 share one rule: a model instance serves one step at a
time (sessions of several runs take turns), and on CUDA their weights run in
bfloat16 as Meta's own predictors do. :class:`SamVideoModel` holds the model and its
processor and runs a step that way, :func:`propagated` walks a session's frames one
step each, and :class:`WindowSession` is what their sessions over a window have in
common.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np

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


class SamVideoModel:
    """A ``transformers`` SAM video model whose every step runs under :func:`model_step`.

    A mixin for :class:`models.base.Model` subclasses (which hold ``lock`` and
    ``device``): it holds the ``transformers`` model and its processor.

    Attributes:
        model: The ``transformers`` video model.
        processor: Its video processor.
    """

    lock: threading.Lock | threading.RLock
    device: str

    def __init__(self, model: Any, processor: Any, **settings: Any) -> None:
        # Model, after this mixin in a subclass's bases, takes the rest (device, weights...).
        super().__init__(**settings)
        self.model = model
        self.processor = processor

    @property
    def image_size(self) -> int:
        """The model's square input size."""
        return int(self.model.config.image_size)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Hold the lock, in inference mode, with bf16 autocast on CUDA."""
        with model_step(self.lock, self.device):
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


class WindowSegmenter(SteppedSegmenter, Protocol):
    """What a :class:`WindowSession` uses of its segmenter."""

    processor: Any
    device: str


class WindowSession:
    """A video model's state over one window of frames, read when the model needs them.

    Every call takes the segmenter's lock for its own duration only, so two
    runs sharing a cached model interleave frame by frame. A subclass starts
    the ``transformers`` session (:meth:`_start`) and names the config that
    holds the model's memory sizes (:meth:`_memory_config`).

    Args:
        segmenter: The model.
        frame_at: Returns frame ``i`` of the window (BGR uint8).
        num_frames: Frames in the window.
        height: Frame height.
        width: Frame width.

    Attributes:
        state: The ``transformers`` inference session.
    """

    def __init__(
        self,
        segmenter: WindowSegmenter,
        frame_at: Callable[[int], np.ndarray],
        num_frames: int,
        height: int,
        width: int,
    ) -> None:
        from models.segmenters.sam2_frames import WindowFrames

        self._segmenter = segmenter
        processor = segmenter.processor
        frames = WindowFrames(frame_at, num_frames, processor.video_processor, segmenter.device)
        self.state: Any = self._start(frames, height, width)
        memory = self._memory_config()
        # Past frames the model still reads: num_maskmem - 1 mask memories and
        # max_object_pointers_in_encoder - 1 object pointers.
        self._keep = 1 + max(memory.num_maskmem, memory.max_object_pointers_in_encoder)

    def _start(self, frames: Any, height: int, width: int) -> Any:
        """The ``transformers`` session over ``frames`` (a ``WindowFrames``) at the frame size."""
        raise NotImplementedError

    def _memory_config(self) -> Any:
        """The config holding ``num_maskmem`` and ``max_object_pointers_in_encoder``."""
        raise NotImplementedError
