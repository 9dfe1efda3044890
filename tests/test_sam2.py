"""SAM 2 through ``transformers``: the session over a window, the shim, weights and their errors.

The model is the tiny random one of ``tiny_sam2.py`` (128 px); the exact
expectations compare our session, which reads frames on demand, drops what is
never read again and removes objects, with ``transformers``' own session over
the same frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic import draw_frame
from tiny_sam2 import tiny_config, tiny_model

import models
from models.availability import ARCHITECTURE, location_status
from models.compat.transformers_sam2 import PER_OBJECT_STATE, UNREAD_OUTPUTS
from models.segmenters.sam2_architectures import architecture
from models.segmenters.sam2_video import Sam2Session, Sam2VideoSegmenter
from models.segmenters.sam2_weights import build_processor, locate_weights

REPO_ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 160, 120
BOXES = {3: [10, 20, 60, 70], 1: [70, 30, 120, 90], 2: [100, 10, 150, 60]}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def segmenter(tiny_sam2_weights: Path) -> Sam2VideoSegmenter:
    return models.create("segmenter", "YSAM2-S", weights=str(tiny_sam2_weights))


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """BGR frames of moving shapes, as the frame store gives them."""
    return [draw_frame(i, WIDTH, HEIGHT) for i in range(24)]


class CountingFrames:
    """A window's frame source that records which frames were read."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.reads: list[int] = []

    def __call__(self, index: int) -> np.ndarray:
        self.reads.append(index)
        return self.frames[index]


def reference_masks(
    segmenter: Sam2VideoSegmenter,
    frames: list[np.ndarray],
    prompts: dict[int, list[int]],
    end: int,
) -> list[dict[int, np.ndarray]]:
    """transformers' own session: the whole video processed up front, nothing ever dropped."""
    processor, model = segmenter.processor, segmenter.model
    rgb = [np.ascontiguousarray(frame[..., ::-1]) for frame in frames]
    session = processor.init_video_session(video=rgb, inference_device="cpu")
    # One call prompts every object, as the processor expects.
    processor.add_inputs_to_inference_session(
        inference_session=session,
        frame_idx=0,
        obj_ids=list(prompts),
        input_boxes=[list(prompts.values())],
    )
    results = []
    with torch.inference_mode():
        for output in model.propagate_in_video_iterator(
            session, start_frame_idx=0, max_frame_num_to_track=end
        ):
            [masks] = processor.post_process_masks([output.pred_masks], [[HEIGHT, WIDTH]])
            masks = masks[:, 0].numpy()
            results.append({int(i): masks[k] for k, i in enumerate(output.object_ids)})
    return results


# --------------------------------------------------------------------------- the shim


def window(
    segmenter: Sam2VideoSegmenter,
    frames: list[np.ndarray],
    num_frames: int = 0,
    *,
    boxed: Iterable[int] = (),
    on: int = 0,
) -> Sam2Session:
    """A session over the first ``num_frames`` of ``frames`` (all of them by default), the
    objects ``boxed`` prompted with their :data:`BOXES` on frame ``on``, in that order."""
    session = segmenter.session(lambda i: frames[i], num_frames or len(frames), HEIGHT, WIDTH)
    for object_id in boxed:
        session.add_box(on, object_id, np.array(BOXES[object_id]))
    return session


def test_the_shim_knows_every_per_object_state_of_a_session() -> None:
    processor = build_processor(tiny_config())
    session = processor.init_video_session(inference_device="cpu")
    session.obj_id_to_idx(7)
    by_index = {
        name
        for name, value in vars(session).items()
        if isinstance(value, dict) and set(value) == {0} and name != "_obj_idx_to_id"
    }
    assert by_index == set(PER_OBJECT_STATE)
    for name in ("processed_frames", "video_height", "video_width", "obj_with_new_inputs"):
        assert hasattr(session, name), name
    assert dict(session._obj_id_to_idx) == {7: 0} and session.obj_ids == [7]


def test_frames_are_read_on_demand_once_each_and_the_masks_are_transformers_own(
    segmenter: Sam2VideoSegmenter, frames: list[np.ndarray]
) -> None:
    """Reading on demand, prompting one call at a time, dropping what is never read again and
    forgetting old frames give exactly the masks of transformers' own whole-video session."""
    source = CountingFrames(frames)
    session = segmenter.session(source, len(frames), HEIGHT, WIDTH)
    for object_id, box in BOXES.items():
        session.add_box(0, object_id, np.array(box))
    ours = []
    for frame, masks in session.propagate(0, 4):
        ours.append(masks)
        assert source.reads == list(range(frame + 1)), "a frame was read twice or too early"
    for _, masks in session.propagate(5, len(frames) - 1):
        ours.append(masks)
    assert source.reads == list(range(len(frames)))
    reference = reference_masks(segmenter, frames, BOXES, len(frames) - 1)
    assert len(ours) == len(reference) == len(frames)
    assert any(m.any() for masks in ours for m in masks.values()), "nothing to compare"
    for frame, (got, want) in enumerate(zip(ours, reference, strict=True)):
        assert list(got) == list(want) == list(BOXES)
        for object_id in want:
            assert np.array_equal(got[object_id], want[object_id]), (frame, object_id)
            assert got[object_id].shape == (HEIGHT, WIDTH) and got[object_id].dtype == bool
    session.close()


