"""The app as API clients use it: gradio_client against a launched server on 127.0.0.1.

Runs the real YOLOX-Nano on the real TUD-Campus clip (71 frames, 640x480).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import av
import gradio as gr
import numpy as np
import pytest
import synthetic
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from serving import free_port, served, served_server, stop_process
from synthetic import MovingShape, StripedShape

from ui import build_demo
from ui.settings import Settings
from ui.streaming import STOPPING
from ui.tabs.detection import DetectionHandlers

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAMES, WIDTH, HEIGHT = 71, 640, 480
PIPELINE_THREADS = ("decoder", "encoder", "detection-in-order", "worker-")


#: The Detection tab's paths, heat map, privacy, slicing and speed inputs, in order.
AFTER_COUNTING_PARAMETERS = [
    "paths", "heatmap", "heatmap_overlay", "privacy", "privacy_style", "privacy_classes",
    "slicing", "slice_size", "speed", "speed_area", "speed_area_width_m", "speed_area_length_m",
]  # fmt: skip


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(PIPELINE_THREADS)]


@pytest.fixture(scope="module")
def clip(tud_campus_video: Path) -> Path:
    return tud_campus_video


@pytest.fixture(scope="module")
def app_env(tmp_path_factory, yolox_weights: Path, tiny_depth_weights: Path) -> Iterator[Path]:
    """Real YOLOX-Nano weights, a tiny random Depth Anything, a private output root."""
    output_root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YOLOX_NANO_WEIGHTS", str(yolox_weights))
        mp.setenv("DEPTH_ANYTHING_WEIGHTS", str(tiny_depth_weights))
        mp.setenv("MODELS_CACHE_DIR", str(tmp_path_factory.mktemp("models-cache")))
        mp.delenv("YOLO11_WEIGHTS", raising=False)
        mp.setenv("VIDEO_APP_OUTPUT_DIR", str(output_root))
        yield output_root


@pytest.fixture(scope="module")
def server(app_env: Path) -> Iterator[str]:
    with served_server(Settings.from_env()) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str, tmp_path_factory) -> Client:
    return Client(server, verbose=False, download_files=str(tmp_path_factory.mktemp("client")))


@pytest.fixture(scope="module")
def detect_run(client: Client, clip: Path) -> list[tuple]:
    """Every output of one /detect run with YOLOX-Nano over the clip."""
    job = client.submit(handle_file(str(clip)), "yolox_nano", "", "person", 0.3, api_name="/detect")
    outputs = list(job)
    assert job.status().success, job.status()
    return outputs


def test_api_lists_named_endpoints(client: Client) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    endpoints = api["named_endpoints"]
    assert {"/detect", "/first_frame"} <= set(endpoints)
    assert [p["parameter_name"] for p in endpoints["/detect"]["parameters"]] == [
        "video",
        "detector",
        "size",
        "queries",
        "confidence",
        "object_depth",
        "counting",
        "tracker",
        "runtime",
        *AFTER_COUNTING_PARAMETERS,
        "detect_every",
    ]
    assert len(endpoints["/detect"]["returns"]) == 6
    # The first frame takes the run's request (ui.endpoints): the same parameters.
    assert endpoints["/first_frame"]["parameters"] == endpoints["/detect"]["parameters"]
    # Every output is named, and only what has no default must be given: a run's video
    # (the benchmark's is the example clip when left out) and the results to analyse.
    for name, endpoint in endpoints.items():
        labels = [answer.get("label") or "" for answer in endpoint["returns"]]
        assert not any(label.startswith("value_") for label in labels), (name, labels)
    required = {
        name: [p["parameter_name"] for p in endpoint["parameters"]
               if not p["parameter_has_default"]]
        for name, endpoint in endpoints.items()
    }  # fmt: skip
    assert {name for name, params in required.items() if params == ["video"]} == {
        "/detect", "/first_frame", "/depth", "/first_frame_depth", "/segment",
        "/first_frame_segment",
    }  # fmt: skip
    assert required["/benchmark_analysis"] == ["results"]
    assert all(not params for name, params in required.items() if name.startswith("/benchmark")
               and name != "/benchmark_analysis")  # fmt: skip


def test_detect_streams_previews_before_the_result(detect_run: list[tuple]) -> None:
    *streamed, final = detect_run
    previews = [out for out in streamed if out[0] is not None]
    assert previews, "no preview frame was streamed before the result"
    assert all(out[2] is None for out in streamed), "the video came before the run ended"
    with Image.open(previews[-1][0]) as image:
        assert image.size == (WIDTH, HEIGHT)
    assert any("Processing" in out[1] for out in streamed)
    preview, status, video, tracks, tables, summary = final
    assert preview is not None
    assert status.startswith("Done: 71 frames")
    assert summary["frames"] == FRAMES
    assert summary["tracks_per_class"].get("person", 0) >= 1


def test_detect_returns_playable_h264(detect_run: list[tuple]) -> None:
    video = detect_run[-1][2]
    with av.open(video) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
        assert stream.codec_context.pix_fmt == "yuv420p"  # What browsers play.
        assert sum(1 for _ in container.decode(stream)) == FRAMES


def test_detect_returns_tracks_json(detect_run: list[tuple]) -> None:
    data = json.loads(Path(detect_run[-1][3]).read_text())
    assert len(data["frames"]) == FRAMES
    objects = [obj for frame in data["frames"] for obj in frame["objects"]]
    assert objects and {obj["class"] for obj in objects} == {"person"}


def test_detect_with_object_depth_adds_depth_to_tracks(client: Client, clip: Path) -> None:
    """The Detection tab's depth option, through the API (tiny random depth weights)."""
    job = client.submit(
        handle_file(str(clip)), "yolox_nano", "", "person", 0.3, True, api_name="/detect"
    )
    *_, last = list(job)
    data = json.loads(Path(last[3]).read_text())
    objects = [obj for frame in data["frames"] for obj in frame["objects"]]
    assert objects and all("depth" in obj for obj in objects)
    order = last[5]["near_to_far"]
    assert [o["depth"] for o in order] == sorted((o["depth"] for o in order), reverse=True)
    assert "Near to far" in last[1]


