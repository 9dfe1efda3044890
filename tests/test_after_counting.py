"""Paths, heat maps, privacy, slicing and speed: exact answers on synthetic clips, every path.

The clips are drawn by :mod:`synthetic` and found by its colour detector, so
each object's box in each frame is known: the paths it leaves, the heat where
it was, its speed, and the pixels that hiding it must change.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import supervision as sv
import synthetic
from synthetic import MovingShape, StripedShape

from pipeline import output_paths, start
from pipeline.cli.main import main
from pipeline.configs import DetectionConfig
from pipeline.errors import ConfigError
from pipeline.runs import check_input
from pipeline.runs.after_counting import AfterCounting
from pipeline.runtime.events import Done, FirstFrame
from pipeline.stages.annotation import object_labels
from pipeline.stages.heatmap import HeatmapStage
from pipeline.stages.privacy import PrivacyFilter
from pipeline.stages.slicing import MAX_TILES, FrameSlicer, tile_count
from pipeline.stages.speed import SpeedArea
from ui.after_counting import add_area_point, after_counting_settings
from ui.rest.forms import RunForm

WIDTH, HEIGHT, FPS, FRAMES = 320, 240, 25, 30
#: Red moves 4 px a frame to the right (100 px/s), blue 2 px a frame up (50 px/s).
RED = MovingShape("red", (10, 20), (4, 0))
BLUE = MovingShape("blue", (250, 190), (0, -2))
#: The whole frame as a 32 m x 24 m rectangle: 0.1 m per pixel, so red goes 10 m/s.
FULL_FRAME_AREA = "0,0,320,0,320,240,0,240"
FULL_FRAME_SIZE = "32,24"
EXPECTED_PX_S = {"red": 100.0, "blue": 50.0}
EXPECTED_KMH = {"red": 36.0, "blue": 18.0}


@pytest.fixture(scope="module")
def two_shapes(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("after") / "two.mp4"
    return synthetic.make_video(path, FRAMES, WIDTH, HEIGHT, FPS, shapes=(RED, BLUE))


@pytest.fixture(scope="module")
def striped(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("after") / "striped.mp4"
    shapes = (StripedShape("red", (10, 20), (4, 0)), StripedShape("blue", (250, 150), (0, -2)))
    return synthetic.make_video(path, FRAMES, WIDTH, HEIGHT, FPS, shapes=shapes)


def _run(video: Path, folder: Path, **settings) -> tuple[list, dict[str, Path]]:
    config = DetectionConfig(detector="test_shapes", **settings)
    folder.mkdir(parents=True, exist_ok=True)
    outputs = output_paths("detection", folder, config)
    events = list(start(video, config, outputs, with_first_frame=True))
    assert isinstance(events[-1], Done)
    return events, outputs


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as table:
        return list(csv.DictReader(table))


# --- speed -----------------------------------------------------------------------------


def test_speeds_in_pixels_and_kmh_are_exact_in_the_tracks_the_table_and_the_labels(
    two_shapes, tmp_path
):
    events, outputs = _run(
        two_shapes, tmp_path, speed_area=FULL_FRAME_AREA, speed_area_size=FULL_FRAME_SIZE
    )
    tracks = json.loads(outputs["tracks"].read_text())
    first_seen: dict[int, int] = {}
    measured = 0
    for frame in tracks["frames"]:
        for obj in frame["objects"]:
            first = first_seen.setdefault(obj["track_id"], frame["frame"])
            if frame["frame"] == first:  # a track's first frame has no speed yet
                assert obj["speed_px_s"] is None and obj["speed_kmh"] is None
                continue
            assert obj["speed_px_s"] == EXPECTED_PX_S[obj["class"]], (frame["frame"], obj)
            assert obj["speed_kmh"] == EXPECTED_KMH[obj["class"]], (frame["frame"], obj)
            measured += 1
    assert measured >= 2 * (FRAMES - 3)
    rows = _rows(outputs["tracks_csv"])
    assert {row["class"] for row in rows} == {"red", "blue"} and len(rows) == 2
    for row in rows:
        for column in ("mean_speed_px_s", "max_speed_px_s"):
            assert float(row[column]) == EXPECTED_PX_S[row["class"]]
        for column in ("mean_speed_kmh", "max_speed_kmh"):
            assert float(row[column]) == EXPECTED_KMH[row["class"]]
    summary = events[-1].summary.speed
    assert summary["unit"] == "km/h"
    assert [f["max_speed_kmh"] for f in summary["fastest"]] == [36.0, 18.0]


def test_speed_without_an_area_is_in_pixels_per_second_only(two_shapes, tmp_path):
    _, outputs = _run(two_shapes, tmp_path, speed=True)
    objects = [o for f in json.loads(outputs["tracks"].read_text())["frames"] for o in f["objects"]]
    assert {o["speed_px_s"] for o in objects} == {None, 100.0, 50.0}
    assert not any("speed_kmh" in o for o in objects)
    rows = _rows(outputs["tracks_csv"])
    assert "mean_speed_kmh" not in rows[0] and float(rows[0]["mean_speed_px_s"]) > 0


def test_labels_show_km_h_where_known_else_px_s():
    found = sv.Detections(
        xyxy=np.zeros((2, 4)),
        confidence=np.array([0.5, 0.5]),
        tracker_id=np.array([1, 2]),
        data={
            "class_name": np.array(["car", "car"]),
            "speed_px_s": np.array([120.0, np.nan]),
            "speed_kmh": np.array([43.2, np.nan]),
        },
    )
    assert object_labels(found) == ["#1 car 0.50 43 km/h", "#2 car 0.50"]


def test_the_perspective_maps_the_corners_and_the_diagonals_crossing_exactly():
    # A rectangle seen at an angle: a trapezoid, narrower far away (at the top).
    area = SpeedArea(((120.0, 100.0), (200.0, 100.0), (300.0, 230.0), (20.0, 230.0)), 3.5, 20.0)
    corners = area.to_metres(np.array(area.points))
    assert np.allclose(corners, [[0, 0], [3.5, 0], [3.5, 20], [0, 20]], atol=1e-9)
    # A projective map keeps lines: the diagonals' crossing maps to the rectangle's centre.
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = area.points
    denominator = (x1 - x3) * (y2 - y4) - (y1 - y3) * (x2 - x4)
    t = ((x1 - x2) * (y2 - y4) - (y1 - y2) * (x2 - x4)) / denominator
    crossing = np.array([[x1 + t * (x3 - x1), y1 + t * (y3 - y1)]])
    assert np.allclose(area.to_metres(crossing), [[1.75, 10.0]], atol=1e-9)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"speed_area": "0,0,10,0,10,10,0,10"}, "needs its size"),
        # The points are said first: giving a size would not mend them.
        ({"speed_area": "0,0,10,0,10,10"}, "four points"),
        ({"speed_area": "0,0,10,0,10,10,0,10", "speed_area_size": "1e308,1e308"},
         "at most 10000"),
        ({"speed_area": "0,0,10,0,10,10", "speed_area_size": "1,1"}, "four points"),
        ({"speed_area_size": "3,4"}, "needs the area"),
        ({"speed_area": "0,0,10,10,10,0,0,10", "speed_area_size": "1,1"}, "enclose no area"),
        ({"speed_area": "0,0,10,0,10,10,0,10", "speed_area_size": "1,-1"}, "positive metres"),
        ({"speed_area": "0,0,a", "speed_area_size": "1,1"}, "must be numbers"),
        ({"privacy": "smudge"}, "blur or pixelate"),
        ({"slice_size": 8}, "at least 32"),
    ],
)
def test_bad_settings_are_one_clear_error(settings, message):
    with pytest.raises(ConfigError, match=message):
        DetectionConfig(detector="test_shapes", **settings)


def test_a_speed_area_outside_the_video_is_refused_before_the_run(two_shapes, tmp_path):
    with pytest.raises(ConfigError, match=r"\(400, 0\) is outside the 320x240 video"):
        _run(two_shapes, tmp_path, speed_area="0,0,400,0,320,240,0,240", speed_area_size="1,1")


# --- paths and heat --------------------------------------------------------------------


def test_paths_are_drawn_along_the_known_path_and_nowhere_else(
    two_shapes, tmp_path, written_frames
):
    _run(two_shapes, tmp_path / "off")
    _, outputs = _run(two_shapes, tmp_path / "on", paths=True)
    tracked = json.loads(outputs["tracks"].read_text())["frames"]
    start = min(f["frame"] for f in tracked if f["objects"])  # where the tracks begin
    frame = 20
    off = written_frames[tmp_path / "off" / "detections.mp4"][frame]
    on = written_frames[tmp_path / "on" / "detections.mp4"][frame]
    changed = np.argwhere((on != off).any(axis=-1))  # (y, x)
    assert len(changed)
    # Red's bottom centre: x = 10 + 4k + 20 at y = 60, from its track's first frame;
    # blue's: x = 270, y = 190 + 40 - 2k. A path is a line through them, 2 s long.
    tolerance = 3
    red_x = (10 + 4 * start + 20, 10 + 4 * frame + 20)
    blue_y = (230 - 2 * frame, 230 - 2 * start)
    on_red = (abs(changed[:, 0] - 60) <= tolerance) & (
        (changed[:, 1] >= red_x[0] - tolerance) & (changed[:, 1] <= red_x[1] + tolerance)
    )
    on_blue = (abs(changed[:, 1] - 270) <= tolerance) & (
        (changed[:, 0] >= blue_y[0] - tolerance) & (changed[:, 0] <= blue_y[1] + tolerance)
    )
    assert (on_red | on_blue).all(), changed[~(on_red | on_blue)][:10]
    # And the whole of red's path left of its box is drawn: every pixel on the line.
    left_of_box = np.arange(red_x[0] + tolerance, 10 + 4 * frame - tolerance)
    assert (on[60, left_of_box] != off[60, left_of_box]).any(axis=-1).all()


def test_the_heat_is_where_each_class_was_and_the_image_has_a_panel_per_class(
    two_shapes, tmp_path, written_frames
):
    events, outputs = _run(two_shapes, tmp_path / "overlay", heatmap=True, heatmap_overlay=True)
    image = cv2.imread(str(outputs["heatmap"]))
    assert image is not None
    # All objects, red and blue: one row of two panels, then one of one (and a blank).
    panel_height = image.shape[0] // 2
    assert image.shape[1] == 2 * WIDTH and panel_height > HEIGHT
    tracked = json.loads(outputs["tracks"].read_text())["frames"]
    seen = {
        name: sum(o["class"] == name for f in tracked for o in f["objects"])
        for name in ("red", "blue")
    }
    assert events[-1].summary.heatmap["object_frames"] == seen and seen["red"] >= FRAMES - 1
    # The heat itself, again from the known boxes: where red was, and nowhere else.
    heat = HeatmapStage(WIDTH, HEIGHT)
    for frame in range(1, FRAMES):
        x1, y1, x2, y2 = RED.box(frame)
        heat.update(
            sv.Detections(
                xyxy=np.array([[x1, y1, x2, y2]], dtype=float),
                data={"class_name": np.array(["red"])},
            )
        )
    red = heat.heat["red"]
    # Every disc whole inside the frame: the heat adds up to 29 discs, in a band around
    # the line red's bottom centre followed (y = 60, x from 34 to 146).
    assert red.sum() == 29 * heat._disc.sum() == heat.total.sum()
    ys, xs = np.nonzero(red)
    r = heat.radius
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (60 - r, 60 + r, 34 - r, 146 + r)
    # The overlay: the last frame drawn is coloured where red went, not in the corner.
    _, plain_outputs = _run(two_shapes, tmp_path / "plain", heatmap=True)
    last = written_frames[outputs["video"]][-1]
    plain = written_frames[plain_outputs["video"]][-1]
    assert (last[60, 40:100] != plain[60, 40:100]).any(axis=-1).all()
    assert (last[120:140, 5:60] == plain[120:140, 5:60]).all()


def test_every_option_is_off_by_default_and_adds_nothing(two_shapes, tmp_path):
    config = DetectionConfig(detector="test_shapes")
    extras = AfterCounting(config, FPS, WIDTH, HEIGHT)
    assert not extras.active and extras.summary() == {}
    events, outputs = _run(two_shapes, tmp_path)
    assert "heatmap" not in outputs and not (tmp_path / "heatmap.png").exists()
    summary = events[-1].summary.to_dict()
    assert not {"speed", "privacy", "heatmap", "slicing"} & set(summary)
    assert not {"privacy", "heatmap", "speed", "paths"} & set(summary["timing_s"])
    obj = json.loads(outputs["tracks"].read_text())["frames"][5]["objects"][0]
    assert set(obj) == {"track_id", "class", "score", "box"}
    assert "mean_speed_px_s" not in _rows(outputs["tracks_csv"])[0]


# --- privacy ---------------------------------------------------------------------------


def _decoded(video: Path) -> list[np.ndarray]:
    """The clip's frames as the run reads them (decoded, not as drawn before encoding)."""
    with av.open(str(video)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def _interior(image: np.ndarray, box: tuple[int, int, int, int], margin: int = 4) -> np.ndarray:
    x1, y1, x2, y2 = box
    return image[y1 + margin : y2 - margin, x1 + margin : x2 - margin]


@pytest.mark.parametrize("style", ["blur", "pixelate"])
def test_hidden_boxes_no_longer_match_the_input_in_the_video_and_first_frame(
    striped, tmp_path, written_frames, style
):
    shapes = (StripedShape("red", (10, 20), (4, 0)), StripedShape("blue", (250, 150), (0, -2)))
    events, outputs = _run(striped, tmp_path, privacy=style, privacy_classes="RED")
    drawn, inputs = written_frames[outputs["video"]], _decoded(striped)
    # Every frame, the first included (before any track is confirmed): red hidden,
    # blue (not chosen) exactly as drawn.
    for index in (0, 1, 15, FRAMES - 1):
        source = inputs[index]
        red, blue = shapes[0].box(index), shapes[1].box(index)
        hidden = (_interior(drawn[index], red) != _interior(source, red)).any(axis=-1)
        assert hidden.mean() > 0.9, (index, hidden.mean())
        assert (_interior(drawn[index], blue) == _interior(source, blue)).all(), index
    [first] = [e for e in events if isinstance(e, FirstFrame)]
    source = inputs[0]
    red = shapes[0].box(0)
    assert (_interior(first.image, red) != _interior(source, red)).any(axis=-1).mean() > 0.9
    assert events[-1].summary.privacy == {"style": style, "classes": ["red"]}


def test_privacy_of_every_object_when_no_class_is_named(striped, tmp_path, written_frames):
    shapes = (StripedShape("red", (10, 20), (4, 0)), StripedShape("blue", (250, 150), (0, -2)))
    _, outputs = _run(striped, tmp_path, privacy="blur")
    drawn = written_frames[outputs["video"]][10]
    source = _decoded(striped)[10]
    for shape in shapes:
        box = shape.box(10)
        assert (_interior(drawn, box) != _interior(source, box)).any(axis=-1).mean() > 0.9


def test_masks_are_hidden_within_the_mask_and_the_rest_of_the_box_stays_sharp():
    stripes = np.zeros((60, 60, 3), dtype=np.uint8)
    stripes[::2] = 255  # one-pixel stripes: any blur changes them
    mask = np.zeros((60, 60), dtype=bool)
    cv2.circle(mask.view(np.uint8), (30, 30), 15, 1, thickness=-1)
    found = sv.Detections(
        xyxy=np.array([[10.0, 10, 50, 50]]), mask=mask[None],
        data={"class_name": np.array(["person"])},
    )  # fmt: skip
    for style in ("blur", "pixelate"):
        hidden = PrivacyFilter(style).apply(stripes, found)
        changed = (hidden != stripes).any(axis=-1)
        assert changed[mask].mean() > 0.9, style
        assert not changed[~mask].any(), style  # the box's corners outside the circle too


def test_a_class_to_hide_that_the_detector_does_not_know_is_refused(two_shapes, tmp_path):
    with pytest.raises(Exception, match="Classes to hide: .*'purple'.*Valid classes: red"):
        _run(two_shapes, tmp_path, privacy="blur", privacy_classes="purple")


# --- slicing ---------------------------------------------------------------------------


def test_slicing_detects_tile_by_tile_and_puts_boxes_back_in_the_frame():
    detector = synthetic.ShapeDetector("cpu")
    image = synthetic.draw_frame(0, WIDTH, HEIGHT, (MovingShape("green", (200, 150), (0, 0)),))
    slicer = FrameSlicer(160)
    [found] = slicer.detect(detector, [image], confidence=0.1, queries=(), timing={})
    # Tiles of 160 with 32 px of overlap over 320x240: x at 0, 128, 160; y at 0, 80.
    assert detector.calls == 6
    assert found.xyxy.tolist() == [[200.0, 150.0, 240.0, 190.0]]
    assert found.data["class_name"].tolist() == ["green"]


def test_tiles_so_small_that_a_frame_takes_hundreds_of_calls_are_refused(tmp_path):
    """Each tile is a detector call on every frame: the least tiles on a large frame are not."""
    clip = synthetic.make_video(tmp_path / "wide.mp4", frames=2, width=640, height=480)
    assert tile_count(640, 480, 32) == 475 > MAX_TILES
    with pytest.raises(ConfigError, match="into 475 tiles.*the limit is 256"):
        check_input(clip, DetectionConfig(detector="test_shapes", slicing=True, slice_size=32))
    check_input(clip, DetectionConfig(detector="test_shapes", slicing=True, slice_size=64))


def test_a_sliced_run_records_its_tiles_and_finds_the_same_objects(two_shapes, tmp_path):
    events, outputs = _run(two_shapes, tmp_path, slicing=True, slice_size=WIDTH)
    assert events[-1].summary.slicing == {"slice_size": WIDTH}
    assert events[-1].summary.tracks == 2


# --- the other paths: command line, REST form, the tab's values ------------------------


def test_the_command_line_takes_every_option(two_shapes, tmp_path):
    code = main([
        "detect", str(two_shapes), "--detector", "test_shapes",
        "--tracks", str(tmp_path / "t.json"), "--tracks-csv", str(tmp_path / "t.csv"),
        "--heatmap-out", str(tmp_path / "heat.png"), "--paths", "--heatmap-overlay",
        "--privacy", "pixelate", "--privacy-classes", "blue", "--slicing", "--slice-size", "320",
        "--speed-area", FULL_FRAME_AREA, "--speed-area-size", FULL_FRAME_SIZE, "--no-progress",
    ])  # fmt: skip
    assert code == 0
    assert cv2.imread(str(tmp_path / "heat.png")) is not None
    rows = {row["class"]: row for row in _rows(tmp_path / "t.csv")}
    assert float(rows["red"]["max_speed_kmh"]) == 36.0


def test_the_command_line_refuses_a_heatmap_without_a_file(two_shapes, tmp_path, capsys):
    argv = ["detect", str(two_shapes), "--detector", "test_shapes"]
    code = main([*argv, "--tracks", str(tmp_path / "t.json"), "--heatmap"])
    assert code == 2 and "--heatmap-out" in capsys.readouterr().err


def test_the_rest_form_reads_every_field():
    form = RunForm(
        detector="test_shapes", paths="true", heatmap="1", heatmap_overlay="no",
        privacy="pixelate", privacy_classes="red, blue", slicing="yes", slice_size="256",
        speed="false", speed_area=FULL_FRAME_AREA, speed_area_size=FULL_FRAME_SIZE,
    )  # fmt: skip
    _, config = form.task_and_config(limits={})
    assert (config.paths, config.heatmap, config.heatmap_overlay) == (True, True, False)
    assert (config.privacy, config.privacy_classes) == ("pixelate", ("red", "blue"))
    assert (config.slicing, config.slice_size, config.measures_speed) == (True, 256, True)
    assert config.speed_area_m.width_m == 32.0
    off = RunForm(detector="test_shapes").task_and_config(limits={})[1]
    assert off == DetectionConfig(detector="test_shapes")


def test_the_rest_form_refuses_these_options_outside_detection():
    with pytest.raises(Exception, match="for object_detection only"):
        RunForm(mode="depth", paths="true").task_and_config(limits={})
    with pytest.raises(Exception, match="for object_detection only"):
        RunForm(mode="segmentation", speed="true").task_and_config(limits={})
    with pytest.raises(Exception, match="privacy is for object_detection and segmentation only"):
        RunForm(mode="depth", privacy="blur").task_and_config(limits={})


def test_the_rest_form_hides_masks_in_segmentation_runs():
    form = RunForm(mode="segmentation", segmenter="YSAM2-S", privacy="pixelate",
                   privacy_classes="person")  # fmt: skip
    task, config = form.task_and_config(limits={})
    assert (task, config.privacy, config.privacy_classes) == (
        "segmentation",
        "pixelate",
        ("person",),
    )


def test_the_tab_values_become_the_config_fields():
    settings = after_counting_settings(
        privacy=True, privacy_style="pixelate", privacy_classes="car", slice_size=256.0,
        speed_area="1,2, 3,4", speed_area_width_m=2.5, speed_area_length_m=5,
    )  # fmt: skip
    assert settings["privacy"] == "pixelate" and settings["slice_size"] == 256
    assert settings["speed_area_size"] == (2.5, 5.0)
    assert "privacy" not in after_counting_settings(privacy=False, privacy_classes="car")
    with pytest.raises(Exception, match="both the speed area's width and length"):
        after_counting_settings(speed_area_width_m=2.0)


def test_four_clicks_make_the_area_and_a_fifth_starts_again():
    text = ""
    for count, point in enumerate([(10, 10), (100, 10), (100, 80), (10, 80)], start=1):
        text, note = add_area_point(text, point)
        assert f"{count} of 4" in note or count == 4
    assert text == "10,10, 100,10, 100,80, 10,80" and "width and length" in note
    text, note = add_area_point(text, (5, 6))
    assert text == "5,6" and "1 of 4" in note
    assert math.isclose(len(text.split(",")), 2)
