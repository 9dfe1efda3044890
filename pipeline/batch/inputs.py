"""A batch's inputs: files, folders and globs expanded into video files, and their folders."""

from __future__ import annotations

import glob
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.jobs.folders import VIDEO_SUFFIXES

_GLOB_CHARS = re.compile(r"[*?\[]")
_UNSAFE = re.compile(r"[^\w.-]+")


def is_pattern(text: str) -> bool:
    """Whether an input is a glob pattern (``*``, ``?`` or ``[``) rather than a path."""
    return bool(_GLOB_CHARS.search(text))


def is_video_file(path: Path) -> bool:
    """Whether ``path`` is a file with one of the suffixes the app accepts."""
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def expand_inputs(inputs: Sequence[str], *, exclude: Path | None = None) -> list[Path]:
    """The video files that ``inputs`` name, each once, in the order given.

    Args:
        inputs: Files (taken whatever their suffix: the user named them),
            folders (their video files, recursively) and glob patterns (``**``
            included; the video files they match).
        exclude: A folder whose files are never inputs: the batch's own
            output folder, so that a second batch over a folder that holds it
            does not take its annotated videos for inputs.

    Returns:
        Absolute paths; a file named twice (or by a file and a glob) comes once.

    Raises:
        PipelineError: An input that is neither a file, a folder nor a pattern
            that matches anything, or no video at all.
    """
    found: dict[Path, None] = {}
    for given in inputs:
        path = Path(given).expanduser()
        if path.is_file():
            matches = [path]
        elif path.is_dir():
            matches = _videos_in(path)
        elif is_pattern(given):
            matches = []
            for match in sorted(map(Path, glob.glob(str(path), recursive=True))):
                matches += _videos_in(match) if match.is_dir() else [match]
            matches = [m for m in matches if is_video_file(m)]
            if not matches:
                raise PipelineError(f"No video matches {given!r}.")
        else:
            raise PipelineError(f"No such file or folder: {given}")
        for match in matches:
            resolved = match.resolve()
            if exclude is None or not resolved.is_relative_to(exclude.resolve()):
                found.setdefault(resolved, None)
    if not found:
        suffixes = ", ".join(VIDEO_SUFFIXES)
        raise PipelineError(f"No video found in {', '.join(inputs)} (looked for {suffixes}).")
    return list(found)


def _videos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if is_video_file(p))


def output_folder_name(video: Path) -> str:
    """The name of a video's own output folder: its stem and a hash of its full path.

    The hash keeps two inputs with the same stem apart (``a/clip.mp4`` and
    ``b/clip.mp4``) and gives an input the same folder in every batch, whatever
    the other inputs are, so that a second run finds what the first wrote.

    Args:
        video: The input's absolute path.

    Returns:
        A file-system-safe name such as ``clip-3f9a1c2b``.
    """
    digest = hashlib.sha1(str(video).encode()).hexdigest()[:8]
    stem = _UNSAFE.sub("_", video.stem).strip("._") or "video"
    return f"{stem}-{digest}"
