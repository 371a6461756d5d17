"""Amazon EventBridge event patterns: compile once, match many events.

The language is EventBridge's own (AWS runs the open-source ``aws/event-ruler``
engine behind it), and so are the edge cases, which this module follows on
purpose because users test rules locally and expect the same answer on AWS:

* A pattern is a JSON object. Nested objects nest; every leaf is a non-empty
  array of alternatives: exact values (strings, numbers by value, ``true``,
  ``false``, ``null``) or one-key objects (``prefix``, ``suffix``,
  ``equals-ignore-case``, ``wildcard``, ``anything-but``, ``numeric``,
  ``exists``, ``cidr``). ``$or`` takes an array of at least two objects; a
  pattern whose ``$or`` AWS's parser refuses is read again with ``$or`` as a
  plain field name, as AWS does, and that reading gives the verdict.
* A repeated key keeps its last value; a string that is an IP address matches
  that address however the event spells it.
* Keys are joined with ``.`` into paths, in the pattern and in the event, so
  ``{"a.b": [...]}`` and ``{"a": {"b": [...]}}`` are the same pattern and both
  see ``{"a": {"b": 1}}`` and ``{"a.b": 1}``.
* Arrays in events are flattened: a field matches if any element matches.
  Two fields taken from objects inside the same array must come from the same
  element (EventBridge's "array-consistent" matching).
* Only leaves exist: an empty array, an empty object or an object-valued field
  does not exist for ``exists``; ``null`` does.
* Invalid patterns raise :class:`~sluiceway.errors.EventPatternError` with the
  message AWS gives (``Event pattern is not valid. Reason: ...``). Checks run in
  document order, as AWS's streaming parser does, so the first problem wins.

The module is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Final, TypeAlias

from sluiceway.errors import EventPatternError

__all__ = ["Pattern", "RuleIndex", "compile_pattern", "matches"]

_PREFIX: Final = "Event pattern is not valid. Reason: "

# Numbers take part in numeric comparisons only inside this range and with at
# most six decimals (EventBridge's documented limits); outside it they can
# still be matched exactly, but never by ``numeric`` or numeric anything-but.
_NUMBER_LIMIT: Final = Decimal("5E9")
_MAX_DECIMALS: Final = 6

# EventBridge rejects rules whose wildcards could keep too many partial
# matches alive at once. Its threshold is not published; with the complexity
# measure below (wildcard rule prefixes alive at once, as event-ruler's
# MachineComplexityEvaluator counts them) AWS accepts 9 and refuses 11 in the
# cases we have recordings and reports of, so anything above 10 is refused.
_MAX_WILDCARD_COMPLEXITY: Final = 10
_TOO_COMPLEX: Final = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)

_OR: Final = "$or"
# A guard against ``$or`` arrays multiplying into too many branches. AWS has a
# limit of the same size; its wording for it is not in our recordings.
_MAX_BRANCHES: Final = 1000
# Field names event-ruler reserves inside ``$or`` (its Constants.java).
_RESERVED_IN_OR: Final = frozenset(
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists",
        "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard",
        "not-equals-ignore-case", "date-after", "date-on-or-after", "date-before",
        "date-on-or-before", "in-date-range", "ip-address-in-range", "ip-address-not-in-range",
    }
)  # fmt: skip


class _Invalid(Exception):
    """A pattern problem; the message is AWS's reason text.

    ``parse_error`` is false for the few checks AWS makes outside its JSON
    rule parser (CIDR blocks, a lone anything-but number, limits): those are
    final, where a parser error sends AWS back to read ``$or`` as a field name.
    """

    def __init__(self, reason: str, *, parse_error: bool = True) -> None:
        super().__init__(reason)
        self.parse_error = parse_error


def _barf(reason: str) -> _Invalid:
    return _Invalid(reason)


# --------------------------------------------------------------------------------------
# Tokens. Patterns are read as a token stream, as AWS's streaming JSON parser reads them,
# so that errors come in document order and duplicate keys behave as they do there.
# --------------------------------------------------------------------------------------

_START_OBJECT: Final = "START_OBJECT"
_END_OBJECT: Final = "END_OBJECT"
_START_ARRAY: Final = "START_ARRAY"
_END_ARRAY: Final = "END_ARRAY"
_FIELD_NAME: Final = "FIELD_NAME"
_STRING: Final = "STRING"
_INT: Final = "INT"
_FLOAT: Final = "FLOAT"
_TRUE: Final = "TRUE"
_FALSE: Final = "FALSE"
_NULL: Final = "NULL"
_EOF: Final = "EOF"
_NUMERIC_KINDS: Final = frozenset({_INT, _FLOAT})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    value: Any = None
    text: str = ""
    """What Jackson's ``getText()`` gives, used in some messages."""


_T_START_OBJECT: Final = _Token(_START_OBJECT, None, "{")
_T_END_OBJECT: Final = _Token(_END_OBJECT, None, "}")
_T_START_ARRAY: Final = _Token(_START_ARRAY, None, "[")
_T_END_ARRAY: Final = _Token(_END_ARRAY, None, "]")
_T_TRUE: Final = _Token(_TRUE, True, "true")
_T_FALSE: Final = _Token(_FALSE, False, "false")
_T_NULL: Final = _Token(_NULL, None, "null")
_T_EOF: Final = _Token(_EOF, None, "null")

_EXPECTED_TOKENS: Final = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_WS: Final = " \t\r\n"
_ESCAPES: Final = {
    '"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"
}  # fmt: skip


def _required_digits(s: str, i: int, reason: str) -> int:
    """Skip one or more digits from ``i`` (a fraction or an exponent); refuse none, as Jackson does."""
    n = len(s)
    if i >= n:
        raise _barf("Unexpected end-of-input in a Number value")
    if not "0" <= s[i] <= "9":
        raise _barf(f"Unexpected character ({_char_desc(s[i])}) in numeric value: {reason}")
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


