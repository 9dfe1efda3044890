"""A new user's first minutes, in a real Chromium: every tab, its error states, charts and API page.

The whole server as ``python app.py`` serves it (page, REST API, the page's
CSS), offline: only the bundled YOLOX-Nano has weights, so Depth and
Segmentation meet missing weights. The walk at 1280x900: Detection with an
example and a counting line (First frame, Run); Depth and Segmentation
(upload, First frame, Run: each error said in the status line); Live with
Chromium's fake camera (Start, the annotated stream, Stop); Benchmark; the
API page (every endpoint's Python snippet goes through ``compile()``);
``/docs``. At 390x844 the same tabs, each Run button reached and trial-clicked,
without the runs. Stop is walked in
``tests/test_browser.py`` (a longer clip).

It fails on any browser console error, any 4xx/5xx answer to a request of
the page's own, a request that leaves the machine, a status line still
saying "Loading" after an error, a Run button (every tab's) outside the first
screen at 1280x900, and at both sizes a Run button that cannot be clicked
(hidden, covered, disabled or outside the page's width). Each tab's screenshot
is written to ``tests/screenshots/`` (git-ignored; see docs/gradio.md) for a
reviewer to look at without running the app.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from serving import served_server
from test_live_tab import CHROMIUM, FAKE_CAMERA_ARGS, fake_camera_clip  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

if not CHROMIUM.is_file():
    pytest.skip(f"Chromium not found at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
EXAMPLE = "one_by_one_person.mp4"
EXAMPLE_PATH = Path(__file__).resolve().parents[1] / "assets" / EXAMPLE
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000
#: A vertical line through the example clip (768x432), given as the API takes it.
COUNTING = json.dumps({"lines": [{"name": "mid", "points": [[384, 0], [384, 431]]}]})
STATUS_IDS = ("status", "depth-status", "seg-status", "live-status")
#: Each tab's Run (Live: Start), which must be where the eye is after choosing a video.
RUN_BUTTONS = {
    "Detection": "#run-button",
    "Depth": "#depth-run-button",
    "Segmentation": "#seg-run-button",
    "Live": "#live-start",
    "Benchmark": "#bench-run",
}


@dataclass
class Problems:
    """What the page did wrong while it was watched."""

    host: str
    found: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type == "error":
            self.found.append(f"console error: {message.text[:300]}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.found.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def _request(self, request) -> None:
        if urlparse(request.url).hostname not in (self.host, None) and not request.url.startswith(
            ("data:", "blob:")
        ):
            self.found.append(f"a request outside this machine: {request.url}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import models
    from ui.settings import Settings

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("YOLOX_NANO_WEIGHTS", raising=False)  # the bundled copy, as a user has it
        mp.setenv("VIDEO_APP_OUTPUT_DIR", str(tmp_path_factory.mktemp("first-contact-runs")))
        models.clear_cache()
        with served_server(Settings.from_env()) as url:
            yield url
        models.clear_cache()


@pytest.fixture(scope="module")
def browser(fake_camera_clip: Path) -> Iterator[object]:  # noqa: F811 - the fixture above
    args = [*FAKE_CAMERA_ARGS, f"--use-file-for-fake-video-capture={fake_camera_clip}"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield browser
        finally:
            browser.close()


def status_of(page, element_id: str) -> str:
    return page.locator(f"#{element_id}").inner_text()


def wait_for_status(page, element_id: str, text: str) -> str:
    page.locator(f"#{element_id}").get_by_text(text).first.wait_for()
    return status_of(page, element_id)


@functools.cache
def failure_listeners(url: str) -> frozenset[int]:
    """The page's ``.failure()`` listeners (the events that put an error in a status line)."""
    with urllib.request.urlopen(f"{url}config") as answer:
        dependencies = json.load(answer)["dependencies"]
    return frozenset(i for i, d in enumerate(dependencies) if d.get("trigger_only_on_failure"))


