"""Patterns as a token stream, read as AWS's streaming JSON parser (Jackson) reads them.

Errors come in document order and duplicate keys behave as they do there;
patterns given as already-parsed mappings are turned into the same tokens, so
one compiler serves both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from ._errors import Invalid, barf

__all__ = [
    "END_ARRAY",
    "END_OBJECT",
    "EOF",
    "FALSE",
    "FIELD_NAME",
    "FLOAT",
    "INT",
    "NULL",
    "NUMERIC_KINDS",
    "START_ARRAY",
    "START_OBJECT",
    "STRING",
    "TRUE",
    "TextTokens",
    "Token",
    "Tokens",
    "ValueTokens",
]

START_OBJECT: Final = "START_OBJECT"
END_OBJECT: Final = "END_OBJECT"
START_ARRAY: Final = "START_ARRAY"
END_ARRAY: Final = "END_ARRAY"
FIELD_NAME: Final = "FIELD_NAME"
STRING: Final = "STRING"
INT: Final = "INT"
FLOAT: Final = "FLOAT"
TRUE: Final = "TRUE"
FALSE: Final = "FALSE"
NULL: Final = "NULL"
EOF: Final = "EOF"
NUMERIC_KINDS: Final = frozenset({INT, FLOAT})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (``START_OBJECT``... ``EOF``), its value, its text."""

    kind: str
    value: Any = None
    text: str = ""
    """What Jackson's ``getText()`` gives, used in some messages."""


_T_START_OBJECT: Final = Token(START_OBJECT, None, "{")
_T_END_OBJECT: Final = Token(END_OBJECT, None, "}")
_T_START_ARRAY: Final = Token(START_ARRAY, None, "[")
_T_END_ARRAY: Final = Token(END_ARRAY, None, "]")
_T_TRUE: Final = Token(TRUE, True, "true")
_T_FALSE: Final = Token(FALSE, False, "false")
_T_NULL: Final = Token(NULL, None, "null")
_T_EOF: Final = Token(EOF, None, "null")

_EXPECTED_TOKENS: Final = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_WS: Final = " \t\r\n"
_ESCAPES: Final = {
    '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"
}  # fmt: skip


def _required_digits(s: str, i: int, reason: str) -> int:
    """Skip one or more digits from ``i`` (a fraction or an exponent); refuse none, as Jackson does."""
    n = len(s)
    if i >= n:
        raise barf("Unexpected end-of-input in a Number value")
    if not "0" <= s[i] <= "9":
        raise barf(f"Unexpected character ({_char_desc(s[i])}) in numeric value: {reason}")
    while i < n and "0" <= s[i] <= "9":
        i += 1
    return i


def _char_desc(ch: str) -> str:
    code = ord(ch)
    if code < 32:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{ch}' (code {code} / 0x{code:x})"
    return f"'{ch}' (code {code})"


