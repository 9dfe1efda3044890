"""SAM 3: the segmenter that takes the text itself, on every path, its architecture and its weights.

SAM 3 runs as a tiny ``transformers`` ``Sam3VideoModel`` with random weights at
112 px (``tiny_sam3.py``), saved with ``save_pretrained`` (processor and
tokenizer included) and loaded through ``SAM3_WEIGHTS`` or ``--weights`` as a
user's weights would be. Random weights give arbitrary masks, so exact
expectations about ids across windows come from a perfect stand-in (masks by
colour, fresh ids in every session, a duplicate now and then) that exercises
the same windows and id mapping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pytest
import supervision as sv
from fake_hub import FakeHub
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from serving import served
from synthetic import COLORS_BGR, MovingShape, make_video

import models
from models.detectors.base import CLASS_NAME
from models.errors import InvalidQueryError, ModelError
from models.segmenters.base import TextSegmenter, TextSession
from models.segmenters.sam3_architecture import architecture, random_architecture
from models.segmenters.sam3_video import HUB_ID, Sam3Segmenter, Sam3Session
from pipeline import SegmentationConfig, start
from pipeline.cli.main import main as cli_main
from pipeline.configs import ConfigError
from pipeline.io.rle import decode, rle_area
from pipeline.io.video import iter_frames
from pipeline.runtime.events import Done
from ui.model_choices import licence_text
from ui.settings import Settings
from ui.tabs.segmentation import (
    SegmentationHandlers,
    build_segmentation_config,
    build_segmentation_tab,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 320, 240

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def check_masks_json(path: Path, frames: int) -> dict:
    """The masks file is well formed: every frame once, ids unique per frame, RLE that decodes."""
    data = json.loads(path.read_text())
    assert [f["frame"] for f in data["frames"]] == list(range(frames))
    size = [data["video"]["height"], data["video"]["width"]]
    for frame in data["frames"]:
        ids = [obj["track_id"] for obj in frame["objects"]]
        assert len(ids) == len(set(ids)), "an id appears twice in one frame"
        for obj in frame["objects"]:
            assert obj["mask"]["size"] == size
            mask = decode(obj["mask"])
            assert int(mask.sum()) == obj["area"] == rle_area(obj["mask"]) > 0
            ys, xs = np.nonzero(mask)
            assert obj["box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    return data


def ids_by_frame(data: dict) -> list[set[int]]:
    return [{obj["track_id"] for obj in f["objects"]} for f in data["frames"]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny_sam3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tiny SAM 3 saved like a user's weights; ``SAM3_WEIGHTS`` names it."""
    from tiny_sam3 import save_tiny_weights

    folder = save_tiny_weights(tmp_path_factory.mktemp("tiny-sam3"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAM3_WEIGHTS", str(folder))
        models.clear_cache()
        yield folder
    models.clear_cache()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "shapes.mp4", frames=12)


# --------------------------------------------------------------------------- architecture


def test_the_offered_architecture_is_the_published_one() -> None:
    """``random:sam3`` is facebook/sam3's architecture (transformers documents its defaults so)."""
    import torch
    from transformers import Sam3VideoModel

    config = architecture()
    detector, tracker = config.detector_config, config.tracker_config
    vit = detector.vision_config.backbone_config
    assert (vit.hidden_size, vit.num_hidden_layers, vit.num_attention_heads) == (1024, 32, 16)
    assert (vit.patch_size, vit.window_size, vit.global_attn_indexes) == (14, 24, [7, 15, 23, 31])
    assert config.image_size == tracker.image_size == 1008
    text = detector.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (1024, 24, 16)
    assert (text.vocab_size, text.max_position_embeddings) == (49408, 32)
    assert detector.detr_encoder_config.num_layers == detector.detr_decoder_config.num_layers == 6
    assert detector.detr_decoder_config.num_queries == 200
    assert detector.vision_config.fpn_hidden_size == 256
    assert (tracker.num_maskmem, tracker.max_object_pointers_in_encoder) == (7, 16)
    assert (config.score_threshold_detection, config.new_det_thresh) == (0.5, 0.7)
    assert config.hotstart_delay == 15
    with torch.device("meta"):  # the weights' shapes only, no memory
        parameters = sum(p.numel() for p in Sam3VideoModel(config).parameters())
    # The Hub lists facebook/sam3 as a 0.9B-parameter model.
    assert round(parameters / 1e9, 1) == 0.9
    assert random_architecture("random:sam3").to_dict() == config.to_dict()


def test_random_architecture_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="use random:sam3"):
        random_architecture("random:large")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model_type": "sam2_video"}))
    with pytest.raises(ModelError, match="not a SAM 3 video config"):
        random_architecture(str(other))
    with pytest.raises(ModelError, match="its own input size"):
        models.create("segmenter", "SAM3", device="cpu", weights="random:sam3", image_size=512)


