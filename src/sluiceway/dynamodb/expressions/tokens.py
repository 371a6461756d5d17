"""The expression language's tokens: names, ``#name`` and ``:value`` placeholders, numbers, punctuation.

Words are names here; the parser decides which of them are keywords (``AND``,
``SET``...), as DynamoDB does, so that ``SET`` after a comma is a syntax error
rather than an attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EOF", "Token", "tokenize"]

EOF = "<EOF>"

_TWO_CHARS = ("<=", ">=", "<>")
_ONE_CHAR = "()[],.=<>+-"


@dataclass(frozen=True)
class Token:
    kind: str
    """``name``, ``#name``, ``:value``, ``number``, a punctuation mark itself, ``?`` (not in the
    language) or ``<EOF>``."""
    text: str
    start: int
    end: int


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``<EOF>`` token."""
    tokens: list[Token] = []
    i = 0
    n = len(source)
    while i < n:
        char = source[i]
        if char.isspace():
            i += 1
            continue
        start = i
        if char in "#:":
            i += 1
            while i < n and _word_char(source[i]):
                i += 1
            kind = "#name" if char == "#" else ":value"
        elif char.isdigit():
            while i < n and source[i].isdigit():
                i += 1
            kind = "number"
            # "1abc" is one bad token, as DynamoDB reads it.
            if i < n and _word_char(source[i]):
                while i < n and _word_char(source[i]):
                    i += 1
                kind = "?"
        elif _word_char(char):
            while i < n and _word_char(source[i]):
                i += 1
            kind = "name"
        elif source[i : i + 2] in _TWO_CHARS:
            i += 2
            kind = source[start:i]
        elif char in _ONE_CHAR:
            i += 1
            kind = char
        else:
            i += 1
            kind = "?"
        tokens.append(Token(kind, source[start:i], start, i))
    tokens.append(Token(EOF, EOF, n, n))
    return tokens