def test_session_memory_stays_bounded(
    segmenter: Sam2VideoSegmenter, frames: list[np.ndarray]
) -> None:
    session = window(segmenter, frames, boxed=[1])
    kept = []
    for _ in session.propagate(0, len(frames) - 1):
        outputs = session.state.output_dict_per_obj[0]
        kept.append(len(outputs["non_cond_frame_outputs"]) + len(outputs["cond_frame_outputs"]))
        for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
            for stored in outputs[kind].values():
                assert not set(UNREAD_OUTPUTS) & set(stored)
    # The prompted frame, and the last _keep + 1 tracked frames at most.
    assert max(kept) == session._keep + 2 < len(frames), kept
    session.close()
    assert not session.state.output_dict_per_obj and session.state.processed_frames is None
    assert session.object_ids == []


def test_objects_prompted_one_by_one_removed_and_added_again(
    segmenter: Sam2VideoSegmenter, frames: list[np.ndarray]
) -> None:
    session = window(segmenter, frames, boxed=BOXES)
    assert session.object_ids == [3, 1, 2] and 1 in session and 4 not in session
    before = list(session.propagate(0, 3))
    assert [set(masks) for _, masks in before] == [{3, 1, 2}] * 4
    state = session.state
    outputs_of = {i: state.output_dict_per_obj[state.obj_id_to_idx(i)] for i in (3, 2)}

    session.remove(1)
    session.remove(99)  # not followed: nothing happens
    assert session.object_ids == [3, 2] and 1 not in session
    # The others keep their state, under consecutive indices.
    assert state.output_dict_per_obj[0] is outputs_of[3]
    assert state.output_dict_per_obj[1] is outputs_of[2]
    for name in PER_OBJECT_STATE:
        assert set(getattr(state, name)) == {0, 1}, name
    after = dict(session.propagate(4, 8))
    assert all(set(masks) == {3, 2} for masks in after.values())

    # A session that never had object 1 follows the other two alike.
    alone = window(segmenter, frames, boxed=(3, 2))
    expected = dict(alone.propagate(0, 8))
    for frame in range(4, 9):
        for object_id in (3, 2):
            agree = np.mean(after[frame][object_id] == expected[frame][object_id])
            assert agree > 0.999, (frame, object_id, agree)

    session.add_box(8, 1, np.array(BOXES[1]))
    assert session.object_ids == [3, 2, 1]
    again = list(session.propagate(8, 10))
    assert [set(masks) for _, masks in again] == [{3, 2, 1}] * 3
    assert again[0][1][1].any()
    for each in (session, alone):
        each.close()


def test_a_prompt_is_propagated_from_its_own_frame(
    segmenter: Sam2VideoSegmenter, frames: list[np.ndarray]
) -> None:
    session = window(segmenter, frames, boxed=[1], on=3)
    with pytest.raises(ValueError, match=r"prompts on frames \[3\] must be propagated"):
        next(session.propagate(0, 5))
    session.close()


def test_a_mask_prompt_carries_an_object_into_a_new_window(
    segmenter: Sam2VideoSegmenter, frames: list[np.ndarray]
) -> None:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[30:80, 40:100] = True
    session = window(segmenter, frames, 4)
    session.add_mask(0, 5, mask)
    session.add_box(0, 6, np.array(BOXES[2]))
    results = dict(session.propagate(0, 3))
    # SAM 2 outputs a mask prompt as it is (at its own resolution) on the prompted frame.
    agree = np.mean(results[0][5] == mask)
    assert agree > 0.97, agree
    assert set(results[3]) == {5, 6}
    session.close()


# --------------------------------------------------------------------------- weights