def test_finished_outputs_stay_for_download(detect_run: list[tuple], app_env: Path) -> None:
    assert {p.name for p in files_under(app_env)} >= {"detections.mp4", "tracks.json"}


def test_first_frame_answers_with_an_image(client: Client, clip: Path) -> None:
    # Keyword arguments; size, queries and confidence left to their defaults.
    path = client.predict(
        video=handle_file(str(clip)), detector="yolox_nano", api_name="/first_frame"
    )
    with Image.open(path) as image:
        assert image.size == (WIDTH, HEIGHT)
        assert np.asarray(image).std() > 0


@pytest.mark.parametrize(
    ("detector", "queries", "message"),
    [
        ("no_such_model", "", "Unknown detector 'no_such_model'. Available: "),
        ("yolox_nano", "unicorn", "does not know 'unicorn'"),
        # Offline, nothing cached: short, what to do, the detector at hand named.
        ("yolo11", "", r"^Could not load the weights of YOLO11-m \(no network connection, and "
         r"not cached on this machine\)\. Choose YOLOX-Nano \(yolox_nano\) instead, or set "
         r"YOLO11_WEIGHTS to local weights\.$"),
    ],
    ids=["unknown-detector", "unknown-class", "missing-weights"],
)
def test_bad_requests_are_clear_errors(
    client: Client, clip: Path, app_env: Path, detector: str, queries: str, message: str
) -> None:
    before = files_under(app_env)
    # show_error is off: only gr.Error messages reach the client, so this checks the mapping.
    with pytest.raises(AppError, match=message) as info:
        client.predict(handle_file(str(clip)), detector, "", queries, 0.3, api_name="/detect")
    assert "yolox_nano" in str(info.value) or detector != "no_such_model"
    assert files_under(app_env) == before, "a failed run left files behind"


def test_a_number_that_is_text_is_a_clear_error(client: Client, clip: Path) -> None:
    # Refused by the component itself, before the handler: said by name, not as
    # Gradio's bare "the upstream app has raised an exception".
    with pytest.raises(AppError, match="Confidence.* must be a number, not 'abc'"):
        client.predict(handle_file(str(clip)), "yolox_nano", "", "", "abc", api_name="/detect")


def test_a_video_url_that_cannot_be_fetched_is_a_clear_error(client: Client) -> None:
    # Gradio fetches a URL before the handler, and refuses local addresses.
    with pytest.raises(AppError, match=r"Could not fetch 'http://127.0.0.1:9/clip.mp4' \(.+\)"):
        client.predict(handle_file("http://127.0.0.1:9/clip.mp4"), "yolox_nano", api_name="/detect")


