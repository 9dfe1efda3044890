"""Detectors: every model loads through its real loading code, offline, on CPU.

Ultralytics models build from an architecture yaml (random weights); the
transformers models from tiny configs saved with ``save_pretrained`` (as
transformers' own model testers do); YOLOX-Nano is the real pretrained export
from ``../shared/assets``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

import models
from models.detectors import yolox_nano
from models.detectors.base import Detector
from models.errors import (
    InvalidQueryError,
    InvalidWeightsError,
    MissingWeightsError,
    UnknownModelError,
)
from models.weights import resolve_weights

DETECTORS = ("yolo11", "detr_resnet50", "grounding_dino", "drone_yolo", "yolox_nano")
WEIGHT_ENV_VARS = (
    "YOLO11_WEIGHTS",
    "DETR_WEIGHTS",
    "GROUNDING_DINO_WEIGHTS",
    "DRONE_YOLO_WEIGHTS",
    "DRONE_YOLO_REPO",
    "DRONE_YOLO_FILE",
    "YOLOX_NANO_WEIGHTS",
    "YOLOX_NANO_URL",
)
TINY_VOCAB = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "person", "red", "car", "dog")
#: One tiny encoder-decoder for both DETR-family fixtures, each adding its own width and
#: decoder depth; the backbone is built from its transformers config, not fetched from timm.
TINY_DETR_TRANSFORMER = {
    "use_timm_backbone": False,
    "encoder_layers": 1,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 16,
    "decoder_ffn_dim": 16,
    "num_queries": 10,
}


def random_frames(n: int = 2, height: int = 96, width: int = 128) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def assert_well_formed(results: list[sv.Detections], n_frames: int) -> None:
    assert len(results) == n_frames
    for dets in results:
        n = len(dets)
        assert dets.xyxy.shape == (n, 4)
        assert np.issubdtype(dets.xyxy.dtype, np.floating)
        assert dets.confidence is not None and dets.confidence.shape == (n,)
        assert dets.class_id is not None and dets.class_id.shape == (n,)
        assert len(dets.data["class_name"]) == n
        assert all(isinstance(name, str) for name in dets.data["class_name"])


@pytest.fixture(autouse=True)
def no_weight_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see neither the developer's weight settings nor their download cache."""
    for name in WEIGHT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODELS_CACHE_DIR", str(tmp_path / "model-cache"))


@pytest.fixture(scope="module")
def yolo11_random() -> Detector:
    return models.create("detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=64)


@pytest.fixture(scope="module")
def tiny_detr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    torch.manual_seed(0)
    backbone = ResNetConfig(
        embeddings_size=8, hidden_sizes=[8, 8, 8, 8], depths=[1, 1, 1, 1], out_features=["stage4"]
    )
    labels = {0: "person", 1: "N/A", 2: "car"}
    config = DetrConfig(
        backbone_config=backbone,
        d_model=16,
        decoder_layers=1,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        **TINY_DETR_TRANSFORMER,
    )
    folder = tmp_path_factory.mktemp("tiny-detr")
    DetrForObjectDetection(config).save_pretrained(folder)
    DetrImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_grounding_dino(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import (
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-grounding-dino")
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(TINY_VOCAB) + "\n")
    swin = SwinConfig(
        window_size=7,
        embed_dim=8,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1],
        image_size=64,
        out_indices=[2, 3, 4],
    )
    text = {
        "model_type": "bert",
        "vocab_size": len(TINY_VOCAB),
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 8,
        "max_position_embeddings": 32,
    }
    # d_model must be a multiple of 32 (GroupNorm), and two decoder layers are
    # needed for the tied box heads.
    config = GroundingDinoConfig(
        backbone_config=swin,
        d_model=32,
        decoder_layers=2,
        text_config=text,
        max_text_len=16,
        num_feature_levels=4,
        encoder_n_points=2,
        decoder_n_points=2,
        **TINY_DETR_TRANSFORMER,
    )
    GroundingDinoForObjectDetection(config).save_pretrained(folder)
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}),
        tokenizer=BertTokenizer(vocab=str(vocab_file)),
    )
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def yolox(yolox_weights: Path) -> Detector:
    return models.create("detector", "yolox_nano", device="cpu", weights=str(yolox_weights))


