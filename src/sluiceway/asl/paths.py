"""JSONPath for the ASL engine: paths, reference paths, payload templates, ResultPath.

Step Functions evaluates JSONPath with the Java library Jayway JsonPath, so this module follows
Jayway's semantics and error texts rather than any JSONPath spec:

* A *definite* path (only ``.name``, ``['name']``, ``[n]`` and a trailing ``['a','b']``) yields one
  value or fails; an *indefinite* one (``[*]``, ``..``, ``[?(...)]``, ``[a:b]``, ``[0,1]``) always
  yields a list, possibly empty, and never fails for missing data.
* Negative indexes count from the end; JSONPath functions such as ``.length()`` are not supported
  (AWS treats ``length()`` as a property name).
* Keys in brackets keep their backslashes: AWS reads ``$['a\\"b']`` as the key ``a\\"b``.

Three roots exist: ``$`` (the state input), ``$$`` (the context object) and ``$name`` (a workflow
variable). All values are plain JSON (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``) and are treated as immutable: results may share structure with their inputs.
"""

from __future__ import annotations

import functools
import math
import operator
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sluiceway.asl import limits, regexes
from sluiceway.errors import StatesError
from sluiceway.types import JSON

__all__ = [
    "PathSyntaxError",
    "Scope",
    "is_definite",
    "is_intrinsic",
    "is_path",
    "is_reference_path",
    "java_text",
    "json_text",
    "lookup",
    "put",
    "resolve",
    "select",
    "validate_path",
    "validate_template",
]


@dataclass(frozen=True)
class Scope:
    """What a path, template or intrinsic function can see."""

    input: JSON
    """The state's effective input, reached with ``$``."""
    context: JSON = None
    """The context object, ``$$`` (``Execution``, ``State``, ``StateMachine``, ``Map``...)."""
    variables: Mapping[str, JSON] = field(default_factory=dict)
    """Workflow variables by name, reached with ``$name`` (JSONPath-mode ``Assign``)."""


class PathSyntaxError(ValueError):
    """A path is not valid JSONPath; raised when it is compiled."""


# ---------------------------------------------------------------------------------------------
# Java-compatible text of JSON values (AWS runs on the JVM; its messages and States.Format use
# Java's renderings, e.g. 1.0E20 rather than 1e+20).
# ---------------------------------------------------------------------------------------------


