"""The REST API under abuse, over real HTTP: every cost capped before it is paid, no 500.

The REST app alone (no Gradio page) on uvicorn, with its own job store and low
limits, so that each finding is tested at a small scale.
"""

from __future__ import annotations

import json
import mimetypes
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import synthetic
import uvicorn
from job_helpers import settings_store
from serving import free_port
from starlette.testclient import TestClient
from test_video_limits import raw_h264

from pipeline import DetectionConfig
from pipeline.jobs import JobStore
from pipeline.stages.counting import MAX_SHAPES
from ui.rest import build_rest_app
from ui.rest.guard import RequestGuard
from ui.settings import Settings

TOKEN = "s3cret-token"
LIMIT_MB = 1


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        output_dir=tmp_path_factory.mktemp("rest-limits"),
        max_upload_mb=LIMIT_MB,
        max_duration_s=1.0,
        max_pixels=100_000,
        max_queued_jobs=4,
        max_queued_per_client=1,
        max_benchmark_rows=4,
        max_query_chars=100,
    )


@pytest.fixture(scope="module")
def store(settings: Settings) -> Iterator[JobStore]:
    with settings_store(settings) as jobs:
        yield jobs


def serve(settings: Settings, store: JobStore) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_rest_app(settings, store), host="127.0.0.1", port=port,
                       log_level="warning")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(settings: Settings, store: JobStore) -> Iterator[str]:
    yield from serve(settings, store)


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rest-limits-clip")
    return synthetic.make_video(folder / "clip.mp4", frames=10, width=160, height=128)


