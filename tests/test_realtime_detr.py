"""D-FINE, DEIMv2 and RT-DETRv2: each loads through its real loading code and runs a detection run.

Each model is built from a tiny config with random weights and saved with
``save_pretrained`` beside the RT-DETR image processor (as transformers' own
model testers do), then loaded the way a user's weights folder is, and run
through the whole detection pipeline on a synthetic clip, offline, on CPU.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import synthetic

import models
from models.detectors import d_fine, deimv2, rt_detr_v2
from models.detectors.realtime_detr import COCO_CLASSES, LICENSE, architecture_config
from models.errors import MissingWeightsError, ModelError
from pipeline import start
from pipeline.configs import DetectionConfig
from pipeline.runtime.events import Done, FirstFrame

FAMILY = {module.FAMILY.name: module.FAMILY for module in (d_fine, deimv2, rt_detr_v2)}
FAMILIES = tuple(FAMILY)
FRAMES, WIDTH, HEIGHT = 8, 160, 120
TINY_INPUT = 64
TINY_QUERIES = 12


def _hgnet_v2_tiny() -> dict[str, Any]:
    return {
        "model_type": "hgnet_v2",
        "stem_channels": [3, 8, 8],
        "stage_in_channels": [8, 16, 32, 64],
        "stage_mid_channels": [8, 8, 16, 16],
        "stage_out_channels": [16, 32, 64, 64],
        "stage_num_blocks": [1, 1, 1, 1],
        "stage_downsample": [False, True, True, True],
        "stage_light_block": [False, False, True, True],
        "stage_kernel_size": [3, 3, 3, 3],
        "stage_numb_of_layers": [1, 1, 1, 1],
        "hidden_sizes": [16, 32, 64, 64],
        "depths": [1, 1, 1, 1],
        "out_indices": [2, 3, 4],
        "use_learnable_affine_block": True,
    }


def _tiny_config(name: str) -> Any:
    from transformers import CONFIG_MAPPING, Deimv2Config, DFineConfig, RTDetrV2Config

    if name == "rt_detr_v2":
        backbone = {
            "model_type": "rt_detr_resnet",
            "embedding_size": 8,
            "hidden_sizes": [8, 16, 32, 64],
            "depths": [1, 1, 1, 1],
            "layer_type": "basic",
            "out_indices": [2, 3, 4],
        }
        in_channels = [16, 32, 64]
    else:
        backbone = _hgnet_v2_tiny()
        in_channels = [32, 64, 64]
    config_class = {"d_fine": DFineConfig, "deimv2": Deimv2Config, "rt_detr_v2": RTDetrV2Config}
    backbone_type = backbone.pop("model_type")
    id2label = dict(enumerate(COCO_CLASSES))
    return config_class[name](
        backbone_config=CONFIG_MAPPING[backbone_type](**backbone),
        encoder_hidden_dim=16,
        encoder_in_channels=in_channels,
        encoder_ffn_dim=32,
        encoder_attention_heads=2,
        d_model=16,
        decoder_in_channels=[16, 16, 16],
        decoder_ffn_dim=32,
        decoder_attention_heads=2,
        decoder_layers=2,
        num_queries=TINY_QUERIES,
        num_denoising=0,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One ``save_pretrained`` folder per family: a tiny model and its image processor."""
    import torch
    import transformers

    torch.manual_seed(0)
    folders = {}
    for name in FAMILIES:
        model_class = getattr(transformers, FAMILY[name].model_class)
        folder = tmp_path_factory.mktemp(f"tiny-{name}")
        model_class(_tiny_config(name)).save_pretrained(folder)
        transformers.RTDetrImageProcessor(
            size={"height": TINY_INPUT, "width": TINY_INPUT}
        ).save_pretrained(folder)
        folders[name] = folder
    return folders


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "shapes.mp4"
    return synthetic.make_video(path, frames=FRAMES, width=WIDTH, height=HEIGHT)


@pytest.fixture(autouse=True)
def no_weight_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DFINE_WEIGHTS", "DEIMV2_WEIGHTS", "RTDETR_V2_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)


def test_registered_with_their_licence_and_sizes() -> None:
    sizes = {name: models.spec("detector", name).sizes for name in FAMILIES}
    assert sizes == {
        "d_fine": ("n", "s", "m", "l", "x"),
        "deimv2": ("pico", "n", "s"),
        "rt_detr_v2": ("r18", "r34", "r50", "r101"),
    }
    for name in FAMILIES:
        assert models.spec("detector", name).license_summary == LICENSE == "Apache-2.0"
    # The default detector changes only with a measurement that says it should (docs/detectors.md).
    assert models.default_detector() in ("yolo11", "yolox_nano")


