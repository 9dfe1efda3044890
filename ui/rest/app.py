"""The FastAPI app that carries the REST routes; the Gradio app is launched onto it.

Example:
    app = build_rest_app(Settings.from_env())
    launch(build_demo(settings), app, server_port=7860)
"""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from pipeline.docstrings import documented_args, documented_attributes
from pipeline.jobs import JobStore
from ui.benchmarking import parse_plan, profile_config
from ui.compat.gradio_launch import App, new_app
from ui.jobs import job_store
from ui.monitoring import app_monitor
from ui.rest.benchmark_routes import build_benchmark_router
from ui.rest.docs_page import add_meanings, docs_html
from ui.rest.errors import ApiError, answer_api_error
from ui.rest.forms import RunForm
from ui.rest.guard import (
    REST_PATHS,
    BodyTooLarge,
    RequestGuard,
    answer_body_too_large,
    name_video_types,
)
from ui.rest.routes import NO_VIDEO, build_router
from ui.settings import Settings

VERSION = "1.0"
DESCRIPTION = """\
Asynchronous jobs over HTTP: post a video to `/detect/async`, then follow
`/detect/status/{job_id}`, watch `/detect/stream/{job_id}` (MJPEG) and fetch
`/detect/video/{job_id}` and `/detect/tracks/{job_id}`. The Gradio app and its
named endpoints are served from the same port; jobs and tab runs share the
devices and one queue.
"""

def field_meanings() -> dict[str, dict[str, str]]:
    """Each route's fields, explained where they are read (their docstrings): ``/docs`` shows them.

    Read when the schema is first asked for, not at start-up.
    """
    form = documented_attributes(RunForm)
    plan = documented_args(parse_plan)
    return {
        "/detect": form,
        "/detect/async": form,
        "/benchmark": {
            **plan,
            "devices": plan["device_sets"],
            "format": "``json`` (default) or ``csv`` (the rows alone).",
        },
        "/benchmark/profile": documented_args(profile_config),
    }


#: Fields that mean the same on every route.
SHARED_MEANINGS = {
    "job_id": "The job's id, as the route that started it answered it.",
    "frame_idx": "A frame's number, counting from 0.",
}


#: What a JSON value is called, by the Python type it is read as.
_JSON_NAMES = {
    list: "a list", str: "text", int: "a number", float: "a number", bool: "true or false"
}


async def answer_invalid_request(request: Request, exc: Exception) -> Response:
    """A request its route's declaration refuses: one short line, never the value sent back.

    Gradio's routes keep their own form of it.
    """
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith(REST_PATHS):
        return await request_validation_exception_handler(request, exc)
    first = exc.errors()[0] if exc.errors() else {}
    loc = tuple(first.get("loc", ()))
    if loc == ("body", "video"):  # text where the file goes: as no file at all
        return JSONResponse({"error": NO_VIDEO, "status": 400}, 400)
    if first.get("type") == "json_invalid":
        # FastAPI's own words name a position as a field ("0: JSON decode error").
        reason = first.get("ctx", {}).get("error", "JSON decode error")
        message = f"The body is not valid JSON ({reason} at character {loc[-1]})."
        return JSONResponse({"error": message, "status": 422}, 422)
    if loc == ("body",) and first.get("type") == "dict_type":
        # Pydantic's "Input should be a valid dictionary" names a Python type.
        sent = _JSON_NAMES.get(type(first.get("input")), "a value")
        message = f"The body must be a JSON object ({{...}}), not {sent}."
        return JSONResponse({"error": message, "status": 422}, 422)
    where = " ".join(str(part) for part in loc if part != "body")
    message = f"{where}: {first.get('msg', 'not valid')}".strip(": ")[:200]
    return JSONResponse({"error": message, "status": 422}, 422)


async def answer_http_exception(request: Request, exc: Exception) -> Response:
    """An ``HTTPException`` of a REST route (a form part over Starlette's size): the API's form.

    Gradio's routes keep their own form of it.
    """
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith(REST_PATHS):
        return await http_exception_handler(request, exc)
    message = str(exc.detail)[:200]
    return JSONResponse(
        {"error": message, "status": exc.status_code}, exc.status_code, headers=exc.headers
    )


def build_rest_app(settings: Settings, jobs: JobStore | None = None) -> App:
    """A FastAPI app with the REST routes, documented at ``/docs``.

    Args:
        settings: Deployment settings (upload and duration limits).
        jobs: The job store (default: the app's, for ``settings``).

    Returns:
        The app; launch the Gradio Blocks onto it (:func:`ui.server.launch`).
    """
    # /docs is our own page: FastAPI's (Swagger UI, ReDoc) load their code from a CDN.
    app = new_app(
        title="Video Analysis",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    jobs = jobs or job_store(settings)
    app_monitor()  # sampling from now on: /gpu-monitor answers with a past
    router = APIRouter()
    router.include_router(build_router(jobs, settings))
    router.include_router(build_benchmark_router(jobs, settings))
    app.include_router(router)
    app.add_exception_handler(ApiError, answer_api_error)
    app.add_exception_handler(BodyTooLarge, answer_body_too_large)
    app.add_exception_handler(RequestValidationError, answer_invalid_request)
    app.add_exception_handler(HTTPException, answer_http_exception)
    app.add_middleware(RequestGuard, settings=settings)
    name_video_types()
    # /docs shows the REST routes only: Gradio's own are its client's business
    # (the page's "Use via API" documents its named endpoints).
    schema = functools.cache(
        lambda: add_meanings(
            get_openapi(
                title=app.title, version=VERSION, description=DESCRIPTION, routes=router.routes
            ),
            field_meanings(),
            SHARED_MEANINGS,
        )
    )
    app.openapi = schema  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(schema()))

    return app
