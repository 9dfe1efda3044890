"""Every kind of run through the one start function, ending in the one Done event."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import av
import pytest
import synthetic
from test_segmentation import OracleSegmenter  # noqa: F401 - registers the test-oracle segmenter

import pipeline
from pipeline import Done, FirstFrame, Preview, Progress
from pipeline.io.output_files import OutputFiles
from pipeline.io.video import VIDEO_SUFFIXES

FRAMES = 12


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runs")
    return synthetic.make_video(folder / "shapes.mp4", frames=FRAMES, width=320, height=240)


def _configs(tiny_depth_weights: Path) -> dict[str, pipeline.configs.RunConfig]:
    return {
        "detection": pipeline.DetectionConfig(detector="test_shapes", devices=("cpu",)),
        "depth": pipeline.DepthConfig(weights=str(tiny_depth_weights), devices=("cpu",)),
        "segmentation": pipeline.SegmentationConfig(segmenter="test-oracle", step=4, window=8),
    }


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        return sum(1 for _ in container.decode(stream))


def test_all_three_runs_start_the_same_way_and_end_with_one_done(
    video: Path, tmp_path: Path, tiny_depth_weights: Path
) -> None:
    assert set(pipeline.RUNS) == {"detection", "depth", "segmentation"}
    for task, config in _configs(tiny_depth_weights).items():
        outputs = pipeline.output_paths(task, tmp_path / task, config)
        events = list(pipeline.start(video, config, outputs))
        for kind in (FirstFrame, Progress, Preview, Done):
            assert any(isinstance(event, kind) for event in events), (task, kind)
        done = events[-1]
        assert isinstance(done, Done) and sum(isinstance(e, Done) for e in events) == 1
        assert done.outputs == outputs, task
        assert all(path.is_file() for path in done.outputs.values()), task
        assert _frames(done.outputs["video"]) == FRAMES, task
        # The summary every kind of run shares.
        summary = done.summary.to_dict()
        assert summary["frames"] == FRAMES and summary["fps"] > 0, task
        assert summary["devices"] == ["cpu"] and summary["frames_per_device"] == {"cpu": FRAMES}
        assert {"decode", "encode"} <= set(summary["timing_s"]), task
        assert all(seconds >= 0 for seconds in summary["timing_s"].values()), task
        assert isinstance(summary["model"], dict), task
        json.dumps(summary)  # what the CLI prints and the API returns
    tracks = json.loads((tmp_path / "detection" / "tracks.json").read_text())
    masks = json.loads((tmp_path / "segmentation" / "masks.json").read_text())
    assert len(tracks["frames"]) == len(masks["frames"]) == FRAMES


def test_outputs_that_do_not_fit_the_task_are_refused(video: Path, tmp_path: Path) -> None:
    config = pipeline.DetectionConfig(detector="test_shapes")
    with pytest.raises(pipeline.PipelineError, match="needs a path for tracks"):
        pipeline.start(video, config, {"video": tmp_path / "o.mp4"})
    with pytest.raises(pipeline.PipelineError, match="writes no masks"):
        pipeline.start(video, config, {"masks": tmp_path / "m.json"})
    # The config is the request: its type says which run, and nothing else is one.
    with pytest.raises(TypeError, match="is not the config of any task"):
        pipeline.start(video, {"detector": "test_shapes"}, {"video": tmp_path / "o.mp4"})
    assert not list(tmp_path.iterdir())


def test_a_stopped_run_of_any_kind_keeps_a_playable_partial_result(
    video: Path, tmp_path: Path, tiny_depth_weights: Path
) -> None:
    for task, config in _configs(tiny_depth_weights).items():
        stop = threading.Event()
        outputs = pipeline.output_paths(task, tmp_path / task)
        events = pipeline.start(video, config, outputs, stop)
        for event in events:
            if isinstance(event, Progress | Preview):
                stop.set()
        assert isinstance(event, Done) and event.summary.partial is True, task
        frames = event.summary.frames
        assert _frames(outputs["video"]) == frames, task
        for name in ("tracks", "masks"):
            if name in outputs:
                assert len(json.loads(outputs[name].read_text())["frames"]) == frames, task


def test_a_failed_run_of_any_kind_leaves_nothing(video: Path, tmp_path: Path) -> None:
    configs = {
        "detection": pipeline.DetectionConfig(
            detector="test_shapes", detector_options=(("fail_on_frame", 3),)
        ),
        "segmentation": pipeline.SegmentationConfig(
            segmenter="test-oracle", step=2, window=4, detector_options=(("fail_on_frame", 4),)
        ),
    }
    for task, config in configs.items():
        outputs = pipeline.output_paths(task, tmp_path / task)
        with pytest.raises(pipeline.PipelineError, match="exploded on purpose"):
            list(pipeline.start(video, config, outputs))
        assert not any(path.exists() for path in outputs.values()), task


def test_a_failed_run_leaves_the_files_the_user_had_and_removes_the_folders_it_made(
    video: Path, tmp_path: Path
) -> None:
    # Its own fail_on_frame (a cached detector that has failed before fails at once), late
    # enough that the files are open and written to when it fails.
    config = pipeline.DetectionConfig(
        detector="test_shapes", batch_size=1, detector_options=(("fail_on_frame", 8),)
    )
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "tracks.json").write_text("precious")
    outputs = {
        "tracks": mine / "tracks.json",  # the user's
        "mot": mine / "tracks.txt",
        "video": tmp_path / "new" / "deeper" / "o.mp4",
    }
    with pytest.raises(pipeline.PipelineError, match="exploded on purpose"):
        list(pipeline.start(video, config, outputs))
    assert (mine / "tracks.json").read_text() == "precious"
    assert [p.name for p in mine.iterdir()] == ["tracks.json"]  # nothing hidden left beside it
    assert not (tmp_path / "new").exists()


def test_a_folder_another_run_makes_meanwhile_is_used_and_not_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs writing to one new folder (a batch's workers start together) both go on.

    The folder is made by the other run between this run's look and its ``mkdir``.
    """
    shared = tmp_path / "out"
    real_mkdir = Path.mkdir

    def made_meanwhile(path: Path, *args, **kwargs) -> None:
        if path == shared:
            real_mkdir(path)  # the other run's
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", made_meanwhile)
    files = OutputFiles({"tracks": shared / "a" / "tracks.json"})
    monkeypatch.undo()
    assert files.paths["tracks"] == shared / "a" / "tracks.json"
    files.discard()  # this run fails: the folder it made goes, the other run's stays
    assert shared.is_dir() and not (shared / "a").exists()