@pytest.fixture(scope="module")
def job_id(store: JobStore, clip: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A finished detection job, submitted to the store directly."""
    copy = tmp_path_factory.mktemp("upload") / "clip.mp4"
    shutil.copy(clip, copy)
    job = store.submit(copy, DetectionConfig(detector="test_shapes"))
    assert job.wait_until(lambda j: j.status.finished, timeout=60)
    return job.id


def assert_short_error(answer: httpx.Response, status: int, message: str) -> None:
    assert answer.status_code == status, answer.text[:300]
    body = answer.json()
    assert set(body) == {"error", "status"} and message in body["error"], body
    assert len(answer.text) < 600 and "Traceback" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "index",
    ["①", "9" * 5000, "١٢", "1e3", "--1"],
    ids=["circled", "5000-digits", "arabic", "exp", "dashes"],
)
def test_a_frame_index_that_is_no_whole_number_is_a_422(
    http: httpx.Client, job_id: str, index: str
) -> None:
    answer = http.get(f"/detect/tracks/{job_id}/{index}")
    assert_short_error(answer, 422, "The frame index must be a whole number")


def test_an_unknown_job_id_of_kilobytes_is_a_404_that_does_not_echo_it(
    http: httpx.Client,
) -> None:
    long_id = "a" * 8000
    for method, path in [
        ("GET", f"/detect/status/{long_id}"), ("DELETE", f"/detect/job/{long_id}"),
        ("POST", f"/detect/stop/{long_id}"), ("GET", f"/detect/tracks/{long_id}/1"),
        ("GET", f"/benchmark/trace/{long_id}"),
    ]:  # fmt: skip
        assert_short_error(http.request(method, path), 404, "No job 'aaaa")


def test_a_frame_index_within_range_is_answered(http: httpx.Client, job_id: str) -> None:
    answer = http.get(f"/detect/tracks/{job_id}/3")
    assert answer.status_code == 200 and answer.json()["frame"] == 3


def post_video(http: httpx.Client, video: Path, **form: str) -> httpx.Response:
    with video.open("rb") as data:
        return http.post(
            "/detect/async", files={"video": (video.name, data, "video/mp4")},
            data={"detector": "test_shapes", **form},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("counting", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"lines": [{"name": "a", "points": [[1e400, 0], [1, 1]]}]}', "must be finite"),
        ('{"lines": [{"name": "a", "points": [[' + "7" * 4000 + ", 0], [1, 1]]}]}",
         "too long to be one"),
        (json.dumps({"lines": [{"name": f"l{i}", "points": [[0, 0], [1, 1]]}
                               for i in range(MAX_SHAPES + 1)]}), "the limit is"),
        (json.dumps({"lines": [{"name": "n" * 90_000, "points": [[0, 0], [1, 1]]}]}),
         "is not a valid name"),
    ],
    ids=["nested", "1e400", "4000-digits", "too-many-lines", "long-name"],
)  # fmt: skip
def test_counting_past_the_limits_is_a_422(
    http: httpx.Client, clip: Path, counting: str, message: str
) -> None:
    assert_short_error(post_video(http, clip, counting=counting), 422, message)


def test_a_long_queries_value_is_refused_and_never_echoed(http: httpx.Client, clip: Path) -> None:
    answer = post_video(http, clip, queries="person," * 30_000)
    assert_short_error(answer, 422, "the limit is 100")
    # A megabyte: past what a form field may be at all.
    assert_short_error(post_video(http, clip, queries="p" * (2**20 + 10)), 400, "maximum size")


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"detector": "x" * 500_000}, "detector is 500000 characters long; the limit is 40"),
        ({"tracker": "x" * 41}, "the limit is 40"),
        ({"runtime": "x" * 500_000}, "the limit is 40"),
        ({"detect_every": "x" * 500_000}, "the limit is 40"),
        ({"privacy": "x" * 500_000}, "the limit is 40"),
        ({"mode": "segmentation", "segmenter": "x" * 500_000}, "the limit is 40"),
        ({"privacy": "blur", "privacy_classes": "a," * 250_000}, "the limit is 100"),
        ({"speed": "true", "speed_area": "1," * 250_000}, "the limit is 200"),
        ({"speed": "true", "speed_area": "0,0,9,0,9,9,0,9", "speed_area_size": "1" * 500_000},
         "the limit is 200"),
    ],
    ids=["detector", "tracker", "runtime", "detect_every", "privacy", "segmenter",
         "privacy_classes", "speed_area", "speed_area_size"],
)  # fmt: skip
def test_a_long_text_field_is_refused_and_never_echoed(
    http: httpx.Client, clip: Path, form: dict[str, str], message: str
) -> None:
    answer = post_video(http, clip, **form)
    assert_short_error(answer, 422, message)
    assert "x" * 50 not in answer.text and "a," * 50 not in answer.text


@pytest.mark.parametrize(
    "prompts",
    ["[" * 40_000 + "]" * 40_000, '{"frame": ' + "9" * 5000 + ', "objects": []}',
     '{"objects": [{"points": [[1e400, 1, 1]]}]}'],
    ids=["nested", "5000-digits", "1e400"],
)  # fmt: skip
def test_prompts_past_the_limits_are_a_422(http: httpx.Client, clip: Path, prompts: str) -> None:
    answer = post_video(http, clip, mode="segmentation", prompts=prompts)
    assert_short_error(answer, 422, "The prompts")


def test_too_large_a_frame_is_refused_from_its_headers(
    http: httpx.Client, tmp_path: Path
) -> None:
    big = synthetic.make_video(tmp_path / "big.mp4", frames=3, width=400, height=320)
    assert_short_error(post_video(http, big), 422, "the limit is 100,000 pixels")


def test_a_raw_h264_stream_over_the_duration_limit_is_refused(
    http: httpx.Client, tmp_path: Path
) -> None:
    stream = raw_h264(tmp_path / "long.h264", frames=60, fps=25)
    assert_short_error(post_video(http, stream), 422, "the limit is 1 s")


@pytest.mark.parametrize(
    "max_frames", ["①", "9" * 5000, "1e400", "-3"], ids=["circled", "5000-digits", "1e400", "neg"]
)
def test_benchmark_max_frames_that_is_no_number_is_a_422(
    http: httpx.Client, max_frames: str
) -> None:
    answer = http.post("/benchmark", data={"detectors": "test_shapes", "max_frames": max_frames})
    assert answer.status_code == 422, answer.text[:300]
    assert len(answer.text) < 600


def test_a_benchmark_grid_over_the_row_limit_is_refused(http: httpx.Client) -> None:
    batch_sizes = ",".join(map(str, range(1, 41)))
    answer = http.post("/benchmark", data={"detectors": "yolox_nano", "batch_sizes": batch_sizes})
    assert_short_error(answer, 422, "40 combinations; the limit is 4")


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/benchmark", {"detectors": "x" * 100_000}),
        ("/benchmark", {"detectors": "yolox_nano", "runtimes": "x" * 100_000}),
        ("/benchmark", {"detectors": "yolox_nano", "batch_sizes": "x" * 100_000}),
        ("/benchmark", {"detectors": "yolox_nano", "devices": "cpu; " + "x" * 100_000}),
        ("/benchmark/profile", {"detector": "x" * 100_000}),
        ("/benchmark/profile", {"device": "x" * 100_000}),
        ("/benchmark/profile", {"batch_size": "x" * 100_000}),
    ],
    ids=["detectors", "runtimes", "batch_sizes", "devices", "profile-detector",
         "profile-device", "profile-batch"],
)  # fmt: skip
def test_a_benchmark_s_long_name_is_refused_and_never_echoed(
    http: httpx.Client, path: str, form: dict[str, str]
) -> None:
    assert_short_error(http.post(path, data=form), 422, "100000 characters long")


def test_benchmark_analysis_of_rows_with_long_names_is_a_422(http: httpx.Client) -> None:
    row = {
        "detector": "x" * 100_000, "size": None, "runtime": None, "devices": ["cpu"],
        "batch_size": 1, "end_to_end_fps": 10.0, "stage_ms_per_frame": {"model": 5.0},
    }  # fmt: skip
    answer = http.post("/benchmark/analysis", json={"rows": [row]})
    assert_short_error(answer, 422, "longer than 40 characters")
    row = {**row, "detector": "yolox_nano", "devices": ["x" * 100_000]}
    assert_short_error(http.post("/benchmark/analysis", json={"rows": [row]}), 422, "Row 0")


def test_a_vast_benchmark_grid_is_refused_before_its_combinations_are_walked(
    http: httpx.Client,
) -> None:
    """3000 sizes by 3000 batch sizes: nine million combinations, never built one by one."""
    numbers = ",".join(map(str, range(1, 3001)))
    answer = http.post(
        "/benchmark", data={"detectors": "yolox_nano", "sizes": numbers, "batch_sizes": numbers}
    )
    assert_short_error(answer, 422, "9000000 combinations; the limit is 4")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rows": [1, 2]}, "Row 0 is not a benchmark's row"),
        ({"rows": [{"detector": "x"}]}, "lacks size"),
        ({"rows": [{"detector": "x", "size": None, "runtime": None, "devices": "cpu",
                    "batch_size": 1, "end_to_end_fps": "fast", "stage_ms_per_frame": 3}]},
         "wrong kind"),
        ({"rows": [{}] * 5}, "at most 4"),
        ({"rows": [{}], "video_seconds": "①"}, "video_seconds must be a number, not '①'"),
        ([1, 2, 3], "The body must be a JSON object ({...}), not a list."),
        ("rows", "The body must be a JSON object ({...}), not text."),
    ],
)  # fmt: skip
def test_benchmark_analysis_of_rows_that_are_not_a_benchmark_s_is_a_422(
    http: httpx.Client, body: object, message: str
) -> None:
    assert_short_error(http.post("/benchmark/analysis", json=body), 422, message)


def test_a_json_body_past_a_megabyte_is_refused(http: httpx.Client) -> None:
    answer = http.post("/benchmark/analysis", json={"rows": ["x" * 2**20]})
    assert_short_error(answer, 413, "larger than 1024 KB")


def test_benchmark_analysis_of_a_bad_video_length_is_a_422(http: httpx.Client) -> None:
    row = {
        "detector": "x", "size": None, "runtime": None, "devices": ["cpu"], "batch_size": 1,
        "end_to_end_fps": 10.0, "stage_ms_per_frame": {"model": 5.0},
    }  # fmt: skip
    answer = http.post("/benchmark/analysis", json={"rows": [row], "video_seconds": "9" * 5000})
    assert_short_error(answer, 422, "video_seconds must be a")
    assert http.post("/benchmark/analysis", json={"rows": [row]}).status_code == 200


def test_benchmark_analysis_answers_the_example_its_docs_show(http: httpx.Client) -> None:
    route = http.get("/openapi.json").json()["paths"]["/benchmark/analysis"]["post"]
    example = route["requestBody"]["content"]["application/json"]["schema"]["examples"][0]
    answer = http.post("/benchmark/analysis", json=example)
    assert answer.status_code == 200, answer.text
    assert answer.json()["expected_seconds"] > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"rows": [], "video_seconds": 60}',
         "There are no benchmark results to analyse: run a benchmark first."),
        (b"", 'Send the results of a benchmark as JSON: {"rows": [...]}.'),
        (b'{"video_seconds": 60}', 'Send the results of a benchmark as JSON: {"rows": [...]}.'),
        (b"garbage{", "The body is not valid JSON (Expecting value at character 0)."),
        (b'{"rows": [', "The body is not valid JSON (Expecting value at character 10)."),
    ],
    ids=["no-rows", "no-body", "no-rows-key", "garbage", "cut-off"],
)  # fmt: skip
def test_benchmark_analysis_without_rows_or_json_says_so_in_one_sentence(
    http: httpx.Client, content: bytes, message: str
) -> None:
    json_type = {"Content-Type": "application/json"}
    answer = http.post("/benchmark/analysis", content=content, headers=json_type)
    assert_short_error(answer, 422, message)
    assert answer.json()["error"] == message


def test_an_upload_s_long_name_is_cut_and_the_reason_still_said(
    http: httpx.Client, tmp_path: Path
) -> None:
    text = tmp_path / "text.mp4"
    text.write_text("this is not a video\n")
    with text.open("rb") as data:
        answer = http.post(
            "/detect/async", files={"video": ("a" * 3000 + ".mp4", data, "video/mp4")},
            data={"detector": "test_shapes"},
        )  # fmt: skip
    assert_short_error(answer, 415, "a… is not a readable video (")
    assert "a" * 50 not in answer.text


@pytest.mark.parametrize("path", ["/detect", "/detect/async", "/benchmark"])
def test_a_video_sent_as_text_gets_the_message_of_no_video(http: httpx.Client, path: str) -> None:
    """``curl -F video=hello``: a form field without a file name is text, not a file."""
    answer = http.post(path, files={"video": (None, "hello")})
    assert_short_error(answer, 400, "Send the video as the multipart form field 'video'.")


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("/detect/async", {"confidance": "5", "sizee": "x"},
         "/detect/async has no form fields 'confidance', 'sizee'; /docs lists those it takes."),
        ("/detect", {"confidance": "5"}, "/detect has no form field 'confidance'; /docs lists"),
        ("/benchmark", {"detectorz": "test_shapes"}, "/benchmark has no form field 'detectorz'"),
        ("/benchmark/profile", {"batch": "2"}, "/benchmark/profile has no form field 'batch'"),
        ("/detect/async", {f"{i:02}" + "x" * 200: "1" for i in range(20)},
         "'04xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… and 15 more; /docs"),
    ],
    ids=["async", "sync", "benchmark", "profile", "many-long"],
)  # fmt: skip
def test_a_form_field_the_route_does_not_take_is_refused_by_name(
    http: httpx.Client, store: JobStore, clip: Path, path: str, form: dict, message: str
) -> None:
    """A misspelt setting would be dropped unread: the run made without it, no word said."""
    before = {job.id for job in store.all()}
    with clip.open("rb") as data:
        answer = http.post(
            path, files={"video": (clip.name, data, "video/mp4")},
            data={"detector": "test_shapes", **form} if path.startswith("/detect") else form,
        )  # fmt: skip
    assert_short_error(answer, 422, message)
    assert "x" * 50 not in answer.text
    assert {job.id for job in store.all()} == before


def raw_request(server: str, head: str, body_chunks: Iterator[bytes] | None = None) -> bytes:
    """Send a request by hand (its body as given), then read what the server answers."""
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks or ():
                sock.sendall(chunk)
        except OSError:  # the server answered and closed: read its answer
            pass
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"}" in answer:
                break
        return answer


def test_a_declared_length_over_the_limit_is_refused_at_once(server: str) -> None:
    head = (
        "POST /detect/async HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000000\r\n\r\n"
    )
    answer = raw_request(server, head)  # not a byte of the body sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"larger than 1 MB" in answer


def test_a_chunked_body_is_counted_as_it_streams_and_stopped_past_the_limit(
    server: str, settings: Settings
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        part = b"--b\r\nContent-Disposition: form-data; name=\"video\"; filename=\"v.mp4\"\r\n\r\n"
        yield f"{len(part):x}\r\n".encode() + part + b"\r\n"
        block = b"\0" * 65536
        for _ in range(LIMIT_MB * 16 * 64):  # 64 times the limit, if it were all taken
            sent += len(block)
            yield f"{len(block):x}\r\n".encode() + block + b"\r\n"

    head = (
        "POST /detect/async HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer = raw_request(server, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The server stopped reading: what the client got out is the limit and the
    # sockets' buffers, not the body.
    assert sent < 64 * LIMIT_MB * 2**20
    spooled = sum(p.stat().st_size for p in settings.output_dir.rglob("*") if p.is_file())
    assert spooled < 2 * LIMIT_MB * 2**20


def test_one_client_holds_at_most_its_share_and_others_still_get_places(
    http: httpx.Client, store: JobStore, clip: Path, tmp_path: Path
) -> None:
    # The store's one device is busy for a while with a slow job of someone else's.
    busy = tmp_path / "busy.mp4"
    shutil.copy(clip, busy)
    slow = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 1.0),))
    running = store.submit(busy, slow)
    mine = post_video(http, clip)  # waits: this client's one place
    refused = post_video(http, clip)  # a second place: not this client's to take
    with clip.open("rb") as data:
        other = http.post(
            "/detect/async", files={"video": ("clip.mp4", data, "video/mp4")},
            data={"detector": "test_shapes"}, headers={"X-Forwarded-For": "203.0.113.7"},
        )  # fmt: skip
    for answer in (mine, other):
        if answer.status_code == 202:
            http.delete(f"/detect/job/{answer.json()['job_id']}")
    store.delete(running.id)
    assert mine.status_code == 202 and mine.json()["status"] == "queued", mine.text
    assert_short_error(refused, 429, "the most one client may")
    assert int(refused.headers["retry-after"]) > 0
    assert other.status_code == 202 and other.json()["queue_position"] == 2, other.text


def test_delete_answers_once_the_job_is_gone(http: httpx.Client, clip: Path) -> None:
    answer = post_video(http, clip)
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    assert http.delete(f"/detect/job/{job_id}").json() == {"job_id": job_id, "deleted": True}
    assert http.get(f"/detect/status/{job_id}").status_code == 404


def test_with_an_access_token_every_rest_route_needs_it(
    settings: Settings, store: JobStore, job_id: str
) -> None:
    guarded = Settings(**{**settings.__dict__, "access_token": TOKEN})
    for url in serve(guarded, store):
        with httpx.Client(base_url=url, timeout=30) as client:
            for path in (f"/detect/status/{job_id}", "/gpu-monitor", "/benchmark/hardware"):
                assert_short_error(client.get(path), 401, "access token")
                wrong = client.get(path, headers={"Authorization": "Bearer nope"})
                assert wrong.status_code == 401
                right = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
                assert right.status_code == 200, right.text
            assert client.get("/openapi.json").status_code == 200  # the docs stay open


def test_answers_name_no_server_path_or_host(http: httpx.Client, job_id: str) -> None:
    # The job's random id (in its urls too) may hold a short host name's letters by chance.
    status = http.get(f"/detect/status/{job_id}").text.replace(job_id, "")
    monitor = http.get("/gpu-monitor").text
    for text in (status, monitor):
        assert socket.gethostname() not in text
    assert "/tmp/" not in status and str(Path.home()) not in status


async def answer_ok(scope, receive, send) -> None:
    """An ASGI app behind the guard: reads the whole body, then answers 200 ``ok``."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_token_guards_mcp_and_gradio_client_s_calls_but_not_the_page(
    settings: Settings,
) -> None:
    guarded = RequestGuard(answer_ok, Settings(**{**settings.__dict__, "access_token": TOKEN}))
    client_call = {"x-gradio-user": "api"}
    with TestClient(guarded) as client:
        assert client.post("/gradio_api/mcp/", json={}).status_code == 401
        refused = client.post("/gradio_api/queue/join", json={}, headers=client_call)
        assert refused.status_code == 401
        authorised = {**client_call, "Authorization": f"Bearer {TOKEN}"}
        assert client.post("/gradio_api/queue/join", json={}, headers=authorised).status_code == 200
        page = client.post("/gradio_api/queue/join", json={})
        assert page.status_code == 200 and page.headers["x-content-type-options"] == "nosniff"
        assert client.get("/").status_code == 200


