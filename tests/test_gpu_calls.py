"""Long runs on ZeroGPU: split into GPU calls through the tab handlers, and ZeroGPU's refusals.

Off ZeroGPU ``spaces.GPU`` leaves functions as they are, so the split path runs here
when the frames-per-call setting is small; a call that pickles every item it
returns stands in for the process boundary of a ZeroGPU worker.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import av
import gradio as gr
import pytest
from spaces.zero.gradio import error as zerogpu_error
from synthetic import MovingShape, make_video

from pipeline import DetectionConfig, SegmentationConfig, output_paths, start
from pipeline.runs import chunk_results
from pipeline.runtime.chunks import Chunk, ChunkPlan
from ui import gpu
from ui.settings import Settings
from ui.tabs.detection import DetectionHandlers
from ui.zerogpu import GpuUnavailable, explain, gpu_errors

FRAMES = 30
CROSSING = (MovingShape("red", (10, 60), (8, 0)), MovingShape("blue", (260, 110), (-7, 0)))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("calls") / "c.mp4", frames=FRAMES, shapes=CROSSING)


def last_output(handlers: DetectionHandlers, clip: Path) -> tuple:
    outputs = list(handlers.detect(str(clip), "test_shapes", None, "red,blue", 0.25))
    previews = [out for out in outputs[:-1] if out[0] is not None]
    assert previews, "no preview streamed"
    return outputs[-1]


def frame_count(path: str) -> int:
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


def test_the_detection_tab_splits_a_long_run_into_calls_seamlessly(
    clip: Path, tmp_path: Path
) -> None:
    split = DetectionHandlers(Settings(output_dir=tmp_path / "a", gpu_frames_per_call=8))
    whole = DetectionHandlers(Settings(output_dir=tmp_path / "b"))
    _, status, video, tracks, _, summary = last_output(split, clip)
    _, _, video_whole, tracks_whole, _, summary_whole = last_output(whole, clip)
    assert status.startswith(f"Done: {FRAMES} frames")
    assert summary["calls"] == 4 and "calls" not in summary_whole
    assert frame_count(video) == frame_count(video_whole) == FRAMES
    split_frames = json.loads(Path(tracks).read_text())["frames"]
    assert split_frames == json.loads(Path(tracks_whole).read_text())["frames"]
    assert {o["track_id"] for f in split_frames for o in f["objects"]} == {1, 2}


def test_frames_per_call_comes_from_the_setting_or_fits_a_zerogpu_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = DetectionConfig(detector="test_shapes")
    assert gpu.frames_per_call(config, 50) == 50
    monkeypatch.setattr(gpu, "on_zero_gpu", lambda: False)
    assert gpu.frames_per_call(config, None) is None, "one call off ZeroGPU"
    monkeypatch.setattr(gpu, "on_zero_gpu", lambda: True)
    slow = DetectionConfig(detector="grounding_dino")
    per_call = gpu.frames_per_call(slow, None)
    assert per_call is not None
    seconds = gpu.LOAD_S + per_call / gpu.run_throughput_fps(slow)
    assert seconds <= gpu.GPU_MAX_S, "a call's frames must fit in its time"
    assert gpu.estimate_chunk_seconds("v.mp4", slow, "f", Chunk(0, 0.0, per_call)) <= gpu.GPU_MAX_S


def pickled(call):
    """A call whose items cross a process boundary, as a ZeroGPU worker's do."""

    def crossing(chunk: Chunk):
        chunk = pickle.loads(pickle.dumps(chunk))
        for item in call(chunk):
            yield pickle.loads(pickle.dumps(item))

    return crossing


@pytest.mark.parametrize("task", ["detection", "segmentation"])
def test_what_a_call_returns_survives_pickling(task: str, clip: Path, tmp_path: Path) -> None:
    import test_segmentation  # noqa: F401 - registers the oracle segmenter

    config = (
        DetectionConfig(detector="test_shapes")
        if task == "detection"
        else SegmentationConfig(segmenter="test-oracle", step=4, window=8)
    )
    plan = ChunkPlan(8, pickled(lambda chunk: chunk_results(clip, config, chunk)))
    dones = []
    for name, chunks in (("whole", None), ("split", plan)):
        outputs = output_paths(task, tmp_path / name, config)
        *_, done = start(clip, config, outputs, chunks=chunks)
        dones.append(done)
    key = "tracks" if task == "detection" else "masks"
    whole, split = (json.loads(d.outputs[key].read_text())["frames"] for d in dones)
    assert split == whole and len(split) == FRAMES


