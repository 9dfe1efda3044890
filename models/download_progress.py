"""How far a download of weights is, reported as bytes done and bytes in all.

``huggingface_hub`` reports its downloads through ``tqdm`` bars (it takes a
``tqdm_class``); :func:`reporting_tqdm` makes one that draws nothing and
passes the bars' byte counts to a callback. Our own URL downloads report the
same way (:func:`copy_reporting`).

Example:
    >>> seen = []
    >>> bar = reporting_tqdm(lambda done, total: seen.append((done, total)))(total=10, unit="B")
    >>> bar.update(4)
    >>> seen[-1]
    (4, 10)
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import IO, Any

from tqdm import tqdm

#: ``progress(done_bytes, total_bytes)``; the total is None while unknown.
ByteProgress = Callable[[int, int | None], None]

#: Bytes read per step of :func:`copy_reporting`.
CHUNK_BYTES = 1 << 20


def reporting_tqdm(progress: ByteProgress) -> type[tqdm]:
    """A ``tqdm`` class whose byte bars report to ``progress`` instead of drawing.

    A download may open several byte bars at once (``snapshot_download`` opens
    one for the bytes received and one for the bytes written, with the same
    totals); the report is their sums, so the done/total ratio is right
    whichever bars a version of the library opens. Bars counting other things
    (files) are left out.

    Args:
        progress: Called after each update of a byte bar.

    Returns:
        The class, for ``tqdm_class=``.
    """
    bars: list[tqdm] = []
    lock = threading.Lock()

    def report() -> None:
        with lock:
            counted = [bar for bar in bars if bar.unit == "B"]
            done = sum(int(bar.n) for bar in counted)
            totals = [bar.total for bar in counted]
        known = None if not totals or any(t is None for t in totals) else int(sum(totals))
        progress(done, known)

    class ReportingTqdm(tqdm):
        monitor_interval = 0  # no tqdm monitor thread for bars nobody sees

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Never drawn: the caller shows the progress its own way.
            kwargs.update(disable=False, file=io.StringIO(), leave=False)
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)
            with lock:
                bars.append(self)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            report()
            return shown

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            super().refresh(*args, **kwargs)
            report()  # a total that grows is set then refreshed

    return ReportingTqdm


def copy_reporting(
    source: IO[bytes], target: IO[bytes], total: int | None, progress: ByteProgress | None
) -> int:
    """Copy ``source`` into ``target`` in chunks, reporting the bytes copied.

    Args:
        source: A readable response or file.
        target: Where the bytes go.
        total: The expected size (a ``Content-Length``), or None.
        progress: Called after each chunk (and once at the start).

    Returns:
        The bytes copied.
    """
    done = 0
    if progress is not None:
        progress(0, total)
    while chunk := source.read(CHUNK_BYTES):
        target.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return done
