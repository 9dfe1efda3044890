"""The CPU fast path and the direct PyTorch path give ultralytics' own detections.

Random weights give near-constant, tiny scores (fresh BatchNorm statistics and
the head's prior bias), so NMS would have nothing to compare. The seeded model
below has its BatchNorm statistics taken from real frames and a raised class
bias: scores then spread over 0..0.2 and a few dozen boxes per frame pass 0.05.
"""

from __future__ import annotations

import copy
import logging
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import supervision as sv

import models
from models.detectors import ultralytics_common as uc
from models.detectors import yolo_networks
from models.errors import ModelError

IMGSZ = 320
CONFIDENCE = 0.05


@pytest.fixture(scope="module")
def frames(shared_assets: Path) -> list[np.ndarray]:
    from pipeline.io.video import iter_frames

    video = shared_assets / "video" / "tud_campus.mp4"
    return [frame.image for frame in islice(iter_frames(video, max_frames=60), 0, 60, 15)]


@pytest.fixture(scope="module")
def seeded_weights(tmp_path_factory: pytest.TempPathFactory, frames: list[np.ndarray]) -> Path:
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import ROOT, YAML

    with torch.random.fork_rng():
        torch.manual_seed(0)
        network = YOLO("yolo11n.yaml").model
    # One training-mode pass with momentum 1 sets every BatchNorm to these frames' statistics.
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 1.0
    network.train()
    with torch.no_grad():
        network(torch.from_numpy(yolo_networks.letterbox_blob(frames, (IMGSZ, IMGSZ), 32)))
    network.eval()
    for branch in network.model[-1].cv3:
        branch[-1].bias.data.fill_(-6.0)
    coco = YAML.load(ROOT / "cfg" / "datasets" / "coco.yaml")["names"]
    network.names = {i: coco[i] for i in sorted(coco)}
    path = tmp_path_factory.mktemp("weights") / "seeded-yolo11n.pt"
    torch.save({"model": network}, path)
    return path


def seeded_detector(weights: Path, runtime: str, device: str = "cpu") -> uc.UltralyticsDetector:
    """YOLO11n with the seeded weights at the test size, on ``runtime``."""
    detector = models.create(
        "detector", "yolo11", device=device, weights=str(weights), imgsz=IMGSZ, runtime=runtime
    )
    # A silent fallback (say to torch) would have the comparisons compare a runtime with itself.
    assert detector.runtime == runtime, f"asked for {runtime}, got {detector.runtime}"
    return detector


@pytest.fixture(scope="module")
def torch_detector(seeded_weights: Path) -> uc.UltralyticsDetector:
    return seeded_detector(seeded_weights, "torch")


@pytest.fixture(scope="module")
def ort_detector(seeded_weights: Path, models_cache: Path) -> uc.UltralyticsDetector:
    return seeded_detector(seeded_weights, "onnxruntime")


@pytest.fixture(scope="module")
def predictor_detector(seeded_weights: Path) -> uc.UltralyticsDetector:
    return seeded_detector(seeded_weights, "ultralytics")


def torch_raw(detector: uc.UltralyticsDetector, blob: np.ndarray) -> np.ndarray:
    import torch

    network = copy.deepcopy(detector.model.model).eval()
    with torch.inference_mode():
        return network(torch.from_numpy(blob))[0].numpy()


def assert_same_detections(
    expected: sv.Detections,
    actual: sv.Detections,
    box_tolerance: float = 1.0,
    score_tolerance: float = 1e-3,
) -> None:
    assert len(actual) == len(expected)
    # Near-equal scores may swap places in NMS's order: match boxes, not positions.
    unmatched = set(range(len(actual)))
    for box, name, score in zip(
        expected.xyxy, expected.data["class_name"], expected.confidence, strict=True
    ):
        candidates = [i for i in unmatched if actual.data["class_name"][i] == name]
        assert candidates, f"no {name} box left to match {box}"
        best = min(candidates, key=lambda i: np.abs(actual.xyxy[i] - box).max())
        assert np.abs(actual.xyxy[best] - box).max() <= box_tolerance
        assert abs(actual.confidence[best] - score) <= score_tolerance
        unmatched.remove(best)


