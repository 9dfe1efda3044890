"""The detection stride: detect every k-th frame, the tracker predicting the frames between."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
import supervision as sv
import synthetic

from pipeline import start
from pipeline.cli.main import main
from pipeline.configs import DetectionConfig
from pipeline.errors import ConfigError
from pipeline.evaluation.mot_sequences import default_mot_root, read_sequence
from pipeline.evaluation.stride_eval import evaluate_strides, format_table, window
from pipeline.runs.live import FrameByFrame
from pipeline.runtime.events import Done
from pipeline.stages.stride import MAX_AUTO_STRIDE, AutoStride, frame_stride
from pipeline.stages.tracking import ObjectTracker
from ui.render import summary_text
from ui.rest.forms import RunForm
from ui.tabs.detection import build_detection_config

FRAMES, WIDTH, HEIGHT, FPS = 30, 320, 240, 25
STRIDE = 3
REFUSED = "The detection stride (detect_every) must be a whole number of frames of at least 1"
REFUSED_RE = re.escape(REFUSED)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stride") / "shapes.mp4"
    return synthetic.make_video(path, frames=FRAMES, width=WIDTH, height=HEIGHT, fps=FPS)


def test_a_run_with_stride_3_predicts_the_frames_between_and_marks_them(video, tmp_path):
    outputs = {"tracks": tmp_path / "t.json", "objects_csv": tmp_path / "objects.csv"}
    config = DetectionConfig(detector="test_shapes", detect_every=STRIDE)
    events = list(start(video, config, outputs))

    done = events[-1]
    assert isinstance(done, Done)
    detected = len(range(0, FRAMES, STRIDE))
    assert done.summary.detection_stride == {
        "detect_every": STRIDE,
        "detected_frames": detected,
        "predicted_frames": FRAMES - detected,
    }
    assert done.summary.tracks_per_class == {"red": 1, "green": 1, "blue": 1}
    assert f"Detector on {detected} of {FRAMES} frames (detect every 3)" in summary_text(
        done.summary
    )
    frames = json.loads(outputs["tracks"].read_text())["frames"]
    assert [f["frame"] for f in frames] == list(range(FRAMES))
    for entry in frames[1:]:
        assert len(entry["objects"]) == 3, entry
        marks = {obj.get("predicted", False) for obj in entry["objects"]}
        assert marks == {entry["frame"] % STRIDE != 0}, entry
    # The motion model has the shapes' speed after a few detections: predicted boxes
    # follow them closely (a frozen box would be 8-12 px off two frames on).
    for entry in frames[3 * STRIDE :]:
        for obj in entry["objects"]:
            shape = next(s for s in synthetic.DEFAULT_SHAPES if s.color == obj["class"])
            assert obj["box"] == pytest.approx(shape.box(entry["frame"]), abs=3)
    with outputs["objects_csv"].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(int(r["frame"]), r["predicted"]) for r in rows if int(r["frame"]) > 0} == {
        (f, "1" if f % STRIDE else "0") for f in range(1, FRAMES)
    }


def test_predicting_does_not_change_the_tracker():
    """A tracker asked for predictions between updates tracks exactly as one that is not."""
    plain, asked = ObjectTracker(frame_rate=30.0), ObjectTracker(frame_rate=30.0)
    for index in range(0, 30, 3):
        box = np.array([[10.0 + 2 * index, 10.0, 50.0 + 2 * index, 90.0]])
        found = sv.Detections(xyxy=box, confidence=np.array([0.9]))
        expected = plain.update(found, timestamp=index / 30)
        got = asked.update(found, timestamp=index / 30)
        np.testing.assert_array_equal(got.xyxy, expected.xyxy)
        np.testing.assert_array_equal(got.tracker_id, expected.tracker_id)
        ahead = asked.predict((index + 2) / 30)
    # Moving 2 px a frame: two frames past the last update is 4 px on.
    assert ahead.xyxy[0, 0] == pytest.approx(box[0, 0] + 4, abs=0.5)
    assert ahead.data["predicted"].tolist() == [True]


@pytest.mark.parametrize("value", [0, -1, 2.5, "2.5", "two", True, ""])
def test_the_config_refuses_a_stride_below_1_or_not_whole_with_one_message(value):
    with pytest.raises(ConfigError, match=REFUSED_RE):
        DetectionConfig(detector="test_shapes", detect_every=value)


def test_the_config_takes_whole_numbers_and_auto():
    assert DetectionConfig(detector="test_shapes", detect_every="4").detect_every == 4
    assert DetectionConfig(detector="test_shapes", detect_every=5.0).detect_every == 5
    assert DetectionConfig(detector="test_shapes", detect_every=" Auto ").detect_every == "auto"


def test_the_cli_refuses_a_bad_stride_in_one_line(video, tmp_path, capsys):
    tracks = tmp_path / "t.json"
    argv = ["detect", str(video), "--detector", "test_shapes", "--detect-every", "0"]
    assert main([*argv, "--tracks", str(tracks)]) == 2
    error = capsys.readouterr().err
    assert REFUSED in error and "Traceback" not in error
    assert not tracks.exists()


def test_rest_and_the_tabs_refuse_a_bad_stride_with_the_same_message():
    with pytest.raises(ConfigError, match=REFUSED_RE):
        RunForm(detector="test_shapes", detect_every="1.5").task_and_config(limits={})
    with pytest.raises(ConfigError, match=REFUSED_RE):
        build_detection_config("test_shapes", None, "", None, max_duration_s=None, detect_every=-2)
    task, config = RunForm(detector="test_shapes", detect_every="2").task_and_config(limits={})
    assert (task, config.detect_every) == ("detection", 2)


def test_auto_is_every_frame_on_a_file_and_says_so(video, tmp_path):
    config = DetectionConfig(detector="test_shapes", detect_every="auto", max_frames=6)
    done = list(start(video, config, {"tracks": tmp_path / "t.json"}))[-1]
    stride = done.summary.detection_stride
    assert (stride["detected_frames"], stride["predicted_frames"]) == (6, 0)
    assert "every frame of a file" in stride["note"]
    assert frame_stride("auto", live=False, fps=25.0).stride == 1


def test_auto_stride_keeps_up_with_the_source_from_measured_times():
    auto = AutoStride(fps=10.0)
    assert auto.stride == 1  # nothing measured yet
    auto.observe_detection(0.25)
    auto.observe_rest(0.02)
    assert auto.stride == 4  # ceil(0.25 / (0.1 - 0.02))
    slow = AutoStride(fps=30.0)
    slow.observe_detection(0.05)
    slow.observe_rest(0.05)  # the rest alone misses 30 fps: the longest stride
    assert slow.stride == MAX_AUTO_STRIDE
    fast = AutoStride(fps=10.0)
    fast.observe_detection(0.01)
    assert fast.stride == 1
    choices = [fast.detect_now() for _ in range(3)] + [auto.detect_now() for _ in range(8)]
    # Counted from the last detection (none yet by this chooser): every fourth frame.
    assert choices == [True] * 3 + [False, False, False, True] * 2


def test_a_live_run_with_auto_skips_the_detector_when_it_is_too_slow_for_the_frames():
    config = DetectionConfig(detector="test_shapes", detect_every="auto")
    # A source sending 1000 frames a second: no detector keeps up, so auto strides past 1.
    live = FrameByFrame(config, width=WIDTH, height=HEIGHT, fps=1000.0)
    for index in range(12):
        live.process(synthetic.draw_frame(index, WIDTH, HEIGHT), timestamp=index / 1000)
    stride = live.finish().detection_stride
    assert stride["detected_frames"] + stride["predicted_frames"] == 12
    assert 1 <= stride["detected_frames"] < 12


@pytest.fixture(scope="module")
def tud_window(tmp_path_factory):
    folder = default_mot_root() / "TUD-Campus"
    if not folder.is_dir():
        pytest.skip(f"MOT15 sequences not found at {folder}")
    return window(read_sequence(folder), 30, tmp_path_factory.mktemp("window") / "TUD-Campus")


def test_the_stride_evaluation_on_a_short_window(tud_window):
    results = evaluate_strides([tud_window], [1, 3])
    every, third = results[1]["TUD-Campus"], results[3]["TUD-Campus"]
    assert every["detected"] == 1.0 and third["detected"] == pytest.approx(10 / 30)
    # Real detections, scored on the window's own ground truth: tracking every frame
    # finds most people; predicting two frames in three costs accuracy, not all of it.
    assert every["mota"] > 0.4 and every["idf1"] > 0.5
    assert 0.0 < third["mota"] <= every["mota"] + 0.02
    table = format_table(results)
    assert table.splitlines()[0].startswith("| detect every | TUD-Campus |")
    assert len(table.splitlines()) == 4


def test_a_stream_with_auto_detects_or_predicts_every_frame_it_keeps(
    tud_campus_video, tmp_path, capsys
):
    live_sources = pytest.importorskip("test_live_sources")
    if live_sources.FFMPEG is None:
        pytest.skip("ffmpeg is not installed")
    with live_sources.served_stream(tud_campus_video) as url:  # 71 frames, 2.8 s
        argv = live_sources.detect_args(url, tmp_path, "--detect-every", "auto")
        assert main([*argv, "--reconnect-tries", "1"]) == 0
    summary = json.loads(capsys.readouterr().out.split("\n", 2)[-1])
    stride = summary["detection_stride"]
    assert stride["detect_every"] == "auto" and "note" not in stride
    assert stride["detected_frames"] + stride["predicted_frames"] == summary["frames"] > 0
    frames = json.loads((tmp_path / "tracks.json").read_text())["frames"]
    marked = [f for f in frames if any(o.get("predicted") for o in f["objects"])]
    assert len(marked) <= stride["predicted_frames"]


def test_with_depth_predicted_boxes_keep_their_tracks_depth_and_the_depth_video_every_frame(
    video, tiny_depth_weights, tmp_path
):
    frames = 12
    outputs = {"tracks": tmp_path / "t.json", "depth_video": tmp_path / "depth.mp4"}
    config = DetectionConfig(
        detector="test_shapes", depth=True, depth_weights=str(tiny_depth_weights),
        detect_every=STRIDE, max_frames=frames,
    )  # fmt: skip
    list(start(video, config, outputs))

    records = json.loads(outputs["tracks"].read_text())["frames"]
    last_depth: dict[int, float] = {}
    for entry in records:
        for obj in entry["objects"]:
            if obj.get("predicted"):
                assert obj["depth"] == last_depth[obj["track_id"]]
            last_depth[obj["track_id"]] = obj["depth"]
    assert any(obj.get("predicted") for entry in records for obj in entry["objects"])
    with av.open(str(outputs["depth_video"])) as container:
        assert sum(1 for _ in container.decode(video=0)) == frames


def test_a_batch_takes_the_stride_for_every_video(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, frames in {"a.mp4": 8, "b.mp4": 6}.items():
        synthetic.make_video(inputs / name, frames=frames)
    out = tmp_path / "out"
    argv = ["batch", str(inputs / "*.mp4"), "--out", str(out), "--no-video", "--no-progress"]
    assert main([*argv, "--detector", "test_shapes", "--detect-every", "2"]) == 0
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    strides = sorted(
        (line["summary"]["frames"], line["summary"]["detection_stride"]) for line in lines
    )
    assert strides == [
        (6, {"detect_every": 2, "detected_frames": 3, "predicted_frames": 3}),
        (8, {"detect_every": 2, "detected_frames": 4, "predicted_frames": 4}),
    ]
    capsys.readouterr()
    assert main([*argv, "--detector", "test_shapes", "--detect-every", "-1"]) == 2
    assert REFUSED in capsys.readouterr().err


def test_counting_on_predicted_boxes_counts_as_on_detected_ones(video, tmp_path):
    """Red crosses x=100 going right; blue goes up across y=180 and green down to it."""
    lines = ("gate:100,0,100,240", "bar:0,180,320,180")
    summaries = []
    for stride in (1, STRIDE):
        config = DetectionConfig(detector="test_shapes", lines=lines, detect_every=stride)
        outputs = {"tracks": tmp_path / f"t{stride}.json"}
        summaries.append(list(start(video, config, outputs))[-1].summary)
    every, strided = (summary.counting for summary in summaries)
    assert strided == every
    # Whatever the counting rule (its anchor point), both lines see a crossing.
    assert all(line["in_total"] + line["out_total"] >= 1 for line in every["lines"].values())
