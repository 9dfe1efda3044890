"""The app in a real browser: Debian's Chromium driven by Python Playwright.

Uploads the real TUD-Campus clip, runs YOLOX-Nano, watches the live preview
change and the result video play; then does the same with the app embedded in
an ``<iframe>`` of a page served from another site (``localhost`` vs ``127.0.0.1``).
Screenshots go to ``/tmp/app-browser.png`` and ``/tmp/app-iframe.png``.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS, chromium, skip_without_chromium  # noqa: F401
from serving import served

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 1100}
# The host page shows the whole frame: Gradio's images load lazily, when in view.
HOST_VIEWPORT = {"width": 1280, "height": 1600}
IFRAME_HEIGHT = 1450
TIMEOUT_MS = 45_000

skip_without_chromium()

# Records every src the image under a selector takes, including images Svelte replaces.
WATCH_IMAGE_JS = """(selector) => {
    window.__previewSrcs = [];
    const root = document.querySelector(selector);
    const record = () => {
        const img = root.querySelector('img');
        const src = img && img.getAttribute('src');
        const srcs = window.__previewSrcs;
        if (src && srcs[srcs.length - 1] !== src) srcs.push(src);
    };
    new MutationObserver(record).observe(root, {
        subtree: true, childList: true, attributes: true, attributeFilter: ['src'],
    });
    record();
}"""

VIDEO_PLAYS_JS = """async (selector) => {
    const video = document.querySelector(selector + ' video');
    video.muted = true;
    await video.play();
    return true;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def clip(tud_campus_video: Path) -> Path:
    return tud_campus_video


@pytest.fixture(scope="module")
def output_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def app_url(output_root: Path, yolox_weights: Path) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YOLOX_NANO_WEIGHTS", str(yolox_weights))
        mp.setenv("VIDEO_APP_OUTPUT_DIR", str(output_root))
        from ui import build_demo

        demo = build_demo()
        with served(demo) as url:
            yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def host_page_url(app_url: str, tmp_path_factory) -> Iterator[str]:
    """A page on another site (``localhost``, another port) that embeds the app."""
    folder = tmp_path_factory.mktemp("host")
    (folder / "index.html").write_text(
        "<!doctype html><html><head><title>Host page</title></head><body>"
        "<h1>Embedding page</h1>"
        f'<iframe src="{app_url}" width="1240" height="{IFRAME_HEIGHT}" '
        'style="border:1px solid #888">'
        "</iframe></body></html>"
    )
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def prepare_run(frame, clip: Path) -> None:
    """Upload ``clip``, pick YOLOX-Nano, start watching the preview."""
    frame.locator("#run-button").wait_for()
    frame.locator("#detector input").click()
    frame.locator('#detector li[aria-label="YOLOX-Nano"]').click()
    # YOLOX-Nano comes in one size: the size dropdown follows the detector.
    frame.locator("#size input:disabled").wait_for()
    frame.locator("#queries textarea, #queries input").first.fill("person")
    frame.locator("#input-video input[type=file]").set_input_files(str(clip))
    frame.locator("#input-video video").wait_for()  # Uploaded and shown.
    frame.evaluate(WATCH_IMAGE_JS, "#preview")


def run_detection_in(frame, clip: Path) -> list[str]:
    """Upload ``clip``, pick YOLOX-Nano, press Run; return the preview srcs seen."""
    prepare_run(frame, clip)
    frame.locator("#run-button").click()
    frame.locator("#result-video video").wait_for()
    frame.locator("#status").get_by_text("Done: 71 frames").wait_for()
    return frame.evaluate("() => window.__previewSrcs")


def check_image_loaded(frame, selector: str = "#preview", timeout_ms: int = 10_000) -> None:
    frame.wait_for_function(
        "(s) => { const i = document.querySelector(s + ' img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
        timeout=timeout_ms,
    )


def check_video_plays(frame, selector: str = "#result-video") -> None:
    video = frame.locator(f"{selector} video")
    assert video.get_attribute("src")
    assert frame.evaluate(VIDEO_PLAYS_JS, selector)
    frame.wait_for_function(
        "(s) => { const v = document.querySelector(s + ' video');"
        " return v.readyState >= 2 && v.currentTime > 0.2; }",
        arg=selector,
        timeout=15_000,
    )


def test_run_streams_live_frames_and_plays_the_result(page, app_url: str, clip: Path) -> None:
    page.goto(app_url)
    srcs = run_detection_in(page.main_frame, clip)
    assert len(srcs) >= 3, f"the live preview changed {len(srcs) - 1} time(s): {srcs}"
    check_image_loaded(page.main_frame)
    check_video_plays(page.main_frame)
    assert page.locator('#tracks a[download="tracks.json"]').count() >= 1
    # The run's details: its summary and its time per stage as a bar chart.
    page.get_by_text("Run details").first.click()
    page.locator("#timing-plot .vega-embed").wait_for()  # drawn, not its empty placeholder
    page.screenshot(path="/tmp/app-browser.png", full_page=True)


def test_app_renders_and_runs_inside_an_iframe_on_another_site(
    page, host_page_url: str, app_url: str, clip: Path
) -> None:
    page.set_viewport_size(HOST_VIEWPORT)
    page.goto(host_page_url)
    embedded = page.frame_locator("iframe")
    embedded.locator("#run-button").wait_for()
    assert embedded.get_by_text("Video detection and tracking").first.is_visible()
    frame = next(f for f in page.frames if f.url.startswith(app_url))
    srcs = run_detection_in(frame, clip)
    assert len(srcs) >= 2, srcs
    check_image_loaded(frame)
    check_video_plays(frame)
    page.evaluate("() => window.scrollTo(0, 0)")  # Clicks scrolled the host page.
    page.screenshot(path="/tmp/app-iframe.png", full_page=True)


def test_stop_button_stops_the_run_and_shows_its_partial_result(
    page, app_url: str, long_clip: Path, output_root: Path
) -> None:
    page.goto(app_url)
    prepare_run(page.main_frame, long_clip)
    page.locator("#run-button").click()
    page.wait_for_function("() => window.__previewSrcs.length >= 2")  # Under way.
    page.locator("#stop-button").click()
    page.locator("#status").get_by_text("Stopped").first.wait_for(timeout=15_000)
    status = page.locator("#status").inner_text()
    assert "after" in status and "partial" in status, status
    assert "Done" not in status, f"a stopped run's status says it is done: {status}"
    check_video_plays(page.main_frame)  # The partial video, playable.
    frames = int(status.split("after ")[1].split(" frames")[0])
    tracks = max(output_root.glob("job-*/tracks.json"), key=lambda p: p.stat().st_mtime)
    data = json.loads(tracks.read_text())
    assert len(data["frames"]) == frames < 377


# Clicks on the image at a pixel of the frame, as the page maps clicks back to pixels
# (the image is scaled to fit its box, centred).
CLICK_PIXEL_JS = """([selector, x, y]) => {
    const img = document.querySelector(selector + ' img');
    const r = img.getBoundingClientRect();
    const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight, 1);
    const left = r.left + (r.width - img.naturalWidth * scale) / 2;
    const top = r.top + (r.height - img.naturalHeight * scale) / 2;
    return [left + x * scale, top + y * scale];
}"""


def click_pixel(page, x: int, y: int) -> None:
    page.locator("#counting-canvas img").scroll_into_view_if_needed()
    px, py = page.evaluate(CLICK_PIXEL_JS, ["#counting-canvas", x, y])
    page.mouse.click(px, py)


def counting_json(page) -> dict:
    return json.loads(page.locator("#counting textarea").input_value())


def test_draw_a_line_and_a_zone_on_the_first_frame_then_count(page, app_url, clip) -> None:
    page.goto(app_url)
    prepare_run(page.main_frame, clip)
    page.get_by_role("button", name="Counting lines and zones").click()
    check_image_loaded(page.main_frame, "#counting-canvas")
    name = page.locator("#counting-name textarea, #counting-name input").first

    name.fill("middle")
    click_pixel(page, 320, 4)
    page.locator("#counting-note").get_by_text("click its second point").wait_for()
    check_image_loaded(page.main_frame, "#counting-canvas")
    click_pixel(page, 320, 476)
    page.locator("#counting-note").get_by_text("Added line middle").wait_for()
    [line] = counting_json(page)["lines"]
    assert line["name"] == "middle"
    assert np.abs(np.array(line["points"]) - [[320, 4], [320, 476]]).max() <= 2

    page.locator("#counting-kind").get_by_text("Zone").click()
    name.fill("plaza")
    # A click lands only once the frame drawn after the previous one has loaded, as for
    # a person, who sees each point appear before clicking the next.
    for count, (x, y) in enumerate([(20, 300), (300, 300), (300, 470)], start=1):
        click_pixel(page, x, y)
        page.locator("#counting-note").get_by_text(f"plaza: {count} point").wait_for()
        check_image_loaded(page.main_frame, "#counting-canvas")
    page.locator("#counting-close").click()
    page.locator("#counting-note").get_by_text("Added zone plaza").wait_for()
    [zone] = counting_json(page)["zones"]
    assert zone["name"] == "plaza" and len(zone["points"]) == 3
    page.screenshot(path="/tmp/app-counting.png", full_page=True)

    page.locator("#run-button").click()
    page.locator("#status").get_by_text("Done: 71 frames").wait_for()
    status = page.locator("#status").inner_text()
    assert "Line middle:" in status and "Zone plaza:" in status
    assert page.locator('#tables a[download="tracks.csv"]').count() >= 1
    assert page.locator('#tables a[download="objects.csv"]').count() >= 1


def test_mark_the_speed_area_with_four_clicks_then_run_in_km_h(
    page, app_url, clip, output_root: Path
) -> None:
    page.goto(app_url)
    prepare_run(page.main_frame, clip)
    page.get_by_role("button", name="Paths, heat map, privacy, small objects, speed").click()
    check_image_loaded(page.main_frame, "#speed-canvas")
    corners = [(100, 300), (500, 300), (600, 470), (20, 470)]
    for count, (x, y) in enumerate(corners, start=1):
        page.locator("#speed-canvas img").scroll_into_view_if_needed()
        px, py = page.evaluate(CLICK_PIXEL_JS, ["#speed-canvas", x, y])
        page.mouse.click(px, py)
        page.locator("#speed-note").get_by_text(
            f"{count} of 4 points" if count < 4 else "Speed area: 4 points"
        ).wait_for()
        check_image_loaded(page.main_frame, "#speed-canvas")
    text = page.locator("#speed-area textarea").input_value()
    numbers = [float(n) for n in text.replace(",", " ").split()]
    assert np.abs(np.array(numbers).reshape(4, 2) - corners).max() <= 2, text
    page.locator("#speed-width input").fill("4")
    page.locator("#speed-length input").fill("10")
    page.screenshot(path="/tmp/app-speed-area.png", full_page=True)

    page.locator("#run-button").click()
    page.locator("#status").get_by_text("Done: 71 frames").wait_for()
    tracks = max(output_root.glob("job-*/tracks.json"), key=lambda p: p.stat().st_mtime)
    data = json.loads(tracks.read_text())
    # km/h in the tracks: the four points and both sizes reached the run.
    speeds = [o["speed_kmh"] for f in data["frames"] for o in f["objects"]]
    assert speeds and any(s is not None and s > 0 for s in speeds)
