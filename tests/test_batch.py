"""``python -m pipeline batch``: many videos, a manifest, resume, on this machine and on Ray."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import synthetic

from pipeline.batch.inputs import expand_inputs, output_folder_name
from pipeline.batch.manifest import Manifest
from pipeline.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
DETECT = ["--detector", "test_shapes", "--queries", "red,blue", "--no-progress"]
#: Frames of each good clip; two share the stem "clip".
CLIPS = {"a/clip.mp4": 12, "b/clip.mp4": 10, "other.mov": 8}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Three good clips (two named clip.mp4 in different folders) and a corrupt one."""
    folder = tmp_path_factory.mktemp("batch-inputs")
    for name, frames in CLIPS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        synthetic.make_video(folder / name, frames=frames)
    (folder / "b" / "broken.mp4").write_bytes(os.urandom(4096))
    (folder / "notes.txt").write_text("not a video")
    return folder


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def _tracks(line: dict) -> list:
    """What must not depend on where the video ran: frames, times, objects and their ids."""
    return json.loads(Path(line["outputs"]["tracks"]).read_text())["frames"]


def _check_first_batch(inputs: Path, out: Path, status: int, printed: str) -> list[dict]:
    assert status == 1, "a failed video makes the exit status non-zero"
    assert printed.strip().splitlines()[-1] == "3 done, 0 skipped, 1 failed"
    lines = _manifest(out)
    assert sorted(line["input"] for line in lines) == sorted(
        str(inputs / name) for name in [*CLIPS, "b/broken.mp4"]
    )
    failed = [line for line in lines if line["status"] == "failed"]
    assert [line["input"] for line in failed] == [str(inputs / "b" / "broken.mp4")]
    assert "not a readable video" in failed[0]["error"] and "\n" not in failed[0]["error"]
    assert failed[0]["outputs"] == {} and not Path(failed[0]["folder"]).exists()
    done = {Path(line["input"]).relative_to(inputs).as_posix(): line for line in lines}
    folders = {done[name]["folder"] for name in CLIPS}
    assert len(folders) == 3, "inputs that share a stem get folders of their own"
    for name, frames in CLIPS.items():
        line = done[name]
        assert line["status"] == "done" and line["error"] is None
        assert line["summary"]["frames"] == frames
        assert {"video", "tracks", "tracks_csv", "objects_csv"} <= set(line["outputs"])
        for path in line["outputs"].values():
            assert Path(path).is_file() and Path(path).parent == Path(line["folder"])
        assert len(_tracks(line)) == frames
        classes = {o["class"] for f in _tracks(line) for o in f["objects"]}
        assert classes == {"red", "blue"}
    return lines


def _check_second_batch_does_nothing(out: Path, before: bytes, status: int, printed: str) -> None:
    assert status == 1, "the batch still holds a failed video"
    assert printed.strip().splitlines()[-1].startswith("0 done, 4 skipped (1 failed before")
    assert (out / "manifest.jsonl").read_bytes() == before


def test_local_batch_records_each_video_and_a_second_run_does_nothing(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["batch", str(inputs), "--out", str(out), *DETECT])
    captured = capsys.readouterr()
    lines = _check_first_batch(inputs, out, status, captured.out)
    assert "broken.mp4" in captured.err and "not a readable video" in captured.err
    before = (out / "manifest.jsonl").read_bytes()
    files = [Path(path) for line in lines for path in line["outputs"].values()]
    stamps = {path: path.stat().st_mtime_ns for path in files}

    status = main(["batch", str(inputs), "--out", str(out), *DETECT])
    _check_second_batch_does_nothing(out, before, status, capsys.readouterr().out)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps, "no file was rewritten"