def write_folder(root: Path, config: dict | str | None, weights: bytes | Path | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        text = config if isinstance(config, str) else json.dumps(config)
        (root / "config.json").write_text(text)
    if isinstance(weights, Path):
        (root / "model.safetensors").write_bytes(weights.read_bytes())
    elif weights is not None:
        (root / "model.safetensors").write_bytes(weights)
    return root


def image_model_only(root: Path) -> Path:
    """An image-only SAM 2 (``Sam2Model``): no memory weights."""
    from transformers import Sam2Config, Sam2Model

    tiny = tiny_config()
    config = Sam2Config(
        vision_config=tiny.vision_config.to_dict(),
        prompt_encoder_config={"hidden_size": 128, "image_size": 128},
        mask_decoder_config=tiny.mask_decoder_config.to_dict(),
    )
    Sam2Model(config).save_pretrained(root)
    return root


def unfit_config(tiny: Path, root: Path) -> Path:
    values = json.loads((tiny / "config.json").read_text())
    values["vision_config"]["backbone_config"]["embed_dim_per_stage"] = [16, 32, 64, 128]
    return write_folder(root, values, tiny / "model.safetensors")


#: name -> (weights to pass, built from the tiny folder and a temporary one; error; message part)
WEIGHTS_CASES: dict[str, tuple[Callable[[Path, Path], str], type, str]] = {
    "no such folder": (
        lambda tiny, tmp: str(tmp / "nowhere"),
        models.MissingWeightsError,
        "is not a folder holding config.json",
    ),
    "Meta's .pt checkpoint": (
        lambda tiny, tmp: str(write_pt(tmp / "sam2.1_hiera_small.pt")),
        models.MissingWeightsError,
        "a .pt file of Meta's sam2 package",
    ),
    "a folder without weights": (
        lambda tiny, tmp: str(
            write_folder(tmp / "c", json.loads((tiny / "config.json").read_text()), None)
        ),
        models.MissingWeightsError,
        "holds no model.safetensors",
    ),
    "another model's folder": (
        lambda tiny, tmp: str(
            write_folder(tmp / "d", {"model_type": "detr"}, tiny / "model.safetensors")
        ),
        models.ModelError,
        "its config is for a detr model, not SAM 2",
    ),
    "a config that is not JSON": (
        lambda tiny, tmp: str(write_folder(tmp / "j", "{not json", tiny / "model.safetensors")),
        models.ModelError,
        "is not a SAM 2 video checkpoint that SAM 2.1 Hiera-S can load (OSError",
    ),
    "corrupt weights": (
        lambda tiny, tmp: str(
            write_folder(tmp / "w", json.loads((tiny / "config.json").read_text()), b"x" * 64)
        ),
        models.ModelError,
        "is not a SAM 2 video checkpoint",
    ),
    "a config the weights do not fit": (
        lambda tiny, tmp: str(unfit_config(tiny, tmp / "u")),
        models.ModelError,
        "is not a SAM 2 video checkpoint",
    ),
    "an image-only SAM 2": (
        lambda tiny, tmp: str(image_model_only(tmp / "i")),
        models.ModelError,
        "(ValueError: it lacks 160 of the model's weights, e.g. mask_downsample.bias)",
    ),
    "a Hub checkpoint offline and not cached": (
        lambda tiny, tmp: "facebook/sam2.1-hiera-small",
        models.MissingWeightsError,
        "It looked for 'facebook/sam2.1-hiera-small'",
    ),
    "an unknown architecture": (
        lambda tiny, tmp: "random:medium",
        models.ModelError,
        "Unknown SAM 2.1 architecture 'random:medium'",
    ),
    "a missing architecture file": (
        lambda tiny, tmp: str(tmp / "gone.json"),
        models.MissingWeightsError,
        "gone.json",
    ),
    "another model's architecture file": (
        lambda tiny, tmp: str(write_json(tmp / "detr.json", {"model_type": "detr"})),
        models.ModelError,
        "is not a SAM 2 video config",
    ),
}


def write_pt(path: Path) -> Path:
    torch.save({"model": {"image_encoder.weight": torch.zeros(1)}}, path)
    return path


def write_json(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values))
    return path


