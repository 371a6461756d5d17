"""Apache Velocity (VTL) syntax: a mapping template's text parsed into a tree of frozen nodes.

What API Gateway's templates use: ``$ref`` / ``$!ref`` / ``${ref}`` references with property,
index and method chains; ``#set``, ``#if``/``#elseif``/``#else``, ``#foreach``, ``#break``,
``#stop``; ``##`` and ``#* *#`` comments; string, number, boolean, list, range and map literals;
``&&``/``and``, ``||``/``or``, ``!``/``not``, comparisons and arithmetic. A directive that ends its
line takes the newline with it (Velocity 1.7's habit; its indentation stays).

The parser recurses on nesting, so nesting is capped (:data:`MAX_NESTING`): a template nested
deeper is refused with a :class:`TemplateError` rather than exhausting this process's stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MAX_NESTING", "Break", "Foreach", "If", "Interp", "ListLit", "Lit", "MapLit", "Op", "Range", "Ref", "Set", "Stop",
    "TemplateError", "parse",
]  # fmt: skip

MAX_NESTING: Final = 64
"""Directives, parentheses, literals and ``!`` nested in each other at most. Velocity has no such
limit but a Java stack; this one keeps the parser (about seven frames a level) well inside Python's."""


class TemplateError(ValueError):
    """A template that cannot be parsed, or an expression that cannot be evaluated."""


# --------------------------------------------------------------------------- syntax tree

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_NAMES = "set|if|elseif|else|end|foreach|break|stop"
_DIRECTIVE = re.compile(rf"#(?:\{{(?P<braced>{_NAMES})\}}|(?P<bare>{_NAMES})(?![A-Za-z0-9_]))")


@dataclass(frozen=True)
class Ref:
    name: str
    chain: tuple[tuple[str, Any], ...]
    """("prop", name) | ("index", expr) | ("call", (name, (args...)))."""
    quiet: bool
    source: str


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Interp:
    """A double-quoted string: rendered with the current variables."""

    nodes: tuple[Any, ...]


@dataclass(frozen=True)
class ListLit:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Range:
    start: Any
    stop: Any


@dataclass(frozen=True)
class MapLit:
    items: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class Op:
    op: str
    left: Any
    right: Any = None


@dataclass(frozen=True)
class Set:
    target: Ref
    value: Any


