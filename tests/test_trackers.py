"""The tracker registry: every tracker through ObjectTracker and `pipeline track`, names, params."""

from __future__ import annotations

import inspect
import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from test_tracking import FRAMES, OBJECTS, synthetic_frame

from pipeline.cli.main import main
from pipeline.configs import ConfigError
from pipeline.evaluation.mot_sequences import find_sequences
from pipeline.evaluation.track_eval import score_tracking
from pipeline.stages.tracker_registry import (
    DEFAULT_TRACKER,
    OPEN_VOCABULARY_KEEP_SCORE,
    OPEN_VOCABULARY_START_SCORE,
    TRACKERS,
    TrackerConfig,
    open_vocabulary_params,
    tracker_names,
    tracker_params_for,
)
from pipeline.stages.tracking import ObjectTracker

NAMES = ["bytetrack", "sort", "ocsort", "botsort", "cbiou", "mcbyte"]


def test_the_registry_names_every_box_tracker_of_the_package() -> None:
    assert tracker_names() == NAMES
    for name, spec in TRACKERS.items():
        cls = spec.tracker_class
        assert cls.tracker_id == name, "our names are the package's own"
        accepted = set(inspect.signature(cls.__init__).parameters)
        assert set(spec.defaults) | set(spec.fixed) <= accepted
        assert "frame_rate" not in spec.defaults
        assert spec.description


def test_bytetrack_defaults_are_the_tracker_config() -> None:
    assert ObjectTracker().tracker_name == DEFAULT_TRACKER
    tracker = ObjectTracker(tracker="bytetrack")
    assert dict(TRACKERS["bytetrack"].defaults) == tracker.params == asdict(TrackerConfig())
    custom = ObjectTracker(
        TrackerConfig(lost_track_buffer=5),
        tracker="bytetrack",
        params={"minimum_iou_threshold": 0.4},
    )
    assert custom.params["lost_track_buffer"] == 5 and custom.params["minimum_iou_threshold"] == 0.4


@pytest.mark.parametrize("name", NAMES)
def test_every_tracker_keeps_ids_from_one_and_the_detection_fields(name: str) -> None:
    tracker = ObjectTracker(frame_rate=30.0, tracker=name)
    ids_per_truth: dict[int, set[int]] = defaultdict(set)
    seen: list[int] = []
    for frame in range(FRAMES):
        # A one-frame false positive far from everything never becomes a confirmed track.
        extra = np.array([600.0, 400.0, 630.0, 470.0]) if frame == 30 else None
        detections = synthetic_frame(frame, extra=extra)
        # Scores (0.975..0.995, order kept) above every tracker's tuned start threshold:
        # this test is about ids and fields, the thresholds are the MOT tests' business.
        detections.confidence = (0.9 + detections.confidence / 10).astype(np.float32)
        tracked = tracker.update(detections)

        assert list(tracked.tracker_id) == sorted(tracked.tracker_id), "not in id order"
        assert tracked.tracker_id.dtype.kind == "i" and -1 not in tracked.tracker_id
        assert "ghost" not in set(tracked.data["class_name"])
        assert "_object_tracker_row" not in tracked.data
        if frame >= 5:
            assert len(tracked) == len(OBJECTS), f"{name} lost an object at frame {frame}"
        for row, (tid, truth) in enumerate(
            zip(tracked.tracker_id, tracked.data["truth"], strict=True)
        ):
            ids_per_truth[int(truth)].add(int(tid))
            if int(tid) not in seen:
                seen.append(int(tid))
            # Every field is the matched detection's own, not a filter estimate.
            source = np.flatnonzero(detections.data["truth"] == truth)[0]
            np.testing.assert_array_equal(tracked.xyxy[row], detections.xyxy[source])
            assert tracked.confidence[row] == detections.confidence[source]
            assert tracked.class_id[row] == detections.class_id[source]
            assert tracked.data["class_name"][row] == detections.data["class_name"][source]

    assert all(len(ids) == 1 for ids in ids_per_truth.values()), dict(ids_per_truth)
    assert sorted(seen) == list(range(1, len(OBJECTS) + 1)), "ids are 1..N"
    tracker.reset()
    assert tracker.num_tracks == 0
    restarted = [tracker.update(synthetic_frame(f, OBJECTS[:2])) for f in range(4)][-1]
    assert sorted(restarted.tracker_id) == [1, 2]


