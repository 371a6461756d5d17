"""PartiQL's tokens as DynamoDB reads them: words, quoted names, strings, numbers, ``?`` and punctuation.

Keywords are words; the parser decides which words are keywords where (case-insensitively),
so a table called ``values`` can still be named as ``"values"``. A string is single-quoted
with ``''`` for a quote inside it; a double-quoted word is a name, whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DIGITS", "EOF", "Token", "tokenize"]

EOF = "<EOF>"

_TWO_CHARS = ("<=", ">=", "<>", "!=", "<<", ">>")
_ONE_CHAR = "()[]{},.:=<>+-*?"
# Only ASCII digits make a number: str.isdigit() also accepts "²" or "٣", which no number is.
DIGITS = frozenset("0123456789")


class LexError(ValueError):
    """Text that is no token (an unterminated quote, a stray character)."""


@dataclass(frozen=True)
class Token:
    kind: str
    """``word``, ``name`` (double-quoted), ``string``, ``number``, a punctuation mark itself, or ``<EOF>``."""
    text: str
    """The word, the name or string unquoted, the number as written, or the mark."""
    start: int


def _quoted(source: str, start: int, quote: str) -> tuple[str, int]:
    """The text of a quoted token starting at ``start`` (doubled quotes inside stand for one) and where it ends."""
    i = start + 1
    parts: list[str] = []
    while True:
        end = source.find(quote, i)
        if end < 0:
            raise LexError("unterminated quote")
        parts.append(source[i:end])
        if source[end + 1 : end + 2] == quote:
            parts.append(quote)
            i = end + 2
            continue
        return "".join(parts), end + 1


def _number_end(source: str, i: int) -> int:
    n = len(source)
    while i < n and source[i] in DIGITS:
        i += 1
    if i < n and source[i] == "." and i + 1 < n and source[i + 1] in DIGITS:
        i += 1
        while i < n and source[i] in DIGITS:
            i += 1
    if i < n and source[i] in "eE":
        j = i + 1
        if j < n and source[j] in "+-":
            j += 1
        if j < n and source[j] in DIGITS:
            i = j
            while i < n and source[i] in DIGITS:
                i += 1
    return i


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``<EOF>`` token.

    Raises:
        LexError: an unterminated quote or a character no token starts with.
    """
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char.isspace():
            i += 1
            continue
        if source.startswith("--", i):  # a line comment, as PartiQL allows
            end = source.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        start = i
        if char in "'\"":
            text, i = _quoted(source, i, char)
            tokens.append(Token("string" if char == "'" else "name", text, start))
        elif char in DIGITS or (char == "." and source[i + 1 : i + 2] in DIGITS):
            i = _number_end(source, i)
            tokens.append(Token("number", source[start:i], start))
        elif char.isalpha() or char == "_":
            while i < n and (source[i].isalnum() or source[i] in "_$"):
                i += 1
            tokens.append(Token("word", source[start:i], start))
        elif source[i : i + 2] in _TWO_CHARS:
            i += 2
            mark = source[start:i]
            tokens.append(Token("<>" if mark == "!=" else mark, mark, start))
        elif char in _ONE_CHAR:
            i += 1
            tokens.append(Token(char, char, start))
        else:
            raise LexError(f"invalid character {char!r}")
    tokens.append(Token(EOF, EOF, n))
    return tokens
