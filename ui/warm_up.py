"""Loading the default detector while the app starts, so the first visitor does not wait.

On a CPU, ``runtime="auto"`` measures the runtimes a detector offers at its first load and
may build an int8 model first (:mod:`models.runtimes`, :mod:`models.int8`): seconds of work
that would otherwise fall on the first person to press Run. ``python app.py`` starts this
in a background thread before it serves; the first run then finds the instance in the
shared cache (:func:`models.get_cached`, the same key a run uses) or waits for the load
already under way instead of starting its own. Off with ``VIDEO_APP_WARM_UP=false``; on a
GPU (or ZeroGPU, where no GPU is attached outside a call) ``auto`` measures nothing, so
nothing is loaded ahead.

Example:
    thread = warm_up(Settings.from_env())  # None when off or on a GPU
"""

from __future__ import annotations

import logging
import threading

import models
from pipeline import DetectionConfig
from pipeline.runtime.devices import resolve_devices
from ui.settings import Settings
from ui.zerogpu import on_zero_gpu

log = logging.getLogger(__name__)


def warm_up(settings: Settings) -> threading.Thread | None:
    """Start loading the default detector on the CPU in a daemon thread.

    Args:
        settings: The app's settings (``warm_up``).

    Returns:
        The thread, or None when there is nothing to warm up (off, a GPU, ZeroGPU).
    """
    if not settings.warm_up or on_zero_gpu() or resolve_devices(()) != ["cpu"]:
        return None
    thread = threading.Thread(target=_load_default_detector, name="warm-up", daemon=True)
    thread.start()
    return thread


def _load_default_detector() -> None:
    config = DetectionConfig(detector=models.default_detector())
    try:
        detector = models.get_cached(
            "detector", config.detector, device="cpu", **config.model_options()
        )
    except Exception as exc:  # noqa: BLE001 - a run will report it where a user sees it
        log.warning("warm-up: %s not loaded ahead (%s)", config.detector, exc)
        return
    log.info("warm-up: %s loaded (%s)", config.detector, detector.info().get("runtime", "torch"))