class _TextTokens:
    """A pull parser over JSON text that fails like Jackson, AWS's JSON parser.

    Only the first line of Jackson's messages is reproduced (the rest is a
    parser position). Like Jackson, reading a field name also reads the start
    of its value, so an error in that value surfaces with the name.
    """

    def __init__(self, text: str) -> None:
        self._s = text
        self._i = 0
        self._scopes: list[_Scope] = []
        self._pending: _Token | None = None

    # -- errors -------------------------------------------------------------------
    def _location(self, index: int) -> str:
        text = self._s
        shown = text if len(text) <= 500 else f'{text[:500]}"[truncated {len(text) - 500} chars]'
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        return f'[Source: (String)"{shown}"; line: {line}, column: {column}]'

    def _unexpected(self, ch: str, message: str) -> _Invalid:
        return _barf(f"Unexpected character ({_char_desc(ch)}): {message}")

    def _eof(self) -> _Invalid:
        scope = self._scopes[-1]
        kind = "Object" if scope.is_object else "Array"
        return _barf(
            "Unexpected end-of-input: expected close marker for "
            f"{kind} (start marker at {self._location(scope.start)})"
        )

    def _invalid_token(self, start: int) -> _Invalid:
        end = start
        while end < len(self._s) and end - start < 256 and _is_identifier_part(self._s[end]):
            end += 1
        if end == start:
            end = start + 1
        return _barf(f"Unrecognized token '{self._s[start:end]}': was expecting {_EXPECTED_TOKENS}")

    # -- reading ------------------------------------------------------------------
    def _skip_ws(self) -> str:
        s, i, n = self._s, self._i, len(self._s)
        while i < n and s[i] in _WS:
            i += 1
        self._i = i
        return s[i] if i < n else ""

    def next(self) -> _Token:
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
                        raise _barf("Unexpected end-of-input within/between Object entries")
                    raise self._unexpected(
                        ch, "was expecting a colon to separate field name and value"
                    )
                self._i += 1
                ch = self._skip_ws()
                if not ch:
                    raise self._eof()
                self._pending = self._value(ch)
                return _Token(_FIELD_NAME, name, name)
        return self._value(ch)

    def _close(self, ch: str) -> _Token:
        want_object = ch == "}"
        if not self._scopes:
            raise _barf(f"Unexpected close marker '{ch}': expected '}}' (for root starting at ...)")
        scope = self._scopes[-1]
        if scope.is_object != want_object:
            kind, expected = ("Object", "}") if scope.is_object else ("Array", "]")
            raise _barf(
                f"Unexpected close marker '{ch}': expected '{expected}' "
                f"(for {kind} starting at {self._location(scope.start)})"
            )
        self._scopes.pop()
        self._i += 1
        return _T_END_OBJECT if want_object else _T_END_ARRAY

    def _value(self, ch: str) -> _Token:
        start = self._i
        if ch == '"':
            text = self._string(in_name=False)
            return _Token(_STRING, text, text)
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

    def _literal(self, word: str, token: _Token) -> _Token:
        s, start = self._s, self._i
        for offset, expected in enumerate(word):
            if start + offset >= len(s) or s[start + offset] != expected:
                raise self._invalid_token(start)
        end = start + len(word)
        if end < len(s) and _is_identifier_part(s[end]):
            raise self._invalid_token(start)
        self._i = end
        return token

    def _number(self) -> _Token:
        s, start, n = self._s, self._i, len(self._s)
        i = start
        if s[i] == "-":
            i += 1
            if i >= n or not "0" <= s[i] <= "9":
                if i >= n:
                    raise _barf("Unexpected end-of-input in a Number value")
                raise _barf(
                    f"Unexpected character ({_char_desc(s[i])}) in numeric value: "
                    "expected digit (0-9) to follow minus sign, for valid numeric value"
                )
        if s[i] == "0" and i + 1 < n and "0" <= s[i + 1] <= "9":
            raise _barf("Invalid numeric value: Leading zeroes not allowed")
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
            return _Token(_FLOAT, float(text), text)
        return _Token(_INT, int(text), text)

    def _string(self, *, in_name: bool) -> str:
        s, n = self._s, len(self._s)
        i = self._i + 1
        units: list[str] = []
        while True:
            if i >= n:
                if in_name:
                    raise _barf("Unexpected end-of-input: was expecting closing '\"' for name")
                raise _barf(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                )
            ch = s[i]
            if ch == '"':
                break
            if ch == "\\":
                if i + 1 >= n:
                    raise _barf("Unexpected end-of-input in character escape sequence")
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
                        raise _barf("Unexpected end-of-input in character escape sequence")
                    units.append(chr(int(digits, 16)))
                    i += 6
                    continue
                raise _barf(f"Unrecognized character escape {_char_desc(esc)}")
            if ch < " ":
                where = "name" if in_name else "string value"
                raise _barf(
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


def _value_tokens(value: Any) -> Iterator[_Token]:
    """Tokens of an already-parsed pattern, as the text parser would give them."""
    if isinstance(value, Mapping):
        yield _T_START_OBJECT
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"event pattern keys must be strings, got {type(key).__name__}")
            yield _Token(_FIELD_NAME, key, key)
            yield from _value_tokens(item)
        yield _T_END_OBJECT
    elif isinstance(value, list | tuple):
        yield _T_START_ARRAY
        for item in value:
            yield from _value_tokens(item)
        yield _T_END_ARRAY
    elif isinstance(value, str):
        yield _Token(_STRING, value, value)
    elif value is True:
        yield _T_TRUE
    elif value is False:
        yield _T_FALSE
    elif value is None:
        yield _T_NULL
    elif isinstance(value, int):
        yield _Token(_INT, int(value), str(int(value)))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            # JSON text cannot hold these; this is what the text parser says of them.
            word = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
            raise _barf(
                f"Non-standard token '{word}': enable "
                "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
            )
        yield _Token(_FLOAT, value, repr(value))
    else:
        raise TypeError(f"not a JSON value in event pattern: {type(value).__name__}")


class _ValueTokens:
    def __init__(self, value: Any) -> None:
        self._it = _value_tokens(value)

    def next(self) -> _Token:
        return next(self._it, _T_EOF)


# --------------------------------------------------------------------------------------
# Matcher specifications: what one alternative in a field's array means.
# --------------------------------------------------------------------------------------

_Spec: TypeAlias = tuple[Any, ...]
_Branch: TypeAlias = dict[str, list[_Spec]]
_STAR: Final = None
"""A wildcard ``*`` in a parsed wildcard value (literal characters are strings)."""


def _comparable(text: str) -> float:
    """A pattern number usable in numeric comparisons, or AWS's complaint about it."""
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the tokenizer only yields numbers
        raise _barf(f"Invalid number: {text}") from exc
    if not number.is_finite():  # pragma: no cover - JSON has no infinities
        raise _barf(f"Invalid number: {text}")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _MAX_DECIMALS:
        raise _barf("Only values upto 6 decimals are supported")
    if not -_NUMBER_LIMIT <= number <= _NUMBER_LIMIT:
        raise _barf("Value must be between -5.0E9 and 5.0E9, inclusive")
    return float(number)


def _event_number_comparable(value: int | float) -> bool:
    """Whether an event number can take part in numeric comparisons (see _NUMBER_LIMIT)."""
    if not -5e9 <= value <= 5e9:  # also false for NaN
        return False
    # For doubles in range, round() to 6 places keeps the value exactly when its
    # shortest decimal form has at most 6 decimals.
    return type(value) is int or round(value, _MAX_DECIMALS) == value


