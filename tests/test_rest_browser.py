"""The REST API's stream and video in a real Chromium, as a page on another site shows them.

A plain page (served from another port) holds ``<img src=".../detect/stream/ID">``
and ``<video src=".../detect/video/ID">``: the stream must show changing frames
while the job runs, and the video must play and seek (HTTP range requests).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import served_server
from test_browser import QuietHandler, browser  # noqa: F401 - browser is a fixture

from ui.settings import Settings

pytestmark = pytest.mark.browser

PLAY_JS = """async (selector) => {
    const video = document.querySelector(selector);
    await video.play();
    return true;
}"""
SEEK_JS = """async ([selector, seconds]) => {
    const video = document.querySelector(selector);
    await new Promise((resolve) => {
        video.addEventListener('seeked', resolve, {once: true});
        video.currentTime = seconds;
    });
    return [video.currentTime, video.readyState, video.duration];
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(output_dir=tmp_path_factory.mktemp("jobs"), preview_interval_s=0.05)
    with served_server(settings) as url:
        yield url


@contextlib.contextmanager
def host_page(folder: Path, body: str) -> Iterator[str]:
    (folder / "index.html").write_text(f"<!doctype html><html><body>{body}</body></html>")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_the_stream_in_an_img_and_the_video_in_a_video_tag(
    browser,  # noqa: F811
    server: str,
    shared_assets: Path,
    tmp_path: Path,
) -> None:
    clip = shared_assets / "video" / "car_detection.mp4"
    with clip.open("rb") as data, httpx.Client(base_url=server, timeout=60) as http:
        job = http.post(
            "/detect/async",
            files={"video": (clip.name, data, "video/mp4")},
            data={"detector": "yolox_nano"},
        ).json()
    urls = {name: server.rstrip("/") + path for name, path in job["urls"].items()}
    body = f'<img id="live" src="{urls["stream"]}" width="640">'
    context = browser.new_context(viewport={"width": 900, "height": 700})
    page = context.new_page()
    with host_page(tmp_path, body) as page_url:
        page.goto(page_url)
        page.wait_for_function(
            "() => { const i = document.getElementById('live');"
            " return i.complete !== undefined && i.naturalWidth > 0; }",
            timeout=30_000,
        )
        # The picture changes as frames come: compare what the page shows over time.
        shots = []
        for _ in range(4):
            shots.append(page.locator("#live").screenshot())
            page.wait_for_timeout(400)
        assert len(set(shots)) >= 2, "the stream showed one frame only"
        # Once the job has ended, its video plays and seeks in a <video>.
        with httpx.Client(timeout=60) as http:
            while http.get(urls["status"]).json()["status"] == "running":
                page.wait_for_timeout(200)
        page.set_content(f'<video id="result" src="{urls["video"]}" muted></video>')
        assert page.evaluate(PLAY_JS, "#result")
        position, ready, duration = page.evaluate(SEEK_JS, ["#result", 20.0])
        assert duration > 25 and abs(position - 20.0) < 0.5 and ready >= 1
        page.screenshot(path="/tmp/rest-stream.png")
    context.close()
