"""Entry point, the same locally and on a Hugging Face Space: ``python app.py``.

``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT`` override the address; the
``VIDEO_APP_*`` variables of :mod:`ui.settings` tune limits and clean-up.
"""

from __future__ import annotations

import os

# On ZeroGPU, spaces must be imported before anything initialises CUDA.
import spaces  # noqa: F401

from ui import build_demo
from ui.gpu import device_count
from ui.settings import Settings

demo = build_demo()

if __name__ == "__main__":
    # One run at a time per device: runs beyond that wait in the queue.
    demo.queue(default_concurrency_limit=device_count()).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        # Run outputs are served from here; outside the temp dir Gradio must be told.
        allowed_paths=[str(Settings.from_env().output_dir)],
    )
