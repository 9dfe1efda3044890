"""The job store: devices and queue, stop and delete, expiry and the disk bound, start-up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
import synthetic
from job_helpers import upload

from pipeline import DetectionConfig, PipelineError, RunStopped
from pipeline.jobs import JobStatus, JobStore, QueueFull, Requester, UnknownJob
from pipeline.jobs.folders import folder_bytes

FRAMES = 12
SLOW = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 0.2),))
FAST = DetectionConfig(detector="test_shapes")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("jobs-clip")
    return synthetic.make_video(folder / "clip.mp4", frames=FRAMES, width=160, height=128)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    jobs = JobStore(tmp_path / "jobs", devices=1, max_queued=1, sweep_interval_s=None)
    yield jobs
    jobs.close()


def frames_in(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def finished(job, timeout: float = 30.0) -> bool:
    return job.wait_until(lambda j: j.status.finished, timeout=timeout)


def test_a_job_runs_to_its_end_in_its_own_folder(store: JobStore, clip: Path, tmp_path: Path):
    job = store.submit(upload(clip, tmp_path), FAST)
    assert finished(job) and job.status is JobStatus.COMPLETED
    assert job.folder.parent == store.root
    # The upload is kept apart from the outputs: the job's folder is served, its input never.
    assert job.video.parent in store.private_folders() and not job.video.is_relative_to(job.folder)
    assert set(job.outputs) == {"video", "tracks", "tracks_csv", "objects_csv"}
    assert frames_in(job.outputs["video"]) == FRAMES
    assert job.summary.job_id == job.id and job.first_frame[:2] == b"\xff\xd8"
    status = store.status(job.id)
    assert status["status"] == "completed" and status["progress"]["frames_done"] == FRAMES
    assert status["outputs"] == ["objects_csv", "tracks", "tracks_csv", "video"]


def test_devices_are_shared_in_order_and_a_full_queue_refuses_at_once(
    store: JobStore, clip: Path, tmp_path: Path
):
    running = store.submit(upload(clip, tmp_path), SLOW)
    assert running.wait_until(lambda j: j.status is JobStatus.RUNNING, timeout=10)
    waiting = store.submit(upload(clip, tmp_path), SLOW)
    assert store.status(waiting.id)["status"] == "queued"
    assert store.queue_position(waiting) == 1
    refused = upload(clip, tmp_path)
    with pytest.raises(QueueFull, match="Try again in about") as info:
        store.submit(refused, SLOW)
    assert info.value.retry_after_s >= 5
    assert refused.exists(), "a refused upload stays the caller's"
    assert len(list(store.root.glob("job-*"))) == 2, "the refused job left a folder"
    # The waiting job runs once the device is free.
    assert finished(running) and finished(waiting)
    assert waiting.started >= running.finished - 0.05


def test_stop_keeps_the_partial_result_and_a_queued_job_is_cancelled(
    store: JobStore, clip: Path, tmp_path: Path
):
    running = store.submit(upload(clip, tmp_path), SLOW)
    queued = store.submit(upload(clip, tmp_path), SLOW)
    assert running.wait_until(lambda j: j.frames_done >= 2, timeout=10)
    store.stop(queued.id)
    store.stop(running.id)
    assert finished(running) and running.status is JobStatus.STOPPED
    frames = running.summary.frames
    assert running.summary.partial is True and 0 < frames < FRAMES
    assert frames_in(running.outputs["video"]) == frames
    assert len(json.loads(running.outputs["tracks"].read_text())["frames"]) == frames
    assert finished(queued) and queued.status is JobStatus.CANCELLED
    assert not queued.folder.exists(), "a job cancelled before it ran keeps nothing"
    # Its status lists the files it has, not those its run would have written.
    assert store.status(queued.id)["outputs"] == []
    written = store.status(running.id)["outputs"]
    assert written and all(running.outputs[name].is_file() for name in written)


def test_an_exclusive_job_whose_caller_left_leaves_the_queue(
    store: JobStore, clip: Path, tmp_path: Path
):
    """A benchmark waiting behind a run, whose client disconnects, gives its place up."""
    running = store.submit(upload(clip, tmp_path), SLOW)
    assert running.wait_until(lambda j: j.status is JobStatus.RUNNING, timeout=10)
    requester = Requester("api")
    raised: list[BaseException] = []

    def benchmark() -> None:
        try:
            with store.exclusive("benchmark", requester):
                raise AssertionError("it ran although its caller had left")
        except BaseException as exc:  # noqa: BLE001 - checked below
            raised.append(exc)

    thread = threading.Thread(target=benchmark)
    thread.start()
    waiting = None
    for _ in range(100):
        waiting = next((j for j in store.all() if j.task == "benchmark"), None)
        if waiting is not None:
            break
        time.sleep(0.05)
    assert waiting is not None and waiting.status is JobStatus.QUEUED
    requester.cancel.set()
    thread.join(timeout=10)
    assert len(raised) == 1 and isinstance(raised[0], PipelineError), raised
    assert "cancelled while it waited" in str(raised[0])
    assert waiting.status is JobStatus.CANCELLED and not waiting.folder.exists()
    assert store.queue_position(waiting) is None
    store.stop(running.id)
    assert finished(running)


def test_an_exclusive_job_stopped_while_it_runs_ends_stopped_and_keeps_nothing(store: JobStore):
    with pytest.raises(RunStopped), store.exclusive("benchmark", Requester("api")) as job:
        (job.folder / "rows.json").write_text("[]")
        raise RunStopped("The benchmark was stopped after 1 of 3 configurations.")
    assert job.status is JobStatus.STOPPED and not job.folder.exists()


def test_delete_removes_every_file_even_of_a_running_job(
    store: JobStore, clip: Path, tmp_path: Path
):
    job = store.submit(upload(clip, tmp_path), SLOW)
    assert job.wait_until(lambda j: j.frames_done >= 1, timeout=10)
    store.delete(job.id)
    assert not job.folder.exists()
    with pytest.raises(UnknownJob):
        store.get(job.id)


def test_a_failed_job_keeps_its_message_and_no_files(store: JobStore, clip: Path, tmp_path: Path):
    bad = DetectionConfig(detector="test_shapes", queries=("purple",))
    job = store.submit(upload(clip, tmp_path), bad)
    assert finished(job) and job.status is JobStatus.FAILED
    assert "does not know 'purple'" in job.error and not job.error_is_internal
    assert not job.folder.exists() and store.status(job.id)["outputs"] == []


def test_a_failed_upload_s_message_names_it_as_its_sender_did(store: JobStore, tmp_path: Path):
    """The store keeps it as job-<id>.mp4, a name its sender never gave."""
    text = tmp_path / "upload-1.mp4"
    text.write_text("this is not a video\n")
    job = store.submit(text, FAST, video_name="holiday.mp4")
    assert finished(job) and job.status is JobStatus.FAILED
    assert job.error.startswith("holiday.mp4 is not a readable video"), job.error
    assert job.video.name not in job.error


def test_ids_are_only_looked_up(store: JobStore):
    for hostile in ("../../etc/passwd", "job-..", "", "/"):
        with pytest.raises(UnknownJob):
            store.get(hostile)


def test_the_sweep_deletes_expired_then_oldest_over_the_bound_never_a_running_job(
    store: JobStore, clip: Path, tmp_path: Path
):
    done = [store.submit(upload(clip, tmp_path), FAST) for _ in range(1)]
    assert all(finished(job) for job in done)
    older = store.submit(upload(clip, tmp_path), FAST)
    assert finished(older)
    newer = store.submit(upload(clip, tmp_path), FAST)
    assert finished(newer)
    running = store.submit(upload(clip, tmp_path), SLOW)
    assert running.wait_until(lambda j: j.status is JobStatus.RUNNING, timeout=10)
    # Over the disk bound: the oldest finished jobs go first, until under it.
    store.max_disk_bytes = store.disk_bytes() - 1
    result = store.sweep()
    assert result["over_disk_bound"] == 1 and not done[0].folder.exists()
    assert older.folder.exists() and newer.folder.exists()
    # Past the time to live: every finished job goes; the running one stays.
    store.max_disk_bytes = None
    result = store.sweep(now=time.time() + store.ttl_s + 1)
    assert result["expired"] == 2 and not older.folder.exists() and not newer.folder.exists()
    assert running.folder.exists() and store.get(running.id) is running
    store.stop(running.id)
    assert finished(running)


def test_leftovers_of_a_previous_process_are_swept_at_start_up(tmp_path: Path):
    root = tmp_path / "jobs"
    (root / "job-from-before").mkdir(parents=True)
    (root / "job-from-before" / "detections.mp4").write_bytes(b"old")
    (root / ".uploads").mkdir()
    (root / ".uploads" / "half-uploaded").write_bytes(b"old")
    store = JobStore(root, devices=1, sweep_interval_s=None)
    try:
        assert list(root.iterdir()) == []
    finally:
        store.close()


def test_fifty_jobs_with_a_short_time_to_live_keep_the_disk_bounded(
    clip: Path, tmp_path: Path, capsys
):
    """The done-when check of the jobs issue: disk used while 50 jobs come and go."""
    store = JobStore(tmp_path / "jobs", devices=1, max_queued=60, ttl_s=0.5, sweep_interval_s=0.2)
    try:
        before = store.disk_bytes()
        jobs = [store.submit(upload(clip, tmp_path), FAST) for _ in range(50)]
        peak = 0
        while not all(job.status.finished for job in jobs):
            peak = max(peak, store.disk_bytes())
            time.sleep(0.05)
        assert all(job.status is JobStatus.COMPLETED for job in jobs)
        one_job = max(folder_bytes(job.folder) for job in jobs)
        deadline = time.monotonic() + 10
        while store.disk_bytes() > 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = store.disk_bytes()
        assert after == 0, "expired jobs were not swept"
        assert peak < 50 * one_job, "jobs were not swept while others ran"
        with capsys.disabled():
            print(
                f"\n50 jobs, time to live 0.5 s: disk before {before} B, peak {peak} B "
                f"({peak / one_job:.1f} jobs' worth of {one_job} B), after {after} B"
            )
    finally:
        store.close()


def test_the_status_shows_a_download_until_the_run_moves_on(store: JobStore, clip: Path):
    from pipeline import Downloading, Progress

    job = store.create(DetectionConfig(detector="test_shapes"), source="api",
                       video=clip)  # fmt: skip
    job.observe(Downloading("SAM 2.1 Hiera-L", "facebook/sam2.1-hiera-large", 40, 100))
    assert store.status(job.id)["downloading"] == {
        "model": "SAM 2.1 Hiera-L", "source": "facebook/sam2.1-hiera-large",
        "done_bytes": 40, "total_bytes": 100,
    }  # fmt: skip
    job.observe(Progress(frame_index=0, total_frames=10, fps=1.0))
    assert store.status(job.id)["downloading"] is None
    assert store.status(job.id)["progress"]["frames_done"] == 1
    store.stop(job.id)


def test_execute_runs_the_injected_executor_and_records_its_events(store: JobStore, clip: Path):
    from pipeline.jobs import run_in_process

    seen = []

    def executor(job):
        seen.append(job.id)  # called once the job has its device
        assert job.status is JobStatus.RUNNING
        yield from run_in_process()(job)

    job = store.create(FAST, source="app", video=clip)
    events = list(store.execute(job, executor))
    assert seen == [job.id] and type(events[-1]).__name__ == "Done"
    assert job.status is JobStatus.COMPLETED and job.summary.frames == FRAMES
    # The device is free again: the next job runs at once.
    second = store.create(FAST, source="app", video=clip)
    assert list(store.execute(second))[-1].summary.frames == FRAMES


def test_execute_fails_the_job_frees_the_device_and_leaves_no_files(store: JobStore, clip: Path):
    def executor(job):
        raise PipelineError("the model could not load")
        yield  # a generator, as every executor is

    job = store.create(FAST, source="app", video=clip)
    with pytest.raises(PipelineError, match="could not load"):
        list(store.execute(job, executor))
    assert job.status is JobStatus.FAILED and job.error == "the model could not load"
    assert not job.folder.exists()
    after = store.create(FAST, source="app", video=clip)
    assert list(store.execute(after))[-1].summary.frames == FRAMES


def test_a_caller_gone_while_its_job_waits_gives_its_place_up(
    store: JobStore, clip: Path, tmp_path: Path
):
    from pipeline.jobs import Waiting

    running = store.submit(upload(clip, tmp_path), SLOW)
    assert running.wait_until(lambda j: j.status is JobStatus.RUNNING, timeout=10)
    waiting = store.create(FAST, source="app", video=clip)
    events = store.execute(waiting, beat_s=0.05)
    assert next(events) == Waiting(position=1)
    events.close()  # the page was closed
    assert waiting.status is JobStatus.CANCELLED and not waiting.folder.exists()
    assert store.queue_position(waiting) is None
    # Its place does not hold the queue up: the next job runs after the running one.
    store.stop(running.id)
    following = store.submit(upload(clip, tmp_path), FAST)
    assert finished(following) and following.status is JobStatus.COMPLETED
