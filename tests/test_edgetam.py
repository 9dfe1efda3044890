"""EdgeTAM: its published architecture, its weights rule, and a tiny model through the pipeline.

The tiny model (``tiny_edgetam.py``) is ``transformers``' ``EdgeTamVideoModel`` at
128 px with random weights, saved with ``save_pretrained`` and loaded through
``EDGETAM_WEIGHTS`` as a user's weights would be.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic import draw_frame, make_video
from tiny_edgetam import save_tiny_weights, tiny_config, tiny_model
from tiny_sam2 import weights_in_env

import models
from models.availability import ARCHITECTURE, location_status
from models.prefetch import ModelLoad
from models.segmenters.edgetam_architecture import architecture
from models.segmenters.sam2_video import Sam2VideoSegmenter
from models.segmenters.sam2_video_edgetam import EDGETAM_FAMILY, locate_weights
from pipeline import SegmentationConfig, start
from pipeline.io.rle import decode
from pipeline.runtime.events import Done, FirstFrame

WIDTH, HEIGHT = 160, 120

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# EdgeTAM as transformers' conversion script builds it (get_config in
# src/transformers/models/edgetam_video/convert_edgetam_video_to_hf.py): the timm
# checkpoint timm/repvit_m1.dist_in1k with model_args {in_chans: 3, features_only: True,
# out_indices: (0, 1, 2, 3)}, EdgeTamVisionConfig's channel list [384, 192, 96, 48] and
# feature grids [[256, 256], [128, 128], [64, 64]], and EdgeTamVideoConfig's defaults
# (docs/source/en/model_doc/edgetam_video.md: 1024 px input, 7 mask memories, 16 object
# pointers, 2 memory-attention layers, a 2-layer perceiver of 256 1-D and 256 2-D latents
# of width 64) except the two switches the script turns off.
PUBLISHED = {
    "image_size": 1024,
    "num_maskmem": 7,
    "max_object_pointers_in_encoder": 16,
    "memory_attention_hidden_size": 256,
    "memory_attention_num_layers": 2,
    "memory_attention_rope_feat_sizes": [64, 64],
    "memory_attention_rope_k_sizes": [16, 16],
    "perceiver_resampler_num_latents": 256,
    "perceiver_resampler_num_latents_2d": 256,
    "perceiver_resampler_hidden_size": 64,
    "perceiver_resampler_num_layers": 2,
    "memory_encoder_output_channels": 64,
    "enable_temporal_pos_encoding_for_object_pointers": False,
    "enable_occlusion_spatial_embedding": False,
}
PUBLISHED_VISION = {
    "backbone_channel_list": [384, 192, 96, 48],
    "backbone_feature_sizes": [[256, 256], [128, 128], [64, 64]],
    "fpn_hidden_size": 256,
}
PUBLISHED_BACKBONE = "repvit_m1.dist_in1k"


@pytest.fixture(scope="module")
def tiny_edgetam_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_weights(tmp_path_factory.mktemp("tiny-edgetam"))


@pytest.fixture(scope="module")
def tiny_env(tiny_edgetam_weights: Path) -> Iterator[Path]:
    """EdgeTAM's weights point at the tiny model's folder; the cache is cleared after."""
    with weights_in_env("EDGETAM_WEIGHTS", tiny_edgetam_weights) as folder:
        yield folder


# --------------------------------------------------------------------------- architecture


def test_the_architecture_is_the_published_one() -> None:
    config = architecture()
    values = config.to_dict()
    for key, value in PUBLISHED.items():
        assert values[key] == value, key
    vision = values["vision_config"]
    for key, value in PUBLISHED_VISION.items():
        assert vision[key] == value, key
    backbone = vision["backbone_config"]
    assert backbone["architecture"] == PUBLISHED_BACKBONE
    args = backbone["model_args"]
    assert (args["in_chans"], args["features_only"]) == (3, True)
    assert list(args["out_indices"]) == [0, 1, 2, 3]
    assert values["prompt_encoder_config"]["image_size"] == 1024


def test_the_backbone_gives_the_channels_the_pyramid_reads() -> None:
    """timm's RepViT-M1 stages are the widths the published channel list names."""
    import timm

    backbone = architecture().vision_config.backbone_config
    model = timm.create_model(backbone.architecture, pretrained=False, **backbone.model_args)
    channels = model.feature_info.channels()
    assert channels[::-1] == PUBLISHED_VISION["backbone_channel_list"]


def test_another_input_size_moves_every_grid_but_the_perceivers() -> None:
    config = architecture(image_size=512)
    assert config.image_size == config.prompt_encoder_config.image_size == 512
    assert config.vision_config.backbone_feature_sizes == [[128, 128], [64, 64], [32, 32]]
    assert config.memory_attention_rope_feat_sizes == [32, 32]
    assert config.memory_attention_rope_k_sizes == [16, 16]
    with pytest.raises(ValueError, match="multiple of 32"):
        architecture(image_size=500)


# --------------------------------------------------------------------------- weights