QUOTA = (
    "You have exceeded your free ZeroGPU quota (120s requested vs. 31s left). "
    "Try again in 0:12:05.310000. Authenticate with a Hugging Face token for more quota"
)


@pytest.mark.parametrize(
    ("title", "message", "expected"),
    [
        ("ZeroGPU quota exceeded", QUOTA, "(120 s asked for, 31 s left): try again in 12 min 5 s."),
        (
            "ZeroGPU quota exceeded",
            "You have exceeded your Pro ZeroGPU quota (60s requested vs. 0s left). "
            "Try again in 1 day, 2:00:00.",
            "try again in 1 d 2 h.",
        ),
        ("ZeroGPU quota exceeded", "Space app has reached its GPU limit. ", "try again later"),
        ("ZeroGPU illegal duration", "The requested GPU duration (400s) is larger", "fewer frames"),
        ("ZeroGPU worker error", "GPU task aborted", "ran past its time"),
    ],
)
def test_zerogpu_refusals_become_messages_that_say_when_to_retry(
    title: str, message: str, expected: str
) -> None:
    # spaces' own constructor of these errors, as its scheduler raises them.
    refusal = zerogpu_error(title, message)
    assert expected in explain(refusal)
    with pytest.raises(GpuUnavailable, match=re.escape(expected)), gpu_errors():
        raise refusal


def test_a_call_refused_midway_keeps_the_frames_done_and_says_why(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A free visitor's quota runs out between two calls of a long video: a partial result."""
    calls = []

    def refusing(video, config, folder, chunk):
        calls.append(chunk.start)
        if len(calls) == 2:
            raise zerogpu_error("ZeroGPU quota exceeded", QUOTA)
        yield from chunk_results(video, config, chunk)

    monkeypatch.setattr(gpu, "gpu_chunk", refusing)
    handlers = DetectionHandlers(Settings(output_dir=tmp_path, gpu_frames_per_call=10))
    *_, (_, status, video, tracks, _, summary) = handlers.detect(
        str(clip), "test_shapes", None, "", 0.25
    )
    assert calls == [0, 10]
    assert summary["partial"] is True and summary["frames"] == 10
    assert "try again in 12 min 5 s" in summary["stopped_because"]
    assert status.startswith(
        "**Stopped** after 10 frames: the result below is partial. The GPU quota is used up"
    )
    assert frame_count(video) == 10 and len(json.loads(Path(tracks).read_text())["frames"]) == 10


def test_a_refused_first_call_ends_the_tab_run_with_that_message_and_nothing_left(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refusing(video, config, folder, chunk):
        raise zerogpu_error("ZeroGPU quota exceeded", QUOTA)
        yield  # a generator, as the GPU call is

    monkeypatch.setattr(gpu, "gpu_chunk", refusing)
    handlers = DetectionHandlers(Settings(output_dir=tmp_path, gpu_frames_per_call=10))
    with pytest.raises(gr.Error, match="GPU quota is used up for now .* try again in 12 min 5 s"):
        list(handlers.detect(str(clip), "test_shapes", None, "", 0.25))
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in leftovers if p.suffix in {".mp4", ".json", ".csv"}], leftovers


def test_non_zerogpu_worker_errors_keep_their_message() -> None:
    with pytest.raises(Exception, match="^Could not decode a.mp4: bad.$") as info, gpu_errors():
        raise gr.Error("Could not decode a.mp4: bad.")
    assert not isinstance(info.value, GpuUnavailable)


def test_calls_are_made_in_the_context_the_run_started_in(clip: Path, tmp_path: Path) -> None:
    """spaces finds the Gradio request (and the user's quota) in context variables."""
    import contextvars

    request = contextvars.ContextVar("request", default=None)
    seen = []
    config = DetectionConfig(detector="test_shapes")

    def call(chunk: Chunk):
        seen.append(request.get())
        yield from chunk_results(clip, config, chunk)

    request.set("the user's request")
    outputs = output_paths("detection", tmp_path, config)
    list(start(clip, config, outputs, chunks=ChunkPlan(10, call)))
    assert seen == ["the user's request"] * 3