def _java_double(x: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE[-]n``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    shortest = Decimal(repr(abs(x)))
    if 1e-3 <= abs(x) < 1e7:
        text = format(shortest, "f")
        return sign + (text if "." in text else text + ".0")
    _, digit_tuple, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    power = exponent + len(digits) - 1
    digits = digits.rstrip("0") or "0"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{power}"


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE: Final = re.compile(r'["\\\x00-\x1f]')


def _json_string(s: str) -> str:
    def escape(m: re.Match[str]) -> str:
        c = m.group()
        return _JSON_ESCAPES.get(c) or f"\\u{ord(c):04x}"

    return '"' + _NEEDS_ESCAPE.sub(escape, s) + '"'


def json_text(value: JSON) -> str:
    """Render a JSON value as compact JSON text, as AWS (Jackson) writes it.

    Non-ASCII characters stay as they are; floats use Java's spelling (``1.0E20``).

    Args:
        value: any JSON value.

    Returns:
        The JSON text without insignificant whitespace.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        return (
            "{" + ",".join(f"{_json_string(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def java_text(value: JSON) -> str:
    """Render a JSON value the way Java's ``toString`` does on the parsed value.

    This is what ``States.Format`` substitutes: strings as they are, objects as ``{a=1, b=[]}``,
    arrays as ``[1, 2]``, ``null``/``true``/``false``, floats as ``Double.toString``.

    Args:
        value: any JSON value.

    Returns:
        The text.
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _java_class(value: JSON) -> str:
    # The classes Jackson maps JSON onto; they appear in Jayway's "Expected to find an object" text.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"


_JSON_PROVIDER: Final = "com.jayway.jsonpath.spi.json.JacksonJsonProvider"

# ---------------------------------------------------------------------------------------------
# Compiled paths
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prop:
    names: tuple[str, ...]

    def fragment(self) -> str:
        return "[" + ",".join(f"'{n}'" for n in self.names) + "]"


@dataclass(frozen=True)
class _Index:
    indexes: tuple[int, ...]

    def fragment(self) -> str:
        return "[" + ",".join(map(str, self.indexes)) + "]"


@dataclass(frozen=True)
class _Slice:
    start: int | None
    end: int | None

    def fragment(self) -> str:
        return (
            f"[{'' if self.start is None else self.start}:{'' if self.end is None else self.end}]"
        )


@dataclass(frozen=True)
class _Wildcard:
    def fragment(self) -> str:
        return "[*]"


@dataclass(frozen=True)
class _Scan:
    def fragment(self) -> str:
        return ".."


@dataclass(frozen=True)
class _Filter:
    expr: _Expr
    source: str

    def fragment(self) -> str:
        return "[?]"


_Token = _Prop | _Index | _Slice | _Wildcard | _Scan | _Filter


def _token_definite(token: _Token, leaf: bool) -> bool:
    if isinstance(token, _Prop):
        # Jayway merges several properties at the leaf into one object, a single result.
        return len(token.names) == 1 or leaf
    if isinstance(token, _Index):
        return len(token.indexes) == 1
    return False


@dataclass(frozen=True)
class _Path:
    text: str
    root: str
    """``$`` (input), ``$$`` (context) or a variable name."""
    tokens: tuple[_Token, ...]

    @property
    def definite(self) -> bool:
        last = len(self.tokens) - 1
        return all(_token_definite(t, i == last) for i, t in enumerate(self.tokens))

    def render(self, upto: int | None = None) -> str:
        """Jayway's normalised form, e.g. ``$['a'][0]``."""
        return "$" + "".join(t.fragment() for t in self.tokens[:upto])


_VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Reader:
    """Cursor over path (or filter) text."""

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def expect(self, s: str) -> None:
        if not self.text.startswith(s, self.pos):
            raise PathSyntaxError(f"Expected '{s}' at position {self.pos} in path {self.text}")
        self.pos += len(s)

    def quoted(self) -> str:
        """A quoted name or string. Backslash escapes the next character but stays in the text,
        as AWS's parser keeps it (``$['a\\"b']`` names the key ``a\\"b``)."""
        quote = self.text[self.pos]
        start = self.pos + 1
        i = start
        while i < len(self.text):
            c = self.text[i]
            if c == "\\":
                i += 2
                continue
            if c == quote:
                self.pos = i + 1
                return self.text[start:i]
            i += 1
        raise PathSyntaxError(
            f"Property has not been closed - missing closing {quote} in path {self.text}"
        )


# Brackets and parentheses nested inside one another: each level of a filter is a few frames
# of recursive descent (a nested filter's path more), so the parser stays shallow with a bound
# no sensible path comes near.
_MAX_BRACKET_NESTING: Final = 100


@functools.lru_cache(maxsize=2048)
def _compile(text: str) -> _Path:
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"Path must start with '$': {text!r}")
    if _bracket_nesting(text) > _MAX_BRACKET_NESTING:
        raise PathSyntaxError(f"Brackets are nested more than {_MAX_BRACKET_NESTING} levels deep in path {text}")
    if text.startswith("$$"):
        root, pos = "$$", 2
    else:
        m = _VARIABLE_NAME.match(text, 1)
        root, pos = (m.group(), m.end()) if m else ("$", 1)
    reader = _Reader(text, pos)
    tokens = _read_tokens(reader, text)
    # Evaluation and ResultPath recurse once per step; data never nests deeper than this.
    if len(tokens) > limits.MAX_NESTING_DEPTH:
        raise PathSyntaxError(f"The path has more than {limits.MAX_NESTING_DEPTH} steps: {text}")
    return _Path(text=text, root=root, tokens=tuple(tokens))


def _bracket_nesting(text: str) -> int:
    """The deepest nesting of ``[`` and ``(`` in ``text``, outside quoted names and strings."""
    deepest = depth = 0
    quote = ""
    escaped = False
    for c in text:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "[(":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "])":
            depth -= 1
    return deepest


def _read_tokens(r: _Reader, text: str) -> list[_Token]:
    tokens: list[_Token] = []
    while not r.at_end():
        c = r.peek()
        if r.peek(2) == "..":
            r.pos += 2
            tokens.append(_Scan())
            if r.at_end():
                raise PathSyntaxError(f"Path must not end with a '.' or '..': {text}")
            if r.peek() == "[":
                continue
            tokens.append(_read_dot_name(r, text))
        elif c == ".":
            r.pos += 1
            if r.at_end():
                raise PathSyntaxError(f"Path must not end with a '.' or '..': {text}")
            if r.peek() == "[":
                raise PathSyntaxError(
                    f"Could not parse token starting at position {r.pos} in path {text}"
                )
            tokens.append(_read_dot_name(r, text))
        elif c == "[":
            tokens.append(_read_bracket(r, text))
        else:
            raise PathSyntaxError(
                f"Could not parse token starting at position {r.pos} in path {text}"
            )
    return tokens