# --------------------------------------------------------------------------- ids (stand-in)


class OracleTextSession:
    """A perfect stand-in for SAM 3 on the synthetic videos: each query is a colour.

    Like SAM 3, every session numbers its objects afresh (here from 100 per
    session, in reverse order of the queries); on its first and third frames it
    also reports red twice, as a detector without NMS would.
    """

    sessions = 0

    def __init__(self, frame_at, num_frames: int, height: int, width: int) -> None:
        self.frame_at = frame_at
        OracleTextSession.sessions += 1
        self.base = 100 * OracleTextSession.sessions
        self.queries: list[str] = []

    def add_text(self, queries) -> None:
        self.queries.extend(queries)

    def propagate(self, start: int, end: int):
        scores = {"red": 0.9, "blue": 0.8, "green": 0.7}
        for frame in range(start, end + 1):
            image = self.frame_at(frame)
            rows = []
            for place, query in enumerate(self.queries):
                mask = np.all(np.abs(image.astype(int) - COLORS_BGR[query]) < 60, axis=-1)
                if mask.any():
                    rows.append((self.base + len(self.queries) - place, query, place, mask))
            if frame in (0, 2) and any(q == "red" for _, q, _, _ in rows):
                red = next(row for row in rows if row[1] == "red")
                rows.append((self.base + 50, "red", red[2], red[3]))
            if not rows:
                yield frame, sv.Detections.empty()
                continue
            yield frame, sv.Detections(
                xyxy=np.array([sv.mask_to_xyxy(m[None])[0] for *_, m in rows], dtype=float),
                mask=np.stack([m for *_, m in rows]),
                confidence=np.array([scores[q] for _, q, _, _ in rows]),
                class_id=np.array([p for _, _, p, _ in rows]),
                tracker_id=np.array([i for i, *_ in rows]),
                data={CLASS_NAME: np.array([q for _, q, _, _ in rows], dtype=object)},
            )

    def close(self) -> None:
        self.queries.clear()


class OracleTextSegmenter:
    random_weights = False

    def validate_queries(self, queries) -> tuple[str, ...]:
        return tuple(queries)

    def text_session(self, frame_at, num_frames: int, height: int, width: int):
        return OracleTextSession(frame_at, num_frames, height, width)

    def info(self) -> dict:
        return {"name": "test-text-oracle", "random_weights": False}


models.register(
    "segmenter",
    "test-text-oracle",
    models.ModelCard("test-text-oracle", open_vocabulary=True),
    hidden=True,
    text_prompts=True,
)(lambda device="cpu", **_: OracleTextSegmenter())

# Red stays; blue leaves through the right edge (gone from frame 9); green comes in from the
# left (seen from frame 7).
EXIT_ENTER = (
    MovingShape("red", (10, 20), (4, 0)),
    MovingShape("blue", (250, 100), (8, 0)),
    MovingShape("green", (-70, 170), (5, 0)),
)


def test_sam3_and_the_stand_in_follow_the_text_segmenter_interface(tiny_sam3: Path) -> None:
    segmenter = models.get_cached("segmenter", "SAM3", device="cpu")
    assert isinstance(segmenter, Sam3Segmenter) and isinstance(segmenter, TextSegmenter)
    assert isinstance(OracleTextSegmenter(), TextSegmenter)
    session = segmenter.text_session(lambda _: np.zeros((8, 8, 3), np.uint8), 1, 8, 8)
    try:
        assert isinstance(session, Sam3Session) and isinstance(session, TextSession)
    finally:
        session.close()


def test_a_session_holds_only_the_outputs_the_tracker_reads_again(tiny_sam3: Path) -> None:
    segmenter = models.get_cached("segmenter", "SAM3", device="cpu")
    frames = [np.full((60, 80, 3), 40 + 5 * i, np.uint8) for i in range(30)]
    session = segmenter.text_session(frames.__getitem__, len(frames), 60, 80)
    try:
        session.add_text(["grey"])
        seen = [(frame, len(found)) for frame, found in session.propagate(0, len(frames) - 1)]
        assert [frame for frame, _ in seen] == list(range(len(frames)))
        assert seen[-1][1] > 0, "objects are still followed at the end"
        tracker = segmenter.model.config.tracker_config
        keep = 1 + max(tracker.num_maskmem, tracker.max_object_pointers_in_encoder)
        stored = session.state.output_dict_per_obj
        assert stored and keep < len(frames) - 1
        for outputs in stored.values():
            # The last frame's and the ``keep`` before it; without pruning, one per frame.
            assert len(outputs["non_cond_frame_outputs"]) <= keep + 1
    finally:
        session.close()


