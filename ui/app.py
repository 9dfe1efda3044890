"""The Gradio Blocks app: ``build_demo()`` assembles the tabs.

Example:
    demo = build_demo()
    demo.queue(default_concurrency_limit=1).launch()
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ui.components import client_values_said_clearly
from ui.settings import Settings
from ui.tabs.benchmark import BenchmarkHandlers, build_benchmark_tab
from ui.tabs.depth import DepthHandlers, build_depth_tab
from ui.tabs.detection import DetectionHandlers, build_detection_tab
from ui.tabs.live import CAMERA_CSS, LiveHandlers, build_live_tab
from ui.tabs.segmentation import SegmentationHandlers, build_segmentation_tab

TITLE = "Video detection and tracking"
ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi")

INTRO = """\
# Video detection and tracking

Detect and track objects, measure depth and segment them in a video, with the
annotated frames streaming in while it runs, or live from your camera. Every run
is also an API call (**Use via API or MCP**, at the bottom of the page) and an
HTTP job of the REST API (its routes: [docs](docs)).
"""


#: Gradio floats a component's label over its content; over a video frame it hides the
#: counts drawn in the frame's top-left corner. These labels take a line of their own.
FRAME_LABELS_CSS = """
:is([id$="preview"], [id$="result-video"], #live-output, #live-recording)
    > label[data-testid="block-label"] { position: static; }
"""
#: A status line says an error in words; Gradio's red "Error" badge over it would hide them.
STATUS_LINES_CSS = """
:is(#status, #depth-status, #seg-status, #live-status) > [data-testid="status-tracker"] {
    display: none;
}
"""
#: The page's own CSS. Gradio 6 takes it at ``launch(css=...)`` (``Blocks(css=...)`` is
#: deprecated there), so :func:`ui.server.launch` passes it.
#: Gradio hides the footer's API link on a narrow screen; the intro sends phones there too.
#: (No media query: Gradio keeps a top-level rule as written, but scopes a media rule's
#: rules to the app's content, which the footer is not part of.)
API_LINK_CSS = """
footer .show-api { display: flex !important; }
"""
PAGE_CSS = FRAME_LABELS_CSS + STATUS_LINES_CSS + CAMERA_CSS + API_LINK_CSS


def example_videos(folder: Path = ASSETS_DIR) -> list[Path]:
    """Videos in the repository's ``assets/`` folder, offered as examples (may be none)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)


def build_demo(settings: Settings | None = None) -> gr.Blocks:
    """Build the app.

    Args:
        settings: Deployment settings; read from the environment when None.

    Returns:
        The Blocks app, not yet queued nor launched.
    """
    settings = settings or Settings.from_env()
    examples = example_videos()
    # Every frame streamed to the preview becomes a file in Gradio's cache;
    # delete_cache sweeps old ones so a long-lived Space does not fill its disk.
    with gr.Blocks(title=TITLE, delete_cache=settings.delete_cache) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            build_detection_tab(DetectionHandlers(settings), examples)
            build_depth_tab(DepthHandlers(settings), examples)
            build_segmentation_tab(SegmentationHandlers(settings), examples)
            build_live_tab(LiveHandlers(settings))
            build_benchmark_tab(BenchmarkHandlers(settings), examples)
    client_values_said_clearly(demo)
    return demo
