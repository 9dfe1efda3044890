"""Serving a Gradio app from a test: a free local port, launch, close."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(demo: Any) -> Iterator[str]:
    """Queue and launch ``demo`` on a free local port; yield its URL; close it after."""
    port = free_port()
    demo.queue().launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Ask a server process to end (SIGTERM); kill it if it has not within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
