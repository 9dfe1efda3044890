"""Per-run output folders: one per run, removed on failure, pruned when old.

Example:
    >>> import tempfile
    >>> store = OutputStore(Path(tempfile.mkdtemp()))
    >>> run = store.new_run()
    >>> sorted(path.name for path in run.paths("detection").values())
    ['detections.mp4', 'tracks.json']
    >>> store.discard(run)
    >>> run.folder.exists()
    False
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.runs import output_paths

log = logging.getLogger(__name__)

RUN_PREFIX = "run-"

# Runs in progress, across every store of the process: tabs may share a root,
# and one tab's pruning must not remove another tab's running output.
_ACTIVE: set[Path] = set()
_ACTIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class RunOutputs:
    """The files of one run, all inside its own folder."""

    folder: Path

    def paths(self, task: str) -> dict[str, Path]:
        """Where a ``task`` run writes each of its files in this folder."""
        return output_paths(task, self.folder)


class OutputStore:
    """Hands out run folders under ``root`` and cleans them up.

    Finished runs stay on disk so that their files can be downloaded; they are
    removed once older than ``max_age_s`` (checked whenever a run starts), so the
    disk of a long-lived Space does not fill up. Runs still in progress are
    never pruned, however long they take.

    Args:
        root: Folder holding every run folder (created when needed).
        max_age_s: Finished runs older than this are removed by :meth:`prune`.
    """

    def __init__(self, root: Path, max_age_s: float = 3600.0) -> None:
        self.root = Path(root)
        self.max_age_s = max_age_s

    def new_run(self) -> RunOutputs:
        """Create a fresh, empty folder for one run (pruning old ones first).

        Call :meth:`finish` or :meth:`discard` when the run ends.

        Returns:
            The run's output paths.
        """
        self.prune()
        self.root.mkdir(parents=True, exist_ok=True)
        run = RunOutputs(Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self.root)))
        with _ACTIVE_LOCK:
            _ACTIVE.add(run.folder)
        return run

    def finish(self, run: RunOutputs) -> None:
        """Keep a finished run's files (for download) until they are old enough to prune."""
        with _ACTIVE_LOCK:
            _ACTIVE.discard(run.folder)

    def discard(self, run: RunOutputs) -> None:
        """Remove a run's folder and whatever it holds (a failed or stopped run)."""
        with _ACTIVE_LOCK:
            _ACTIVE.discard(run.folder)
        shutil.rmtree(run.folder, ignore_errors=True)

    def prune(self, now: float | None = None) -> int:
        """Remove run folders last modified more than ``max_age_s`` ago.

        Args:
            now: The current time (``time.time()`` when None).

        Returns:
            How many folders were removed.
        """
        if not self.root.is_dir():
            return 0
        now = time.time() if now is None else now
        removed = 0
        with _ACTIVE_LOCK:
            active = set(_ACTIVE)
        for folder in self.root.glob(RUN_PREFIX + "*"):
            if folder in active:
                continue
            try:
                age = now - folder.stat().st_mtime
            except FileNotFoundError:
                continue  # Pruned concurrently by another run.
            if folder.is_dir() and age > self.max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        if removed:
            log.info("removed %d run folder(s) older than %.0f s", removed, self.max_age_s)
        return removed