def test_detect_counts_people_over_a_line_and_returns_the_tables(
    client: Client, clip: Path
) -> None:
    """A vertical line down TUD-Campus: the ground truth has 4 people crossing it, all in."""
    counting = json.dumps({"lines": [{"name": "middle", "points": [[320, 0], [320, 480]]}]})
    *_, (_, status, video, tracks, tables, summary) = client.submit(
        video=handle_file(str(clip)), detector="yolox_nano", queries="person",
        counting=counting, api_name="/detect",
    )  # fmt: skip
    line = summary["counting"]["lines"]["middle"]
    assert abs(line["in_total"] - 4) <= 1 and line["out_total"] <= 1
    assert "Line **middle**" in status
    assert sorted(Path(table).name for table in tables) == ["objects.csv", "tracks.csv"]
    events = [e for f in json.loads(Path(tracks).read_text())["frames"] for e in f["events"]]
    assert len(events) == line["in_total"] + line["out_total"]
    # The first frame shows the line too.
    plain = client.predict(handle_file(str(clip)), "yolox_nano", api_name="/first_frame")
    drawn = client.predict(
        handle_file(str(clip)), "yolox_nano", counting=counting, api_name="/first_frame"
    )
    with Image.open(plain) as before, Image.open(drawn) as after:
        column = np.abs(np.asarray(after, int)[:, 318:323] - np.asarray(before, int)[:, 318:323])
    assert (column.sum(axis=-1) > 60).mean() > 0.5


@pytest.mark.parametrize(
    ("counting", "message"),
    [
        ('{"lines": [{"name": "door", "points": [[0, 0]]}]}', "needs two points"),
        ('{"zones": [{"name": "desk", "points": [[0, 0], [5, 5]]}]}', "at least three points"),
        ('{"lines": [{"name": "far", "points": [[0, 0], [700, 10]]}]}', "outside the 640x480"),
        ("door:0,0,10,10", "not valid JSON"),
    ],
)
def test_bad_lines_and_zones_are_clear_errors(
    client: Client, clip: Path, app_env: Path, counting: str, message: str
) -> None:
    before = files_under(app_env)
    for endpoint in ("/detect", "/first_frame"):
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(
                handle_file(str(clip)), "yolox_nano", counting=counting, api_name=endpoint
            )
    assert files_under(app_env) == before


def test_text_file_named_mp4_is_a_clear_error(
    client: Client, tmp_path: Path, app_env: Path
) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("this is not a video\n")
    before = files_under(app_env)
    for endpoint in ("/detect", "/first_frame"):
        with pytest.raises(AppError, match="is not a readable video"):
            client.predict(handle_file(str(fake)), "yolox_nano", "", "", 0.3, api_name=endpoint)
    assert files_under(app_env) == before


def test_a_playlist_of_the_server_s_files_is_refused_on_the_tabs(
    client: Client, tmp_path: Path, app_env: Path
) -> None:
    """Gradio keeps an upload's suffix: an ``.m3u8`` would be read as HLS, its entries too."""
    from test_video_limits import mpegts

    secret = mpegts(tmp_path / "secret.ts")
    playlist = tmp_path / "holiday.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://{secret}\n#EXT-X-ENDLIST\n"
    )
    before = files_under(app_env)
    for endpoint in ("/detect", "/first_frame"):
        with pytest.raises(AppError, match="holiday.m3u8 is a playlist or a list of other files"):
            client.predict(handle_file(str(playlist)), "yolox_nano", "", "", 0.3, api_name=endpoint)
    assert files_under(app_env) == before


def job_id_in(status: str) -> str:
    match = re.search(r"\(job ([\w-]+)\)", status)
    assert match, f"no job id in {status!r}"
    return match.group(1)


def test_cancelled_job_stops_the_run_and_keeps_its_partial_result(
    client: Client, server: str, clip: Path, app_env: Path
) -> None:
    job = client.submit(handle_file(str(clip)), "yolox_nano", "", "", 0.3, api_name="/detect")
    for out in job:
        if out[0] is not None and "job" in out[1]:  # Frames are coming: the run is under way.
            job_id = job_id_in(out[1])
            break
    job.cancel()
    # The caller is gone, but its job keeps what was done, over REST while it lives.
    status = {}

    def stopped() -> bool:
        nonlocal status
        with urllib.request.urlopen(f"{server}detect/status/{job_id}", timeout=5) as answer:
            status = json.loads(answer.read())
        return status["status"] in ("stopped", "completed")

    assert wait_for(stopped), status
    assert wait_for(lambda: not pipeline_threads()), pipeline_threads()
    frames = status["summary"]["frames"]
    folder = next(app_env.glob(f"job-{job_id}"))
    tracks = json.loads((folder / "tracks.json").read_text())
    assert len(tracks["frames"]) == frames
    with av.open(str(folder / "detections.mp4")) as container:
        assert sum(1 for _ in container.decode(container.streams.video[0])) == frames


