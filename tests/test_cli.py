"""``python -m pipeline``: the command line as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
import synthetic

from pipeline.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return synthetic.make_video(tmp_path_factory.mktemp("cli") / "shapes.mp4", frames=20)


def test_detect_writes_video_tracks_and_mot(video, tmp_path, capsys):
    out, tracks, mot = tmp_path / "o.mp4", tmp_path / "t.json", tmp_path / "t.txt"
    status = main(
        [
            "detect",
            str(video),
            "--detector",
            "test_shapes",
            "--queries",
            "red,blue",
            "--out",
            str(out),
            "--tracks",
            str(tracks),
            "--mot",
            str(mot),
            "--no-progress",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and '"frames": 20' in printed
    data = json.loads(tracks.read_text())
    assert len(data["frames"]) == 20
    assert {o["class"] for f in data["frames"] for o in f["objects"]} == {"red", "blue"}
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert mot.read_text().count("\n") == sum(len(f["objects"]) for f in data["frames"])


def test_detect_without_out_writes_only_the_tracks(video, tmp_path, capsys):
    tracks = tmp_path / "t.json"
    argv = ["detect", str(video), "--detector", "test_shapes", "--queries", "red,blue"]
    status = main([*argv, "--tracks", str(tracks), "--no-progress"])
    assert status == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed[printed.index("{") :])
    assert "video" not in printed.split("{")[0] and summary["timing_s"]["encode"] == 0.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]
    assert len(json.loads(tracks.read_text())["frames"]) == 20


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--detector", "nope"], "Unknown detector 'nope'"),
        (["--detector", "test_shapes", "--queries", "purple"], "does not know 'purple'"),
        (["--detector", "test_shapes", "--max-duration", "0.1"], "the limit is"),
    ],
)
def test_detect_user_errors_exit_2_with_one_clear_line(video, tmp_path, capsys, argv, message):
    out, tracks = tmp_path / "o.mp4", tmp_path / "t.json"
    status = main(["detect", str(video), *argv, "--out", str(out), "--tracks", str(tracks)])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not tracks.exists()


def test_detect_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    status = main(
        [
            "detect",
            str(bad),
            "--detector",
            "test_shapes",
            "--out",
            str(tmp_path / "o.mp4"),
            "--tracks",
            str(tmp_path / "t.json"),
        ]
    )
    assert status == 2
    assert "not a readable video" in capsys.readouterr().err


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _one_error_line(err: str, message: str) -> None:
    # One line: the run refused before its first frame (which prints "first frame: ...").
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        # Wrote the output over the input video.
        (lambda d: ["--out", str(d / "clip.mp4")], "is the input clip.mp4"),
        (lambda d: ["--out", str(d / "." / "clip.mp4")], "is the input clip.mp4"),
        (lambda d: ["--tracks-csv", str(_link(d / "clip.mp4"))], "is the input clip.mp4"),
        (lambda d: ["--mot", str(d / "p.json")], "is named for two outputs"),
        # Ran every frame, then failed and deleted p.json, which the user had.
        (lambda d: ["--out", str(d / "o.txt")], "must end in .mp4, .m4v or .mov"),
        (lambda d: ["--heatmap-out", str(d / "heat.txt")], "must end in .png, .jpg or .jpeg"),
        # Tracebacks: IsADirectoryError, and FileExistsError from making p.json a folder.
        (lambda d: ["--objects-csv", str(d)], "is a folder"),
        (lambda d: ["--csv", str(d / "p.json")], "p.json is not a folder"),
    ],
)
def test_detect_refuses_output_paths_before_running_and_touches_no_file(
    video, tmp_path, capsys, outputs, message
):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(video.read_bytes())
    tracks = tmp_path / "p.json"
    tracks.write_text("precious")
    argv = ["detect", str(clip), "--detector", "test_shapes", "--tracks", str(tracks)]
    argv += [*outputs(tmp_path), "--no-progress"]
    before = _files(tmp_path)
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err, message)
    assert _files(tmp_path) == before


def _link(path: Path) -> Path:
    link = path.with_name("same.csv")
    os.link(path, link)
    return link


def test_detect_replaces_a_file_the_user_had_only_with_a_finished_result(video, tmp_path, capsys):
    tracks = tmp_path / "t.json"
    tracks.write_text("precious")
    tracks.chmod(0o640)
    status = main(
        ["detect", str(video), "--detector", "test_shapes", "--tracks", str(tracks),
         "--no-progress"]
    )  # fmt: skip
    assert status == 0
    assert len(json.loads(tracks.read_text())["frames"]) == 20
    assert tracks.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # nothing written beside it left


def test_detect_weights_that_are_not_a_model_exit_2_with_one_line(video, tmp_path, capsys):
    weights = tmp_path / "passwd"
    weights.write_text("root:x:0:0:root:/root:/bin/bash\n")
    tracks = tmp_path / "t.json"
    status = main(
        ["detect", str(video), "--detector", "yolox_nano", "--weights", str(weights),
         "--tracks", str(tracks), "--no-progress"]
    )  # fmt: skip
    assert status == 2
    _one_error_line(capsys.readouterr().err, f"{weights} is not a valid ONNX model")
    assert not tracks.exists()


def test_detect_on_a_folder_says_it_is_a_folder(tmp_path, capsys):
    tracks = tmp_path / "out" / "t.json"
    status = main(["detect", str(tmp_path), "--detector", "test_shapes", "--tracks", str(tracks)])
    assert status == 2
    _one_error_line(capsys.readouterr().err, f"{tmp_path.name} is a folder, not a video file.")
    assert not list(tmp_path.iterdir())


def test_track_command_on_public_detections(shared_assets, tmp_path, capsys):
    det = shared_assets / "mot" / "TUD-Campus" / "det_frcnn.txt"
    out = tmp_path / "result.txt"
    assert main(["track", "--detections", str(det), "--out", str(out), "--fps", "25"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 71 and summary["rows"] == len(out.read_text().splitlines())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"garbage\n", "det.txt:1: expected at least 6 MOTChallenge columns"),
        (b"\x7fELF\x02\x01\x01\x00\xd0\xc3\n", "det.txt:1: not UTF-8 text"),
    ],
)
def test_track_bad_detections_exit_2_with_one_line(tmp_path, capsys, content, message):
    det = tmp_path / "det.txt"
    det.write_bytes(content)
    argv = ["track", "--detections", str(det), "--out", str(tmp_path / "new" / "r.txt")]
    assert main(argv) == 2
    _one_error_line(capsys.readouterr().err, message)
    assert [p.name for p in tmp_path.iterdir()] == ["det.txt"]  # no result, no folder for it


@pytest.mark.parametrize(
    ("out", "message"),
    [(lambda d: d / "det.txt", "is the input det.txt"), (lambda d: d, "is a folder")],
)
def test_track_refuses_an_output_that_is_its_input_or_a_folder(tmp_path, capsys, out, message):
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,10,20,20,0.9\n")
    assert main(["track", "--detections", str(det), "--out", str(out(tmp_path))]) == 2
    _one_error_line(capsys.readouterr().err, message)
    assert det.read_text() == "1,-1,10,10,20,20,0.9\n"


@pytest.mark.parametrize("fps", ["-1", "0", "nan", "inf", "fast"])
def test_track_fps_must_be_a_positive_number(tmp_path, capsys, fps):
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,10,20,20,0.9\n")
    with pytest.raises(SystemExit) as info:
        main(["track", "--detections", str(det), "--out", str(tmp_path / "r.txt"), "--fps", fps])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --fps: must be a positive number of frames a second, not '{fps}'" in err
    assert "Traceback" not in err and not (tmp_path / "r.txt").exists()


def test_architecture_weights_run_for_real_and_say_they_are_random(shared_assets, tmp_path):
    """``--weights yolo11n.yaml``: real YOLO11 compute, random weights, said on stderr."""
    env = {**os.environ, "YOLO_CONFIG_DIR": str(tmp_path / "yolo"), "YOLO_OFFLINE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "detect",
            str(shared_assets / "video" / "tud_campus.mp4"),
            "--detector",
            "yolo11",
            "--size",
            "n",
            "--weights",
            "yolo11n.yaml",
            "--max-frames",
            "4",
            "--no-progress",
            "--out",
            str(tmp_path / "o.mp4"),
            "--tracks",
            str(tmp_path / "t.json"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Random weights" in result.stderr
    assert json.loads((tmp_path / "t.json").read_text())["model"]["random_weights"] is True


def test_ctrl_c_stops_the_run_and_keeps_a_consistent_partial_result(shared_assets, tmp_path):
    """SIGINT mid-run: exit status 130, a playable video as long as the tracks."""
    import signal
    import time

    out, tracks = tmp_path / "o.mp4", tmp_path / "t.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "detect",
         str(shared_assets / "video" / "car_detection.mp4"), "--detector", "yolox_nano",
         "--out", str(out), "--tracks", str(tracks), "--no-progress"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not tracks.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # some frames processed
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "stopped after" in stderr and "Traceback" not in stderr
    summary = json.loads(stdout[stdout.index("{") :])
    data = json.loads(tracks.read_text())
    assert summary["partial"] is True and len(data["frames"]) == summary["frames"] < 377
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(container.streams.video[0])) == summary["frames"]


def test_bench_grid_measures_every_combination_and_saves_json_and_csv(tmp_path, capsys):
    clip = REPO_ROOT / "assets" / "one_by_one_person.mp4"
    results, rows = tmp_path / "r.json", tmp_path / "r.csv"
    argv = ["bench-grid", str(clip), "--detectors", "yolox_nano", "--batch-sizes", "1,2",
            "--max-frames", "8", "--json", str(results), "--csv", str(rows),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(results.read_text())
    assert [r["batch_size"] for r in data["rows"]] == [1, 2]
    assert data["analysis"]["bottleneck"]["stage"]
    assert len(rows.read_text().splitlines()) == 3
    assert "Fastest end to end" in capsys.readouterr().out
    assert main(["bench-grid", str(clip), "--detectors", "yolox_nano", "--batch-sizes", "0"]) == 2
    assert "at least 1, not 0" in capsys.readouterr().err


def test_a_failed_download_s_error_starts_on_a_line_of_its_own(capsys) -> None:
    import threading
    from collections.abc import Iterator

    from models.errors import MissingWeightsError
    from models.prefetch import Download
    from pipeline.cli.common import follow_run

    def events() -> Iterator[Download]:
        yield Download("YOLO11-m", "yolo11m.pt", 0, None)
        raise MissingWeightsError("Could not load the weights of YOLO11-m (no network).")

    with pytest.raises(MissingWeightsError):
        follow_run(events(), threading.Event(), show_progress=True, on_done=print)
    assert capsys.readouterr().err == "\rDownloading YOLO11-m: 0 MB so far\n"


@pytest.mark.parametrize("score", ["nan", "-0.1", "1.5", "high"])
def test_track_min_score_must_be_a_score(tmp_path, capsys, score):
    # NaN compared with every detection's score dropped them all, silently.
    det = tmp_path / "det.txt"
    det.write_text("1,-1,10,10,20,20,0.9\n")
    with pytest.raises(SystemExit) as info:
        main([
            "track", "--detections", str(det), "--out", str(tmp_path / "r.txt"),
            "--min-score", score,
        ])  # fmt: skip
    assert info.value.code == 2
    assert f"argument --min-score: must be a score from 0 to 1, not '{score}'" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r.txt").exists()
