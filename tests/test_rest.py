"""The REST API over real HTTP, on the launched app: jobs, status, stream, files, errors.

Runs the real YOLOX-Nano (bundled in ``assets/``) on the two example clips
(100 frames) and on the full 377-frame car clip for jobs that must still be
running when the test acts.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import av
import httpx
import pytest
import synthetic
from job_helpers import left_while, post, start_job
from synthetic import MovingShape

from ui.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
PERSON = REPO_ROOT / "assets" / "one_by_one_person.mp4"  # 100 frames
PERSON_FRAMES = 100
JPEG = b"\xff\xd8"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        output_dir=tmp_path_factory.mktemp("rest-jobs"),
        max_upload_mb=4,
        max_queued_jobs=1,
        preview_interval_s=0.05,
    )


def wait_status(http: httpx.Client, job_id: str, *states: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = http.get(f"/detect/status/{job_id}").json()
        if status["status"] in states:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {states}: {status}")


def video_frames(content: bytes, tmp_path: Path) -> tuple[str, int]:
    path = tmp_path / f"v-{time.monotonic_ns()}.mp4"
    path.write_bytes(content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, sum(1 for _ in container.decode(stream))


DOOR = json.dumps({"lines": [{"name": "door", "points": [[384, 0], [384, 432]]}]})
ZONE_OF_TWO_POINTS = json.dumps({"zones": [{"name": "desk", "points": [[0, 0], [10, 10]]}]})
LINE_OUTSIDE = json.dumps({"lines": [{"name": "far", "points": [[0, 0], [900, 10]]}]})
TWICE_NAMED = json.dumps(
    {
        "lines": [{"name": "door", "points": [[0, 0], [10, 10]]}],
        "zones": [{"name": "door", "points": [[0, 0], [10, 0], [0, 10]]}],
    }
)


def stored(settings: Settings) -> list[Path]:
    """What the job store holds (its uploads and inputs folders, made once, aside)."""
    private = (".uploads", ".inputs")
    return sorted(p for p in settings.output_dir.rglob("*") if p.name not in private)


def assert_error(answer: httpx.Response, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "status"} and message in body["error"], body
    assert "Traceback" not in answer.text


def test_the_original_curl_session(http: httpx.Client, tmp_path: Path) -> None:
    """POST /detect/async, then the status, the stream, the video and the tracks."""
    job = start_job(http, PERSON, mode="object_detection", queries="person,car")
    assert job["status"] in ("running", "completed") and job["job_id"]
    # The first frame was processed before the answer.
    first = http.get(job["urls"]["first_frame"])
    assert first.status_code == 200 and first.content.startswith(JPEG)
    status = wait_status(http, job["job_id"], "completed")
    assert status["progress"]["frames_done"] == PERSON_FRAMES
    assert status["summary"]["job_id"] == job["job_id"]
    video = http.get(job["urls"]["video"])
    assert video.headers["content-type"] == "video/mp4"
    assert video_frames(video.content, tmp_path) == ("h264", PERSON_FRAMES)
    # Range requests, so that a <video> can seek.
    part = http.get(job["urls"]["video"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == video.content[100:200]
    tracks = http.get(job["urls"]["tracks"]).json()
    assert len(tracks["frames"]) == PERSON_FRAMES
    # Per-frame records are the file's own records.
    for index in (0, 17, PERSON_FRAMES - 1):
        one = http.get(f"/detect/tracks/{job['job_id']}/{index}")
        assert one.status_code == 200 and one.json() == tracks["frames"][index]
    assert any(o["class"] == "person" for f in tracks["frames"] for o in f["objects"])
    assert_error(http.get(f"/detect/tracks/{job['job_id']}/{PERSON_FRAMES}"), 404, "out of range")
    # The synchronous route answers the video itself.
    answer = post(http, PERSON, path="/detect", detector="yolox_nano", queries="person")
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    assert video_frames(answer.content, tmp_path) == ("h264", PERSON_FRAMES)


def test_the_stream_shows_distinct_frames_while_the_job_runs_and_ends_with_it(
    http: httpx.Client, long_clip: Path
) -> None:
    job = start_job(http, long_clip)
    parts: list[bytes] = []
    with http.stream("GET", job["urls"]["stream"]) as stream:
        assert stream.headers["content-type"].startswith("multipart/x-mixed-replace")
        buffer = b""
        for chunk in stream.iter_bytes():
            buffer += chunk
            while b"\r\n\r\n" in buffer and b"\r\n--frame" in buffer.split(b"\r\n\r\n", 1)[1]:
                header, rest = buffer.split(b"\r\n\r\n", 1)
                body, buffer = rest.split(b"\r\n--frame", 1)
                parts.append(body)
                buffer = b"--frame" + buffer
    # The stream ended by itself: the job has ended.
    assert http.get(job["urls"]["status"]).json()["status"] == "completed"
    assert len(parts) >= 3 and all(p.startswith(JPEG) for p in parts)
    assert len(set(parts)) >= 3, "the stream repeated one frame"


def test_a_stop_keeps_a_playable_partial_result(
    http: httpx.Client, long_clip: Path, tmp_path: Path
) -> None:
    job = start_job(http, long_clip)
    job_id = job["job_id"]
    while http.get(f"/detect/status/{job_id}").json()["progress"]["frames_done"] < 20:
        time.sleep(0.05)
    # Not ready while it runs.
    assert_error(http.get(job["urls"]["video"]), 409, "ready when it has ended")
    stopped = http.post(job["urls"]["stop"]).json()
    assert stopped["status"] == "stopped" and stopped["partial"] is True
    frames = stopped["summary"]["frames"]
    assert 20 <= frames < 377
    video = http.get(job["urls"]["video"])
    assert video_frames(video.content, tmp_path) == ("h264", frames)
    tracks = http.get(job["urls"]["tracks"]).json()
    assert len(tracks["frames"]) == tracks["video"]["frames"] == frames


def test_delete_removes_every_file(http: httpx.Client, settings: Settings, long_clip: Path):
    job = start_job(http, long_clip)
    folders = list(settings.output_dir.glob(f"job-{job['job_id']}"))
    inputs = list(settings.output_dir.glob(f".inputs/job-{job['job_id']}*"))
    assert folders and folders[0].is_dir() and inputs
    answer = http.delete(job["urls"]["delete"])
    assert answer.status_code == 200 and answer.json()["deleted"] is True
    assert not folders[0].exists() and not inputs[0].exists()
    assert_error(http.get(job["urls"]["status"]), 404, "No job")
    assert_error(http.get(job["urls"]["video"]), 404, "No job")


def test_a_full_queue_answers_503_with_retry_after(http: httpx.Client, long_clip: Path):
    running = start_job(http, long_clip)
    queued = start_job(http, long_clip)
    assert queued["status"] == "queued" and queued["queue_position"] == 1
    answer = post(http, PERSON, detector="yolox_nano")
    assert_error(answer, 503, "Try again in about")
    assert int(answer.headers["Retry-After"]) >= 5
    for job in (queued, running):
        http.delete(job["urls"]["delete"])


def test_a_stopped_job_lists_only_the_outputs_it_has(http: httpx.Client, long_clip: Path):
    running = start_job(http, long_clip)
    queued = start_job(http, PERSON)
    assert queued["status"] == "queued"
    cancelled = http.post(queued["urls"]["stop"]).json()
    assert cancelled["status"] == "cancelled" and cancelled["outputs"] == []
    assert http.get(queued["urls"]["status"]).json()["outputs"] == []
    stopped = http.post(running["urls"]["stop"]).json()
    assert stopped["status"] == "stopped" and stopped["outputs"]
    for name in stopped["outputs"]:
        assert http.get(running["urls"][name]).status_code == 200, name
    for job in (queued, running):
        http.delete(job["urls"]["delete"])


def disconnected_detect(server: str, settings: Settings, video: Path, *states: str):
    """``POST /detect`` whose client leaves once its job is in one of ``states``: the job."""
    from ui.jobs import job_store

    form = {"data": {"detector": "yolox_nano"},
            "files": {"video": (video.name, video.read_bytes(), "video/mp4")}}  # fmt: skip
    job = left_while(urljoin(server, "/detect"), settings, states, None, **form)
    return job_store(settings), job


def test_a_synchronous_job_whose_client_disconnects_is_stopped_and_deleted(
    http: httpx.Client, server: str, settings: Settings, long_clip: Path
) -> None:
    """Its id travels in the answer only: a job its client left, nobody else could name."""
    from pipeline.jobs import JobStatus

    def gone(job) -> bool:
        """Whether the job's record, folder and input are all deleted (within 30 s)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            files = job.folder.exists() or job.video.exists()
            if not files and all(j.id != job.id for j in jobs.all()):
                return True
            time.sleep(0.1)
        return False

    # Queued behind another job: it leaves the queue.
    running = start_job(http, long_clip)
    jobs, queued = disconnected_detect(server, settings, PERSON, JobStatus.QUEUED)
    assert queued.wait_until(lambda j: j.status.finished, timeout=10)
    assert queued.status is JobStatus.CANCELLED and gone(queued)
    http.delete(running["urls"]["delete"])
    # Running: it stops within about a frame, and is deleted.
    jobs, job = disconnected_detect(server, settings, long_clip, JobStatus.RUNNING)
    assert job.wait_until(lambda j: j.status.finished, timeout=30)
    assert job.status is JobStatus.STOPPED and job.frames_done < 377, job.status
    assert gone(job)


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"mode": "tracking"}, 422, "Unknown mode 'tracking'. Choose one of object_detection"),
        ({"confidence": "high"}, 422, "confidence must be a number, not 'high'"),
        ({"confidence": "1.5"}, 422, "Confidence must be between 0 and 1, not 1.5"),
        ({"detector": "yolo12"}, 422, "Unknown detector 'yolo12'. Available:"),
        ({"detector": "yolox_nano", "queries": "unicorn"}, 422, "does not know 'unicorn'"),
        ({"detector": "yolo11"}, 422, "Choose YOLOX-Nano (yolox_nano) instead"),
        ({"mode": "segmentation", "segmenter": "SAM4"}, 422, "Unknown segmenter 'SAM4'"),
        ({"mode": "segmentation", "segmenter": "SAM3"}, 422, "SAM3 finds what you describe"),
        ({"mode": "segmentation", "step": "0"}, 422, "step must be at least 1"),
        ({"mode": "segmentation", "segmenter": "GSAM2-S"}, 422, "enter text queries"),
        ({"depth": "maybe"}, 422, "depth must be true or false"),
        ({"counting": "{door"}, 422, "Lines and zones are not valid JSON"),
        ({"counting": ZONE_OF_TWO_POINTS}, 422, "Zone 'desk' needs at least three points"),
        ({"counting": LINE_OUTSIDE}, 422, "(900, 10) outside the 768x432 frame"),
        ({"counting": TWICE_NAMED}, 422, "The name 'door' is used twice"),
        ({"mode": "depth", "counting": DOOR}, 422, "for object_detection only"),
        ({"tracker": "nope"}, 422, "Unknown tracker 'nope'"),
        ({"mode": "segmentation", "tracker": "sort"}, 422, "for object_detection only"),
        ({"detector": "yolox_nano", "runtime": "torch"}, 422, "YOLOX-Nano cannot run on 'torch'"),
        ({"mode": "depth", "runtime": "openvino"}, 422, "for object_detection only"),
        ({"mode": "segmentation", "prompts": "{oops"}, 422, "The prompts are not valid JSON"),
        ({"prompts": '{"objects": [{"box": [0, 0, 9, 9]}]}'}, 422, "for segmentation only"),
        # A field the mode's config lacks would be dropped unread: the client is told instead.
        ({"step": "-5"}, 422, "step is for segmentation only, not object_detection."),
        ({"step": "1.5"}, 422, "step is for segmentation only, not object_detection."),
        ({"mode": "depth", "queries": "person"}, 422,
         "queries is for object_detection and segmentation only, not depth."),
        ({"confidance": "0.5", "sizee": "x"}, 422,
         "/detect/async has no form fields 'confidance', 'sizee'; /docs lists those it takes."),
    ],
)  # fmt: skip
def test_bad_form_values_are_one_clear_error_and_leave_nothing(
    http: httpx.Client, settings: Settings, form: dict, status: int, message: str
) -> None:
    before = stored(settings)
    assert_error(post(http, PERSON, **form), status, message)
    assert stored(settings) == before, "a refused request left files"


