"""Why Step Functions refuses a JSON text, worded as its (Jackson) parser words it.

StartExecution answers ``InvalidExecutionInput: Invalid State Machine Execution Input: '<why>'``
with the reason its JSON parser gave, without the parser's location suffix. Python's decoder
finds the same problems at the same place; this renders the common ones with AWS's words
and falls back to Python's for the rest.
"""

from __future__ import annotations

import json
import re

__all__ = ["EMPTY_INPUT", "jackson_location", "jackson_reason"]

EMPTY_INPUT = "Invalid execution input."
"""AWS's reason for an empty input string (recorded), which its parser never sees."""

_VALUES = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_TOKEN = re.compile(r"[A-Za-z0-9_$]+")
_SOURCE_CHARS = 500
"""How much of the text the parser quotes in a location; the rest is counted."""


def jackson_reason(text: str, exc: ValueError) -> str:
    """The parser's reason ``text`` is not JSON (``exc`` is what Python's decoder raised)."""
    if not isinstance(exc, json.JSONDecodeError) or exc.pos >= len(text):
        return str(exc)
    char = text[exc.pos]
    if exc.msg == "Expecting value":
        token = _TOKEN.match(text, exc.pos)
        if token is not None and not char.isdigit():
            return f"Unrecognized token '{token.group()}': was expecting {_VALUES}"
        return f"Unexpected character ({_char(char)}): expected a valid value {_VALUES}"
    expected = {
        "Expecting property name enclosed in double quotes": "was expecting double-quote to start field name",
        "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
    }.get(exc.msg)
    if expected is None and exc.msg == "Expecting ',' delimiter":
        expected = f"was expecting comma to separate {_container(text, exc.pos)} entries"
    if expected is None:
        return str(exc)
    return f"Unexpected character ({_char(char)}): {expected}"


def jackson_location(text: str, exc: ValueError) -> str | None:
    """Where the parser stopped, as it says it: ``[Source: (String)"<text>"; line: L, column: C]``.

    The column is 1-based and, for an unrecognised token, just past the token (the parser
    reads the whole token before it refuses it). None when ``exc`` says nowhere.
    """
    if not isinstance(exc, json.JSONDecodeError):
        return None
    pos = exc.pos
    if exc.msg == "Expecting value" and pos < len(text):
        token = _TOKEN.match(text, pos)
        if token is not None and not text[pos].isdigit():
            pos = token.end()
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    source = f'(String)"{text[:_SOURCE_CHARS]}"'
    if len(text) > _SOURCE_CHARS:
        source += f"[truncated {len(text) - _SOURCE_CHARS} chars]"
    return f"[Source: {source}; line: {line}, column: {column}]"


def _char(char: str) -> str:
    code = ord(char)
    return f"'{char}' (code {code})" if code >= 32 else f"CTRL-CHAR, code {code}"


def _container(text: str, pos: int) -> str:
    """``Object`` or ``Array``: the innermost one open at ``pos`` (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return "Array" if stack and stack[-1] == "[" else "Object"