def test_unknown_trackers_and_parameters_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="Unknown tracker 'deepsort'") as error:
        ObjectTracker(tracker="deepsort")
    assert all(name in str(error.value) for name in NAMES)
    with pytest.raises(ConfigError, match="sort has no parameter 'high_conf_det_threshold'"):
        ObjectTracker(tracker="sort", params={"high_conf_det_threshold": 0.5})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        ObjectTracker(tracker="ocsort", params={"minimum_iou_threshold": 3.0})
    with pytest.raises(ConfigError, match="whole number"):
        ObjectTracker(tracker="botsort", params={"lost_track_buffer": -1})
    with pytest.raises(ConfigError, match="McByte|high_conf_det_threshold"):
        # The library's own check (above its 0.1 discard floor), as a ConfigError.
        ObjectTracker(tracker="mcbyte", params={"high_conf_det_threshold": 0.05})
    with pytest.raises(ConfigError, match="ByteTrack's settings"):
        ObjectTracker(TrackerConfig(), tracker="sort")


def test_params_reach_the_library_tracker() -> None:
    tracker = ObjectTracker(tracker="sort", params={"minimum_consecutive_frames": 4})
    assert tracker._tracker.minimum_consecutive_frames == 4
    assert ObjectTracker(tracker="botsort")._tracker.enable_cmc is False
    mcbyte = ObjectTracker(tracker="mcbyte")._tracker
    assert mcbyte.enable_cmc is False and mcbyte.mask_manager is None


@pytest.mark.parametrize("name", NAMES)
def test_open_vocabulary_lowers_each_trackers_score_thresholds(name: str) -> None:
    spec = TRACKERS[name]
    params = open_vocabulary_params(name)
    assert params, f"{name} has a score threshold to adapt"
    for param, value in params.items():
        assert param in (spec.start_param, spec.keep_param)
        rule = OPEN_VOCABULARY_START_SCORE if param == spec.start_param else None
        assert value == min(spec.defaults[param], rule or OPEN_VOCABULARY_KEEP_SCORE)
    assert tracker_params_for(name, None, open_vocabulary=True) == params
    assert tracker_params_for(name, None, open_vocabulary=False) == {}
    user = {"lost_track_buffer": 10}
    assert tracker_params_for(name, user, open_vocabulary=True) == user, "user settings win"
    ObjectTracker(tracker=name, params=params)  # valid settings


def test_bytetrack_open_vocabulary_config_is_the_shared_rule() -> None:
    lowered = tracker_params_for("bytetrack", None, open_vocabulary=True)
    assert ObjectTracker(tracker="bytetrack", params=lowered).params == {
        **asdict(TrackerConfig()),
        "track_activation_threshold": 0.4,
        "high_conf_det_threshold": 0.35,
    }


# --- real data: `pipeline track` on MOT15 TUD-Campus's public ACF detections ----------------

# MOTA and IDF1 (trackers.eval, as in the table of docs/trackers.md) of each tracker at its tuned
# defaults on TUD-Campus; the floors sit a little below these measured values.
MEASURED_TUD_CAMPUS = {
    "bytetrack": (0.393, 0.445),
    "sort": (0.396, 0.439),
    "ocsort": (0.396, 0.509),
    "botsort": (0.490, 0.645),
    "cbiou": (0.432, 0.508),
    "mcbyte": (0.474, 0.625),
}
# One more identity switch among TUD-Campus's 8 people costs a few IDF1 points.
MARGIN = 0.03