def test_uploads_that_are_not_a_video_too_large_or_missing(
    http: httpx.Client, settings: Settings, tmp_path: Path
) -> None:
    before = stored(settings)
    text = tmp_path / "holiday.mp4"
    text.write_text("this is not a video\n")
    assert_error(post(http, text), 415, "holiday.mp4 is not a readable video")
    # Its headers whole, its frames cut off: refused as unreadable, named as the client named it.
    cut = tmp_path / "trunc.mp4"
    cut.write_bytes(PERSON.read_bytes()[:10_000])
    for path in ("/detect", "/detect/async"):
        answer = post(http, cut, path=path, detector="yolox_nano")
        assert_error(answer, 415, "Could not decode trunc.mp4: ")
        assert "job-" not in answer.text
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (5 * 1024 * 1024))
    assert_error(post(http, big), 413, "larger than 4 MB")
    assert_error(http.post("/detect/async", data={"mode": "depth"}), 400, "field 'video'")
    assert stored(settings) == before


def test_an_uploaded_video_is_served_as_the_video_it_is(http: httpx.Client) -> None:
    """Gradio serves a type off its list of safe ones as an attachment of unknown bytes."""
    stream = b"\x47" + bytes(187)  # one empty MPEG-TS packet: the type comes from the name
    answer = http.post("/gradio_api/upload", files={"files": ("clip.ts", stream, "video/mp2t")})
    assert answer.status_code == 200, answer.text
    served = http.get(f"/gradio_api/file={answer.json()[0]}")
    assert served.status_code == 200 and served.content == stream
    assert served.headers["content-type"] == "video/mp2t"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert not served.headers.get("content-disposition", "").startswith("attachment")