_IPV4_TEXT: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_TEXT: Final = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def _parse_ip(text: str) -> tuple[int, int] | None:
    """``(bits, address)`` for an IP literal as AWS reads one, else None.

    Only plain dotted-quad IPv4 and hex-and-colon IPv6 text count (no zone ids,
    no dotted tails); IPv4-mapped IPv6 addresses are IPv4 addresses, as for Java.
    """
    if _IPV4_TEXT.fullmatch(text):
        parts = text.split(".")
        # A leading zero reads as octal to some parsers; Java refuses it, so do we.
        if any((len(p) > 1 and p[0] == "0") or int(p) > 255 for p in parts):
            return None
        a, b, c, d = (int(p) for p in parts)
        return 32, (a << 24) | (b << 16) | (c << 8) | d
    if _IPV6_TEXT.fullmatch(text):
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = address.ipv4_mapped
        if mapped is not None:
            return 32, int(mapped)
        return 128, int(address)
    return None


@lru_cache(maxsize=4096)
def _event_ip(text: str) -> tuple[int, int] | None:
    return _parse_ip(text)


def _java_split_slash(text: str) -> list[str]:
    # Java's String.split drops trailing empty strings; AWS's CIDR check relies on it.
    if "/" not in text:
        return [text]
    parts = text.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _cidr(text: str) -> _Spec:
    parts = _java_split_slash(text)
    if len(parts) != 2:
        raise _barf("Malformed CIDR, one '/' required")
    if not re.fullmatch(r"[+-]?[0-9]{1,10}", parts[1]) or abs(int(parts[1])) > 2**31 - 1:
        raise _barf("Malformed CIDR, mask bits must be an integer")
    mask = int(parts[1])
    if mask < 0:
        raise _barf("Malformed CIDR, mask bits must not be negative")
    ip = parts[0]
    if not (_IPV4_TEXT.fullmatch(ip) or _IPV6_TEXT.fullmatch(ip)):
        raise _barf(f"Nonstandard IP address: {ip}")
    parsed = _parse_ip(ip)
    if parsed is None:
        raise _barf(f"Invalid IP address: {ip}")
    bits, address = parsed
    if bits == 32 and mask > 31:
        raise _barf("IPv4 mask bits must be < 32")
    if bits == 128 and mask > 127:
        raise _barf("IPv6 mask bits must be < 128")
    # Host bits may be set (10.0.0.5/24 is 10.0.0.0/24), but a whole address
    # (/32, /128) is refused above: AWS wants a plain address string for that.
    host = (1 << (bits - mask)) - 1
    return ("cidr", bits, address & ~host, address | host)


def _parse_wildcard(text: str) -> tuple[str | None, ...]:
    """The wildcard value as literal characters and _STAR, or AWS's complaint.

    Positions in messages count UTF-8 bytes of the value with its JSON quotes,
    as AWS counts them.
    """
    out: list[str | None] = []
    position = 1  # the opening quote is byte 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "*":
            if i + 1 < n and text[i + 1] == "*":
                raise _barf(f"Consecutive wildcard characters at pos {position}")
            out.append(_STAR)
        elif ch == "\\":
            if i + 1 < n and text[i + 1] in "*\\":
                out.append(text[i + 1])
                i += 2
                position += 2
                continue
            raise _barf(f"Invalid escape character at pos {position}")
        else:
            out.append(ch)
        position += len(ch.encode("utf-8", "surrogatepass"))
        i += 1
    return tuple(out)


def _wildcard_regex(parsed: tuple[str | None, ...]) -> re.Pattern[str]:
    body = "".join(".*" if part is _STAR else re.escape(part) for part in parsed)
    return re.compile(body, re.DOTALL)


