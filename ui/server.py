"""The whole server: the Gradio app and the REST API on one port, sharing one job store.

Example:
    demo, app = build_server(Settings.from_env())
    launch(demo, app, server_name="0.0.0.0", server_port=7860)
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import gradio as gr

from ui.app import PAGE_CSS, build_demo
from ui.compat.gradio_launch import App, serve_inline
from ui.compat.gradio_launch import launch as launch_on
from ui.gpu import device_count
from ui.jobs import job_store
from ui.rest import build_rest_app
from ui.rest.guard import VIDEO_TYPES
from ui.settings import Settings

log = logging.getLogger(__name__)
#: Where the MCP server answers (streamable HTTP; ``sse`` under it for older clients).
MCP_PATH = "/gradio_api/mcp/"
MCP_MISSING = (
    "MCP server off: the `mcp` package is not installed "
    '(pip install "gradio[mcp]==6.31.0", as requirements.txt does). '
    "Set VIDEO_APP_MCP_SERVER=false to silence this."
)


def build_server(settings: Settings | None = None) -> tuple[gr.Blocks, App]:
    """The Blocks app and the REST app, built from the same settings (so the same job store)."""
    settings = settings or Settings.from_env()
    return build_demo(settings), build_rest_app(settings)


def launch(demo: gr.Blocks, app: App, settings: Settings, **launch_options: Any) -> Any:
    """Queue ``demo`` (one run per device) and launch it onto ``app`` with the REST routes.

    The public named endpoints are also MCP tools at :data:`MCP_PATH` unless
    ``settings.mcp_server`` is off (or ``mcp_server=`` says otherwise); without
    the ``mcp`` package the app starts all the same, without them, and says why.

    Args:
        demo: The Blocks app.
        app: The REST app (:func:`ui.rest.build_rest_app`).
        settings: Deployment settings (the job store's folder is served to the
            page, its uploads and inputs never; the upload limit; whether to
            serve MCP).
        **launch_options: Further ``Blocks.launch`` options (address, port...); ``css``
            defaults to the page's own (:data:`ui.app.PAGE_CSS`).

    Returns:
        What ``launch()`` returns.
    """
    demo.queue(default_concurrency_limit=device_count())
    # Results are served from the job store; outside the temp dir Gradio must be told.
    allowed = [str(settings.output_dir), *launch_options.pop("allowed_paths", [])]
    # ...but never what clients sent: a job's input is not one of its results.
    store = job_store(settings)
    blocked = [str(path) for path in store.private_folders()]
    mcp_server = launch_options.pop("mcp_server", settings.mcp_server)
    launch_options.setdefault("css", PAGE_CSS)
    # An uploaded .ts or .mkv is served to the page's player as the video it is.
    serve_inline(VIDEO_TYPES.values())
    if mcp_server and importlib.util.find_spec("mcp") is None:
        # A missing optional extra should not take the page and the REST API down with it.
        log.warning(MCP_MISSING)
        mcp_server = False
    return launch_on(
        demo, app, allowed_paths=allowed, blocked_paths=blocked, mcp_server=mcp_server,
        # Gradio's upload route counts a file's bytes as they stream in.
        max_file_size=settings.max_upload_bytes, **launch_options,
    )  # fmt: skip