def test_the_gradio_file_route_serves_a_job_s_outputs_never_its_input(
    http: httpx.Client, settings: Settings
) -> None:
    job = start_job(http, PERSON)
    wait_status(http, job["job_id"], "completed")
    inputs = list(settings.output_dir.glob(f".inputs/job-{job['job_id']}*"))
    assert inputs, "the upload is kept as the job's input"
    refused = http.get(f"/gradio_api/file={inputs[0]}")
    assert refused.status_code in (403, 404) and not refused.content.startswith(b"\0\0\0")
    output = settings.output_dir / f"job-{job['job_id']}" / "detections.mp4"
    served = http.get(f"/gradio_api/file={output}")
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
    assert served.headers["x-content-type-options"] == "nosniff"
    # Its summary names the weights by file, not by where the server keeps them.
    status = http.get(job["urls"]["status"]).text
    assert "yolox_nano.onnx" in status and str(REPO_ROOT) not in status
    http.delete(job["urls"]["delete"])


def test_gradio_s_upload_route_takes_no_more_than_the_upload_limit(
    http: httpx.Client, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (4 * 1024 * 1024 + 4096))
    with big.open("rb") as data:
        answer = http.post("/gradio_api/upload", files={"files": ("big.mp4", data, "video/mp4")})
    assert answer.status_code == 413, answer.text[:200]
    with PERSON.open("rb") as data:
        answer = http.post("/gradio_api/upload", files={"files": (PERSON.name, data, "video/mp4")})
    assert answer.status_code == 200 and answer.headers["x-content-type-options"] == "nosniff"


