"""Launching the Blocks app on a FastAPI app of our own, checked against one gradio version.

``Blocks.launch()`` builds a new FastAPI app, so routes added to ``demo.app``
beforehand are lost; ``gr.mount_gradio_app`` with uvicorn keeps them but skips
what ``spaces`` hooks into ``launch()`` on ZeroGPU. ``launch(_app=...)`` does
both: gradio configures itself on the app it is given (this is how gradio's
own ``gr.Server`` launches), and ``launch()`` itself still runs. ``_app`` is not
public, hence this module.

Importing it on another gradio version raises
:class:`models.compat.IncompatibleVersionError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models.compat import require_version

DISTRIBUTION = "gradio"
#: The gradio release this module was checked against.
VERIFIED_VERSION = "6.31.0"

require_version(DISTRIBUTION, VERIFIED_VERSION, shim=__name__)

import gradio as gr  # noqa: E402 - after the version check
from gradio import route_utils  # noqa: E402
from gradio.routes import App, ORJSONResponse  # noqa: E402


def new_app(**fastapi_options: Any) -> App:
    """A FastAPI app of gradio's own class, for routes that :func:`launch` keeps.

    Its default response class is gradio's ``ORJSONResponse``, as in the app
    gradio builds for itself (``App.create_app``): gradio's routes return
    dicts that only it can write, such as ``/monitoring/summary`` (the API
    page asks for it) with NaN timings, which the standard ``JSONResponse``
    refuses (a 500, "Out of range float values are not JSON compliant").

    Args:
        **fastapi_options: FastAPI's options (title, ``docs_url``...).
    """
    fastapi_options.setdefault("default_response_class", ORJSONResponse)
    return App(**fastapi_options)


def launch(demo: gr.Blocks, app: App, **launch_options: Any) -> Any:
    """``demo.launch(**launch_options)`` on ``app``, keeping the routes ``app`` has.

    Returns:
        What ``launch()`` returns.
    """
    return demo.launch(_app=app, **launch_options)


def serve_inline(media_types: Iterable[str]) -> None:
    """Let gradio's file route serve files of ``media_types`` as what they are.

    Gradio serves a file whose type is not on its list of types safe to show
    (``route_utils.XSS_SAFE_MIMETYPES``) as ``application/octet-stream``, an
    attachment: a ``.ts`` upload (``video/mp2t``) would reach the page's player
    as a download of unknown bytes. Video types run no script, so they are
    as safe as the ``video/mp4`` already on the list.

    Args:
        media_types: The types to serve inline, under their own name.
    """
    route_utils.XSS_SAFE_MIMETYPES.update(media_types)
