"""The 18 JSONPath-mode intrinsic functions (``States.Format(...)`` and friends).

An expression is parsed once into a small tree (cached on its text) and evaluated against a
:class:`~sluiceway.jsonpath.Scope`. Arguments are string literals (``'it\\'s'``;
``\\{`` and ``\\}`` are literal braces for ``States.Format``), numbers, ``true``/``false``/
``null``, paths (``$.x``, ``$$.x``, ``$var.x``) and nested calls.

Numbers follow the JVM AWS runs on: integer-valued arguments are rounded half up like Java's
``Math.round`` (so ``States.MathAdd(1.5, -1.5)`` is ``2 + -1 = 1``), counts and sums are ints, and
``States.Format`` renders values with Java's ``toString``.

Failures of a well-formed call raise ``StatesError("States.IntrinsicFailure", ...)``; a path
argument that finds nothing raises ``States.Runtime`` with the payload-template message.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sluiceway.errors import StatesError
from sluiceway.jsonpath import PathSyntaxError, Scope, java_text, json_text, select, validate_path
from sluiceway.types import JSON, json_type

from .limits import load_json

__all__ = ["FUNCTIONS", "evaluate", "is_intrinsic", "parse", "validate"]

_INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
_MAX_NESTING: Final = 10
_MAX_TEXT: Final = 10_000
_MAX_RANGE: Final = 1000


# ---------------------------------------------------------------------------------------------
# Parsed form
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A literal argument."""

    value: JSON
    format_parts: tuple[str, ...] | None = None
    """For a string literal: its text split at unescaped ``{}`` (what States.Format fills)."""


@dataclass(frozen=True)
class PathArg:
    """A path argument: ``$...``, ``$$...`` or ``$var...``."""

    path: str


@dataclass(frozen=True)
class Call:
    """A call ``States.<name>(<args>)``."""

    name: str
    args: tuple[Literal | PathArg | Call, ...]
    text: str


Argument = Literal | PathArg | Call

# Allowed argument counts (min, max) per function; max None means any number.
FUNCTIONS: Final[Mapping[str, tuple[int, int | None]]] = {
    "Format": (1, None),
    "StringToJson": (1, 1),
    "JsonToString": (1, 1),
    "Array": (0, None),
    "ArrayPartition": (2, 2),
    "ArrayContains": (2, 2),
    "ArrayRange": (3, 3),
    "ArrayGetItem": (2, 2),
    "ArrayLength": (1, 1),
    "ArrayUnique": (1, 1),
    "Base64Encode": (1, 1),
    "Base64Decode": (1, 1),
    "Hash": (2, 2),
    "JsonMerge": (3, 3),
    "MathRandom": (2, 3),
    "MathAdd": (2, 2),
    "StringSplit": (2, 2),
    "UUID": (0, 0),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> PathSyntaxError:
        return PathSyntaxError(
            f"Invalid intrinsic function '{self.text}': {why} at position {self.pos}"
        )

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self, depth: int) -> Call:
        if depth > _MAX_NESTING:
            raise self.fail(f"more than {_MAX_NESTING} nested intrinsic functions")
        start = self.pos
        m = re.compile(r"States\.([A-Za-z0-9]+)").match(self.text, self.pos)
        if not m:
            raise self.fail("expected 'States.<function>('")
        name = m.group(1)
        if name not in FUNCTIONS:
            raise self.fail(f"unknown function 'States.{name}'")
        self.pos = m.end()
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] != "(":
            raise self.fail("expected '('")
        self.pos += 1
        args: list[Argument] = []
        self.skip_ws()
        if self.text[self.pos : self.pos + 1] == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.argument(depth))
                self.skip_ws()
                c = self.text[self.pos : self.pos + 1]
                self.pos += 1
                if c == ")":
                    break
                if c != ",":
                    self.pos -= 1
                    raise self.fail("expected ',' or ')'")
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            expected = (
                str(low) if low == high else f"{low} to {high}" if high else f"at least {low}"
            )
            raise self.fail(f"States.{name} takes {expected} argument(s), got {len(args)}")
        return Call(name, tuple(args), self.text[start : self.pos])

    def argument(self, depth: int) -> Argument:
        self.skip_ws()
        c = self.text[self.pos : self.pos + 1]
        if c == "'":
            return self.string()
        if c == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call(depth + 1)
        m = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null").match(self.text, self.pos)
        if not m:
            raise self.fail("expected an argument")
        self.pos = m.end()
        word = m.group()
        if word in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[word])
        return Literal(float(word) if any(ch in word for ch in ".eE") else int(word))

    def string(self) -> Literal:
        # Escapes: \' \\ \{ \} are the reserved characters; an escaped brace is a literal brace
        # for States.Format. Any other backslash is kept as written.
        self.pos += 1
        parts: list[str] = []
        current: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated string literal")
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                current.append(nxt if nxt in "'\\{}" else c + nxt)
                self.pos += 2
                continue
            if c == "'":
                self.pos += 1
                break
            if c == "{" and self.text[self.pos + 1 : self.pos + 2] == "}":
                parts.append("".join(current))
                current = []
                self.pos += 2
                continue
            current.append(c)
            self.pos += 1
        parts.append("".join(current))
        return Literal("{}".join(parts), tuple(parts))

    def path(self) -> PathArg:
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in "'\"" and depth:
                quote = c
                self.pos += 1
                while self.pos < len(self.text) and self.text[self.pos] != quote:
                    self.pos += 2 if self.text[self.pos] == "\\" else 1
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            self.pos += 1
        path = self.text[start : self.pos].rstrip()
        problems = validate_path(path)
        if problems:
            raise self.fail(problems[0])
        return PathArg(path)


