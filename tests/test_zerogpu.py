"""The app's paths under the real ``spaces`` package with ZeroGPU's patching on.

On a ZeroGPU Space CUDA *looks* available in the app's process and exists only
inside ``spaces.GPU`` calls. These tests run ``python app.py`` exactly so
(:mod:`zerogpu`: the device API is a stand-in on loopback that grants every
request, and a call's worker, a real forked process, has no NVIDIA device to
set up), with the Hub on loopback too (:mod:`fake_hub`), and check what a
visitor, a ``gradio_client`` script and a REST caller get: runs that finish,
on the CPU in the app's process and inside the calls for the tabs, downloads
done before any GPU is asked for, calls sized well under a free visitor's quota.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fake_hub import FakeHub
from gradio_client import Client, handle_file
from serving import free_port, stop_process
from synthetic import make_video
from zerogpu import DeviceApi, zero_gpu_env

REPO_ROOT = Path(__file__).resolve().parents[1]
PERSON = REPO_ROOT / "assets" / "one_by_one_person.mp4"
PERSON_FRAMES = 100
FRAMES_PER_CALL = 30
DEPTH_REPO = "depth-anything/Depth-Anything-V2-Small-hf"

pytestmark = pytest.mark.slow


class ZeroGpuApp:
    """``python app.py`` on "ZeroGPU", its device API, its Hub, and where it logs."""

    def __init__(self, url: str, api: DeviceApi, hub: FakeHub, log: Path) -> None:
        self.url, self.api, self.hub, self.log = url, api, hub, log


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, tiny_depth_weights: Path) -> Iterator[ZeroGpuApp]:
    folder = tmp_path_factory.mktemp("zerogpu")
    files = {p.name: p.read_bytes() for p in tiny_depth_weights.iterdir() if p.is_file()}
    port = free_port()
    with DeviceApi() as api, FakeHub({DEPTH_REPO: files}, 2048, 0.02) as hub:
        online = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
        env = zero_gpu_env(api.url, {**online, "YOLO_OFFLINE": "1"})
        env.update(
            GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
            VIDEO_APP_OUTPUT_DIR=str(folder / "jobs"), VIDEO_APP_MCP_SERVER="false",
            VIDEO_APP_GPU_FRAMES_PER_CALL=str(FRAMES_PER_CALL),
            YOLO11_WEIGHTS="yolo11n.yaml", HF_ENDPOINT=hub.url, HF_HOME=str(folder / "hf"),
            HF_HUB_DISABLE_XET="1", ZEROGPU_OFFLOAD_DIR=str(folder / "offload"),
        )  # fmt: skip
        log = folder / "app.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "tests/zerogpu.py", "app.py"], cwd=REPO_ROOT, env=env,
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    httpx.get(url, timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.3)
            assert process.poll() is None, log.read_text()[-3000:]
            yield ZeroGpuApp(url, api, hub, log)
        finally:
            stop_process(process)
            # The GPU calls' forked workers (daemonic, in the app's session) outlive a SIGTERM
            # of the app: each blocks on a pipe that its siblings keep open.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("zerogpu-clips") / "short.mp4", frames=20)


@pytest.fixture(scope="module")
def client(app: ZeroGpuApp) -> Client:
    return Client(app.url, verbose=False)


def test_the_app_starts_and_reports_to_the_device_api(app: ZeroGpuApp) -> None:
    assert [path for _, path, _ in app.api.calls][:1] == ["/startup-report"]


def test_a_rest_job_runs_on_the_cpu_of_the_app_s_process(app: ZeroGpuApp) -> None:
    """Today's failure: "Low-level CUDA init (`torch._C._cuda_init`) reached"."""
    scheduled = len(app.api.scheduled())
    with httpx.Client(base_url=app.url, timeout=60) as http, PERSON.open("rb") as video:
        form = {"detector": "yolo11", "queries": "person"}
        answer = http.post("/detect/async", files={"video": video}, data=form)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        deadline = time.monotonic() + 180
        while (status := http.get(f"/detect/status/{job_id}").json())["status"] in (
            "queued", "running",
        ):  # fmt: skip
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
    assert status["status"] == "completed", status["error"]
    assert status["summary"]["devices"] == ["cpu"] and status["summary"]["frames"] == PERSON_FRAMES
    assert len(app.api.scheduled()) == scheduled, "a REST job asks ZeroGPU for nothing"


