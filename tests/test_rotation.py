"""Phone videos with a display-matrix rotation decode upright, as the ffmpeg CLI shows them.

The ground truth of "what a player shows" is the ffmpeg command line, which
applies the display matrix when decoding (its default ``-autorotate``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import synthetic

from pipeline import start
from pipeline.configs import DetectionConfig
from pipeline.io.video import FrameReader, _quarter_turns, iter_frames, probe, read_first_frame

FRAMES, WIDTH, HEIGHT, FPS = 8, 320, 240, 25
# A yellow block in the stored top-left corner, wider than tall, clear of the
# moving squares (the red one starts at y=20) and unseen by the shape detector.
MARKER_W, MARKER_H = 32, 16
YELLOW = (0, 255, 255)
# Where the marker's box (x1, y1, x2, y2) is on the displayed frame, for a
# display-matrix rotation of this many degrees counterclockwise.
DISPLAYED_MARKER = {
    0: (0, 0, MARKER_W, MARKER_H),
    90: (0, WIDTH - MARKER_W, MARKER_H, WIDTH),  # bottom-left of a portrait frame
    180: (WIDTH - MARKER_W, HEIGHT - MARKER_H, WIDTH, HEIGHT),  # bottom-right
    270: (HEIGHT - MARKER_H, 0, HEIGHT, MARKER_W),  # top-right of a portrait frame
}
ROTATIONS = (90, 180, 270)

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="the ffmpeg command line (the reference decoder) is not installed",
)


def _stored_frame(index: int) -> np.ndarray:
    image = synthetic.draw_frame(index, WIDTH, HEIGHT)
    image[:MARKER_H, :MARKER_W] = YELLOW
    return image


def _make_rotated(path: Path, degrees: int) -> Path:
    """Encode the marker clip with a display matrix rotating it ``degrees`` counterclockwise.

    PyAV writes the matrix rather than ``ffmpeg -metadata rotate=...``: that
    tag's meaning and support differ between ffmpeg versions (5.1 writes
    ``rotate=90`` as +90, later versions take ``-display_rotation`` instead).
    """
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "1", "preset": "ultrafast"}
        if degrees:
            stream.set_display_rotation(degrees)
        for index in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(_stored_frame(index), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _ffprobe_rotation(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0"]
        + ["-show_entries", "stream_side_data=rotation", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = [line for line in out.split() if line.strip(",")]
    return float(values[0].strip(",")) if values else 0.0


def _ffmpeg_frames(path: Path, width: int, height: int) -> np.ndarray:
    """Every frame as the ffmpeg command line decodes it, autorotated (its default)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "bgr24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def _displayed_size(degrees: int) -> tuple[int, int]:
    return (HEIGHT, WIDTH) if degrees % 180 else (WIDTH, HEIGHT)


