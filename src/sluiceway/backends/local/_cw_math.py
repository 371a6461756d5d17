"""Metric math: CloudWatch's expression language over time series, parsed and computed locally.

``IF(invocations > 0, 100 * errors / invocations, 0)``, ``SUM(METRICS("errors"))``, ``FILL(m1, REPEAT)``,
``RATE(m1)``: numbers, the ``Id`` of another query, strings, arrays ``[m1, m2]``, the operators
``+ - * / ^``, comparisons ``== != < <= > >=`` and ``AND``/``&&``, ``OR``/``||`` (giving 1 or 0),
unary minus, parentheses, and the functions of "Metric math syntax and functions" (CloudWatch User
Guide; the functions are in ``_cw_math_functions``, the values they take in ``_cw_math_values``).
``METRICS()`` is every metric query of the request (not expressions), ``METRICS("s")`` those whose
Id contains ``s``.

A one-pass tokenizer and an operator-precedence parser build a tree that :meth:`Expression.evaluate`
walks. A chain of operators (``m1 + m2 + ... + m300``) is one node folded in a loop, so its length
costs no stack. ``ANOMALY_DETECTION_BAND`` is a query of its own, computed by ``_cw_queries`` over
the metric's history. Functions that read what only AWS has (``SEARCH``, ``INSIGHT_RULE_METRIC``,
``SERVICE_QUOTA``, ``LAMBDA``, ``DB_PERF_INSIGHTS``, Metrics Insights' ``SELECT``) are refused by
name, as is an expression nested more than :data:`MAX_DEPTH` deep (parentheses, brackets, calls
and unary minus: computing it would exhaust Python's stack).

Pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from ._cw_math_functions import FUNCTIONS, NOT_LOCAL
from ._cw_math_values import Keyword, MathError, Run, Text, TimeSeries, Value, combine, describe, pointwise

__all__ = ["MAX_DEPTH", "Expression", "MathError", "Run", "TimeSeries", "Value", "parse"]

MAX_DEPTH: Final = 100
"""How deep an expression may nest (each parenthesis, bracket, call and unary minus is a level)."""

_SPACE = re.compile(r"\s*")
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"""|(?P<string>"[^"]*"|'[^']*')"""
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()\[\],<>]))"
)
_KEYWORDS: Final = frozenset({"REPEAT", "LINEAR", "ASC", "DESC", "AVG", "MIN", "MAX", "SUM"})
"""Uppercase words that are arguments (of FILL and SORT), not calls."""

# Binding strength of each binary operator. Unary minus binds tighter than all of them but ``^``,
# which binds tightest and groups to the right (``-a ^ 2`` is ``-(a ^ 2)``; ``2 ^ 3 ^ a`` is ``2 ^ (3 ^ a)``).
_BINARY: Final[dict[str, int]] = {
    "OR": 1,
    "||": 1,
    "AND": 2,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "^": 7,
}


def _divide(x: float, y: float) -> float:
    # IEEE division (Java's): x/0 is an infinity, 0/0 NaN; the final result drops either (the user guide).
    if y != 0:
        return x / y
    if x == 0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _power(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except OverflowError:
        odd = y.is_integer() and int(y) % 2 == 1
        return -math.inf if x < 0 and odd else math.inf
    except ValueError:  # a negative number to a fractional power
        return math.nan


_OPERATORS: Final[dict[str, Callable[[float, float], float]]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": _divide,
    "^": _power,
    "==": lambda x, y: float(x == y),
    "!=": lambda x, y: float(x != y),
    "<": lambda x, y: float(x < y),
    "<=": lambda x, y: float(x <= y),
    ">": lambda x, y: float(x > y),
    ">=": lambda x, y: float(x >= y),
    "AND": lambda x, y: float(x != 0 and y != 0),
    "&&": lambda x, y: float(x != 0 and y != 0),
    "OR": lambda x, y: float(x != 0 or y != 0),
    "||": lambda x, y: float(x != 0 or y != 0),
}


@dataclass(frozen=True)
class _Scope:
    """What a tree is evaluated against."""

    inputs: Mapping[str, Value]
    metric_ids: Sequence[str]
    run: Run


class _Node(Protocol):
    def __call__(self, scope: _Scope) -> Value: ...


@dataclass(frozen=True)
class _Constant:
    value: Value

    def __call__(self, scope: _Scope) -> Value:
        return self.value


@dataclass(frozen=True)
class _Ref:
    query_id: str

    def __call__(self, scope: _Scope) -> Value:
        return scope.inputs[self.query_id]


@dataclass(frozen=True)
class _Metrics:
    """``METRICS()`` / ``METRICS("s")``: the request's metric queries, in the request's order."""

    contains: str | None

    def __call__(self, scope: _Scope) -> Value:
        found: list[TimeSeries] = []
        for query_id in scope.metric_ids:
            if self.contains is None or self.contains in query_id:
                value = scope.inputs[query_id]
                assert isinstance(value, TimeSeries)
                found.append(value)
        return tuple(found)


@dataclass(frozen=True)
class _Array:
    """``[m1, METRICS("5xx")]``: series, and the series of arrays, in one array."""

    items: tuple[_Node, ...]

    def __call__(self, scope: _Scope) -> Value:
        found: list[TimeSeries] = []
        for item in self.items:
            value = item(scope)
            if isinstance(value, TimeSeries):
                found.append(value)
            elif isinstance(value, tuple):
                found.extend(value)
            else:
                raise MathError(f"An array holds time series, not {describe(value)}")
        return tuple(found)


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Node, ...]

    def __call__(self, scope: _Scope) -> Value:
        args: list[Value] = []
        for arg in self.args:  # a loop, not a comprehension: one stack frame less per level of nesting
            args.append(arg(scope))
        return FUNCTIONS[self.name](scope.run, args)


