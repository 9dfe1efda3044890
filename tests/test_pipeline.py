"""The detection run end to end on synthetic videos whose right answer is known."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
import synthetic

import models
from pipeline import first_frame, start
from pipeline.configs import DetectionConfig
from pipeline.errors import VideoError
from pipeline.io.video import MAX_FRAME_GAP_S as GAP
from pipeline.io.video import H264Writer
from pipeline.runtime.events import Done, FirstFrame, Preview, Progress
from ui.render import summary_text

FRAMES, WIDTH, HEIGHT, FPS = 40, 320, 240, 25
PIPELINE_THREADS = ("decoder", "encoder", "detection-in-order", "worker-")


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "shapes.mp4"
    return synthetic.make_video(path, frames=FRAMES, width=WIDTH, height=HEIGHT, fps=FPS)


def _outputs(tmp_path: Path) -> dict[str, Path]:
    return {
        "video": tmp_path / "out.mp4",
        "tracks": tmp_path / "tracks.json",
        "mot": tmp_path / "tracks.txt",
    }


def _pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(PIPELINE_THREADS)]


def _wait_for_no_pipeline_threads(timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (alive := _pipeline_threads()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def test_run_tracks_every_shape_in_every_frame_in_order(video, tmp_path):
    outputs = _outputs(tmp_path)
    events = list(start(video, DetectionConfig(detector="test_shapes"), outputs))

    assert isinstance(events[0], FirstFrame)
    assert len(events[0].detections) == 3
    assert isinstance(events[-1], Done)
    progress = [e.frame_index for e in events if isinstance(e, Progress)]
    assert progress == sorted(progress)
    assert any(isinstance(e, Preview) for e in events)
    done = events[-1]
    assert done.summary.frames == FRAMES
    assert done.summary.tracks_per_class == {"red": 1, "green": 1, "blue": 1}

    tracks = json.loads(outputs["tracks"].read_text())
    assert tracks["video"] == {"fps": FPS, "width": WIDTH, "height": HEIGHT, "frames": FRAMES}
    assert tracks["model"]["name"] == "test_shapes"
    assert [f["frame"] for f in tracks["frames"]] == list(range(FRAMES))
    times = [f["time"] for f in tracks["frames"]]
    assert times == pytest.approx([i / FPS for i in range(FRAMES)], abs=1e-3)

    ids_by_class: dict[str, set[int]] = {}
    for entry in tracks["frames"]:
        for obj in entry["objects"]:
            ids_by_class.setdefault(obj["class"], set()).add(obj["track_id"])
            shape = next(s for s in synthetic.DEFAULT_SHAPES if s.color == obj["class"])
            assert obj["box"] == pytest.approx(shape.box(entry["frame"]), abs=2)
    # One id per shape for the whole video, ids counted from 1.
    assert all(len(ids) == 1 for ids in ids_by_class.values())
    assert sorted(i for ids in ids_by_class.values() for i in ids) == [1, 2, 3]
    # Tracks are confirmed after two frames, then reported in every frame.
    assert all(len(f["objects"]) == 3 for f in tracks["frames"][1:])

    mot_rows = outputs["mot"].read_text().splitlines()
    assert len(mot_rows) == sum(len(f["objects"]) for f in tracks["frames"])
    assert mot_rows[0].split(",")[0] in {"1", "2"}


def test_output_is_browser_playable_h264_matching_the_input(video, tmp_path):
    outputs = _outputs(tmp_path)
    for _ in start(video, DetectionConfig(detector="test_shapes"), outputs):
        pass
    with av.open(str(outputs["video"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
        assert float(stream.average_rate) == pytest.approx(FPS)
        assert sum(1 for _ in container.decode(stream)) == FRAMES
    head = outputs["video"].read_bytes()[:4096]
    assert b"moov" in head, "moov atom must come first (+faststart) for streaming playback"


def _shown_at(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def test_a_variable_frame_rate_keeps_its_timing_in_the_output_video(tmp_path):
    # Frames 1 ms apart, then gaps of 0.3 s and 0.7 s: a phone's or a screen recorder's.
    times_ms = [0, 40, 80, 400, 401, 402, 403, 440, 1200, 1240, 1250, 1260, 1300]
    clip = synthetic.make_video(
        tmp_path / "vfr.mp4", frames=len(times_ms), width=WIDTH, height=HEIGHT,
        timestamps_ms=times_ms,
    )  # fmt: skip
    outputs = _outputs(tmp_path)
    for _ in start(clip, DetectionConfig(detector="test_shapes"), outputs):
        pass
    # Each frame at its own time, not evened out at the average rate (10 fps here).
    assert _shown_at(outputs["video"]) == pytest.approx([ms / 1000 for ms in times_ms], abs=1e-4)


@pytest.mark.parametrize(
    ("fps", "times", "shown"),
    [
        (25, [None] * 4, [0, 0.04, 0.08, 0.12]),
        (25, [0.0] * 4, [0, 0.04, 0.08, 0.12]),  # a file whose timestamps are all 0
        (25, [3.0, 2.0, 1.0, 0.0], [0, 0.04, 0.08, 0.12]),
        # A broken timestamp an hour on: the gap is shortened, the spacing after it kept.
        (25, [0.0, 0.04, 3600.0, 3600.04], [0, 0.04, GAP + 0.04, GAP + 0.08]),
        # A time-lapse, a frame every 20 s: every frame is in the video, each gap shortened.
        (0.05, [0.0, 20.0, 40.0, 60.0], [0, GAP, 2 * GAP, 3 * GAP]),
        (0.0001, [None] * 3, [0, 0.04, 0.08]),  # a rate that rounds to 0: 25 fps stands in
    ],
)
def test_frames_without_good_times_are_evenly_spaced_and_a_gap_is_bounded(
    tmp_path, fps, times, shown
):
    writer = H264Writer(tmp_path / "out.mp4", 64, 48, fps)
    for time_s in times:
        writer.write(np.zeros((48, 64, 3), np.uint8), time_s)
    writer.close()
    assert _shown_at(tmp_path / "out.mp4") == pytest.approx(shown, abs=1e-4)


def test_first_frame_preview(video):
    preview = first_frame(video, DetectionConfig(detector="test_shapes"))
    assert preview.image.shape == (HEIGHT, WIDTH, 3)
    assert sorted(preview.detections.data["class_name"]) == ["blue", "green", "red"]


def _frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def test_stop_ends_run_promptly_and_keeps_a_playable_partial_result(video, tmp_path):
    outputs = _outputs(tmp_path)
    stop = threading.Event()
    config = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 0.05),))
    events = start(video, config, outputs, stop)
    for event in events:
        if isinstance(event, Progress) and not stop.is_set():
            stop.set()
            stopped_at = time.monotonic()
    assert time.monotonic() - stopped_at < 2.0
    assert isinstance(event, Done) and event.summary.partial is True
    frames = event.summary.frames
    assert 0 < frames < FRAMES
    # The video, the tracks and the MOT file hold exactly the frames processed.
    assert _frames_in(outputs["video"]) == frames
    tracks = json.loads(outputs["tracks"].read_text())
    assert len(tracks["frames"]) == tracks["video"]["frames"] == frames
    mot_frames = {int(line.split(",")[0]) for line in outputs["mot"].read_text().splitlines()}
    assert mot_frames <= set(range(1, frames + 1))
    assert _wait_for_no_pipeline_threads() == []


def test_closing_the_generator_stops_the_run_and_keeps_what_was_done(video, tmp_path):
    outputs = _outputs(tmp_path)
    config = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 0.05),))
    events = start(video, config, outputs)
    for event in events:
        if isinstance(event, Preview):
            break
    events.close()  # what Gradio does when the browser goes away
    assert _wait_for_no_pipeline_threads() == []
    tracks = json.loads(outputs["tracks"].read_text())
    assert 0 < len(tracks["frames"]) < FRAMES
    assert _frames_in(outputs["video"]) == len(tracks["frames"])


def test_worker_error_fails_run_with_its_message_and_cleans_up(video, tmp_path):
    outputs = _outputs(tmp_path)
    config = DetectionConfig(detector="test_shapes", detector_options=(("fail_on_frame", 10),))
    with pytest.raises(Exception, match="exploded on purpose"):
        for _ in start(video, config, outputs):
            pass
    assert not any(p.exists() for p in outputs.values())
    assert _wait_for_no_pipeline_threads() == []


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"detector": "nope"}, models.UnknownModelError, "Available: .*yolo11"),
        (
            {"detector": "test_shapes", "queries": ("purple",)},
            models.InvalidQueryError,
            "Valid classes: red, green, blue",
        ),
        (
            {"detector": "test_shapes", "max_duration_s": 0.5},
            VideoError,
            "limit is 0 s|limit is 1 s",
        ),
    ],
)
def test_user_errors_are_clear_and_leave_nothing(video, tmp_path, settings, error, message):
    outputs = _outputs(tmp_path)
    with pytest.raises(error, match=message):
        next(start(video, DetectionConfig(**settings), outputs))
    assert not any(p.exists() for p in outputs.values())


def test_bad_file_is_a_clear_video_error(tmp_path):
    bad = tmp_path / "not_a_video.mp4"
    bad.write_text("this is text, not a video")
    outputs = _outputs(tmp_path)
    with pytest.raises(VideoError, match="not a readable video"):
        next(start(bad, DetectionConfig(detector="test_shapes"), outputs))
    assert not any(p.exists() for p in outputs.values())


def test_queries_filter_classes(video, tmp_path):
    outputs = _outputs(tmp_path)
    config = DetectionConfig(detector="test_shapes", queries=("red",))
    for _ in start(video, config, outputs):
        pass
    tracks = json.loads(outputs["tracks"].read_text())
    classes = {o["class"] for f in tracks["frames"] for o in f["objects"]}
    assert classes == {"red"}


def test_frames_in_flight_stay_under_the_bound(tmp_path):
    long_video = synthetic.make_video(tmp_path / "long.mp4", frames=240, width=96, height=64)
    outputs = _outputs(tmp_path)
    config = DetectionConfig(detector="test_shapes", max_in_flight=6, queue_size=4)
    *_, done = start(long_video, config, outputs)
    assert done.summary.frames == 240
    assert 1 <= done.summary.peak_frames_in_flight <= 6


def test_concurrent_runs_share_a_device_without_mixing_tracks(video, tmp_path):
    """Two users at once: same cached model instance, separate trackers and outputs."""
    config = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 0.01),))
    results: dict[int, dict] = {}
    errors: list[BaseException] = []

    def one_run(i: int) -> None:
        try:
            outputs = _outputs(tmp_path / str(i))
            (tmp_path / str(i)).mkdir()
            *_, done = start(video, config, outputs)
            results[i] = json.loads(done.outputs["tracks"].read_text())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one_run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for tracks in results.values():
        assert [f["frame"] for f in tracks["frames"]] == list(range(FRAMES))
        ids = {o["track_id"] for f in tracks["frames"] for o in f["objects"]}
        assert ids == {1, 2, 3}, "each run numbers its own tracks from 1"
    assert results[0]["frames"] == results[1]["frames"]


def test_error_messages_do_not_reveal_server_paths(tmp_path):
    bad = tmp_path / "secret-folder" / "notes.mp4"
    bad.parent.mkdir()
    bad.write_text("text")
    with pytest.raises(VideoError) as info:
        first_frame(bad, DetectionConfig(detector="test_shapes"))
    assert "notes.mp4" in str(info.value) and "secret-folder" not in str(info.value)


def test_the_summary_names_the_licence_of_each_model_used(video, tmp_path, tiny_depth_weights):
    config = DetectionConfig(
        detector="yolox_nano", depth=True, depth_weights=str(tiny_depth_weights), max_frames=5
    )
    *_, done = start(video, config, _outputs(tmp_path))
    assert done.summary.licenses == [
        {"name": "yolox_nano", "size": None, "license": "Apache-2.0", "non_commercial": False},
        {"name": "depth_anything_v2", "size": "small", "license": "Apache-2.0",
         "non_commercial": False},
    ]  # fmt: skip
    # The licences the summary names are the registry's (what the page shows).
    assert done.summary.licenses[0]["license"] == models.spec(
        "detector", "yolox_nano"
    ).license_for()
    assert "Licences: yolox_nano Apache-2.0; depth_anything_v2 small Apache-2.0." in (
        summary_text(done.summary)
    )
