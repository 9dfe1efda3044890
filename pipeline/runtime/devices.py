"""Which devices a run uses. The pipeline decides; a model never picks ``cuda`` itself."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.errors import PipelineError


def visible_cuda_devices() -> list[str]:
    """``["cuda:0", ...]`` for every visible CUDA device (empty without torch/CUDA)."""
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def resolve_devices(requested: Sequence[str] = ()) -> list[str]:
    """Turn the config's device list into concrete device names.

    Args:
        requested: Device names (``"cpu"``, ``"cuda"``, ``"cuda:1"``); empty
            means every visible CUDA device, or the CPU when there is none.

    Returns:
        Concrete device names, ``"cuda"`` expanded to ``"cuda:0"``.

    Raises:
        PipelineError: A requested CUDA device does not exist.
    """
    cuda = visible_cuda_devices()
    if not requested:
        return cuda or ["cpu"]
    devices = []
    for name in requested:
        name = name.strip().lower()
        if name == "cuda":
            name = "cuda:0"
        if name.startswith("cuda") and name not in cuda:
            have = ", ".join(cuda) or "none"
            raise PipelineError(f"Device {name} is not available (CUDA devices here: {have}).")
        if name != "cpu" and not name.startswith("cuda"):
            raise PipelineError(f"Unknown device {name!r}: use cpu, cuda or cuda:N.")
        devices.append(name)
    return devices


def prepare_devices(requested: Sequence[str] = ()) -> list[str]:
    """Resolve a run's devices (:func:`resolve_devices`) and set them up for it.

    On the CPU, PyTorch's intra-op threads are set to the usable cores but one,
    as ultralytics' predictor does: the run's decoder and encoder threads need
    a core of their own, and oversubscribed cores slow every stage. (ONNX
    Runtime sessions set their own thread count when they are made.)

    Args:
        requested: As for :func:`resolve_devices`.

    Returns:
        The concrete device names.

    Raises:
        PipelineError: A requested device does not exist.
    """
    devices = resolve_devices(requested)
    if "cpu" in devices:
        import torch

        from models.onnx_sessions import usable_cpus

        torch.set_num_threads(max(1, usable_cpus() - 1))
    return devices