def _marker_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x1, y1, x2, y2) of the yellow pixels."""
    mask = np.all(np.abs(image.astype(int) - YELLOW) < 60, axis=-1)
    ys, xs = np.nonzero(mask)
    assert len(xs), "no yellow marker in the frame"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _assert_close(ours: np.ndarray, reference: np.ndarray) -> None:
    # Both decode the same H.264; only colour conversion may differ slightly.
    assert ours.shape == reference.shape
    difference = np.abs(ours.astype(int) - reference.astype(int))
    assert difference.mean() < 1.0
    assert np.percentile(difference, 99.9) <= 8


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("rotated")
    return {deg: _make_rotated(folder / f"rot{deg}.mp4", deg) for deg in (0, *ROTATIONS)}


@pytest.mark.parametrize("degrees", ROTATIONS)
def test_probe_reports_displayed_size(clips, degrees):
    info = probe(clips[degrees])
    assert (info.width, info.height) == _displayed_size(degrees)
    assert info.rotation == degrees
    assert info.frames == FRAMES
    assert info.fps == pytest.approx(FPS)


def test_probe_of_unrotated_clip_is_unchanged(clips):
    info = probe(clips[0])
    assert (info.width, info.height, info.rotation) == (WIDTH, HEIGHT, 0)


@needs_ffmpeg
@pytest.mark.parametrize("degrees", ROTATIONS)
def test_frames_match_ffmpeg_autorotation(clips, degrees):
    path = clips[degrees]
    # The clip really carries the matrix the ffmpeg tools read.
    assert _ffprobe_rotation(path) % 360 == pytest.approx(degrees)
    width, height = _displayed_size(degrees)
    reference = _ffmpeg_frames(path, width, height)
    assert len(reference) == FRAMES

    decoded = list(iter_frames(path))
    assert len(decoded) == FRAMES
    for frame, expected in zip(decoded, reference, strict=True):
        _assert_close(frame.image, expected)
        assert frame.image.flags.c_contiguous

    _assert_close(read_first_frame(path).image, reference[0])

    reader = FrameReader(path, queue_size=2)
    try:
        from_reader = list(reader)
    finally:
        reader.close()
    assert len(from_reader) == FRAMES
    for frame, expected in zip(from_reader, reference, strict=True):
        _assert_close(frame.image, expected)


@pytest.mark.parametrize("degrees", (0, *ROTATIONS))
def test_marker_is_where_a_viewer_sees_it(clips, degrees):
    frames = list(iter_frames(clips[degrees]))
    assert {frame.image.shape for frame in frames} == {(*_displayed_size(degrees)[::-1], 3)}
    for frame in frames:
        assert _marker_box(frame.image) == pytest.approx(DISPLAYED_MARKER[degrees], abs=1)


def test_rotation_keeps_frame_count_and_timestamps(clips):
    upright = [(f.index, f.timestamp) for f in iter_frames(clips[0])]
    for degrees in ROTATIONS:
        assert [(f.index, f.timestamp) for f in iter_frames(clips[degrees])] == upright


@pytest.mark.parametrize(
    ("degrees", "turns"),
    [(0, 0), (90, 1), (-90, 3), (270, 3), (180, 2), (-180, 2), (80, 1), (-100, 3), (10, 0)],
)
def test_any_angle_becomes_the_nearest_quarter_turn(degrees, turns):
    assert _quarter_turns(degrees) == turns


@needs_ffmpeg
def test_real_clip_rotated_by_ffmpeg_metadata(shared_assets, tmp_path):
    """A real clip given a rotation the way ``ffmpeg -metadata`` writes it (no re-encode)."""
    source = shared_assets / "video" / "tud_campus.mp4"
    rotated = tmp_path / "tud_rotated.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-frames:v", "5", "-c", "copy"]
        + ["-metadata:s:v:0", "rotate=90", str(rotated)],
        check=True,
    )
    if _ffprobe_rotation(rotated) % 180 != 90:
        pytest.skip("this ffmpeg does not turn the rotate tag into a 90-degree display matrix")
    info = probe(rotated)
    assert (info.width, info.height) == (480, 640)
    reference = _ffmpeg_frames(rotated, 480, 640)
    _assert_close(read_first_frame(rotated).image, reference[0])


def test_detection_run_output_is_upright(clips, tmp_path):
    """One whole run on a 90-degree clip writes an upright video at the displayed size."""
    outputs = {
        "video": tmp_path / "out.mp4",
        "tracks": tmp_path / "tracks.json",
        "mot": tmp_path / "tracks.txt",
    }
    *_, done = start(clips[90], DetectionConfig(detector="test_shapes"), outputs)
    assert done.summary.frames == FRAMES
    assert done.summary.tracks_per_class == {"red": 1, "green": 1, "blue": 1}

    out = probe(outputs["video"])
    assert (out.width, out.height) == (HEIGHT, WIDTH)
    assert out.rotation == 0, "the output must not carry a display matrix to apply again"
    assert out.frames == FRAMES
    tracks = json.loads(outputs["tracks"].read_text())
    assert (tracks["video"]["width"], tracks["video"]["height"]) == (HEIGHT, WIDTH)

    first = read_first_frame(outputs["video"]).image
    x1, y1, x2, y2 = DISPLAYED_MARKER[90]
    patch = first[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4].reshape(-1, 3).mean(axis=0)
    assert np.abs(patch - YELLOW).max() < 40
    # The red square is tracked where a viewer sees it, not where it is stored.
    # Tracks are confirmed from the second frame on.
    stored = synthetic.draw_frame(1, WIDTH, HEIGHT)
    shown = cv2.rotate(stored, cv2.ROTATE_90_COUNTERCLOCKWISE)
    ys, xs = np.nonzero(np.all(shown == synthetic.COLORS_BGR["red"], axis=-1))
    box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    red_box = next(o["box"] for o in tracks["frames"][1]["objects"] if o["class"] == "red")
    assert red_box == pytest.approx(box, abs=2)
