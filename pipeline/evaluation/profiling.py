"""Where a detector's time goes: its top operators by self time, and a Chrome trace.

A detector on ONNX Runtime (YOLOX-Nano, YOLO11's CPU runtime) is profiled with
ONNX Runtime's own profiler, on a fresh session made from the same ONNX file; one
on OpenVINO with OpenVINO's per-layer performance counters, on the same file
compiled afresh with them on; any other (PyTorch: YOLO11's CUDA runtime, DETR,
Grounding DINO) with ``torch.profiler``. Each writes a trace that
``chrome://tracing`` or Perfetto opens.

Example:
    result = profile(DetectionConfig(detector="yolox_nano"), Path("clip.mp4"),
                     Path("/tmp/profile"))
    result["top_ops"][0]["operator"]
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import models
from models.onnx_sessions import onnx_session
from models.openvino_models import OpenVinoModel
from pipeline.configs import ConfigError, DetectionConfig
from pipeline.evaluation.benchmark import fetch_weights_first
from pipeline.io.video import iter_frames
from pipeline.runtime.devices import prepare_devices

#: How many operators the result lists.
TOP_OPS = 15
#: Batches measured before the profile starts (first calls pick kernels, allocate).
WARM_UP_BATCHES = 1


def _onnx_holder(detector: Any) -> Any | None:
    """What runs the detector's ONNX Runtime session (it has ``session`` and ``path``), if any."""
    for holder in (getattr(detector, "network", None), detector):
        if holder is not None and hasattr(holder, "session") and hasattr(holder, "path"):
            return holder
    return None


def _openvino_holder(detector: Any) -> tuple[Any, str] | None:
    """What holds the detector's compiled OpenVINO model, and the attribute it is in, if any.

    YOLOX-Nano keeps it as ``openvino``; the ultralytics models' network as ``model``.
    """
    for holder in (getattr(detector, "network", None), detector):
        for name in ("openvino", "model"):
            if isinstance(getattr(holder, name, None), OpenVinoModel):
                return holder, name
    return None


def profile(
    config: DetectionConfig, video: Path, out_dir: Path, *, batches: int = 3
) -> dict[str, Any]:
    """Profile a few batches of the detector on the video's first frames.

    Args:
        config: The detector, its size, weights, runtime, batch size and device.
        video: The clip.
        out_dir: Where the trace is written.
        batches: Batches profiled (after one to warm up).

    Returns:
        ``profiler`` (``"onnxruntime"``, ``"openvino"`` or ``"torch"``),
        ``runtime`` (the one that ran, e.g. ``"openvino-bf16"``: what ``auto``
        chose), ``batch_size``, ``frames``, ``top_ops``: per operator (its type)
        ``operator``, ``self_ms``, ``calls`` and ``share`` of the profiled self
        time, and ``trace``: the Chrome trace file.

    Raises:
        ConfigError: A bad batch count, or an ONNX model no longer on disk.
        models.ModelError: Unknown model, missing weights.
    """
    if batches < 1:
        raise ConfigError(f"Profile at least one batch, not {batches}.")
    device = prepare_devices(config.devices)[0]
    fetch_weights_first([config])
    # A fresh instance: the profile must not touch one a run may be using.
    detector = models.create("detector", config.detector, device=device, **config.model_options())
    batch = config.batch_size or detector.default_batch_size
    wanted = batch * (batches + WARM_UP_BATCHES)
    images = [frame.image for frame in iter_frames(video, wanted)]
    chunks = [images[i : i + batch] for i in range(0, len(images), batch)]
    queries = detector.validate_queries(config.queries)

    def detect(chunk: list[Any]) -> None:
        detector.detect(chunk, confidence=config.confidence, queries=queries)

    for chunk in chunks[:WARM_UP_BATCHES]:
        detect(chunk)
    measured = chunks[WARM_UP_BATCHES:] or chunks
    out_dir.mkdir(parents=True, exist_ok=True)
    holder = _onnx_holder(detector)
    compiled = _openvino_holder(detector)
    if holder is not None:
        profiler, ops, trace = "onnxruntime", *_onnx_profile(holder, measured, detect, out_dir)
    elif compiled is not None:
        profiler, ops, trace = "openvino", *_openvino_profile(*compiled, measured, detect, out_dir)
    else:
        profiler, ops, trace = "torch", *_torch_profile(device, measured, detect, out_dir)
    total = sum(op["self_ms"] for op in ops) or 1.0
    top = sorted(ops, key=lambda op: op["self_ms"], reverse=True)[:TOP_OPS]
    return {
        "profiler": profiler,
        # A detector on PyTorch alone names no runtime.
        "runtime": getattr(detector, "runtime", None) or "torch",
        "detector": config.detector,
        "device": device,
        "batch_size": batch,
        "frames": sum(len(c) for c in measured),
        "top_ops": [{**op, "share": op["self_ms"] / total} for op in top],
        "trace": str(trace),
    }


