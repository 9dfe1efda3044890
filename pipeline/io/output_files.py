"""A run's output paths: checked before it starts, and written so that a failure harms nothing.

:func:`check_outputs` refuses, before any frame is decoded or model loaded,
the paths a run could not write (a folder, a path inside a file, an extension
the writer has no format for) and the paths that would destroy a file the run
needs (its input, or another of its outputs). :class:`OutputFiles` then says
where the run writes and cleans up after it: a run that fails removes the files
and folders it made, and never a file the user had.

Example:
    >>> import tempfile
    >>> temporary = tempfile.TemporaryDirectory()
    >>> folder = Path(temporary.name)
    >>> _ = (folder / "tracks.json").write_text("kept")
    >>> files = OutputFiles({"tracks": folder / "tracks.json", "mot": folder / "new" / "t.txt"})
    >>> files.paths["tracks"] == folder / "tracks.json"  # it exists: written beside it
    False
    >>> files.discard()  # the run failed
    >>> (folder / "tracks.json").read_text(), (folder / "new").exists()
    ('kept', False)
    >>> temporary.cleanup()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from itertools import combinations
from pathlib import Path

from pipeline.errors import OutputPathError


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same place once resolved, or one file twice linked."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): then they are not one file
        return False


def _first_existing(path: Path) -> Path:
    """``path`` or the nearest of its parents that exists."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _either(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


def check_outputs(
    outputs: Mapping[str, Path],
    *,
    inputs: Collection[Path] = (),
    suffixes: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Refuse output paths that cannot be written, or whose writing would destroy a file in use.

    Args:
        outputs: Each output's path, by what it is called in a message
            (``"the tracks output"``, ``"--out"``).
        inputs: The files the run reads; none of them may be an output.
        suffixes: The extensions (lower case, with the dot) some outputs must
            end in, by the same names: the ones their writer has a format for.

    Raises:
        OutputPathError: A path that is a folder, lies inside a file, ends in
            an extension its writer cannot write, is one of ``inputs``, or is
            given for two outputs.
    """
    for label, path in outputs.items():
        if path.is_dir():
            raise OutputPathError(f"{path} ({label}) is a folder; name a file to write.")
        existing = _first_existing(path.parent)
        if not existing.is_dir():
            raise OutputPathError(
                f"{path} ({label}) cannot be written: {existing} is not a folder."
            )
        allowed = tuple((suffixes or {}).get(label, ()))
        if allowed and path.suffix.lower() not in allowed:
            raise OutputPathError(
                f"{path} ({label}) must end in {_either(allowed)}: the only formats written there."
            )
        for source in inputs:
            if same_file(path, source):
                raise OutputPathError(
                    f"{path} ({label}) is the input {source.name}: writing it would destroy "
                    "the input; name another file."
                )
    for (first, a), (second, b) in combinations(outputs.items(), 2):
        if same_file(a, b):
            raise OutputPathError(
                f"{a} is named for two outputs ({first} and {second}); give each its own file."
            )


class OutputFiles:
    """Where a run writes its files, and the clean-up after it.

    A file that does not exist yet is written at its own path (a live run's
    video there plays whenever the run is cut off). A file that exists is the
    user's: the run writes beside it under a hidden name, and :meth:`keep`
    replaces it (its permissions kept) only once the run's result is kept, so a
    run that fails leaves it as it was. Missing folders are made now;
    :meth:`discard` removes them again, with every file the run made.

    Args:
        outputs: Each output's path, by name (checked by :func:`check_outputs`).

    Attributes:
        paths: Where the run writes each of its files while it runs, by name.
    """

    def __init__(self, outputs: Mapping[str, Path]) -> None:
        self.paths: dict[str, Path] = {}
        #: The existing file (symlinks followed) each file written beside it replaces.
        self._replaces: dict[str, Path] = {}
        self._folders: list[Path] = []
        self._settled = False
        try:
            for name, path in outputs.items():
                self._make_folders(path.parent)
                self.paths[name] = self._beside(name, path) if path.exists() else path
        except BaseException:
            self.discard()
            raise

    def _make_folders(self, folder: Path) -> None:
        missing = [f for f in (folder, *folder.parents) if not f.exists()]
        for each in reversed(missing):
            try:
                each.mkdir()
            except FileExistsError:
                if not each.is_dir():
                    raise
                # Made meanwhile by another run writing there (a batch's workers start
                # together): used, and not this run's to remove.
                continue
            self._folders.append(each)

    def _beside(self, name: str, path: Path) -> Path:
        target = path.resolve()
        # The writer picks its format by the extension: the hidden file keeps it.
        handle, hidden = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent
        )
        os.close(handle)
        self._replaces[name] = target
        return Path(hidden)

    def keep(self) -> None:
        """The run's result is kept: the files written beside existing ones replace them."""
        if self._settled:
            return
        self._settled = True
        for name, target in self._replaces.items():
            shutil.copymode(target, self.paths[name])
            os.replace(self.paths[name], target)

    def discard(self) -> None:
        """The run failed: remove the files and folders it made, and nothing else."""
        if self._settled:
            return
        self._settled = True
        for path in self.paths.values():  # new files, or hidden ones beside the user's
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for folder in reversed(self._folders):
            with contextlib.suppress(OSError):  # something else was put there: it stays
                folder.rmdir()
