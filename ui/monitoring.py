"""The app's hardware monitor: started once, at the first look, shared by the tab and the API."""

from __future__ import annotations

import functools

from pipeline.evaluation.monitor import HardwareMonitor

#: One sample a second, the last five minutes.
SAMPLE_INTERVAL_S = 1.0
KEPT_SAMPLES = 300


@functools.cache
def app_monitor() -> HardwareMonitor:
    """The process's monitor, sampling from its first use on."""
    return HardwareMonitor(SAMPLE_INTERVAL_S, KEPT_SAMPLES).start()