def test_run_ids_stay_across_windows_whatever_the_session_ids(tmp_path: Path) -> None:
    frames = 30
    path = make_video(tmp_path / "exit_enter.mp4", frames=frames, shapes=EXIT_ENTER)
    config = SegmentationConfig(
        segmenter="test-text-oracle", queries=("red", "blue", "green"), step=4, window=8
    )
    OracleTextSession.sessions = 0
    outputs = {"video": tmp_path / "o.mp4", "masks": tmp_path / "o.json"}
    events = list(start(path, config, outputs))
    assert isinstance(events[-1], Done)
    summary = events[-1].summary
    assert summary.windows == 4 and OracleTextSession.sessions == 4
    assert summary.tracks_per_class == {"red": 1, "blue": 1, "green": 1}
    data = check_masks_json(tmp_path / "o.json", frames)
    assert data["model"]["queries"] == ["red", "blue", "green"]
    assert "detector" not in data["model"]

    seen: dict[str, dict[int, int]] = defaultdict(dict)
    for entry, frame in zip(data["frames"], iter_frames(path), strict=True):
        for obj in entry["objects"]:
            seen[obj["class"]][entry["frame"]] = obj["track_id"]
            truth = np.all(np.abs(frame.image.astype(int) - COLORS_BGR[obj["class"]]) < 60, -1)
            assert np.array_equal(decode(obj["mask"]), truth)
    # Highest score first on frame 0, then green when it comes; the duplicate red of each
    # session's first and third frames got no id of its own.
    assert {name: set(by_frame.values()) for name, by_frame in seen.items()} == {
        "red": {1},
        "blue": {2},
        "green": {3},
    }
    assert sorted(seen["red"]) == list(range(frames))
    assert sorted(seen["blue"]) == list(range(9))
    assert sorted(seen["green"]) == list(range(7, frames))


# --------------------------------------------------------------------------- tiny SAM 3


def test_tiny_sam3_segments_from_text_on_the_cli(
    tiny_sam3: Path, video: Path, tmp_path: Path, capsys
) -> None:
    out, masks = tmp_path / "cli" / "s.mp4", tmp_path / "cli" / "s.json"
    args = ["segment", "--segmenter", "SAM3", "--step", "4", "--window", "4", "--max-frames", "6"]
    files = ["--out", str(out), "--json", str(masks), "--no-progress"]
    status = cli_main([*args, str(video), "--queries", "red square, blue square", *files])
    assert status == 0, capsys.readouterr().err
    data = check_masks_json(masks, 6)
    model = data["model"]
    assert model["segmenter"]["name"] == "SAM3"
    assert model["segmenter"]["license"] == "SAM License"
    assert model["queries"] == ["red square", "blue square"]
    assert "detector" not in model
    ids = ids_by_frame(data)
    assert ids[0], "the tiny model's thresholds make every query an instance"
    # Within a window (frames 0-3) SAM 3's own ids hold, so the run's do too.
    assert all(frame <= ids[0] for frame in ids[1:4])
    assert {o["class"] for f in data["frames"] for o in f["objects"]} <= {
        "red square",
        "blue square",
    }
    assert "SAM License" in capsys.readouterr().out  # the summary's licences

    status = cli_main([*args, str(video), *files])
    assert status == 2 and "enter text queries" in capsys.readouterr().err
    status = cli_main(
        [*args, str(video), "--queries", "cat", "--detector", "yolox_nano", *files]
    )
    assert status == 2 and "takes no detector" in capsys.readouterr().err


def test_sam3_config_refuses_detectors_clicks_and_missing_queries(
    tiny_sam3: Path, video: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="takes no detector"):
        SegmentationConfig(segmenter="SAM3", queries=("car",), detector="yolox_nano")
    with pytest.raises(ConfigError, match="not clicks"):
        SegmentationConfig(segmenter="SAM3", prompts='{"objects": [{"box": [1, 2, 30, 40]}]}')
    config = SegmentationConfig(segmenter="SAM3", queries=("car",))
    assert [load.kind for load in config.model_loads()] == ["segmenter"]
    assert config.models_used() == [("segmenter", "SAM3", None)]
    allowed = models.available("segmenter")
    assert "SAM3" in allowed
    with pytest.raises(gr.Error, match="enter text queries"):
        build_segmentation_config("SAM3", " ", 10, allowed=allowed)
    with pytest.raises(ConfigError, match="enter text queries"):
        SegmentationConfig(segmenter="SAM3")
    # A segmenter that takes text checks the queries itself too, when the run loads it.
    with pytest.raises(InvalidQueryError, match="enter text queries"):
        models.get_cached("segmenter", "SAM3", device="cpu").validate_queries(" , ")


