"""Per-stage wall-clock timing, accumulated into a ``{stage: seconds}`` dict.

Models time their own stages (preprocess, inference, postprocess) and the
pipeline times the rest; every run's summary reports the sums.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def timed(timing: dict[str, float], stage: str) -> Iterator[None]:
    """Add the time spent in the ``with`` block to ``timing[stage]``.

    Example:
        >>> timing = {}
        >>> with timed(timing, "decode"):
        ...     pass
        >>> list(timing)
        ['decode']
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        timing[stage] = timing.get(stage, 0.0) + time.perf_counter() - start


def add_timing(total: dict[str, float], part: Mapping[str, float], prefix: str = "") -> None:
    """Add each stage's seconds of ``part`` into ``total`` (stage names prefixed).

    Example:
        >>> total = {"depth_inference": 1.0}
        >>> add_timing(total, {"inference": 0.5}, prefix="depth_")
        >>> total
        {'depth_inference': 1.5}
    """
    for stage, seconds in part.items():
        total[prefix + stage] = total.get(prefix + stage, 0.0) + seconds
