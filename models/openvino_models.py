"""OpenVINO models compiled for a pipeline that shares the CPU with its own threads.

The same settings as :func:`models.onnx_sessions.onnx_session`, for the same
reasons: one inference thread per usable core, and no pinning of those threads
to cores (a pinned thread stalls behind the decoder, tracker and encoder threads
on a shared 2-vCPU machine: measured here, pinning made YOLOX-Nano half as fast).
Like :class:`~models.onnx_sessions.FrameParallelSession`, a model also runs
several frames at once, one per core.

Precision is float32, or bfloat16 (``"bf16"``) on a CPU with bfloat16
instructions (AVX-512 BF16 or AMX): weights and activations in bfloat16,
sums in float32. OpenVINO would pick bfloat16 by itself on such a CPU; here it
is asked for by name, so that ``"fp32"`` always means float32.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from models.errors import ModelError
from models.onnx_sessions import run_split, usable_cpus
from models.runtimes import BF16, FLOAT
from models.weights import cache_dir

#: Where OpenVINO keeps compiled models (under :func:`models.weights.cache_dir`): compiling
#: a quantized model takes seconds, loading its compiled blob a fraction of that.
COMPILED_CACHE_FOLDER = "openvino-compiled"


#: OpenVINO's name of each precision a runtime name carries.
PRECISION_HINTS = {FLOAT: "f32", BF16: "bf16"}


def openvino_installed() -> bool:
    """Whether the ``openvino`` package can be imported."""
    return importlib.util.find_spec("openvino") is not None


@functools.cache
def bf16_supported() -> bool:
    """Whether OpenVINO runs bfloat16 natively on this CPU (else it would run float32)."""
    if not openvino_installed():
        return False
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoModel:
    """A model (ONNX or OpenVINO IR file) compiled for the CPU, called like a session.

    With several usable cores it is compiled twice over: once on every core,
    for single frames, and once per core on one thread, for :meth:`run_each`.

    Attributes:
        path: The file it was compiled from.
        precision: ``"fp32"`` or ``"bf16"``.
        compiled: The ``openvino.CompiledModel`` on every core.
        workers: Frames it runs at once: the usable cores.
        input_shape: The first input's shape (-1 where dynamic).
        output_shape: The first output's shape (-1 where dynamic).
    """

    def __init__(self, path: str | Path, precision: str = FLOAT) -> None:
        """Compile the model at ``path``.

        Raises:
            ModelError: ``precision`` is bf16 and the CPU has no bfloat16
                instructions, or a precision OpenVINO has no name for.
        """
        import openvino as ov

        if precision not in PRECISION_HINTS:
            raise ModelError(f"OpenVINO runs {', '.join(PRECISION_HINTS)}, not {precision!r}.")
        if precision == BF16 and not bf16_supported():
            raise ModelError(
                "This CPU has no bfloat16 instructions (AVX-512 BF16 or AMX): "
                "OpenVINO would run float32 and call it bf16."
            )
        self.path = Path(path)
        self.precision = precision
        core = ov.Core()
        model = core.read_model(str(path))

        def compiled(threads: int) -> Any:
            return core.compile_model(
                model,
                "CPU",
                {
                    "PERFORMANCE_HINT": "LATENCY",
                    "INFERENCE_NUM_THREADS": threads,
                    "ENABLE_CPU_PINNING": False,
                    "INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision],
                    "CACHE_DIR": str(cache_dir() / COMPILED_CACHE_FOLDER),
                },
            )

        self.workers = usable_cpus()
        self.compiled = compiled(self.workers)
        self._request = self.compiled.create_infer_request()
        # One single-threaded request per core for several frames at once: as
        # with ONNX Runtime, small networks leave a second core idle much of a frame.
        self._per_core = (
            [compiled(1).create_infer_request() for _ in range(self.workers)]
            if self.workers > 1
            else []
        )
        self._pool = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="openvino-frames")
            if self._per_core
            else None
        )
        self.input_shape = _shape(self.compiled.input(0).get_partial_shape())
        self.output_shape = _shape(self.compiled.output(0).get_partial_shape())

    def run(self, blob: Any) -> Any:
        """The first output for ``blob`` (a copy: the request reuses its buffer)."""
        return _infer(self._request, blob)

    def run_each(self, blobs: Sequence[Any]) -> list[Any]:
        """The first output for each blob, the blobs split among the per-core requests."""
        if self._pool is None or len(blobs) < 2:
            return [self.run(blob) for blob in blobs]
        runners = [functools.partial(_infer, request) for request in self._per_core]
        return run_split(self._pool, runners, blobs)


def _infer(request: Any, blob: Any) -> Any:
    request.infer({0: blob})
    return request.get_output_tensor(0).data.copy()


def _shape(partial: Any) -> list[int]:
    return [d.get_length() if d.is_static else -1 for d in partial]