def test_resume_redoes_only_what_is_missing(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    main(["batch", str(inputs), "--out", str(out), *DETECT])
    lines = {Path(line["input"]).name: line for line in _manifest(out)}
    gone = Path(lines["other.mov"]["outputs"]["tracks"])
    gone.unlink()
    capsys.readouterr()

    status = main(["batch", str(inputs), "--out", str(out), "--retry-failed", *DETECT])
    assert status == 1
    assert capsys.readouterr().out.strip().splitlines()[-1] == "1 done, 2 skipped, 1 failed"
    redone = _manifest(out)[4:]
    assert sorted(Path(line["input"]).name for line in redone) == ["broken.mp4", "other.mov"]
    assert gone.is_file() and len(json.loads(gone.read_text())["frames"]) == CLIPS["other.mov"]


def test_no_video_writes_only_the_tracks(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    pattern = str(inputs / "**" / "clip.mp4")
    assert main(["batch", pattern, "--out", str(out), "--no-video", *DETECT]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "2 done, 0 skipped, 0 failed"
    lines = _manifest(out)
    assert len(lines) == 2 and all("video" not in line["outputs"] for line in lines)
    assert not list(out.rglob("*.mp4"))
    assert len(list(out.rglob("tracks.json"))) == 2


def test_depth_batch_uses_the_depth_options(inputs, tiny_depth_weights, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["batch", str(inputs / "a"), str(inputs / "other.mov"), "--out", str(out),
            "--task", "depth", "--weights", str(tiny_depth_weights), "--colormap", "magma",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    lines = _manifest(out)
    assert [Path(line["outputs"]["video"]).name for line in lines] == ["depth.mp4"] * 2
    assert [line["summary"]["frames"] for line in lines] == [12, 8]


def test_a_torn_last_line_does_not_spoil_the_manifest(tmp_path):
    path = tmp_path / "manifest.jsonl"
    whole = {"input": "/v/a.mp4", "task": "detection", "status": "failed", "outputs": {}}
    path.write_text(json.dumps(whole) + "\n" + '{"input": "/v/b.mp4", "sta')
    manifest = Manifest(path)
    assert list(manifest.latest) == ["/v/a.mp4"]
    manifest.append({**whole, "input": "/v/c.mp4"})
    assert list(Manifest(path).latest) == ["/v/a.mp4", "/v/c.mp4"]


def test_inputs_expand_files_folders_and_globs_once_each(inputs, tmp_path):
    out = inputs / "results"
    (out / "x").mkdir(parents=True)
    synthetic.make_video(out / "x" / "detections.mp4", frames=2)
    try:
        found = expand_inputs(
            [str(inputs / "a" / "clip.mp4"), str(inputs), str(inputs / "*" / "*.mp4")],
            exclude=out,
        )
    finally:
        (out / "x" / "detections.mp4").unlink()
    names = [p.relative_to(inputs).as_posix() for p in found]
    assert names == ["a/clip.mp4", "b/broken.mp4", "b/clip.mp4", "other.mov"]
    assert output_folder_name(found[0]) != output_folder_name(found[2])
    assert output_folder_name(found[0]).startswith("clip-")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{missing}/*.mp4"], "No video matches"),
        (["{missing}"], "No such file or folder"),
        (["{inputs}", "--conf", "7"], "Confidence must be between 0 and 1"),
        (["{inputs}", "--detector", "nope"], "Unknown detector 'nope'"),
        (["{inputs}", "--queries", "purple"], "does not know 'purple'"),
        (["{inputs}", "--task", "depth", "--no-video"], "--no-video does not apply"),
        (["{inputs}", "--ray", "127.0.0.1:1"], "Cannot reach the Ray cluster at 127.0.0.1:1"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_leave_nothing(
    inputs, tmp_path, capsys, argv, message
):
    if "--ray" in argv:
        pytest.importorskip("ray")
    out = tmp_path / "out"
    words = [w.format(inputs=inputs, missing=tmp_path / "missing") for w in argv]
    detector = [] if {"--detector", "--task"} & set(words) else ["--detector", "test_shapes"]
    status = main(["batch", *words, "--out", str(out), *detector, "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert not out.exists()


def test_unknown_task_is_a_usage_error(inputs, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", str(inputs), "--out", str(tmp_path / "out"), "--task", "paint"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'paint'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_ray_missing_says_pip_install_ray(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an import of a missing package meets
    status = main(["batch", str(inputs), "--out", str(tmp_path / "out"), "--ray", *DETECT])
    assert status == 2
    assert "pip install ray" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- Ray ------------------------------------------------------------------------------------


def _register_test_models() -> None:
    """Each Ray worker's set-up: the test detector is registered by importing its module."""
    import synthetic  # noqa: F401


@pytest.fixture(scope="module")
def ray_cluster():
    """A local two-CPU Ray cluster on the loopback, whose workers know the test detector."""
    ray = pytest.importorskip("ray")
    saved = os.environ.get("RAY_AUTH_MODE")
    # A loopback-only test cluster: no token written into the home folder.
    os.environ["RAY_AUTH_MODE"] = "disabled"
    path = os.pathsep.join([str(REPO_ROOT), str(TESTS)])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        runtime_env={
            "env_vars": {"PYTHONPATH": path},
            "worker_process_setup_hook": _register_test_models,
        },
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


@pytest.mark.slow
def test_ray_batch_equals_the_local_one_and_resumes(inputs, ray_cluster, tmp_path, capsys):
    local_out = tmp_path / "local"
    main(["batch", str(inputs), "--out", str(local_out), *DETECT])
    capsys.readouterr()
    local = {line["input"]: line for line in _manifest(local_out)}

    out = tmp_path / "ray"
    status = main(["batch", str(inputs), "--out", str(out), *DETECT, "--ray"])
    captured = capsys.readouterr()
    lines = _check_first_batch(inputs, out, status, captured.out)
    for line in lines:
        reference = local[line["input"]]
        assert Path(line["folder"]).name == Path(reference["folder"]).name
        assert set(line["outputs"]) == set(reference["outputs"])
        if line["status"] == "done":
            assert _tracks(line) == _tracks(reference)
            assert line["summary"]["frames"] == reference["summary"]["frames"]
        else:
            assert line["error"] == reference["error"]

    before = (out / "manifest.jsonl").read_bytes()
    # --ray before the only input: the input is not taken for the cluster's address.
    status = main(["batch", "--ray", str(inputs), "--out", str(out), *DETECT])
    _check_second_batch_does_nothing(out, before, status, capsys.readouterr().out)


@pytest.mark.slow
def test_ray_without_address_starts_its_own_local_cluster(inputs, yolox_weights, tmp_path):
    """As a user runs it: a fresh process, ``--ray`` alone, workers importing this checkout."""
    pytest.importorskip("ray")
    import subprocess

    out = tmp_path / "out"
    env = {**os.environ, "YOLOX_NANO_WEIGHTS": str(yolox_weights), "RAY_AUTH_MODE": "disabled"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "batch", str(inputs / "a"), str(inputs / "other.mov"),
         "--out", str(out), "--detector", "yolox_nano", "--no-video", "--no-progress", "--ray"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2 done, 0 skipped, 0 failed"
    frames = {Path(line["input"]).name: line["summary"]["frames"] for line in _manifest(out)}
    assert frames == {"clip.mp4": 12, "other.mov": 8}, "in the order the actors finished"
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_and_the_same_command_goes_on(
    shared_assets, yolox_weights, tmp_path
):
    """SIGINT mid-video: status 130, only whole lines; the video cut off is done on the rerun."""
    import signal
    import subprocess
    import time

    videos = [
        shared_assets / "video" / "tud_campus.mp4",
        shared_assets / "video" / "car_detection.mp4",
    ]
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "pipeline", "batch", *map(str, videos), "--out", str(out),
            "--detector", "yolox_nano", "--no-video", "--max-frames", "120",
            "--no-progress"]  # fmt: skip
    env = {**os.environ, "YOLOX_NANO_WEIGHTS": str(yolox_weights)}
    process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        manifest = out / "manifest.jsonl"
        while not manifest.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # some frames of the second video
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stdout.strip().splitlines()[-1].startswith("1 done, 0 skipped, 0 failed; stopped")
    assert [line["input"] for line in _manifest(out)] == [str(videos[0])]

    rerun = subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip().splitlines()[-1] == "1 done, 1 skipped, 0 failed"
    lines = _manifest(out)
    assert [line["input"] for line in lines] == list(map(str, videos))
    assert len(_tracks(lines[1])) == 120