def test_a_counting_job_answers_its_counts_and_csv_tables(http: httpx.Client) -> None:
    counting = json.dumps(
        {
            "lines": [{"name": "door", "points": [[384, 0], [384, 432]]}],
            "zones": [{"name": "left", "points": [[0, 0], [384, 0], [384, 432], [0, 432]]}],
        }
    )
    job = start_job(http, PERSON, queries="person", counting=counting)
    status = wait_status(http, job["job_id"], "completed")
    counts = status["summary"]["counting"]
    assert set(counts["lines"]) == {"door"} and set(counts["zones"]) == {"left"}
    tracks_csv = http.get(job["urls"]["tracks_csv"])
    assert tracks_csv.status_code == 200 and tracks_csv.headers["content-type"].startswith(
        "text/csv"
    )
    rows = list(csv.DictReader(io.StringIO(tracks_csv.text)))
    assert len(rows) == status["summary"]["tracks"]
    assert sum(int(row["door in"]) for row in rows) == counts["lines"]["door"]["in_total"]
    # The person walks in from the left half: one visitor, seconds as the summary says.
    stays = counts["zones"]["left"]["seconds_by_track"]
    assert counts["zones"]["left"]["visitors"] >= 1 and sum(stays.values()) > 0
    for row in rows:
        assert float(row["left seconds"]) == stays.get(row["track_id"], 0.0)
    objects = http.get(job["urls"]["objects_csv"]).text.splitlines()
    tracks = http.get(job["urls"]["tracks"]).json()
    assert len(objects) - 1 == sum(len(frame["objects"]) for frame in tracks["frames"])
    assert tracks["counting"] == json.loads(counting)
    assert all("events" in frame for frame in tracks["frames"])


