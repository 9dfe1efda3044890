"""Segmentation: RLE, the frame store, keyframe ids, SAM 2 windows, the CLI and ``/segment``.

SAM 2 itself runs as a tiny ``transformers`` ``Sam2VideoModel`` with random weights at
128 px (``tiny_sam2.py``), saved with ``save_pretrained`` and loaded through
``SAM2_SMALL_WEIGHTS`` as a user's weights would be. Random weights give arbitrary
masks, so exact expectations about ids and masks come from a perfect stand-in
segmenter (masks by colour) that exercises the same windows and keyframes.
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import gradio as gr
import numpy as np
import pytest
import supervision as sv
from colour_segmenter import ColourSegmenter, ColourSession, colour_mask, nearest_colour, register
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from serving import served
from synthetic import MovingShape, StripedShape, draw_frame, make_video
from tiny_sam2 import weights_in_env

import models
from models.detectors.base import CLASS_NAME
from models.segmenters.base import Segmenter, SegmenterSession
from models.segmenters.sam2_video import Sam2Session, Sam2VideoSegmenter
from pipeline import SegmentationConfig, start
from pipeline.cli.main import main as cli_main
from pipeline.errors import PipelineError
from pipeline.io.frame_store import (
    MAX_DEFAULT_BUDGET,
    MIN_DEFAULT_BUDGET,
    FrameStore,
    default_budget_bytes,
)
from pipeline.io.rle import decode, encode, rle_area
from pipeline.io.video import iter_frames
from pipeline.runtime.events import Done, FirstFrame, Preview, Progress
from pipeline.stages.keyframes import KeyframeTracker
from ui.render import summary_text
from ui.settings import Settings
from ui.tabs.segmentation import (
    SegmentationHandlers,
    build_segmentation_config,
    build_segmentation_tab,
)

WIDTH, HEIGHT = 320, 240
PIPELINE_THREADS = ("segmenter", "segmentation-in-order", "decoder", "encoder")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --------------------------------------------------------------------------- helpers


def read_video(path: str | Path) -> tuple[str, str, int, tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        ctx = stream.codec_context
        return ctx.name, ctx.pix_fmt, frames, (ctx.width, ctx.height)


def check_masks_json(path: str | Path, frames: int) -> dict:
    """The JSON is well formed and every RLE mask decodes to its stated area and box."""
    data = json.loads(Path(path).read_text())
    assert len(data["frames"]) == frames
    assert [f["frame"] for f in data["frames"]] == list(range(frames))
    assert data["video"]["frames"] == frames
    for frame in data["frames"]:
        ids = [obj["track_id"] for obj in frame["objects"]]
        assert len(ids) == len(set(ids)), "an id appears twice in one frame"
        for obj in frame["objects"]:
            assert set(obj) >= {"track_id", "class", "score", "box", "area", "mask"}
            assert obj["mask"]["size"] == [data["video"]["height"], data["video"]["width"]]
            mask = decode(obj["mask"])
            assert mask.shape == (data["video"]["height"], data["video"]["width"])
            assert int(mask.sum()) == obj["area"] == rle_area(obj["mask"]) > 0
            ys, xs = np.nonzero(mask)
            assert obj["box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    return data


def live_pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(PIPELINE_THREADS)]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny_env(tiny_sam2_weights: Path) -> Iterator[Path]:
    """SAM 2 "small" weights point at the tiny model's folder; the cache is cleared after."""
    with weights_in_env("SAM2_SMALL_WEIGHTS", tiny_sam2_weights) as folder:
        yield folder


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "shapes.mp4", frames=12)


def tiny_config(**changes) -> SegmentationConfig:
    fields = {
        "segmenter": "YSAM2-S",
        "detector": "test_shapes",
        "step": 4,
        "window": 8,
        "max_objects": 3,
    }
    fields.update(changes)
    return SegmentationConfig(**fields)


# --------------------------------------------------------------------------- RLE