@pytest.fixture(scope="module")
def mot_root(shared_assets: Path) -> Path:
    root = shared_assets / "mot"
    if not (root / "TUD-Campus" / "det.txt").is_file():
        pytest.skip(f"MOT15 sequences not found in {root}")
    return root


@pytest.mark.parametrize("name", NAMES)
def test_track_command_runs_every_tracker_on_tud_campus(
    name: str, mot_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (sequence,) = find_sequences(mot_root, ["TUD-Campus"])
    out = tmp_path / "TUD-Campus.txt"
    argv = ["track", "--detections", str(sequence.det), "--out", str(out), "--tracker", name]
    assert main([*argv, "--fps", str(sequence.fps)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tracker"] == name and summary["scores"].startswith("mapped to 0..1")
    written = np.loadtxt(out, delimiter=",", ndmin=2)
    assert summary["rows"] == len(written) > 0
    assert written[:, 6].min() >= 0.0 and written[:, 6].max() <= 1.0, "scores the tracker saw"

    scores = score_tracking([sequence], tmp_path)["TUD-Campus"]
    mota, idf1 = MEASURED_TUD_CAMPUS[name]
    assert scores["mota"] >= mota - MARGIN, scores
    assert scores["idf1"] >= idf1 - MARGIN, scores


def test_track_command_rejects_an_unknown_tracker_in_one_line(
    mot_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    det = mot_root / "TUD-Campus" / "det.txt"
    out = tmp_path / "r.txt"
    status = main(["track", "--detections", str(det), "--out", str(out), "--tracker", "nope"])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Unknown tracker 'nope'" in err
    assert all(name in err for name in NAMES)
    assert not out.exists()


def test_track_help_names_the_trackers_and_the_score_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline.evaluation.det_scores import SCORE_RULE

    with pytest.raises(SystemExit):
        main(["track", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in NAMES)
    assert " ".join(SCORE_RULE.split()) in text


@pytest.fixture(scope="module")
def shapes_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import synthetic

    return synthetic.make_video(tmp_path_factory.mktemp("trackers") / "shapes.mp4", frames=20)


@pytest.mark.parametrize("name", NAMES)
def test_every_tracker_runs_through_the_pipeline_from_the_command_line(
    name: str, shapes_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracks = tmp_path / "t.json"
    argv = ["detect", str(shapes_clip), "--detector", "test_shapes", "--queries", "red,blue"]
    assert main([*argv, "--tracker", name, "--tracks", str(tracks), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.index("{") :])
    assert summary["tracker"]["name"] == name
    assert summary["tracker"]["params"] == dict(TRACKERS[name].defaults)
    frames = json.loads(tracks.read_text())["frames"]
    ids = {o["track_id"] for f in frames for o in f["objects"]}
    # Two shapes that never meet: every tracker holds them as two ids, numbered from 1.
    assert ids == {1, 2}, ids
    assert len(frames) == 20


def test_tracker_params_reach_the_run(
    shapes_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracks = str(tmp_path / "t")
    argv = ["detect", str(shapes_clip), "--detector", "test_shapes", "--tracks", tracks]
    extra = ["--tracker", "sort", "--tracker-param", "lost_track_buffer=7", "--no-progress"]
    assert main([*argv, *extra]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.index("{") :])
    assert summary["tracker"]["params"]["lost_track_buffer"] == 7


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tracker", "nope"], "Unknown tracker 'nope'"),
        (["--tracker-param", "nope=1"], f"{DEFAULT_TRACKER} has no parameter 'nope'"),
        (["--tracker", "sort", "--tracker-param", "lost_track_buffer=-2"], "whole number >= 0"),
        (["--tracker-param", "lost_track_buffer"], "NAME=VALUE"),
    ],
)
def test_bad_tracker_choices_are_one_line_and_write_nothing(
    extra: list[str],
    message: str,
    shapes_clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tracks = tmp_path / "t.json"
    argv = ["detect", str(shapes_clip), "--detector", "test_shapes", "--tracks", str(tracks)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not any(tmp_path.iterdir())