@dataclass(frozen=True)
class _Negate:
    operand: _Node

    def __call__(self, scope: _Scope) -> Value:
        return _negate(scope.run, self.operand(scope))


def _negate(run: Run, value: Value) -> Value:
    return pointwise(run, "Unary minus", value, lambda x: -x)


@dataclass(frozen=True)
class _Chain:
    """Operands joined by left-associative operators (``m1 + m2 * 2 - m3``), computed left to right.

    One node however long the chain, folded in a loop: summing a hundred metrics nests nothing.
    The parser has already ordered it, so a left-to-right fold honours precedence.
    """

    first: _Node
    rest: tuple[tuple[str, _Node], ...]

    def __call__(self, scope: _Scope) -> Value:
        value = self.first(scope)
        for symbol, operand in self.rest:
            value = combine(scope.run, symbol, value, operand(scope), _OPERATORS[symbol])
        return value


@dataclass(frozen=True)
class _Power:
    """``a ^ b ^ -c``: ``^`` groups to the right, each right operand negated as often as written
    (``a ^ -b ^ c`` is ``a ^ -(b ^ c)``); folded from the right in a loop."""

    items: tuple[tuple[int, _Node], ...]
    """(negations, operand), the first operand's negations always 0 (they bind looser than ``^``)."""

    def __call__(self, scope: _Scope) -> Value:
        values: list[tuple[int, Value]] = []
        for negations, operand in self.items:
            values.append((negations, operand(scope)))
        negations, value = values[-1]
        for base_negations, base in reversed(values[:-1]):
            for _ in range(negations):
                value = _negate(scope.run, value)
            value = combine(scope.run, "^", base, value, _power)
            negations = base_negations
        return value


@dataclass(frozen=True)
class Expression:
    """A parsed expression: the ids it reads, and how to compute it."""

    text: str
    ids: frozenset[str]
    """The query ids it names (``METRICS()`` names none: it reads the metric queries, computed first)."""
    _root: _Node

    def evaluate(self, inputs: Mapping[str, Value], *, metric_ids: Sequence[str], run: Run) -> TimeSeries | tuple[TimeSeries, ...]:
        """The expression's series, or array of series.

        ``inputs`` holds every id the expression reads (and every metric query's series, for
        ``METRICS()``); ``metric_ids`` lists the metric queries in the request's order.

        Raises:
            MathError: the expression does not compute (an argument of the wrong type), or it
                computes a number: the final result must be a series or an array of series.
        """
        found = self._root(_Scope(inputs, metric_ids, run))
        if isinstance(found, TimeSeries):
            return run.finite(found)
        if isinstance(found, tuple):
            return tuple(run.finite(s) for s in found)
        raise MathError(
            f"The expression {self.text!r} computes {describe(found)}: the result must be a time series or an array of time series"
        )


def parse(text: str) -> Expression:
    """Raises MathError for text that is not metric math, or uses a function not computed locally."""
    tokens = _tokens(text)
    parser = _Parser(tokens, text)
    root = parser.expression()
    if parser.position != len(tokens):
        raise MathError(f"Unexpected token {tokens[parser.position][1]!r} in expression {text!r}")
    return Expression(text, frozenset(parser.ids), root)


