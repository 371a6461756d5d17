"""Metric math: the arithmetic part of CloudWatch's expression language, over time series.

``(m1 + m2) / 2``, ``100 * errors / invocations``: numbers, the ``Id`` of another query,
``+ - * /``, unary minus and parentheses. A series combined with a series keeps the timestamps
both have (as CloudWatch does); with a number, every timestamp. A division by zero gives no
value at that timestamp. CloudWatch's functions (``SUM``, ``FILL``, ``METRICS()``, ``SEARCH``...)
are not computed locally: :func:`parse` refuses them with a message saying so, as it refuses an
expression nested more than :data:`MAX_DEPTH` deep (parentheses, unary minus, or a chain of
operators: computing it would exhaust Python's stack).

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "Expression", "MathError", "Series", "parse"]

MAX_DEPTH = 100
"""How deep an expression may nest (each parenthesis, unary minus and operator of a chain is a level)."""

Series = dict[int, float]
"""Timestamp (ms) -> value."""

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/()]))")


class MathError(ValueError):
    """An expression that cannot be computed locally (the message says why)."""


@dataclass(frozen=True)
class Expression:
    """A parsed expression: the ids it reads, and how to compute it."""

    text: str
    ids: frozenset[str]
    _compute: Callable[[Mapping[str, Series]], Series | float]

    def evaluate(self, inputs: Mapping[str, Series]) -> Series:
        """The expression's series (a constant expression has no timestamps: an empty series)."""
        found = self._compute(inputs)
        return found if isinstance(found, dict) else {}


def parse(text: str) -> Expression:
    """Raises MathError for syntax this module does not compute."""
    tokens = _tokens(text)
    parser = _Parser(tokens, text)
    compute = parser.expression()
    if parser.position != len(tokens):
        raise MathError(f"Unexpected token {tokens[parser.position][1]!r} in expression {text!r}")
    return Expression(text, frozenset(parser.ids), compute)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if found is None:
            raise MathError(f"Unexpected character {text[position:].strip()[0]!r} in expression {text!r}")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    if not tokens:
        raise MathError("The expression is empty")
    return tokens


Compute = Callable[[Mapping[str, Series]], Series | float]


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.position = 0
        self.ids: set[str] = set()
        self.nesting = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise MathError(f"The expression {self.text!r} ends too soon")
        self.position += 1
        return token

    def expression(self) -> Compute:
        left = self.term()
        while (token := self.peek()) is not None and token[1] in ("+", "-"):
            self.take()
            left = _binary(token[1], left, self.term())
        return left

    def term(self) -> Compute:
        left = self.unary()
        while (token := self.peek()) is not None and token[1] in ("*", "/"):
            self.take()
            left = _binary(token[1], left, self.unary())
        return left

    def unary(self) -> Compute:
        token = self.peek()
        if token is not None and token[1] == "-":
            self.take()
            self.enter()
            operand = self.unary()
            self.nesting -= 1
            return _binary("*", lambda _: -1.0, operand)
        return self.atom()

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise MathError(f"The expression nests more than {MAX_DEPTH} levels deep: it is not computed locally")

    def atom(self) -> Compute:
        kind, value = self.take()
        if kind == "number":
            number = float(value)
            return lambda _: number
        if kind == "name":
            following = self.peek()
            if following is not None and following[1] == "(" or value.isupper():
                raise MathError(f"The function {value} is not computed locally: metric math here is arithmetic over query ids")
            if not value[0].islower():
                raise MathError(f"{value!r} is not a query id (ids start with a lowercase letter)")
            self.ids.add(value)
            return lambda inputs: inputs.get(value, {})
        if value == "(":
            self.enter()
            inner = self.expression()
            self.nesting -= 1
            if self.take()[1] != ")":
                raise MathError(f"Missing ')' in expression {self.text!r}")
            return inner
        raise MathError(f"Unexpected token {value!r} in expression {self.text!r}")


@dataclass(frozen=True)
class _Operation:
    """``left op right``; ``depth``: how many operations deep it is (computing it recurses that far)."""

    op: str
    left: Compute
    right: Compute
    depth: int

    def __call__(self, inputs: Mapping[str, Series]) -> Series | float:
        return _apply(self.op, self.left(inputs), self.right(inputs))


def _depth(compute: Compute) -> int:
    return compute.depth if isinstance(compute, _Operation) else 0


def _binary(op: str, left: Compute, right: Compute) -> Compute:
    depth = 1 + max(_depth(left), _depth(right))
    if depth > MAX_DEPTH:
        raise MathError(f"The expression nests more than {MAX_DEPTH} levels deep: it is not computed locally")
    return _Operation(op, left, right, depth)


def _apply(op: str, a: Series | float, b: Series | float) -> Series | float:
    if isinstance(a, dict) and isinstance(b, dict):
        pairs = {ts: (a[ts], b[ts]) for ts in a.keys() & b.keys()}
    elif isinstance(a, dict):
        pairs = {ts: (value, float(b)) for ts, value in a.items()}  # type: ignore[arg-type]
    elif isinstance(b, dict):
        pairs = {ts: (float(a), value) for ts, value in b.items()}
    else:
        return _scalar(op, a, b) if not (op == "/" and b == 0) else float("nan")
    found: Series = {}
    for ts, (x, y) in pairs.items():
        if op == "/" and y == 0:
            continue
        found[ts] = _scalar(op, x, y)
    return found


def _scalar(op: str, x: float, y: float) -> float:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    return x / y
