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
from serving import served
from synthetic import make_video
from test_browser import (  # noqa: F401 - browser is a fixture
    TIMEOUT_MS,
    VIEWPORT,
    WATCH_IMAGE_JS,
    browser,
    check_image_loaded,
    check_video_plays,
)

import models

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("tabs") / "shapes.mp4", frames=40)


@pytest.fixture(scope="module")
def app_url(
    tiny_depth_weights: Path,
    tiny_sam2_weights: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    import gradio as gr

    from ui.settings import Settings
    from ui.tabs.depth import DepthHandlers, build_depth_tab
    from ui.tabs.segmentation import SegmentationHandlers, build_segmentation_tab

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEPTH_ANYTHING_WEIGHTS", str(tiny_depth_weights))
        mp.delenv("DEPTH_ANYTHING_V2_SMALL_WEIGHTS", raising=False)
        mp.setenv("SAM2_SMALL_WEIGHTS", str(tiny_sam2_weights))
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
        try:
            with served(demo) as url:
                yield url
        finally:
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


def run_and_watch(page, prefix: str, frames: int) -> list[str]:
    """Press Run, wait for the result; return the preview srcs seen meanwhile."""
    page.evaluate(WATCH_IMAGE_JS, f"#{prefix}-preview")
    page.locator(f"#{prefix}-run-button").click()
    page.locator(f"#{prefix}-result-video video").wait_for()
    page.locator(f"#{prefix}-status").get_by_text(f"Done: {frames} frames").wait_for()
    return page.evaluate("() => window.__previewSrcs")


def test_depth_tab_first_frame_run_and_result(page, clip: Path) -> None:
    open_tab_and_upload(page, "Depth", "depth", clip)
    page.locator("#depth-first-frame-button").click()
    check_image_loaded(page, "#depth-preview", timeout_ms=15_000)
    srcs = run_and_watch(page, "depth", 40)
    assert len(srcs) >= 1, "no live preview during the run"
    check_image_loaded(page, "#depth-preview", timeout_ms=15_000)
    check_video_plays(page, "#depth-result-video")
    assert "relative inverse depth" in page.locator("#depth-status").inner_text()
    page.get_by_role("button", name="Run details").click()
    assert "relative_inverse" in page.locator("#depth-summary").inner_text()
    page.screenshot(path="/tmp/app-depth-tab.png", full_page=True)


def test_segmentation_tab_run_result_and_masks_download(page, clip: Path) -> None:
    open_tab_and_upload(page, "Segmentation", "seg", clip)
    page.locator("#seg-first-frame-button").click()
    check_image_loaded(page, "#seg-preview", timeout_ms=15_000)
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
