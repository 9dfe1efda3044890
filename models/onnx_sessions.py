"""ONNX Runtime sessions tuned for a pipeline that shares the CPU with its own threads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def usable_cpus() -> int:
    """The CPUs this process may run on (taskset, cpusets), not the machine's.

    Also what the pipeline's device set-up sizes torch's CPU threads from
    (models never set process-wide thread counts themselves).
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def onnx_session(
    path: str | Path,
    providers: Sequence[Any] = ("CPUExecutionProvider",),
    *,
    profile_prefix: str | None = None,
) -> Any:
    """An ONNX Runtime session with one intra-op thread per usable core and no spinning.

    Args:
        path: The ONNX file.
        providers: Execution providers in order of preference.
        profile_prefix: Record ONNX Runtime's own profile, written by
            ``session.end_profiling()`` to a JSON file starting with this.

    Returns:
        The ``onnxruntime.InferenceSession``.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # An explicit count: ONNX Runtime then does not pin its threads to cores,
    # which on a shared 2-vCPU machine stalls a pinned thread behind the
    # decoder, encoder and tracker threads.
    options.intra_op_num_threads = usable_cpus()
    options.inter_op_num_threads = 1
    # Spin-waiting workers burn the cores that the pipeline's decoder, tracker
    # and encoder threads need; measured on 2 vCPUs with YOLO11n: about 4 %
    # slower alone, much faster end to end and under load.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