def _is_identifier_part(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


@dataclass(slots=True)
class _Scope:
    is_object: bool
    start: int
    entries: int = 0


class TextTokens:
    """A pull parser over JSON text that fails like Jackson, AWS's JSON parser.

    Only the first line of Jackson's messages is reproduced (the rest is a
    parser position). Like Jackson, reading a field name also reads the start
    of its value, so an error in that value surfaces with the name.
    """

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        self._scopes: list[_Scope] = []
        self._pending: Token | None = None

    # -- errors -------------------------------------------------------------------
    def _location(self, index: int) -> str:
        text = self._s
        shown = text if len(text) <= 500 else f'{text[:500]}"[truncated {len(text) - 500} chars]'
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        return f'[Source: (String)"{shown}"; line: {line}, column: {column}]'

    def _unexpected(self, ch: str, message: str) -> Invalid:
        return barf(f"Unexpected character ({_char_desc(ch)}): {message}")

    def _eof(self) -> Invalid:
        scope = self._scopes[-1]
        kind = "Object" if scope.is_object else "Array"
        return barf(
            "Unexpected end-of-input: expected close marker for "
            f"{kind} (start marker at {self._location(scope.start)})"
        )

    def _invalid_token(self, start: int) -> Invalid:
        end = start
        while end < len(self._s) and end - start < 256 and _is_identifier_part(self._s[end]):
            end += 1
        if end == start:
            end = start + 1
        return barf(f"Unrecognized token '{self._s[start:end]}': was expecting {_EXPECTED_TOKENS}")

    # -- reading ------------------------------------------------------------------
    def _skip_ws(self) -> str:
        s, i, n = self._s, self._i, len(self._s)
        while i < n and s[i] in _WS:
            i += 1
        self._i = i
        return s[i] if i < n else ""

    def next(self) -> Token:
        if self._pending is not None:
            token, self._pending = self._pending, None
            return token
        ch = self._skip_ws()
        if not ch:
            if self._scopes:
                raise self._eof()
            return _T_EOF
        if ch in "]}":
            return self._close(ch)
        scope = self._scopes[-1] if self._scopes else None
        if scope is not None:
            if scope.entries:
                if ch != ",":
                    kind = "Object" if scope.is_object else "Array"
                    raise self._unexpected(ch, f"was expecting comma to separate {kind} entries")
                self._i += 1
                ch = self._skip_ws()
                if not ch:
                    raise self._eof()
            scope.entries += 1
            if scope.is_object:
                if ch != '"':
                    raise self._unexpected(ch, "was expecting double-quote to start field name")
                name = self._string(in_name=True)
                ch = self._skip_ws()
                if ch != ":":
                    if not ch:
                        raise barf("Unexpected end-of-input within/between Object entries")
                    raise self._unexpected(
                        ch, "was expecting a colon to separate field name and value"
                    )
                self._i += 1
                ch = self._skip_ws()
                if not ch:
                    raise self._eof()
                self._pending = self._value(ch)
                return Token(FIELD_NAME, name, name)
        return self._value(ch)

    def _close(self, ch: str) -> Token:
        want_object = ch == "}"
        if not self._scopes:
            raise barf(f"Unexpected close marker '{ch}': expected '}}' (for root starting at ...)")
        scope = self._scopes[-1]
        if scope.is_object != want_object:
            kind, expected = ("Object", "}") if scope.is_object else ("Array", "]")
            raise barf(
                f"Unexpected close marker '{ch}': expected '{expected}' "
                f"(for {kind} starting at {self._location(scope.start)})"
            )
        self._scopes.pop()
        self._i += 1
        return _T_END_OBJECT if want_object else _T_END_ARRAY

    def _value(self, ch: str) -> Token:
        start = self._i
        if ch == '"':
            text = self._string(in_name=False)
            return Token(STRING, text, text)
        if ch == "{":
            self._scopes.append(_Scope(True, start))
            self._i += 1
            return _T_START_OBJECT
        if ch == "[":
            self._scopes.append(_Scope(False, start))
            self._i += 1
            return _T_START_ARRAY
        if ch == "t":
            return self._literal("true", _T_TRUE)
        if ch == "f":
            return self._literal("false", _T_FALSE)
        if ch == "n":
            return self._literal("null", _T_NULL)
        if ch == "-" or "0" <= ch <= "9":
            return self._number()
        if ch in "]},":
            raise self._unexpected(ch, "expected a value")
        if ch.isalpha() or ch in "_$":
            raise self._invalid_token(start)
        raise self._unexpected(ch, f"expected a valid value {_EXPECTED_TOKENS}")

    def _literal(self, word: str, token: Token) -> Token:
        s, start = self._s, self._i
        for offset, expected in enumerate(word):
            if start + offset >= len(s) or s[start + offset] != expected:
                raise self._invalid_token(start)
        end = start + len(word)
        if end < len(s) and _is_identifier_part(s[end]):
            raise self._invalid_token(start)
        self._i = end
        return token

    def _number(self) -> Token:
        s, start, n = self._s, self._i, len(self._s)
        i = start
        if s[i] == "-":
            i += 1
            if i >= n or not "0" <= s[i] <= "9":
                if i >= n:
                    raise barf("Unexpected end-of-input in a Number value")
                raise barf(
                    f"Unexpected character ({_char_desc(s[i])}) in numeric value: "
                    "expected digit (0-9) to follow minus sign, for valid numeric value"
                )
        if s[i] == "0" and i + 1 < n and "0" <= s[i + 1] <= "9":
            raise barf("Invalid numeric value: Leading zeroes not allowed")
        while i < n and "0" <= s[i] <= "9":
            i += 1
        is_float = False
        if i < n and s[i] == ".":
            is_float = True
            i = _required_digits(s, i + 1, "Decimal point not followed by a digit")
        if i < n and s[i] in "eE":
            is_float = True
            i += 1
            if i < n and s[i] in "+-":
                i += 1
            i = _required_digits(s, i, "Exponent indicator not followed by a digit")
        text = s[start:i]
        self._i = i
        if is_float:
            return Token(FLOAT, float(text), text)
        return Token(INT, int(text), text)

    def _string(self, *, in_name: bool) -> str:
        s, n = self._s, len(self._s)
        i = self._i + 1
        units: list[str] = []
        while True:
            if i >= n:
                if in_name:
                    raise barf("Unexpected end-of-input: was expecting closing '\"' for name")
                raise barf(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                )
            ch = s[i]
            if ch == '"':
                break
            if ch == "\\":
                if i + 1 >= n:
                    raise barf("Unexpected end-of-input in character escape sequence")
                esc = s[i + 1]
                if esc in _ESCAPES:
                    units.append(_ESCAPES[esc])
                    i += 2
                    continue
                if esc == "u":
                    digits = s[i + 2 : i + 6]
                    for d in digits:
                        if d not in "0123456789abcdefABCDEF":
                            raise self._unexpected(
                                d, "expected a hex-digit for character escape sequence"
                            )
                    if len(digits) < 4:
                        raise barf("Unexpected end-of-input in character escape sequence")
                    units.append(chr(int(digits, 16)))
                    i += 6
                    continue
                raise barf(f"Unrecognized character escape {_char_desc(esc)}")
            if ch < " ":
                where = "name" if in_name else "string value"
                raise barf(
                    f"Illegal unquoted character ({_char_desc(ch)}): has to be escaped using "
                    f"backslash to be included in {where}"
                )
            units.append(ch)
            i += 1
        self._i = i + 1
        text = "".join(units)
        if any("\ud800" <= u <= "\udfff" for u in units):
            # \uD83D\uDE00 escapes arrive as two surrogate halves: join them.
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")
        return text


def _value_tokens(value: Any) -> Iterator[Token]:
    """Tokens of an already-parsed pattern, as the text parser would give them."""
    if isinstance(value, Mapping):
        yield _T_START_OBJECT
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"event pattern keys must be strings, got {type(key).__name__}")
            yield Token(FIELD_NAME, key, key)
            yield from _value_tokens(item)
        yield _T_END_OBJECT
    elif isinstance(value, list | tuple):
        yield _T_START_ARRAY
        for item in value:
            yield from _value_tokens(item)
        yield _T_END_ARRAY
    elif isinstance(value, str):
        yield Token(STRING, value, value)
    elif value is True:
        yield _T_TRUE
    elif value is False:
        yield _T_FALSE
    elif value is None:
        yield _T_NULL
    elif isinstance(value, int):
        yield Token(INT, int(value), str(int(value)))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            # JSON text cannot hold these; this is what the text parser says of them.
            word = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
            raise barf(
                f"Non-standard token '{word}': enable "
                "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
            )
        yield Token(FLOAT, value, repr(value))
    else:
        raise TypeError(f"not a JSON value in event pattern: {type(value).__name__}")


class ValueTokens:
    """The tokens of an already-parsed pattern (a mapping), with ``next()`` as :class:`TextTokens` has."""

    def __init__(self, value: Any) -> None:
        self._it = _value_tokens(value)

    def next(self) -> Token:
        return next(self._it, _T_EOF)


Tokens: TypeAlias = TextTokens | ValueTokens
"""Where the compiler reads a pattern's tokens from."""
