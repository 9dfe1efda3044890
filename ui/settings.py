"""The app's deployment settings, read once from environment variables.

Every setting has a default that suits a Hugging Face Space; each can be
changed without touching code (Space "Variables", or the shell locally).

| variable | default | meaning |
|---|---|---|
| ``VIDEO_APP_OUTPUT_DIR`` | ``$TMPDIR/video-analysis-runs`` | root of per-run output folders |
| ``VIDEO_APP_OUTPUT_MAX_AGE_S`` | ``3600`` | finished runs older than this are removed |
| ``VIDEO_APP_CACHE_INTERVAL_S`` | ``300`` | how often Gradio sweeps its file cache |
| ``VIDEO_APP_CACHE_MAX_AGE_S`` | ``3600`` | age at which Gradio's cached files go |
| ``VIDEO_APP_PREVIEW_INTERVAL_S`` | ``0.2`` | least time between two live preview frames |
| ``VIDEO_APP_MAX_DURATION_S`` | ``600`` | longer uploads are refused |

Example:
    >>> settings = Settings.from_env({"VIDEO_APP_MAX_DURATION_S": "60"})
    >>> settings.max_duration_s
    60.0
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.configs import DEFAULT_MAX_DURATION_S

PREFIX = "VIDEO_APP_"


@dataclass(frozen=True)
class Settings:
    """Deployment settings of the UI.

    Attributes:
        output_dir: Root folder of the per-run output folders.
        output_max_age_s: Finished runs older than this are deleted when a new run starts.
        cache_interval_s: Period of Gradio's cache clean-up (``Blocks(delete_cache=...)``).
        cache_max_age_s: Gradio cache files older than this are deleted at each sweep.
            It is also how long a finished result stays downloadable from the page.
        preview_interval_s: Least time between two live preview frames; each one
            becomes a file in Gradio's cache.
        max_duration_s: Videos longer than this are refused.
    """

    output_dir: Path
    output_max_age_s: float = 3600.0
    cache_interval_s: int = 300
    cache_max_age_s: int = 3600
    preview_interval_s: float = 0.2
    max_duration_s: float = DEFAULT_MAX_DURATION_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: ``os.environ``).

        Args:
            environ: Variables to read.

        Returns:
            The settings, defaults where a variable is unset or empty.

        Raises:
            ValueError: A variable is set to something that is not a positive number.
        """
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            raw = env.get(PREFIX + name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{PREFIX}{name} must be a number, not {raw!r}") from None
            if value <= 0:
                raise ValueError(f"{PREFIX}{name} must be positive, not {raw!r}")
            return value

        output_dir = env.get(PREFIX + "OUTPUT_DIR", "").strip()
        return cls(
            output_dir=Path(output_dir or Path(tempfile.gettempdir()) / "video-analysis-runs"),
            output_max_age_s=number("OUTPUT_MAX_AGE_S", 3600.0),
            cache_interval_s=int(number("CACHE_INTERVAL_S", 300)),
            cache_max_age_s=int(number("CACHE_MAX_AGE_S", 3600)),
            preview_interval_s=number("PREVIEW_INTERVAL_S", 0.2),
            max_duration_s=number("MAX_DURATION_S", DEFAULT_MAX_DURATION_S),
        )

    @property
    def delete_cache(self) -> tuple[int, int]:
        """``(interval, age)`` for ``gr.Blocks(delete_cache=...)``."""
        return self.cache_interval_s, self.cache_max_age_s
