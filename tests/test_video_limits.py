"""Every cost of a video bounded before it is paid: size, rate and length from the headers.

And the job store's side of the same: a stop drops the frames in flight whatever
a frame costs, a deleted job is gone when the delete returns, and one client
holds at most its share of the queue.
"""

from __future__ import annotations

import json
import re
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import synthetic
from test_jobs import upload

from pipeline import DetectionConfig
from pipeline.errors import VideoError, VideoOverLimit, VideoTooLong
from pipeline.io import video as video_io
from pipeline.io.video import FrameReader, probe
from pipeline.io.video_limits import VideoLimits
from pipeline.jobs import JobStatus, JobStore, QueueFull, UnknownJob
from pipeline.runs import check_input
from pipeline.runs.detection import DetectionRun
from pipeline.stages.counting import MAX_SHAPES, MAX_ZONE_POINTS, GeometryError, from_json

FAST = DetectionConfig(detector="test_shapes")
SLOW = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 0.3),))


def raw_h264(path: Path, frames: int, fps: int, size: tuple[int, int] = (64, 48)) -> Path:
    """A raw Annex-B H.264 stream: no container, so no duration and no frame count."""
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for index in range(frames):
            image = np.full((size[1], size[0], 3), index * 3 % 255, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("limits")
    return synthetic.make_video(folder / "clip.mp4", frames=30, width=160, height=128)


def test_too_many_pixels_are_refused_before_a_frame_is_decoded(
    clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(*_: object) -> int:
        raise AssertionError("a frame was decoded")

    opened = []
    real_open = av.open

    def recorded_open(*args, **kwargs):
        opened.append(kwargs.get("stream_options"))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(video_io, "_first_frame", no_decoding)
    monkeypatch.setattr(video_io.av, "open", recorded_open)
    with pytest.raises(VideoOverLimit, match="160x128 frames .* the limit is 20,479 pixels"):
        probe(clip, VideoLimits(max_pixels=160 * 128 - 1))
    # FFmpeg's stream probing decodes a frame unless told to skip them all.
    assert opened and all(options and options[0] == {"skip_frame": "all"} for options in opened)


def test_a_raw_h264_stream_is_held_to_the_length_limits(tmp_path: Path) -> None:
    stream = raw_h264(tmp_path / "long.h264", frames=60, fps=25)
    assert probe(stream).duration_s == 0.0  # the container states no length
    counted = probe(stream, VideoLimits(max_frames=1000))
    assert counted.frames == 60 and counted.duration_s == pytest.approx(60 / 25)
    with pytest.raises(VideoTooLong, match="2 s long; the limit is 1 s"):
        probe(stream, VideoLimits(max_duration_s=1, max_frames=1000))
    with pytest.raises(VideoTooLong, match="more than 40 frames"):
        probe(stream, VideoLimits(max_frames=40))


def mpegts(path: Path, frames: int = 10, size: tuple[int, int] = (64, 48)) -> Path:
    """A small MPEG-TS video: what an HLS playlist lists."""
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for index in range(frames):
            image = np.full((size[1], size[0], 3), index * 20 % 255, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize(
    ("name", "listing"),
    [
        ("clip.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://{}\n#EXT-X-ENDLIST\n"),
        # The concat demuxer refuses an absolute path itself, not a relative one.
        ("clip.mp4", "ffconcat version 1.0\nfile 'private/secret.ts'\n"),
    ],
)  # fmt: skip
def test_a_playlist_of_the_server_s_own_files_is_no_video(
    tmp_path: Path, name: str, listing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were it read, an upload would have the server's own video (or any it can name) back.
    (tmp_path / "private").mkdir()
    secret = mpegts(tmp_path / "private" / "secret.ts")
    playlist = tmp_path / name
    playlist.write_text(listing.format(secret))
    opened: list[str] = []
    real_open = av.open
    monkeypatch.setattr(
        video_io.av, "open", lambda path, **kw: opened.append(path) or real_open(path, **kw)
    )
    for read in (probe, video_io.read_first_frame, lambda path: list(video_io.iter_frames(path))):
        with pytest.raises(VideoError, match=f"^{name} is a playlist or a list of other files"):
            read(playlist)
    # Refused from its first bytes: FFmpeg, which would open its first entry, never saw it.
    assert not opened, opened


def test_a_percent_in_a_file_name_is_no_pattern_for_the_files_beside_it(tmp_path: Path) -> None:
    import cv2

    named = tmp_path / "shot%03d.png"
    cv2.imwrite(str(named), np.zeros((24, 32, 3), np.uint8))
    for index in (1, 2, 3):  # what an image-sequence pattern would read instead
        cv2.imwrite(str(tmp_path / f"shot{index:03d}.png"), np.full((48, 64, 3), 200, np.uint8))
    frames = list(video_io.iter_frames(named))
    assert [frame.image.shape[:2] for frame in frames] == [(24, 32)]


def test_frames_that_grow_past_the_first_one_are_refused(tmp_path: Path) -> None:
    """A header states the first frames' size; a stream that grows its frames later is refused.

    Else a tiny upload of a few huge frames would cost what the pixel limit is there to bound.
    """
    small = raw_h264(tmp_path / "small.h264", frames=5, fps=25, size=(64, 48))
    large = raw_h264(tmp_path / "large.h264", frames=5, fps=25, size=(320, 240))
    grown = tmp_path / "grown.h264"
    grown.write_bytes(small.read_bytes() + large.read_bytes())
    info = probe(grown, VideoLimits(max_pixels=64 * 48))  # its header is within the limit
    assert (info.width, info.height) == (64, 48)
    with pytest.raises(VideoError, match=r"^grown.h264's frames grow to 320x240 pixels at frame 5"):
        list(video_io.iter_frames(grown))
    # Frames no larger than the first are read (and scaled by the encoder) as before.
    shrunk = tmp_path / "shrunk.h264"
    shrunk.write_bytes(large.read_bytes() + small.read_bytes())
    assert len(list(video_io.iter_frames(shrunk))) == 10


def test_a_file_with_nothing_to_show_says_what_is_wrong(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(VideoError, match=r"^empty.mp4 is empty \(0 bytes\)\.$"):
        probe(empty)
    dot = tmp_path / "dot.mp4"
    with av.open(str(dot), "w") as container:  # 4:4:4: x264 takes one pixel so
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1, 1, "yuv444p"
        for _ in range(3):
            image = np.zeros((1, 1, 3), np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    # A readable video under a limit (REST answers 422), not an unreadable one (415).
    with pytest.raises(VideoOverLimit, match=r"^dot.mp4 is 1x1 pixels: too small to encode"):
        probe(dot)
    # An MP4 cut anywhere inside its index (a stream without a codec context, PyAV's
    # bare ValueError): one sentence in words, never a traceback or an exception's name.
    whole = synthetic.make_video(tmp_path / "whole.mp4", frames=5, width=64, height=48)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    said = set()
    moov = data.find(b"moov") - 4  # the atom's size comes first
    for end in range(moov + 8, moov + int.from_bytes(data[moov : moov + 4], "big"), 4):
        cut.write_bytes(data[:end])
        try:  # a cut in the index's tail can leave the frames readable
            probe(cut)
            list(video_io.iter_frames(cut))
        except VideoError as refusal:
            said.add(str(refusal))
    assert "cut.mp4 is not a readable video (its data is damaged or cut short)." in said, said
    assert not any(re.search(r"[A-Z][a-z]+Error", message) for message in said), said


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_clip_whose_times_start_late_is_as_long_as_its_frames(tmp_path: Path, suffix: str):
    """Cut from a long recording with its times kept: 1.6 s from 10 h on, not a 10 h video.

    Matroska states its duration from 0 (FFmpeg reads 36001.6 s for this one), MP4 from its
    first frame.
    """
    ten_hours_ms = 36_000_000
    clip = synthetic.make_video(
        tmp_path / f"late{suffix}", frames=40, width=64, height=48,
        timestamps_ms=[ten_hours_ms + 40 * index for index in range(40)],
    )  # fmt: skip
    info = probe(clip)  # within the default 600 s limit
    assert info.duration_s == pytest.approx(1.6, abs=0.01) and info.frames == 40


def test_a_high_frame_rate_is_refused(tmp_path: Path) -> None:
    fast = synthetic.make_video(tmp_path / "fast.mp4", frames=10, width=64, height=48, fps=1000)
    with pytest.raises(VideoOverLimit, match="1000 frames per second; the limit is 240"):
        probe(fast, VideoLimits(max_fps=240))


def test_the_run_checks_the_config_s_limits(clip: Path) -> None:
    with pytest.raises(VideoTooLong, match="more than 10 frames"):
        check_input(clip, DetectionConfig(detector="test_shapes", max_video_frames=10))
    with pytest.raises(VideoOverLimit, match="the limit is 100 pixels"):
        check_input(clip, DetectionConfig(detector="test_shapes", max_pixels=100))


def test_the_frame_limit_holds_while_decoding_whatever_the_headers_say(clip: Path) -> None:
    reader = FrameReader(clip, frame_limit=10)
    decoded = []
    with pytest.raises(VideoTooLong, match="more than 10 frames"):
        for frame in reader:
            decoded.append(frame.index)
    reader.close()
    assert decoded == list(range(10))


@pytest.mark.parametrize(
    ("counting", "message"),
    [
        ({"lines": [{"name": f"l{i}", "points": [[0, 0], [1, 1]]} for i in range(MAX_SHAPES + 1)]},
         f"the limit is {MAX_SHAPES}"),
        ({"zones": [{"name": "z", "points": [[i, i % 7] for i in range(MAX_ZONE_POINTS + 1)]}]},
         f"the limit is {MAX_ZONE_POINTS}"),
        ('{"lines": [{"name": "a", "points": [[1e400, 0], [1, 1]]}]}', "must be finite"),
        ('{"lines": [{"name": "a", "points": [[' + "9" * 4000 + ', 0], [1, 1]]}]}',
         "too long to be one"),
        ("[" * 100_000, "nested too deeply"),
        ({"lines": [{"name": "a", "points": [[float("inf"), 0], [1, 1]]}]},
         "numbers must be finite|must be finite numbers"),
        ("x" * 200_000, "the limit is 100000"),
    ],
)  # fmt: skip
def test_counting_input_past_the_limits_is_one_clear_error(counting: object, message: str) -> None:
    """As JSON text (REST) and, for what JSON can say, as the dict an MCP client sends."""
    values = [counting] if isinstance(counting, str) else [counting, json.dumps(counting)]
    for value in values:
        with pytest.raises(GeometryError, match=message):
            from_json(value)


# ---------------------------------------------------------------- the job store


@pytest.fixture
def store(tmp_path: Path):
    jobs = JobStore(
        tmp_path / "jobs", devices=1, max_queued=4, max_queued_per_client=1,
        sweep_interval_s=None,
    )  # fmt: skip
    yield jobs
    jobs.close()


@pytest.fixture
def heavy_in_order_stage(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Each frame's in-order work (tracking, counting, drawing) made slow on purpose."""
    original = DetectionRun.process
    started = threading.Event()

    def slow(self, frame, result, timing):
        started.set()
        time.sleep(0.3)
        return original(self, frame, result, timing)

    monkeypatch.setattr(DetectionRun, "process", slow)
    return started


def test_stop_drops_the_frames_in_flight_of_a_heavy_stage(
    store: JobStore, clip: Path, tmp_path: Path, heavy_in_order_stage: threading.Event
) -> None:
    job = store.submit(upload(clip, tmp_path), FAST)
    assert job.wait_until(lambda j: j.frames_done >= 2, timeout=60)
    # The detector is fast: by now most of the 30 frames wait, detected, for the stage.
    at_stop = job.frames_done
    store.stop(job.id)
    assert job.wait_until(lambda j: j.status.finished, timeout=60)
    assert job.status is JobStatus.STOPPED and job.summary.partial
    # The frame being finished when the stop came, and no other.
    assert at_stop <= job.frames_done <= at_stop + 1 < 30


def test_delete_of_a_running_job_answers_once_it_is_gone(
    store: JobStore, clip: Path, tmp_path: Path, heavy_in_order_stage: threading.Event
) -> None:
    job = store.submit(upload(clip, tmp_path), FAST)
    assert job.wait_until(lambda j: j.frames_done >= 2, timeout=60)
    store.delete(job.id)
    assert job.status.finished and job.frames_done < 30
    assert not job.folder.exists() and not job.video.exists()
    with pytest.raises(UnknownJob):
        store.get(job.id)


def test_one_client_holds_at_most_its_share_of_the_queue(
    store: JobStore, clip: Path, tmp_path: Path
) -> None:
    running = store.submit(upload(clip, tmp_path), SLOW, client="a")
    waiting = store.submit(upload(clip, tmp_path), SLOW, client="a")
    with pytest.raises(QueueFull) as refused:
        store.submit(upload(clip, tmp_path), SLOW, client="a")
    assert refused.value.client_over_share and refused.value.retry_after_s > 0
    other = store.submit(upload(clip, tmp_path), SLOW, client="b")
    assert store.queue_position(waiting) == 1 and store.queue_position(other) == 2
    for job in (running, waiting, other):
        store.delete(job.id)