@pytest.mark.parametrize("name", FAMILIES)
def test_tiny_model_runs_a_detection_run(
    name: str, tiny_weights: dict[str, Path], video: Path, tmp_path: Path, one_torch_thread: None
) -> None:
    outputs = {"video": tmp_path / "out.mp4", "tracks": tmp_path / "tracks.json"}
    config = DetectionConfig(
        detector=name, weights=str(tiny_weights[name]), confidence=0.0, queries=("person", "car")
    )
    first, *_, done = start(video, config, outputs)

    # At confidence 0 the best (query, class) pairs come back; the queries keep two classes.
    assert isinstance(first, FirstFrame)
    assert 0 < len(first.detections) <= TINY_QUERIES
    assert set(first.detections.data["class_name"]) <= {"person", "car"}
    assert isinstance(done, Done)
    assert done.summary.frames == FRAMES
    assert done.summary.licenses[0] == {
        "name": name, "size": models.spec("detector", name).default_size,
        "license": "Apache-2.0", "non_commercial": False,
    }  # fmt: skip
    tracks = json.loads(outputs["tracks"].read_text())
    assert tracks["model"]["name"] == name
    assert Path(tracks["model"]["weights"]).name == tiny_weights[name].name
    assert [f["frame"] for f in tracks["frames"]] == list(range(FRAMES))
    # Random weights score far below the tracker's activation threshold: no track, no class.
    assert {o["class"] for f in tracks["frames"] for o in f["objects"]} <= {"person", "car"}


@pytest.mark.parametrize("name", FAMILIES)
def test_tiny_model_speaks_coco(name: str, tiny_weights: dict[str, Path]) -> None:
    detector = models.create("detector", name, weights=str(tiny_weights[name]))
    assert detector.class_names == list(COCO_CLASSES)
    frame = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    timing: dict[str, float] = {}
    [dets] = detector.detect([frame], confidence=0.0, timing=timing)
    assert set(timing) == {"preprocess", "inference", "postprocess"}
    # RT-DETR post-processing keeps the best num_queries (query, class) pairs, in the frame.
    assert len(dets) == TINY_QUERIES
    assert dets.xyxy.shape == (TINY_QUERIES, 4)
    assert (dets.xyxy[:, [0, 2]] >= -1).all() and (dets.xyxy[:, [0, 2]] <= WIDTH + 1).all()
    assert list(dets.data["class_name"]) == [COCO_CLASSES[i] for i in dets.class_id]
    # A query keeps its class's best pairs, not what is left of the best of all classes.
    wanted = str(dets.data["class_name"][-1])
    [only] = detector.detect([frame], confidence=0.0, queries=wanted)
    assert len(only) == TINY_QUERIES and set(only.data["class_name"]) == {wanted}
    with pytest.raises(models.InvalidQueryError, match="motorbike"):
        detector.detect([frame], queries="motorbike")  # COCO's name here is "motorcycle"


def test_random_architecture_of_a_published_size(one_torch_thread: None) -> None:
    detector = models.create("detector", "deimv2", weights="random:pico")
    assert detector.random_weights and detector.info()["weights"] == "random:pico"
    assert detector.size == "pico"  # the architecture's, not the default size
    assert detector.model.config.d_model == architecture_config(FAMILY["deimv2"], "pico").d_model
    with pytest.raises(ModelError, match="random:pico, random:n, random:s"):
        models.create("detector", "deimv2", weights="random:x")


@pytest.mark.parametrize("name", FAMILIES)
def test_missing_weights_offline_name_the_checkpoint(name: str) -> None:
    family = FAMILY[name]
    checkpoint = family.checkpoints[family.default_size]
    status = models.weights_status("detector", name)
    assert not status.available
    assert checkpoint in status.message and family.env_var in status.message
    with pytest.raises(MissingWeightsError) as info:
        models.create("detector", name)
    assert checkpoint in str(info.value) and "YOLOX-Nano" in str(info.value)


def test_a_transformers_without_the_model_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on an older transformers release: the model's module is missing."""
    from models import requirements
    from models.prefetch import ModelLoad, pending_downloads
    from ui.model_choices import NOT_INSTALLED_MARK, model_choices, model_note

    absent = FAMILY["deimv2"].module
    monkeypatch.setattr(requirements, "module_available", lambda module: module != absent)
    status = models.weights_status("detector", "deimv2")
    assert not status.available and status.source == "package"
    assert f"'{absent}'" in status.message and "Deimv2ForObjectDetection" in status.message
    assert ("DEIMv2" + NOT_INSTALLED_MARK, "deimv2") in model_choices("detector")
    assert "**Not installed here:** DEIMv2 needs" in model_note("detector", "deimv2")
    for attempt in (
        lambda: models.create("detector", "deimv2", weights="random:pico"),
        lambda: pending_downloads([ModelLoad("detector", "deimv2")]),
    ):
        with pytest.raises(MissingWeightsError, match="Deimv2ForObjectDetection") as info:
            attempt()
        assert "YOLOX-Nano" in str(info.value)  # what works instead
    # The other two are untouched.
    assert models.weights_status("detector", "d_fine").source != "package"
