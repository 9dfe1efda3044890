"""Entry point, the same locally and on a Hugging Face Space: ``python app.py``.

``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT`` override the address; the
``VIDEO_APP_*`` variables of :mod:`ui.settings` tune limits and clean-up. The
page, its ``gradio_client`` endpoints and the REST API (``/docs``) share the
port.
"""

from __future__ import annotations

import os

# On ZeroGPU, spaces must be imported before anything initialises CUDA.
import spaces  # noqa: F401

from ui.server import build_server, launch
from ui.settings import Settings
from ui.warm_up import warm_up

settings = Settings.from_env()
demo, rest_app = build_server(settings)

if __name__ == "__main__":
    warm_up(settings)
    launch(
        demo,
        rest_app,
        settings,
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