@dataclass(frozen=True)
class If:
    branches: tuple[tuple[Any, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...]


@dataclass(frozen=True)
class Foreach:
    var: str
    items: Any
    body: tuple[Any, ...]


class Break(Exception):
    """``#break``: raised to leave the innermost ``#foreach`` (or the template)."""


class Stop(Exception):
    """``#stop``: raised to end the rendering."""


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, depth: int = 0) -> None:
        self.text = text
        self.pos = 0
        self.depth = depth

    @contextmanager
    def nested(self) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nested deeper than {MAX_NESTING} levels")
        try:
            yield
        finally:
            self.depth -= 1

    def error(self, message: str) -> TemplateError:
        line = self.text.count("\n", 0, self.pos) + 1
        return TemplateError(f"line {line}: {message}")

    # --- template text

    def block(self, closers: tuple[str, ...]) -> tuple[list[Any], str]:
        """Nodes up to one of ``closers`` (a directive name) or the end; the closer met ("" at the end)."""
        nodes: list[Any] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                nodes.append("".join(buf))
                buf.clear()

        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if text.startswith("##", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1  # a line comment takes its newline
                continue
            if text.startswith("#*", self.pos):
                end = text.find("*#", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated #* comment")
                self.pos = end + 2
                continue
            if ch == "#":
                found = _DIRECTIVE.match(text, self.pos)
                if found:
                    name = found.group("braced") or found.group("bare")
                    self.pos = found.end()
                    if name in closers:
                        if name != "elseif":
                            self._eat_newline()
                        flush()
                        return nodes, name
                    if name in ("else", "elseif", "end"):
                        raise self.error(f"#{name} without #if or #foreach")
                    if name in ("break", "stop"):
                        self._eat_newline()
                    flush()
                    nodes.append(self.directive(name))
                    continue
            if ch == "\\" and text.startswith(("\\$", "\\#"), self.pos):
                buf.append(text[self.pos + 1])
                self.pos += 2
                continue
            if ch == "$":
                ref = self.reference()
                if ref is not None:
                    flush()
                    nodes.append(ref)
                    continue
            buf.append(ch)
            self.pos += 1
        flush()
        return nodes, ""

    def _eat_newline(self) -> None:
        """Velocity 1.7's habit: a directive followed by nothing but spaces on its line takes that newline with it."""
        end = self.pos
        while end < len(self.text) and self.text[end] in " \t":
            end += 1
        if self.text.startswith("\r\n", end):
            self.pos = end + 2
        elif self.text.startswith("\n", end):
            self.pos = end + 1

    def directive(self, name: str) -> Any:
        with self.nested():
            return self._directive(name)

    def _directive(self, name: str) -> Any:
        if name == "break":
            return Break
        if name == "stop":
            return Stop
        if name == "set":
            self.open_paren()
            target = self.reference()
            if target is None:
                raise self.error("#set needs a reference to assign")
            self.skip()
            self.expect("=")
            value = self.expression()
            self.close_paren()
            self._eat_newline()
            return Set(target, value)
        if name == "if":
            branches: list[tuple[Any, tuple[Any, ...]]] = []
            self.open_paren()
            condition = self.expression()
            self.close_paren()
            self._eat_newline()
            while True:
                body, closer = self.block(("elseif", "else", "end"))
                branches.append((condition, tuple(body)))
                if closer == "elseif":
                    self.open_paren()
                    condition = self.expression()
                    self.close_paren()
                    self._eat_newline()
                    continue
                if closer == "else":
                    otherwise, closer = self.block(("end",))
                    if closer != "end":
                        raise self.error("#if without #end")
                    return If(tuple(branches), tuple(otherwise))
                if closer != "end":
                    raise self.error("#if without #end")
                return If(tuple(branches), ())
        # foreach
        self.open_paren()
        self.skip()
        var = self.reference()
        if var is None or var.chain:
            raise self.error("#foreach needs a variable")
        self.skip()
        if not self.text.startswith("in", self.pos):
            raise self.error("#foreach needs 'in'")
        self.pos += 2
        items = self.expression()
        self.close_paren()
        self._eat_newline()
        body, closer = self.block(("end",))
        if closer != "end":
            raise self.error("#foreach without #end")
        return Foreach(var.name, items, tuple(body))

    # --- references

    def reference(self) -> Ref | None:
        """A reference at ``$``; None (nothing consumed) when the ``$`` starts none."""
        text, start = self.text, self.pos
        pos = start + 1
        quiet = text.startswith("!", pos)
        if quiet:
            pos += 1
        braced = text.startswith("{", pos)
        if braced:
            pos += 1
        found = _IDENT.match(text, pos)
        if not found:
            return None
        name = found.group(0).rstrip("-")
        self.pos = found.start() + len(name)
        chain: list[tuple[str, Any]] = []
        while True:
            if text.startswith(".", self.pos):
                member = _IDENT.match(text, self.pos + 1)
                if not member:
                    break
                member_name = member.group(0).rstrip("-")
                self.pos = member.start() + len(member_name)
                if text.startswith("(", self.pos):
                    self.pos += 1
                    chain.append(("call", (member_name, tuple(self.arguments(")")))))
                else:
                    chain.append(("prop", member_name))
                continue
            if text.startswith("[", self.pos):
                self.pos += 1
                index = self.expression()
                self.skip()
                self.expect("]")
                chain.append(("index", index))
                continue
            break
        if braced:
            if not text.startswith("}", self.pos):
                self.pos = start
                return None
            self.pos += 1
        return Ref(name, tuple(chain), quiet, text[start : self.pos])

    def arguments(self, closer: str) -> list[Any]:
        args: list[Any] = []
        self.skip()
        if self.text.startswith(closer, self.pos):
            self.pos += 1
            return args
        while True:
            args.append(self.expression())
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.expect(closer)
            return args

    # --- expressions

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def expect(self, token: str) -> None:
        self.skip()
        if not self.text.startswith(token, self.pos):
            raise self.error(f"expected {token!r}")
        self.pos += len(token)

    def open_paren(self) -> None:
        self.skip()
        self.expect("(")

    def close_paren(self) -> None:
        self.skip()
        self.expect(")")

    def word(self, *words: str) -> str | None:
        self.skip()
        for w in words:
            if self.text.startswith(w, self.pos):
                after = self.pos + len(w)
                if w.isalpha() and after < len(self.text) and (self.text[after].isalnum() or self.text[after] == "_"):
                    continue
                self.pos = after
                return w
        return None

    def expression(self) -> Any:
        with self.nested():
            return self._disjunction()

    def _disjunction(self) -> Any:
        left = self.conjunction()
        while self.word("||", "or"):
            left = Op("||", left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.comparison()
        while self.word("&&", "and"):
            left = Op("&&", left, self.comparison())
        return left

    _COMPARISONS = {"==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">",
                    "eq": "==", "ne": "!=", "le": "<=", "ge": ">=", "lt": "<", "gt": ">"}  # fmt: skip

    def comparison(self) -> Any:
        left = self.additive()
        op = self.word("==", "!=", "<=", ">=", "<", ">", "eq", "ne", "le", "ge", "lt", "gt")
        if op:
            return Op(self._COMPARISONS[op], left, self.additive())
        return left

    def additive(self) -> Any:
        left = self.multiplicative()
        while True:
            op = self.word("+", "-")
            if not op:
                return left
            left = Op(op, left, self.multiplicative())

    def multiplicative(self) -> Any:
        left = self.unary()
        while True:
            op = self.word("*", "/", "%")
            if not op:
                return left
            left = Op(op, left, self.unary())

    def unary(self) -> Any:
        if self.word("!", "not"):
            with self.nested():
                return Op("!", self.unary())
        return self.primary()

    def primary(self) -> Any:
        self.skip()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.error("expected an expression")
        ch = text[pos]
        if ch == "$":
            ref = self.reference()
            if ref is None:
                raise self.error("expected a reference")
            return ref
        if ch in "\"'":
            end = pos + 1
            while end < len(text) and text[end] != ch:
                end += 1
            if end >= len(text):
                raise self.error("unterminated string")
            raw = text[pos + 1 : end]
            self.pos = end + 1
            if ch == "'" or ("$" not in raw and "#" not in raw):
                return Lit(raw)
            nodes, _ = _Parser(raw, self.depth).block(())
            return Interp(tuple(nodes))
        if ch == "(":
            self.pos += 1
            inner = self.expression()
            self.close_paren()
            return inner
        if ch == "[":
            self.pos += 1
            self.skip()
            if text.startswith("]", self.pos):
                self.pos += 1
                return ListLit(())
            first = self.expression()
            self.skip()
            if text.startswith("..", self.pos):
                self.pos += 2
                last = self.expression()
                self.expect("]")
                return Range(first, last)
            items = [first]
            while self.word(","):
                items.append(self.expression())
            self.expect("]")
            return ListLit(tuple(items))
        if ch == "{":
            self.pos += 1
            pairs: list[tuple[Any, Any]] = []
            self.skip()
            if not text.startswith("}", self.pos):
                while True:
                    key = self.expression()
                    self.expect(":")
                    pairs.append((key, self.expression()))
                    if not self.word(","):
                        break
            self.expect("}")
            return MapLit(tuple(pairs))
        number = _NUMBER.match(text, pos)
        if number:
            self.pos = number.end()
            return Lit(float(number.group(0)) if number.group(1) else int(number.group(0)))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.word(word):
                return Lit(value)
        raise self.error(f"unexpected {text[pos : pos + 10]!r}")


def parse(text: str) -> tuple[Any, ...]:
    """The nodes of ``text``: strings, references, directives.

    Raises:
        TemplateError: ``text`` is not a template, or nests deeper than :data:`MAX_NESTING`.
    """
    parser = _Parser(text)
    nodes, closer = parser.block(())
    if closer:
        raise parser.error(f"#{closer} without its directive")
    return tuple(nodes)
