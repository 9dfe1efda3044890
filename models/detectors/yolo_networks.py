"""The ways a YOLO detection network runs, outside ultralytics' predictor.

Both share ultralytics' own pre- and post-processing (``LetterBox``,
``non_max_suppression``, ``scale_boxes``) with the predictor's defaults, so
their detections equal those of ``YOLO.predict`` up to float rounding:

- :class:`OnnxRuntimeYolo`: an ONNX export on ONNX Runtime's CPU provider (the
  CPU fast path);
- :class:`OpenVinoYolo`: ultralytics' OpenVINO export on OpenVINO's CPU plugin;
- :class:`TorchYolo`: the PyTorch module called directly. On CUDA the
  letterboxed uint8 batch is stacked straight into a reused page-locked
  (pinned) buffer and copied asynchronously; channel order, layout, dtype and
  scaling are changed on the device, in fp16.

Each network has ``preprocess`` (frames to input), ``infer`` (input to raw
head output) and ``postprocess`` (raw output to per-frame ``(n, 6)`` arrays),
so the detector can time the three stages.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.onnx_sessions import FrameParallelSession
from models.transfer import PinnedUploader

log = logging.getLogger(__name__)


def letterbox_batch(frames: Sequence[np.ndarray], imgsz: Sequence[int], stride: int) -> np.ndarray:
    """Letterbox BGR frames as ultralytics' predictor does, keeping uint8 HWC.

    Frames of one shape keep the minimum rectangle (padding to a multiple of
    ``stride`` only); mixed shapes are padded to ``imgsz``.

    Args:
        frames: BGR uint8 images (H, W, 3).
        imgsz: Target (height, width), multiples of ``stride``.
        stride: The network's largest stride.

    Returns:
        The letterboxed batch, (N, h, w, 3) uint8 BGR.

    Example:
        >>> letterbox_batch([np.zeros((480, 640, 3), np.uint8)], (320, 320), 32).shape
        (1, 256, 320, 3)
    """
    return np.stack(letterboxed_frames(frames, imgsz, stride))


def letterboxed_frames(
    frames: Sequence[np.ndarray], imgsz: Sequence[int], stride: int, *, rect: bool = True
) -> list[np.ndarray]:
    """The frames of :func:`letterbox_batch`, not yet stacked (all of one shape).

    Args:
        frames: BGR uint8 images (H, W, 3).
        imgsz: Target (height, width), multiples of ``stride``.
        stride: The network's largest stride.
        rect: Keep the minimum rectangle when all frames share a shape (the
            predictor's default); False pads every frame to ``imgsz`` exactly
            (the predictor's ``rect=False``).

    Returns:
        The letterboxed frames.
    """
    from ultralytics.data.augment import LetterBox

    same_shapes = len({frame.shape for frame in frames}) == 1
    letterbox = LetterBox(tuple(imgsz), auto=rect and same_shapes, stride=stride)
    return [letterbox(image=frame) for frame in frames]


def letterbox_blob(frames: Sequence[np.ndarray], imgsz: Sequence[int], stride: int) -> np.ndarray:
    """Letterbox BGR frames into an NCHW float32 RGB blob in 0..1, as ultralytics' predictor does.

    Args:
        frames: BGR uint8 images (H, W, 3).
        imgsz: Target (height, width), multiples of ``stride``.
        stride: The network's largest stride.

    Returns:
        The input blob, shape (N, 3, h, w).

    Example:
        >>> letterbox_blob([np.zeros((480, 640, 3), np.uint8)], (320, 320), 32).shape
        (1, 3, 256, 320)
    """
    batch = letterbox_batch(frames, imgsz, stride)
    blob = np.ascontiguousarray(batch[..., ::-1].transpose(0, 3, 1, 2))
    return np.divide(blob, 255, dtype=np.float32)


def predictor_defaults() -> dict[str, Any]:
    """NMS settings of ultralytics' predictor: ``iou``, ``max_det``, ``agnostic``."""
    from ultralytics.utils import DEFAULT_CFG

    return {
        "iou": float(DEFAULT_CFG.iou),
        "max_det": int(DEFAULT_CFG.max_det),
        "agnostic": bool(DEFAULT_CFG.agnostic_nms),
    }


def nms_and_scale(
    raw: Any,
    input_hw: Sequence[int],
    frame_shapes: Sequence[tuple[int, ...]],
    confidence: float,
    classes: list[int] | None,
    *,
    iou: float,
    max_det: int,
    agnostic: bool,
) -> list[np.ndarray]:
    """NMS and rescaling to frame pixels, as ultralytics' detection predictor does.

    Args:
        raw: Raw head output, a tensor (N, 4 + classes, anchors) on any device.
        input_hw: Height and width of the input the network saw.
        frame_shapes: Shapes of the original frames.
        confidence: Minimum score kept.
        classes: Class indices to keep, or None for all.
        iou: NMS IoU threshold.
        max_det: Most boxes per frame.
        agnostic: Class-agnostic NMS.

    Returns:
        Per frame, an (n, 6) float32 array: x1, y1, x2, y2, score, class.
    """
    import torch
    from ultralytics.utils import nms, ops

    predictions = nms.non_max_suppression(raw, confidence, iou, classes, agnostic, max_det=max_det)
    scaled = []
    for pred, shape in zip(predictions, frame_shapes, strict=True):
        pred = pred[:, :6].float()
        pred[:, :4] = ops.scale_boxes(tuple(input_hw), pred[:, :4], shape)
        scaled.append(pred)
    # One device-to-host copy for the whole batch.
    counts = [len(p) for p in scaled]
    flat = torch.cat(scaled).cpu().numpy() if scaled else np.zeros((0, 6), np.float32)
    return np.split(flat, np.cumsum(counts)[:-1]) if counts else []


class ExportedYolo(abc.ABC):
    """An ultralytics detection network exported for a CPU engine (ONNX Runtime, OpenVINO).

    Pre- and post-processing are ultralytics' own, the same for every engine;
    a subclass runs the network (:meth:`infer`).

    Attributes:
        path: The file it was built from (may be deleted since: the engine holds
            the model in memory).
        imgsz: Inference size as (height, width), rounded to the stride.
        stride: The network's largest stride.
    """

    def __init__(self, *, path: Any, imgsz: int, stride: int) -> None:
        from ultralytics.utils.checks import check_imgsz

        self.path = path
        self.stride = stride
        self.imgsz: list[int] = check_imgsz(imgsz, stride=stride, min_dim=2)
        self._nms = predictor_defaults()

    def preprocess(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """The network's input for BGR frames (see :func:`letterbox_blob`)."""
        return letterbox_blob(frames, self.imgsz, self.stride)

    @abc.abstractmethod
    def infer(self, blob: np.ndarray) -> np.ndarray:
        """Run the network; returns the raw head output (N, 4 + classes, anchors)."""

    def postprocess(
        self,
        raw: np.ndarray,
        input_hw: Sequence[int],
        frame_shapes: Sequence[tuple[int, ...]],
        confidence: float,
        classes: list[int] | None,
    ) -> list[np.ndarray]:
        """Per frame, an (n, 6) array x1, y1, x2, y2, score, class (see :func:`nms_and_scale`)."""
        import torch

        return nms_and_scale(
            torch.from_numpy(raw), input_hw, frame_shapes, confidence, classes, **self._nms
        )


class OnnxRuntimeYolo(ExportedYolo):
    """An ultralytics detection network exported to ONNX, run by ONNX Runtime on the CPU.

    Attributes:
        session: The ONNX Runtime session; a
            :class:`~models.onnx_sessions.FrameParallelSession` runs a batch's
            frames one per core at once.
    """

    def __init__(self, session: Any, *, path: Any, imgsz: int, stride: int) -> None:
        super().__init__(path=path, imgsz=imgsz, stride=stride)
        self.session = session
        self._input = session.get_inputs()[0].name

    def infer(self, blob: np.ndarray) -> np.ndarray:
        """Run the network; returns the raw head output (N, 4 + classes, anchors)."""
        if isinstance(self.session, FrameParallelSession) and len(blob) > 1:
            feeds = [{self._input: blob[i : i + 1]} for i in range(len(blob))]
            return np.concatenate(self.session.run_each(feeds))
        return self.session.run(None, {self._input: blob})[0]


class OpenVinoYolo(ExportedYolo):
    """An ultralytics detection network in OpenVINO IR (ultralytics' own export), on the CPU.

    A batch's frames run one per core at once
    (:meth:`~models.openvino_models.OpenVinoModel.run_each`).

    Attributes:
        model: The compiled :class:`~models.openvino_models.OpenVinoModel` (float32
            or bfloat16).
    """

    def __init__(self, model: Any, *, path: Any, imgsz: int, stride: int) -> None:
        super().__init__(path=path, imgsz=imgsz, stride=stride)
        self.model = model

    def infer(self, blob: np.ndarray) -> np.ndarray:
        """Run the network; returns the raw head output (N, 4 + classes, anchors)."""
        if len(blob) > 1:
            return np.concatenate(self.model.run_each([blob[i : i + 1] for i in range(len(blob))]))
        return self.model.run(blob)


class TorchYolo:
    """An ultralytics detection network called directly in PyTorch.

    The predictor's work without its per-call overhead (source loading,
    ``Results`` objects, a host copy per result), and with page-locked host
    memory on CUDA: the letterboxed uint8 batch is stacked into a reused pinned
    buffer and copied asynchronously (:class:`models.transfer.PinnedUploader`),
    and the conversion to normalised fp16 NCHW runs on the device.

    With static shapes (the CUDA default) every frame is letterboxed to the
    full ``imgsz`` square and every batch is padded to a power of two of at
    least ``static_batch`` frames. A GPU then sees one input shape per batch
    bucket whatever the video and however the pool batches: the first call of
    a new shape costs kernel selection and loading (about a second was
    measured on an H200), so varying shapes would cost that again and again,
    and a fixed shape is what a CUDA graph needs. On the CPU the minimum
    rectangle is cheaper and there is nothing to warm up.

    Attributes:
        network: The fused ``torch.nn.Module`` in eval mode, on :attr:`device`
            (fp16 when :attr:`half`).
        device: ``"cpu"`` or ``"cuda:N"``.
        half: fp16 weights and inputs (CUDA only).
        uploader: Copies letterboxed batches to the device (pinned on CUDA).
        imgsz: Inference size as (height, width), rounded to the stride.
        stride: The network's largest stride.
        static_batch: Smallest padded batch with static shapes; None keeps the
            predictor's minimum rectangles and unpadded batches.
        cuda_graphs: Replay each input shape's forward pass from a captured
            CUDA graph (static shapes on CUDA only).
    """

    def __init__(
        self,
        network: Any,
        *,
        device: str,
        imgsz: int,
        half: bool,
        pin_memory: bool | None = None,
        static_batch: int | None = None,
        cuda_graphs: bool = False,
    ) -> None:
        from ultralytics.utils.checks import check_imgsz

        cuda = device.startswith("cuda")
        self.device = device
        self.half = half and cuda
        self.stride = max(int(network.stride.max()), 32)
        self.imgsz: list[int] = check_imgsz(imgsz, stride=self.stride, min_dim=2)
        self.static_batch = static_batch
        self.cuda_graphs = cuda_graphs and cuda and static_batch is not None
        network = network.fuse(verbose=False) if hasattr(network, "fuse") else network
        network = network.to(device).eval()
        self.network = network.half() if self.half else network.float()
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)
        self._nms = predictor_defaults()
        self.uploader = PinnedUploader(device, pin_memory)
        self._graphs: dict[tuple[int, ...], _CapturedForward] = {}

    def padded_batch(self, frames: int) -> int:
        """The batch size a call with ``frames`` frames runs at."""
        if self.static_batch is None:
            return frames
        return max(self.static_batch, 1 << max(frames - 1, 0).bit_length())

    def preprocess(self, frames: Sequence[np.ndarray]) -> Any:
        """Letterbox on the host, then RGB, NCHW and 0..1 (fp16 on CUDA) on the device.

        Args:
            frames: BGR uint8 images (H, W, 3).

        Returns:
            The input tensor on :attr:`device`, (padded batch, 3, h, w).
        """
        import torch

        rect = self.static_batch is None
        images = letterboxed_frames(frames, self.imgsz, self.stride, rect=rect)
        with torch.inference_mode():
            batch = self.uploader.upload(images, batch=self.padded_batch(len(images)))
            # As ultralytics' predictor: dense NCHW first, which makes the flip cheaper.
            batch = batch.permute(0, 3, 1, 2).contiguous().flip(1)
            return (batch.half() if self.half else batch.float()).div_(255)

    def infer(self, batch: Any) -> Any:
        """Run the network; returns the raw head output (N, 4 + classes, anchors) on the device.

        With :attr:`cuda_graphs`, the output of a replayed graph is overwritten
        by the next call: consume it first (:meth:`postprocess` does).
        """
        import torch

        key = tuple(batch.shape)
        if self.cuda_graphs and key not in self._graphs:
            try:
                self._graphs[key] = _CapturedForward(self.network, batch)
            except Exception as exc:  # capture is an optimisation: never fail a run for it
                log.warning("CUDA graph capture failed (%s: %s); running eagerly.",
                            type(exc).__name__, exc)  # fmt: skip
                self.cuda_graphs = False
        if self.cuda_graphs:
            return self._graphs[key](batch)
        with torch.inference_mode():
            raw = self.network(batch)
        return raw[0] if isinstance(raw, list | tuple) else raw

    def warmup(self, batch_sizes: Sequence[int] = (1,)) -> None:
        """Run each padded batch shape once, so that no run pays for its first call.

        Only static shapes can be warmed up ahead of the video (otherwise the
        input shape depends on the frames' aspect ratio); without them this
        does nothing.

        Args:
            batch_sizes: Frames per call to prepare for.
        """
        if self.static_batch is None:
            return
        frame = np.zeros((*self.imgsz, 3), np.uint8)
        for size in sorted({self.padded_batch(n) for n in batch_sizes}):
            raw = self.infer(self.preprocess([frame] * size))
            self.postprocess(raw, self.imgsz, [frame.shape] * size, 0.25, None)
        self.synchronize()

    def synchronize(self) -> None:
        """Wait for the device's queued work, so that stage timings are honest."""
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize(self.device)

    def postprocess(
        self,
        raw: Any,
        input_hw: Sequence[int],
        frame_shapes: Sequence[tuple[int, ...]],
        confidence: float,
        classes: list[int] | None,
    ) -> list[np.ndarray]:
        """Per frame, an (n, 6) array x1, y1, x2, y2, score, class (NMS on the device).

        Padding frames (beyond ``len(frame_shapes)``) are dropped before NMS.
        """
        import torch

        with torch.inference_mode():
            raw = raw[: len(frame_shapes)]
            return nms_and_scale(raw, input_hw, frame_shapes, confidence, classes, **self._nms)


class _CapturedForward:
    """A network's forward pass for one input shape, captured as a CUDA graph.

    Replaying the graph launches every kernel of the pass at once: for small
    networks the CPU-side launch work of eager mode, contended by the
    pipeline's other threads, otherwise bounds the throughput.
    """

    def __init__(self, network: Any, example: Any) -> None:
        import torch

        with torch.inference_mode():
            self.input = example.clone()
            # Capture needs warmed-up kernels and workspaces, made on a side stream.
            side = torch.cuda.Stream(example.device)
            side.wait_stream(torch.cuda.current_stream(example.device))
            with torch.cuda.stream(side):
                for _ in range(2):
                    network(self.input)
            torch.cuda.current_stream(example.device).wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                output = network(self.input)
        self.output = output[0] if isinstance(output, list | tuple) else output
        # The graph reads the tensors the modules hold now, such as the head's
        # anchor grid, which an eager call of another shape replaces: keep them
        # alive, or their memory could be reused under the graph.
        self._held = [
            value
            for module in network.modules()
            for value in vars(module).values()
            if isinstance(value, torch.Tensor)
        ]

    def __call__(self, batch: Any) -> Any:
        import torch

        with torch.inference_mode():
            self.input.copy_(batch)
            self.graph.replay()
        return self.output
