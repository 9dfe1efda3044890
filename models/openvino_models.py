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
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from models.errors import InvalidWeightsError, ModelError
from models.onnx_sessions import run_split, usable_cpus
from models.runtimes import BF16, FLOAT, split_runtime
from models.weights import cache_dir

#: Where OpenVINO keeps compiled models (under :func:`models.weights.cache_dir`): compiling
#: a quantized model takes seconds, loading its compiled blob a fraction of that.
COMPILED_CACHE_FOLDER = "openvino-compiled"


#: Input shapes a model of dynamic shape keeps compiled: a run's letterbox, and one more
#: (``auto``'s measurement, a second run of another size).
SHAPES_KEPT = 2
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


def precision_runs_here(runtime: str) -> bool:
    """Whether this CPU runs ``runtime``'s precision: bf16 only with bfloat16 instructions.

    Example:
        >>> precision_runs_here("openvino"), precision_runs_here("onnxruntime-int8")
        (True, True)
    """
    return split_runtime(runtime)[1] != BF16 or bf16_supported()


class ProfiledCall(NamedTuple):
    """One inference of a model compiled with performance counters (``profile=True``).

    Attributes:
        start_s: When it started (``time.perf_counter``).
        end_s: When it ended.
        thread: The thread that made it.
        layers: OpenVINO's ``ProfilingInfo`` per layer of the compiled model, in
            execution order: ``node_name``, ``node_type``, ``exec_type``,
            ``status`` and ``real_time`` (a ``timedelta``).
    """

    start_s: float
    end_s: float
    thread: int
    layers: list[Any]