# Direct handler calls: the same code path without a server, for what the
# module's shared server cannot set up (other limits, a session to stop).


def test_too_long_video_is_refused(clip: Path, tmp_path: Path) -> None:
    handlers = DetectionHandlers(Settings(output_dir=tmp_path, max_duration_s=1.0))
    with pytest.raises(gr.Error, match="the limit is 1 s"):
        handlers.first_frame(str(clip), "yolox_nano", None, "", 0.3)
    with pytest.raises(gr.Error, match="the limit is 1 s"):
        next(handlers.detect(str(clip), "yolox_nano", None, "", 0.3))
    assert not files_under(tmp_path)


@pytest.mark.parametrize(
    "limit", [{"max_pixels": 1000}, {"max_video_frames": 5}, {"max_fps": 1}],
    ids=["pixels", "frames", "fps"],
)  # fmt: skip
def test_the_deployment_s_video_limits_hold_for_the_tabs(
    clip: Path, tmp_path: Path, limit: dict
) -> None:
    handlers = DetectionHandlers(Settings(output_dir=tmp_path, **limit))
    with pytest.raises(gr.Error, match="the limit is"):
        next(handlers.detect(str(clip), "yolox_nano", None, "", 0.3))
    assert not files_under(tmp_path)


def test_long_class_lists_are_refused_on_the_tabs_as_over_rest(clip: Path, tmp_path: Path) -> None:
    """``gradio_client`` sends what it likes: ``max_query_chars`` holds here too."""
    handlers = DetectionHandlers(Settings(output_dir=tmp_path, max_query_chars=100))
    many = ", ".join(f"class{i}" for i in range(50))
    with pytest.raises(gr.Error, match=r"queries is \d+ characters long; the limit is 100"):
        handlers.first_frame(str(clip), "yolox_nano", None, many, 0.3)
    with pytest.raises(gr.Error, match=r"privacy_classes is \d+ characters long") as refused:
        next(handlers.detect(str(clip), "yolox_nano", None, "", 0.3, privacy=True,
                             privacy_classes=many))  # fmt: skip
    assert "class49" not in str(refused.value)
    assert not files_under(tmp_path)


def test_a_message_quoting_a_long_value_is_cut_short(clip: Path, tmp_path: Path) -> None:
    """A name the page never offers, sent by a script: its error does not echo a megabyte."""
    handlers = DetectionHandlers(Settings(output_dir=tmp_path))
    with pytest.raises(gr.Error, match="Unknown detector") as refused:
        handlers.first_frame(str(clip), "x" * 100_000, None, "", 0.3)
    assert len(refused.value.message) <= 2001


@pytest.mark.parametrize(
    ("size", "confidence", "message"),
    [("xxl", 0.3, "has no size 'xxl'"), (None, 1.5, "between 0 and 1")],
)
def test_bad_options_are_refused(
    clip: Path, tmp_path: Path, size: str | None, confidence: float, message: str
) -> None:
    handlers = DetectionHandlers(Settings(output_dir=tmp_path))
    with pytest.raises(gr.Error, match=message):
        next(handlers.detect(str(clip), "yolo11", size, "", confidence))


def test_stop_button_ends_the_run_promptly_with_its_partial_result(
    clip: Path, tmp_path: Path, yolox_weights: Path, monkeypatch
) -> None:
    monkeypatch.setenv("YOLOX_NANO_WEIGHTS", str(yolox_weights))
    handlers = DetectionHandlers(Settings(output_dir=tmp_path, preview_interval_s=0.05))
    request = SimpleNamespace(session_hash="session-under-test")
    run = handlers.detect(str(clip), "yolox_nano", None, "", 0.3, request=request)
    outputs, started = [], None
    for out in run:
        outputs.append(out)
        if out[0] is not None and "Processing: frame" in out[1] and started is None:
            assert handlers.stop(request) == STOPPING
            started = time.monotonic()
    assert started is not None and time.monotonic() - started < 3.0
    _, status, video, tracks, _, summary = outputs[-1]
    assert status.startswith("**Stopped** after") and summary["partial"] is True
    frames = summary["frames"]
    assert 0 < frames < FRAMES
    with av.open(video) as container:
        assert sum(1 for _ in container.decode(container.streams.video[0])) == frames
    assert len(json.loads(Path(tracks).read_text())["frames"]) == frames
    assert wait_for(lambda: not pipeline_threads()), pipeline_threads()


