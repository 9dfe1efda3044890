"""A live view of the hardware: per GPU and for the machine, sampled into a bounded buffer.

One thread samples about once a second: each NVIDIA GPU's utilisation, memory
used, power and temperature (NVML), and the machine's CPU and memory use
(``psutil``). Only the newest samples are kept, so memory stays flat however
long the app runs. Without NVML the GPU part is simply empty.

Example:
    >>> import time
    >>> monitor = HardwareMonitor(interval_s=0.01, max_samples=3).start()
    >>> while len(monitor.samples()) < 3:
    ...     time.sleep(0.01)
    >>> time.sleep(0.05)  # more samples come, the oldest go
    >>> monitor.stop()
    >>> len(monitor.samples()), "cpu_percent" in monitor.samples()[-1]
    (3, True)
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

import psutil

from pipeline.evaluation.hardware import gpu_handles, nvml


def sample() -> dict[str, Any]:
    """One reading of the machine and its GPUs, now.

    Returns:
        ``time`` (seconds since the epoch), ``cpu_percent``,
        ``memory_percent``, ``memory_used_mib`` and ``gpus``: per GPU its
        ``index``, ``utilization_percent``, ``memory_used_mib``,
        ``memory_total_mib``, ``power_w`` and ``temperature_c`` (None where
        the GPU does not report it).
    """
    memory = psutil.virtual_memory()
    return {
        "time": time.time(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": memory.percent,
        "memory_used_mib": round((memory.total - memory.available) / 2**20),
        "gpus": [_gpu_sample(i, handle) for i, handle in enumerate(gpu_handles())],
    }


def _gpu_sample(index: int, handle: Any) -> dict[str, Any]:
    lib = nvml()
    assert lib is not None

    def read(call: Any, *args: Any) -> Any:
        try:
            return call(handle, *args)
        except lib.NVMLError:  # not every GPU reports everything (power on some boards)
            return None

    utilization = read(lib.nvmlDeviceGetUtilizationRates)
    memory = read(lib.nvmlDeviceGetMemoryInfo)
    power = read(lib.nvmlDeviceGetPowerUsage)
    return {
        "index": index,
        "utilization_percent": None if utilization is None else utilization.gpu,
        "memory_used_mib": None if memory is None else round(memory.used / 2**20),
        "memory_total_mib": None if memory is None else round(memory.total / 2**20),
        "power_w": None if power is None else round(power / 1000, 1),
        "temperature_c": read(lib.nvmlDeviceGetTemperature, lib.NVML_TEMPERATURE_GPU),
    }


class HardwareMonitor:
    """Samples the hardware in a thread of its own into a bounded buffer.

    Args:
        interval_s: Time between two samples.
        max_samples: How many of the newest samples are kept.
    """

    def __init__(self, interval_s: float = 1.0, max_samples: int = 300) -> None:
        if interval_s <= 0 or max_samples < 1:
            raise ValueError("the monitor needs a positive interval and room for a sample")
        self.interval_s = interval_s
        self._samples: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_samples)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HardwareMonitor:
        """Start sampling (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                psutil.cpu_percent(interval=None)  # the first reading only sets the baseline
                self._thread = threading.Thread(target=self._run, name="hw-monitor", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            reading = sample()
            with self._lock:
                self._samples.append(reading)

    def samples(self, since: float | None = None) -> list[dict[str, Any]]:
        """The kept samples, oldest first (only those after ``since``, when given)."""
        with self._lock:
            kept = list(self._samples)
        return kept if since is None else [s for s in kept if s["time"] > since]

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