def _tokens(text: str) -> list[tuple[str, str]]:
    """The tokens of ``text``, in one pass (each match starts where the last ended)."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while (found := _TOKEN.match(text, position)) is not None:
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    trailing = _SPACE.match(text, position)
    stop = trailing.end() if trailing else position
    if stop < len(text):
        raise MathError(f"Unexpected character {text[stop]!r} in expression {text!r}")
    if not tokens:
        raise MathError("The expression is empty")
    if tokens[0] == ("name", "SELECT"):
        raise MathError("Metrics Insights queries (SELECT ...) are not computed locally: metric math is")
    return tokens


class _Operands:
    """A chain being built: its first operand and the (operator, operand) pairs that follow."""

    def __init__(self, first: _Node) -> None:
        self.first = first
        self.rest: list[tuple[str, _Node]] = []

    def node(self) -> _Node:
        return _Chain(self.first, tuple(self.rest)) if self.rest else self.first


class _Parser:
    """Operator precedence without recursion (two stacks), so that a long chain of operators nests
    nothing; only parentheses, brackets, calls and unary minus nest, up to :data:`MAX_DEPTH`."""

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

    def expect(self, symbol: str) -> None:
        kind, value = self.take()
        if kind != "op" or value != symbol:
            raise MathError(f"Expected {symbol!r} but found {value!r} in expression {self.text!r}")

    def nest(self, levels: int) -> None:
        self.nesting += levels
        if self.nesting > MAX_DEPTH:
            raise MathError(f"The expression nests more than {MAX_DEPTH} levels deep: it is not computed locally")

    def binary_operator(self) -> str | None:
        token = self.peek()
        if token is None:
            return None
        kind, value = token
        if (kind == "op" and value in _BINARY and value != "^") or (kind == "name" and value in ("AND", "OR")):
            return value
        return None

    def expression(self) -> _Node:
        """Operands joined by binary operators: an operator binding at least as tightly as the
        next one is applied (to the chain on its left) before the next is read."""
        operands = [_Operands(self.operand())]
        operators: list[str] = []
        while (symbol := self.binary_operator()) is not None:
            while operators and _BINARY[operators[-1]] >= _BINARY[symbol]:
                right = operands.pop().node()
                operands[-1].rest.append((operators.pop(), right))
            self.take()
            operators.append(symbol)
            operands.append(_Operands(self.operand()))
        while operators:
            right = operands.pop().node()
            operands[-1].rest.append((operators.pop(), right))
        return operands[0].node()

    def operand(self) -> _Node:
        """An operand of a binary operator: unary minuses, then a chain of ``^`` (which binds tighter)."""
        negations = self.minuses()
        self.nest(negations)
        items = [(0, self.primary())]
        while self.peek() == ("op", "^"):
            self.take()
            minuses = self.minuses()
            self.nest(minuses)
            items.append((minuses, self.primary()))
            self.nesting -= minuses
        self.nesting -= negations
        node = items[0][1] if len(items) == 1 else _Power(tuple(items))
        for _ in range(negations):
            node = _Negate(node)
        return node

    def minuses(self) -> int:
        count = 0
        while self.peek() == ("op", "-"):
            self.take()
            count += 1
        return count

    def primary(self) -> _Node:
        kind, value = self.take()
        if kind == "number":
            return _Constant(float(value))
        if kind == "string":
            return _Constant(Text(value[1:-1]))
        if kind == "name":
            node = self.name(value)
            if node is not None:
                return node
            # A call, its arguments read here rather than in name(): a stack frame less per level.
            args = self.arguments(")")
            return self.metrics(args) if value == "METRICS" else _Call(value, tuple(args))
        if value == "(":
            self.nest(1)
            inner = self.expression()
            self.expect(")")
            self.nesting -= 1
            return inner
        if value == "[":
            return _Array(tuple(self.arguments("]")))
        raise MathError(f"Unexpected token {value!r} in expression {self.text!r}")

    def name(self, value: str) -> _Node | None:
        """What a name is: a query id or a keyword; None for a function called (its ``(`` taken)."""
        calls = self.peek() == ("op", "(")
        if value[0].islower():
            if calls:
                raise MathError(f"{value!r} is not a function (functions are written in uppercase)")
            self.ids.add(value)
            return _Ref(value)
        if not value.isupper():
            raise MathError(f"{value!r} is neither a query id (ids start with a lowercase letter) nor a function")
        if value == "ANOMALY_DETECTION_BAND":
            raise MathError("ANOMALY_DETECTION_BAND must be the whole expression of its query: ANOMALY_DETECTION_BAND(m1, 2)")
        if value in NOT_LOCAL:
            raise MathError(f"The function {value} is not computed locally: it needs data only AWS has")
        if not calls:
            if value in _KEYWORDS:
                return _Constant(Keyword(value))
            raise MathError(f"Unrecognized keyword {value} in expression {self.text!r}")
        if value != "METRICS" and value not in FUNCTIONS:
            raise MathError(f"Unrecognized function {value} in expression {self.text!r}")
        self.take()
        return None

    def metrics(self, args: list[_Node]) -> _Node:
        if not args:
            return _Metrics(None)
        only = args[0]
        if len(args) == 1 and isinstance(only, _Constant) and isinstance(only.value, Text):
            return _Metrics(only.value.text)
        raise MathError('METRICS takes no argument or one string: METRICS() or METRICS("errors")')

    def arguments(self, closing: str) -> list[_Node]:
        """Comma-separated expressions up to ``closing`` (which it takes): a level of nesting."""
        self.nest(1)
        items: list[_Node] = []
        if self.peek() == ("op", closing):
            self.take()
        else:
            while True:
                items.append(self.expression())
                kind, value = self.take()
                if kind == "op" and value == closing:
                    break
                if kind != "op" or value != ",":
                    raise MathError(f"Expected ',' or {closing!r} but found {value!r} in expression {self.text!r}")
        self.nesting -= 1
        return items