def test_gpu_duration_follows_the_video_length(tmp_path: Path) -> None:
    import synthetic

    from pipeline.configs import DetectionConfig
    from ui import gpu

    short = synthetic.make_video(tmp_path / "short.mp4", frames=10)
    long = synthetic.make_video(tmp_path / "long.mp4", frames=400)
    config = DetectionConfig(detector="grounding_dino")
    # ZeroGPU calls the duration callable with the GPU function's own arguments
    # (spaces.zero.wrappers.static_duration: duration(*args, **kwargs)).
    args = (str(long), config, {"video": "out.mp4", "tracks": "tracks.json"}, "token", 0.2)
    inspect.signature(gpu.run_events).bind(*args)
    assert gpu.estimate_gpu_seconds(*args) == 82  # 15 s to load + 400 frames at 6 fps.
    assert gpu.estimate_gpu_seconds(str(short), config, *args[2:]) == gpu.GPU_MIN_S
    assert gpu.estimate_gpu_seconds(str(long), DetectionConfig(detector="yolox_nano")) == 22
    capped = DetectionConfig(detector="grounding_dino", max_frames=5)
    assert gpu.estimate_gpu_seconds(str(long), capped) == gpu.GPU_MIN_S
    assert gpu.estimate_gpu_seconds(str(tmp_path / "missing.mp4"), config) == gpu.GPU_MIN_S


def test_cache_clean_up_is_configured(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "VIDEO_APP_OUTPUT_DIR": str(tmp_path),
            "VIDEO_APP_CACHE_INTERVAL_S": "60",
            "VIDEO_APP_CACHE_MAX_AGE_S": "120",
        }
    )
    assert build_demo(settings).delete_cache == (60, 120)
    assert build_demo(Settings(output_dir=tmp_path)).delete_cache == (300, 3600)


def test_streamed_previews_are_swept_from_the_cache(
    tmp_path: Path, clip: Path, yolox_weights: Path, monkeypatch
) -> None:
    # Every streamed frame is a file in Gradio's cache; delete_cache must remove them.
    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    monkeypatch.setenv("YOLOX_NANO_WEIGHTS", str(yolox_weights))
    settings = Settings(output_dir=tmp_path / "runs", cache_interval_s=1, cache_max_age_s=2)
    demo = build_demo(settings)
    with served(demo) as url:
        # The client downloads elsewhere, so only the server's files are in `cache`.
        client = Client(url, verbose=False, download_files=str(tmp_path / "dl"))
        job = client.submit(handle_file(str(clip)), "yolox_nano", "", "", 0.3, api_name="/detect")
        previews = {out[0] for out in job if out[0] is not None}
        assert len(previews) >= 3
        assert wait_for(lambda: not list(cache.rglob("*.jpeg")), timeout=10)
        # The results themselves stay downloadable from the run's own folder.
        assert {p.name for p in files_under(settings.output_dir)} == {
            "detections.mp4",
            "tracks.json",
            "tracks.csv",
            "objects.csv",
        }


def test_python_app_py_serves_on_the_port_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "VIDEO_APP_OUTPUT_DIR": str(tmp_path / "runs"),
    }
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def page_served() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    return response.status == 200 and b"gradio" in response.read().lower()
            except OSError:
                return process.poll() is not None  # Stop waiting if it died.

        assert wait_for(page_served, timeout=60), "python app.py did not serve the page"
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
    finally:
        stop_process(process)


def test_detect_takes_the_tracker_by_name(client: Client, clip: Path, app_env: Path) -> None:
    *_, (_, status, video, tracks, tables, summary) = client.submit(
        video=handle_file(str(clip)), detector="yolox_nano", queries="person",
        tracker="ocsort", api_name="/detect",
    )  # fmt: skip
    assert summary["tracker"]["name"] == "ocsort" and summary["tracks"] > 0
    before = files_under(app_env)
    with pytest.raises(AppError, match="Unknown tracker 'nope'. Choose one of bytetrack, sort"):
        client.predict(handle_file(str(clip)), "yolox_nano", tracker="nope", api_name="/detect")
    assert files_under(app_env) == before


