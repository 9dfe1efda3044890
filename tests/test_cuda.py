"""The CUDA paths: fp16/bf16 (SAM 2 too), pinned transfers, the pool on a GPU. Skipped without CUDA.

CI has no GPU and the test set-up hides CUDA (``CUDA_VISIBLE_DEVICES=""``). On a
machine with one, run ``CUDA_VISIBLE_DEVICES=0 python -m pytest tests/test_cuda.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
import torch
from synthetic import make_video
from test_cpu_fast_path import (  # noqa: F401 - fixtures shared with the CPU parity tests
    CONFIDENCE,
    IMGSZ,
    frames,
    seeded_weights,
)
from test_detectors import tiny_detr, tiny_grounding_dino  # noqa: F401 - fixtures
from test_realtime_detr import FAMILIES, tiny_weights  # noqa: F401 - fixture

import models
from models.detectors import yolo_networks
from pipeline import DepthConfig, start
from pipeline.configs import DetectionConfig, SegmentationConfig
from pipeline.runtime.events import Done

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CUDA = "cuda:0"


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("cuda-video") / "shapes.mp4", frames=24)


def create_yolo(weights: Path | str, **options: object) -> models.Detector:
    return models.create(
        "detector", "yolo11", device=CUDA, weights=str(weights), imgsz=IMGSZ, **options
    )


def test_direct_torch_on_cuda_matches_the_predictor_in_fp16(
    frames: list[np.ndarray],  # noqa: F811
    seeded_weights: Path,  # noqa: F811
) -> None:
    direct = create_yolo(seeded_weights, runtime="torch")
    network = direct.network
    assert isinstance(network, yolo_networks.TorchYolo)
    assert network.half and network.uploader.pin_memory and network.static_batch == 8
    assert next(network.network.parameters()).dtype == torch.float16
    # Static shapes are the predictor's full-square letterbox (rect=False).
    reference = create_yolo(seeded_weights, runtime="ultralytics").model
    results = reference.predict(
        frames, rect=False, conf=CONFIDENCE, imgsz=IMGSZ, device=CUDA, quantize=16, verbose=False
    )
    expected = [sv.Detections.from_ultralytics(r) for r in results]
    actual = direct.detect(frames, confidence=CONFIDENCE)
    assert sum(len(d) for d in expected) >= 20
    for want, got in zip(expected, actual, strict=True):
        assert_agree_in_fp16(want, got)
    # One padded shape, one pinned staging buffer and one graph, whatever the batch.
    staging = network.uploader.buffer
    assert staging is not None and staging.is_pinned() and staging.shape[0] == 8
    direct.detect(frames[:1], confidence=CONFIDENCE)
    assert network.uploader.buffer is staging
    assert network.cuda_graphs and list(network._graphs) == [(8, 3, IMGSZ, IMGSZ)]


def assert_agree_in_fp16(expected: sv.Detections, actual: sv.Detections) -> None:
    """Each box clearly above the threshold on one side has its twin on the other.

    fp16 rounding differs between batch shapes, so boxes scored at the threshold
    may pass on one side only; those are not compared.
    """
    clear = CONFIDENCE + 0.01
    for one, other in ((expected, actual), (actual, expected)):
        for box, score, name in zip(one.xyxy, one.confidence, one.data["class_name"], strict=True):
            if score < clear:
                continue
            same_class = other.data["class_name"] == name
            assert same_class.any(), f"no {name} box for {box}"
            distance = np.abs(other.xyxy[same_class] - box).max(axis=1)
            best = int(np.argmin(distance))
            assert distance[best] <= 2.0
            assert abs(other.confidence[same_class][best] - score) <= 5e-3


def test_cuda_graphs_give_the_eager_detections(
    frames: list[np.ndarray],  # noqa: F811
    seeded_weights: Path,  # noqa: F811
) -> None:
    graphs = create_yolo(seeded_weights, runtime="torch")
    eager = create_yolo(seeded_weights, runtime="torch", cuda_graphs=False)
    assert graphs.network.cuda_graphs and not eager.network.cuda_graphs
    for _ in range(2):  # the second call replays the graph captured by the warm-up
        for want, got in zip(
            eager.detect(frames, confidence=CONFIDENCE),
            graphs.detect(frames, confidence=CONFIDENCE),
            strict=True,
        ):
            assert_agree_in_fp16(want, got)
    # Another batch shape runs eagerly in between (and rebuilds the head's
    # anchors); the captured graph must still give the same detections.
    eager.network.cuda_graphs = graphs.network.cuda_graphs = False
    graphs.detect(frames * 3, confidence=CONFIDENCE)
    graphs.network.cuda_graphs = True
    for want, got in zip(
        eager.detect(frames, confidence=CONFIDENCE),
        graphs.detect(frames, confidence=CONFIDENCE),
        strict=True,
    ):
        assert_agree_in_fp16(want, got)


def test_auto_runtime_on_cuda_is_direct_torch_warmed_up() -> None:
    detector = models.create("detector", "yolo11", device=CUDA, weights="yolo11n.yaml", imgsz=64)
    assert detector.runtime == "torch" and detector.default_batch_size == 8
    assert list(detector.network._graphs) == [(8, 3, 64, 64)]


def test_detection_run_on_cuda_with_object_depth(
    video: Path, tiny_depth_weights: Path, tmp_path: Path
) -> None:
    config = DetectionConfig(
        detector="yolo11",
        weights="yolo11n.yaml",
        devices=("cuda",),
        confidence=0.0,
        depth=True,
        depth_weights=str(tiny_depth_weights),
    )
    events = list(
        start(video, config, {"video": tmp_path / "o.mp4", "tracks": tmp_path / "o.json"})
    )
    done = events[-1]
    assert isinstance(done, Done)
    assert done.summary.frames == 24 and done.summary.devices == [CUDA]
    assert done.summary.model["runtime"] == "torch"
    assert {"inference", "depth_inference", "encode"} <= set(done.summary.timing_s)
    tracks = json.loads(done.outputs["tracks"].read_text())
    assert len(tracks["frames"]) == 24


def test_pool_of_a_gpu_and_the_cpu_keeps_frame_order(video: Path, tmp_path: Path) -> None:
    config = DetectionConfig(
        detector="test_shapes",
        devices=(CUDA, "cpu"),
        batch_size=2,
        detector_options=(("delay_s", 0.01),),
    )
    *_, done = start(video, config, {"video": tmp_path / "p.mp4", "tracks": tmp_path / "p.json"})
    assert done.summary.frames == 24
    assert sum(done.summary.frames_per_device.values()) == 24
    assert set(done.summary.frames_per_device) == {CUDA, "cpu"}
    indices = [f["frame"] for f in json.loads(done.outputs["tracks"].read_text())["frames"]]
    assert indices == sorted(indices) == list(range(24))


def test_depth_fp16_on_cuda_agrees_with_fp32_on_cpu(tiny_depth_weights: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    on_cpu = models.create("depth", "depth_anything_v2", weights=str(tiny_depth_weights),
                           device="cpu")  # fmt: skip
    on_gpu = models.create("depth", "depth_anything_v2", weights=str(tiny_depth_weights),
                           device=CUDA)  # fmt: skip
    assert on_gpu.half and not on_cpu.half
    [want], [got] = on_cpu.predict([image]), on_gpu.predict([image])
    assert got.shape == want.shape == (96, 128)
    assert np.abs(got - want).max() <= 0.05 * max(float(np.abs(want).max()), 1e-6)


def test_depth_run_on_cuda(video: Path, tiny_depth_weights: Path, tmp_path: Path) -> None:
    config = DepthConfig(weights=str(tiny_depth_weights), devices=("cuda",))
    *_, done = start(video, config, {"video": tmp_path / "d.mp4"})
    assert done.summary.frames == 24


@pytest.mark.parametrize("name", ["detr_resnet50", "grounding_dino"])
def test_transformers_detectors_run_in_fp16_on_cuda(
    name: str,
    tiny_detr: Path,  # noqa: F811
    tiny_grounding_dino: Path,  # noqa: F811
) -> None:
    weights = tiny_detr if name == "detr_resnet50" else tiny_grounding_dino
    queries = None if name == "detr_resnet50" else "person, car"
    detector = models.create("detector", name, device=CUDA, weights=str(weights))
    images = [np.random.default_rng(i).integers(0, 255, (96, 128, 3), np.uint8) for i in range(3)]
    results = detector.detect(images, confidence=0.0, queries=queries)
    assert len(results) == 3
    for detections in results:
        assert np.isfinite(detections.xyxy).all()


@pytest.mark.parametrize("name", FAMILIES)
def test_realtime_detrs_run_in_fp16_on_cuda(name: str, tiny_weights: dict[str, Path]) -> None:  # noqa: F811
    detector = models.create("detector", name, device=CUDA, weights=str(tiny_weights[name]))
    assert detector.model.dtype == torch.float16
    images = [np.random.default_rng(i).integers(0, 255, (96, 128, 3), np.uint8) for i in range(3)]
    results = detector.detect(images, confidence=0.0, queries="person, car")
    assert len(results) == 3
    for detections in results:
        assert len(detections) and np.isfinite(detections.xyxy).all()
        assert set(detections.data["class_name"]) <= {"person", "car"}


def test_hardware_report_and_monitor_see_the_gpu() -> None:
    from pipeline.evaluation.hardware import hardware_report
    from pipeline.evaluation.monitor import sample

    report = hardware_report()
    print("\nhardware:", json.dumps(report, indent=1))
    assert isinstance(report["gpus"], list) and report["gpus"], "NVML sees no GPU"
    gpu = report["gpus"][0]
    assert gpu["memory_total_mib"] > 0 and "." in gpu["compute_capability"]
    assert report["nvidia_driver"] and report["defaults"]["yolo_runtime"][CUDA] == "torch"
    reading = sample()["gpus"][0]
    assert 0 <= reading["utilization_percent"] <= 100 and reading["memory_used_mib"] > 0


def test_benchmark_yolo11_n_and_x_at_batch_1_8_32_on_the_gpu(tmp_path: Path) -> None:
    """The figures the note reports: YOLO11 n and x at batch 1, 8 and 32, and the analysis."""
    from pipeline.evaluation.analysis import analyze
    from pipeline.evaluation.benchmark_grid import BenchmarkPlan, label, run_grid

    clip = Path(__file__).resolve().parents[1] / "assets" / "one_by_one_person.mp4"
    plan = BenchmarkPlan(
        detectors=("yolo11",),
        sizes=("n", "x"),
        batch_sizes=(1, 8, 32),
        device_sets=((CUDA,),),
        weights=None if models.weights_status("detector", "yolo11").available else "yolo11n.yaml",
    )
    rows = run_grid(plan, clip, tmp_path)
    for row in rows:
        print(
            f"\n{label(row)}: e2e {row['end_to_end_fps']:.1f} fps, model-only "
            f"{row['model_only_fps']:.1f} fps, first preview {row['first_preview_s']:.3f} s, "
            f"peak CUDA {row['peak_cuda_mib']} MiB, ms/frame {row['stage_ms_per_frame']}"
        )
        assert row["peak_cuda_mib"] and row["end_to_end_fps"] > 0
    print("\n" + analyze(rows)["text"])
    assert len(rows) == 6


def test_sam2_runs_on_cuda_under_bf16_autocast(tiny_sam2_weights: Path) -> None:
    segmenter = models.create("segmenter", "YSAM2-S", device=CUDA, weights=str(tiny_sam2_weights))
    assert next(segmenter.model.parameters()).device == torch.device(CUDA)
    seen: list[torch.dtype] = []
    hook = segmenter.model.mask_decoder.register_forward_hook(
        lambda module, inputs, output: seen.append(output[0].dtype)
    )
    images = [np.random.default_rng(i).integers(0, 255, (120, 160, 3), np.uint8) for i in range(4)]
    mask = np.zeros((120, 160), dtype=bool)
    mask[30:80, 40:100] = True
    session = segmenter.session(lambda i: images[i], len(images), 120, 160)
    session.add_mask(0, 1, mask)
    session.add_box(0, 2, np.array([100, 10, 150, 60]))
    results = dict(session.propagate(0, len(images) - 1))
    hook.remove()
    assert torch.bfloat16 in seen
    stored = session.state.output_dict_per_obj[0]["cond_frame_outputs"][0]
    assert stored["maskmem_features"].device == torch.device(CUDA)
    assert sorted(results) == [0, 1, 2, 3] and all(set(m) == {1, 2} for m in results.values())
    for masks in results.values():
        assert all(m.shape == (120, 160) and m.dtype == bool for m in masks.values())
    # A mask prompt comes back as it was given, on the GPU as on the CPU.
    assert np.mean(results[0][1] == mask) > 0.97
    session.close()


def test_segmentation_run_on_cuda(video: Path, tiny_sam2_weights: Path, tmp_path: Path) -> None:
    config = SegmentationConfig(
        segmenter="YSAM2-S",
        weights=str(tiny_sam2_weights),
        detector="test_shapes",
        step=4,
        window=8,
        max_objects=3,
        devices=("cuda",),
    )
    outputs = {"video": tmp_path / "s.mp4", "masks": tmp_path / "s.json"}
    *_, done = start(video, config, outputs)
    assert isinstance(done, Done)
    assert done.summary.frames == 24 and done.summary.device == CUDA
    masks = json.loads(done.outputs["masks"].read_text())
    assert len(masks["frames"]) == 24
    assert masks["model"]["segmenter"]["device"] == CUDA