def test_video_files_are_served_as_what_they_are(server: str) -> None:
    """Python's own table names a ``.ts`` file Qt's translation source."""
    assert mimetypes.guess_type("upload.ts")[0] == "video/mp2t"
    assert mimetypes.guess_type("upload.mkv")[0] == "video/x-matroska"


def test_format_checks_run_a_few_at_a_time_off_the_event_loop(
    store: JobStore, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of uploads waits for turns at the check rather than probing all at once."""
    import io

    from starlette.datastructures import UploadFile

    from ui.rest import routes

    limits = Settings(output_dir=tmp_path, format_checks=2)
    at_once, most = 0, 0
    lock = threading.Lock()

    def check_video(path: Path, video_limits: object) -> None:
        nonlocal at_once, most
        with lock:
            at_once += 1
            most = max(most, at_once)
        time.sleep(0.2)
        with lock:
            at_once -= 1

    monkeypatch.setattr(routes, "check_video", check_video)
    data = clip.read_bytes()

    def upload() -> None:
        path = routes.store_upload(
            store, UploadFile(io.BytesIO(data), filename="clip.mp4"), limits, None
        )
        path.unlink()

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most == 2


def test_gradio_s_json_bodies_are_held_to_a_few_megabytes_mcp_s_to_the_upload_limit(
    settings: Settings,
) -> None:
    """The page's queue carries file references and webcam frames, never a gigabyte of JSON."""
    from ui.rest.guard import JSON_BODY_BYTES

    guarded = RequestGuard(answer_ok, Settings(**{**settings.__dict__, "max_upload_mb": 100}))
    body = b'{"data": ["' + b"a" * JSON_BODY_BYTES + b'"]}'
    json_type = {"Content-Type": "application/json"}
    with TestClient(guarded) as client:
        for path in ("/gradio_api/queue/join", "/gradio_api/run/predict"):
            assert_short_error(client.post(path, content=body, headers=json_type), 413, "16 MB")
            small = client.post(path, content=b'{"data": []}', headers=json_type)
            assert small.status_code == 200
        # A tool call may carry a short clip as a data: URL: the upload limit holds there.
        assert client.post("/gradio_api/mcp/", content=body, headers=json_type).status_code == 200
