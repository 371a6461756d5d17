"""JSONPath text -> a compiled path: steps, and filters with their predicates.

Jayway's grammar (the library Step Functions and EventBridge evaluate JSONPath with), read by
hand: ``$``/``$$``/``$name`` roots, ``.name``, ``['name']`` (several at the leaf), ``[n]``
(several), ``[a:b]``, ``[*]``, ``..`` and ``[?(...)]`` filters. Compiled paths are cached on
their text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

from sluiceway import regexes
from sluiceway.types import JSON

__all__ = [
    "MAX_PATH_STEPS",
    "BoolOp",
    "Compare",
    "CompiledPath",
    "Exists",
    "Expr",
    "Filter",
    "Index",
    "Literal",
    "NotOp",
    "Operand",
    "PathRef",
    "PathSyntaxError",
    "Prop",
    "Regex",
    "Scan",
    "Slice",
    "Token",
    "Wildcard",
    "compile_path",
    "token_definite",
]

MAX_PATH_STEPS: Final = 200
"""The most steps a path may have. Evaluation (and ResultPath) recurse once per step; the bound is
the engine's nesting limit for data (``sluiceway.asl.limits.MAX_NESTING_DEPTH``), which no path
can usefully go past."""


class PathSyntaxError(ValueError):
    """A path is not valid JSONPath; raised when it is compiled."""


@dataclass(frozen=True)
class Prop:
    names: tuple[str, ...]

    def fragment(self) -> str:
        return "[" + ",".join(f"'{n}'" for n in self.names) + "]"


@dataclass(frozen=True)
class Index:
    indexes: tuple[int, ...]

    def fragment(self) -> str:
        return "[" + ",".join(map(str, self.indexes)) + "]"


@dataclass(frozen=True)
class Slice:
    start: int | None
    end: int | None

    def fragment(self) -> str:
        return f"[{'' if self.start is None else self.start}:{'' if self.end is None else self.end}]"


@dataclass(frozen=True)
class Wildcard:
    def fragment(self) -> str:
        return "[*]"


@dataclass(frozen=True)
class Scan:
    def fragment(self) -> str:
        return ".."


@dataclass(frozen=True)
class Filter:
    expr: Expr
    source: str

    def fragment(self) -> str:
        return "[?]"


Token = Prop | Index | Slice | Wildcard | Scan | Filter


def token_definite(token: Token, leaf: bool) -> bool:
    if isinstance(token, Prop):
        # Jayway merges several properties at the leaf into one object, a single result.
        return len(token.names) == 1 or leaf
    if isinstance(token, Index):
        return len(token.indexes) == 1
    return False


@dataclass(frozen=True)
class CompiledPath:
    text: str
    root: str
    """``$`` (input), ``$$`` (context) or a variable name."""
    tokens: tuple[Token, ...]

    @property
    def definite(self) -> bool:
        last = len(self.tokens) - 1
        return all(token_definite(t, i == last) for i, t in enumerate(self.tokens))

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
        raise PathSyntaxError(f"Property has not been closed - missing closing {quote} in path {self.text}")


# Brackets and parentheses nested inside one another: each level of a filter is a few frames
# of recursive descent (a nested filter's path more), so the parser stays shallow with a bound
# no sensible path comes near.
_MAX_BRACKET_NESTING: Final = 100


@functools.lru_cache(maxsize=2048)
def compile_path(text: str) -> CompiledPath:
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
    if len(tokens) > MAX_PATH_STEPS:
        raise PathSyntaxError(f"The path has more than {MAX_PATH_STEPS} steps: {text}")
    return CompiledPath(text=text, root=root, tokens=tuple(tokens))


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


def _read_tokens(r: _Reader, text: str) -> list[Token]:
    tokens: list[Token] = []
    while not r.at_end():
        c = r.peek()
        if r.peek(2) == "..":
            r.pos += 2
            tokens.append(Scan())
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
                raise PathSyntaxError(f"Could not parse token starting at position {r.pos} in path {text}")
            tokens.append(_read_dot_name(r, text))
        elif c == "[":
            tokens.append(_read_bracket(r, text))
        else:
            raise PathSyntaxError(f"Could not parse token starting at position {r.pos} in path {text}")
    return tokens


def _read_dot_name(r: _Reader, text: str) -> Token:
    if r.peek() == "*":
        r.pos += 1
        return Wildcard()
    start = r.pos
    while not r.at_end() and r.peek() not in ".[":
        if r.peek() in " \t":
            raise PathSyntaxError(f"Use bracket notion ['my prop'] if your property contains blank characters. position: {r.pos}")
        r.pos += 1
    if r.pos == start:
        raise PathSyntaxError(f"Could not parse token starting at position {start} in path {text}")
    return Prop((text[start : r.pos],))


_INT: Final = re.compile(r"\s*(-?\d+)\s*")


def _read_bracket(r: _Reader, text: str) -> Token:
    r.expect("[")
    r.skip_ws()
    if r.at_end():
        raise PathSyntaxError(f"Could not find matching close square bracket in path {text}")
    c = r.peek()
    if c == "*":
        r.pos += 1
        r.skip_ws()
        r.expect("]")
        return Wildcard()
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
        return Filter(expr, source)
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
        return Prop(tuple(names))
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
        return Slice(bounds[0], bounds[1])
    items = inner.split(",")
    if not all(_INT.fullmatch(i) for i in items):
        raise PathSyntaxError(f"Failed to parse array index: [{inner}] in path {text}")
    return Index(tuple(int(i) for i in items))


# ---------------------------------------------------------------------------------------------
# Filter expressions: [?(@.price < 10 && @.tags)] (Jayway's predicate language, mostly)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: JSON


@dataclass(frozen=True)
class PathRef:
    relative: bool
    """``@`` (the current item) rather than ``$`` (the document root)."""
    path: CompiledPath


@dataclass(frozen=True)
class Regex:
    pattern: regexes.BoundedPattern


@dataclass(frozen=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Exists:
    operand: Operand


@dataclass(frozen=True)
class BoolOp:
    op: str
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class NotOp:
    part: Expr


Operand = Literal | PathRef | Regex
Expr = Compare | Exists | BoolOp | NotOp

_OPERATORS: Final = ("==", "!=", "<=", ">=", "=~", "<", ">")
_WORD_OPERATORS: Final = ("subsetof", "anyof", "noneof", "nin", "in", "size", "empty")
_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class _FilterParser:
    def __init__(self, reader: _Reader) -> None:
        self.r = reader

    def fail(self) -> PathSyntaxError:
        return PathSyntaxError(f"Could not parse filter at position {self.r.pos} in path {self.r.text}")

    def parse_or(self) -> Expr:
        parts = [self.parse_and()]
        while self._accept("||"):
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else BoolOp("||", tuple(parts))

    def parse_and(self) -> Expr:
        parts = [self.parse_unary()]
        while self._accept("&&"):
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else BoolOp("&&", tuple(parts))

    def parse_unary(self) -> Expr:
        self.r.skip_ws()
        # Read a run of "!" in a loop, not by recursion: "!!!!...@.a" can be as long as the path.
        negations = 0
        while self.r.peek() == "!" and self.r.peek(2) != "!=":
            self.r.pos += 1
            negations += 1
            self.r.skip_ws()
        expr = self._parse_negated()
        return NotOp(expr) if negations % 2 else expr

    def _parse_negated(self) -> Expr:
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
                return Compare(op, left, self.parse_operand())
        for word in _WORD_OPERATORS:
            if self.r.text.startswith(word, self.r.pos):
                self.r.pos += len(word)
                return Compare(word, left, self.parse_operand())
        return Exists(left)

    def _accept(self, s: str) -> bool:
        self.r.skip_ws()
        if self.r.text.startswith(s, self.r.pos):
            self.r.pos += len(s)
            return True
        return False

    def parse_operand(self) -> Operand:
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
            return PathRef(c == "@", compile_path("$" + text[1:]))
        if c in ("'", '"'):
            return Literal(r.quoted())
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
            return Regex(compiled)
        if c == "[":
            return Literal(self.parse_array())
        for word, value in (("true", True), ("false", False), ("null", None)):
            if r.text.startswith(word, r.pos):
                r.pos += len(word)
                return Literal(value)
        m = _NUMBER.match(r.text, r.pos)
        if m:
            r.pos = m.end()
            return Literal(_number(m.group()))
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
            if not isinstance(operand, Literal):
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