def _read_dot_name(r: _Reader, text: str) -> _Token:
    if r.peek() == "*":
        r.pos += 1
        return _Wildcard()
    start = r.pos
    while not r.at_end() and r.peek() not in ".[":
        if r.peek() in " \t":
            raise PathSyntaxError(
                "Use bracket notion ['my prop'] if your property contains blank characters. "
                f"position: {r.pos}"
            )
        r.pos += 1
    if r.pos == start:
        raise PathSyntaxError(f"Could not parse token starting at position {start} in path {text}")
    return _Prop((text[start : r.pos],))


_INT: Final = re.compile(r"\s*(-?\d+)\s*")


def _read_bracket(r: _Reader, text: str) -> _Token:
    r.expect("[")
    r.skip_ws()
    if r.at_end():
        raise PathSyntaxError(f"Could not find matching close square bracket in path {text}")
    c = r.peek()
    if c == "*":
        r.pos += 1
        r.skip_ws()
        r.expect("]")
        return _Wildcard()
    if c == "?":
        r.pos += 1
        r.skip_ws()
        r.expect("(")
        start = r.pos
        expr = _FilterParser(r).parse_or()
        r.skip_ws()
        source = text[start : r.pos]
        r.expect(")")
        r.skip_ws()
        r.expect("]")
        return _Filter(expr, source)
    if c in ("'", '"'):
        names = [r.quoted()]
        r.skip_ws()
        while r.peek() == ",":
            r.pos += 1
            r.skip_ws()
            if r.peek() not in ("'", '"'):
                raise PathSyntaxError(f"Property must be quoted in path {text}")
            names.append(r.quoted())
            r.skip_ws()
        r.expect("]")
        return _Prop(tuple(names))
    end = text.find("]", r.pos)
    if end < 0:
        raise PathSyntaxError(f"Could not find matching close square bracket in path {text}")
    inner = text[r.pos : end]
    r.pos = end + 1
    if ":" in inner:
        parts = inner.split(":")
        if len(parts) != 2:
            # Jayway supports no slice step.
            raise PathSyntaxError(f"Failed to parse SliceOperation: {inner}")
        bounds: list[int | None] = []
        for part in parts:
            if part.strip() == "":
                bounds.append(None)
            elif _INT.fullmatch(part):
                bounds.append(int(part))
            else:
                raise PathSyntaxError(f"Failed to parse SliceOperation: {inner}")
        return _Slice(bounds[0], bounds[1])
    items = inner.split(",")
    if not all(_INT.fullmatch(i) for i in items):
        raise PathSyntaxError(f"Failed to parse array index: [{inner}] in path {text}")
    return _Index(tuple(int(i) for i in items))


# ---------------------------------------------------------------------------------------------
# Filter expressions: [?(@.price < 10 && @.tags)] (Jayway's predicate language, mostly)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: JSON


@dataclass(frozen=True)
class _PathRef:
    relative: bool
    """``@`` (the current item) rather than ``$`` (the document root)."""
    path: _Path


@dataclass(frozen=True)
class _Regex:
    pattern: regexes.BoundedPattern


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Operand
    right: _Operand


@dataclass(frozen=True)
class _Exists:
    operand: _Operand


@dataclass(frozen=True)
class _BoolOp:
    op: str
    parts: tuple[_Expr, ...]


@dataclass(frozen=True)
class _NotOp:
    part: _Expr


_Operand = _Literal | _PathRef | _Regex
_Expr = _Compare | _Exists | _BoolOp | _NotOp

