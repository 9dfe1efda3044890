"""The Depth and Segmentation tabs in a real browser (Debian's Chromium, Python Playwright).

The tabs are built as the app builds them, with tiny random-weight models: Depth
Anything from a tiny config, and YOLO-SAM2 small with a tiny SAM 2 and the
test-only detector that finds the synthetic clip's squares (so that there are
masks to follow). A user's path: open the tab, upload, First frame, Run, watch
the preview, play the result, find the download.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from synthetic import make_video
from test_browser import TIMEOUT_MS, VIEWPORT, browser, free_port  # noqa: F401 - fixture
from test_segmentation import tiny_checkpoint  # noqa: F401 - fixture

import models

pytestmark = [
    pytest.mark.browser,
    # sam2's optional CUDA extension is not built by its PyPI package (see the README).
    pytest.mark.filterwarnings("ignore:cannot import name '_C':UserWarning"),
]

# Records every src an element's image takes, including images Svelte replaces.
WATCH_IMAGE_JS = """(selector) => {
    window.__srcs = [];
    const root = document.querySelector(selector);
    const record = () => {
        const img = root.querySelector('img');
        const src = img && img.getAttribute('src');
        const srcs = window.__srcs;
        if (src && srcs[srcs.length - 1] !== src) srcs.push(src);
    };
    new MutationObserver(record).observe(root, {
        subtree: true, childList: true, attributes: true, attributeFilter: ['src'],
    });
    record();
}"""

PLAY_JS = """async (selector) => {
    const video = document.querySelector(selector + ' video');
    video.muted = true;
    await video.play();
    return true;
}"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("tabs") / "shapes.mp4", frames=40)


@pytest.fixture(scope="module")
def app_url(
    tiny_depth_weights: Path,
    tiny_checkpoint: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    import gradio as gr

    from ui.depth_tab import DepthHandlers, build_depth_tab
    from ui.segmentation_tab import SegmentationHandlers, build_segmentation_tab
    from ui.settings import Settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEPTH_ANYTHING_WEIGHTS", str(tiny_depth_weights))
        mp.delenv("DEPTH_ANYTHING_V2_SMALL_WEIGHTS", raising=False)
        mp.setenv("SAM2_SMALL_WEIGHTS", str(tiny_checkpoint))
        models.clear_cache()
        settings = Settings(output_dir=tmp_path_factory.mktemp("tab-runs"), preview_interval_s=0.05)
        segmentation = SegmentationHandlers(
            settings,
            segmenters=["YSAM2-S"],
            config_overrides={"detector": "test_shapes", "max_objects": 3, "window": 8},
        )
        with gr.Blocks(delete_cache=settings.delete_cache) as demo, gr.Tabs():
            build_depth_tab(handlers=DepthHandlers(settings))
            build_segmentation_tab(handlers=segmentation)
        port = free_port()
        demo.queue().launch(
            prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True
        )
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()
            models.clear_cache()


@pytest.fixture
def page(browser, app_url: str) -> Iterator[object]:  # noqa: F811
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    try:
        yield page
    finally:
        context.close()


def open_tab_and_upload(page, tab: str, prefix: str, clip: Path) -> None:
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{prefix}-run-button").wait_for()
    page.locator(f"#{prefix}-input-video input[type=file]").set_input_files(str(clip))
    page.locator(f"#{prefix}-input-video video").wait_for()  # Uploaded and shown.


def image_loaded(page, selector: str) -> None:
    page.wait_for_function(
        "(s) => { const i = document.querySelector(s + ' img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
        timeout=15_000,
    )


def run_and_watch(page, prefix: str, frames: int) -> list[str]:
    """Press Run, wait for the result; return the preview srcs seen meanwhile."""
    page.evaluate(WATCH_IMAGE_JS, f"#{prefix}-preview")
    page.locator(f"#{prefix}-run-button").click()
    page.locator(f"#{prefix}-result-video video").wait_for()
    page.locator(f"#{prefix}-status").get_by_text(f"Done: {frames} frames").wait_for()
    return page.evaluate("() => window.__srcs")


def check_video_plays(page, selector: str) -> None:
    assert page.evaluate(PLAY_JS, selector)
    page.wait_for_function(
        "(s) => { const v = document.querySelector(s + ' video');"
        " return v.readyState >= 2 && v.currentTime > 0.2; }",
        arg=selector,
        timeout=15_000,
    )


def test_depth_tab_first_frame_run_and_result(page, clip: Path) -> None:
    open_tab_and_upload(page, "Depth", "depth", clip)
    page.locator("#depth-first-frame-button").click()
    image_loaded(page, "#depth-preview")
    srcs = run_and_watch(page, "depth", 40)
    assert len(srcs) >= 1, "no live preview during the run"
    image_loaded(page, "#depth-preview")
    check_video_plays(page, "#depth-result-video")
    assert "relative inverse depth" in page.locator("#depth-status").inner_text()
    page.get_by_role("button", name="Run details").click()
    assert "relative_inverse" in page.locator("#depth-summary").inner_text()
    page.screenshot(path="/tmp/app-depth-tab.png", full_page=True)


def test_segmentation_tab_run_result_and_masks_download(page, clip: Path) -> None:
    open_tab_and_upload(page, "Segmentation", "seg", clip)
    page.locator("#seg-first-frame-button").click()
    image_loaded(page, "#seg-preview")
    srcs = run_and_watch(page, "seg", 40)
    assert len(srcs) >= 1, "no live preview during the run"
    status = page.locator("#seg-status").inner_text()
    assert "3 objects" in status, status
    check_video_plays(page, "#seg-result-video")
    link = page.locator("#seg-json a[download]").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    masks = Path(download.value.path()).read_text()
    assert '"counts"' in masks and '"track_id"' in masks
    page.screenshot(path="/tmp/app-segmentation-tab.png", full_page=True)
