"""Which devices a run uses. The pipeline decides; a model never picks ``cuda`` itself."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.runtime.errors import PipelineError


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
