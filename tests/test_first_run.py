"""A new user's first run: a fresh process, no network, no settings, only the repository.

Each process gets an empty home (no model caches), no ``HF_HUB_OFFLINE`` or
other flags, no weights variables, and a proxy that refuses every connection,
so that it meets no network even on a machine that has one. With only what
the repository ships (the YOLOX-Nano weights and two example clips in
``assets/``), the default detector must find the people in the person clip,
from the command line, from ``gradio_client``, and in Chromium from the
page's own example; and the counting example, with its preset line and zone, must count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import pytest
from chromium import chromium
from serving import app_process

REPO_ROOT = Path(__file__).resolve().parents[1]
PERSON_CLIP = REPO_ROOT / "assets" / "one_by_one_person.mp4"
# Port 9 (discard) on loopback refuses connections: every download fails at once.
NO_NETWORK_PROXY = "http://127.0.0.1:9"


def fresh_environment(home: Path, **extra: str) -> dict[str, str]:
    """What a new user's shell has: a PATH and a home; nothing of this project's settings."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "HTTPS_PROXY": NO_NETWORK_PROXY,
        "HTTP_PROXY": NO_NETWORK_PROXY,
        "https_proxy": NO_NETWORK_PROXY,
        "http_proxy": NO_NETWORK_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **extra,
    }


def check_h264_and_people(video: Path, tracks: dict) -> None:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        frames = sum(1 for _ in container.decode(stream))
    assert frames == len(tracks["frames"]) == 100
    assert tracks["model"]["name"] == "yolox_nano"
    people = [o for f in tracks["frames"] for o in f["objects"] if o["class"] == "person"]
    assert len(people) >= 50, f"only {len(people)} person boxes in 100 frames"


def test_command_line_first_run(tmp_path: Path) -> None:
    out, tracks = tmp_path / "out" / "people.mp4", tmp_path / "out" / "people.json"
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "detect", str(PERSON_CLIP),
         "--out", str(out), "--tracks", str(tracks), "--no-progress"],
        cwd=REPO_ROOT, env=fresh_environment(tmp_path / "home"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    check_h264_and_people(out, json.loads(tracks.read_text()))


@pytest.fixture(scope="module")
def fresh_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``python app.py`` as the README starts it, on a free port; yields its URL and home."""
    home = tmp_path_factory.mktemp("fresh-home")
    with app_process(fresh_environment(home), home / "app.log") as url:
        yield url, home


def test_api_first_run_with_every_default(fresh_app: tuple[str, Path], tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    url, _ = fresh_app
    client = Client(url, verbose=False, download_files=str(tmp_path))
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in api["/detect"]["parameters"]}
    assert defaults["detector"] == "yolox_nano"
    # Only the video: the detector, size, queries and threshold are the page's defaults.
    _, status, video, tracks, tables, summary = client.predict(
        video=handle_file(str(PERSON_CLIP)), api_name="/detect"
    )
    assert status.startswith("Done: 100 frames")
    check_h264_and_people(Path(video), json.loads(Path(tracks).read_text()))
    assert summary["tracks_per_class"].get("person", 0) >= 1


@contextmanager
def app_page(url: str) -> Iterator[Any]:
    """The app's page in Chromium, at the browser tests' viewport, once its Run button shows."""
    from test_browser import VIEWPORT

    with chromium() as browser:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        page.goto(url)
        page.locator("#run-button").wait_for()
        yield page


def run_example(page: Any, name: str) -> None:
    """Pick an example by its caption (name, length, what to expect), in the tab on show,
    and press Run once its video is in."""
    page.get_by_text(name).filter(visible=True).first.click()
    page.locator("#input-video video").wait_for()
    page.locator("#run-button").click()


@pytest.mark.browser
def test_browser_first_run_from_the_pages_example(fresh_app: tuple[str, Path]) -> None:
    from test_browser import check_video_plays

    url, home = fresh_app
    with app_page(url) as page:
        # The detector offered first is the one whose weights are here.
        assert page.locator("#detector input").input_value() == "YOLOX-Nano"
        run_example(page, "one_by_one_person.mp4")
        page.locator("#status").get_by_text("Done: 100 frames").wait_for()
        assert "person" in page.locator("#status").inner_text()
        check_video_plays(page.main_frame)
        page.screenshot(path="/tmp/app-first-run.png", full_page=True)
    # The run's files are where a fresh install keeps them: under the temp folder.
    tracks = next((home / "tmp" / "video-analysis-runs").glob("job-*/tracks.json"))
    data = json.loads(tracks.read_text())
    assert data["model"]["name"] == "yolox_nano"
    assert any(o["class"] == "person" for f in data["frames"] for o in f["objects"])


@pytest.mark.browser
def test_browser_first_run_counts_with_the_counting_example(fresh_app: tuple[str, Path]) -> None:
    """The worker example and Run, nothing else: its preset line and zone count the worker."""
    from test_browser import check_image_loaded

    url, _ = fresh_app
    with app_page(url) as page:
        run_example(page, "worker_zone_detection.mp4")
        # Meanwhile the editor shows the example's line and zone on its first frame.
        page.get_by_role("button", name="Counting lines and zones").click()
        check_image_loaded(page.main_frame, "#counting-canvas")
        preset = json.loads(page.locator("#counting textarea").input_value())
        page.locator("#status").get_by_text("Done: 71 frames").wait_for()
        status = page.locator("#status").inner_text()
        page.screenshot(path="/tmp/app-counting-example.png", full_page=True)
    assert [line["name"] for line in preset["lines"]] == ["tape"]
    assert [zone["name"] for zone in preset["zones"]] == ["work area"]
    assert "Line tape: 1 in (person 1)" in status, status
    assert "Zone work area: 1 visitor, 1 came in (person 1)" in status, status
