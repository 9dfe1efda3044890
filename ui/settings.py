"""The app's deployment settings, read once from environment variables.

Every setting has a default that suits a Hugging Face Space; each can be
changed without touching code (Space "Variables", or the shell locally): the
variable is ``VIDEO_APP_`` and the field's name in capitals.

Each field's default is written once, in :class:`Settings`; ``docs/settings.md``
tabulates them with their variables (``tests/test_docs.py`` checks that it agrees).

Example:
    >>> settings = Settings.from_env({"VIDEO_APP_MAX_DURATION_S": "60"})
    >>> settings.max_duration_s
    60.0
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.configs import PREVIEW_INTERVAL_S, RunConfig
from pipeline.io.video_limits import (
    DEFAULT_MAX_DURATION_S,
    DEFAULT_MAX_FPS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_VIDEO_FRAMES,
    VideoLimits,
)

PREFIX = "VIDEO_APP_"
#: The job store's folder under the temporary directory, unless ``VIDEO_APP_OUTPUT_DIR`` says.
OUTPUT_DIR_NAME = "video-analysis-runs"
#: Set on every Hugging Face Space (its ``owner/name``), and nowhere else.
SPACE_ENV_VAR = "SPACE_ID"
#: Proxies in front of an app on a Space, each appending to ``X-Forwarded-For``.
SPACE_PROXY_HOPS = 1
MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Deployment settings of the app.

    Attributes:
        output_dir: The job store's folder: one folder per run (tabs and REST alike).
        output_max_age_s: Finished runs older than this are deleted by the sweep.
        output_max_disk_mb: Bound on the job store's disk use; the oldest finished
            runs go first.
        sweep_interval_s: How often the sweep runs.
        max_queued_jobs: Runs waiting for a device at most; more are refused.
        max_upload_mb: Uploads larger than this are refused, on every route
            that takes a file (REST, Gradio's upload), counted as they stream in.
        cache_interval_s: Period of Gradio's cache clean-up (``Blocks(delete_cache=...)``).
        cache_max_age_s: Gradio cache files older than this are deleted at each sweep.
        preview_interval_s: Least time between two live preview frames; each one
            becomes a file in Gradio's cache.
        max_duration_s: Videos longer than this are refused.
        max_pixels: Videos whose frames have more pixels are refused (from
            their headers, before a frame is decoded).
        max_fps: Videos at a higher frame rate are refused.
        max_video_frames: Videos with more frames are refused (counted from
            the stream when the container states no length; enforced while
            decoding too).
        max_query_chars: Longer ``queries`` (class names or free text) are refused.
        max_benchmark_rows: A benchmark grid with more combinations is refused.
        format_checks: Uploads whose format is checked at once; the others
            wait for a turn (the check decodes a frame).
        max_queued_per_client: Jobs one client (its token, else its address
            as the Space's proxy forwards it: :mod:`ui.clients`) may have
            waiting, from REST, the page and ``gradio_client`` alike; more are
            refused (HTTP 429 over REST) so that one client cannot fill the queue.
        trusted_proxy_hops: Proxies in front of the app that each append the
            address they got a request from to ``X-Forwarded-For``: a client's
            address is the entry this many from the right (entries before it
            may be the client's own invention). 0 trusts none (the connection's
            address): the default, since a client reaching the app directly
            writes the header itself. On a Space (:data:`SPACE_ENV_VAR` set)
            unset means :data:`SPACE_PROXY_HOPS`, the Space's own proxy.
        access_token: When set, every REST, MCP and ``gradio_client`` request
            must carry it (``Authorization: Bearer ...``); a Space secret. The
            page stays as open as the Space (:mod:`ui.rest.guard`).
        live_time_limit_s: How long one Live tab session may run; then it stops
            and its recording is finished.
        live_sessions: Live tab sessions processed at once (others wait for one to end).
        live_frame_interval_s: Least time between two webcam frames the page
            sends (a frame is only sent once the previous one is processed).
        gpu_frames_per_call: Frames per GPU call: a longer run is split into
            calls of at most this many frames, its ids, video and files going
            on as one run's. Unset: on ZeroGPU as many as fit one call's time
            limit at the models' throughput (:func:`ui.gpu.frames_per_call`),
            elsewhere the whole run is one call.
        mcp_server: Serve the public named endpoints (``/detect``, ``/depth``,
            ``/segment``...) as MCP tools for AI assistants, beside the page;
            ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``).
        warm_up: Load the default detector while ``python app.py`` starts, on a
            CPU, so that ``runtime="auto"``'s measurement (and an int8 model's
            calibration) is done before the first visitor presses Run
            (:mod:`ui.warm_up`); a yes/no setting like ``mcp_server``.
    """

    output_dir: Path
    output_max_age_s: float = 3600.0
    output_max_disk_mb: float = 10240.0
    sweep_interval_s: float = 60.0
    max_queued_jobs: int = 8
    max_upload_mb: float = 1024.0
    cache_interval_s: int = 300
    cache_max_age_s: int = 3600
    preview_interval_s: float = PREVIEW_INTERVAL_S
    max_duration_s: float = DEFAULT_MAX_DURATION_S
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_fps: float = DEFAULT_MAX_FPS
    max_video_frames: int = DEFAULT_MAX_VIDEO_FRAMES
    max_query_chars: int = 500
    max_benchmark_rows: int = 24
    format_checks: int = 2
    max_queued_per_client: int = 2
    trusted_proxy_hops: int = 0
    access_token: str | None = None
    live_time_limit_s: float = 300.0
    live_sessions: int = 4
    live_frame_interval_s: float = 0.05
    gpu_frames_per_call: int | None = None
    mcp_server: bool = True
    warm_up: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``).

        Args:
            environ: Variables to read.

        Returns:
            The settings, defaults where a variable is unset or empty.

        Raises:
            ValueError: A variable is set to something that is not a positive
                number (a yes/no setting: not one of the words it accepts).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for item in dataclasses.fields(cls):
            raw = env.get(PREFIX + item.name.upper(), "").strip()
            if item.name == "output_dir":
                values[item.name] = Path(raw or Path(tempfile.gettempdir()) / OUTPUT_DIR_NAME)
            elif item.name == "access_token":
                values[item.name] = raw or None
            elif raw and item.type == "bool":
                values[item.name] = _yes_no(item.name, raw)
            elif item.name == "trusted_proxy_hops":
                values[item.name] = (
                    _whole(item.name, raw)
                    if raw
                    else (SPACE_PROXY_HOPS if env.get(SPACE_ENV_VAR) else item.default)
                )
            elif raw:
                kind = int if str(item.type).startswith("int") else float
                values[item.name] = _positive(item.name, raw, kind)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def delete_cache(self) -> tuple[int, int]:
        """``(interval, age)`` for ``gr.Blocks(delete_cache=...)``."""
        return self.cache_interval_s, self.cache_max_age_s

    @property
    def video_limits(self) -> VideoLimits:
        """The limits every uploaded video must fit."""
        return RunConfig(**self.run_limits).video_limits()

    @property
    def run_limits(self) -> dict[str, float | int]:
        """The same limits as a run config's fields (:class:`pipeline.configs.RunConfig`)."""
        return {
            "max_duration_s": self.max_duration_s,
            "max_pixels": self.max_pixels,
            "max_fps": self.max_fps,
            "max_video_frames": self.max_video_frames,
        }

    @property
    def max_upload_bytes(self) -> int:
        """:attr:`max_upload_mb` in bytes."""
        return int(self.max_upload_mb * MIB)

    @property
    def output_max_disk_bytes(self) -> int:
        """:attr:`output_max_disk_mb` in bytes."""
        return int(self.output_max_disk_mb * MIB)


def _positive(name: str, raw: str, kind: type) -> float | int:
    try:
        value = kind(float(raw)) if kind is int else float(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name.upper()} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{PREFIX}{name.upper()} must be positive, not {raw!r}")
    return value


def _whole(name: str, raw: str) -> int:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value.is_integer() or value < 0:
        raise ValueError(f"{PREFIX}{name.upper()} must be a whole number from 0, not {raw!r}")
    return int(value)


_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")


def _yes_no(name: str, raw: str) -> bool:
    word = raw.lower()
    if word in _YES or word in _NO:
        return word in _YES
    raise ValueError(
        f"{PREFIX}{name.upper()} must be one of {', '.join(_YES + _NO)}, not {raw!r}"
    )
