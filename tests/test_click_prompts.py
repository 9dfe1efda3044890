"""Click to segment: objects picked by clicks and boxes, followed through windows with stable ids.

Exact expectations come from a clickable stand-in segmenter that segments by
colour: a positive click (or a box) picks the colour under it, and the masks
are that colour's pixels on every frame, so the run's windows, ids and frames
can be checked exactly. The real SAM 2 code runs as the tiny model
(``tiny_sam2.py``) through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from colour_segmenter import ColourSegmenter, ColourSession, colour_mask, nearest_colour, register
from synthetic import COLORS_BGR, DEFAULT_SHAPES, make_video

import models
from pipeline import SegmentationConfig, start
from pipeline.cli.main import main as cli_main
from pipeline.errors import ConfigError, PipelineError
from pipeline.io.rle import decode
from pipeline.io.video import iter_frames
from pipeline.runtime.events import Done
from pipeline.stages.click_prompts import parse_prompts

WIDTH, HEIGHT = 320, 240
FRAMES = 14
SHAPES = {shape.color: shape for shape in DEFAULT_SHAPES}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def colour_at(image: np.ndarray, x: float, y: float) -> str | None:
    pixel = image[int(y), int(x)].astype(int)
    for name, bgr in COLORS_BGR.items():
        if np.all(np.abs(pixel - bgr) < 60):
            return name
    return None


class ClickSession(ColourSession):
    """Follows the colour under an object's positive clicks (or its box's centre)."""

    log: list[tuple] = []

    def add_box(self, frame: int, object_id: int, box: np.ndarray) -> None:
        raise AssertionError("hand-picked objects are never prompted by a detector's box")

    def add_clicks(self, frame, object_id, points, labels, box=None) -> None:
        ClickSession.log.append(("clicks", frame, object_id, points.tolist(), labels.tolist()))
        image = self.frame_at(frame)
        on = [p for p, label in zip(points, labels, strict=True) if label == 1]
        x, y = on[0] if on else ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        colour = colour_at(image, x, y)
        if colour is not None:
            self.colours[object_id] = colour

    def add_mask(self, frame: int, object_id: int, mask: np.ndarray) -> None:
        ClickSession.log.append(("mask", frame, object_id))
        self.colours[object_id] = nearest_colour(self.frame_at(frame), mask)


@register
class ClickSegmenter(ColourSegmenter):
    name = "test-clicks"
    session_class = ClickSession


def centre(colour: str, frame: int) -> list[int]:
    x1, y1, x2, y2 = SHAPES[colour].box(frame)
    return [(x1 + x2) // 2, (y1 + y2) // 2]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("clicks") / "shapes.mp4", frames=FRAMES)


# --------------------------------------------------------------------------- the JSON


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        ('{"objects": []}', "non-empty list of objects"),
        ('{"frame": -1, "objects": [{"box": [0, 0, 5, 5]}]}', "whole number from 0"),
        ('{"frame": 0, "objects": [{"box": [0, 0, 5, 5]}], "x": 1}', "unknown keys ['x']"),
        ('{"objects": [{"points": [[1, 2, 0]]}]}', "at least one positive click"),
        ('{"objects": [{"points": [[1, 2, 3]]}]}', "has label 3"),
        ('{"objects": [{"points": [[1, 2]]}]}', "must be 3 numbers"),
        ('{"objects": [{"box": [5, 5, 2, 9]}]}', "0 <= x1 < x2"),
        ('{"objects": [{"box": [0, 0, 5, 5], "mask": 1}]}', "Object 1 of the prompts has unknown"),
        ('{"objects": [{"box": [0, 0, 5, 5]}, 7]}', "Object 2 of the prompts must be"),
        # Abuse: each is refused before it costs anything, never a server error.
        ("[" * 40_000 + "]" * 40_000, "nested too deeply"),
        ("[" * 60_000 + "]" * 60_000, "the limit is 100000"),
        ('{"frame": ' + "9" * 5000 + ', "objects": []}', "too long to be one"),
        ('{"objects": [{"points": [[1e400, 1, 1]]}]}', "must be finite, not '1e400'"),
        ('{"objects": [{"points": [[NaN, 1, 1]]}]}', "must be finite, not 'NaN'"),
        ('{"objects": [' + ", ".join(['{"box": [0, 0, 5, 5]}'] * 101) + "]}", "the limit is 100"),
        ('{"objects": [{"points": ' + str([[1, 1, 1]] * 101) + "}]}", "101 clicks"),
        ('{"objects": [{"points": 5}]}', "its points must be a list"),
    ],
)
def test_every_malformed_prompt_is_one_clear_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SegmentationConfig(segmenter="YSAM2-S", prompts=text)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert len(str(info.value)) < 200  # a long value is never echoed back


def test_prompts_are_kept_as_canonical_json_and_need_no_detector() -> None:
    config = SegmentationConfig(
        segmenter="YSAM2-S",
        prompts={"objects": [{"points": [[5, 6, 1], [7, 8, 0]], "box": [1, 2, 30, 40]}]},
    )
    assert json.loads(config.prompts) == {
        "frame": 0,
        "objects": [{"points": [[5.0, 6.0, 1], [7.0, 8.0, 0]], "box": [1.0, 2.0, 30.0, 40.0]}],
    }
    assert [load.kind for load in config.model_loads()] == ["segmenter"]
    assert config.drop_after_frames > 10**9  # hand-picked objects are never dropped
    assert parse_prompts(config.prompts).by_id()[1].extent().tolist() == [1, 2, 30, 40]


# --------------------------------------------------------------------------- the run


def test_clicked_objects_are_followed_from_their_frame_with_stable_ids(
    video: Path, tmp_path: Path
) -> None:
    picked = 3
    prompts = {
        "frame": picked,
        "objects": [
            {"points": [[*centre("green", picked), 1], [5, 5, 0]]},
            {"box": list(SHAPES["red"].box(picked))},
        ],
    }
    config = SegmentationConfig(
        segmenter="test-clicks", prompts=json.dumps(prompts), step=4, window=4
    )
    ClickSession.log.clear()
    outputs = {"video": tmp_path / "c.mp4", "masks": tmp_path / "c.json"}
    *_, done = start(video, config, outputs)
    assert isinstance(done, Done)
    assert done.summary.frames == FRAMES
    # Windows of 4 end where they would from frame 0: 3-4, 4-8, 8-12, 12-13; objects
    # cross into each new window as masks.
    assert done.summary.windows == 4
    assert ClickSession.log[0] == ("clicks", 0, 1, [centre("green", picked), [5, 5]], [1, 0])
    assert [e for e in ClickSession.log if e[0] == "mask"] == [("mask", 0, 1), ("mask", 0, 2)] * 3
    data = json.loads(Path(done.outputs["masks"]).read_text())
    assert data["model"]["prompts"] == json.loads(config.prompts)
    assert "detector" not in data["model"]
    images = [frame.image for frame in iter_frames(video)]
    for frame in data["frames"]:
        index = frame["frame"]
        if index < picked:
            assert frame["objects"] == []
            continue
        by_id = {obj["track_id"]: obj for obj in frame["objects"]}
        assert set(by_id) == {1, 2}
        for object_id, colour in ((1, "green"), (2, "red")):
            mask = decode(by_id[object_id]["mask"])
            assert np.array_equal(mask, colour_mask(images[index], colour))
            assert by_id[object_id]["class"] == "object"


def test_a_segmenter_that_takes_no_clicks_and_prompts_off_the_video_say_so(
    video: Path, tmp_path: Path
) -> None:
    outputs = {"video": tmp_path / "x.mp4", "masks": tmp_path / "x.json"}
    outside = SegmentationConfig(
        segmenter="test-clicks", prompts='{"frame": 99, "objects": [{"box": [0, 0, 5, 5]}]}'
    )
    with pytest.raises(PipelineError, match="on frame 99, but the video has 14 frames"):
        list(start(video, outside, outputs))
    off = SegmentationConfig(
        segmenter="test-clicks", prompts='{"objects": [{"points": [[500, 10, 1]]}]}'
    )
    with pytest.raises(PipelineError, match=r"click \(500, 10\) is outside the 320x240 frame"):
        list(start(video, off, outputs))


def test_the_cli_follows_clicks_with_the_tiny_sam2(
    tiny_sam2_weights: Path, video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAM2_SMALL_WEIGHTS", str(tiny_sam2_weights))
    models.clear_cache()
    masks = tmp_path / "m.json"
    prompts = {
        "frame": 1,
        "objects": [{"points": [[*centre("blue", 1), 1], [5, 5, 0]]}, {"box": [10, 20, 60, 70]}],
    }
    status = cli_main(
        [
            "segment",
            str(video),
            "--segmenter",
            "YSAM2-S",
            "--prompts",
            json.dumps(prompts),
            "--window",
            "6",
            "--step",
            "3",
            "--max-frames",
            "9",
            "--json",
            str(masks),
        ]
    )
    models.clear_cache()
    assert status == 0
    data = json.loads(masks.read_text())
    assert data["model"]["prompts"]["frame"] == 1
    assert data["frames"][0]["objects"] == []
    ids = {obj["track_id"] for f in data["frames"] for obj in f["objects"]}
    assert ids and ids <= {1, 2}


# --------------------------------------------------------------------------- the tab's picker


def test_the_picker_builds_objects_from_clicks_and_draws_them(video: Path) -> None:
    from ui.tabs.segmentation_clicks import add_click, canvas, new_object, undo

    text, state, note = add_click("", "negative", {}, (5, 5))
    assert "Add a positive click or a box too" in note
    text, state, _ = add_click(text, "positive", state, centre("red", 0))
    state, note = new_object(text)
    assert note.startswith("Object 2:")
    text, state, note = add_click(text, "box", state, (150, 190))
    assert "opposite corner" in note and len(json.loads(text)["objects"]) == 1
    text, state, note = add_click(text, "box", state, (150, 230))
    assert "must differ" in note  # same x: not a box
    text, state, note = add_click(text, "box", state, (190, 230))
    assert note == "Object 2: box set." and state == {}
    assert json.loads(text) == {
        "frame": 0,
        "objects": [
            {"points": [[5, 5, 0], [*centre("red", 0), 1]]},
            {"box": [150, 190, 190, 230]},
        ],
    }
    assert parse_prompts(text).by_id()[2].box == (150.0, 190.0, 190.0, 230.0)
    image, problem = canvas(str(video), text, state)
    assert problem == "" and image.shape == (HEIGHT, WIDTH, 3)
    # The box is drawn in object 2's colour where the frame was grey.
    assert not np.array_equal(image[200, 150], [90, 90, 90])
    text = undo(text)
    assert json.loads(text)["objects"] == [{"points": [[5, 5, 0], [*centre("red", 0), 1]]}]
    assert undo(undo(text)) == ""
    _, problem = canvas(str(video), '{"objects": [{"points": [[1, 1, 0]]}]}', {})
    assert "at least one positive click" in problem


def test_the_picker_picks_on_the_frame_the_slider_chose(video: Path) -> None:
    from ui.tabs.segmentation_clicks import add_click, canvas, frame_count, on_frame, undo

    assert frame_count(str(video)) == FRAMES
    picked = 7
    text, state, _ = add_click("", "positive", {}, centre("red", picked), picked)
    text, state, _ = add_click(text, "positive", state, centre("red", picked))  # keeps frame 7
    assert json.loads(text)["frame"] == picked
    assert json.loads(undo(text))["frame"] == picked
    first, _ = canvas(str(video), "", {}, 0)
    later, _ = canvas(str(video), "", {}, picked)
    # The squares move: the frame drawn is the one picked, not the first.
    assert not np.array_equal(first, later)
    assert canvas(str(video), "", {}, FRAMES)[0] is None  # past the last frame
    moved = on_frame(text, 3)
    assert json.loads(moved)["frame"] == 3
    assert json.loads(moved)["objects"] == json.loads(text)["objects"]
    assert on_frame("", 3) == ""


def test_a_run_split_into_calls_follows_clicks_as_one_run_does(tmp_path: Path) -> None:
    """The ZeroGPU path: the prompted frame lies in the second call."""
    from pipeline.runs import local_chunks

    path = make_video(tmp_path / "long.mp4", frames=22)
    picked = 10
    prompts = {"frame": picked, "objects": [{"points": [[*centre("blue", picked), 1]]}]}
    config = SegmentationConfig(
        segmenter="test-clicks", prompts=json.dumps(prompts), step=4, window=8
    )
    results = []
    for name, chunks in (("whole", None), ("split", local_chunks(path, config, 8))):
        outputs = {"video": tmp_path / f"{name}.mp4", "masks": tmp_path / f"{name}.json"}
        *_, done = start(path, config, outputs, chunks=chunks)
        results.append((done, json.loads(Path(done.outputs["masks"]).read_text())["frames"]))
    (whole, whole_frames), (split, split_frames) = results
    assert split.summary.calls > 1
    assert [f["frame"] for f in split_frames] == list(range(22))
    assert split_frames == whole_frames
    assert [bool(f["objects"]) for f in whole_frames] == [i >= picked for i in range(22)]