def test_unknown_jobs_and_frames(http: httpx.Client) -> None:
    for path in (
        "/detect/status/nope",
        "/detect/video/nope",
        "/detect/stream/nope",
        "/detect/tracks/nope/3",
        "/detect/first-frame-depth/nope",
    ):
        assert_error(http.get(path), 404, "No job")
    # A path that leaves the job's segment matches no route at all.
    assert http.get("/detect/first-frame/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert_error(http.post("/detect/stop/nope"), 404, "No job")
    assert_error(http.delete("/detect/job/nope"), 404, "No job")


def test_two_rest_jobs_and_a_tab_run_on_one_device_all_finish(
    http: httpx.Client, server: str, settings: Settings, tmp_path: Path
) -> None:
    from gradio_client import Client, handle_file

    results: dict[str, object] = {}

    def tab_run() -> None:
        client = Client(server, verbose=False, download_files=str(tmp_path))
        try:
            results["tab"] = client.predict(
                handle_file(str(PERSON)), "yolox_nano", "", "person", 0.3, api_name="/detect"
            )
        except Exception as exc:  # reported by the assertion below
            results["tab"] = exc

    from ui.jobs import job_store

    store = job_store(settings)  # the server runs in this process
    first = start_job(http, PERSON)
    tab = threading.Thread(target=tab_run)
    tab.start()
    # The tab run asks for the device while the first job has it...
    deadline = time.monotonic() + 30
    while not any(j.source == "app" for j in store.all()) and time.monotonic() < deadline:
        time.sleep(0.05)
    # ...and a second REST job comes after it (the queue holds one: it waits for room).
    second = None
    while second is None:
        answer = post(http, PERSON, detector="yolox_nano")
        second = answer.json() if answer.status_code == 202 else time.sleep(0.2)
    tab.join(timeout=120)
    for job in (first, second):
        status = wait_status(http, job["job_id"], "completed")
        assert status["summary"]["frames"] == PERSON_FRAMES
        tracks = http.get(job["urls"]["tracks"]).json()
        assert len(tracks["frames"]) == PERSON_FRAMES
    assert isinstance(results["tab"], tuple), results["tab"]
    _, status, video, tracks, _, summary = results["tab"]
    assert status.startswith(f"Done: {PERSON_FRAMES} frames")
    # The tab's run is a job of the same store, reachable over REST.
    rest = http.get(f"/detect/status/{summary['job_id']}").json()
    assert rest["status"] == "completed" and rest["source"] == "app"
    assert len(json.loads(Path(tracks).read_text())["frames"]) == PERSON_FRAMES


def test_the_docs_list_the_routes(http: httpx.Client) -> None:
    docs = http.get("/docs")
    assert docs.status_code == 200
    # Written by the app, needing nothing from outside (Swagger UI would load from a CDN).
    assert "/detect/async" in docs.text and "<script" not in docs.text
    assert "https://" not in docs.text
    # Gradio's own route that the API page asks for answers on this app too.
    assert http.get("/monitoring/summary").status_code == 200
    paths = set(http.get("/openapi.json").json()["paths"])
    assert {
        "/detect",
        "/detect/async",
        "/detect/status/{job_id}",
        "/detect/stream/{job_id}",
        "/detect/tracks/{job_id}/{frame_idx}",
    } <= paths
    assert not any(p.startswith("/gradio_api") for p in paths)


def test_every_field_on_the_docs_page_says_what_it_means(http: httpx.Client) -> None:
    import re

    schema = http.get("/openapi.json").json()
    unexplained = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            fields = {p["name"]: p for p in operation.get("parameters", [])}
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content["schema"].get("$ref", "")
                body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else {}
                fields.update(body.get("properties", {}))
            unexplained += [f"{method} {path} {name}" for name, field in fields.items()
                            if not field.get("description")]  # fmt: skip
    assert not unexplained, unexplained
    page = http.get("/docs").text
    # Markup is shown as code, never as its backticks or a Sphinx role.
    text = re.sub(r"<[^>]+>", "", page)
    assert "`" not in text and ":func:" not in text, re.findall(r".{30}[`:]func.{30}", text)
    assert "<code>/detect/async</code>" in page
    assert re.search(r"<code>detectors</code>.*?Detector names", page)


def test_the_readme_curl_session_against_python_app_py(tmp_path: Path) -> None:
    """The original session, word for word, against ``python app.py`` (curl, as a user runs it).

    YOLO11's weights cannot be downloaded here: its architecture file stands in
    (random weights, real compute), so the session runs as written.
    """
    import os
    import shutil
    import subprocess

    from serving import app_process

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    sample = tmp_path / "sample.mp4"
    shutil.copy(PERSON, sample)
    env = {
        **os.environ,
        "VIDEO_APP_OUTPUT_DIR": str(tmp_path / "jobs"),
        "YOLO11_WEIGHTS": "yolo11n.yaml",
    }

    def curl(*args: str) -> bytes:
        done = subprocess.run(
            ["curl", "-sS", *args], cwd=tmp_path, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with app_process(env, tmp_path / "app.log") as url:
        base = url.rstrip("/")
        started = json.loads(
            curl("-X", "POST", f"{base}/detect/async", "-F", "video=@sample.mp4",
                 "-F", "mode=object_detection", "-F", "queries=person,car",
                 "-F", "detector=yolo11")
        )  # fmt: skip
        job_id = started["job_id"]
        deadline = time.monotonic() + 120
        while (status := json.loads(curl(f"{base}/detect/status/{job_id}")))["status"] != (
            "completed"
        ):
            assert status["status"] in ("queued", "running"), status
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["summary"]["model"]["name"] == "yolo11"
        curl("-o", "result.mp4", f"{base}/detect/video/{job_id}")
        with av.open(str(tmp_path / "result.mp4")) as container:
            assert sum(1 for _ in container.decode(container.streams.video[0])) == PERSON_FRAMES
        tracks = json.loads(curl(f"{base}/detect/tracks/{job_id}"))
        assert len(tracks["frames"]) == PERSON_FRAMES
        assert json.loads(curl(f"{base}/detect/tracks/{job_id}/42"))["frame"] == 42
        stream = curl("--max-time", "10", f"{base}/detect/stream/{job_id}")
        assert stream.count(b"Content-Type: image/jpeg") >= 1 and stream.endswith(b"--frame--\r\n")


def test_depth_results_of_depth_jobs_and_of_detection_with_depth(
    http: httpx.Client, tiny_depth_weights: Path, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DEPTH_ANYTHING_WEIGHTS", str(tiny_depth_weights))
    monkeypatch.delenv("DEPTH_ANYTHING_V2_SMALL_WEIGHTS", raising=False)
    depth_job = {"mode": "depth"}  # no detector: the form refuses one a depth job ignores
    with_depth = {"mode": "object_detection", "detector": "yolox_nano", "depth": "true"}
    for form in (depth_job, with_depth):
        answer = post(http, PERSON, **form)
        assert answer.status_code == 202, answer.text
        job = answer.json()
        wait_status(http, job["job_id"], "completed")
        first = http.get(job["urls"]["first_frame_depth"])
        assert first.status_code == 200 and first.content.startswith(JPEG)
        depth_video = http.get(job["urls"]["depth_video"])
        assert video_frames(depth_video.content, tmp_path) == ("h264", PERSON_FRAMES)
    plain = start_job(http, PERSON)
    wait_status(http, plain["job_id"], "completed")
    assert_error(http.get(plain["urls"]["depth_video"]), 404, "measures no depth")
    assert_error(http.get(plain["urls"]["first_frame_depth"]), 404, "measures no depth")


# --- paths, heat map, privacy and speed as form fields (synthetic clip) ----------------

AFTER_RED = MovingShape("red", (10, 20), (4, 0))
#: The whole 320x240 frame as 32 m x 24 m: red moves 4 px (0.4 m) a frame at 25 fps, 36 km/h.
AFTER_AREA, AFTER_WIDTH_M, AFTER_LENGTH_M = "0,0, 320,0, 320,240, 0,240", 32, 24


@pytest.fixture(scope="module")
def shapes_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("after-rest") / "shapes.mp4"
    return synthetic.make_video(path, 30, 320, 240, 25, shapes=(AFTER_RED,))


def test_a_job_with_paths_heat_privacy_and_speed_answers_its_heatmap(
    http: httpx.Client, shapes_clip: Path
) -> None:
    form = {
        "detector": "test_shapes", "paths": "true", "heatmap": "true", "privacy": "blur",
        "privacy_classes": "red", "slicing": "false", "speed_area": AFTER_AREA,
        "speed_area_size": f"{AFTER_WIDTH_M},{AFTER_LENGTH_M}",
    }  # fmt: skip
    answer = post(http, shapes_clip, **form)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    status = wait_status(http, job["job_id"], "completed")
    assert status["summary"]["privacy"] == {"style": "blur", "classes": ["red"]}
    heatmap = http.get(job["urls"]["heatmap"])
    assert heatmap.status_code == 200 and heatmap.content.startswith(b"\x89PNG")
    assert heatmap.headers["content-type"] == "image/png"
    tracks = http.get(job["urls"]["tracks"]).json()
    assert {o["speed_kmh"] for f in tracks["frames"][2:] for o in f["objects"]} == {36.0}
    tracks_csv = http.get(job["urls"]["tracks_csv"]).text.splitlines()
    assert tracks_csv[0].endswith("mean_speed_kmh,max_speed_kmh")
    bad = post(http, shapes_clip, detector="test_shapes", speed_area=AFTER_AREA)
    assert_error(bad, 422, "needs its size in metres")
    plain = post(http, shapes_clip, detector="test_shapes").json()
    wait_status(http, plain["job_id"], "completed")
    assert_error(http.get(plain["urls"]["heatmap"]), 404, "without this result")
