"""The Gradio Blocks app: ``build_demo()`` assembles the tabs.

Example:
    >>> demo = build_demo()  # doctest: +SKIP
    >>> demo.queue(default_concurrency_limit=1).launch()  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ui.depth_tab import build_depth_tab
from ui.detection_tab import build_detection_tab
from ui.handlers import DetectionHandlers
from ui.segmentation_tab import build_segmentation_tab
from ui.settings import Settings

TITLE = "Video detection and tracking"
ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".avi")

INTRO = """\
# Video detection and tracking

Upload a video, choose a detector and press **Run**: annotated frames stream in
while it is processed, then the annotated video and the tracks (JSON) are ready
to play and download. **First frame** checks the settings on one frame.
"""


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
    handlers = DetectionHandlers(settings)
    # Every frame streamed to the preview becomes a file in Gradio's cache;
    # delete_cache sweeps old ones so a long-lived Space does not fill its disk.
    with gr.Blocks(title=TITLE, delete_cache=settings.delete_cache) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Detection", id="detection"):
                build_detection_tab(handlers, example_videos())
            build_depth_tab(settings, examples=example_videos())
            build_segmentation_tab(settings, examples=example_videos())
    return demo
