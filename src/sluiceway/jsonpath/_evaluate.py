"""Evaluating a compiled path against a scope, with Jayway's semantics and messages."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sluiceway import regexes
from sluiceway.errors import StatesError
from sluiceway.types import JSON

from ._syntax import (
    BoolOp,
    CompiledPath,
    Exists,
    Expr,
    Filter,
    Index,
    Literal,
    NotOp,
    Operand,
    Prop,
    Regex,
    Scan,
    Slice,
    Token,
    Wildcard,
    token_definite,
)
from .text import java_class, java_text

__all__ = ["NotFoundError", "Scope", "evaluate"]

_JSON_PROVIDER: Final = "com.jayway.jsonpath.spi.json.JacksonJsonProvider"


@dataclass(frozen=True)
class Scope:
    """What a path (or an ASL payload template, or an intrinsic function) can see."""

    input: JSON
    """The document ``$`` reaches: a state's effective input, or an EventBridge event."""
    context: JSON = None
    """The context object, ``$$`` (``Execution``, ``State``, ``StateMachine``, ``Map``...)."""
    variables: Mapping[str, JSON] = field(default_factory=dict)
    """Workflow variables by name, reached with ``$name`` (JSONPath-mode ``Assign``)."""


class NotFoundError(Exception):
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
    def __init__(self, path: CompiledPath, root_document: JSON, *, suppress: bool) -> None:
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
            definite = definite and token_definite(token, i == last)

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
        if isinstance(token, Prop):
            self.walk_prop(i, token, model, current, leaf)
        elif isinstance(token, (Index, Slice)):
            if not self.check_array(i, token, model, current):
                return
            n = len(model)
            if isinstance(token, Index):
                positions = [k + n if k < 0 else k for k in token.indexes]
            else:
                positions = list(range(n))[token.start : token.end]
            for k in positions:
                if 0 <= k < n:  # out of range is silently empty, as in Jayway
                    self.emit(i, model[k], f"{current}[{k}]")
        elif isinstance(token, Wildcard):
            if isinstance(model, Mapping):
                for key, value in model.items():
                    self.emit(i, value, f"{current}['{key}']")
            elif isinstance(model, list):
                for k, value in enumerate(model):
                    self.emit(i, value, f"{current}[{k}]")
        elif isinstance(token, Scan):
            for node, node_path in _containers(model, current):
                # A deep scan never fails on a miss: every node below is tried.
                sub = _Evaluation(
                    CompiledPath(self.path.text, "$", self.tokens[i + 1 :]),
                    self.root_document,
                    suppress=True,
                )
                sub.walk(0, node, node_path)
                self.results.extend(sub.results)
        else:
            self.walk_filter(i, token, model, current)

    def walk_prop(self, i: int, token: Prop, model: JSON, current: str, leaf: bool) -> None:
        if not isinstance(model, Mapping):
            if self.strict(i):
                raise NotFoundError(
                    f"Expected to find an object with property {token.fragment()} "
                    f"in path {current} "
                    f"but found '{java_class(model)}'. This is not a json object according to the "
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
                    raise NotFoundError(f"Missing property in path {eval_path}")
                continue
            self.emit(i, model[name], eval_path)

    def check_array(self, i: int, token: Token, model: JSON, current: str) -> bool:
        if model is None:
            if self.strict(i):
                raise NotFoundError(f"The path {current} is null")
            return False
        if not isinstance(model, list):
            if self.strict(i):
                raise NotFoundError(f"Filter: {token.fragment()} can only be applied to arrays. Current context is: {java_text(model)}")
            return False
        return True

    def walk_filter(self, i: int, token: Filter, model: JSON, current: str) -> None:
        if isinstance(model, Mapping):
            if self.accept(token.expr, model):
                self.emit(i, model, current)
        elif isinstance(model, list):
            for k, item in enumerate(model):
                if self.accept(token.expr, item):
                    self.emit(i, item, f"{current}[{k}]")
        elif self.strict(i):
            raise NotFoundError(f"Filter: [?] can not be applied to primitives. Current context is: {java_text(model)}")

    # -- filter predicates --

    def operand(self, operand: Operand, item: JSON) -> tuple[bool, JSON]:
        if isinstance(operand, Literal):
            return True, operand.value
        if isinstance(operand, Regex):
            return True, operand
        sub = _Evaluation(operand.path, self.root_document, suppress=True)
        found = sub.run(item if operand.relative else self.root_document)
        if operand.path.definite:
            return (True, found[0]) if found else (False, None)
        return True, found

    def accept(self, expr: Expr, item: JSON) -> bool:
        if isinstance(expr, BoolOp):
            if expr.op == "&&":
                return all(self.accept(p, item) for p in expr.parts)
            return any(self.accept(p, item) for p in expr.parts)
        if isinstance(expr, NotOp):
            return not self.accept(expr.part, item)
        if isinstance(expr, Exists):
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
        if not (isinstance(right, Regex) and isinstance(left, str)):
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
        return isinstance(left, (list, str)) and isinstance(right, bool) and (len(left) == 0) == right
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


def _root_value(path: CompiledPath, scope: Scope) -> tuple[bool, JSON]:
    if path.root == "$":
        return True, scope.input
    if path.root == "$$":
        return True, scope.context
    if path.root in scope.variables:
        return True, scope.variables[path.root]
    return False, None


def evaluate(path: CompiledPath, scope: Scope) -> JSON:
    """The value at ``path``; raises :class:`NotFoundError` with Jayway's message on a definite miss."""
    found, root = _root_value(path, scope)
    if not found:
        raise NotFoundError(f"Undefined variable: ${path.root}")
    if not path.definite:
        # AWS answers an indefinite path with a list and never fails it, even when a property
        # before the wildcard or slice is missing ($.items[*] on {} is []).
        return _Evaluation(path, root, suppress=True).run(root)
    results = _Evaluation(path, root, suppress=False).run(root)
    if not results:
        raise NotFoundError(f"No results for path: {path.render()}")
    return results[0]