def click_then_error_status(page, button: str, element_id: str) -> None:
    """Click ``button``; its own failure reaches the status line, and nothing there still loads.

    The status is read once this click's ``.failure()`` listener has answered:
    the status line alone cannot tell this step's error from the previous
    step's, which may be the very same text (the same missing weights). Reading
    it earlier either caught the step's own "Loading" line beside the previous
    error (a failed CI run) or, waiting for any error, passed on the previous
    step's before this one had even started. A status stuck on "Loading" after
    the error never satisfies the wait.
    """
    url = page.url.split("?")[0].rstrip("/") + "/"
    listeners = failure_listeners(url)

    def this_steps_failure(response) -> bool:
        request = response.request
        if request.method != "POST" or not request.url.endswith("/run/predict"):
            return False
        body = request.post_data_json
        return isinstance(body, dict) and body.get("fn_index") in listeners

    with page.expect_response(this_steps_failure):
        page.locator(button).click()
    page.wait_for_function(
        """([id]) => {
            const text = document.getElementById(id)?.innerText ?? "";
            return text.includes("Error:") && !text.includes("Loading");
        }""",
        arg=[element_id],
    )


def check_run_button(page, tab: str, size: str) -> None:
    """The tab's Run: in the first screen at 1280x900; at any size, reachable and clickable.

    "In the first screen" is measured from the top of the document, whatever the
    page's scroll. "Reachable" is Playwright's trial click: scrolled into view,
    visible, enabled, not covered by anything, and inside the page's width.
    """
    button = page.locator(RUN_BUTTONS[tab])
    bottom = button.evaluate("b => b.getBoundingClientRect().bottom + window.scrollY")
    if size == "1280x900":
        assert bottom <= DESKTOP["height"], f"{tab}: Run below the first screen (ends at {bottom})"
    button.click(trial=True)
    box = button.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (tab, box)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def pick_example(page) -> None:
    """Click the example clip's caption in the tab on show."""
    page.get_by_text(EXAMPLE).filter(visible=True).first.click()


def open_tab(page, name: str) -> None:
    """Select a tab; on a narrow page the last ones are in the "More tabs" menu."""
    tab = page.get_by_role("tab", name=name)
    if not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        tab = page.locator(".overflow-dropdown button").filter(has_text=name)
    tab.click()
    page.locator(RUN_BUTTONS[name]).wait_for(state="visible")  # the tab's content shown


def enter_tab(page, name: str, size: str) -> None:
    """Open a tab (:func:`open_tab`) and check its Run button (:func:`check_run_button`)."""
    open_tab(page, name)
    check_run_button(page, name, size)


def buttons_fail(page, prefix: str, *buttons: str) -> None:
    """Click each of a tab's ``buttons`` (``run``, ``first-frame``) in turn; each failure is said
    (:func:`click_then_error_status`)."""
    for button in buttons:
        click_then_error_status(page, f"#{prefix}-{button}-button", f"{prefix}-status")


def walk_detection(page, size: str, full: bool) -> None:
    """An example, First frame; in full: Run with no video first, its error gone with the
    example; then a counting line and Run."""
    check_run_button(page, "Detection", size)
    if full:
        click_then_error_status(page, "#run-button", "status")
        # A file that is no video is said as soon as it is chosen, not at Run.
        with tempfile.TemporaryDirectory() as folder:
            fake = Path(folder) / "notes.mp4"
            fake.write_text("not a video\n")
            page.locator("#input-video input[type=file]").set_input_files(str(fake))
            wait_for_status(page, "status", "notes.mp4 is not a readable video")
    pick_example(page)
    if full:
        # The error spoke of no video: another video clears it (and the preview's).
        page.wait_for_function("() => document.getElementById('status').innerText.trim() === ''")
    page.locator("#input-video video").wait_for()
    page.locator("#first-frame-button").click()
    wait_for_status(page, "status", "First frame shown")
    # On a phone the preview is below every setting: the press brought it into view.
    in_view = "e => { const b = e.getBoundingClientRect(); return b.top < innerHeight; }"
    assert page.locator("#preview").evaluate(in_view), f"{size}: the preview is out of view"
    if not full:
        shoot(page, f"{size}-detection")
        return
    page.get_by_role("button", name="Counting lines and zones").click()
    page.locator("#counting textarea").fill(COUNTING)
    page.locator("#run-button").click()
    status = wait_for_status(page, "status", "Done: 100 frames")
    assert "Line mid" in status and not re.search(r"\b1 tracks\b", status), status
    page.locator("#result-video video").wait_for()
    page.get_by_role("button", name="Run details").click()
    page.locator("#timing-plot .vega-embed").wait_for()
    shoot(page, f"{size}-detection")
    # Stop: tests/test_browser.py stops a longer run and checks its status the same way.


