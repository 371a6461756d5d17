"""Text from files and stored records, made safe to put in a message.

A message built from a file's content (a header that does not match, a value
DuckDB could not convert) travels far: the FAILED metadata record, the failure
notification, the logs, the console. It may quote only a short excerpt, and
never raw control characters: an ANSI escape sequence (``\\x1b[31m``, a window
title ``\\x1b]0;...\\x07``) would act on the terminal that shows it, a CR or a
bidirectional override would hide what precedes it. :func:`excerpt` cuts and
escapes; :func:`printable` only escapes, for values shown whole (``sluiceway runs``).

Escapes follow Python's ``repr`` of a string: printable characters (letters of
any script included) stay, a backslash is doubled, everything else is written
``\\n``, ``\\x1b``, ``\\u202e``... so that escaped text cannot be mistaken for the
character it stands for.
"""

from __future__ import annotations

__all__ = ["MAX_EXCERPT_CHARS", "excerpt", "printable"]

MAX_EXCERPT_CHARS = 60
"""How many characters of escaped file content a message quotes at most (then ``…``)."""

_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char.isprintable():
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as "surrogateescape" keeps it
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with every control, format or unprintable character escaped (and backslashes doubled).

    Args:
        keep: characters left as they are (``"\\n"`` for a message of several lines).
    """
    return "".join(char if char in keep else _escaped(char) for char in text)


def excerpt(text: str | bytes, limit: int = MAX_EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``text``, escaped as :func:`printable` does, then ``…`` if cut.

    Bytes are decoded as UTF-8, undecodable ones shown as ``\\xNN``. An escape
    sequence is never cut in two.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text[: limit * 4 + 4]).decode("utf-8", errors="surrogateescape")
    out: list[str] = []
    used = 0
    for char in text:
        piece = _escaped(char)
        if used + len(piece) > limit:
            return "".join(out) + "…"
        out.append(piece)
        used += len(piece)
    return "".join(out)
