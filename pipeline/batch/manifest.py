"""The batch manifest: one JSON line per video that finished or failed, written as it happens.

Each line holds ``input`` (the video's absolute path), ``task``, ``status``
(``"done"`` or ``"failed"``), ``folder`` (the video's own output folder),
``outputs`` (``{name: path}`` of the files written), ``summary`` (the run's
summary) and ``error`` (one line, for a failed video). Lines are appended and
flushed to disk one at a time, so a batch that is killed leaves every line it
wrote whole; a torn last line (killed mid-write) is ignored when read back.
A later line for the same input wins: a video that failed and then succeeded
is done.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The manifest's name in the batch's output folder.
MANIFEST_NAME = "manifest.jsonl"
#: ``status`` of a video whose outputs are all written.
DONE = "done"
#: ``status`` of a video that could not be processed.
FAILED = "failed"


class Manifest:
    """A batch's manifest file: what earlier runs recorded, and new lines appended.

    Args:
        path: The manifest file (it and its folder are created on the first line).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.latest: dict[str, dict[str, Any]] = {}
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        # A line torn by a kill must not swallow the next one appended.
        self._torn = bool(text) and not text.endswith("\n")
        if text:
            for line in text.splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("input"), str):
                    self.latest[entry["input"]] = entry

    def previous(self, video: Path, task: str, outputs: Mapping[str, Path]) -> str | None:
        """How an earlier batch left ``video``, if that still holds.

        Args:
            video: The input's absolute path.
            task: This batch's task.
            outputs: The files this batch would write for the video, by name.

        Returns:
            :data:`DONE` when the video's latest line says done, for the same
            task, and lists every one of ``outputs`` at the same path, all
            still there; :data:`FAILED` when it says failed, for the same task;
            else None (never seen, another task, or files gone): to be run.
        """
        entry = self.latest.get(str(video))
        if entry is None or entry.get("task") != task:
            return None
        if entry.get("status") == FAILED:
            return FAILED
        recorded = entry.get("outputs") or {}
        done = entry.get("status") == DONE and all(
            recorded.get(name) == str(path) and path.is_file() for name, path in outputs.items()
        )
        return DONE if done else None

    def append(self, entry: Mapping[str, Any]) -> None:
        """Append one line and push it to disk before returning.

        Args:
            entry: The line's fields (JSON-serialisable; paths are written as text).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, default=str, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(("\n" if self._torn else "") + line + "\n")
            file.flush()
            os.fsync(file.fileno())
        self._torn = False
        self.latest[str(entry["input"])] = json.loads(line)
