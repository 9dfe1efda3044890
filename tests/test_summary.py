"""The typed run summary and the outputs a run declares, as the REST routes read them.

The keys below are the ones each kind of run's summary had as a plain dict,
in their order: what the REST status, the command line, the batch manifest and
``gradio_client`` show must not change with the type behind it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import synthetic
from fastapi.testclient import TestClient
from tiny_sam2 import weights_in_env

import pipeline
from pipeline import DepthConfig, DetectionConfig, Done, RunSummary, SegmentationConfig, start
from pipeline.jobs import JobStatus, JobStore
from pipeline.runs import output_for, output_paths
from pipeline.runtime.summary import build_summary
from ui.rest.app import build_rest_app
from ui.settings import Settings

FRAMES = 12

#: What every run's summary has, in order, before what its kind adds.
COMMON = [
    "frames", "fps", "seconds", "first_frame_s", "video", "devices", "frames_per_device",
    "peak_frames_in_flight", "timing_s", "model", "licenses",
]  # fmt: skip
TRACKS = ["tracks", "tracks_per_class"]
KEYS = {
    "detection": [*COMMON, *TRACKS, "tracker"],
    "detection_with_depth": [*COMMON, *TRACKS, "tracker", "depth_model", "near_to_far"],
    "segmentation": [*COMMON, *TRACKS, "windows", "keyframes", "frame_store", "device"],
    "depth": [*COMMON, "view", "colormap", "depth"],
}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("summary") / "shapes.mp4"
    return synthetic.make_video(path, frames=FRAMES, width=320, height=240, fps=25)


def _configs(depth_weights: Path) -> dict[str, tuple[str, pipeline.RunConfig]]:
    return {
        "detection": ("detection", DetectionConfig(detector="test_shapes")),
        "detection_with_depth": (
            "detection",
            DetectionConfig(detector="test_shapes", depth=True, depth_weights=str(depth_weights)),
        ),
        "segmentation": (
            "segmentation",
            SegmentationConfig(segmenter="YSAM2-S", detector="test_shapes", step=4, window=8),
        ),
        "depth": ("depth", DepthConfig(weights=str(depth_weights), devices=("cpu",))),
    }


def test_each_kind_of_run_gives_the_summary_json_it_gave_as_a_dict(
    video: Path, tmp_path: Path, tiny_depth_weights: Path, tiny_sam2_weights: Path
) -> None:
    with weights_in_env("SAM2_SMALL_WEIGHTS", tiny_sam2_weights):
        for name, (task, config) in _configs(tiny_depth_weights).items():
            outputs = output_paths(task, tmp_path / name, config)
            *_, done = start(video, config, outputs)
            assert isinstance(done, Done) and isinstance(done.summary, RunSummary), name
            data = done.summary.to_dict()
            assert list(data) == KEYS[name], name
            assert data["frames"] == done.summary.frames == FRAMES, name
            # JSON and back: the same summary (what a reader of summary.json gets).
            again = json.loads(json.dumps(data))
            assert RunSummary.from_dict(again).to_dict() == again, name
            assert RunSummary.from_dict(data) == done.summary, name


def test_a_file_cut_after_its_header_says_so(tmp_path: Path) -> None:
    # The example clip states its 100 frames up front (its index before its data):
    # cut after 50 kB, it decodes to its last whole frame and ends without an error.
    whole = Path(__file__).parents[1] / "assets" / "one_by_one_person.mp4"
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:50_000])
    config = DetectionConfig(detector="test_shapes")
    *_, done = start(cut, config, output_paths("detection", tmp_path / "cut", config))
    assert 0 < done.summary.frames < 100 and not done.summary.partial
    assert done.summary.warning == (
        f"The video ended after {done.summary.frames} of the 100 frames its file states: "
        "the file may be cut short, and the results cover only those frames."
    )
    # A run asked for fewer frames than the file has is no cut file.
    few = DetectionConfig(detector="test_shapes", max_frames=5)
    *_, done = start(whole, few, output_paths("detection", tmp_path / "few", few))
    assert done.summary.frames == 5 and done.summary.warning is None


def test_none_and_a_false_partial_are_left_out_and_the_endings_come_last() -> None:
    summary = build_summary(
        frames=3, elapsed_s=0.5, video={"width": 8, "height": 8}, devices=["cpu"],
        timing={"decode": 0.123456}, model={"name": "m", "license": "MIT"}, additions={},
    )  # fmt: skip
    assert summary.timing_s == {"decode": 0.1235} and summary.fps == 6.0
    assert [(item["name"], item["license"]) for item in summary.licenses] == [("m", "MIT")]
    assert "partial" not in summary.to_dict() and "first_frame_s" not in summary.to_dict()
    ended = dataclasses.replace(summary, partial=True, stopped_because="Quota.", job_id="j")
    assert list(ended.to_dict())[-3:] == ["partial", "stopped_because", "job_id"]
    with pytest.raises(TypeError):
        build_summary(
            frames=0, elapsed_s=0.0, video={}, devices=[], timing={}, model={},
            additions={"no_such_field": 1},
        )  # fmt: skip


# --------------------------------------------------------------------------- outputs


def test_each_run_declares_which_output_holds_which_result() -> None:
    assert output_for("detection", "tracks") == "tracks"
    assert output_for("segmentation", "tracks") == "masks"
    assert output_for("depth", "tracks") is None
    assert output_for("depth", "depth_video") == "video"
    assert output_for("detection", "depth_video") == "depth_video"
    assert output_for("detection", "depth_video", DetectionConfig(detector="test_shapes")) is None
    with_depth = DetectionConfig(detector="test_shapes", depth=True)
    assert output_for("detection", "depth_video", with_depth) == "depth_video"
    assert [t for t in pipeline.RUNS if output_for(t, "tracks_csv")] == ["detection"]


def _summary() -> RunSummary:
    return build_summary(
        frames=1, elapsed_s=1.0, video={"width": 8, "height": 8}, devices=["cpu"],
        timing={}, model={}, additions={},
    )  # fmt: skip


@pytest.fixture
def rest(tmp_path: Path) -> Iterator[tuple[TestClient, JobStore]]:
    settings = Settings(output_dir=tmp_path / "jobs")
    jobs = JobStore(tmp_path / "jobs", devices=1)
    try:
        yield TestClient(build_rest_app(settings, jobs)), jobs
    finally:
        jobs.close()


def _finished_job(jobs: JobStore, config: pipeline.RunConfig, stray: dict[str, str]):
    """A job whose run wrote its files, plus ``stray`` files it never declared, as outputs."""
    job = jobs.record(config, source="test")
    for name, path in job.outputs.items():
        path.write_bytes(f"{job.task} {name}".encode())
    for name, filename in stray.items():
        job.outputs[name] = job.folder / filename
        job.outputs[name].write_bytes(b"stray")
    job.observe(Done(dict(job.outputs), _summary()))
    assert job.status is JobStatus.COMPLETED
    return job


def test_the_file_routes_serve_what_the_run_declares_and_nothing_else(rest) -> None:
    http, jobs = rest
    masks = _finished_job(jobs, SegmentationConfig(segmenter="YSAM2-S", detector="test_shapes"), {})
    answer = http.get(f"/detect/tracks/{masks.id}")
    assert answer.status_code == 200 and answer.content == b"segmentation masks"

    # A depth run declares no tracks and a plain detection run no depth video:
    # a file of that name lying among the job's outputs is never served.
    depth = _finished_job(jobs, DepthConfig(), {"tracks": "tracks.json"})
    answer = http.get(f"/detect/tracks/{depth.id}")
    assert answer.status_code == 404
    assert answer.json()["error"] == "A depth job has no tracks; its result is the depth video."
    assert http.get(f"/detect/depth-video/{depth.id}").content == b"depth video"
    answer = http.get(f"/detect/tracks-csv/{depth.id}")
    assert answer.status_code == 404
    assert answer.json()["error"] == "A depth job has no CSV tables; detection jobs do."

    plain = _finished_job(
        jobs, DetectionConfig(detector="test_shapes"), {"depth_video": "depth.mp4"}
    )
    answer = http.get(f"/detect/depth-video/{plain.id}")
    assert answer.status_code == 404 and "measures no depth" in answer.json()["error"]
    assert http.get(f"/detect/first-frame-depth/{plain.id}").status_code == 404
    assert http.get(f"/detect/tracks-csv/{plain.id}").content == b"detection tracks_csv"
    status = http.get(f"/detect/status/{plain.id}").json()
    assert status["summary"] == {**_summary().to_dict(), "job_id": plain.id}
