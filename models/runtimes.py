"""Which runtime runs a detector's network, and how ``runtime="auto"`` chooses one.

A runtime name is an engine, optionally with a precision: ``"onnxruntime"``
(float32), ``"onnxruntime-int8"`` (the same engine on a statically quantized
model), ``"openvino"``... Each detector declares the runtimes it can use in its
registry entry (``runtimes=``); one that declares none runs on PyTorch only and
takes ``"auto"`` and ``"torch"``. A runtime a model cannot use is one clear
error naming those it can (:func:`check_runtime`).

``"auto"`` on a CPU measures the runtimes a model offers there (a few calls on
one frame of a bundled clip per usable core each, as a run of a file feeds
them: :func:`measured_batch`; interleaved) at its first load and keeps the
fastest for the process (:func:`fastest`); on a GPU it keeps each detector's
GPU default, unmeasured. ``$VIDEO_APP_MEASURE_RUNTIMES=false`` skips the
measurement: ``"auto"`` then takes the first CPU runtime the model lists (ONNX
Runtime float32), as before there was a choice.

Example:
    >>> split_runtime("onnxruntime-int8")
    ('onnxruntime', 'int8')
    >>> split_runtime("openvino")
    ('openvino', 'fp32')
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from models.errors import ModelError

AUTO = "auto"
#: The precision of a runtime name without a suffix.
FLOAT = "fp32"
INT8 = "int8"
BF16 = "bf16"
#: What a detector that declares no runtimes takes (it runs on PyTorch).
TORCH_ONLY = (AUTO, "torch")
MEASURE_ENV_VAR = "VIDEO_APP_MEASURE_RUNTIMES"
#: Calls per runtime per round, and rounds, of the ``auto`` measurement; the
#: rounds interleave the runtimes so that a burst of load on a shared machine
#: hits them all alike.
MEASURE_CALLS = 3
MEASURE_ROUNDS = 3

log = logging.getLogger(__name__)
_CHOICES: dict[Hashable, str] = {}
_CHOICES_LOCK = threading.Lock()


class InvalidRuntimeError(ModelError, ValueError):
    """A runtime the model cannot use (or no runtime at all)."""


def split_runtime(runtime: str) -> tuple[str, str]:
    """A runtime name's engine and precision (``"fp32"`` when it names none)."""
    engine, _, precision = runtime.partition("-")
    return engine, precision or FLOAT


def runtimes_for(kind: str, name: str) -> tuple[str, ...]:
    """The runtimes a registered model takes, ``"auto"`` first.

    Example:
        >>> runtimes_for("detector", "yolox_nano")[:3]
        ('auto', 'onnxruntime', 'onnxruntime-int8')
    """
    from models.registry import spec

    return tuple(spec(kind, name).extra.get("runtimes", TORCH_ONLY))


def known_runtimes() -> tuple[str, ...]:
    """Every runtime some registered detector takes, ``"auto"`` first (the CLI's choices)."""
    from models.registry import available

    names = {r for name in available("detector") for r in runtimes_for("detector", name)}
    return (AUTO, *sorted(names - {AUTO}))


def check_runtime(label: str, runtime: str, offered: Sequence[str]) -> str:
    """``runtime`` itself when the model offers it.

    Args:
        label: The model's display name, for the message.
        runtime: The runtime asked for.
        offered: The runtimes the model takes.

    Returns:
        ``runtime``.

    Raises:
        InvalidRuntimeError: The model cannot use it; the message names those it can.
    """
    if runtime not in offered:
        raise InvalidRuntimeError(
            f"{label} cannot run on {runtime!r}; it runs on: {', '.join(offered)}."
        )
    return runtime


def measuring() -> bool:
    """Whether ``"auto"`` measures the runtimes (``$VIDEO_APP_MEASURE_RUNTIMES``, default true)."""
    return os.environ.get(MEASURE_ENV_VAR, "true").strip().lower() not in ("0", "false", "no")


def fastest(
    key: Hashable,
    candidates: Sequence[str],
    build: Callable[[str], Callable[[], Any] | None],
) -> str:
    """The fastest of ``candidates``, measured once per ``key`` and kept for the process.

    Args:
        key: What the choice holds for (model, weights, input size, device).
        candidates: Runtimes to try, the default first (taken unmeasured when
            measuring is off, when only one can be built, and on ties).
        build: Builds a runtime and returns one call of it (None: it cannot
            run here, e.g. a package is missing).

    Returns:
        The runtime chosen.
    """
    with _CHOICES_LOCK:
        if key in _CHOICES:
            return _CHOICES[key]
        choice = candidates[0]
        if measuring() and len(candidates) > 1:
            calls = {name: call for name in candidates if (call := build(name)) is not None}
            if calls:
                seconds = _interleaved_seconds(calls)
                choice = min(calls, key=lambda name: (seconds[name], name != candidates[0]))
                log.info("runtime auto: %s (%s)", choice, ", ".join(
                    f"{name} {1 / seconds[name]:.1f}/s" for name in calls))  # fmt: skip
        _CHOICES[key] = choice
        return choice


def measured_batch(frame: Any) -> list[Any]:
    """The frames one measured call of ``auto`` takes: ``frame`` once per usable core.

    A run of a file feeds a CPU detector that many frames at a time, which ONNX
    Runtime runs at once (:class:`models.onnx_sessions.FrameParallelSession`);
    measured on one frame, a runtime that runs frames in turn could win ``auto``
    and lose every file.
    """
    from models.onnx_sessions import usable_cpus

    return [frame] * usable_cpus()


def forget_choices() -> None:
    """Forget every ``auto`` choice (tests; a machine whose load changed for good)."""
    with _CHOICES_LOCK:
        _CHOICES.clear()


def _interleaved_seconds(calls: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Median seconds per call of each runtime, after one warm-up call each."""
    for call in calls.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(MEASURE_ROUNDS):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(MEASURE_CALLS):
                call()
            samples[name].append((time.perf_counter() - start) / MEASURE_CALLS)
    return {name: statistics.median(values) for name, values in samples.items()}
