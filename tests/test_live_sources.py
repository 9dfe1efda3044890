"""Live inputs on the command line: a stream served on loopback by ffmpeg, standard input.

Each test starts its own ``ffmpeg`` serving the real TUD-Campus clip (71
frames, 25 fps) in real time (``-re``) as MPEG-TS over TCP on 127.0.0.1, and
stops it after.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import pytest
from serving import free_port

from pipeline.cli.main import main
from pipeline.errors import VideoError
from pipeline.io.sources import LiveSource, backoff_delays, source_spec

REPO_ROOT = Path(__file__).resolve().parents[1]
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")


@pytest.fixture(scope="module")
def clip(tud_campus_video: Path) -> Path:
    return tud_campus_video


def serve_command(clip: Path, port: int, *, seconds: float | None = None, loops: int = 0):
    """ffmpeg sending ``clip`` in real time as MPEG-TS to the first client of ``port``.

    ``loops`` more times after the first (-1: forever).
    """
    return [
        FFMPEG, "-loglevel", "error", "-re", "-stream_loop", str(loops),
        "-i", str(clip), *(["-t", str(seconds)] if seconds else []),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-f", "mpegts", f"tcp://127.0.0.1:{port}?listen=1",
    ]  # fmt: skip


@contextmanager
def served_stream(clip: Path, **options) -> Iterator[str]:
    """A stream on a free loopback port; yields its URL; stops ffmpeg after."""
    port = free_port()
    server = subprocess.Popen(serve_command(clip, port, **options))
    try:
        time.sleep(0.3)  # listening
        yield f"tcp://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


def h264_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        return sum(1 for _ in container.decode(stream))


def detect_args(source: str, folder: Path, *more: str) -> list[str]:
    return [
        "detect", source, "--detector", "yolox_nano", "--queries", "person", "--no-progress",
        "--out", str(folder / "live.mp4"), "--tracks", str(folder / "tracks.json"), *more,
    ]  # fmt: skip


def test_a_tcp_stream_is_detected_until_it_ends(clip, tmp_path, capsys):
    with served_stream(clip, loops=1) as url:  # 142 frames, 5.7 s
        status = main(detect_args(url, tmp_path, "--reconnect-tries", "1"))
    assert status == 0
    summary = json.loads(capsys.readouterr().out.split("\n", 2)[-1])
    tracks = json.loads((tmp_path / "tracks.json").read_text())
    frames = len(tracks["frames"])
    # Every frame kept is in the video and the tracks; the others (those that came
    # while the model loaded, and any the run was too slow for) were dropped, not queued.
    assert h264_frames(tmp_path / "live.mp4") == frames == summary["frames"]
    assert frames + summary["source"]["frames_dropped"] == 142
    assert frames >= 50 and summary["tracks_per_class"]["person"] >= 1
    # Times from the stream (25 fps), from 0; the video shows each frame at its time.
    times = np.array([frame["time"] for frame in tracks["frames"]])
    assert times[0] == 0 and np.all(np.diff(times) > 0)
    assert np.isclose(np.diff(times), 0.04, atol=1e-3).mean() > 0.5
    with av.open(str(tmp_path / "live.mp4")) as container:
        shown = [float(f.time) for f in container.decode(video=0)]
    assert np.allclose(shown, times, atol=2e-3)
    assert summary["source"]["live"] == url and "ended" in summary["source"]


def test_a_stream_that_drops_and_comes_back_is_reopened(clip, tmp_path, capsys):
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    servers: list[subprocess.Popen] = []

    def serve_twice() -> None:
        # 1.6 s of video, a second of nothing, then 1.6 s more on the same port.
        for pause in (0.0, 1.0):
            time.sleep(pause)
            servers.append(subprocess.Popen(serve_command(clip, port, seconds=1.6)))
            servers[-1].wait()

    thread = threading.Thread(target=serve_twice)
    thread.start()
    try:
        time.sleep(0.3)
        status = main(detect_args(url, tmp_path, "--reconnect-tries", "4"))
    finally:
        thread.join(timeout=30)
        for server in servers:
            server.kill()
            server.wait()
    assert status == 0
    summary = json.loads(capsys.readouterr().out.split("\n", 2)[-1])
    assert summary["source"]["reconnects"] == 1
    frames = json.loads((tmp_path / "tracks.json").read_text())["frames"]
    gaps = np.diff([frame["time"] for frame in frames])
    # The time the stream was away is kept: one gap of about a second, the others 40 ms.
    assert np.all(gaps > 0) and 0.8 < gaps.max() < 4.0
    assert np.isclose(gaps, 0.04, atol=1e-3).mean() > 0.5
    assert h264_frames(tmp_path / "live.mp4") == len(frames) == summary["frames"]


def test_an_unreachable_source_is_a_clear_error_after_the_backoff(tmp_path, capsys):
    url = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    status = main(detect_args(url, tmp_path, "--reconnect-tries", "2"))
    error = capsys.readouterr().err
    assert status == 2
    assert f"error: Could not open {url}: Connection refused (3 tries over 1.5 s)." in error
    assert time.monotonic() - started < 10
    assert not list(tmp_path.iterdir())


def _run_cli(args: list[str], **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def _wait_for_frames(tracks: Path, frames: int, process: subprocess.Popen, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if len(json.loads(tracks.read_text())["frames"]) >= frames:
                return
        except (OSError, ValueError):
            pass  # not there yet, or being rewritten at this instant
        time.sleep(0.1)
    raise AssertionError(f"fewer than {frames} frames in {tracks} after {timeout} s")


def test_ctrl_c_in_the_middle_leaves_a_playable_video_matching_its_tracks(clip, tmp_path):
    with served_stream(clip, loops=-1) as url:
        process = _run_cli(detect_args(url, tmp_path))
        _wait_for_frames(tmp_path / "tracks.json", 20, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    tracks = json.loads((tmp_path / "tracks.json").read_text())
    assert h264_frames(tmp_path / "live.mp4") == len(tracks["frames"]) == tracks["video"]["frames"]
    assert len(tracks["frames"]) >= 20 and "Traceback" not in err


def test_a_killed_run_still_leaves_a_playable_video_and_valid_tracks(clip, tmp_path):
    """No chance to finish anything: the fragments written so far play, the tracks parse."""
    with served_stream(clip, loops=-1) as url:
        process = _run_cli(detect_args(url, tmp_path))
        _wait_for_frames(tmp_path / "tracks.json", 60, process)
        process.kill()
        process.communicate(timeout=30)
    tracks = json.loads((tmp_path / "tracks.json").read_text())
    played = h264_frames(tmp_path / "live.mp4")
    # Whole fragments only: up to about a second (25 frames) may not have been written yet.
    assert 0 < played <= len(tracks["frames"]) == tracks["video"]["frames"]
    assert len(tracks["frames"]) - played <= 50


def test_standard_input_waits_for_the_run_and_loses_no_frame(clip, tmp_path):
    # As fast as ffmpeg can: a pipe waits for its reader, so every frame is processed.
    feeder = subprocess.Popen(
        [FFMPEG, "-loglevel", "error", "-i", str(clip), "-c:v", "libx264",
         "-preset", "ultrafast", "-f", "mpegts", "-"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    process = _run_cli(detect_args("-", tmp_path), stdin=feeder.stdout)
    feeder.stdout.close()
    out, err = process.communicate(timeout=60)
    feeder.wait()
    assert process.returncode == 0, err
    summary = json.loads(out.split("\n", 2)[-1])
    assert summary["source"]["live"] == "standard input"
    assert summary["frames"] == 71 and summary["source"]["frames_dropped"] == 0
    assert h264_frames(tmp_path / "live.mp4") == 71


# --- naming sources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("-", "stdin", "standard input"),
        ("rtsp://admin:secret@10.0.0.5:554/stream1", "stream", "rtsp://10.0.0.5:554/stream1"),
        ("http://cam.local/video.mjpg", "stream", "http://cam.local/video.mjpg"),
        ("tcp://127.0.0.1:9000", "stream", "tcp://127.0.0.1:9000"),
        ("/dev/video2", "camera", "camera /dev/video2"),
    ],
)
def test_live_sources_are_named_without_their_password(text, kind, label):
    spec = source_spec(text)
    assert (spec.kind, spec.label) == (kind, label)


def test_files_are_not_live_sources():
    assert source_spec("clip.mp4") is None and source_spec("videos/0.mp4") is None


def test_a_missing_camera_is_a_clear_error():
    spec = source_spec("/dev/video63")
    with pytest.raises(VideoError, match="Could not open camera /dev/video63: No such file"):
        LiveSource(spec, timeout_s=1, reconnect_tries=3)


def test_the_backoff_doubles_up_to_its_bound():
    assert backoff_delays(7) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delays(0) == []
