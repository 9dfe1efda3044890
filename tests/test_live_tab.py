"""The Live tab: its handlers fed frames as the webcam stream feeds them, then a real
Chromium with a fake camera playing the real TUD-Campus clip."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import gradio as gr
import numpy as np
import pytest
import synthetic
from chromium import CHROMIUM, CHROMIUM_ARGS, FAKE_CAMERA_FLAGS, chromium  # noqa: F401

from pipeline.jobs import JobStatus
from ui.jobs import job_store
from ui.live import LiveSession
from ui.settings import Settings
from ui.tabs.live import NO_FRAME_TO_DRAW_ON, LiveHandlers, Stopped, _end_abandoned

WIDTH, HEIGHT = 320, 240


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(output_dir=tmp_path / "runs", live_time_limit_s=60)


def camera_frames(count: int, start: int = 0) -> Iterator[np.ndarray]:
    """What a webcam would send: the synthetic shapes, RGB."""
    for index in range(start, start + count):
        yield synthetic.draw_frame(index, WIDTH, HEIGHT)[..., ::-1].copy()


def feed(handlers: LiveHandlers, frames, session=None, *, record=False, counting=""):
    for image in frames:
        shown, status, session = handlers.frame(
            image, "test_shapes", "", 0.25, counting, record, session
        )
    return shown, status, session


def h264_frames(path: str) -> int:
    with av.open(path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return sum(1 for _ in container.decode(video=0))


def test_a_session_tracks_counts_and_records_until_stop(settings):
    handlers = LiveHandlers(settings)
    counting = json.dumps({"lines": [{"name": "mid", "points": [[160, 0], [160, 240]]}]})
    shown, status, session = feed(handlers, camera_frames(40), record=True, counting=counting)
    assert isinstance(session, LiveSession) and shown.shape == (HEIGHT, WIDTH, 3)
    assert "40 frames" in status and "3 tracks" in status and "Line **mid**" in status
    job = session.job
    assert job is not None and job.status is JobStatus.RUNNING and job.frames_done >= 1

    status, video, tracks, tables, summary, after = handlers.stop(session)
    assert isinstance(after, Stopped) and status.startswith("**Stopped.** 40 frames")
    assert h264_frames(video) == 40
    data = json.loads(Path(tracks).read_text())
    assert len(data["frames"]) == data["video"]["frames"] == 40
    assert sorted({o["track_id"] for f in data["frames"] for o in f["objects"]}) == [1, 2, 3]
    assert sorted(Path(t).name for t in tables) == ["objects.csv", "tracks.csv"]
    assert summary["counting"]["lines"]["mid"]["in_total"] >= 1  # red crosses it
    # The recording is a job of the store, ended, with its files (served over REST).
    assert job.status is JobStatus.COMPLETED and job.summary.frames == 40
    status = job_store(settings).status(job.id)
    assert status["status"] == "completed" and "video" in status["outputs"]


def test_lines_and_zones_are_drawn_on_the_cameras_current_frame(settings):
    from ui import counting as drawing

    handlers = LiveHandlers(settings)
    frames = list(camera_frames(3))
    _, _, session = feed(handlers, frames)
    snapshot, status = handlers.snapshot(session)
    assert np.array_equal(snapshot, frames[-1]) and status == gr.skip()
    # With no camera running there is no frame: the status line says why.
    assert handlers.snapshot(None) == (gr.skip(), NO_FRAME_TO_DRAW_ON)
    # The page saves it as a PNG for the editor, which draws on it as on a video's frame.
    path = settings.output_dir / "snapshot.png"
    cv2.imwrite(str(path), snapshot[..., ::-1])
    text = json.dumps({"lines": [{"name": "mid", "points": [[160, 0], [160, 240]]}]})
    drawn, note = drawing.canvas(str(path), text, [])
    assert drawn.shape == (HEIGHT, WIDTH, 3) and note == ""
    assert not np.array_equal(drawn, snapshot)


def test_each_session_has_its_own_tracker(settings):
    handlers = LiveHandlers(settings)
    first = second = None
    for a, b in zip(camera_frames(20), camera_frames(20, start=5), strict=True):
        _, _, first = handlers.frame(a, "test_shapes", "", 0.25, "", False, first)
        _, _, second = handlers.frame(b, "test_shapes", "", 0.25, "", False, second)
    for session in (first, second):
        summary = handlers.stop(session)[4]
        # Each counts its own three shapes from id 1: no ids shared or carried over.
        assert summary["tracks"] == 3 and summary["frames"] == 20
    assert first.run is not second.run and first.run.run.tracker is not second.run.run.tracker


def test_frames_still_on_their_way_after_stop_start_nothing(settings):
    handlers = LiveHandlers(settings)
    _, _, session = feed(handlers, camera_frames(5))
    *_, stopped = handlers.stop(session)
    # A frame that was being handled when Stop came is dropped, not an error.
    assert session.process(next(camera_frames(1))) is None and session.run.frames == 5
    shown, status, same = handlers.frame(
        next(camera_frames(1)), "test_shapes", "", 0.25, "", False, stopped
    )
    assert same is stopped and shown == status == gr.skip()
    # Once the grace period is over, a frame starts a new session.
    object.__setattr__(stopped, "at", time.monotonic() - 10)
    _, _, fresh = handlers.frame(
        next(camera_frames(1)), "test_shapes", "", 0.25, "", False, stopped
    )
    assert isinstance(fresh, LiveSession) and fresh.run.frames == 1


def test_the_time_limit_ends_the_session_and_keeps_its_recording(tmp_path):
    handlers = LiveHandlers(Settings(output_dir=tmp_path / "runs", live_time_limit_s=0.5))
    _, _, session = feed(handlers, camera_frames(3), record=True)
    time.sleep(0.6)
    _, status, session = feed(handlers, camera_frames(2, start=3), session, record=True)
    assert "Time limit (0.5 s) reached" in status and session.run.frames == 3
    status, video, tracks, *_ = handlers.stop(session)
    assert h264_frames(video) == 3 and "Time limit" in status


def test_a_closed_page_finishes_its_recording(settings):
    handlers = LiveHandlers(settings)
    _, _, session = feed(handlers, camera_frames(6), record=True)
    _end_abandoned(session)
    assert session.job.status is JobStatus.COMPLETED
    assert h264_frames(str(session.job.outputs["video"])) == 6
    assert session.summary.source["ended"] == "The page was closed."


@pytest.mark.parametrize(
    ("detector", "counting", "message"),
    [
        ("no_such_model", "", "Unknown detector 'no_such_model'"),
        ("test_shapes", '{"lines": [{"name": "x", "points": [[0, 0], [999, 5]]}]}', "outside"),
    ],
)
def test_bad_settings_are_clear_errors_and_leave_nothing(settings, detector, counting, message):
    handlers = LiveHandlers(settings)
    with pytest.raises(gr.Error, match=message):
        handlers.frame(next(camera_frames(1)), detector, "", 0.25, counting, True, None)
    assert not [p for p in settings.output_dir.glob("job-*")]


def test_stop_frees_the_camera_before_the_server_ends_the_session(settings):
    from ui import build_demo

    # The page runs Stop's listeners in this order: the camera must stop sending frames
    # at the click, not once the server's answer (after Gradio has probed the recording)
    # is back, or a frame arriving late starts a new recording that is never stopped.
    config = build_demo(settings).get_config_file()
    stop = next(
        c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "live-stop"
    )
    on_stop = [
        (bool(d["js"]), d["backend_fn"])
        for d in config["dependencies"]
        if (stop, "click") in [tuple(target) for target in d["targets"]]
    ]
    assert on_stop == [(True, False), (False, True)]


# --- in a real browser, with a fake camera --------------------------------------------

# The whole command line, for tests that launch Chromium themselves.
FAKE_CAMERA_ARGS = [*CHROMIUM_ARGS, *FAKE_CAMERA_FLAGS]
OUTPUT_SRC_JS = "() => { const i = document.querySelector('#live-output img'); return i && i.src; }"
CAMERA_STATE_JS = """() => {
    const video = document.querySelector('#live-camera video');
    const stream = video && video.srcObject;
    return stream ? stream.getTracks().map((t) => t.readyState) : [];
}"""


@pytest.fixture(scope="module")
def fake_camera_clip(shared_assets: Path, tmp_path_factory) -> Path:
    """The real TUD-Campus clip as the raw Y4M that Chromium's fake camera plays."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    y4m = tmp_path_factory.mktemp("camera") / "tud_campus.y4m"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(shared_assets / "video" / "tud_campus.mp4"),
         "-pix_fmt", "yuv420p", str(y4m)],
        check=True,
    )  # fmt: skip
    return y4m


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, yolox_weights: Path) -> Iterator[tuple[str, Path]]:
    from serving import served

    from ui import build_demo
    from ui.app import PAGE_CSS

    output_root = tmp_path_factory.mktemp("live-runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YOLOX_NANO_WEIGHTS", str(yolox_weights))
        mp.setenv("VIDEO_APP_OUTPUT_DIR", str(output_root))
        with served(build_demo(), css=PAGE_CSS) as url:
            yield url, output_root


