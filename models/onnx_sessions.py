"""ONNX Runtime sessions tuned for a pipeline that shares the CPU with its own threads.

A detector on a CPU with several cores runs a batch of frames one frame per core
(:class:`FrameParallelSession`): small detectors leave cores idle within one
frame, so several frames at once do more per second than one frame on all cores
(``docs/cpu-runtimes.md``). A single frame, as a live source sends them, still
gets every core.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from models.errors import InvalidWeightsError

CPU_PROVIDER = "CPUExecutionProvider"
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


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
    providers: Sequence[Any] = (CPU_PROVIDER,),
    *,
    threads: int | None = None,
    profile_prefix: str | None = None,
) -> Any:
    """An ONNX Runtime session with one intra-op thread per usable core and no spinning.

    Args:
        path: The ONNX file.
        providers: Execution providers in order of preference.
        threads: Intra-op threads; by default one per usable core.
        profile_prefix: Record ONNX Runtime's own profile, written by
            ``session.end_profiling()`` to a JSON file starting with this.

    Returns:
        The ``onnxruntime.InferenceSession``.

    Raises:
        InvalidWeightsError: ``path`` is not an ONNX model (not a protobuf, or no graph).
    """
    import onnxruntime as ort
    from onnxruntime.capi.onnxruntime_pybind11_state import (
        InvalidArgument,
        InvalidGraph,
        InvalidProtobuf,
    )

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # An explicit count: ONNX Runtime then does not pin its threads to cores,
    # which on a shared 2-vCPU machine stalls a pinned thread behind the
    # decoder, encoder and tracker threads.
    options.intra_op_num_threads = threads or usable_cpus()
    options.inter_op_num_threads = 1
    # Spin-waiting workers burn the cores that the pipeline's decoder, tracker
    # and encoder threads need; measured on 2 vCPUs with YOLO11n: about 4 %
    # slower alone, much faster end to end and under load.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
    except (InvalidProtobuf, InvalidGraph, InvalidArgument) as exc:
        # What ONNX Runtime says after its own "Load model from PATH failed:".
        reason = str(exc).rpartition("failed:")[2].strip().rstrip(".") or type(exc).__name__
        raise InvalidWeightsError(
            f"{path} is not a valid ONNX model (ONNX Runtime: {reason})."
        ) from exc


class FrameParallelSession:
    """One ONNX model that runs one frame on every core, or several frames one per core.

    On a CPU with several usable cores it holds, beside the all-core session,
    one single-threaded session per core: :func:`run_frames` splits a batch of
    frames among them, each on its own thread (ONNX Runtime releases the GIL
    while it runs). Measured on the 2-vCPU development machine, YOLOX-Nano's
    inference did 1.74 times as many frames a second as one frame at a time on both
    cores; its depthwise convolutions keep a second core idle much of a frame.
    On a GPU, or with one core, it is the plain session.

    Attributes:
        session: The all-core session (single frames; what the profiler swaps).
        workers: Frames it runs at once: the usable cores on a CPU, else 1.
    """

    def __init__(self, path: str | Path, providers: Sequence[Any] = (CPU_PROVIDER,)) -> None:
        self.session = onnx_session(path, providers)
        cpu_only = all((p if isinstance(p, str) else p[0]) == CPU_PROVIDER for p in providers)
        self.workers = usable_cpus() if cpu_only else 1
        self._per_core = [
            onnx_session(path, providers, threads=1) for _ in range(self.workers)
        ] if self.workers > 1 else []  # fmt: skip
        self._pool = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-frames")
            if self._per_core
            else None
        )

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_inputs, run, get_providers...) is the all-core session's.
        if name == "session":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.session, name)

    def run_each(self, feeds: Sequence[dict[str, np.ndarray]]) -> list[np.ndarray]:
        """The first output for each feed, the feeds split among the per-core sessions."""
        if self._pool is None or len(feeds) < 2:
            return [self.session.run(None, feed)[0] for feed in feeds]
        runners = [functools.partial(_first_output, session) for session in self._per_core]
        return run_split(self._pool, runners, feeds)


def _first_output(session: Any, feed: dict[str, np.ndarray]) -> np.ndarray:
    return session.run(None, feed)[0]


def run_split(
    pool: ThreadPoolExecutor, runners: Sequence[Callable[[ItemT], ResultT]], items: Sequence[ItemT]
) -> list[ResultT]:
    """Each item through one of ``runners``, the runners at once on ``pool``, results in order.

    The n-th runner takes every n-th item, in its own thread: a runner (a
    single-threaded session) is never called from two threads at once.

    Example:
        >>> with ThreadPoolExecutor(2) as pool:
        ...     run_split(pool, [lambda x: ("a", x), lambda x: ("b", x)], [1, 2, 3])
        [('a', 1), ('b', 2), ('a', 3)]
    """
    shares = [range(i, len(items), len(runners)) for i in range(len(runners))]

    def run_share(n: int) -> list[tuple[int, ResultT]]:
        return [(i, runners[n](items[i])) for i in shares[n]]

    results: list[Any] = [None] * len(items)
    for part in pool.map(run_share, range(len(runners))):
        for i, result in part:
            results[i] = result
    return results


def run_frames(session: Any, feeds: Sequence[dict[str, np.ndarray]]) -> list[np.ndarray]:
    """The first output of ``session`` for each feed: at once where it can, else in turn.

    Args:
        session: A :class:`FrameParallelSession`, or any ONNX Runtime session (the
            profiler's, say), which runs the feeds one after the other.
        feeds: One input dict per frame.

    Returns:
        One output array per feed, in order.
    """
    if isinstance(session, FrameParallelSession):
        return session.run_each(feeds)
    return [session.run(None, feed)[0] for feed in feeds]


def frames_at_once(model: Any) -> int:
    """How many frames ``model`` runs at once (the CPU batch size it is best fed).

    ``model`` is a :class:`FrameParallelSession`, an
    :class:`~models.openvino_models.OpenVinoModel` (both have ``workers``), or
    any other session, which runs one frame at a time.
    """
    return int(getattr(model, "workers", 1))