def test_rle_is_coco_compressed_and_round_trips() -> None:
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 1:3] = True
    # The string pycocotools.mask.encode gives for this mask (column-major runs 5,2,2,2,5).
    assert encode(mask) == {"size": [4, 4], "counts": "52203"}
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (7, 3), (120, 90)]:
        random = rng.random(shape) < 0.3
        rle = encode(random)
        assert np.array_equal(decode(rle), random)
        assert rle_area(rle) == random.sum()
        assert rle_area({"size": list(shape), "counts": sv.mask_to_rle(random)}) == random.sum()


# --------------------------------------------------------------------------- frame store


def test_frame_store_stays_in_budget_spills_to_jpeg_and_returns_the_pixels(tmp_path: Path) -> None:
    frames = [draw_frame(i, WIDTH, HEIGHT) for i in range(10)]
    # Natural images (gradients) as well as flat ones.
    ramp = np.linspace(0, 255, WIDTH, dtype=np.uint8)[None, :, None]
    frames = [
        np.ascontiguousarray(np.clip(f.astype(int) + ramp // 4, 0, 255).astype(np.uint8))
        for f in frames
    ]
    frame_bytes = frames[0].nbytes
    store = FrameStore(budget_bytes=3 * frame_bytes + 10, spill_dir=tmp_path)
    for index, frame in enumerate(frames):
        store.put(index, frame)
        assert store.bytes_in_memory <= store.budget_bytes
    assert store.frames_in_memory == 3 and store.frames_on_disk == 7 and len(store) == 10
    assert store.peak_bytes_in_memory == 3 * frame_bytes
    spilled = list(tmp_path.rglob("*.jpg"))
    assert len(spilled) == 7
    for index, frame in enumerate(frames):
        back = store.get(index)
        assert back.shape == frame.shape and back.dtype == np.uint8
        error = np.abs(back.astype(int) - frame.astype(int))
        if index < 3:
            assert np.array_equal(back, frame)
        else:
            assert error.mean() < 0.5 and np.percentile(error, 99) <= 4, (index, error.mean())
    store.discard_before(5)
    assert 4 not in store and 5 in store and store.bytes_in_memory == 0
    assert len(list(tmp_path.rglob("*.jpg"))) == 5
    store.close()
    assert not list(tmp_path.rglob("*.jpg")) and len(store) == 0
    with pytest.raises(KeyError):
        store.get(7)


def test_frame_store_default_budget_is_scaled_to_memory() -> None:
    budget = default_budget_bytes()
    assert MIN_DEFAULT_BUDGET <= budget <= MAX_DEFAULT_BUDGET
    assert FrameStore().budget_bytes == budget


# --------------------------------------------------------------------------- keyframe ids


def square(x: float, y: float, size: int = 20, shape=(200, 300)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    x0, y0 = round(x), round(y)
    mask[max(0, y0) : max(0, y0 + size), max(0, x0) : max(0, x0 + size)] = True
    return mask


def boxes(items: list[tuple[str, float, float]], size: int = 20, seed: int = 0) -> sv.Detections:
    """Detections of squares ``(class, x, y)``, in a shuffled order."""
    order = np.random.default_rng(seed).permutation(len(items))
    items = [items[i] for i in order]
    return sv.Detections(
        xyxy=np.array([[x, y, x + size, y + size] for _, x, y in items], dtype=np.float32).reshape(
            -1, 4
        ),
        confidence=np.full(len(items), 0.9, dtype=np.float32),
        class_id=np.zeros(len(items), dtype=int),
        data={CLASS_NAME: np.array([name for name, _, _ in items], dtype=object)},
    )


def by_class(detections: sv.Detections, mapping: dict[int, int]) -> dict[str, int]:
    return {str(detections.data[CLASS_NAME][row]): object_id for row, object_id in mapping.items()}


def test_keyframes_keep_ids_add_new_ones_and_drop_the_departed() -> None:
    tracker = KeyframeTracker(match_iou=0.3, drop_after=2, min_mask_area=1, max_objects=50)
    found = boxes([("cat", 10, 10), ("dog", 100, 50)])
    first = tracker.match(0, found, {})
    ids = by_class(found, first.new)
    assert sorted(ids.values()) == [1, 2] and not first.matched

    # Frames 1-3: SAM 2 carries both masks; the cat moves 3 px a frame.
    for frame in range(1, 4):
        masks = {ids["cat"]: square(10 + 3 * frame, 10), ids["dog"]: square(100, 50)}
        detections, dropped = tracker.observe(frame, masks, (200, 300))
        assert list(detections.tracker_id) == [1, 2] and not dropped

    # Keyframe 4: both seen again (one in a new place) and a bird arrives.
    masks = {ids["cat"]: square(22, 10), ids["dog"]: square(100, 50)}
    found = boxes([("bird", 200, 150), ("dog", 101, 51), ("cat", 23, 10)], seed=4)
    match = tracker.match(4, found, masks)
    assert by_class(found, match.matched) == {"cat": ids["cat"], "dog": ids["dog"]}
    assert by_class(found, match.new) == {"bird": 3}
    assert not match.reacquired and not match.ignored
    ids["bird"] = 3

    # The dog leaves: its mask is empty from frame 5; dropped after drop_after=2 frames.
    for frame in range(5, 9):
        masks = {
            ids["cat"]: square(22, 10),
            ids["dog"]: np.zeros((200, 300), bool),
            ids["bird"]: square(200, 150),
        }
        detections, dropped = tracker.observe(frame, masks, (200, 300))
        assert ids["dog"] not in detections.tracker_id
        assert dropped == ([ids["dog"]] if frame == 7 else [])
    assert set(tracker.objects) == {ids["cat"], ids["bird"]}

    # A dog seen later is a new object: dropped ids are never reused.
    found = boxes([("dog", 100, 50), ("cat", 22, 10)])
    match = tracker.match(12, found, {ids["cat"]: square(22, 10), ids["bird"]: square(200, 150)})
    assert by_class(found, match.new) == {"dog": 4}
    assert by_class(found, match.matched) == {"cat": ids["cat"]}
    assert tracker.ids_issued == 4


def test_keyframes_crossing_objects_do_not_swap_ids() -> None:
    """Two people cross; one is hidden behind the other for a while and found again."""
    tracker = KeyframeTracker(match_iou=0.3, drop_after=10, min_mask_area=1, max_objects=50)
    size, step = 20, 5

    def positions(frame: int) -> dict[str, tuple[float, float]]:
        # a walks right, b walks left 4 px lower; they overlap around frame 15.
        return {"a": (10 + 6 * frame, 60), "b": (190 - 6 * frame, 64)}

    truth: dict[str, int] = {}
    for frame in range(0, 31):
        pos = positions(frame)
        hidden = 13 <= frame <= 17  # b is behind a: the detector cannot see it
        lost = 13 <= frame <= 20  # SAM 2 lost b until it is prompted again at frame 20
        masks = {}
        for name, object_id in truth.items():
            masks[object_id] = (
                np.zeros((200, 300), bool) if name == "b" and lost else square(*pos[name], size)
            )
        if frame % step == 0:
            visible = [("person", *pos["a"])] + ([] if hidden else [("person", *pos["b"])])
            found = boxes(visible, size, seed=frame)
            match = tracker.match(frame, found, masks)
            # Which person each (shuffled) row is, from its position.
            rows = {
                row: name
                for row in range(len(found))
                for name in pos
                if tuple(found.xyxy[row, :2].tolist()) == pos[name]
            }
            if frame == 0:
                truth = {rows[row]: object_id for row, object_id in match.new.items()}
                continue
            assert not match.new, f"frame {frame}: a known person got a new id"
            for row, object_id in {**match.matched, **match.reacquired}.items():
                assert truth[rows[row]] == object_id, f"frame {frame}: ids swapped"
            found_b = [row for row, name in rows.items() if name == "b"]
            if frame == 20:
                # b is back in view but SAM 2 lost it: found again under its own id.
                assert match.reacquired == {found_b[0]: truth["b"]}
            elif frame == 15:
                assert match.matched == {0: truth["a"]} and not found_b
        else:
            tracker.observe(frame, masks, (200, 300))
    assert tracker.ids_issued == 2


def test_keyframes_are_class_aware_and_ignore_duplicates() -> None:
    tracker = KeyframeTracker(match_iou=0.3, drop_after=10, min_mask_area=1, max_objects=3)
    start = tracker.match(0, boxes([("bicycle", 50, 50)]), {})
    bike = start.new[0]
    # A rider on the bicycle: same place, another class, so a new object; a second box on
    # the bicycle is a duplicate.
    found = boxes([("bicycle", 50, 50), ("person", 52, 48), ("bicycle", 53, 52)], seed=1)
    match = tracker.match(5, found, {bike: square(50, 50)})
    assert sorted(by_class(found, match.new)) == ["person"]
    assert list(match.matched.values()) == [bike]
    assert len(match.ignored) == 1 and found.data[CLASS_NAME][match.ignored[0]] == "bicycle"
    # No room beyond max_objects.
    found = boxes([("dog", 200, 10), ("cat", 250, 100)])
    match = tracker.match(10, found, {bike: square(50, 50), 2: square(52, 48)})
    assert len(match.new) == 1 and len(match.ignored) == 1 and len(tracker.objects) == 3


# --------------------------------------------------------------------------- pipeline, exact


class OracleSession(ColourSession):
    """A perfect stand-in for SAM 2 on the synthetic videos: each object's mask is its colour."""

    log: list[tuple[str, int, int]] = []

    def __init__(self, frame_at, num_frames: int, height: int, width: int) -> None:
        super().__init__(frame_at, num_frames, height, width)
        OracleSession.log.append(("window", num_frames, 0))

    def add_box(self, frame: int, object_id: int, box: np.ndarray) -> None:
        region = np.zeros((HEIGHT, WIDTH), bool)
        x1, y1, x2, y2 = (int(v) for v in box)
        region[y1:y2, x1:x2] = True
        self.colours[object_id] = nearest_colour(self.frame_at(frame), region)
        OracleSession.log.append(("box", frame, object_id))

    def add_mask(self, frame: int, object_id: int, mask: np.ndarray) -> None:
        self.colours[object_id] = nearest_colour(self.frame_at(frame), mask)
        OracleSession.log.append(("mask", frame, object_id))

    def remove(self, object_id: int) -> None:
        super().remove(object_id)
        OracleSession.log.append(("remove", 0, object_id))


@register
class OracleSegmenter(ColourSegmenter):
    name = "test-oracle"
    session_class = OracleSession


# Red stays; blue leaves through the right edge; green comes in from the left later.
EXIT_ENTER = (
    MovingShape("red", (10, 20), (4, 0)),
    MovingShape("blue", (250, 100), (8, 0)),
    MovingShape("green", (-70, 170), (5, 0)),
)


def true_masks(path: Path) -> list[dict[str, np.ndarray]]:
    """Each shape's pixels in each decoded frame (what a perfect segmenter returns)."""
    return [
        {shape.color: colour_mask(frame.image, shape.color) for shape in EXIT_ENTER}
        for frame in iter_frames(path)
    ]


def test_windows_and_keyframes_keep_ids_across_a_video(tmp_path: Path) -> None:
    frames = 30
    path = make_video(tmp_path / "exit_enter.mp4", frames=frames, shapes=EXIT_ENTER)
    config = SegmentationConfig(segmenter="test-oracle", step=4, window=8, drop_after=3)
    OracleSession.log.clear()
    events = list(
        start(path, config, {"video": tmp_path / "o.mp4", "masks": tmp_path / "o.json"})
    )
    assert isinstance(events[0], FirstFrame) and isinstance(events[-1], Done)
    summary = events[-1].summary
    assert summary.frames == frames and summary.windows == 4  # 0-8, 8-16, 16-24, 24-29
    assert summary.tracks_per_class == {"red": 1, "blue": 1, "green": 1}
    assert read_video(tmp_path / "o.mp4") == ("h264", "yuv420p", frames, (WIDTH, HEIGHT))
    data = check_masks_json(tmp_path / "o.json", frames)

    seen: dict[str, dict[int, int]] = defaultdict(dict)  # class -> frame -> id
    truths = true_masks(path)
    for entry in data["frames"]:
        truth = truths[entry["frame"]]
        for obj in entry["objects"]:
            seen[obj["class"]][entry["frame"]] = obj["track_id"]
            assert np.array_equal(decode(obj["mask"]), truth[obj["class"]])
    assert {name: set(by_frame.values()) for name, by_frame in seen.items()} == {
        "red": {1},
        "blue": {2},
        "green": {3},
    }, "an object changed id"
    assert sorted(seen["red"]) == list(range(frames))
    # Blue is gone from frame 9 (x >= 322) and never comes back; green is first found on
    # the first keyframe where the detector sees it (frame 8: its first 10 columns show),
    # then followed on every frame.
    assert max(seen["blue"]) == 8
    assert sorted(seen["green"]) == list(range(8, frames))
    # Objects cross windows as mask prompts on the shared frame, not as new boxes.
    windows = [entry for entry in OracleSession.log if entry[0] == "window"]
    assert [n for _, n, _ in windows] == [9, 9, 9, 6]
    assert sum(1 for kind, _, _ in OracleSession.log if kind == "box") == 3
    assert ("mask", 0, 1) in OracleSession.log


def test_stopping_a_run_keeps_its_masks_so_far(tmp_path: Path, video: Path) -> None:
    stop = threading.Event()
    outputs = (tmp_path / "s.mp4", tmp_path / "s.json")
    # A slow detector (up to 0.2 s a keyframe) keeps the run going after the first frame.
    config = SegmentationConfig(
        segmenter="test-oracle",
        step=2,
        window=4,
        queue_size=1,
        detector_options=(("delay_s", 0.2),),
    )
    events = start(video, config, {"video": outputs[0], "masks": outputs[1]}, stop)
    for event in events:
        if isinstance(event, FirstFrame | Preview):
            stop.set()
    assert isinstance(event, Done) and event.summary.partial is True
    frames = event.summary.frames
    assert 0 < frames < 12
    assert read_video(outputs[0])[2] == frames
    check_masks_json(outputs[1], frames)
    assert not live_pipeline_threads()


def test_a_failing_detector_is_a_pipeline_error_and_leaves_nothing(
    tmp_path: Path, video: Path
) -> None:
    outputs = (tmp_path / "f.mp4", tmp_path / "f.json")
    config = SegmentationConfig(
        segmenter="test-oracle", step=2, window=4, detector_options=(("fail_on_frame", 2),)
    )
    with pytest.raises(PipelineError, match="exploded on purpose"):
        list(start(video, config, {"video": outputs[0], "masks": outputs[1]}))
    assert not any(p.exists() for p in outputs)
    assert not live_pipeline_threads()


# --------------------------------------------------------------------------- real SAM 2 code


def test_tiny_sam2_propagates_through_windows(tiny_env: Path, video: Path, tmp_path: Path) -> None:
    config = tiny_config()
    events = list(
        start(video, config, {"video": tmp_path / "t.mp4", "masks": tmp_path / "t.json"})
    )
    assert isinstance(events[0], FirstFrame) and len(events[0].detections) == 3
    assert any(isinstance(e, Progress) for e in events)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.summary.frames == 12 and done.summary.windows == 2
    assert done.summary.keyframes == 3  # frames 0, 4, 8 (8 opens the second window)
    assert done.summary.warning is None  # weights came from a checkpoint file
    assert read_video(done.outputs["video"]) == ("h264", "yuv420p", 12, (WIDTH, HEIGHT))
    data = check_masks_json(done.outputs["masks"], 12)
    ids = {obj["track_id"] for f in data["frames"] for obj in f["objects"]}
    assert ids and ids <= {1, 2, 3}
    assert data["model"]["segmenter"]["weights"] == Path(tiny_env).name
    assert data["model"]["segmenter"]["image_size"] == 128


def test_the_summary_names_the_licence_of_sam2_and_of_its_detector(
    tiny_env: Path, video: Path, tmp_path: Path
) -> None:
    # YSAM2 runs the bundled YOLOX-Nano here (YOLO11's weights cannot be had offline).
    config = tiny_config(detector="yolox_nano", max_frames=4)
    outputs = {"video": tmp_path / "s.mp4", "masks": tmp_path / "s.json"}
    *_, done = start(video, config, outputs)
    licenses = {item["name"]: item for item in done.summary.licenses}
    assert set(licenses) == {"YSAM2-S", "yolox_nano"}
    assert licenses["YSAM2-S"]["license"] == models.spec("segmenter", "YSAM2-S").license_for()
    assert licenses["yolox_nano"]["license"] == "Apache-2.0"
    assert not any(item["non_commercial"] for item in licenses.values())
    assert "Licences: YSAM2-S small Apache-2.0; yolox_nano Apache-2.0." in summary_text(
        done.summary, noun="object", followed=True
    )


def same_parameters(implementation: object, protocol: type, members: tuple[str, ...]) -> None:
    """Each member takes the protocol's parameters, by name and in order."""
    for member in members:
        wanted = list(inspect.signature(getattr(protocol, member)).parameters)
        got = list(inspect.signature(getattr(implementation, member)).parameters)
        assert got == wanted, (implementation, member)


SESSION_METHODS = ("__contains__", "add_box", "add_mask", "remove", "propagate", "close")


def test_sam2_and_the_oracle_follow_the_segmenter_interface(tiny_env: Path) -> None:
    segmenter = models.create("segmenter", "YSAM2-S")
    oracle = models.create("segmenter", "test-oracle")
    frames = [draw_frame(i, WIDTH, HEIGHT) for i in range(2)]
    for model in (segmenter, oracle):
        assert isinstance(model, Segmenter)
        session = model.session(lambda i: frames[i], len(frames), HEIGHT, WIDTH)
        assert isinstance(session, SegmenterSession)
        session.close()
        assert {"name", "random_weights"} <= set(model.info())
    for cls in (Sam2VideoSegmenter, OracleSegmenter):
        same_parameters(cls, Segmenter, ("session", "info"))
    for cls in (Sam2Session, OracleSession):
        same_parameters(cls, SegmenterSession, SESSION_METHODS)


def test_cli_segments_a_video(tiny_env: Path, video: Path, tmp_path: Path, capsys) -> None:
    out, masks = tmp_path / "cli" / "c.mp4", tmp_path / "cli" / "c.json"
    status = cli_main(
        [
            "segment",
            str(video),
            "--segmenter",
            "YSAM2-S",
            "--detector",
            "test_shapes",
            "--step",
            "4",
            "--max-frames",
            "5",
            "--out",
            str(out),
            "--json",
            str(masks),
            "--no-progress",
        ]
    )
    assert status == 0
    check_masks_json(masks, 5)
    assert read_video(out)[2] == 5
    assert "json:" in capsys.readouterr().out
    status = cli_main(
        [
            "segment",
            str(video),
            "--segmenter",
            "YSAM2-S",
            "--step",
            "0",
            "--out",
            str(out),
            "--json",
            str(masks),
        ]
    )
    assert status == 2 and "step must be at least 1" in capsys.readouterr().err


# --------------------------------------------------------------------------- UI and API


def test_request_checks() -> None:
    allowed = models.available("segmenter")
    assert set(allowed) == {
        *("GSAM2-S", "GSAM2-B", "GSAM2-L", "YSAM2-S", "YSAM2-B", "YSAM2-L"),
        *("GEdgeTAM", "YEdgeTAM", "SAM3"),
    }
    with pytest.raises(gr.Error, match="enter text queries"):
        build_segmentation_config("GSAM2-S", " ", 10, allowed=allowed)
    with pytest.raises(gr.Error, match="Available: GSAM2-S"):
        build_segmentation_config("SAM4", "", 10, allowed=allowed)
    with pytest.raises(gr.Error, match="whole number"):
        build_segmentation_config("YSAM2-S", "", 2.5, allowed=allowed)
    config = build_segmentation_config("YSAM2-L", "person, car", 7.0, allowed=allowed)
    assert (config.segmenter, config.queries, config.step) == ("YSAM2-L", ("person", "car"), 7)


@pytest.fixture(scope="module")
def client(tiny_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A small app with the Segmentation tab offering YSAM2-S, whose weights are the tiny ones."""
    settings = Settings.from_env({"VIDEO_APP_OUTPUT_DIR": str(tmp_path_factory.mktemp("runs"))})
    handlers = SegmentationHandlers(
        settings,
        segmenters=["YSAM2-S"],
        config_overrides={"detector": "test_shapes", "max_objects": 3, "window": 8},
    )
    with gr.Blocks() as demo, gr.Tabs():
        build_segmentation_tab(handlers)
    with served(demo) as url:
        yield Client(
            url,
            verbose=False,
            download_files=str(tmp_path_factory.mktemp("client")),
        )


def test_segment_endpoint_returns_video_and_masks(client: Client, video: Path) -> None:
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in api["/segment"]["parameters"]] == [
        "video",
        "segmenter",
        "queries",
        "step",
        "prompts",
        "privacy",
        "privacy_style",
        "privacy_classes",
    ]
    job = client.submit(handle_file(str(video)), "YSAM2-S", "", 4, api_name="/segment")
    outputs = list(job)
    assert job.status().success, job.status()
    preview, status, result, masks, summary = outputs[-1]
    assert status.startswith("Done: 12 frames")
    assert any(out[0] is not None for out in outputs[:-1]), "no preview before the result"
    assert read_video(result) == ("h264", "yuv420p", 12, (WIDTH, HEIGHT))
    check_masks_json(masks, 12)
    assert summary["frames"] == 12

    image = client.predict(
        handle_file(str(video)), "YSAM2-S", "", 4, api_name="/first_frame_segment"
    )
    assert cv2.imread(image).shape == (HEIGHT, WIDTH, 3)

    with pytest.raises(AppError, match="Unknown segmenter 'GSAM2-S'. Available: YSAM2-S"):
        client.predict(handle_file(str(video)), "GSAM2-S", "cat", 4, api_name="/segment")


def test_segment_endpoint_follows_objects_picked_by_hand(client: Client, video: Path) -> None:
    prompts = {"frame": 0, "objects": [{"points": [[30, 40, 1]]}, {"box": [150, 190, 190, 230]}]}
    *_, masks, summary = client.predict(
        handle_file(str(video)), "YSAM2-S", "", 4, json.dumps(prompts), api_name="/segment"
    )
    data = check_masks_json(masks, 12)
    assert data["model"]["prompts"]["objects"][1]["box"] == [150.0, 190.0, 190.0, 230.0]
    assert "detector" not in data["model"]
    assert {obj["track_id"] for f in data["frames"] for obj in f["objects"]} <= {1, 2}
    with pytest.raises(AppError, match="needs a box or at least one positive click"):
        client.predict(
            handle_file(str(video)),
            "YSAM2-S",
            "",
            4,
            '{"objects": [{"points": [[3, 4, 0]]}]}',
            api_name="/segment",
        )


def test_full_app_has_the_segmentation_tab() -> None:
    from ui import build_demo

    demo = build_demo()
    names = {getattr(fn, "api_name", None) for fn in demo.fns.values()}
    assert {"segment", "first_frame_segment"} <= names


def _masks_and_frames(done: Done, drawn: dict[Path, list[str]]) -> tuple[list[dict], list[str]]:
    """The masks JSON's frames and the digests of the frames drawn, checked against the video."""
    frames = drawn[done.outputs["video"]]
    with av.open(str(done.outputs["video"])) as container:
        assert sum(1 for _ in container.decode(video=0)) == len(frames)
    return json.loads(done.outputs["masks"].read_text())["frames"], frames


@pytest.mark.parametrize("per_call", [8, 13, 17])
def test_a_segmentation_run_split_into_calls_equals_one_run(
    tmp_path: Path, per_call: int, drawn_frames: dict[Path, list[str]]
) -> None:
    """Calls end where windows do (13 and 17 frames round down to 8 and 16)."""
    from pipeline.runs import local_chunks

    path = make_video(tmp_path / "exit_enter.mp4", frames=30, shapes=EXIT_ENTER)
    config = SegmentationConfig(segmenter="test-oracle", step=4, window=8, drop_after=3)
    plan = local_chunks(path, config, per_call)
    runs = []
    for name, chunks in (("whole", None), ("split", plan)):
        outputs = {"video": tmp_path / f"{name}.mp4", "masks": tmp_path / f"{name}.json"}
        *_, done = start(path, config, outputs, chunks=chunks)
        runs.append(done)
    whole, split = runs
    assert split.summary.calls == {8: 4, 13: 4, 17: 2}[per_call]
    assert split.summary.tracks_per_class == {"red": 1, "blue": 1, "green": 1}
    for key in ("frames", "windows", "keyframes", "tracks_per_class", "tracks"):
        assert getattr(split.summary, key) == getattr(whole.summary, key), key
    (masks_whole, video_whole), (masks_split, video_split) = (
        _masks_and_frames(r, drawn_frames) for r in runs
    )
    assert masks_split == masks_whole and len(video_split) == 30
    assert video_split == video_whole


def test_sam2_split_into_calls_equals_one_run(
    tiny_env: Path, video: Path, tmp_path: Path, drawn_frames: dict[Path, list[str]]
) -> None:
    """The real (tiny, random) SAM 2: a call starts its window from the carried masks."""
    from pipeline.runs import local_chunks

    config = tiny_config(step=4, window=4)
    runs = []
    plan = local_chunks(video, config, 4)
    for name, chunks in (("whole", None), ("split", plan)):
        outputs = {"video": tmp_path / f"{name}.mp4", "masks": tmp_path / f"{name}.json"}
        *_, done = start(video, config, outputs, chunks=chunks)
        runs.append(done)
    assert runs[1].summary.calls == 3
    (masks_whole, video_whole), (masks_split, video_split) = (
        _masks_and_frames(r, drawn_frames) for r in runs
    )
    assert any(entry["objects"] for entry in masks_whole), "nothing to compare"
    assert masks_split == masks_whole
    assert video_split == video_whole and len(video_whole) == 12


# --------------------------------------------------------------------------- privacy


def test_privacy_hides_the_chosen_class_within_its_masks(
    tmp_path: Path, written_frames: dict[Path, list[np.ndarray]]
) -> None:
    """Striped squares, so that blurring changes their pixels; the oracle's masks are exact."""
    shapes = (StripedShape("red", (10, 20), (4, 0)), StripedShape("blue", (250, 100), (-4, 0)))
    path = make_video(tmp_path / "striped.mp4", frames=12, shapes=shapes)
    drawn = written_frames
    runs = {}
    for name, privacy in (("shown", {}), ("hidden", {"privacy": "blur", "privacy_classes": "red"})):
        config = SegmentationConfig(segmenter="test-oracle", step=4, window=8, **privacy)
        outputs = {"video": tmp_path / f"{name}.mp4", "masks": tmp_path / f"{name}.json"}
        runs[name] = list(start(path, config, outputs))
    assert runs["hidden"][-1].summary.privacy == {"style": "blur", "classes": ["red"]}
    masks = json.loads((tmp_path / "hidden.json").read_text())["frames"]
    for index in (0, 5, 11):
        changed = (drawn[tmp_path / "hidden.mp4"][index] != drawn[tmp_path / "shown.mp4"][index])
        changed = changed.any(axis=-1)
        by_class = {o["class"]: decode(o["mask"]) for o in masks[index]["objects"]}
        red = by_class["red"]
        # Changed: red's mask (but for the box lines and label drawn over it in both
        # runs), and nothing outside it (blue is not hidden).
        inner = cv2.erode(red.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        assert changed[inner].mean() > 0.85, (index, changed[inner].mean())
        assert not changed[~red].any(), index
    # The first frame, shown before the run, is hidden too.
    first = [e.image for e in runs["hidden"] if isinstance(e, FirstFrame)][0]
    plain = [e.image for e in runs["shown"] if isinstance(e, FirstFrame)][0]
    red = {o["class"]: decode(o["mask"]) for o in masks[0]["objects"]}["red"]
    inner = cv2.erode(red.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (first != plain).any(axis=-1)[inner].mean() > 0.85
