"""ZeroGPU on this machine: a stand-in for the device API that lends the GPUs, and a launcher.

On a ZeroGPU Space, ``spaces`` (imported first by ``app.py``) patches torch in
the main process so that CUDA *looks* available while none is, and every
``spaces.GPU`` call asks the Space's device API (``SPACES_ZERO_DEVICE_API_URL``)
for a GPU, then runs in a forked worker where torch is unpatched. Both parts
are the real ``spaces`` code here: :class:`DeviceApi` answers its HTTP calls
on loopback (every schedule granted at once), and :func:`zero_gpu_env` is the
environment that switches the patching on. The only thing this machine cannot
do is a worker's CUDA set-up (``spaces.zero.torch.init`` and ``move`` need an
NVIDIA device); ``python tests/zerogpu.py app.py`` runs ``app.py`` with those two
steps replaced by nothing, so a GPU call runs its function in a real forked
worker that has no CUDA, i.e. on the CPU.

Example:
    >>> with DeviceApi() as api:  # doctest: +SKIP
    ...     env = zero_gpu_env(api.url)
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from serving import LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    server: _ApiServer

    def log_message(self, *_: Any) -> None:  # quiet: the test reads the calls instead
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.server.calls.append((time.time(), url.path, params))
        if url.path == "/schedule":
            token = uuid.uuid4().hex
            self._answer(200, {"idle": True, "nvidiaIndex": 0, "nvidiaUUID": "GPU-standin",
                               "allowToken": token})  # fmt: skip
        elif url.path in ("/startup-report", "/allow", "/release"):
            self._answer(200)
        else:
            self._answer(404)

    def do_GET(self) -> None:  # noqa: N802
        self.server.calls.append((time.time(), urlparse(self.path).path, {}))
        self._answer(200, 0.0)


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[tuple[float, str, dict[str, str]]] = []


class DeviceApi(LoopbackServer):
    """The ZeroGPU device API on loopback: reports accepted, every GPU request granted.

    Attributes:
        url: Its address, for ``SPACES_ZERO_DEVICE_API_URL``.
        calls: ``(time.time(), path, query parameters)`` of every call received, in order.
    """

    def __init__(self) -> None:
        super().__init__(_ApiServer())
        self.calls = self._server.calls

    def scheduled(self) -> list[dict[str, str]]:
        """The parameters of every GPU request (``durationSeconds``...)."""
        return [params for _, path, params in self.calls if path == "/schedule"]


def zero_gpu_env(api_url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which ``import spaces`` behaves as on a ZeroGPU Space.

    Args:
        api_url: The device API (:class:`DeviceApi`).
        base: The environment to start from (default: this process's).
    """
    env = dict(os.environ if base is None else base)
    env.update(SPACES_ZERO_GPU="true", SPACES_ZERO_DEVICE_API_URL=api_url)
    # The packed tensors and clean-up links of spaces go here, not under $HOME.
    env.setdefault("ZEROGPU_OFFLOAD_DIR", str(Path(env.get("TMPDIR", "/tmp")) / "zerogpu-tensors"))
    return env


def _without_worker_cuda_setup() -> None:
    """Replace the two worker steps that need an NVIDIA device by nothing (see the docstring)."""
    import spaces  # noqa: F401 - patches torch, as app.py's first import does
    from spaces.zero import torch as zero_torch

    zero_torch.init = lambda nvidia_uuid: None
    zero_torch.move = lambda callback=None: None


if __name__ == "__main__":
    # python tests/zerogpu.py app.py: run the script as `python app.py` would, on "ZeroGPU".
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, str(Path(script).resolve().parent))
    _without_worker_cuda_setup()
    runpy.run_path(script, run_name="__main__")