_INTRINSIC_CALL: Final = re.compile(r"States\.[A-Za-z0-9]+\s*\(.*\)\s*", re.S)


def is_intrinsic(s: Any) -> bool:
    """Whether ``s`` looks like an intrinsic function call, ``States.Name(...)``."""
    return isinstance(s, str) and bool(_INTRINSIC_CALL.fullmatch(s))


@functools.lru_cache(maxsize=1024)
def parse(expression: str) -> Call:
    """Parse an intrinsic function call (cached on the text).

    Args:
        expression: e.g. ``"States.Format('{}', $.name)"``.

    Returns:
        The call tree.

    Raises:
        PathSyntaxError: the expression is not a valid call (unknown function, wrong argument
            count, bad literal or path, more than 10 nested calls).
    """
    parser = _Parser(expression)
    parser.skip_ws()
    call = parser.call(1)
    parser.skip_ws()
    if parser.pos != len(expression):
        raise parser.fail("unexpected text after the call")
    return call


def validate(expression: str) -> list[str]:
    """Problems with an intrinsic function call in a definition; empty when it is fine."""
    try:
        parse(expression)
    except PathSyntaxError as exc:
        return [str(exc)]
    return []


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(
    expression: str,
    scope: Scope,
    rng: random.Random | None,
    *,
    field: str | None = None,
) -> JSON:
    """Evaluate an intrinsic function call.

    Args:
        expression: the call, e.g. ``"States.MathAdd($.a, 1)"``.
        scope: what path arguments can see.
        rng: the random source for ``States.UUID`` and ``States.MathRandom`` (seeded for replay).
        field: the definition field holding the call (e.g. ``"value.$"``), for messages.

    Returns:
        The function's result.

    Raises:
        StatesError: ``States.IntrinsicFailure`` when a function rejects its arguments;
            ``States.Runtime`` when a path argument finds nothing or the call cannot be parsed.
        ValueError: if ``rng`` is None and the call needs randomness.
    """
    try:
        call = parse(expression)
    except PathSyntaxError as exc:
        raise StatesError("States.Runtime", str(exc)) from None
    return _Evaluator(scope, rng, field or expression).call(call)


class _Evaluator:
    def __init__(self, scope: Scope, rng: random.Random | None, field: str) -> None:
        self.scope = scope
        self.rng = rng
        self.field = field

    def argument(self, arg: Argument) -> JSON:
        if isinstance(arg, Literal):
            return arg.value
        if isinstance(arg, PathArg):
            return select(arg.path, self.scope, field=self.field)
        return self.call(arg)

    def call(self, call: Call) -> JSON:
        values = [self.argument(a) for a in call.args]
        if call.name == "Format":
            return _format(call, values)
        if call.name in ("UUID", "MathRandom"):
            if self.rng is None:
                raise ValueError(f"States.{call.name} needs a random source (rng) to be passed in")
            return _uuid(self.rng) if call.name == "UUID" else _math_random(call, values, self.rng)
        return _SIMPLE[call.name](call, values)


def _fail(call: Call, why: str) -> StatesError:
    return StatesError(_INTRINSIC_FAILURE, f"Invalid arguments in {call.text}: {why}")