def test_the_weights_rule_and_its_messages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("EDGETAM_WEIGHTS", raising=False)
    location = locate_weights()
    assert location.remote.describe() == "yonigozlan/EdgeTAM-hf"
    assert location.remote.required == ("config.json",)
    status = models.weights_status("segmenter", "YEdgeTAM")
    assert not status.available and "EDGETAM_WEIGHTS" in status.message
    # What the app prefetches before borrowing a GPU.
    load = ModelLoad("segmenter", "YEdgeTAM", {})
    assert load.location().remote.describe() == "yonigozlan/EdgeTAM-hf"
    with pytest.raises(models.MissingWeightsError, match="EDGETAM_WEIGHTS") as info:
        models.create("segmenter", "YEdgeTAM", weights=str(tmp_path / "nowhere"))
    assert "\n" not in str(info.value)
    with pytest.raises(models.ModelError, match="Unknown EdgeTAM architecture"):
        models.create("segmenter", "YEdgeTAM", weights="random:small")
    sam2_config = tmp_path / "sam2.json"
    sam2_config.write_text(json.dumps({"model_type": "sam2_video"}))
    with pytest.raises(models.ModelError, match="is not an EdgeTAM video config"):
        models.create("segmenter", "YEdgeTAM", weights=str(sam2_config))
    for weights in ("random:edgetam", str(sam2_config)):
        status = location_status(locate_weights(weights=weights))
        assert status.available and status.source == ARCHITECTURE


def test_a_sam2_checkpoint_is_not_taken_for_edgetam(
    tiny_sam2_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.ModelError, match="not EdgeTAM") as info:
        models.create("segmenter", "YEdgeTAM", weights=str(tiny_sam2_weights))
    assert "is not a EdgeTAM video checkpoint" in str(info.value)


def test_a_transformers_without_edgetam_or_no_timm_is_one_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import transformers

    import models.segmenters.sam2_weights as sam2_weights

    # As on a release that predates EdgeTAM (the lazy module answers None for it here).
    monkeypatch.setattr(transformers, "EdgeTamVideoModel", None)
    with pytest.raises(models.ModelError, match="transformers release with EdgeTamVideoModel"):
        models.create("segmenter", "YEdgeTAM", weights="random:edgetam")
    monkeypatch.undo()
    monkeypatch.setattr(
        sam2_weights, "find_spec", lambda name: None if name == "timm" else object()
    )
    with pytest.raises(models.ModelError, match="needs the timm package"):
        EDGETAM_FAMILY.classes()


# --------------------------------------------------------------------------- tiny model


def test_the_tiny_model_saved_is_the_one_loaded_and_follows_boxes(tiny_env: Path) -> None:
    segmenter = models.create("segmenter", "YEdgeTAM")
    assert isinstance(segmenter, Sam2VideoSegmenter) and not segmenter.random_weights
    info = segmenter.info()
    assert (info["edgetam"], info["size"], info["license"]) == ("EdgeTAM", "edgetam", "Apache-2.0")
    built = tiny_model()
    for name, value in built.state_dict().items():
        assert torch.equal(value, segmenter.model.state_dict()[name]), name
    frames = [draw_frame(i, WIDTH, HEIGHT) for i in range(6)]
    session = segmenter.session(lambda i: frames[i], len(frames), HEIGHT, WIDTH)
    session.add_box(0, 4, np.array([10, 20, 60, 70]))
    session.add_box(0, 9, np.array([70, 30, 120, 90]))
    seen = []
    for frame, masks in session.propagate(0, 5):
        seen.append(frame)
        assert set(masks) == {4, 9} and masks[4].shape == (HEIGHT, WIDTH)
        # Bounded memory: only the frames the model still reads keep their outputs.
        kept = session.state.output_dict_per_obj[0]["non_cond_frame_outputs"]
        assert all(frame - t <= session._keep for t in kept)
    assert session._keep == 1 + PUBLISHED["max_object_pointers_in_encoder"]
    assert seen == list(range(6))
    session.remove(4)
    assert session.object_ids == [9]
    session.close()


def test_tiny_edgetam_segments_a_video_through_the_pipeline(tiny_env: Path, tmp_path: Path) -> None:
    video = make_video(tmp_path / "shapes.mp4", frames=10, width=WIDTH * 2, height=HEIGHT * 2)
    config = SegmentationConfig(
        segmenter="YEdgeTAM", detector="test_shapes", step=4, window=8, max_objects=3
    )
    outputs = {"video": tmp_path / "e.mp4", "masks": tmp_path / "e.json"}
    events = list(start(video, config, outputs))
    assert isinstance(events[0], FirstFrame) and len(events[0].detections) == 3
    done = events[-1]
    assert isinstance(done, Done)
    assert done.summary.frames == 10 and done.summary.windows == 2
    licences = {item["name"]: item["license"] for item in done.summary.licenses}
    assert licences["YEdgeTAM"] == "Apache-2.0"
    data = json.loads(Path(done.outputs["masks"]).read_text())
    assert data["model"]["segmenter"]["edgetam"] == "EdgeTAM"
    assert data["model"]["segmenter"]["weights"] == tiny_env.name  # no server path
    ids = set()
    for frame in data["frames"]:
        for obj in frame["objects"]:
            ids.add(obj["track_id"])
            assert int(decode(obj["mask"]).sum()) == obj["area"] > 0
    assert ids and ids <= {1, 2, 3}


def test_a_config_file_gives_random_weights(tmp_path: Path) -> None:
    config_file = tmp_path / "tiny_edgetam.json"
    tiny_config().to_json_file(config_file)
    segmenter = models.create("segmenter", "GEdgeTAM", weights=str(config_file))
    assert segmenter.random_weights and segmenter.image_size == 128
    assert segmenter.info()["detector"] == "grounding_dino"