def test_a_short_tab_run_is_one_gpu_call_sized_from_the_video(
    app: ZeroGpuApp, client: Client, short_clip: Path
) -> None:
    before = len(app.api.scheduled())
    *_, summary = client.predict(
        handle_file(str(short_clip)), "yolo11", "n", "", 0.3, api_name="/detect"
    )
    calls = app.api.scheduled()[before:]
    assert summary["frames"] == 20 and "calls" not in summary
    assert len(calls) == 1 and int(calls[0]["durationSeconds"]) <= 60


def test_a_long_tab_run_is_split_into_calls_that_each_load_the_models(
    app: ZeroGpuApp, client: Client
) -> None:
    before = len(app.api.scheduled())
    *_, status, video, tracks, _, summary = client.predict(
        handle_file(str(PERSON)), "yolo11", "n", "person", 0.3, api_name="/detect"
    )
    calls = app.api.scheduled()[before:]
    assert summary["calls"] == len(calls) == 4  # 100 frames, 30 per call
    assert all(int(call["durationSeconds"]) <= 60 for call in calls)
    assert summary["frames"] == PERSON_FRAMES and summary["model"]["name"] == "yolo11"
    assert summary["frames_per_device"] == {"cpu": PERSON_FRAMES}  # the worker's own device
    assert len(json.loads(Path(tracks).read_text())["frames"]) == PERSON_FRAMES


def test_the_first_frame_is_one_short_gpu_call(
    app: ZeroGpuApp, client: Client, short_clip: Path
) -> None:
    before = len(app.api.scheduled())
    image = client.predict(handle_file(str(short_clip)), "yolo11", api_name="/first_frame")
    assert Path(image).is_file()
    assert [int(c["durationSeconds"]) for c in app.api.scheduled()[before:]] == [40]


def test_weights_are_downloaded_before_the_gpu_call_with_progress_shown(
    app: ZeroGpuApp, client: Client, short_clip: Path
) -> None:
    before = len(app.api.calls)
    job = client.submit(
        handle_file(str(short_clip)), "small", "turbo", "depth", api_name="/depth"
    )
    job.result(timeout=180)
    outputs = job.outputs()
    statuses = [str(out[1]) for out in outputs if out and out[1]]
    assert any(s.startswith("Downloading Depth Anything V2 small:") for s in statuses), statuses
    downloads = [t for t, method, path in app.hub.requests if method == "GET" and "resolve" in path]
    first_call = min(t for t, path, _ in app.api.calls[before:] if path == "/schedule")
    assert downloads and max(downloads) < first_call, "a download was paid for in GPU time"


LIVE_UNDER_ZERO_GPU = """
import json, threading
import spaces  # first, as app.py does: switches ZeroGPU's patching on
import numpy as np
from pipeline import DetectionConfig
from pipeline.errors import PipelineError
from pipeline.runs.live import FrameByFrame
from pipeline.runtime.devices import cuda_is_emulated, resolve_devices
import torch
answer = {"looks_available": torch.cuda.is_available(), "emulated": cuda_is_emulated()}
def live_session():  # the Live tab's handler runs in a Gradio worker thread
    live = FrameByFrame(DetectionConfig(detector="yolo11", weights="yolo11n.yaml"),
                        width=320, height=240)
    live.process(np.zeros((240, 320, 3), np.uint8), 0.0)
    answer["device"] = live.finish().devices
    try:
        resolve_devices(("cuda",))
    except PipelineError as exc:
        answer["cuda_error"] = str(exc)
thread = threading.Thread(target=live_session)
thread.start()
thread.join()
print(json.dumps(answer))
"""


def test_the_live_tab_runs_on_the_cpu_and_cuda_asked_for_says_why_there_is_none(
    tmp_path: Path,
) -> None:
    env = zero_gpu_env("http://127.0.0.1:9", {**os.environ, "ZEROGPU_OFFLOAD_DIR": str(tmp_path)})
    done = subprocess.run(
        [sys.executable, "-c", LIVE_UNDER_ZERO_GPU], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["looks_available"] and answer["emulated"], "spaces emulates CUDA here"
    assert answer["device"] == ["cpu"]
    assert answer["cuda_error"] == (
        "Device cuda:0 is not available (CUDA devices here: none): on ZeroGPU the GPU exists "
        "only inside the app's GPU calls (its tab runs); everything else runs on the CPU."
    )
