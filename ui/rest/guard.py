"""What every request to the server goes through, before any route sees it.

- **Body size.** A body over the upload limit (a REST body without a file:
  1 MB; one without a file on Gradio's routes, MCP's aside: 16 MB) is
  refused (413) as soon as that is known: at once when its declared
  ``Content-Length`` says so, else when the bytes counted as they stream in
  pass it (a chunked body), so a body is never stored past the limit. This
  holds for every route, the REST API's, Gradio's upload route and its queue.
- **Access token.** With ``VIDEO_APP_ACCESS_TOKEN`` set, the REST routes, the
  MCP server and ``gradio_client``'s calls answer only requests that carry it
  (``Authorization: Bearer <token>``; ``Client(url, headers={...})``); the
  page stays as open as the Space. ``gradio_client`` is told apart from the
  page by the ``x-gradio-user: api`` header it sends: that keeps honest
  clients to the token, not a client that imitates the page.
- **Served files.** Every answer says ``X-Content-Type-Options: nosniff``, so
  a browser takes each file for the type the server names, never what its
  bytes look like; the video types the app accepts are named for what they are.

Example:
    app.add_middleware(RequestGuard, settings=Settings.from_env())
"""

from __future__ import annotations

import hmac
import json
import mimetypes
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from ui.settings import Settings

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Room beyond the upload limit for a form's other fields and its multipart framing.
FORM_OVERHEAD_BYTES = 1 << 20
#: The REST API's paths.
REST_PATHS = ("/detect", "/benchmark", "/gpu-monitor")
#: Where MCP's tool calls come, a video possibly inside as a ``data:`` URL.
MCP_PATH = "/gradio_api/mcp"
#: Paths that need the access token when one is set (the REST API and MCP).
TOKEN_PATHS = (*REST_PATHS, MCP_PATH)
#: Most a body that is not a form may be on Gradio's other routes: its queue's
#: JSON holds file references, not files, and at most a webcam frame as a JPEG
#: ``data:`` URL (the Live tab). Under the upload limit alone, one request of a
#: gigabyte of JSON would be parsed whole in memory.
JSON_BODY_BYTES = 16 << 20
#: Video types by suffix, where Python's own table names another kind of file
#: (``.ts`` would be served as Qt's ``text/vnd.trolltech.linguist``) or none.
VIDEO_TYPES = {
    ".ts": "video/mp2t",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
}


def name_video_types() -> None:
    """Register :data:`VIDEO_TYPES` with :mod:`mimetypes`, which every file route reads."""
    for suffix, media_type in VIDEO_TYPES.items():
        mimetypes.add_type(media_type, suffix)


class BodyTooLarge(HTTPException):
    """A request body passed the limit while it streamed in.

    An ``HTTPException`` so that it reaches the app's handler as it is (FastAPI
    turns other errors raised while it reads a form into a 400).
    """

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


async def answer_body_too_large(request: Request, exc: Exception) -> JSONResponse:
    """The handler of :class:`BodyTooLarge`: the API's JSON error."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail, "status": 413}, 413, headers={"Connection": "close"})


def too_large_message(settings: Settings) -> str:
    """What a client reads when its upload is over the limit."""
    return f"The upload is larger than {settings.max_upload_mb:g} MB, the most this server takes."


class RequestGuard:
    """ASGI middleware: body limit, access token, ``nosniff`` (see the module).

    Args:
        app: The app it guards.
        settings: The upload limit and the access token.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.body_limit = settings.max_upload_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not self._token_ok(scope["path"], headers):
            await _answer(
                send, 401, "This server needs its access token: send it as "
                "'Authorization: Bearer <token>'.", {"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
            return
        limit, message = self.body_limit, too_large_message(self.settings)
        multipart = headers.get("content-type", "").startswith("multipart/")
        if scope["path"].startswith(REST_PATHS) and not multipart:
            # A REST body that is not a form with a file is a few rows of JSON.
            limit = FORM_OVERHEAD_BYTES
            message = f"The request body is larger than {limit // 1024} KB, the most it may be."
        elif not multipart and not scope["path"].startswith(MCP_PATH):
            limit = min(limit, JSON_BODY_BYTES)
            message = f"The request body is larger than {limit >> 20} MB, the most it may be."
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, message, {"Connection": "close"})
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(message)
            return event

        async def with_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                if b"x-content-type-options" not in names:
                    message["headers"] = [
                        *message.get("headers", []), (b"x-content-type-options", b"nosniff")
                    ]
            await send(message)

        await self.app(scope, counted, with_nosniff)

    def _token_ok(self, path: str, headers: Headers) -> bool:
        token = self.settings.access_token
        # gradio_client marks its calls (the page's own requests to the same routes do not).
        api_client = path.startswith("/gradio_api/") and headers.get("x-gradio-user") == "api"
        if token is None or not (path.startswith(TOKEN_PATHS) or api_client):
            return True
        scheme, _, sent = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            sent.strip().encode(), token.encode()
        )


async def _answer(send: Send, status: int, message: str, headers: dict[str, str]) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-content-type-options", b"nosniff"),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})