def _model_file(path: str | Path | None, runtime: str) -> Path:
    """The file a runtime's model was made from, which the profile makes its own copy from.

    Raises:
        ConfigError: It is gone (random weights are exported to a temporary folder).
    """
    if path is None or not Path(path).is_file():
        raise ConfigError(
            f"This detector's {runtime} model is not on disk (random weights are exported to "
            "memory only): profile it with the torch runtime."
        )
    return Path(path)


def _onnx_profile(
    holder: Any, chunks: list[list[Any]], detect: Any, out_dir: Path
) -> tuple[list[dict[str, Any]], Path]:
    path = _model_file(holder.path, "ONNX")
    original = holder.session
    holder.session = onnx_session(
        path, original.get_providers(), profile_prefix=str(out_dir / "onnxruntime")
    )
    try:
        for chunk in chunks:
            detect(chunk)
        trace = Path(holder.session.end_profiling())
    finally:
        holder.session = original
    by_op: dict[str, dict[str, Any]] = defaultdict(lambda: {"self_ms": 0.0, "calls": 0})
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            op = event.get("args", {}).get("op_name", event["name"])
            by_op[op]["self_ms"] += event.get("dur", 0) / 1000
            by_op[op]["calls"] += 1
    return [{"operator": op, **figures} for op, figures in by_op.items()], trace


def _openvino_profile(
    holder: Any, name: str, chunks: list[list[Any]], detect: Any, out_dir: Path
) -> tuple[list[dict[str, Any]], Path]:
    original: OpenVinoModel = getattr(holder, name)
    # Performance counters are a compile-time setting: the same file compiled with them.
    profiled = OpenVinoModel(
        _model_file(original.path, "OpenVINO"), original.precision, profile=True
    )
    setattr(holder, name, profiled)
    try:
        # Compiled afresh, it too makes its first calls slowly (memory, kernels): not counted.
        for chunk in chunks[:WARM_UP_BATCHES]:
            detect(chunk)
        calls = profiled.profiled
        assert calls is not None
        calls.clear()
        for chunk in chunks:
            detect(chunk)
    finally:
        setattr(holder, name, original)
    by_op: dict[str, dict[str, Any]] = defaultdict(lambda: {"self_ms": 0.0, "calls": 0})
    events: list[dict[str, Any]] = []
    origin = min((call.start_s for call in calls), default=0.0)
    for call in calls:
        start_us = (call.start_s - origin) * 1e6
        events.append({"name": "infer", "cat": "Session", "ph": "X", "ts": start_us,
                       "dur": (call.end_s - call.start_s) * 1e6, "pid": os.getpid(),
                       "tid": call.thread})  # fmt: skip
        # OpenVINO gives each layer's duration, not when it started: the layers are
        # laid end to end from the call's start, in the order they ran.
        at_us = start_us
        for layer in call.layers:
            duration_us = layer.real_time.total_seconds() * 1e6
            if duration_us <= 0:  # not run: folded into another layer, or an input
                continue
            by_op[layer.node_type]["self_ms"] += duration_us / 1000
            by_op[layer.node_type]["calls"] += 1
            events.append({
                "name": layer.node_name, "cat": "Node", "ph": "X", "ts": at_us,
                "dur": duration_us, "pid": os.getpid(), "tid": call.thread,
                "args": {"op_type": layer.node_type, "exec_type": layer.exec_type},
            })  # fmt: skip
            at_us += duration_us
    trace = out_dir / "openvino-trace.json"
    trace.write_text(json.dumps(events))
    return [{"operator": op, **figures} for op, figures in by_op.items()], trace


def _torch_profile(
    device: str, chunks: list[list[Any]], detect: Any, out_dir: Path
) -> tuple[list[dict[str, Any]], Path]:
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    activities = [ProfilerActivity.CPU]
    cuda = device.startswith("cuda")
    if cuda:
        activities.append(ProfilerActivity.CUDA)
    with torch_profile(activities=activities) as prof:
        for chunk in chunks:
            detect(chunk)
        if cuda:
            torch.cuda.synchronize(device)
    trace = out_dir / "torch-trace.json"
    prof.export_chrome_trace(str(trace))
    ops = []
    for event in prof.key_averages():
        self_us = event.self_device_time_total if cuda else event.self_cpu_time_total
        if self_us > 0:
            ops.append({"operator": event.key, "self_ms": self_us / 1000, "calls": event.count})
    return ops, trace