class OpenVinoModel:
    """A model (ONNX or OpenVINO IR file) compiled for the CPU, called like a session.

    With several usable cores it is compiled twice over: once on every core,
    for single frames, and once per core on one thread, for :meth:`run_each`.
    A model whose input shape is dynamic (ultralytics' export: any frame size)
    is compiled again for each input shape it is given, as a static model: a
    fixed shape lets OpenVINO choose its kernels for it (YOLO11n's inference
    1.07 times as fast in float32, 1.18 times in bfloat16, measured here). A run's
    letterbox has one shape, so that costs one compilation per run (a few
    tenths of a second, cached on disk); the last :data:`SHAPES_KEPT` shapes
    stay compiled.

    Attributes:
        path: The file it was compiled from.
        precision: ``"fp32"`` or ``"bf16"``.
        compiled: The ``openvino.CompiledModel`` on every core, of the file's own
            (maybe dynamic) shape.
        workers: Frames it runs at once: the usable cores.
        input_shape: The first input's shape (-1 where dynamic).
        output_shape: The first output's shape (-1 where dynamic).
        profiled: With ``profile=True``, each inference's per-layer times, in
            the order they ended (else None).
    """

    def __init__(self, path: str | Path, precision: str = FLOAT, *, profile: bool = False) -> None:
        """Compile the model at ``path``; with ``profile``, with its performance counters on.

        Raises:
            ModelError: ``precision`` is bf16 and the CPU has no bfloat16
                instructions, or a precision OpenVINO has no name for.
            InvalidWeightsError: ``path`` is no model OpenVINO can read.
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
        self.profiled: list[ProfiledCall] | None = [] if profile else None
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(path))
        except RuntimeError as exc:  # OpenVINO says only that no frontend could read it
            raise InvalidWeightsError(
                f"{path} is not a model OpenVINO can read (an ONNX or OpenVINO IR file)."
            ) from exc
        self.workers = usable_cpus()
        self.compiled = self._compile(self._model, self.workers)
        self.input_shape = _shape(self.compiled.input(0).get_partial_shape())
        self.output_shape = _shape(self.compiled.output(0).get_partial_shape())
        # A dynamic input shape is compiled per shape given (_for); a static one, now.
        dynamic = -1 in self.input_shape
        self._static = None if dynamic else self._requests(self.compiled, self._model)
        self._by_shape: OrderedDict[tuple[int, ...], _Requests] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="openvino-frames")
            if self.workers > 1
            else None
        )

    @property
    def compiled_shapes(self) -> list[tuple[int, ...]]:
        """The input shapes compiled for a dynamic model (oldest first); empty for a static one."""
        return list(self._by_shape)

    def run(self, blob: Any) -> Any:
        """The first output for ``blob`` (a copy: the request reuses its buffer)."""
        return self._infer(self._for(blob.shape).request, blob)

    def run_each(self, blobs: Sequence[Any]) -> list[Any]:
        """The first output for each blob, the blobs split among the per-core requests."""
        shapes = {tuple(blob.shape) for blob in blobs}
        if self._pool is None or len(blobs) < 2 or len(shapes) > 1:
            return [self.run(blob) for blob in blobs]
        per_core = self._for(blobs[0].shape).per_core
        return run_split(self._pool, [functools.partial(self._infer, r) for r in per_core], blobs)

    def _infer(self, request: Any, blob: Any) -> Any:
        if self.profiled is None:
            return _infer(request, blob)
        start = time.perf_counter()
        output = _infer(request, blob)
        # The counters hold the request's last inference only: read after each one.
        end = time.perf_counter()
        self.profiled.append(
            ProfiledCall(start, end, threading.get_ident(), request.profiling_info)
        )
        return output

    def _compile(self, model: Any, threads: int) -> Any:
        settings = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "ENABLE_CPU_PINNING": False,
            "INFERENCE_PRECISION_HINT": PRECISION_HINTS[self.precision],
            "CACHE_DIR": str(cache_dir() / COMPILED_CACHE_FOLDER),
        }
        if self.profiled is not None:
            settings["PERF_COUNT"] = "YES"
        return self._core.compile_model(model, "CPU", settings)

    def _requests(self, compiled: Any, model: Any) -> _Requests:
        # One single-threaded request per core for several frames at once: as
        # with ONNX Runtime, small networks leave a second core idle much of a frame.
        per_core = [
            self._compile(model, 1).create_infer_request() for _ in range(self.workers)
        ] if self.workers > 1 else []  # fmt: skip
        return _Requests(compiled.create_infer_request(), per_core)

    def _for(self, shape: Sequence[int]) -> _Requests:
        """The requests of ``shape``: compiled for it when the model's shape is dynamic."""
        if self._static is not None:
            return self._static
        key = tuple(int(d) for d in shape)
        with self._lock:
            if key not in self._by_shape:
                model = self._model.clone()
                model.reshape(list(key))
                self._by_shape[key] = self._requests(self._compile(model, self.workers), model)
                while len(self._by_shape) > SHAPES_KEPT:
                    self._by_shape.popitem(last=False)
            self._by_shape.move_to_end(key)
            return self._by_shape[key]


class _Requests(NamedTuple):
    """A compiled model's inference requests: one on every core, one per core alone."""

    request: Any
    per_core: list[Any]


#: OpenVINO's Python binding sets up state of its own at the first inference of the
#: process while holding the GIL: two threads making that first call at once can
#: deadlock (one waits for the GIL inside the set-up, the other holds the GIL and waits
#: for the set-up). Seen in CI, and in 9 of 30 runs of four threads starting together;
#: none once one call had been made alone. The first call is made alone.
_FIRST_CALL = threading.Lock()
_FIRST_CALL_MADE = threading.Event()


def _infer(request: Any, blob: Any) -> Any:
    if not _FIRST_CALL_MADE.is_set():
        with _FIRST_CALL:
            output = _infer_once(request, blob)
            _FIRST_CALL_MADE.set()
            return output
    return _infer_once(request, blob)


def _infer_once(request: Any, blob: Any) -> Any:
    request.infer({0: blob})
    return request.get_output_tensor(0).data.copy()


def _shape(partial: Any) -> list[int]:
    return [d.get_length() if d.is_static else -1 for d in partial]
