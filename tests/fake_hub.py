"""A Hugging Face Hub on loopback, serving a few repositories, for download tests.

``huggingface_hub`` reads its endpoint from ``HF_ENDPOINT`` when it is first
imported, so a test points a fresh process at :class:`FakeHub` (with
``HF_HUB_OFFLINE`` unset and ``HF_HOME`` in a temporary folder). It answers
what ``hf_hub_download`` and ``snapshot_download`` ask: the repository's
revision and file tree under ``/api/models/``, and each file under
``/{repo}/resolve/{revision}/{file}`` (HEAD with the commit, ETag and size, GET
with the bytes, sent in slices so that progress can be seen).

Example:
    >>> with FakeHub({"org/model": {"config.json": b"{}"}}) as hub:  # doctest: +SKIP
    ...     env = {"HF_ENDPOINT": hub.url}
"""

from __future__ import annotations

import hashlib
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

from serving import LoopbackServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Handler(BaseHTTPRequestHandler):
    server: _HubServer

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            for start in range(0, len(body), self.server.slice_bytes):
                self.wfile.write(body[start : start + self.server.slice_bytes])
                self.wfile.flush()
                time.sleep(self.server.slice_pause_s)

    def _json(self, value: Any) -> None:
        self._send(200, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def _route(self) -> None:
        path = unquote(urlparse(self.path).path)
        self.server.requests.append((time.time(), self.command, path))
        repos = self.server.repos
        gated = next((r for r in self.server.gated if f"/{r}/" in f"{path}/"), None)
        if gated is not None:
            # What the Hub answers a request without a token that has been granted access.
            message = f"Access to model {gated} is restricted.".encode()
            return self._send(401, message, {"X-Error-Code": "GatedRepo"})
        if path.startswith("/api/models/"):
            rest = path.removeprefix("/api/models/")
            for repo_id, files in repos.items():
                if rest.startswith(f"{repo_id}/revision/"):
                    siblings = [{"rfilename": name} for name in files]
                    return self._json({"id": repo_id, "sha": COMMIT, "siblings": siblings})
                if rest.startswith(f"{repo_id}/tree/"):
                    tree = [
                        {"type": "file", "path": name, "size": len(data),
                         "oid": hashlib.sha1(data).hexdigest()}
                        for name, data in files.items()
                    ]  # fmt: skip
                    return self._json(tree)
            return self._send(404, b'{"error": "Repository not found"}')
        for repo_id, files in repos.items():
            prefix = f"/{repo_id}/resolve/"
            if path.startswith(prefix):
                _, _, filename = path.removeprefix(prefix).partition("/")
                if filename not in files:
                    return self._send(404, b"Entry not found", {"X-Error-Code": "EntryNotFound"})
                data = files[filename]
                etag = f'"{hashlib.sha256(data).hexdigest()}"'
                headers = {"X-Repo-Commit": COMMIT, "ETag": etag}
                return self._send(200, data, headers)
        return self._send(404, b"Repository not found", {"X-Error-Code": "RepoNotFound"})

    do_GET = _route  # noqa: N815 - http.server's names
    do_HEAD = _route  # noqa: N815


class _HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        repos: dict[str, dict[str, bytes]],
        slice_bytes: int,
        pause_s: float,
        gated: tuple[str, ...] = (),
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.repos = repos
        self.gated = gated
        self.slice_bytes = slice_bytes
        self.slice_pause_s = pause_s
        self.requests: list[tuple[float, str, str]] = []


class FakeHub(LoopbackServer):
    """Serves ``repos`` (``{repo_id: {file name: bytes}}``) as the Hub would, on loopback.

    Args:
        repos: The repositories and their files.
        slice_bytes: A file's bytes are sent in slices of this size...
        pause_s: ...with this pause between them (downloads take a while).
        gated: Repositories refused as gated ones are to a token without access.

    Attributes:
        url: Its address, for ``HF_ENDPOINT``.
        requests: ``(time.time(), method, path)`` of every request, in order.
    """

    def __init__(
        self,
        repos: dict[str, dict[str, bytes]],
        slice_bytes: int = 1 << 16,
        pause_s: float = 0.0,
        gated: tuple[str, ...] = (),
    ) -> None:
        super().__init__(_HubServer(repos, slice_bytes, pause_s, gated))
        self.requests = self._server.requests
