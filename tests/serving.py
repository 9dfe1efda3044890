"""Serving a Gradio app from a test: a free local port, launch, close."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _launched(demo: Any, launch: Callable[..., Any], *args: Any, **options: Any) -> Iterator[str]:
    """``launch(*args, **options)`` on a free local port, not blocking; yield the URL; close
    ``demo`` after."""
    port = free_port()
    launch(*args, prevent_thread_lock=True, server_name="127.0.0.1", server_port=port,
           quiet=True, **options)  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextmanager
def served(demo: Any, **launch_options: Any) -> Iterator[str]:
    """Queue and launch ``demo`` on a free local port; yield its URL; close it after.

    ``launch_options`` go to ``launch()`` (the page's ``css``...).
    """
    with _launched(demo, demo.queue().launch, **launch_options) as url:
        yield url


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Ask a server process to end (SIGTERM); kill it if it has not within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def served_server(settings: Any) -> Iterator[str]:
    """The whole server as ``python app.py`` launches it (the page and the REST API).

    Yields:
        Its URL; the server and its job store are closed after.
    """
    from ui.jobs import job_store
    from ui.server import build_server, launch

    demo, app = build_server(settings)
    try:
        with _launched(demo, launch, demo, app, settings) as url:
            yield url
    finally:
        job_store(settings).close()


@contextmanager
def app_process(env: dict[str, str], log: Path) -> Iterator[str]:
    """``python app.py`` in a process of its own, on a free port; yields its URL once it serves.

    Args:
        env: The process's whole environment (``GRADIO_SERVER_*`` are set here).
        log: Where its output goes (shown when it fails to start).
    """
    port = free_port()
    env = {**env, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    time.sleep(0.3)
            assert process.poll() is None, log.read_text()[-3000:]
            yield url
        finally:
            stop_process(process)


ServerT = TypeVar("ServerT", bound="LoopbackServer")


class LoopbackServer:
    """A stand-in HTTP server of a test on 127.0.0.1, serving from a thread during a ``with``.

    Args:
        server: The server, bound to ``("127.0.0.1", 0)``.

    Attributes:
        url: Its address.
    """

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self: ServerT) -> ServerT:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
