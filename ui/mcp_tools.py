"""Public named endpoints as MCP tools: named after the endpoint, described by the whole docstring.

With ``launch(mcp_server=True)`` gradio (checked against 6.31, ``gradio/mcp.py``
and ``gradio.utils.get_function_description``) lists every public named
endpoint as an MCP tool, named after the handler's ``__name__`` and described
by its docstring. Two things get lost on the way:

- the tool name: the three tabs' "first frame" handlers are all called
  ``first_frame``, so gradio would name the tools ``first_frame``,
  ``first_frame_1`` and ``first_frame_2``;
- the description: gradio's parser keeps only the first line of each
  ``Args:`` entry, knows no ``Yields:`` and reads ``Raises:`` as more of
  ``Returns:``.

:func:`as_tool` wraps a handler so that the tool takes the endpoint's name and
a docstring that gradio reads whole (:func:`flat_docstring`); the handler's own
docstring stays in Google style. Endpoints marked ``api_visibility="private"``
(the tabs' helper events, counting editor clicks, timers) are not wrapped and
are never tools: gradio lists public named endpoints only.

Example:
    >>> def count(word: str, letter: str) -> int:
    ...     '''Count a letter in a word.
    ...
    ...     Args:
    ...         word: The word, in any
    ...             case.
    ...         letter: One letter.
    ...
    ...     Returns:
    ...         How many times it occurs.
    ...     '''
    ...     return word.lower().count(letter)
    >>> tool = as_tool(count, "count_letter")
    >>> tool.__name__, tool("Banana", "a")
    ('count_letter', 3)
    >>> print(tool.__doc__)
    Count a letter in a word.
    <BLANKLINE>
    Args:
        word: The word, in any case.
        letter: One letter.
    <BLANKLINE>
    Returns:
        How many times it occurs.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

_ARGS = ("Args", "Arguments", "Parameters")
_RETURNS = ("Returns", "Yields")
_RAISES = ("Raises",)
_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?:\s*(.*)$")
#: Sphinx markup a reader of a tool's description would see raw: ``literal`` and :role:`name`.
_LITERAL = re.compile(r"``(.+?)``")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
#: Said before a generator's ``Yields:`` text: a tool call answers with the last update only.
STREAMED = "The last of the streamed updates:"


def as_tool(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn`` under the name ``name``, with a docstring gradio's MCP server reads whole.

    The wrapper keeps ``fn``'s signature (``inspect.signature`` follows
    ``__wrapped__``), so gradio still injects ``gr.Request`` and names the
    API parameters as before, and stays a generator when ``fn`` is one, so
    its updates still stream to the page.

    Args:
        fn: The handler (a function, bound method or generator function).
        name: The tool's name: the endpoint's ``api_name``.

    Returns:
        The wrapper, to pass to the event listener in place of ``fn``.

    Raises:
        TypeError: ``fn`` is a coroutine or async generator function (no
            handler of this app is; a sync wrapper would break it).
    """
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"as_tool wraps sync handlers only, not {fn!r}")
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def tool(*args: Any, **kwargs: Any) -> Iterator[Any]:
            return (yield from fn(*args, **kwargs))

    else:

        @functools.wraps(fn)
        def tool(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

    tool.__name__ = tool.__qualname__ = name
    streamed = inspect.isgeneratorfunction(fn)
    tool.__doc__ = flat_docstring(inspect.getdoc(fn) or "", streamed=streamed)
    return tool


def flat_docstring(doc: str, *, streamed: bool = False) -> str:
    """A Google-style docstring as gradio's MCP description parser reads it.

    Sphinx markup is dropped (:func:`plain_text`). The summary and
    description become one paragraph, followed by what
    ``Raises:`` says (as "Errors: ..."); each ``Args:`` entry becomes one line;
    ``Returns:`` or ``Yields:`` becomes one line under ``Returns:``. Other
    sections (examples, notes) are left out: they are for programmers.

    Args:
        doc: The docstring (indentation already removed, as by ``inspect.getdoc``).
        streamed: The handler is a generator: its ``Yields:`` text is said to
            be the streamed updates, of which a tool call gets the last.

    Returns:
        The flattened docstring.
    """
    intro, sections, returns_title = _sections(plain_text(doc))
    description = " ".join(intro)
    raises = " ".join(" ".join(lines) for lines in _entries(sections.get("raises", [])))
    if raises:
        description += f" Errors: {raises}"
    parts = [description]
    args = _entries(sections.get("args", []))
    if args:
        parts.append("Args:\n" + "\n".join(f"    {' '.join(lines)}" for lines in args))
    returns = " ".join(line.strip() for line in sections.get("returns", []) if line.strip())
    if returns:
        if streamed and returns_title == "Yields":
            returns = f"{STREAMED} {returns}"
        parts.append(f"Returns:\n    {returns}")
    return "\n\n".join(parts)


def plain_text(doc: str) -> str:
    """A docstring without Sphinx markup: the API page and MCP clients show it as it is.

    Example:
        >>> plain_text('Detector name, e.g. ``"yolo11"`` (see :func:`models.create`).')
        'Detector name, e.g. "yolo11" (see models.create).'
    """
    return _ROLE.sub(r"\1", _LITERAL.sub(r"\1", doc))


def _section_key(title: str) -> str | None:
    for key, titles in (("args", _ARGS), ("returns", _RETURNS), ("raises", _RAISES)):
        if title in titles:
            return key
    return None


def _sections(doc: str) -> tuple[list[str], dict[str, list[str]], str | None]:
    """The introduction's lines, each known section's lines, and the return section's title.

    The title is ``Returns`` or ``Yields`` (None: no such section).
    """
    intro: list[str] = []
    sections: dict[str, list[str]] = {}
    returns_title = None
    current: list[str] | None = intro
    for line in doc.splitlines():
        header = _SECTION.match(line)
        if header:
            title = header.group(1)
            key = _section_key(title)
            current = sections.setdefault(key, []) if key else None
            if key == "returns":
                returns_title = title
            continue
        if current is intro:
            if line.strip():
                intro.append(line.strip())
        elif current is not None:
            current.append(line)
    return intro, sections, returns_title


def _entries(lines: list[str]) -> list[list[str]]:
    """A section's entries (``name: text`` at the section's indentation), continuations joined."""
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    if not indents:
        return []
    base = min(indents)
    entries: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if not entries or (indent == base and _ENTRY.match(line.strip())):
            entries.append([line.strip()])
        else:
            entries[-1].append(line.strip())
    return entries
