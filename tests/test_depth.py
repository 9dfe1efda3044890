"""Depth: Depth Anything V2 loading, the depth run, steady colours, per-object depth, the API.

The model is a tiny Depth Anything config with random weights (as transformers'
own ``DepthAnythingModelTester`` builds it), saved with ``save_pretrained`` and
loaded through the same code path as the real checkpoints (``weights=`` or the
environment variable). Its depth values are meaningless; these tests check
shapes, frame counts, files and plumbing, and use known synthetic maps for
everything that depends on the values.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import av
import numpy as np
import pytest
import supervision as sv
from synthetic import make_video

import models
from pipeline import DepthConfig, Done, first_frame, start
from pipeline.io.video import probe
from pipeline.runs.depth import depth_normalizer
from pipeline.runtime.events import FirstFrame, Preview, Progress
from pipeline.stages.annotation import DEPTH, object_labels
from pipeline.stages.depth_display import DepthNormalizer, DepthPainter, colorize, robust_range
from pipeline.stages.object_depth import add_object_depths, near_to_far, object_depths
from pipeline.stages.track_ledger import TrackLedger

FRAMES = 12
WIDTH, HEIGHT = 320, 240


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("depth-video")
    return make_video(folder / "shapes.mp4", frames=FRAMES, width=WIDTH, height=HEIGHT)


def _config(weights: Path, **options) -> DepthConfig:
    return DepthConfig(weights=str(weights), devices=("cpu",), **options)


def _decoded_frames(path: Path) -> tuple[int, str, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, stream.codec_context.name, stream.codec_context.pix_fmt


# --- depth in detection runs ----------------------------------------------------------


def test_detection_run_measures_each_tracked_objects_depth(tiny_depth_weights, video, tmp_path):
    import json

    from pipeline import DetectionConfig

    config = DetectionConfig(
        detector="test_shapes", depth=True, depth_weights=str(tiny_depth_weights)
    )
    *_, done = start(video, config, {"video": tmp_path / "d.mp4", "tracks": tmp_path / "d.json"})
    tracks = json.loads(done.outputs["tracks"].read_text())
    objects = [o for f in tracks["frames"] for o in f["objects"]]
    assert objects and all(isinstance(o["depth"], float) and o["depth"] >= 0 for o in objects)
    assert tracks["model"]["depth"]["name"] == "depth_anything_v2"
    order = done.summary.near_to_far
    assert sorted(entry["track_id"] for entry in order) == [1, 2, 3]
    depths = [entry["depth"] for entry in order]
    assert depths == sorted(depths, reverse=True), "nearest (largest inverse depth) first"
    assert "depth_inference" in done.summary.timing_s


# --- the model ---------------------------------------------------------------------------


def test_depth_model_is_registered_with_sizes_and_licences():
    spec = models.spec("depth", "depth_anything_v2")
    assert spec.sizes == ("small", "base", "large")
    assert spec.default_size == "small"
    assert spec.license == {
        "small": "Apache-2.0",
        "base": "CC-BY-NC-4.0",
        "large": "CC-BY-NC-4.0",
    }


def test_depth_map_has_each_frames_size(tiny_depth_weights: Path):
    estimator = models.create("depth", "depth_anything_v2", weights=str(tiny_depth_weights))
    frames = [
        np.full((HEIGHT, WIDTH, 3), 90, np.uint8),
        np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8),
        np.zeros((67, 101, 3), np.uint8),  # odd size, in the same batch
    ]
    timing: dict[str, float] = {}
    maps = estimator.predict(frames, timing=timing)
    assert [m.shape for m in maps] == [(HEIGHT, WIDTH), (HEIGHT, WIDTH), (67, 101)]
    assert all(m.dtype == np.float32 and np.isfinite(m).all() and (m >= 0).all() for m in maps)
    assert set(timing) == {"preprocess", "inference", "postprocess"}
    assert estimator.predict([]) == []
    assert estimator.info()["license"] == "Apache-2.0"


def test_weights_from_environment_variable(tiny_depth_weights: Path, monkeypatch):
    monkeypatch.delenv("DEPTH_ANYTHING_V2_BASE_WEIGHTS", raising=False)
    monkeypatch.setenv("DEPTH_ANYTHING_WEIGHTS", str(tiny_depth_weights))
    estimator = models.create("depth", "depth_anything_v2", size="base")
    assert estimator.weights == str(tiny_depth_weights)
    assert estimator.info()["license"] == "CC-BY-NC-4.0"
    # The size's own variable wins over the generic one.
    monkeypatch.setenv("DEPTH_ANYTHING_V2_BASE_WEIGHTS", str(tiny_depth_weights / "missing"))
    with pytest.raises(models.MissingWeightsError, match="DEPTH_ANYTHING_V2_BASE_WEIGHTS"):
        models.create("depth", "depth_anything_v2", size="base")


def test_folder_without_processor_uses_the_checkpoints_preprocessing(tiny_depth_weights, tmp_path):
    import shutil

    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_depth_weights / name, tmp_path / name)
    estimator = models.create("depth", "depth_anything_v2", weights=str(tmp_path))
    assert estimator.processor.size == {"height": 518, "width": 518}
    [depth] = estimator.predict([np.zeros((60, 80, 3), np.uint8)], input_size=56)
    assert depth.shape == (60, 80)


def test_missing_weights_say_which_and_how(monkeypatch):
    for name in ("DEPTH_ANYTHING_WEIGHTS", "DEPTH_ANYTHING_V2_LARGE_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(models.MissingWeightsError) as error:
        models.create("depth", "depth_anything_v2", size="large")
    message = str(error.value)
    assert "depth-anything/Depth-Anything-V2-Large-hf" in message
    assert "DEPTH_ANYTHING_V2_LARGE_WEIGHTS" in message and "--weights" in message
    assert "network" in message
    with pytest.raises(models.MissingWeightsError, match="not a folder holding config.json"):
        models.create("depth", "depth_anything_v2", weights="/no/such/folder")


# --- the run -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "width"), [("depth", WIDTH), ("side_by_side", 2 * WIDTH), ("blend", WIDTH)]
)
def test_run_depth_writes_h264_with_every_frame(tiny_depth_weights, video, tmp_path, view, width):
    out = tmp_path / "depth.mp4"
    events = list(start(video, _config(tiny_depth_weights, view=view), {"video": out}))
    assert isinstance(events[0], FirstFrame) and len(events[0].detections) == 0
    assert any(isinstance(e, Progress) for e in events)
    assert any(isinstance(e, Preview) for e in events)
    done = events[-1]
    assert isinstance(done, Done) and done.outputs["video"] == out
    assert done.summary.frames == FRAMES
    assert done.summary.depth["kind"] == "relative_inverse"
    count, codec, pix_fmt = _decoded_frames(out)
    assert (count, codec, pix_fmt) == (FRAMES, "h264", "yuv420p")
    info = probe(out)
    assert (info.width, info.height) == (width, HEIGHT)


def test_first_frame_depth_answers(tiny_depth_weights, video):
    result = first_frame(video, _config(tiny_depth_weights, view="side_by_side"))
    assert result.depth.shape == (HEIGHT, WIDTH)
    assert result.image.shape == (HEIGHT, 2 * WIDTH, 3) and result.image.dtype == np.uint8
    assert result.display_range.low <= result.display_range.high


def test_stopping_a_run_keeps_its_partial_video(tiny_depth_weights, video, tmp_path):
    out = tmp_path / "stopped.mp4"
    events = start(video, _config(tiny_depth_weights), {"video": out})
    assert isinstance(next(events), FirstFrame)
    events.close()  # closed before the run itself started: nothing was written
    assert not out.exists()

    import threading

    stop = threading.Event()
    stop.set()
    *_, done = start(video, _config(tiny_depth_weights), {"video": out}, stop)
    assert done.summary.partial is True and done.summary.frames == 0
    assert done.outputs == {} and not out.exists(), "stopped before any frame: nothing to keep"


def test_bad_options_are_user_errors():
    from pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match="colormap"):
        DepthConfig(colormap="rainbow")
    with pytest.raises(PipelineError, match="view"):
        DepthConfig(view="3d")


# --- steady colours ----------------------------------------------------------------------


def _sequence_with_outlier(frames: int = 40, outlier: int = 20) -> list[np.ndarray]:
    """Left half: a constant depth ramp (with a little model jitter); right half:
    background, except one frame where something very near fills it."""
    rng = np.random.default_rng(1)
    ramp = np.tile(np.linspace(1.0, 5.0, 64, dtype=np.float32), (96, 1))
    maps = []
    for index in range(frames):
        depth = np.full((96, 128), 2.0, np.float32)
        depth[:, :64] = ramp * (1 + rng.normal(0, 0.002))
        if index == outlier:
            depth[:, 64:] = 60.0
        maps.append(depth)
    return maps


def _constant_region_colours(normalizer: DepthNormalizer, maps: list[np.ndarray]) -> np.ndarray:
    colours = [colorize(d, normalizer.update(d), "turbo")[:, :64] for d in maps]
    return np.stack(colours).astype(int)


def test_constant_region_keeps_its_colours_through_an_outlier_frame():
    maps = _sequence_with_outlier()
    colours = _constant_region_colours(depth_normalizer(DepthConfig()), maps)
    drift = np.abs(colours - colours[0]).max()
    # The jitter alone moves a pixel by an 8-bit step or two, and one step of
    # Turbo changes a channel by up to about 6 levels.
    assert drift <= 10, f"colours of a constant region moved by {drift} levels"
    # Against the same sequence without the outlier: at most one 8-bit step apart
    # (the outlier only shifts which jittered frame is the window's median).
    steady = _constant_region_colours(
        depth_normalizer(DepthConfig()), _sequence_with_outlier(outlier=-1)
    )
    assert np.abs(colours - steady).max() <= 6, "the outlier frame moved the colours"

    # The same sequence coloured frame by frame flickers: the test can tell.
    per_frame = _constant_region_colours(
        depth_normalizer(DepthConfig(smoothing_window=1, smoothing_momentum=0.0)), maps
    )
    assert np.abs(per_frame - per_frame[0]).max() > 60


def test_display_range_follows_a_lasting_change():
    normalizer = depth_normalizer(DepthConfig())
    near = np.tile(np.linspace(1.0, 5.0, 64, dtype=np.float32), (48, 1))
    for _ in range(10):
        normalizer.update(near)
    for _ in range(60):
        display = normalizer.update(near * 4)
    expected = robust_range(near * 4)
    assert display.low == pytest.approx(expected.low, rel=0.01)
    assert display.high == pytest.approx(expected.high, rel=0.01)


def test_views_and_flat_maps():
    frame = np.full((20, 30, 3), 50, np.uint8)
    flat = np.zeros((20, 30), np.float32)  # a flat map must not divide by zero
    display = depth_normalizer(DepthConfig()).update(flat)
    for view, shape in [
        ("depth", (20, 30, 3)),
        ("side_by_side", (20, 60, 3)),
        ("blend", (20, 30, 3)),
    ]:
        image = DepthPainter("grayscale", view=view, opacity=0.6).paint(frame, flat, display)
        assert image.shape == shape and image.dtype == np.uint8
    # Near is bright in grayscale: larger relative inverse depth is nearer.
    ramp = np.tile(np.linspace(0, 1, 30, dtype=np.float32), (20, 1))
    gray = colorize(ramp, robust_range(ramp, 0, 100), "grayscale")
    assert gray[0, 0, 0] == 0 and gray[0, -1, 0] == 255


# --- per-object depth --------------------------------------------------------------------


def _scene() -> tuple[np.ndarray, sv.Detections]:
    depth = np.full((200, 300), 1.0, np.float32)  # far background
    depth[20:80, 20:80] = 10.0  # near object
    depth[100:180, 120:200] = 5.0  # middle object
    depth[30:70, 230:280] = 2.0  # farther object
    # Boxes a little larger than the objects: their borders hold background.
    boxes = np.array([[100, 95, 220, 185], [10, 10, 90, 90], [225, 25, 285, 75]], dtype=np.float32)
    detections = sv.Detections(xyxy=boxes, tracker_id=np.array([7, 3, 5]))
    return depth, detections


def test_object_depths_take_the_object_not_its_background():
    depth, detections = _scene()
    assert object_depths(depth, detections).tolist() == [5.0, 10.0, 2.0]
    assert object_depths(sv.DepthMap(depth, kind="relative_inverse"), detections).tolist() == [
        5.0,
        10.0,
        2.0,
    ]
    # A map at half resolution, with boxes in frame pixels.
    half = depth[::2, ::2]
    assert object_depths(half, detections, resolution_wh=(300, 200)).tolist() == [5.0, 10.0, 2.0]
    # Outside the frame: no depth.
    outside = sv.Detections(xyxy=np.array([[400, 300, 450, 350]], dtype=np.float32))
    assert np.isnan(object_depths(depth, outside)).all()


def test_object_depths_under_masks():
    depth, detections = _scene()
    masks = np.zeros((3, 200, 300), bool)
    masks[0, 100:180, 120:200] = True
    masks[1, 20:80, 20:80] = True
    masks[2, 30:70, 230:280] = True
    detections.mask = masks
    assert object_depths(depth, detections).tolist() == [5.0, 10.0, 2.0]


def test_near_to_far_order_and_labels():
    depth, detections = _scene()
    measured = add_object_depths(detections, depth)
    assert measured.data[DEPTH].tolist() == [5.0, 10.0, 2.0]
    assert "d=10.00" in object_labels(measured)[1]

    collector = TrackLedger()
    for frame in range(3):
        collector.add(frame, frame / 25, measured)
    assert [track for track, _ in collector.near_to_far()] == [3, 7, 5]
    assert near_to_far({1: [2.0, 2.2], 2: [9.0, 8.0], 3: [float("nan")]}) == [(2, 8.5), (1, 2.1)]


# --- the API -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def depth_app(tiny_depth_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    """A launched Blocks with the Depth tab, its model read from DEPTH_ANYTHING_WEIGHTS."""
    import gradio as gr

    from ui.settings import Settings
    from ui.tabs.depth import DepthHandlers, build_depth_tab

    saved = {k: os.environ.get(k) for k in ("DEPTH_ANYTHING_WEIGHTS",)}
    os.environ["DEPTH_ANYTHING_WEIGHTS"] = str(tiny_depth_weights)
    os.environ.pop("DEPTH_ANYTHING_V2_SMALL_WEIGHTS", None)
    models.clear_cache()
    settings = Settings(output_dir=tmp_path_factory.mktemp("depth-runs"), preview_interval_s=0.05)
    with gr.Blocks(delete_cache=settings.delete_cache) as demo, gr.Tabs():
        build_depth_tab(DepthHandlers(settings))
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()
        models.clear_cache()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_api_depth_returns_a_playable_video(depth_app, video):
    from gradio_client import Client, handle_file

    client = Client(depth_app, verbose=False)
    preview, status, result, summary = client.predict(
        handle_file(str(video)), "small", "turbo", "side_by_side", api_name="/depth"
    )
    path = Path(result["video"] if isinstance(result, dict) else result)
    count, codec, pix_fmt = _decoded_frames(path)
    assert (count, codec, pix_fmt) == (FRAMES, "h264", "yuv420p")
    assert probe(path).width == 2 * WIDTH
    assert summary["frames"] == FRAMES and "not metres" in status
    assert Path(preview).is_file()

    first = client.predict(
        handle_file(str(video)), "small", "viridis", "depth", api_name="/first_frame_depth"
    )
    assert Path(first).is_file()


def test_api_reports_user_errors(depth_app, video):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(depth_app, verbose=False)
    with pytest.raises(AppError, match="small, base, large"):
        client.predict(
            handle_file(str(video)), "huge", "turbo", "depth", api_name="/first_frame_depth"
        )


# --- the command line --------------------------------------------------------------------


def test_cli_depth(tiny_depth_weights, video, tmp_path, capsys):
    from pipeline.cli.main import main

    out = tmp_path / "cli" / "depth.mp4"
    args = ["depth", str(video), "--weights", str(tiny_depth_weights), "--view", "blend"]
    assert main([*args, "--colormap", "magma", "--out", str(out), "--no-progress"]) == 0
    assert _decoded_frames(out)[0] == FRAMES
    assert '"frames": 12' in capsys.readouterr().out
    missing = ["depth", str(video), "--weights", str(tmp_path / "none")]
    missing += ["--out", str(tmp_path / "x.mp4")]
    assert main(missing) == 2
    assert "DEPTH_ANYTHING_V2_SMALL_WEIGHTS" in capsys.readouterr().err


def test_detection_run_writes_its_depth_video_when_asked(tiny_depth_weights, video, tmp_path):
    from pipeline import DetectionConfig, PipelineError, output_paths

    config = DetectionConfig(
        detector="test_shapes", depth=True, depth_weights=str(tiny_depth_weights)
    )
    outputs = output_paths("detection", tmp_path / "run", config)
    assert set(outputs) == {"video", "tracks", "depth_video", "tracks_csv", "objects_csv"}
    events = list(start(video, config, outputs))
    assert events[0].depth_view is not None and events[0].depth_view.shape[:2] == (HEIGHT, WIDTH)
    # The per-track CSV's median depths are the summary's near-to-far order.
    with outputs["tracks_csv"].open() as table:
        medians = {
            int(row["track_id"]): float(row["median_depth"]) for row in csv.DictReader(table)
        }
    order = [(item["track_id"], item["depth"]) for item in events[-1].summary.near_to_far]
    assert order == sorted(medians.items(), key=lambda item: (-item[1], item[0]))
    with outputs["objects_csv"].open() as table:
        assert all(row["depth"] for row in csv.DictReader(table))
    count, codec, _ = _decoded_frames(outputs["depth_video"])
    assert (count, codec) == (FRAMES, "h264")
    assert (probe(outputs["depth_video"]).width, probe(outputs["depth_video"]).height) == (
        WIDTH,
        HEIGHT,
    )
    # Without depth there is no depth video to ask for.
    plain = DetectionConfig(detector="test_shapes")
    with pytest.raises(PipelineError, match="depth_video only with depth on"):
        start(video, plain, {**output_paths("detection", tmp_path / "p"),
                             "depth_video": tmp_path / "d.mp4"})  # fmt: skip


def test_the_summary_names_the_sizes_licence(tiny_depth_weights, video, tmp_path):
    # Base is CC-BY-NC-4.0: the summary says so, and that it is for non-commercial use only.
    config = _config(tiny_depth_weights, size="base", view="depth")
    *_, done = start(video, config, {"video": tmp_path / "depth.mp4"})
    assert done.summary.licenses == [
        {"name": "depth_anything_v2", "size": "base", "license": "CC-BY-NC-4.0",
         "non_commercial": True},
    ]  # fmt: skip
    assert done.summary.model["license"] == models.spec(
        "depth", "depth_anything_v2"
    ).license_for("base")