def test_a_finished_run_replaces_the_files_the_user_had(video: Path, tmp_path: Path) -> None:
    config = pipeline.DetectionConfig(detector="test_shapes")
    outputs = pipeline.output_paths("detection", tmp_path, config)
    outputs["tracks"].write_text("old")
    outputs["tracks"].chmod(0o640)
    *_, done = pipeline.start(video, config, outputs)
    # Replaced when Done arrives, not after: a client reads the files at once.
    assert len(json.loads(done.outputs["tracks"].read_text())["frames"]) == FRAMES
    assert outputs["tracks"].stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in outputs.values())


def test_paths_that_cannot_be_written_or_would_destroy_a_file_are_refused_at_once(
    video: Path, tmp_path: Path
) -> None:
    config = pipeline.DetectionConfig(detector="test_shapes")
    tracks = tmp_path / "t.json"
    refused = {
        "is the input shapes.mp4": {"tracks": tracks, "video": video},
        "is named for two outputs": {"tracks": tracks, "mot": tracks},
        "must end in .mp4, .m4v or .mov": {"tracks": tracks, "video": tmp_path / "o.avi"},
        "is a folder": {"tracks": tmp_path},
    }
    for message, outputs in refused.items():
        # Raised by start() itself: before any event is asked for, any model loaded.
        with pytest.raises(pipeline.errors.OutputPathError, match=message):
            pipeline.start(video, config, outputs)
    for task, run in pipeline.RUNS.items():
        for name, output in run.outputs.items():
            if name == "video" or name.endswith("_video"):
                assert output.suffixes == VIDEO_SUFFIXES, (task, name)
    assert not list(tmp_path.iterdir())


def test_the_first_frame_of_any_kind(video: Path, tiny_depth_weights: Path) -> None:
    for task, config in _configs(tiny_depth_weights).items():
        first = pipeline.first_frame(video, config)
        assert first.image.ndim == 3 and first.image.shape[0] == 240, task


def test_progress_past_the_stated_frames_has_no_total() -> None:
    """A header that understates the frames (timestamps all 0): never "frame 50 of 1"."""
    import numpy as np

    from pipeline.runtime.report import LatestValue, report_progress

    latest: LatestValue = LatestValue()
    image = np.zeros((4, 4, 3), np.uint8)
    shown = []
    for index in (0, 1, 5):
        latest.publish((index, image))
        events = report_progress(
            latest, started=0.0, frames_done=lambda done=index + 1: done, total_frames=2,
            preview_interval_s=0.0, preview_max_width=4,
        )  # fmt: skip
        shown.append(next(events))
    assert [(p.frame_index, p.total_frames) for p in shown] == [(0, 2), (1, 2), (5, None)]
    assert shown[-1].fraction is None