def assert_detectors_agree(
    reference: uc.UltralyticsDetector, candidate: uc.UltralyticsDetector, frames: list[np.ndarray]
) -> list[sv.Detections]:
    """Same detections in every frame, and the candidate timed its three stages."""
    expected = reference.detect(frames, confidence=CONFIDENCE)
    timing: dict[str, float] = {}
    actual = candidate.detect(frames, confidence=CONFIDENCE, timing=timing)
    assert sum(len(d) for d in expected) >= 20
    for want, got in zip(expected, actual, strict=True):
        assert_same_detections(want, got)
    assert set(timing) == {"preprocess", "inference", "postprocess"}
    assert all(seconds > 0 for seconds in timing.values())
    return expected


def test_raw_outputs_agree_on_random_weights(frames: list[np.ndarray], models_cache: Path) -> None:
    detector = models.create(
        "detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=IMGSZ,
        runtime="onnxruntime",
    )  # fmt: skip
    assert detector.runtime == "onnxruntime"
    assert detector.info()["runtime"] == "onnxruntime"
    blob = detector.onnx.preprocess(frames)
    assert blob.shape == (len(frames), 3, 256, 320)  # 640x480 keeps its aspect, as in ultralytics
    raw, reference = detector.onnx.infer(blob), torch_raw(detector, blob)
    assert raw.shape == reference.shape == (len(frames), 84, 1680)
    np.testing.assert_allclose(raw[:, :4], reference[:, :4], atol=0.01)  # pixels
    np.testing.assert_allclose(raw[:, 4:], reference[:, 4:], atol=1e-6)
    # Random weights differ per instance: nothing is cached for them.
    assert not list(models_cache.glob("**/*.onnx"))


def test_raw_outputs_agree_on_seeded_weights(
    frames: list[np.ndarray], ort_detector: uc.UltralyticsDetector
) -> None:
    blob = ort_detector.onnx.preprocess(frames)
    raw, reference = ort_detector.onnx.infer(blob), torch_raw(ort_detector, blob)
    assert reference[:, 4:].max() > 0.1  # scores worth comparing
    np.testing.assert_allclose(raw[:, :4], reference[:, :4], atol=0.01)
    np.testing.assert_allclose(raw[:, 4:], reference[:, 4:], atol=1e-4)


def test_detections_match_pytorch(
    frames: list[np.ndarray],
    torch_detector: uc.UltralyticsDetector,
    ort_detector: uc.UltralyticsDetector,
) -> None:
    expected = assert_detectors_agree(torch_detector, ort_detector, frames)
    # The class filter goes into NMS in both runtimes.
    most_common = max(
        set(expected[0].data["class_name"]), key=list(expected[0].data["class_name"]).count
    )
    [want] = torch_detector.detect(frames[:1], confidence=CONFIDENCE, queries=most_common)
    [got] = ort_detector.detect(frames[:1], confidence=CONFIDENCE, queries=most_common)
    assert len(want) > 0 and set(got.data["class_name"]) == {most_common}
    assert_same_detections(want, got)


def test_direct_torch_matches_ultralytics_predictor(
    frames: list[np.ndarray],
    torch_detector: uc.UltralyticsDetector,
    predictor_detector: uc.UltralyticsDetector,
) -> None:
    assert predictor_detector.network is None
    assert isinstance(torch_detector.network, yolo_networks.TorchYolo)
    assert not torch_detector.network.uploader.pin_memory  # page-locking is for CUDA only
    assert_detectors_agree(predictor_detector, torch_detector, frames)
    # Frames of different sizes in one batch are padded to the full square, as the predictor does.
    mixed = [frames[0], frames[1][:200, :300].copy()]
    for want, got in zip(
        predictor_detector.detect(mixed, confidence=CONFIDENCE),
        torch_detector.detect(mixed, confidence=CONFIDENCE),
        strict=True,
    ):
        assert_same_detections(want, got)
    assert torch_detector.detect([], confidence=CONFIDENCE) == []