def test_the_licence_is_shown_like_the_others() -> None:
    assert licence_text("segmenter", "SAM3") == "SAM License"
    spec = models.spec("segmenter", "SAM3")
    assert spec.license_summary == "SAM License" and spec.open_vocabulary
    assert "detector" not in spec.extra


# --------------------------------------------------------------------------- gradio_client


@pytest.fixture(scope="module")
def client(tiny_sam3: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A small app whose Segmentation tab offers SAM3 (the tiny weights) beside GSAM2-S."""
    settings = Settings.from_env({"VIDEO_APP_OUTPUT_DIR": str(tmp_path_factory.mktemp("runs"))})
    handlers = SegmentationHandlers(
        settings, segmenters=["GSAM2-S", "SAM3"], config_overrides={"window": 4}
    )
    with gr.Blocks() as demo, gr.Tabs():
        build_segmentation_tab(handlers)
    with served(demo) as url:
        yield Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("client")))


def test_segment_endpoint_runs_sam3_with_the_queries(client: Client, video: Path) -> None:
    *_, masks, summary = client.predict(
        handle_file(str(video)), "SAM3", "red square", 4, api_name="/segment"
    )
    data = check_masks_json(Path(masks), 12)
    assert data["model"]["queries"] == ["red square"]
    assert summary["frames"] == 12
    assert {item["license"] for item in summary["licenses"]} == {"SAM License"}
    image = client.predict(
        handle_file(str(video)), "SAM3", "red square", 4, api_name="/first_frame_segment"
    )
    assert cv2.imread(image).shape == (HEIGHT, WIDTH, 3)
    with pytest.raises(AppError, match="enter text queries"):
        client.predict(handle_file(str(video)), "SAM3", "", 4, api_name="/segment")
    prompts = '{"objects": [{"box": [1, 2, 30, 40]}]}'
    with pytest.raises(AppError, match="not clicks"):
        client.predict(handle_file(str(video)), "SAM3", "", 4, prompts, api_name="/segment")


# --------------------------------------------------------------------------- gated weights

GATED = """
import json
import models
from models.errors import MissingWeightsError
from models.prefetch import ModelLoad, fetch_weights
said = []
try:
    list(fetch_weights([ModelLoad("segmenter", "SAM3", {})]))
except MissingWeightsError as exc:
    said.append(str(exc))
try:
    models.create("segmenter", "SAM3", device="cpu")
except MissingWeightsError as exc:
    said.append(str(exc))
print(json.dumps(said))
"""


def test_gated_weights_say_how_to_get_access(tmp_path: Path) -> None:
    with FakeHub({HUB_ID: {"config.json": b"{}"}}, gated=(HUB_ID,)) as hub:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
        env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1")
        for name in ("HF_HUB_CACHE", "HF_TOKEN", "SAM3_WEIGHTS"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-c", GATED], cwd=REPO_ROOT, env=env, capture_output=True,
            text=True, timeout=180,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    prefetch, load = json.loads(done.stdout.strip().splitlines()[-1])
    for message in (prefetch, load):
        assert message.startswith(f"SAM 3's weights ({HUB_ID}) are gated: request access on ")
        assert f"https://huggingface.co/{HUB_ID}" in message
        assert "HF_TOKEN Space secret" in message
        assert "Traceback" not in message


def test_a_batch_segments_every_video_with_sam3(tiny_sam3: Path, video: Path, tmp_path: Path):
    from pipeline.cli.main import main

    out = tmp_path / "out"
    argv = ["batch", str(video), "--out", str(out), "--task", "segment",
            "--segmenter", "SAM3", "--queries", "red square", "--window", "4",
            "--max-frames", "5", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    [line] = [json.loads(text) for text in (out / "manifest.jsonl").read_text().splitlines()]
    assert line["status"] == "done" and line["summary"]["frames"] == 5
    data = check_masks_json(Path(line["outputs"]["masks"]), 5)
    assert data["model"]["segmenter"]["name"] == "SAM3"
    assert data["model"]["queries"] == ["red square"]