def test_detect_takes_the_runtime_by_name(client: Client, clip: Path, app_env: Path) -> None:
    *_, (_, status, video, tracks, tables, summary) = client.submit(
        video=handle_file(str(clip)), detector="yolox_nano", queries="person",
        runtime="openvino", api_name="/detect",
    )  # fmt: skip
    assert (summary["model"]["runtime"], summary["model"]["precision"]) == ("openvino", "fp32")
    assert "on openvino (fp32)" in status
    with pytest.raises(AppError, match="YOLOX-Nano cannot run on 'torch'; it runs on: auto"):
        client.predict(handle_file(str(clip)), "yolox_nano", runtime="torch", api_name="/detect")


# --- paths, heat map, privacy and speed by name (synthetic clip, colour detector) ------

AFTER_RED = StripedShape("red", (10, 20), (4, 0))
AFTER_BLUE = MovingShape("blue", (250, 190), (0, -2))
#: The whole 320x240 frame as 32 m x 24 m: red moves 4 px (0.4 m) a frame at 25 fps, 36 km/h.
AFTER_AREA, AFTER_WIDTH_M, AFTER_LENGTH_M = "0,0, 320,0, 320,240, 0,240", 32, 24
AFTER_FRAMES = 30


@pytest.fixture(scope="module")
def shapes_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("after-api") / "shapes.mp4"
    return synthetic.make_video(path, AFTER_FRAMES, 320, 240, 25, shapes=(AFTER_RED, AFTER_BLUE))


def _red_speeds(tracks: dict) -> set[float | None]:
    frames = tracks["frames"][2:]  # a track's first frame has no speed yet
    return {o["speed_kmh"] for f in frames for o in f["objects"] if o["class"] == "red"}


def _rgb(image_path: str) -> np.ndarray:
    with Image.open(image_path) as image:
        return np.asarray(image.convert("RGB")).astype(float)


def test_gradio_client_runs_every_option_by_name(client: Client, shapes_clip: Path) -> None:
    result = client.predict(
        handle_file(str(shapes_clip)), "test_shapes", "", "", 0.3,
        paths=True, heatmap=True, heatmap_overlay=True, privacy=True, privacy_style="pixelate",
        privacy_classes="red", speed_area=AFTER_AREA, speed_area_width_m=AFTER_WIDTH_M,
        speed_area_length_m=AFTER_LENGTH_M, api_name="/detect",
    )  # fmt: skip
    _, status, video, tracks, tables, summary = result
    assert status.startswith(f"Done: {AFTER_FRAMES} frames") and video
    assert _red_speeds(json.loads(Path(tracks).read_text())) == {36.0}
    heatmap = [t for t in tables if str(t).endswith("heatmap.png")]
    assert len(heatmap) == 1
    with Image.open(heatmap[0]) as image:
        assert image.size[0] == 2 * 320
    assert summary["privacy"] == {"style": "pixelate", "classes": ["red"]}
    assert summary["speed"]["unit"] == "km/h"


def test_gradio_client_first_frame_hides_the_chosen_class(
    client: Client, shapes_clip: Path
) -> None:
    common = (handle_file(str(shapes_clip)), "test_shapes", "", "", 0.3)
    shown = client.predict(*common, api_name="/first_frame")
    hidden = client.predict(*common, privacy=True, privacy_classes="red", api_name="/first_frame")
    # Red's stripes alternate 255 and 200: blurred, they are one shade, about 27 off each
    # (the first frame comes back as a JPEG: a few levels of noise elsewhere).
    difference = np.abs(_rgb(hidden) - _rgb(shown))[..., 0]
    x1, y1, x2, y2 = AFTER_RED.box(0)
    assert difference[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4].mean() > 15
    assert difference[100:140, 100:200].mean() < 3


def test_gradio_client_bad_speed_area_is_one_clear_error(client: Client, shapes_clip: Path) -> None:
    with pytest.raises(Exception, match="width and length"):
        client.predict(
            handle_file(str(shapes_clip)), "test_shapes", "", "", 0.3, speed_area=AFTER_AREA,
            speed_area_width_m=3, api_name="/first_frame",
        )  # fmt: skip