def start_camera(page, url: str, *, save: bool) -> None:
    page.goto(url)
    page.get_by_role("tab", name="Live").click()
    page.locator("#live-queries textarea, #live-queries input").first.fill("person")
    if save:
        page.locator("#live-record input").check()
    # One Start: the camera's own buttons are hidden and driven by the tab's.
    assert not page.locator("#live-camera button.capture-button").is_visible()
    page.locator("#live-start").click()


def changing_frames(page, count: int = 3, timeout_s: float = 60) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(seen) < count and time.monotonic() < deadline:
        src = page.evaluate(OUTPUT_SRC_JS)
        if src and (not seen or seen[-1] != src):
            seen.append(src)
        time.sleep(0.1)
    return seen


@pytest.mark.browser
def test_the_live_tab_in_chromium_with_a_fake_camera(live_app, fake_camera_clip):
    url, output_root = live_app
    args = [*FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={fake_camera_clip}"]
    with chromium(args) as browser:
        pages = [
            browser.new_context(viewport={"width": 1280, "height": 1100}).new_page()
            for _ in range(2)
        ]
        for page in pages:
            page.set_default_timeout(45_000)
            start_camera(page, url, save=True)
        # Both sessions at once: each sees annotated frames change.
        for page in pages:
            assert len(changing_frames(page)) >= 3
            page.locator("#live-status").get_by_text("Live for").wait_for()
        assert pages[0].evaluate(CAMERA_STATE_JS) == ["live"]

        pages[0].locator("#live-stop").click()
        pages[0].locator("#live-status").get_by_text("Stopped.").wait_for()
        # Stop frees the camera, and the recording is there to play and download.
        pages[0].wait_for_function(f"() => ({CAMERA_STATE_JS})().length === 0")
        video = pages[0].locator("#live-recording video")
        video.wait_for()
        assert pages[0].locator('#live-tracks a[download="tracks.json"]').count() >= 1
        # Draw on the current frame: the editor opens on it.
        assert not pages[1].locator("#live-counting-canvas").is_visible()
        pages[1].locator("#live-snapshot").click()
        pages[1].locator("#live-counting-canvas img").wait_for()
        # The other session goes on, with its own ids.
        frames_before = pages[1].locator("#live-status").inner_text()
        assert len(changing_frames(pages[1], 2)) >= 2
        assert pages[1].locator("#live-status").inner_text() != frames_before
        pages[1].locator("#live-stop").click()
        pages[1].locator("#live-status").get_by_text("Stopped.").wait_for()
        pages[0].screenshot(path="/tmp/app-live.png", full_page=True)
    # Two sessions at once, two trackers: each recording's ids start at 1.
    recordings = sorted(output_root.glob("job-*/tracks.json"))
    assert len(recordings) == 2
    for tracks in recordings:
        data = json.loads(tracks.read_text())
        ids = {o["track_id"] for frame in data["frames"] for o in frame["objects"]}
        assert min(ids) == 1 and len(data["frames"]) == data["video"]["frames"] >= 3


@pytest.mark.browser
def test_with_no_camera_start_and_draw_say_why_in_the_status(live_app):
    url, _ = live_app
    # No fake camera: Chromium finds no device, as on a computer without one.
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 1100}).new_page()
        page.set_default_timeout(45_000)
        page.goto(url)
        page.get_by_role("tab", name="Live").click()
        page.locator("#live-snapshot").click()
        page.locator("#live-status").get_by_text("Start the camera first").wait_for()
        page.locator("#live-start").click()
        status = page.locator("#live-status")
        status.get_by_text("The camera could not start").wait_for()
        assert "check that this device has one" in status.inner_text()