def _expect(call: Call, value: JSON, kind: str, which: str) -> None:
    if json_type(value) != kind:
        raise _fail(
            call,
            f"the {which} argument must be a {kind}, but was {json_type(value)}: "
            f"{json_text(value)}",
        )


def _java_round(x: float) -> int:
    # Java's Math.round: half rounds up (towards positive infinity), so -1.5 -> -1.
    return math.floor(x + 0.5)


def _integer(call: Call, value: JSON, which: str) -> int:
    _expect(call, value, "number", which)
    assert isinstance(value, (int, float))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(call, f"the {which} argument must be a finite number")
        return _java_round(value)
    return value


def _format(call: Call, values: list[JSON]) -> str:
    template, *args = values
    _expect(call, template, "string", "first")
    assert isinstance(template, str)
    first = call.args[0]
    # Only a literal can escape braces; a template from a path has every {} as a placeholder.
    parts = first.format_parts if isinstance(first, Literal) and first.format_parts else None
    pieces = list(parts) if parts is not None else template.split("{}")
    if len(pieces) - 1 != len(args):
        raise _fail(
            call,
            f"the template has {len(pieces) - 1} placeholder(s) but {len(args)} "
            "value(s) were given",
        )
    out = [pieces[0]]
    for value, piece in zip(args, pieces[1:], strict=True):
        out.append(java_text(value))
        out.append(piece)
    return "".join(out)