# --------------------------------------------------------------------------------------
# The compiler: event-ruler's JSON rule compiler, step by step, over a token stream.
# A pattern compiles to a list of branches (``$or`` multiplies them); each branch
# maps a dotted path to the alternatives allowed there.
# --------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, tokens: _TextTokens | _ValueTokens, *, with_or: bool = True) -> None:
        self._tokens = tokens
        self._with_or = with_or
        self.saw_or = False
        """Whether a ``$or`` key was read (so that a retry without ``$or`` could differ)."""

    def _next(self) -> _Token:
        return self._tokens.next()

    def compile(self) -> list[_Branch]:
        if self._next().kind != _START_OBJECT:
            raise _barf("Filter is not an object")
        branches: list[_Branch] = []
        self._object(branches, [], in_or=False)
        # Text after the closing brace is never read, so AWS ignores it too.
        return branches

    def _object(self, branches: list[_Branch], path: list[str], *, in_or: bool) -> None:
        fields_present = False
        while True:
            token = self._next()
            if token.kind == _END_OBJECT:
                break
            fields_present = True
            name: str = token.value
            if name == _OR:
                self.saw_or = True
                if self._with_or:
                    self._or(branches, path)
                    continue
            if in_or and name in _RESERVED_IN_OR:
                raise _barf(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
            token = self._next()
            if token.kind == _START_OBJECT:
                path.append(name)
                self._object(branches, path, in_or=in_or)
                path.pop()
            elif token.kind == _START_ARRAY:
                self._field(branches, ".".join([*path, name]))
            else:
                raise _barf(f'"{name}" must be an object or an array')
        if not fields_present:
            raise _barf("Empty objects are not allowed")

    def _or(self, branches: list[_Branch], path: list[str]) -> None:
        before = [dict(b) for b in branches]
        branches.clear()
        if self._next().kind != _START_ARRAY:
            raise _barf("It must be an Array followed with $or.")
        count = 0
        while (token := self._next()).kind != _END_ARRAY:
            count += 1
            if token.kind != _START_OBJECT:
                raise _barf("Only JSON object is allowed in array of $or relationship.")
            alternative = [dict(b) for b in before] or [{}]
            self._object(alternative, path, in_or=True)
            branches.extend(alternative)
            if len(branches) > _MAX_BRANCHES:
                raise _Invalid(
                    f"Event pattern contains more than {_MAX_BRANCHES} rule combinations",
                    parse_error=False,
                )
        if count < 2:
            raise _barf("There must have at least 2 Objects in $or relationship.")

    def _field(self, branches: list[_Branch], name: str) -> None:
        specs: list[_Spec] = []
        while (token := self._next()).kind != _END_ARRAY:
            kind = token.kind
            if kind == _START_OBJECT:
                specs.append(self._expression())
            elif kind == _STRING:
                # AWS turns a string that is an IP address into an address match,
                # so "10.0.0.1" also matches other spellings of the same address.
                ip = _parse_ip(token.value)
                if ip is not None:
                    specs.append(("cidr", ip[0], ip[1], ip[1]))
                else:
                    specs.append(("str", token.value))
            elif kind in _NUMERIC_KINDS:
                specs.append(("num", token.value))
            elif kind in (_TRUE, _FALSE, _NULL):
                specs.append(("lit", token.value))
            else:
                raise _barf("Match value must be String, number, true, false, or null")
        if not specs:
            raise _barf("Empty arrays are not allowed")
        if not branches:
            branches.append({})
        for branch in branches:
            # A repeated key replaces the earlier one (AWS keeps the last).
            branch[name] = specs

    def _end(self, reason: str = "Only one key allowed in match expression") -> None:
        if self._next().kind != _END_OBJECT:
            raise _barf(reason)

    def _expression(self) -> _Spec:
        token = self._next()
        if token.kind != _FIELD_NAME:
            raise _barf("Match expression name not found")
        op: str = token.value
        if op == "exactly":
            token = self._next()
            if token.kind != _STRING:
                raise _barf("exact match pattern must be a string")
            self._end()
            return ("str", token.value)
        if op in ("prefix", "suffix"):
            token = self._next()
            if token.kind == _START_OBJECT:
                return self._ignore_case_affix(op)
            if token.kind != _STRING:
                raise _barf(f"{op} match pattern must be a string")
            self._end()
            return (op, token.value)
        if op == "numeric":
            if self._next().kind != _START_ARRAY:
                raise _barf("Value of numeric must be an array.")
            spec = self._numeric()
            self._end("Too many elements in numeric expression")
            return spec
        if op == "anything-but":
            return self._anything_but()
        if op == "exists":
            token = self._next()
            if token.kind not in (_TRUE, _FALSE):
                raise _barf("exists match pattern must be either true or false.")
            self._end()
            return ("exists", token.value)
        if op == "cidr":
            token = self._next()
            if token.kind != _STRING:
                # Sic: AWS names the wrong operator here.
                raise _barf("prefix match pattern must be a string")
            try:
                spec = _cidr(token.value)
            except _Invalid as exc:
                raise _Invalid(str(exc), parse_error=False) from None
            self._end()
            return spec
        if op == "equals-ignore-case":
            token = self._next()
            if token.kind != _STRING:
                raise _barf("equals-ignore-case match pattern must be a string")
            self._end()
            return ("eic", token.value.lower())
        if op == "wildcard":
            token = self._next()
            if token.kind != _STRING:
                raise _barf("wildcard match pattern must be a string")
            parsed = _parse_wildcard(token.value)
            self._end()
            return ("wildcard", parsed, _wildcard_regex(parsed))
        raise _barf(f"Unrecognized match type {op}")

    def _ignore_case_affix(self, op: str) -> _Spec:
        token = self._next()
        if token.kind != _FIELD_NAME:
            raise _barf(f"{op.capitalize()} expression name not found")
        if token.value != "equals-ignore-case":
            raise _barf(f"Unsupported {op} pattern: {token.value}")
        token = self._next()
        if token.kind != _STRING:
            raise _barf("equals-ignore-case match pattern must be a string")
        self._end()
        self._end()
        return (f"{op}_ic", token.value.lower())

    def _numeric(self) -> _Spec:
        token = self._next()
        if token.kind != _STRING:
            raise _barf(f"Invalid member in numeric match: {token.text}")
        op: str = token.value
        token = self._next()
        if op in ("=", ">=", ">", "<=", "<"):
            if token.kind not in _NUMERIC_KINDS:
                raise _barf(f"Value of {'equals' if op == '=' else op} must be numeric")
            text = token.text
            if op in (">=", ">"):
                token = self._next()
                if token.kind == _END_ARRAY:
                    return ("range", _comparable(text), op == ">", None, False)
                return self._numeric_range(token, text, open_bottom=op == ">")
            if self._next().kind != _END_ARRAY:
                raise _barf("Too many elements in numeric expression")
            value = _comparable(text)
            if op == "=":
                return ("range", value, False, value, False)
            return ("range", None, False, value, op == "<")
        raise _barf(f"Unrecognized numeric range operator: {op}")

    def _numeric_range(self, token: _Token, bottom_text: str, *, open_bottom: bool) -> _Spec:
        if token.kind != _STRING:
            raise _barf(f"Bad value in numeric range: {token.text}")
        op: str = token.value
        if op not in ("<", "<="):
            raise _barf(f"Bad numeric range operator: {op}")
        token = self._next()
        if token.kind not in _NUMERIC_KINDS:
            raise _barf(f"Value of {op} must be numeric")
        top_text = token.text
        if self._next().kind != _END_ARRAY:
            raise _barf("Too many terms in numeric range expression")
        bottom, top = _comparable(bottom_text), _comparable(top_text)
        if bottom >= top:
            raise _barf("Bottom must be less than top")
        return ("range", bottom, open_bottom, top, op == "<")

    def _anything_but(self) -> _Spec:
        kind = "values"
        token = self._next()
        if token.kind == _START_OBJECT:
            inner = self._next()
            if inner.kind != _FIELD_NAME:
                raise _barf("Anything-But expression name not found")
            if inner.value not in ("equals-ignore-case", "prefix", "suffix", "wildcard"):
                raise _barf(f"Unsupported anything-but pattern: {inner.value}")
            kind = inner.value
            token = self._next()
        if token.kind not in (_START_ARRAY, _STRING, _INT, _FLOAT):
            raise _barf("Value of anything-but must be an array or single string/number value.")
        if kind == "values":
            spec = self._anything_but_values(token)
        else:
            spec = self._anything_but_set(token, kind)
        self._end("Too many elements in numeric expression")
        if kind != "values":
            self._end("Too many elements in numeric expression")
        return spec

    def _anything_but_values(self, token: _Token) -> _Spec:
        strings: set[str] = set()
        numbers: set[float] = set()
        if token.kind == _STRING:
            strings.add(token.value)
        elif token.kind in _NUMERIC_KINDS:
            try:
                numbers.add(_comparable(token.text))
            except _Invalid as exc:
                raise _Invalid(str(exc), parse_error=False) from None
        else:
            while (token := self._next()).kind != _END_ARRAY:
                if token.kind == _STRING:
                    strings.add(token.value)
                elif token.kind in _NUMERIC_KINDS:
                    numbers.add(_comparable(token.text))
                else:
                    raise _barf("Inside anything but list, start|null|boolean is not supported.")
            if bool(strings) == bool(numbers):
                raise _barf(
                    "Inside anything but list, either all values are number or string, "
                    "mixed type is not supported"
                )
        return ("not", frozenset(strings), frozenset(numbers))

    def _anything_but_set(self, token: _Token, kind: str) -> _Spec:
        values: list[str] = []
        tokens = [token]
        if token.kind == _START_ARRAY:
            tokens = []
            while (token := self._next()).kind != _END_ARRAY:
                tokens.append(token)
                self._check_anything_but_member(token, kind)
        for token in tokens:
            self._check_anything_but_member(token, kind)
            values.append(token.value)
        if kind == "prefix":
            return ("not_prefix", tuple(values))
        if kind == "suffix":
            return ("not_suffix", tuple(values))
        if kind == "equals-ignore-case":
            return ("not_eic", frozenset(v.lower() for v in values))
        regexes = tuple(_wildcard_regex(_parse_wildcard(v)) for v in values)
        return ("not_wildcard", regexes)

    @staticmethod
    def _check_anything_but_member(token: _Token, kind: str) -> None:
        if token.kind != _STRING:
            if kind == "equals-ignore-case":
                raise _barf(
                    "Inside anything-but/equals-ignore-case list, "
                    "number|start|null|boolean is not supported."
                )
            if kind == "wildcard":
                raise _barf("wildcard match pattern must be a string")
            raise _barf("prefix/suffix match pattern must be a string")
        if kind in ("prefix", "suffix") and token.value == "":
            raise _barf("Null prefix/suffix not allowed")


# --------------------------------------------------------------------------------------
# Wildcard complexity: how many wildcard-pattern prefixes one input can keep alive at
# once, per field, counted over a trie of the field's wildcard values.
# --------------------------------------------------------------------------------------


def _wildcard_complexity(values: Sequence[tuple[str | None, ...]], limit: int) -> int:
    children: dict[tuple[int, str | None], int] = {}
    weight: list[int] = [0]
    is_star: list[bool] = [False]
    for value in set(values):
        node = 0
        weight[0] += 1
        for part in value:
            child = children.get((node, part))
            if child is None:
                child = len(weight)
                children[(node, part)] = child
                weight.append(0)
                is_star.append(part is _STAR)
            weight[child] += 1
            node = child
    alphabet = {part for value in values for part in value if part is not _STAR}
    alphabet.add("\x00")  # stands for every character no pattern names

    def closure(nodes: set[int]) -> frozenset[int]:
        stack = list(nodes)
        while stack:
            star = children.get((stack.pop(), _STAR))
            if star is not None and star not in nodes:
                nodes.add(star)
                stack.append(star)
        return frozenset(nodes)

    start = closure({0})
    seen = {start}
    queue = [start]
    best = 0
    while queue:
        current = queue.pop()
        for ch in alphabet:
            nxt: set[int] = set()
            for node in current:
                if is_star[node]:
                    nxt.add(node)
                child = children.get((node, ch))
                if child is not None:
                    nxt.add(child)
            if not nxt:
                continue
            state = closure(nxt)
            best = max(best, sum(weight[n] for n in state))
            if best > limit:
                return best
            if state not in seen:
                if len(seen) > 20_000:
                    return limit + 1  # a machine this large is too complex whatever it holds
                seen.add(state)
                queue.append(state)
    return best


# --------------------------------------------------------------------------------------
# Runtime: a branch is a tuple of fields; a field is (id, path, test, exists_true,
# exists_false). ``test`` checks one leaf value against the field's value alternatives;
# ``id`` names equal fields shared by many rules in a RuleIndex (-1 elsewhere).
# --------------------------------------------------------------------------------------

_Test: TypeAlias = Callable[[Any], bool]
_Field: TypeAlias = tuple[int, str, _Test | None, bool, bool]
_Fields: TypeAlias = tuple[_Field, ...]


def _string_test(spec: _Spec) -> _Test:
    kind = spec[0]
    if kind == "prefix":
        p: str = spec[1]
        return lambda v: v.startswith(p)
    if kind == "suffix":
        s: str = spec[1]
        return lambda v: v.endswith(s)
    if kind == "prefix_ic":
        pl: str = spec[1]
        return lambda v: v.lower().startswith(pl)
    if kind == "suffix_ic":
        sl: str = spec[1]
        return lambda v: v.lower().endswith(sl)
    if kind == "eic":
        el: str = spec[1]
        return lambda v: v.lower() == el
    if kind == "wildcard":
        return spec[2].fullmatch  # type: ignore[no-any-return]
    if kind == "cidr":
        bits, low, high = spec[1], spec[2], spec[3]

        def in_range(v: str) -> bool:
            ip = _event_ip(v)
            return ip is not None and ip[0] == bits and low <= ip[1] <= high

        return in_range
    raise AssertionError(kind)  # pragma: no cover


def _number_test(spec: _Spec) -> _Test:
    _, low, low_open, high, high_open = spec
    ok = _event_number_comparable
    if low is None:
        if high_open:
            return lambda v: v < high and ok(v)
        return lambda v: v <= high and ok(v)
    if high is None:
        if low_open:
            return lambda v: v > low and ok(v)
        return lambda v: v >= low and ok(v)
    if low == high and not low_open and not high_open:
        return lambda v: v == low and ok(v)
    if low_open and high_open:
        return lambda v: low < v < high and ok(v)
    if low_open:
        return lambda v: low < v <= high and ok(v)
    if high_open:
        return lambda v: low <= v < high and ok(v)
    return lambda v: low <= v <= high and ok(v)


def _anything_but_test(spec: _Spec) -> _Test:
    """anything-but: fails only on a value of the kind it lists; any other value passes.

    ``null``, booleans and values of the other type (numbers against a string
    list, strings against a number list) all match, as on AWS.
    """
    kind = spec[0]
    if kind == "not":
        strings: frozenset[str] = spec[1]
        numbers: frozenset[float] = spec[2]

        def not_values(v: Any) -> bool:
            t = type(v)
            if t is str:
                return v not in strings
            if t is int or t is float:
                return not (v in numbers and _event_number_comparable(v))
            return True

        return not_values
    if kind == "not_prefix":
        prefixes: tuple[str, ...] = spec[1]
        return lambda v: type(v) is not str or not v.startswith(prefixes)
    if kind == "not_suffix":
        suffixes: tuple[str, ...] = spec[1]
        return lambda v: type(v) is not str or not v.endswith(suffixes)
    if kind == "not_eic":
        lowered: frozenset[str] = spec[1]
        return lambda v: type(v) is not str or v.lower() not in lowered
    if kind == "not_wildcard":
        regexes: tuple[re.Pattern[str], ...] = spec[1]
        return lambda v: type(v) is not str or not any(r.fullmatch(v) for r in regexes)
    raise AssertionError(kind)  # pragma: no cover


def _field_test(specs: Sequence[_Spec]) -> tuple[_Test | None, bool, bool]:
    """Compile a field's alternatives into (test, exists_true, exists_false)."""
    exists_true = exists_false = False
    strings: set[str] = set()
    numbers: set[int | float] = set()
    literals: set[tuple[str, Any]] = set()
    string_tests: list[_Test] = []
    number_tests: list[_Test] = []
    any_tests: list[_Test] = []
    for spec in specs:
        kind = spec[0]
        if kind == "exists":
            if spec[1]:
                exists_true = True
            else:
                exists_false = True
        elif kind == "str":
            strings.add(spec[1])
        elif kind == "num":
            numbers.add(spec[1])
        elif kind == "lit":
            literals.add(("lit", spec[1]))
        elif kind == "range":
            number_tests.append(_number_test(spec))
        elif kind.startswith("not"):
            any_tests.append(_anything_but_test(spec))
        else:
            string_tests.append(_string_test(spec))

    if not (strings or numbers or literals or string_tests or number_tests or any_tests):
        return None, exists_true, exists_false
    string_set = frozenset(strings)
    if string_set and not (numbers or literals or string_tests or number_tests or any_tests):
        # The common case: a set of strings. A non-string is never equal to a string.
        return string_set.__contains__, exists_true, exists_false

    number_set = frozenset(numbers)
    has_true, has_false, has_null = (
        ("lit", True) in literals,
        ("lit", False) in literals,
        ("lit", None) in literals,
    )
    string_fns, number_fns, any_fns = tuple(string_tests), tuple(number_tests), tuple(any_tests)

    def test(v: Any) -> bool:
        t = type(v)
        if t is str:
            if v in string_set:
                return True
            for fn in string_fns:
                if fn(v):
                    return True
        elif t is int or t is float:
            # Numbers match by value (5 matches 5.0); see _event_number_comparable
            # for the numbers AWS can only match exactly.
            if v in number_set:
                return True
            for fn in number_fns:
                if fn(v):
                    return True
        elif v is None:
            if has_null:
                return True
        elif t is bool and (has_true if v else has_false):
            return True
        return any(fn(v) for fn in any_fns)

    return test, exists_true, exists_false


_Values: TypeAlias = dict[str, list[Any]]
_Member: TypeAlias = tuple[tuple[int, int], ...]
"""(array id, element index) for each array of objects a leaf sits in."""
_Members: TypeAlias = dict[str, dict[int, _Member]]
_PLAIN_LEAVES: Final = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Leaf values of foreign types (str/int subclasses, Decimal) as JSON scalars."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        return float(value)
    return value


class _Flattener:
    """Collects an event's leaves by dotted path, only where some pattern looks.

    Leaves inside arrays of objects also record which element of which array
    they came from, for array-consistent matching.
    """

    __slots__ = ("members", "next_array", "prefixes", "values")

    def __init__(self, prefixes: frozenset[str]) -> None:
        self.prefixes = prefixes
        self.values: _Values = {}
        self.members: _Members | None = None
        self.next_array = 0

    def walk(self, obj: Mapping[str, Any], prefix: str, member: _Member) -> None:
        prefixes = self.prefixes
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key if type(key) is str else str(key)
            if path not in prefixes:
                continue
            t = type(value)
            if t is dict:
                self.walk(value, path, member)
            elif t is list:
                self.walk_list(value, path, member)
            elif t in _PLAIN_LEAVES:
                self.leaf(path, value, member)
            elif isinstance(value, Mapping):
                self.walk(value, path, member)
            elif isinstance(value, list | tuple):
                self.walk_list(value, path, member)
            else:
                self.leaf(path, _plain(value), member)

    def walk_list(self, items: Sequence[Any], path: str, member: _Member) -> None:
        array_id = -1
        for index, item in enumerate(items):
            t = type(item)
            if t is dict or t is list or isinstance(item, Mapping | list | tuple):
                if array_id < 0:
                    array_id = self.next_array
                    self.next_array += 1
                inner = (*member, (array_id, index))
                if isinstance(item, Mapping):
                    self.walk(item, path, inner)
                else:
                    self.walk_list(item, path, inner)
            else:
                self.leaf(path, item if t in _PLAIN_LEAVES else _plain(item), member)

    def leaf(self, path: str, value: Any, member: _Member) -> None:
        values = self.values
        leaves = values.get(path)
        if leaves is None:
            leaves = values[path] = [value]
        else:
            leaves.append(value)
        if member:
            if self.members is None:
                self.members = {}
            self.members.setdefault(path, {})[len(leaves) - 1] = member


def _flatten(event: Mapping[str, Any], prefixes: frozenset[str]) -> tuple[_Values, _Members | None]:
    flattener = _Flattener(prefixes)
    flattener.walk(event, "", ())
    return flattener.values, flattener.members


def _branch_matches(fields: _Fields, values: _Values, members: _Members | None) -> bool:
    groups: list[list[_Member]] | None = None
    for _id, path, test, exists_true, exists_false in fields:
        leaves = values.get(path)
        if leaves is None:
            if exists_false:
                continue
            return False
        constrained = members.get(path) if members is not None else None
        if constrained is None:
            if exists_true:
                continue
            if test is None:
                return False
            for v in leaves:
                if test(v):
                    break
            else:
                return False
            continue
        # Some leaves sit in arrays of objects: remember which elements could serve.
        candidates: list[_Member] = []
        free = False
        for index, v in enumerate(leaves):
            if exists_true or (test is not None and test(v)):
                member = constrained.get(index)
                if member is None:
                    free = True
                    break
                candidates.append(member)
        if free:
            continue
        if not candidates:
            return False
        if groups is None:
            groups = []
        groups.append(candidates)
    if groups is None or len(groups) < 2:
        return True
    return _consistent(groups)


def _branch_matches_memo(fields: _Fields, values: _Values, memo: dict[int, bool]) -> bool:
    """_branch_matches for events without arrays of objects, remembering field results.

    Rules share many fields (``source``, ``detail-type``, a bucket); each is
    evaluated once per event.
    """
    for field_id, path, test, exists_true, exists_false in fields:
        ok = memo.get(field_id)
        if ok is None:
            leaves = values.get(path)
            if leaves is None:
                ok = exists_false
            elif exists_true:
                ok = True
            elif test is None:
                ok = False
            else:
                ok = False
                for v in leaves:
                    if test(v):
                        ok = True
                        break
            memo[field_id] = ok
        if not ok:
            return False
    return True


def _consistent(groups: list[list[_Member]]) -> bool:
    """Whether one candidate per field can be chosen, all from agreeing array elements."""
    groups.sort(key=len)
    chosen: dict[int, int] = {}

    def pick(i: int) -> bool:
        if i == len(groups):
            return True
        for member in groups[i]:
            added: list[int] = []
            fits = True
            for array_id, index in member:
                current = chosen.get(array_id)
                if current is None:
                    chosen[array_id] = index
                    added.append(array_id)
                elif current != index:
                    fits = False
                    break
            if fits and pick(i + 1):
                return True
            for array_id in added:
                del chosen[array_id]
        return False

    return pick(0)


def _prefixes_of(paths: Iterator[str] | Sequence[str] | frozenset[str]) -> frozenset[str]:
    out: set[str] = set()
    for path in paths:
        out.add(path)
        i = path.find(".")
        while i >= 0:
            out.add(path[:i])
            i = path.find(".", i + 1)
    return frozenset(out)


def _field_cost(path: str, specs: Sequence[_Spec]) -> tuple[int, str]:
    # Cheap, selective tests first; exists-only and anything-but last.
    kinds = {spec[0] for spec in specs}
    if kinds <= {"str", "num", "lit"}:
        return (0, path)
    if "exists" in kinds or any(k.startswith("not") for k in kinds):
        return (3, path)
    if kinds & {"wildcard", "cidr"}:
        return (2, path)
    return (1, path)


def _index_keys(specs: Sequence[_Spec]) -> tuple[Any, ...] | None:
    """Hashable keys for a field of exact values only (strings, numbers, literals)."""
    keys: list[Any] = []
    for spec in specs:
        kind = spec[0]
        if kind == "str" or kind == "num":
            keys.append(spec[1])
        elif kind == "lit":
            keys.append(("lit", spec[1]))
        else:
            return None
    return tuple(keys)


def _leaf_key(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is float:
        return value
    return ("lit", value)


@dataclass(frozen=True, eq=False, slots=True)
class _CompiledBranch:
    fields: _Fields
    specs: Mapping[str, tuple[_Spec, ...]]


@dataclass(frozen=True, eq=False)
class Pattern:
    """A compiled, immutable event pattern. Build it with :func:`compile_pattern`."""

    source: str
    """The pattern as JSON text (as given, or serialised from the mapping given)."""
    _branches: tuple[_CompiledBranch, ...] = field(repr=False)
    _prefixes: frozenset[str] = field(repr=False)

    @property
    def paths(self) -> frozenset[str]:
        """Every dotted event path the pattern looks at."""
        return frozenset(p for b in self._branches for p in b.specs)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` (a parsed JSON object) matches this pattern.

        Args:
            event: the whole event, e.g. EventBridge's envelope with ``detail``.

        Returns:
            True if any ``$or`` branch of the pattern matches.
        """
        if not isinstance(event, Mapping):
            return False
        values, members = _flatten(event, self._prefixes)
        return any(_branch_matches(b.fields, values, members) for b in self._branches)


def compile_pattern(pattern: str | Mapping[str, Any]) -> Pattern:
    """Parse and validate an EventBridge event pattern.

    Args:
        pattern: the pattern as JSON text (needed for AWS's answers to invalid
            JSON and duplicate keys, where the last duplicate wins) or as a mapping.

    Returns:
        The compiled pattern.

    Raises:
        EventPatternError: the pattern is invalid; the message is AWS's,
            ``Event pattern is not valid. Reason: ...``.
        TypeError: a mapping holds something that is not a JSON value.
    """
    tokens: Callable[[], _TextTokens | _ValueTokens]
    if isinstance(pattern, str):
        text = pattern
        tokens = lambda: _TextTokens(text)  # noqa: E731
        source = pattern
    elif isinstance(pattern, Mapping):
        value = pattern
        tokens = lambda: _ValueTokens(value)  # noqa: E731
        source = ""
    else:
        kind = type(pattern).__name__
        raise TypeError(f"event pattern must be JSON text or a mapping, got {kind}")
    try:
        branches = _compile_branches(tokens)
        _check_wildcard_complexity(branches)
    except _Invalid as exc:
        raise EventPatternError(_PREFIX + str(exc)) from None
    if not source:
        source = json.dumps(pattern, separators=(",", ":"), default=str)
    compiled = []
    for branch in branches:
        ordered = sorted(branch.items(), key=lambda item: _field_cost(*item))
        fields = tuple((-1, path, *_field_test(specs)) for path, specs in ordered)
        compiled.append(_CompiledBranch(fields, {p: tuple(s) for p, s in branch.items()}))
    prefixes = _prefixes_of([p for branch in branches for p in branch])
    return Pattern(source, tuple(compiled), prefixes)


def _compile_branches(tokens: Callable[[], _TextTokens | _ValueTokens]) -> list[_Branch]:
    compiler = _Compiler(tokens())
    try:
        return compiler.compile()
    except _Invalid as exc:
        if not (exc.parse_error and compiler.saw_or):
            raise
    # AWS compiles a rule that its $or-aware parser refuses once more with its
    # older parser, to which "$or" is an ordinary field name; what that one
    # says, success or error, is the answer. So {"$or": {"a": ["1"]}} is a
    # pattern on the path "$or.a", and a one-object "$or" list fails with the
    # older parser's complaint about its contents.
    return _Compiler(tokens(), with_or=False).compile()


def _check_wildcard_complexity(branches: list[_Branch]) -> None:
    by_path: dict[str, set[tuple[str | None, ...]]] = {}
    for branch in branches:
        for path, specs in branch.items():
            for spec in specs:
                if spec[0] == "wildcard":
                    by_path.setdefault(path, set()).add(spec[1])
    for values in by_path.values():
        if _wildcard_complexity(list(values), _MAX_WILDCARD_COMPLEXITY) > _MAX_WILDCARD_COMPLEXITY:
            raise _barf(_TOO_COMPLEX)


def matches(pattern: str | Mapping[str, Any] | Pattern, event: Mapping[str, Any]) -> bool:
    """Compile ``pattern`` (unless it already is a :class:`Pattern`) and match ``event``.

    Raises:
        EventPatternError: the pattern is invalid.
    """
    compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
    return compiled.matches(event)


# Envelope fields that whole families of events share: poor keys for an index.
_ENVELOPE: Final = frozenset({"source", "detail-type", "account", "region", "version"})

_Entry: TypeAlias = tuple[str, _Fields, _Fields]
"""(rule id, branch fields, branch fields without the indexed one)."""


def _index_heads(specs: Sequence[_Spec]) -> tuple[str, ...] | None:
    """Literal beginnings every string matching the field must start with, if all have one."""
    heads: list[str] = []
    for spec in specs:
        kind = spec[0]
        if kind == "str" or kind == "prefix":
            head = spec[1]
        elif kind == "wildcard":
            parts = spec[1]
            end = parts.index(_STAR) if _STAR in parts else len(parts)
            head = "".join(parts[:end])
        else:
            return None
        if not head:
            return None
        heads.append(head)
    return tuple(heads)


@dataclass(slots=True)
class _HeadTable:
    """Entries by the literal beginning (prefix, wildcard head) of a string field."""

    by_head: dict[str, list[_Entry]] = field(default_factory=dict)
    lengths: tuple[int, ...] = ()

    def refresh(self) -> None:
        self.lengths = tuple(sorted({len(h) for h in self.by_head}))


class RuleIndex:
    """Many patterns, one event: which rules match.

    Each ``$or`` branch of each rule is filed under one of its fields: a field
    of exact values (looked up by the event's value) or of strings with a
    known beginning (prefixes, wildcards with a literal head; looked up by the
    event value's beginnings). The field chosen is the least crowded so far,
    avoiding envelope fields that whole families of events share (``source``,
    ``detail-type``) when there is another. An event then evaluates only the
    branches found under its own values, plus the few with no such field, and
    each distinct field once, however many rules share it.

    Matching never changes the rules, but ``add`` and ``remove`` do: callers
    that share an index between threads serialise those against ``match``.
    """

    def __init__(self) -> None:
        self._patterns: dict[str, Pattern] = {}
        self._order: dict[str, int] = {}
        self._sequence = 0
        self._exact: dict[str, dict[Any, list[_Entry]]] = {}
        self._heads: dict[str, _HeadTable] = {}
        self._scan: list[_Entry] = []
        self._placed: dict[str, list[tuple[str, str, tuple[Any, ...]]]] = {}
        self._prefixes: frozenset[str] | None = frozenset()
        # Equal fields of different rules share one id, so an event checks each once.
        self._fields: dict[tuple[str, tuple[_Spec, ...]], list[Any]] = {}
        self._field_keys: dict[str, list[tuple[str, tuple[_Spec, ...]]]] = {}
        self._next_field_id = 0

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def add(self, rule_id: str, pattern: Pattern) -> None:
        """Add a rule, replacing any rule with the same id."""
        if rule_id in self._patterns:
            self.remove(rule_id)
        self._patterns[rule_id] = pattern
        self._order[rule_id] = self._sequence
        self._sequence += 1
        placed: list[tuple[str, str, tuple[Any, ...]]] = []
        for branch in pattern._branches:
            how, path, keys = self._choose_index(branch)
            fields = tuple(self._intern(f, branch.specs[f[1]]) for f in branch.fields)
            rest = tuple(f for f in fields if f[1] != path)
            entry: _Entry = (rule_id, fields, rest)
            if how == "exact":
                table = self._exact.setdefault(path, {})
                for key in set(keys):
                    table.setdefault(key, []).append(entry)
            elif how == "head":
                heads = self._heads.setdefault(path, _HeadTable())
                for head in set(keys):
                    heads.by_head.setdefault(head, []).append(entry)
                heads.refresh()
            else:
                self._scan.append(entry)
            placed.append((how, path, keys))
        self._placed[rule_id] = placed
        self._field_keys[rule_id] = [
            (path, specs) for branch in pattern._branches for path, specs in branch.specs.items()
        ]
        self._prefixes = None

    def _intern(self, compiled: _Field, specs: tuple[_Spec, ...]) -> _Field:
        key = (compiled[1], specs)
        shared = self._fields.get(key)
        if shared is None:
            shared_field: _Field = (self._next_field_id, *compiled[1:])
            self._next_field_id += 1
            self._fields[key] = [shared_field, 1]
            return shared_field
        shared[1] += 1
        return shared[0]  # type: ignore[no-any-return]

    def _choose_index(self, branch: _CompiledBranch) -> tuple[str, str, tuple[Any, ...]]:
        best: tuple[tuple[bool, int, int, int], str, str, tuple[Any, ...]] | None = None
        for path, specs in branch.specs.items():
            keys = _index_keys(specs)
            if keys is not None:
                table = self._exact.get(path, {})
                crowd = sum(len(table.get(k, ())) for k in set(keys))
                rank = (path in _ENVELOPE, crowd, -path.count("."), 0)
                if best is None or rank < best[0]:
                    best = (rank, "exact", path, keys)
                continue
            heads = _index_heads(specs)
            if heads is not None:
                by_head = self._heads[path].by_head if path in self._heads else {}
                crowd = sum(len(by_head.get(h, ())) for h in set(heads))
                rank = (path in _ENVELOPE, crowd, -path.count("."), 1)
                if best is None or rank < best[0]:
                    best = (rank, "head", path, heads)
        if best is None:
            return "scan", "", ()
        return best[1], best[2], best[3]

    def remove(self, rule_id: str) -> None:
        """Remove a rule; removing an unknown id does nothing."""
        if self._patterns.pop(rule_id, None) is None:
            return
        del self._order[rule_id]
        for how, path, keys in self._placed.pop(rule_id):
            if how == "exact":
                table = self._exact[path]
                _discard(table, keys, rule_id)
                if not table:
                    del self._exact[path]
            elif how == "head":
                heads = self._heads[path]
                _discard(heads.by_head, keys, rule_id)
                if heads.by_head:
                    heads.refresh()
                else:
                    del self._heads[path]
        self._scan = [e for e in self._scan if e[0] != rule_id]
        for key in self._field_keys.pop(rule_id):
            shared = self._fields[key]
            shared[1] -= 1
            if shared[1] == 0:
                del self._fields[key]
        self._prefixes = None

    def match(self, event: Mapping[str, Any]) -> list[str]:
        """Ids of the rules ``event`` matches, in the order they were added.

        A rule replaced by ``add`` counts as added when it was replaced.
        """
        if not isinstance(event, Mapping) or not self._patterns:
            return []
        prefixes = self._prefixes
        if prefixes is None:
            prefixes = self._prefixes = _prefixes_of(
                [p for pattern in self._patterns.values() for p in pattern._prefixes]
            )
        values, members = _flatten(event, prefixes)
        matched: set[str] = set()
        plain = members is None
        memo: dict[int, bool] = {}
        for path, table in self._exact.items():
            leaves = values.get(path)
            if leaves is None:
                continue
            for leaf in leaves:
                entries = table.get(leaf if type(leaf) is str else _leaf_key(leaf))
                if entries is None:
                    continue
                for rule_id, branch, rest in entries:
                    if rule_id in matched:
                        continue
                    if (
                        _branch_matches_memo(rest, values, memo)
                        if plain
                        else _branch_matches(branch, values, members)
                    ):
                        matched.add(rule_id)
        for path, heads in self._heads.items():
            leaves = values.get(path)
            if leaves is None:
                continue
            by_head = heads.by_head
            for leaf in leaves:
                if type(leaf) is not str:
                    continue
                size = len(leaf)
                for length in heads.lengths:
                    if length > size:
                        break
                    entries = by_head.get(leaf[:length])
                    if entries is None:
                        continue
                    # The head only narrows the search: the field itself is still checked.
                    for rule_id, branch, _rest in entries:
                        if rule_id in matched:
                            continue
                        if (
                            _branch_matches_memo(branch, values, memo)
                            if plain
                            else _branch_matches(branch, values, members)
                        ):
                            matched.add(rule_id)
        for rule_id, branch, _rest in self._scan:
            if rule_id in matched:
                continue
            if (
                _branch_matches_memo(branch, values, memo)
                if plain
                else _branch_matches(branch, values, members)
            ):
                matched.add(rule_id)
        if len(matched) < 2:
            return list(matched)
        order = self._order
        return sorted(matched, key=order.__getitem__)


def _discard(table: dict[Any, list[_Entry]], keys: tuple[Any, ...], rule_id: str) -> None:
    for key in set(keys):
        kept = [e for e in table[key] if e[0] != rule_id]
        if kept:
            table[key] = kept
        else:
            del table[key]