def test_static_shapes_match_the_predictor_on_full_squares(
    frames: list[np.ndarray], predictor_detector: uc.UltralyticsDetector
) -> None:
    # The CUDA default, checked here on the CPU: full-square letterbox, batch
    # padded to a power of two of at least `static_batch` frames.
    network = yolo_networks.TorchYolo(
        copy.deepcopy(predictor_detector.model.model),
        device="cpu", imgsz=IMGSZ, half=False, static_batch=2,
    )  # fmt: skip
    assert [network.padded_batch(n) for n in (1, 2, 3, 5)] == [2, 2, 4, 8]
    sample = frames[:3]
    batch = network.preprocess(sample)
    assert tuple(batch.shape) == (4, 3, IMGSZ, IMGSZ)
    predictions = network.postprocess(
        network.infer(batch), batch.shape[2:], [f.shape for f in sample], CONFIDENCE, None
    )
    assert len(predictions) == 3
    results = predictor_detector.model.predict(
        sample, rect=False, conf=CONFIDENCE, imgsz=IMGSZ, verbose=False
    )
    assert sum(len(r.boxes) for r in results) >= 10
    for result, pred in zip(results, predictions, strict=True):
        expected = sv.Detections.from_ultralytics(result)
        actual = sv.Detections(
            xyxy=pred[:, :4], confidence=pred[:, 4], class_id=pred[:, 5].astype(int),
            data={"class_name": np.array([result.names[int(c)] for c in pred[:, 5]])},
        )  # fmt: skip
        assert_same_detections(expected, actual)


def test_export_is_cached_and_reused(
    seeded_weights: Path,
    ort_detector: uc.UltralyticsDetector,
    models_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [cached] = models_cache.glob("onnx/*.onnx")
    assert ort_detector.onnx.path == cached
    assert cached.name.startswith(f"yolo11n-{IMGSZ}-")

    def no_export(*args: object, **kwargs: object) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr(uc, "export_onnx", no_export)
    again = seeded_detector(seeded_weights, "onnxruntime")
    assert again.runtime == "onnxruntime" and again.onnx.path == cached
    # The key covers the image size and the weights themselves.
    network = again.model.model
    assert uc.onnx_cache_path(network, 640) != cached
    changed = copy.deepcopy(network)
    next(changed.parameters()).data.add_(1e-3)
    assert uc.onnx_cache_path(changed, IMGSZ) != cached


def test_damaged_cache_entry_is_exported_again(
    seeded_weights: Path, ort_detector: uc.UltralyticsDetector, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("MODELS_CACHE_DIR", str(tmp_path))
    damaged = uc.onnx_cache_path(ort_detector.model.model, IMGSZ)
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"truncated")
    detector = seeded_detector(seeded_weights, "onnxruntime")
    assert detector.runtime == "onnxruntime" and detector.onnx.path == damaged
    assert damaged.stat().st_size > 1_000_000


def test_runtime_torch_forces_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uc, "export_onnx", pytest.fail)
    detector = models.create(
        "detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=64, runtime="torch"
    )
    assert detector.runtime == "torch" and detector.onnx is None


def test_auto_uses_onnxruntime_on_cpu(frames: list[np.ndarray]) -> None:
    detector = models.create("detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=64)
    assert detector.runtime == "onnxruntime"
    [detections] = detector.detect(frames[:1], confidence=0.0, queries="person")
    assert set(detections.data["class_name"]) <= {"person"}


def test_export_failure_falls_back_to_torch(
    frames: list[np.ndarray], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(uc, "export_onnx", broken)
    with caplog.at_level(logging.WARNING, logger=uc.__name__):
        detector = models.create(
            "detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=64,
            runtime="onnxruntime",
        )  # fmt: skip
    assert detector.runtime == "torch"
    assert "exporter exploded" in caplog.text and "PyTorch" in caplog.text
    assert len(detector.detect(frames[:1], confidence=0.0)) == 1


def test_unknown_runtime_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="tensorrt.*auto, torch, onnxruntime, openvino"):
        models.create(
            "detector", "yolo11", device="cpu", weights="yolo11n.yaml", runtime="tensorrt"
        )


@pytest.mark.slow
def test_openvino_matches_pytorch_and_is_exported_once(
    frames: list[np.ndarray],
    seeded_weights: Path,
    torch_detector: uc.UltralyticsDetector,
    models_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    detector = seeded_detector(seeded_weights, "openvino")
    assert detector.runtime == "openvino" and detector.info()["runtime"] == "openvino"
    assert_detectors_agree(torch_detector, detector, frames)
    # ultralytics' own export, cached beside the ONNX one, and taken from there next time.
    assert detector.network.path.is_relative_to(models_cache / uc.OPENVINO_CACHE_FOLDER)
    monkeypatch.setattr(uc, "export_openvino", pytest.fail)
    again = seeded_detector(seeded_weights, "openvino")
    assert again.runtime == "openvino" and again.network.path == detector.network.path