def _string_to_json(call: Call, values: list[JSON]) -> JSON:
    (text,) = values
    _expect(call, text, "string", "first")
    assert isinstance(text, str)
    if not text.strip():
        return None  # AWS returns null for an empty string
    try:
        return load_json(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise _fail(call, f"the string is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> JSON:
    # Python's parser accepts NaN and Infinity; JSON (and AWS's parser) does not.
    raise ValueError(f"{name} is not valid JSON")


def _json_to_string(call: Call, values: list[JSON]) -> str:
    return json_text(values[0])


def _array(call: Call, values: list[JSON]) -> list[JSON]:
    return list(values)


def _array_partition(call: Call, values: list[JSON]) -> list[JSON]:
    array, size = values
    _expect(call, array, "array", "first")
    assert isinstance(array, list)
    chunk = _integer(call, size, "second")
    if chunk <= 0:
        raise _fail(call, f"the chunk size must be a positive integer, but was {chunk}")
    return [array[i : i + chunk] for i in range(0, len(array), chunk)]


def _json_equal(a: JSON, b: JSON) -> bool:
    # JSON equality, not Python's: true is not 1, while 1 and 1.0 are the same number.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _array_contains(call: Call, values: list[JSON]) -> bool:
    array, wanted = values
    _expect(call, array, "array", "first")
    assert isinstance(array, list)
    return any(_json_equal(item, wanted) for item in array)


def _array_range(call: Call, values: list[JSON]) -> list[int]:
    start, end, step = (
        _integer(call, v, w) for v, w in zip(values, ("first", "second", "third"), strict=True)
    )
    if step == 0:
        raise _fail(call, "the step must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > _MAX_RANGE:
        raise _fail(call, f"the range would hold {count} items; at most {_MAX_RANGE} are allowed")
    return list(range(start, end + (1 if step > 0 else -1), step))


def _array_get_item(call: Call, values: list[JSON]) -> JSON:
    array, index = values
    _expect(call, array, "array", "first")
    assert isinstance(array, list)
    _expect(call, index, "number", "second")
    if isinstance(index, float) and not index.is_integer():
        raise _fail(call, f"the index must be an integer, but was {json_text(index)}")
    assert isinstance(index, (int, float))
    k = int(index)
    if not 0 <= k < len(array):
        raise _fail(call, f"the index {k} is out of bounds for an array of length {len(array)}")
    return array[k]


def _array_length(call: Call, values: list[JSON]) -> int:
    _expect(call, values[0], "array", "first")
    assert isinstance(values[0], list)
    return len(values[0])


def _array_unique(call: Call, values: list[JSON]) -> list[JSON]:
    _expect(call, values[0], "array", "first")
    assert isinstance(values[0], list)
    unique: list[JSON] = []
    for item in values[0]:
        if not any(_json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _text_argument(call: Call, value: JSON) -> str:
    _expect(call, value, "string", "first")
    assert isinstance(value, str)
    if len(value) > _MAX_TEXT:
        raise _fail(
            call, f"the input is {len(value)} characters long; at most {_MAX_TEXT} are allowed"
        )
    return value


def _base64_encode(call: Call, values: list[JSON]) -> str:
    text = _text_argument(call, values[0])
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(call: Call, values: list[JSON]) -> str:
    text = _text_argument(call, values[0])
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise _fail(call, "the input is not valid Base64-encoded UTF-8 text") from None


_HASHES: Final[Mapping[str, Callable[[bytes], hashlib._Hash]]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _hash(call: Call, values: list[JSON]) -> str:
    data, algorithm = values
    text = _text_argument(call, data)
    _expect(call, algorithm, "string", "second")
    assert isinstance(algorithm, str)
    digest = _HASHES.get(algorithm)
    if digest is None:
        raise _fail(call, f"the hash algorithm '{algorithm}' is not one of {', '.join(_HASHES)}")
    return digest(text.encode("utf-8")).hexdigest()


def _json_merge(call: Call, values: list[JSON]) -> dict[str, JSON]:
    first, second, deep = values
    _expect(call, first, "object", "first")
    _expect(call, second, "object", "second")
    _expect(call, deep, "boolean", "third")
    assert isinstance(first, dict) and isinstance(second, dict)
    if deep:
        raise _fail(call, "only shallow merging is supported; the third argument must be false")
    return {**first, **second}


def _math_add(call: Call, values: list[JSON]) -> int:
    a, b = (_int32(call, v, w) for v, w in zip(values, ("first", "second"), strict=True))
    return a + b


def _int32(call: Call, value: JSON, which: str) -> int:
    n = _integer(call, value, which)
    if not -(2**31) <= n < 2**31:
        raise _fail(call, f"the {which} argument {n} is outside -2147483648..2147483647")
    return n


def _string_split(call: Call, values: list[JSON]) -> list[str]:
    text, delimiters = values
    _expect(call, text, "string", "first")
    _expect(call, delimiters, "string", "second")
    assert isinstance(text, str) and isinstance(delimiters, str)
    if not delimiters:
        return [text] if text else []
    # Every character of the second argument is a delimiter and empty pieces are dropped, as
    # Java's StringTokenizer does (AWS: "a,,b" split on "," is ["a", "b"]).
    pattern = "[" + re.escape(delimiters) + "]+"
    return [piece for piece in re.split(pattern, text) if piece]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _math_random(call: Call, values: list[JSON], rng: random.Random) -> int:
    start = _int32(call, values[0], "first")
    end = _int32(call, values[1], "second")
    if start >= end:
        raise _fail(call, f"the start {start} must be less than the end {end}")
    if len(values) == 3:
        seed = _integer(call, values[2], "third")
        # A seeded call is reproducible on its own, like java.util.Random(seed).nextInt(bound).
        return start + _JavaRandom(seed).next_int(end - start)
    return rng.randrange(start, end)


class _JavaRandom:
    """java.util.Random's linear congruential generator, for seeded ``States.MathRandom``."""

    _MULTIPLIER: Final = 0x5DEECE66D
    _MASK: Final = (1 << 48) - 1

    def __init__(self, seed: int) -> None:
        self.seed = (seed ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits: int) -> int:
        self.seed = (self.seed * self._MULTIPLIER + 0xB) & self._MASK
        value = self.seed >> (48 - bits)
        return value - (1 << 32) if value >= 1 << 31 else value  # Java's (int) cast

    def next_int(self, bound: int) -> int:
        if bound & -bound == bound:
            return (bound * self._next(31)) >> 31
        while True:
            bits = self._next(31)
            value = bits % bound
            if bits - value + (bound - 1) < 1 << 31:
                return value


_SIMPLE: Final[Mapping[str, Callable[[Call, list[JSON]], JSON]]] = {
    "StringToJson": _string_to_json,
    "JsonToString": _json_to_string,
    "Array": _array,
    "ArrayPartition": _array_partition,
    "ArrayContains": _array_contains,
    "ArrayRange": _array_range,
    "ArrayGetItem": _array_get_item,
    "ArrayLength": _array_length,
    "ArrayUnique": _array_unique,
    "Base64Encode": _base64_encode,
    "Base64Decode": _base64_decode,
    "Hash": _hash,
    "JsonMerge": _json_merge,
    "MathAdd": _math_add,
    "StringSplit": _string_split,
}
