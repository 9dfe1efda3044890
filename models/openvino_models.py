"""OpenVINO models compiled for a pipeline that shares the CPU with its own threads.

The same settings as :func:`models.onnx_sessions.onnx_session`, for the same
reasons: one inference thread per usable core, and no pinning of those threads
to cores (a pinned thread stalls behind the decoder, tracker and encoder threads
on a shared 2-vCPU machine: measured here, pinning made YOLOX-Nano half as fast).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from models.onnx_sessions import usable_cpus
from models.weights import cache_dir

#: Where OpenVINO keeps compiled models (under :func:`models.weights.cache_dir`): compiling
#: a quantized model takes seconds, loading its compiled blob a fraction of that.
COMPILED_CACHE_FOLDER = "openvino-compiled"


def openvino_installed() -> bool:
    """Whether the ``openvino`` package can be imported."""
    return importlib.util.find_spec("openvino") is not None


class OpenVinoModel:
    """A model (ONNX or OpenVINO IR file) compiled for the CPU, called like a session.

    Attributes:
        path: The file it was compiled from.
        compiled: The ``openvino.CompiledModel``.
        input_shape: The first input's shape (-1 where dynamic).
        output_shape: The first output's shape (-1 where dynamic).
    """

    def __init__(self, path: str | Path) -> None:
        import openvino as ov

        self.path = Path(path)
        core = ov.Core()
        self.compiled = core.compile_model(
            core.read_model(str(path)),
            "CPU",
            {
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_NUM_THREADS": usable_cpus(),
                "ENABLE_CPU_PINNING": False,
                # Else OpenVINO picks bf16 on CPUs that have it (AVX-512 BF16 here):
                # boxes off by pixels and scores by percents, which "fp32" must not be.
                "INFERENCE_PRECISION_HINT": "f32",
                "CACHE_DIR": str(cache_dir() / COMPILED_CACHE_FOLDER),
            },
        )
        self._request = self.compiled.create_infer_request()
        self.input_shape = _shape(self.compiled.input(0).get_partial_shape())
        self.output_shape = _shape(self.compiled.output(0).get_partial_shape())

    def run(self, blob: Any) -> Any:
        """The first output for ``blob`` (a copy: the request reuses its buffer)."""
        self._request.infer({0: blob})
        return self._request.get_output_tensor(0).data.copy()


def _shape(partial: Any) -> list[int]:
    return [d.get_length() if d.is_static else -1 for d in partial]
