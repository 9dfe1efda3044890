"""The Depth and Segmentation tabs in a real browser (Debian's Chromium, Python Playwright).

The tabs are built as the app builds them, with tiny random-weight models: Depth
Anything from a tiny config, and YOLO-SAM2 small with a tiny SAM 2 and the
test-only detector that finds the synthetic clip's squares (so that there are
masks to follow). A user's path: open the tab, upload, First frame, Run, watch
the preview, play the result, find the download.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from serving import served
from synthetic import make_video
from test_browser import (  # noqa: F401 - browser is a fixture
    CLICK_PIXEL_JS,
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
            build_depth_tab(DepthHandlers(settings))
            build_segmentation_tab(segmentation)
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


def first_frame_then_run(page, tab: str, prefix: str, clip: Path) -> None:
    """Upload ``clip`` in a tab, show its first frame, then run it: a live preview shows."""
    open_tab_and_upload(page, tab, prefix, clip)
    page.locator(f"#{prefix}-first-frame-button").click()
    check_image_loaded(page, f"#{prefix}-preview", timeout_ms=15_000)
    srcs = run_and_watch(page, prefix, 40)
    assert len(srcs) >= 1, "no live preview during the run"


def test_depth_tab_first_frame_run_and_result(page, clip: Path) -> None:
    first_frame_then_run(page, "Depth", "depth", clip)
    check_image_loaded(page, "#depth-preview", timeout_ms=15_000)
    check_video_plays(page, "#depth-result-video")
    assert "relative inverse depth" in page.locator("#depth-status").inner_text()
    page.get_by_role("button", name="Run details").click()
    assert "relative_inverse" in page.locator("#depth-summary").inner_text()
    page.screenshot(path="/tmp/app-depth-tab.png", full_page=True)


def test_segmentation_tab_run_result_and_masks_download(page, clip: Path) -> None:
    first_frame_then_run(page, "Segmentation", "seg", clip)
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


def click_frame_pixel(page, selector: str, x: int, y: int) -> None:
    """Click the image in ``selector`` at pixel ``(x, y)`` of the frame it shows."""
    page.locator(f"{selector} img").scroll_into_view_if_needed()
    px, py = page.evaluate(CLICK_PIXEL_JS, [selector, x, y])
    page.mouse.click(px, py)


def drag_on_frame(
    page, selector: str, start: tuple[int, int], end: tuple[int, int]
) -> None:
    """Drag across the image in ``selector`` from one pixel of its frame to another."""
    page.locator(f"{selector} img").scroll_into_view_if_needed()
    (x0, y0), (x1, y1) = (page.evaluate(CLICK_PIXEL_JS, [selector, *xy]) for xy in (start, end))
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()


def test_segmentation_tab_follows_objects_picked_by_clicks_and_a_box(page, clip: Path) -> None:
    open_tab_and_upload(page, "Segmentation", "seg", clip)
    page.get_by_role("button", name="Pick objects by hand").click()
    check_image_loaded(page, "#seg-click-canvas", timeout_ms=15_000)
    note = page.locator("#seg-click-note")
    # A click lands once the frame drawn after the previous one has loaded, as for a
    # person, who sees each mark appear before clicking again.
    click_frame_pixel(page, "#seg-click-canvas", 30, 40)  # the red square
    note.get_by_text("Object 1: positive click").wait_for()
    check_image_loaded(page, "#seg-click-canvas", timeout_ms=15_000)
    page.locator("#seg-click-new").click()
    note.get_by_text("Object 2: click on it").wait_for()
    page.locator("#seg-click-mode").get_by_text("Box (drag, or 2 clicks)").click()
    click_frame_pixel(page, "#seg-click-canvas", 146, 186)  # around the blue square
    note.get_by_text("opposite corner").wait_for()
    check_image_loaded(page, "#seg-click-canvas", timeout_ms=15_000)
    click_frame_pixel(page, "#seg-click-canvas", 194, 234)
    note.get_by_text("Object 2: box set").wait_for()
    check_image_loaded(page, "#seg-click-canvas", timeout_ms=15_000)
    # A third object's box, dragged on the frame in one stroke.
    page.locator("#seg-click-new").click()
    note.get_by_text("Object 3: click on it").wait_for()
    drag_on_frame(page, "#seg-click-canvas", (20, 150), (60, 200))
    note.get_by_text("Object 3: box set").wait_for()
    picked = json.loads(page.locator("#seg-prompts textarea").input_value())
    assert picked["frame"] == 0 and len(picked["objects"]) == 3
    dragged = picked["objects"][2]
    assert "points" not in dragged
    assert np.abs(np.array(dragged["box"]) - [20, 150, 60, 200]).max() <= 2
    # The objects move to another frame with the slider's number box: the masks start there.
    frame_box = page.locator("#seg-click-frame input[type=number]")
    frame_box.fill("2")
    frame_box.press("Tab")
    note.get_by_text("The objects are now on frame 2").wait_for()
    check_image_loaded(page, "#seg-click-canvas", timeout_ms=15_000)
    picked = json.loads(page.locator("#seg-prompts textarea").input_value())
    assert picked["frame"] == 2 and len(picked["objects"]) == 3
    [[x, y, label]] = picked["objects"][0]["points"]
    assert label == 1 and abs(x - 30) <= 2 and abs(y - 40) <= 2
    box = picked["objects"][1]["box"]
    assert np.abs(np.array(box) - [146, 186, 194, 234]).max() <= 2
    page.screenshot(path="/tmp/app-segmentation-clicks.png", full_page=True)

    run_and_watch(page, "seg", 40)
    link = page.locator("#seg-json a[download]").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    masks = json.loads(Path(download.value.path()).read_text())
    assert masks["model"]["prompts"]["objects"][1]["box"] == [float(v) for v in box]
    ids = {obj["track_id"] for frame in masks["frames"] for obj in frame["objects"]}
    assert ids <= {1, 2, 3}
    assert masks["model"]["prompts"]["frame"] == 2
    assert [frame["objects"] for frame in masks["frames"][:2]] == [[], []]
