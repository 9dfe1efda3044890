"""What the machine is: CPU, memory, NVIDIA GPUs, libraries, and what the app will use on it.

GPUs are read through NVML (``nvidia-ml-py``), CPU and memory through
``psutil``. Without an NVIDIA driver NVML is absent and the report says
``"no NVIDIA GPU"``; nothing here needs CUDA to import.

Example:
    >>> report = hardware_report()
    >>> sorted(report)
    ['cpu', 'defaults', 'gpus', 'libraries', 'memory', 'nvidia_driver']
"""

from __future__ import annotations

import functools
import platform
import threading
from typing import Any

import psutil

from models.onnx_sessions import usable_cpus
from pipeline.runtime.devices import resolve_devices

NO_GPU = "no NVIDIA GPU"
_NVML_LOCK = threading.Lock()


@functools.cache
def nvml() -> Any | None:
    """The initialised ``pynvml`` module, or None where there is no NVIDIA driver."""
    try:
        import pynvml
    except ImportError:
        return None
    with _NVML_LOCK:
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError:
            return None
    return pynvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpu_handles() -> list[Any]:
    """One NVML handle per NVIDIA GPU (none without NVML)."""
    lib = nvml()
    if lib is None:
        return []
    return [lib.nvmlDeviceGetHandleByIndex(i) for i in range(lib.nvmlDeviceGetCount())]


def _gpu(index: int, handle: Any) -> dict[str, Any]:
    lib = nvml()
    assert lib is not None
    major, minor = lib.nvmlDeviceGetCudaComputeCapability(handle)
    memory = lib.nvmlDeviceGetMemoryInfo(handle)
    return {
        "index": index,
        "name": _text(lib.nvmlDeviceGetName(handle)),
        "memory_total_mib": round(memory.total / 2**20),
        "compute_capability": f"{major}.{minor}",
    }


def cpu_name() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _libraries() -> dict[str, Any]:
    import onnxruntime
    import torch

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "cudnn": cudnn,
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_providers": onnxruntime.get_available_providers(),
        "openvino": _version("openvino"),
    }


def _version(distribution: str) -> str | None:
    """The installed version of a package, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def hardware_report() -> dict[str, Any]:
    """The machine and the app's defaults on it, as JSON-ready values.

    Returns:
        ``cpu`` (model, logical and physical cores, the cores this process may
        use), ``memory`` (total and available MiB), ``gpus`` (per NVIDIA GPU:
        name, memory, compute capability; the driver version beside them) or
        ``"no NVIDIA GPU"``, ``libraries`` (torch, CUDA, cuDNN, ONNX Runtime and
        its providers) and ``defaults`` (the devices a run uses unless told,
        and the YOLO runtime on each).
    """
    memory = psutil.virtual_memory()
    devices = resolve_devices(())
    handles = gpu_handles()
    lib = nvml()
    gpus: Any = [_gpu(i, h) for i, h in enumerate(handles)] if handles else NO_GPU
    return {
        "cpu": {
            "model": cpu_name(),
            "logical_cores": psutil.cpu_count(logical=True),
            "physical_cores": psutil.cpu_count(logical=False),
            "usable_cores": usable_cpus(),
            "machine": platform.machine(),
        },
        "memory": {
            "total_mib": round(memory.total / 2**20),
            "available_mib": round(memory.available / 2**20),
        },
        "gpus": gpus,
        "nvidia_driver": _text(lib.nvmlSystemGetDriverVersion()) if handles and lib else None,
        "libraries": _libraries(),
        "defaults": {
            "devices": devices,
            # What YOLO11's runtime="auto" starts from (models/detectors/ultralytics_common.py);
            # on a CPU it then measures OpenVINO against it (docs/cpu-runtimes.md).
            "yolo_runtime": {
                d: ("torch" if d.startswith("cuda") else "onnxruntime") for d in devices
            },
        },
    }
