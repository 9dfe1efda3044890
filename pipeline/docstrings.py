"""What a Google-style docstring says of each name in its ``Attributes:`` or ``Args:`` section.

Written once, the meaning of a setting is read from there by the command line's
``--help`` (:mod:`pipeline.cli.options`) and the REST reference (``/docs``).

Example:
    >>> def resize(width: int) -> None:
    ...     '''Resize.
    ...
    ...     Args:
    ...         width: The new width,
    ...             in pixels.
    ...     '''
    >>> documented_args(resize)
    {'width': 'The new width, in pixels.'}
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

_SECTION = re.compile(r"^\s*(Attributes|Args):\s*$")
_ENTRY = re.compile(r"^(\s*)(\w+)(?: \([^)]*\))?:\s*(.*)$")


def documented_attributes(cls: type) -> dict[str, str]:
    """``{name: description}`` from the ``Attributes:`` sections of ``cls`` and its bases.

    Args:
        cls: A class with Google-style docstrings.

    Returns:
        Each documented attribute's text, its lines joined; a subclass's text
        wins over a base's.
    """
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        found.update(_entries(inspect.getdoc(klass) or ""))
    return found


def documented_args(function: Callable[..., Any]) -> dict[str, str]:
    """``{name: description}`` from the ``Args:`` section of ``function``'s docstring."""
    return _entries(inspect.getdoc(function) or "")


def _entries(docstring: str) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    in_section, indent, current = False, None, None
    for line in docstring.splitlines():
        if _SECTION.match(line):
            in_section, indent, current = True, None, None
            continue
        if not in_section:
            continue
        if not line.strip():
            continue
        match = _ENTRY.match(line)
        line_indent = len(line) - len(line.lstrip())
        if indent is None and match:
            indent = line_indent
        if match and line_indent == indent:
            current = match.group(2)
            entries[current] = [match.group(3)]
        elif current is not None and indent is not None and line_indent > indent:
            entries[current].append(line.strip())
        else:
            in_section = False
    return {name: " ".join(parts).strip() for name, parts in entries.items()}
