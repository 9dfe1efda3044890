"""The whole server: the Gradio app and the REST API on one port, sharing one job store.

Example:
    >>> demo, app = build_server(Settings.from_env())  # doctest: +SKIP
    >>> launch(demo, app, server_name="0.0.0.0", server_port=7860)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.app import build_demo
from ui.compat.gradio_launch import App
from ui.compat.gradio_launch import launch as launch_on
from ui.gpu import device_count
from ui.rest import build_rest_app
from ui.settings import Settings


def build_server(settings: Settings | None = None) -> tuple[gr.Blocks, App]:
    """The Blocks app and the REST app, built from the same settings (so the same job store)."""
    settings = settings or Settings.from_env()
    return build_demo(settings), build_rest_app(settings)


def launch(demo: gr.Blocks, app: App, settings: Settings, **launch_options: Any) -> Any:
    """Queue ``demo`` (one run per device) and launch it onto ``app`` with the REST routes.

    Args:
        demo: The Blocks app.
        app: The REST app (:func:`ui.rest.build_rest_app`).
        settings: Deployment settings (the job store's folder is served to the page).
        **launch_options: Further ``Blocks.launch`` options (address, port...).

    Returns:
        What ``launch()`` returns.
    """
    demo.queue(default_concurrency_limit=device_count())
    # Results are served from the job store; outside the temp dir Gradio must be told.
    allowed = [str(settings.output_dir), *launch_options.pop("allowed_paths", [])]
    return launch_on(demo, app, allowed_paths=allowed, **launch_options)