def walk_depth(page, size: str, full: bool) -> None:
    """An example (the first frame's depth is tried: the missing weights said, nothing
    tried); in full: Run and First frame fail."""
    enter_tab(page, "Depth", size)
    pick_example(page)
    status = wait_for_status(page, "depth-status", "Weights not available here")
    assert "Error" not in status, status
    if full:
        buttons_fail(page, "depth", "run", "first-frame")
    shoot(page, f"{size}-depth")


def walk_segmentation(page, size: str, full: bool) -> None:
    """The weights note said once; in full: First frame and Run fail, each said."""
    enter_tab(page, "Segmentation", size)
    notes = page.locator("#seg-segmenter-info").inner_text()
    assert notes.count("Weights not available here") == 1, notes
    if full:
        page.locator("#seg-input-video input[type=file]").set_input_files(str(EXAMPLE_PATH))
        page.locator("#seg-input-video video").wait_for()
        page.locator("#seg-queries textarea, #seg-queries input").first.fill("person")
        buttons_fail(page, "seg", "first-frame", "run")
    shoot(page, f"{size}-segmentation")


def walk_live(page, size: str, full: bool) -> None:
    """One Start and one Stop; in full: the fake camera's frames come back annotated."""
    enter_tab(page, "Live", size)
    assert not page.locator("#live-camera button.capture-button").is_visible()
    if not full:
        shoot(page, f"{size}-live")
        return
    page.locator("#live-start").click()
    wait_for_status(page, "live-status", "Live for")
    page.locator("#live-output img").wait_for()
    page.locator("#live-stop").click()
    wait_for_status(page, "live-status", "Stopped.")
    shoot(page, f"{size}-live")


def walk_benchmark(page, size: str, full: bool) -> None:
    """One tab label; the monitor charts with no console error (a GPU chart, or its note)."""
    enter_tab(page, "Benchmark", size)
    page.locator("#bench-monitor-machine .vega-embed").wait_for()
    if full:
        page.wait_for_timeout(1500)  # the monitor's timer ticks once a second
    labels = page.get_by_role("tab").all_inner_texts()
    assert labels.count("Benchmark") == 1, labels
    shoot(page, f"{size}-benchmark")


def walk_api_page(page, size: str, url: str) -> None:
    """Every endpoint's Python snippet compiles; the REST API is named."""
    # The footer's "Use via API or MCP", where the intro says it is, at any width.
    page.locator("button.show-api").click()
    page.get_by_text("Python", exact=True).first.click()
    snippets = page.locator("pre").filter(has_text="from gradio_client")
    with urllib.request.urlopen(f"{url}gradio_api/info") as answer:
        endpoints = json.load(answer)["named_endpoints"]
    snippets.nth(len(endpoints) - 1).wait_for()
    texts = snippets.all_inner_texts()
    assert len(texts) == len(endpoints), (len(texts), list(endpoints))
    for endpoint, text in zip(endpoints, texts, strict=True):
        compile(text, f"<API page snippet for {endpoint}>", "exec")
    assert "/docs" in page.locator("body").inner_text()  # the REST API is named there
    shoot(page, f"{size}-api")


def walk_docs(page, size: str, url: str) -> None:
    page.goto(f"{url}docs")
    page.get_by_role("heading", name="Video Analysis").wait_for()
    # Waited for, not counted at once: the operations may render after the title.
    page.get_by_text("/detect/async").first.wait_for()
    shoot(page, f"{size}-docs")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x900", "390x844"])
def test_every_tab_on_first_contact(browser, app_url: str, viewport) -> None:
    size = f"{viewport['width']}x{viewport['height']}"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems = Problems(urlparse(app_url).hostname)
    problems.watch(page)
    try:
        page.goto(app_url)
        page.locator("#run-button").wait_for()
        full = viewport is DESKTOP
        walk_detection(page, size, full)
        walk_depth(page, size, full)
        walk_segmentation(page, size, full)
        walk_live(page, size, full)
        walk_benchmark(page, size, full)
        for element_id in STATUS_IDS:
            text = status_of(page, element_id)
            assert not (text.startswith("Loading") and "Error" in text), (element_id, text)
        walk_api_page(page, size, app_url)
        walk_docs(page, size, app_url)
    finally:
        context.close()
    assert not problems.found, "\n".join(problems.found)