@pytest.fixture(scope="module")
def tud_frame(shared_assets: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(shared_assets / "video" / "tud_campus.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok, "could not decode tud_campus.mp4"
    return frame


def test_all_detectors_registered() -> None:
    assert set(DETECTORS) <= set(models.available("detector"))


@pytest.mark.parametrize("name", ["yolo11", "drone_yolo"])
def test_ultralytics_random_weights(name: str) -> None:
    detector = models.create("detector", name, device="cpu", weights="yolo11n.yaml", imgsz=64)
    assert detector.random_weights
    timing: dict[str, float] = {}
    results = detector.detect(random_frames(), confidence=0.0, timing=timing)
    assert_well_formed(results, 2)
    assert sum(len(d) for d in results) > 0, "an untrained YOLO keeps boxes at confidence 0"
    assert set(timing) == {"preprocess", "inference", "postprocess"}
    assert detector.detect([]) == []


def test_yolo11_random_weights_speak_coco(yolo11_random: Detector) -> None:
    assert yolo11_random.class_names[:3] == ["person", "bicycle", "car"]
    results = yolo11_random.detect(random_frames(1), confidence=0.0, queries="car, person")
    assert set(results[0].data["class_name"]) <= {"car", "person"}


def test_detr_tiny(tiny_detr: Path) -> None:
    detector = models.create("detector", "detr_resnet50", device="cpu", weights=str(tiny_detr))
    assert detector.class_names == ["person", "car"]  # DETR's "N/A" placeholders are no class
    timing: dict[str, float] = {}
    results = detector.detect(random_frames(), confidence=0.0, timing=timing)
    assert_well_formed(results, 2)
    assert len(results[0]) == 10  # one box per object query at confidence 0
    assert set(timing) == {"preprocess", "inference", "postprocess"}
    [cars] = detector.detect(random_frames(1), confidence=0.0, queries="car")
    assert set(cars.data["class_name"]) <= {"car"}


def test_grounding_dino_tiny(tiny_grounding_dino: Path) -> None:
    detector = models.create(
        "detector", "grounding_dino", device="cpu", weights=str(tiny_grounding_dino)
    )
    queries = ("person", "red car")
    timing: dict[str, float] = {}
    results = detector.detect(random_frames(), confidence=0.0, queries=queries, timing=timing)
    assert_well_formed(results, 2)
    assert set(timing) == {"preprocess", "inference", "postprocess"}
    for dets in results:
        assert len(dets) == 10
        assert np.all((dets.class_id >= 0) & (dets.class_id < len(queries)))
        assert list(dets.data["class_name"]) == [queries[i] for i in dets.class_id]
        assert np.all((dets.confidence > 0) & (dets.confidence <= 1))
    with pytest.raises(InvalidQueryError, match="at least one text query"):
        detector.detect(random_frames(1), queries=" , ")
    with pytest.raises(InvalidQueryError, match="at most 16"):
        detector.detect(
            random_frames(1), queries=["a red car person dog", "red dog a car", "person a dog"]
        )


def test_yolox_nano_finds_people(
    yolox: Detector, tud_frame: np.ndarray, shared_assets: Path
) -> None:
    [dets] = yolox.detect([tud_frame], confidence=0.3)
    assert_well_formed([dets], 1)
    people = dets[dets.data["class_name"] == "person"]
    assert len(people) >= 3
    # The boxes are where MOT15's ground truth puts the pedestrians of frame 1.
    gt = np.loadtxt(shared_assets / "mot" / "TUD-Campus" / "gt.txt", delimiter=",")
    first = gt[gt[:, 0] == 1][:, 2:6]
    gt_xyxy = np.concatenate([first[:, :2], first[:, :2] + first[:, 2:]], axis=1)
    iou = sv.box_iou_batch(gt_xyxy, people.xyxy)
    assert (iou.max(axis=1) > 0.5).sum() >= 3


def test_yolox_nano_query_filter(yolox: Detector, tud_frame: np.ndarray) -> None:
    results = yolox.detect([tud_frame, tud_frame], confidence=0.1, queries="person")
    assert_well_formed(results, 2)
    for dets in results:
        assert len(dets) > 0
        assert set(dets.data["class_name"]) == {"person"}
        assert set(dets.class_id) == {0}


def test_unknown_detector_lists_valid_names() -> None:
    with pytest.raises(UnknownModelError) as info:
        models.create("detector", "yolo12")
    for name in DETECTORS:
        assert name in str(info.value)


def test_unknown_size() -> None:
    with pytest.raises(UnknownModelError, match="n, s, m, l, x"):
        models.create("detector", "yolo11", size="xxl", weights="yolo11n.yaml")


def test_bad_query_lists_valid_classes(yolo11_random: Detector) -> None:
    with pytest.raises(InvalidQueryError) as info:
        yolo11_random.detect(random_frames(1), queries="persn")
    assert "'persn'" in str(info.value)
    assert "person" in str(info.value) and "toothbrush" in str(info.value)


@pytest.mark.parametrize(
    ("name", "options", "named"),
    [
        ("yolo11", {"size": "s"}, "yolo11s.pt"),
        ("detr_resnet50", {}, "facebook/detr-resnet-50"),
        ("grounding_dino", {"size": "base"}, "IDEA-Research/grounding-dino-base"),
        ("drone_yolo", {"size": "n"}, "mshamrai/yolov8n-visdrone"),
        ("yolox_nano", {}, "yolox_nano.onnx"),
        ("yolox_nano", {"weights": "/nonexistent/model.onnx"}, "/nonexistent/model.onnx"),
        ("yolo11", {"weights": "/nonexistent/best.pt"}, "/nonexistent/best.pt"),
        ("drone_yolo", {"weights": "/nonexistent/best.pt"}, "/nonexistent/best.pt"),
    ],
)
def test_missing_weights_offline(
    name: str, options: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As in a checkout without the bundled YOLOX-Nano: nothing local at all.
    monkeypatch.setattr(yolox_nano, "BUNDLED_WEIGHTS", tmp_path / "absent.onnx")
    env_var = models.spec("detector", name).env_var
    with pytest.raises(MissingWeightsError) as info:
        models.create("detector", name, device="cpu", **options)
    message = str(info.value)
    assert named in message
    assert env_var in message and "--weights" in message and "network" in message


def test_missing_weights_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DETR_WEIGHTS", "/nonexistent/detr")
    with pytest.raises(MissingWeightsError, match="/nonexistent/detr"):
        models.create("detector", "detr_resnet50")


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        ("auto", "is not a valid ONNX model"),
        ("onnxruntime", "is not a valid ONNX model"),
        ("openvino", "is not a model OpenVINO can read"),
    ],
)
def test_a_weights_file_that_is_not_a_model_says_so(
    runtime: str, message: str, tmp_path: Path
) -> None:
    # Found, so not missing: ONNX Runtime's and OpenVINO's own errors were tracebacks.
    if runtime == "openvino":
        pytest.importorskip("openvino")
    weights = tmp_path / "notes.onnx"
    weights.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(InvalidWeightsError, match=message) as info:
        models.create("detector", "yolox_nano", weights=str(weights), runtime=runtime)
    assert str(weights) in str(info.value) and "\n" not in str(info.value)


def test_weights_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_weights(None, env_var="X_WEIGHTS", default="hub/id") == "hub/id"
    monkeypatch.setenv("X_WEIGHTS", "/from/env")
    assert resolve_weights(None, env_var="X_WEIGHTS", default="hub/id") == "/from/env"
    assert resolve_weights("/option", env_var="X_WEIGHTS", default="hub/id") == "/option"


def test_size_on_a_single_size_model_is_a_clear_error(yolox_weights):
    with pytest.raises(models.UnknownModelError, match="one size only"):
        models.create("detector", "yolox_nano", weights=str(yolox_weights), size="m")
    detector = models.create("detector", "yolox_nano", weights=str(yolox_weights), size=None)
    assert detector.size is None
