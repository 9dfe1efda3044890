"""JSON text a client sends with a run (counting lines and zones, click prompts), decoded safely.

Python's own decoder reads a 4000-digit number (and raises a ``ValueError`` past
4300 digits, which is no message for a client), takes ``NaN`` and ``Infinity``,
and overflows the stack on deep nesting. :func:`decode` refuses each of these
with one message in the caller's words, so every JSON field of a request is held
to the same limits.

Example:
    >>> decode('{"frame": 3}', "The prompts", error=ValueError)
    {'frame': 3}
    >>> try:
    ...     decode('{"frame": NaN}', "The prompts", error=ValueError)
    ... except ValueError as error:
    ...     print(error)
    The prompts' numbers must be finite, not 'NaN'.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pipeline.errors import quoted

#: Longest JSON text of one field: what the fields' own limits take, with room to spare.
MAX_JSON_CHARS = 100_000
#: Longest number literal in it (a coordinate or a frame index is a few digits).
MAX_NUMBER_CHARS = 24


def decode(text: str, what: str, *, error: type[Exception], form: str = "") -> Any:
    """The value of a client's JSON ``text``, its numbers finite and of sensible length.

    Args:
        text: The JSON text.
        what: What the text holds, as a message's plural subject ("The prompts").
        error: The exception to raise, with the message as its one argument.
        form: The expected form, added to the message of text that is not valid JSON.

    Returns:
        The decoded value; whole numbers as ``int``, others as ``float``.

    Raises:
        error: Text over :data:`MAX_JSON_CHARS`, not valid JSON, nested too deeply
            for the decoder, or holding a number longer than :data:`MAX_NUMBER_CHARS`
            or not finite.
    """
    if len(text) > MAX_JSON_CHARS:
        raise error(f"{what} take {len(text)} characters; the limit is {MAX_JSON_CHARS}.")
    hint = f"; use {form}" if form else ""

    def number(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_CHARS:
            raise error(f"{what} hold a number {quoted(literal)}, too long to be one.")
        value = float(literal) if any(c in literal for c in ".eEIN") else int(literal)
        if not math.isfinite(value):
            raise error(f"{what}' numbers must be finite, not {quoted(literal)}.")
        return value

    try:
        return json.loads(text, parse_int=number, parse_float=number, parse_constant=number)
    except json.JSONDecodeError as exc:
        raise error(f"{what} are not valid JSON ({exc.msg}, at {exc.pos}){hint}.") from None
    except RecursionError:
        # The decoder recurses once per level: deep nesting would be a server error.
        raise error(f"{what} are nested too deeply{hint}.") from None