@pytest.mark.parametrize("case", list(WEIGHTS_CASES))
def test_every_loading_failure_is_one_clear_model_error(
    case: str, tiny_sam2_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    build, error, message = WEIGHTS_CASES[case]
    weights = build(tiny_sam2_weights, tmp_path)
    with pytest.raises(models.ModelError) as info:
        models.create("segmenter", "YSAM2-S", weights=weights)
    assert type(info.value) is error, info.value
    text = str(info.value)
    assert message in text and "Traceback" not in text and "\n" not in text
    if error is models.MissingWeightsError:
        assert "SAM2_SMALL_WEIGHTS" in text
        assert not location_status(locate_weights(variant="small", weights=weights)).available


def test_the_default_weights_are_the_hub_checkpoint_of_each_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    for variant, repo in (
        ("small", "facebook/sam2.1-hiera-small"),
        ("base_plus", "facebook/sam2.1-hiera-base-plus"),
        ("large", "facebook/sam2.1-hiera-large"),
    ):
        monkeypatch.delenv(f"SAM2_{variant.upper()}_WEIGHTS", raising=False)
        location = locate_weights(variant=variant)
        assert location.remote.describe() == repo and not location.random_weights
        # What from_pretrained reads: the config and the weights, no processor files.
        assert location.remote.required == ("config.json",)
        status = location_status(location)
        assert not status.available and f"SAM2_{variant.upper()}_WEIGHTS" in status.message


def test_random_architectures_of_each_size_and_from_a_config_file(
    frames: list[np.ndarray], tmp_path: Path
) -> None:
    segmenter = models.create("segmenter", "YSAM2-S", weights="random:small", image_size=128)
    assert segmenter.random_weights and segmenter.info()["weights"] == "random:small"
    assert segmenter.image_size == 128
    published = architecture("small", image_size=128).to_dict()
    assert segmenter.model.config.to_dict()["vision_config"] == published["vision_config"]
    session = window(segmenter, frames, 2, boxed=[1])
    [(_, first), (_, second)] = list(session.propagate(0, 1))
    assert first[1].shape == second[1].shape == (HEIGHT, WIDTH)
    session.close()

    config_file = tmp_path / "tiny_sam2.json"
    tiny_config().to_json_file(config_file)
    tiny = models.create("segmenter", "YSAM2-L", weights=str(config_file))
    assert tiny.random_weights and tiny.model.config.vision_config.backbone_config.hidden_size == 8
    for weights in ("random:large", str(config_file)):
        status = location_status(locate_weights(variant="large", weights=weights))
        assert status.available and status.source == ARCHITECTURE


def test_the_input_size_changes_no_weight(tiny_sam2_weights: Path) -> None:
    native = models.create("segmenter", "YSAM2-S", weights=str(tiny_sam2_weights))
    smaller = models.create("segmenter", "YSAM2-S", weights=str(tiny_sam2_weights), image_size=64)
    assert (native.image_size, smaller.image_size) == (128, 64)
    assert smaller.model.config.memory_attention_rope_feat_sizes == [4, 4]
    for name, value in native.model.state_dict().items():
        assert torch.equal(value, smaller.model.state_dict()[name]), name
    frames = [draw_frame(i, WIDTH, HEIGHT) for i in range(3)]
    session = smaller.session(lambda i: frames[i], 3, HEIGHT, WIDTH)
    session.add_box(0, 1, np.array(BOXES[1]))
    assert [frame for frame, _ in session.propagate(0, 2)] == [0, 1, 2]
    with pytest.raises(models.ModelError, match="multiple of 32"):
        models.create("segmenter", "YSAM2-S", weights=str(tiny_sam2_weights), image_size=100)


def test_the_tiny_model_saved_is_the_one_built(tiny_sam2_weights: Path) -> None:
    loaded = models.create("segmenter", "YSAM2-S", weights=str(tiny_sam2_weights))
    built = tiny_model()
    assert not loaded.random_weights
    for name, value in built.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[name]), name


# --------------------------------------------------------------------------- no sam2 package


def test_nothing_imports_the_sam2_package_nor_hydra(tmp_path: Path) -> None:
    """The app, its models and a SAM 2 segmenter at work, in a fresh interpreter."""
    config_file = tmp_path / "tiny.json"
    tiny_config().to_json_file(config_file)
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import app  # the whole app, as a Space builds it
        import models, pipeline
        for kind in ("detector", "depth", "segmenter"):
            models.available(kind)
        segmenter = models.create("segmenter", "GSAM2-S", weights={str(config_file)!r})
        session = segmenter.session(lambda i: np.zeros((48, 64, 3), np.uint8), 2, 48, 64)
        session.add_box(0, 1, np.array([4, 4, 30, 30]))
        list(session.propagate(0, 1))
        loaded = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("sam2", "hydra", "omegaconf", "iopath")
        )
        print("LOADED", loaded)
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "VIDEO_APP_OUTPUT_DIR": str(tmp_path / "runs"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED []" in result.stdout, result.stdout


def test_no_source_file_nor_requirement_names_the_sam2_package() -> None:
    import ast

    banned = {"sam2", "hydra", "omegaconf"}
    for path in REPO_ROOT.rglob("*.py"):
        if ".git" in path.parts or ".venv" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in banned, f"{path}: imports {name}"
    for requirements in REPO_ROOT.glob("requirements*.txt"):
        for line in requirements.read_text().splitlines():
            name = line.split("#")[0].split(";")[0].strip()
            for separator in ("==", ">=", "<=", "~=", "[", "<", ">"):
                name = name.split(separator)[0]
            assert name.strip().lower() not in banned | {"hydra-core"}, f"{requirements}: {line}"
