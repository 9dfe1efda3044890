"""Which devices a run uses. The pipeline decides; a model never picks ``cuda`` itself.

This is the one place where that is decided, for every path (the tabs, REST
jobs, the Live tab, the command line, batch runs, the benchmark). On a ZeroGPU
Space, ``spaces`` makes CUDA *look* available in the app's process while the
GPU exists only inside a ``spaces.GPU`` call (a forked worker); a model moved
to ``cuda`` outside one ends in "Low-level CUDA init reached". So there the
app's own process has no CUDA device (:func:`cuda_is_emulated`): whatever runs
in it runs on the CPU, and only the work inside GPU calls sees the GPU.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pipeline.errors import PipelineError

#: Why CUDA is missing in a ZeroGPU Space's own process, for messages.
ZERO_GPU_NO_CUDA = (
    "on ZeroGPU the GPU exists only inside the app's GPU calls (its tab runs); "
    "everything else runs on the CPU"
)


def cuda_is_emulated() -> bool:
    """Whether CUDA only *looks* available here: a ZeroGPU Space's process outside a GPU call.

    ``spaces`` (imported first by ``app.py``) replaces torch's CUDA initialiser
    with one that raises, and a GPU call's worker puts the real one back; so
    the replacement being in place is exactly the condition under which
    touching CUDA fails. Without ``spaces`` imported nothing is emulated.

    Example:
        >>> cuda_is_emulated()
        False
    """
    if "spaces" not in sys.modules or "torch" not in sys.modules:
        return False
    import torch

    initialiser = getattr(torch._C, "_cuda_init", None)
    return str(getattr(initialiser, "__module__", "")).startswith("spaces.")


def visible_cuda_devices() -> list[str]:
    """``["cuda:0", ...]`` for every usable CUDA device (empty without torch/CUDA).

    Empty in a ZeroGPU Space's own process, where CUDA is emulated
    (:func:`cuda_is_emulated`); inside a GPU call its device is listed.
    """
    try:
        import torch
    except ImportError:
        return []
    if cuda_is_emulated() or not torch.cuda.is_available():
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
            why = f": {ZERO_GPU_NO_CUDA}" if cuda_is_emulated() else ""
            raise PipelineError(
                f"Device {name} is not available (CUDA devices here: {have}){why}."
            )
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
