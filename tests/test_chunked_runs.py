"""Runs split into calls (the ZeroGPU path, tested off ZeroGPU): the same result as one run.

A small number of frames per call splits each run into several calls
(:mod:`pipeline.runtime.chunks`); the frames drawn for the video, the tracks or
masks and the summary's counts must equal an uninterrupted run's.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from synthetic import MovingShape, make_video

from pipeline import DepthConfig, DetectionConfig, Done, output_paths, start
from pipeline.errors import RunFailed
from pipeline.runs import chunk_results, local_chunks
from pipeline.runtime.chunks import Chunk, ChunkEnd, ChunkPlan
from pipeline.runtime.model_facts import ModelFacts

# Two shapes that cross: a tracker that lost its state between calls would give new ids.
CROSSING = (
    MovingShape("red", (10, 60), (7, 0)),
    MovingShape("blue", (260, 120), (-6, 0)),
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("chunks") / "cross.mp4", frames=37, shapes=CROSSING)


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def run(task: str, video: Path, config, folder: Path, chunks: ChunkPlan | None = None) -> Done:
    outputs = output_paths(task, folder, config)
    events = list(start(video, config, outputs, chunks=chunks))
    assert isinstance(events[-1], Done)
    return events[-1]


def frames_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["frames"]


@pytest.mark.parametrize("per_call", [1, 7, 36])
def test_a_detection_run_split_into_calls_equals_one_run(
    clip: Path, tmp_path: Path, per_call: int, drawn_frames: dict[Path, list[str]]
) -> None:
    config = DetectionConfig(
        detector="test_shapes", queries=("red", "blue"), lines=("middle:160,0,160,239",)
    )
    whole = run("detection", clip, config, tmp_path / "whole")
    split = run(
        "detection",
        clip,
        config,
        tmp_path / "split",
        local_chunks(clip, config, per_call),
    )
    assert split.summary.calls == -(-37 // per_call)
    assert whole.summary.calls is None
    assert frames_of(split.outputs["tracks"]) == frames_of(whole.outputs["tracks"])
    ids = {o["track_id"] for f in frames_of(split.outputs["tracks"]) for o in f["objects"]}
    assert ids == {1, 2}
    assert split.summary.counting == whole.summary.counting
    assert split.outputs["tracks_csv"].read_text() == whole.outputs["tracks_csv"].read_text()
    assert split.outputs["objects_csv"].read_text() == whole.outputs["objects_csv"].read_text()
    assert frame_count(split.outputs["video"]) == frame_count(whole.outputs["video"]) == 37
    assert drawn_frames[split.outputs["video"]] == drawn_frames[whole.outputs["video"]]


def test_a_depth_run_split_into_calls_equals_one_run(
    tiny_depth_weights: Path, clip: Path, tmp_path: Path, drawn_frames: dict[Path, list[str]]
) -> None:
    # The display range is smoothed over frames: it must carry on across calls.
    config = DepthConfig(weights=str(tiny_depth_weights), devices=("cpu",), max_frames=20)
    whole = run("depth", clip, config, tmp_path / "whole")
    split = run("depth", clip, config, tmp_path / "split", local_chunks(clip, config, 6))
    assert split.summary.calls == 4 and split.summary.frames == whole.summary.frames == 20
    assert split.summary.depth == whole.summary.depth
    assert frame_count(split.outputs["video"]) == 20
    assert drawn_frames[split.outputs["video"]] == drawn_frames[whole.outputs["video"]]


def test_detection_with_object_depth_keeps_the_depth_video_across_calls(
    tiny_depth_weights: Path,
    clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    drawn_frames: dict[Path, list[str]],
) -> None:
    monkeypatch.setenv("DEPTH_ANYTHING_V2_SMALL_WEIGHTS", str(tiny_depth_weights))
    config = DetectionConfig(detector="test_shapes", depth=True, max_frames=12)
    whole = run("detection", clip, config, tmp_path / "whole")
    split = run("detection", clip, config, tmp_path / "split", local_chunks(clip, config, 5))
    assert frames_of(split.outputs["tracks"]) == frames_of(whole.outputs["tracks"])
    assert frame_count(split.outputs["depth_video"]) == 12
    assert drawn_frames[split.outputs["depth_video"]] == drawn_frames[whole.outputs["depth_video"]]


def test_a_call_says_what_it_loaded_seeks_to_its_first_frame_and_ends_with_its_state(
    clip: Path,
) -> None:
    config = DetectionConfig(detector="test_shapes", queries=("RED",))
    facts, *items = list(chunk_results(clip, config, Chunk(30, 30 / 25, 5)))
    assert isinstance(facts, ModelFacts)
    assert facts.devices == ["cpu"] and facts.queries == ("red",)
    assert facts.info["name"] == "test_shapes" and facts.info["queries"] == ["red"]
    assert [index for index, _ in items[:-1]] == [30, 31, 32, 33, 34]
    assert items[-1] == ChunkEnd(None)
    _, *tail = list(chunk_results(clip, config, Chunk(35, 35 / 25, 5)))
    assert [index for index, _ in tail[:-1]] == [35, 36], "the video's end ends the call"


def test_a_call_that_gives_the_wrong_frames_fails_the_run_clearly(
    clip: Path, tmp_path: Path
) -> None:
    config = DetectionConfig(detector="test_shapes")

    def skipping(chunk: Chunk):
        for item in chunk_results(clip, config, chunk):
            if isinstance(item, tuple) and chunk.start > 0:
                item = (item[0] + 1, item[1])
            yield item

    folder = tmp_path / "bad"
    with pytest.raises(RunFailed, match="Call 2 gave a result for frame 11 at frame 10"):
        run("detection", clip, config, folder, ChunkPlan(10, skipping))
    assert not folder.exists(), "a failed run keeps nothing, not even the folder it made"


def test_a_stop_between_calls_keeps_a_consistent_partial_result(clip: Path, tmp_path: Path) -> None:
    import threading

    config = DetectionConfig(detector="test_shapes")
    stop = threading.Event()
    calls = []

    def stopping_after_two(chunk: Chunk):
        calls.append(chunk.start)
        if len(calls) == 3:
            stop.set()
        yield from chunk_results(clip, config, chunk)

    outputs = output_paths("detection", tmp_path, config)
    events = list(start(clip, config, outputs, stop, chunks=ChunkPlan(8, stopping_after_two)))
    done = events[-1]
    assert done.summary.partial is True
    frames = done.summary.frames
    # What was finished in order when the stop came: the results still in flight
    # (the first two calls' that the in-order stage had not reached) are dropped.
    assert 0 < frames < 37
    assert len(frames_of(outputs["tracks"])) == frames == frame_count(outputs["video"])


def test_a_plan_needs_a_frame_per_call() -> None:
    with pytest.raises(ValueError, match="at least 1 frame"):
        ChunkPlan(0, lambda chunk: iter(()))


def forked_calls(task: str, video: Path, config) -> ChunkPlan:
    """Calls made as a ZeroGPU worker makes them: in a forked process, each item pickled back."""
    import multiprocessing

    def call(chunk: Chunk):
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)

        def work() -> None:
            try:
                for item in chunk_results(video, config, chunk):
                    send.send(item)
            except Exception as exc:  # noqa: BLE001 - reported to the parent as the worker would
                send.send(RunFailed(f"{type(exc).__name__}: {exc}"))
            send.send(None)

        worker = context.Process(target=work, daemon=True)
        worker.start()
        send.close()
        try:
            while (item := receive.recv()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            worker.join(timeout=30)

    return ChunkPlan(9, call)


def test_a_run_split_into_calls_never_loads_a_model_in_its_own_process(
    tiny_depth_weights: Path, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On ZeroGPU the GPU exists only in the calls' worker: the run's process must load nothing."""
    import os

    import models.instances

    monkeypatch.setenv("DEPTH_ANYTHING_V2_SMALL_WEIGHTS", str(tiny_depth_weights))
    models.instances.clear_cache()
    run_process, create = os.getpid(), models.instances.create

    def create_in_calls_only(kind: str, name: str, **options):
        assert os.getpid() != run_process, f"the run's own process loaded the {kind} {name}"
        return create(kind, name, **options)

    monkeypatch.setattr(models.instances, "create", create_in_calls_only)
    config = DetectionConfig(
        detector="test_shapes", queries=("RED", "blue"), depth=True, max_frames=20
    )
    calls = forked_calls("detection", clip, config)
    split = run("detection", clip, config, tmp_path / "split", calls)
    monkeypatch.setattr(models.instances, "create", create)
    whole = run("detection", clip, config, tmp_path / "whole")
    assert split.summary.calls == 3
    # What the calls loaded is recorded as if the run had loaded it itself.
    assert split.summary.model == whole.summary.model
    assert split.summary.model["queries"] == ["red", "blue"]
    assert split.summary.depth_model == whole.summary.depth_model
    assert split.summary.devices == ["cpu"] and split.summary.frames_per_device == {"cpu": 20}
    tracks = json.loads(split.outputs["tracks"].read_text())
    assert tracks["model"] == json.loads(whole.outputs["tracks"].read_text())["model"]
    assert frames_of(split.outputs["tracks"]) == frames_of(whole.outputs["tracks"])


def test_a_bad_query_in_a_split_run_fails_in_its_first_call_with_the_model_s_message(
    clip: Path, tmp_path: Path
) -> None:
    config = DetectionConfig(detector="test_shapes", queries=("giraffe",))
    folder = tmp_path / "bad"
    with pytest.raises(Exception, match="does not know 'giraffe'"):
        run("detection", clip, config, folder, forked_calls("detection", clip, config))
    assert not folder.exists(), "a failed run keeps nothing, not even the folder it made"