_OPERATORS: Final = ("==", "!=", "<=", ">=", "=~", "<", ">")
_WORD_OPERATORS: Final = ("subsetof", "anyof", "noneof", "nin", "in", "size", "empty")
_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class _FilterParser:
    def __init__(self, reader: _Reader) -> None:
        self.r = reader

    def fail(self) -> PathSyntaxError:
        return PathSyntaxError(
            f"Could not parse filter at position {self.r.pos} in path {self.r.text}"
        )

    def parse_or(self) -> _Expr:
        parts = [self.parse_and()]
        while self._accept("||"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else _BoolOp("||", tuple(parts))

    def parse_and(self) -> _Expr:
        parts = [self.parse_unary()]
        while self._accept("&&"):
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else _BoolOp("&&", tuple(parts))

    def parse_unary(self) -> _Expr:
        self.r.skip_ws()
        # Read a run of "!" in a loop, not by recursion: "!!!!...@.a" can be as long as the path.
        negations = 0
        while self.r.peek() == "!" and self.r.peek(2) != "!=":
            self.r.pos += 1
            negations += 1
            self.r.skip_ws()
        expr = self._parse_negated()
        return _NotOp(expr) if negations % 2 else expr

    def _parse_negated(self) -> _Expr:
        if self.r.peek() == "(":
            self.r.pos += 1
            inner = self.parse_or()
            self.r.skip_ws()
            self.r.expect(")")
            return inner
        left = self.parse_operand()
        self.r.skip_ws()
        for op in _OPERATORS:
            if self.r.text.startswith(op, self.r.pos):
                self.r.pos += len(op)
                return _Compare(op, left, self.parse_operand())
        for word in _WORD_OPERATORS:
            if self.r.text.startswith(word, self.r.pos):
                self.r.pos += len(word)
                return _Compare(word, left, self.parse_operand())
        return _Exists(left)

    def _accept(self, s: str) -> bool:
        self.r.skip_ws()
        if self.r.text.startswith(s, self.r.pos):
            self.r.pos += len(s)
            return True
        return False

    def parse_operand(self) -> _Operand:
        r = self.r
        r.skip_ws()
        c = r.peek()
        if c in ("@", "$"):
            start = r.pos
            depth = 0
            while not r.at_end():
                ch = r.peek()
                if ch in "'\"" and depth:
                    r.quoted()
                    continue
                if ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                elif depth == 0 and (ch in " \t)!=<>&|~" or ch == ","):
                    break
                r.pos += 1
            text = r.text[start : r.pos]
            return _PathRef(c == "@", _compile("$" + text[1:]))
        if c in ("'", '"'):
            return _Literal(r.quoted())
        if c == "/":
            end = r.text.find("/", r.pos + 1)
            while end > 0 and r.text[end - 1] == "\\":
                end = r.text.find("/", end + 1)
            if end < 0:
                raise self.fail()
            pattern = r.text[r.pos + 1 : end]
            r.pos = end + 1
            flags: set[str] = set()
            while r.peek() in ("i", "m", "s", "x") and not r.at_end():
                flags.add(r.peek())
                r.pos += 1
            try:
                compiled = regexes.compile(
                    pattern, ignore_case="i" in flags, multiline="m" in flags, dotall="s" in flags, verbose="x" in flags
                )
            except regexes.InvalidRegexError as exc:
                raise PathSyntaxError(f"Invalid regular expression /{pattern}/: {exc}") from None
            return _Regex(compiled)
        if c == "[":
            return _Literal(self.parse_array())
        for word, value in (("true", True), ("false", False), ("null", None)):
            if r.text.startswith(word, r.pos):
                r.pos += len(word)
                return _Literal(value)
        m = _NUMBER.match(r.text, r.pos)
        if m:
            r.pos = m.end()
            return _Literal(_number(m.group()))
        raise self.fail()

    def parse_array(self) -> list[JSON]:
        self.r.expect("[")
        items: list[JSON] = []
        self.r.skip_ws()
        if self.r.peek() == "]":
            self.r.pos += 1
            return items
        while True:
            operand = self.parse_operand()
            if not isinstance(operand, _Literal):
                raise self.fail()
            items.append(operand.value)
            self.r.skip_ws()
            if self.r.peek() == ",":
                self.r.pos += 1
                continue
            self.r.expect("]")
            return items


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


class _NotFound(Exception):
    """A definite path found nothing; the message is Jayway's."""


def _is_number(v: JSON) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json_equal(a: JSON, b: JSON) -> bool:
    """JSON equality: numbers by value, but ``true`` is not ``1`` (unlike Python's ``==``)."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if type(a) is not type(b) and not (isinstance(a, Mapping) and isinstance(b, Mapping)):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


class _Evaluation:
    def __init__(self, path: _Path, root_document: JSON, *, suppress: bool) -> None:
        self.path = path
        self.tokens = path.tokens
        self.root_document = root_document
        self.suppress = suppress
        self.results: list[JSON] = []
        # upstream_definite[i]: every token before i is definite, so a miss there is an error.
        self.upstream_definite: list[bool] = []
        definite = True
        last = len(self.tokens) - 1
        for i, token in enumerate(self.tokens):
            self.upstream_definite.append(definite)
            definite = definite and _token_definite(token, i == last)

    def strict(self, i: int) -> bool:
        return not self.suppress and self.upstream_definite[i]

    def run(self, model: JSON) -> list[JSON]:
        self.walk(0, model, "$")
        return self.results

    def emit(self, i: int, value: JSON, current: str) -> None:
        if i == len(self.tokens) - 1:
            self.results.append(value)
        else:
            self.walk(i + 1, value, current)

    def walk(self, i: int, model: JSON, current: str) -> None:
        if i == len(self.tokens):
            self.results.append(model)
            return
        token = self.tokens[i]
        leaf = i == len(self.tokens) - 1
        if isinstance(token, _Prop):
            self.walk_prop(i, token, model, current, leaf)
        elif isinstance(token, (_Index, _Slice)):
            if not self.check_array(i, token, model, current):
                return
            n = len(model)
            if isinstance(token, _Index):
                positions = [k + n if k < 0 else k for k in token.indexes]
            else:
                positions = list(range(n))[token.start : token.end]
            for k in positions:
                if 0 <= k < n:  # out of range is silently empty, as in Jayway
                    self.emit(i, model[k], f"{current}[{k}]")
        elif isinstance(token, _Wildcard):
            if isinstance(model, Mapping):
                for key, value in model.items():
                    self.emit(i, value, f"{current}['{key}']")
            elif isinstance(model, list):
                for k, value in enumerate(model):
                    self.emit(i, value, f"{current}[{k}]")
        elif isinstance(token, _Scan):
            for node, node_path in _containers(model, current):
                # A deep scan never fails on a miss: every node below is tried.
                sub = _Evaluation(
                    _Path(self.path.text, "$", self.tokens[i + 1 :]),
                    self.root_document,
                    suppress=True,
                )
                sub.walk(0, node, node_path)
                self.results.extend(sub.results)
        else:
            self.walk_filter(i, token, model, current)

    def walk_prop(self, i: int, token: _Prop, model: JSON, current: str, leaf: bool) -> None:
        if not isinstance(model, Mapping):
            if self.strict(i):
                raise _NotFound(
                    f"Expected to find an object with property {token.fragment()} "
                    f"in path {current} "
                    f"but found '{_java_class(model)}'. This is not a json object according to the "
                    f"JsonProvider: '{_JSON_PROVIDER}'."
                )
            return
        if len(token.names) > 1 and leaf:
            merged = {name: model[name] for name in token.names if name in model}
            self.results.append(merged)
            return
        for name in token.names:
            eval_path = f"{current}['{name}']"
            if name not in model:
                if not leaf and self.strict(i) and len(token.names) == 1:
                    raise _NotFound(f"Missing property in path {eval_path}")
                continue
            self.emit(i, model[name], eval_path)

    def check_array(self, i: int, token: _Token, model: JSON, current: str) -> bool:
        if model is None:
            if self.strict(i):
                raise _NotFound(f"The path {current} is null")
            return False
        if not isinstance(model, list):
            if self.strict(i):
                raise _NotFound(
                    f"Filter: {token.fragment()} can only be applied to arrays. "
                    f"Current context is: {java_text(model)}"
                )
            return False
        return True

    def walk_filter(self, i: int, token: _Filter, model: JSON, current: str) -> None:
        if isinstance(model, Mapping):
            if self.accept(token.expr, model):
                self.emit(i, model, current)
        elif isinstance(model, list):
            for k, item in enumerate(model):
                if self.accept(token.expr, item):
                    self.emit(i, item, f"{current}[{k}]")
        elif self.strict(i):
            raise _NotFound(
                "Filter: [?] can not be applied to primitives. "
                f"Current context is: {java_text(model)}"
            )

    # -- filter predicates --

    def operand(self, operand: _Operand, item: JSON) -> tuple[bool, JSON]:
        if isinstance(operand, _Literal):
            return True, operand.value
        if isinstance(operand, _Regex):
            return True, operand
        sub = _Evaluation(operand.path, self.root_document, suppress=True)
        found = sub.run(item if operand.relative else self.root_document)
        if operand.path.definite:
            return (True, found[0]) if found else (False, None)
        return True, found

    def accept(self, expr: _Expr, item: JSON) -> bool:
        if isinstance(expr, _BoolOp):
            if expr.op == "&&":
                return all(self.accept(p, item) for p in expr.parts)
            return any(self.accept(p, item) for p in expr.parts)
        if isinstance(expr, _NotOp):
            return not self.accept(expr.part, item)
        if isinstance(expr, _Exists):
            found, _ = self.operand(expr.operand, item)
            return found
        has_left, left = self.operand(expr.left, item)
        has_right, right = self.operand(expr.right, item)
        if not (has_left and has_right):
            return expr.op == "!=" and has_left != has_right
        return _compare(expr.op, left, right)


_ORDER: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: JSON, right: JSON) -> bool:
    if op == "==":
        return _json_equal(left, right)
    if op == "!=":
        return not _json_equal(left, right)
    if op in ("<", "<=", ">", ">="):
        if _is_number(left) and _is_number(right):
            a, b = left, right
        elif isinstance(left, str) and isinstance(right, str):
            a, b = _utf16(left), _utf16(right)
        else:
            return False
        return _ORDER[op](a, b)
    if op == "=~":
        if not (isinstance(right, _Regex) and isinstance(left, str)):
            return False
        try:
            return bool(right.pattern.fullmatch(left))
        except regexes.RegexTimeoutError as exc:
            raise StatesError("States.Runtime", str(exc)) from None
    if op in ("in", "nin"):
        inside = isinstance(right, list) and any(_json_equal(left, r) for r in right)
        return inside if op == "in" else isinstance(right, list) and not inside
    if op == "size":
        return isinstance(left, (list, str)) and _is_number(right) and len(left) == right
    if op == "empty":
        return (
            isinstance(left, (list, str)) and isinstance(right, bool) and (len(left) == 0) == right
        )
    if not (isinstance(left, list) and isinstance(right, list)):
        return False
    if op == "subsetof":
        return all(any(_json_equal(x, y) for y in right) for x in left)
    if op == "anyof":
        return any(any(_json_equal(x, y) for y in right) for x in left)
    return not any(any(_json_equal(x, y) for y in right) for x in left)  # noneof


def _utf16(s: str) -> bytes:
    # Java orders strings by UTF-16 code units, which differs from code points above U+FFFF.
    return s.encode("utf-16-be", "surrogatepass")


def _containers(model: JSON, current: str) -> Iterator[tuple[JSON, str]]:
    """Every object and array in ``model``, itself first, in document order."""
    if isinstance(model, Mapping):
        yield model, current
        for key, value in model.items():
            yield from _containers(value, f"{current}['{key}']")
    elif isinstance(model, list):
        yield model, current
        for k, value in enumerate(model):
            yield from _containers(value, f"{current}[{k}]")


def _root_value(path: _Path, scope: Scope) -> tuple[bool, JSON]:
    if path.root == "$":
        return True, scope.input
    if path.root == "$$":
        return True, scope.context
    if path.root in scope.variables:
        return True, scope.variables[path.root]
    return False, None


def _evaluate(path: _Path, scope: Scope) -> JSON:
    """The value at ``path``; raises ``_NotFound`` with Jayway's message on a definite miss."""
    found, root = _root_value(path, scope)
    if not found:
        raise _NotFound(f"Undefined variable: ${path.root}")
    if not path.definite:
        # AWS answers an indefinite path with a list and never fails it, even when a property
        # before the wildcard or slice is missing ($.items[*] on {} is []).
        return _Evaluation(path, root, suppress=True).run(root)
    results = _Evaluation(path, root, suppress=False).run(root)
    if not results:
        raise _NotFound(f"No results for path: {path.render()}")
    return results[0]


def _compile_or_fail(path: str) -> _Path:
    try:
        return _compile(path)
    except PathSyntaxError as exc:
        raise StatesError("States.Runtime", f"Invalid path '{path}' : {exc}") from exc


def select(path: str, scope: Scope, *, field: str | None = None) -> JSON:
    """Evaluate a JSONPath against the scope.

    Args:
        path: ``$...`` (input), ``$$...`` (context object) or ``$name...`` (variable).
        scope: what the path can see.
        field: the definition field the path came from, e.g. ``"value.$"`` in a payload template
            or ``"CausePath"``. It selects AWS's message for a miss: with a field, "The JSONPath
            '<path>' specified for the field '<field>' could not be found in the input '<input>'";
            without (InputPath, OutputPath, ItemsPath...), "Invalid path '<path>' : <reason>".

    Returns:
        The value for a definite path; a list (possibly empty) for an indefinite one.

    Raises:
        StatesError: ``States.Runtime`` when a definite path finds nothing or the path is invalid.
    """
    compiled = _compile_or_fail(path)
    try:
        return _evaluate(compiled, scope)
    except _NotFound as exc:
        if field is not None:
            raise StatesError(
                "States.Runtime",
                f"The JSONPath '{path}' specified for the field '{field}' "
                "could not be found in the "
                f"input '{json_text(scope.input)}'",
            ) from None
        raise StatesError("States.Runtime", f"Invalid path '{path}' : {exc}") from None


def lookup(path: str, scope: Scope) -> tuple[bool, JSON]:
    """Evaluate a path without failing on a miss.

    Args:
        path: a JSONPath as for :func:`select`.
        scope: what the path can see.

    Returns:
        ``(True, value)`` when found, ``(False, None)`` when a definite path finds nothing. An
        indefinite path is always found (its value is a list, possibly empty).

    Raises:
        StatesError: ``States.Runtime`` if the path is not valid JSONPath.
    """
    compiled = _compile_or_fail(path)
    try:
        return True, _evaluate(compiled, scope)
    except _NotFound:
        return False, None


def is_definite(path: str) -> bool:
    """Whether a valid path selects at most one node (no wildcard, scan, filter, slice or list).

    Raises:
        PathSyntaxError: if the path is not valid JSONPath.
    """
    return _compile(path).definite


def is_path(s: Any) -> bool:
    """Whether ``s`` is meant as a path: a string starting with ``$``."""
    return isinstance(s, str) and s.startswith("$")


_INTRINSIC_CALL: Final = re.compile(r"States\.[A-Za-z0-9]+\s*\(.*\)\s*", re.S)


def is_intrinsic(s: Any) -> bool:
    """Whether ``s`` looks like an intrinsic function call, ``States.Name(...)``."""
    return isinstance(s, str) and bool(_INTRINSIC_CALL.fullmatch(s))


def validate_path(path: Any, *, reference: bool = False) -> list[str]:
    """Problems with a path in a definition.

    Args:
        path: the value found in the definition.
        reference: require a reference path (ResultPath): only ``$``-rooted, with single names
            and indexes.

    Returns:
        Human-readable problems; empty when the path is fine.
    """
    if not isinstance(path, str):
        return [f"expected a JSONPath string, got {json_text(path)}"]
    try:
        compiled = _compile(path)
    except PathSyntaxError as exc:
        return [f"invalid JSONPath '{path}': {exc}"]
    if reference and not _is_reference(compiled):
        return [f"'{path}' is not a valid reference path"]
    return []


def _is_reference(compiled: _Path) -> bool:
    return compiled.root == "$" and all(
        (isinstance(t, _Prop) and len(t.names) == 1)
        or (isinstance(t, _Index) and len(t.indexes) == 1)
        for t in compiled.tokens
    )


def is_reference_path(path: Any) -> bool:
    """Whether ``path`` is a valid reference path (what ResultPath accepts)."""
    return not validate_path(path, reference=True)


# ---------------------------------------------------------------------------------------------
# Payload templates
# ---------------------------------------------------------------------------------------------


def resolve(
    template: JSON,
    scope: Scope,
    *,
    field: str = "Parameters",
    rng: random.Random | None = None,
) -> JSON:
    """Build a payload from a JSONPath-mode payload template.

    Used for Parameters, ResultSelector, ItemSelector, Arguments and Assign. Objects are walked
    recursively (also inside arrays); a key ending in ``.$`` has its string value evaluated as a
    path or an intrinsic function call and loses the ``.$``. Everything else is copied as is.

    Args:
        template: the template from the definition.
        scope: what paths and intrinsics can see.
        field: the definition field, for messages when the template is not an object.
        rng: the random source for ``States.UUID`` and ``States.MathRandom``; required only if the
            template calls them.

    Returns:
        A new JSON value; values taken from the scope are shared, not copied.

    Raises:
        StatesError: ``States.Runtime`` for a path that finds nothing, ``States.IntrinsicFailure``
            for an intrinsic function that fails.
        ValueError: for a template that the definition validation should have refused.
    """
    if isinstance(template, Mapping):
        out: dict[str, JSON] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _resolve_expression(key, value, scope, rng, field)
            else:
                out[key] = resolve(value, scope, field=field, rng=rng)
        return out
    if isinstance(template, list):
        return [resolve(v, scope, field=field, rng=rng) for v in template]
    return template


def _resolve_expression(
    key: str, value: JSON, scope: Scope, rng: random.Random | None, field: str
) -> JSON:
    from sluiceway.asl import intrinsics  # imported here: intrinsics builds on this module

    if isinstance(value, str):
        if value.startswith("States."):
            return intrinsics.evaluate(value, scope, rng, field=key)
        if value.startswith("$"):
            return select(value, scope, field=key)
    raise ValueError(
        f"{field}: the field '{key}' must hold a JSONPath or an intrinsic function, not {value!r}"
    )


def validate_template(template: JSON, location: str) -> list[str]:
    """Problems with a JSONPath-mode payload template in a definition.

    Args:
        template: the template.
        location: its JSON-pointer-like location, e.g. ``/States/Step/Parameters``.

    Returns:
        Issues as ``"<location>: <problem>"``; empty when the template is fine.
    """
    from sluiceway.asl import intrinsics  # imported here: intrinsics builds on this module

    issues: list[str] = []
    if isinstance(template, Mapping):
        for key, value in template.items():
            where = f"{location}/{key}"
            if not key.endswith(".$"):
                issues.extend(validate_template(value, where))
            elif isinstance(value, str) and value.startswith("States."):
                issues.extend(f"{where}: {p}" for p in intrinsics.validate(value))
            elif isinstance(value, str) and value.startswith("$"):
                issues.extend(f"{where}: {p}" for p in validate_path(value))
            else:
                issues.append(
                    f"{where}: The value for the field '{key}' must be a valid JSONPath or a valid "
                    "intrinsic function call"
                )
    elif isinstance(template, list):
        for k, value in enumerate(template):
            issues.extend(validate_template(value, f"{location}/{k}"))
    return issues


# ---------------------------------------------------------------------------------------------
# ResultPath
# ---------------------------------------------------------------------------------------------


def put(data: JSON, result_path: str | None, value: JSON, *, field: str = "ResultPath") -> JSON:
    """Combine a state's input with its result, as ResultPath does.

    ``None`` discards the result and keeps ``data``; ``"$"`` returns ``value``; ``"$.a.b"`` returns
    a copy of ``data`` with ``a.b`` set, creating missing objects on the way. ``data`` is never
    changed: only the objects and arrays along the path are copied.

    Args:
        data: the state's input (the raw input, before InputPath).
        result_path: a reference path or ``None``.
        value: the state's result.
        field: the definition field, for messages (``ResultPath`` or a Catch's ``ResultPath``).

    Returns:
        The combined value.

    Raises:
        StatesError: ``States.ResultPathMatchFailure`` when the path runs through a value that is
            not an object (or an array, for an index step) or indexes past an array's end.
        ValueError: if ``result_path`` is not a reference path.
    """
    if result_path is None:
        return data
    compiled = _compile(result_path)
    if not _is_reference(compiled):
        raise ValueError(f"{field} must be a reference path: {result_path!r}")
    return _put(data, compiled.tokens, 0, value, compiled, field)


def _put(
    node: JSON, tokens: Sequence[_Token], i: int, value: JSON, path: _Path, field: str
) -> JSON:
    if i == len(tokens):
        return value
    token = tokens[i]

    def failure() -> StatesError:
        return StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply {field} '{path.text}' to input '{json_text(node)}': "
            f"no object or array at {path.render(i)}",
        )

    if isinstance(token, _Prop):
        if not isinstance(node, Mapping):
            raise failure()
        name = token.names[0]
        child = node.get(name, {}) if i + 1 < len(tokens) else None
        copy = dict(node)
        copy[name] = _put(child, tokens, i + 1, value, path, field)
        return copy
    assert isinstance(token, _Index)
    if not isinstance(node, list):
        raise failure()
    k = token.indexes[0]
    k = k + len(node) if k < 0 else k
    if not 0 <= k < len(node):
        raise failure()
    items = list(node)
    items[k] = _put(items[k], tokens, i + 1, value, path, field)
    return items
