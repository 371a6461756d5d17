"""Apache Velocity (VTL), the language of API Gateway's mapping templates: parse once, render per request.

Values are Python's: strings, numbers, booleans, None (Java's null), lists and dicts, and
:class:`Namespace` objects (``$input``, ``$util``) whose own public methods templates may call.
Java's String, List and Map methods are mapped onto Python's values (:mod:`.vtl_methods`), and
values print as Java prints them (:mod:`.vtl_text`).

Velocity's own habits are kept because templates are written against them: a reference that is
null renders as its own source text unless it is quiet (``$!x``); ``#if`` is false only for null
and false; ``#foreach`` sets ``$foreach`` and ``$velocityCount``; a Java Map iterates its values.

A template is input too (and its variables are a client's): every failure is a
:class:`TemplateError`, and nothing a template does can outgrow API Gateway's own limits: a
``#foreach`` runs at most 1000 times, strings and output stop at 10 MB, nesting is capped.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .vtl_methods import MAX_ITEMS, call_method, check_size
from .vtl_parser import Break, Foreach, If, Interp, ListLit, Lit, MapLit, Op, Range, Ref, Set, Stop, TemplateError, parse
from .vtl_text import check_number, check_text, to_text

__all__ = ["MAX_FOREACH", "Namespace", "Template", "TemplateError", "render", "to_text"]

MAX_FOREACH: Final = 1000
"""API Gateway's quota, "Number of iterations in a #foreach ... #end loop in mapping templates". It is
Velocity's ``directive.foreach.maxloops``, which ends the loop there without an error (Velocity
1.7's Foreach stops once the count is reached), so a longer list is silently cut short."""

MAX_ITERATIONS: Final = 1_000_000
"""``#foreach`` iterations in one rendering, all loops together: nested loops multiply, and API
Gateway would give up on such a template at its 29-second integration timeout anyway."""

MAX_DEPTH: Final = 200
"""Expressions evaluated inside each other at most (a long ``a + b + c ...`` nests one per operator)."""


class Namespace:
    """An object whose own public methods (and :meth:`property` values) templates may reach."""

    def property(self, name: str) -> Any:
        """``$obj.name`` without a call; None when there is no such property."""
        return None

    def __str__(self) -> str:
        # What ``$util`` prints: its class's name, never this process's memory addresses.
        return type(self).__name__


def _namespace_method(owner: Namespace, name: str) -> Callable[..., Any] | None:
    """A public method defined by ``owner``'s class (or a base below :class:`Namespace`), else None.

    Only these: ``getattr`` would also reach what every Python object has (``mro``, ``__class__``).
    """
    if name.startswith("_") or name == "property":
        return None
    for cls in type(owner).__mro__:
        if cls is Namespace or cls is object:
            return None
        method = cls.__dict__.get(name)
        if method is not None:
            return method if inspect.isfunction(method) else None
    return None


@dataclass
class _Budget:
    """What one rendering has used, shared by the scopes of its interpolated strings."""

    iterations: int = 0
    depth: int = 0


@dataclass
class _Scope:
    variables: dict[str, Any]
    budget: _Budget
    out: list[str] = field(default_factory=list)
    size: int = 0

    def write(self, text: str) -> None:
        self.size += len(text)
        check_text(self.size)
        self.out.append(text)


class Template:
    """A parsed template, rendered many times."""

    def __init__(self, text: str) -> None:
        """Raises TemplateError when ``text`` is not a template (or nests too deep)."""
        self._nodes = parse(text)

    def render(self, variables: Mapping[str, Any]) -> str:
        """The text for ``variables`` (which #set may add to; the caller's mapping is not changed).

        Raises:
            TemplateError: an expression fails (a method that does not exist, a bad operand), or
                the rendering passes a limit (10 MB of text, nesting, iterations).
        """
        scope = _Scope(dict(variables), _Budget())
        try:
            _run(self._nodes, scope)
        except (Stop, Break):
            pass
        except RecursionError:
            # The parser and evaluator cap their own nesting; this is Python comparing (==, in)
            # lists nested deeper than its stack, which Java would answer with a StackOverflowError.
            raise TemplateError("values nested too deep") from None
        return "".join(scope.out)


def render(text: str, variables: Mapping[str, Any]) -> str:
    """Parse and render ``text`` once (see :class:`Template`)."""
    return Template(text).render(variables)


def _run(nodes: tuple[Any, ...], scope: _Scope) -> None:
    for node in nodes:
        if isinstance(node, str):
            scope.write(node)
        elif isinstance(node, Ref):
            value = _resolve(node, scope)
            if value is None:
                if not node.quiet:
                    scope.write(node.source)
            else:
                scope.write(to_text(value))
        elif isinstance(node, Set):
            _assign(node, scope)
        elif isinstance(node, If):
            for condition, body in node.branches:
                if _truthy(_eval(condition, scope)):
                    _run(body, scope)
                    break
            else:
                _run(node.otherwise, scope)
        elif isinstance(node, Foreach):
            _foreach(node, scope)
        elif node is Break:
            raise Break
        elif node is Stop:
            raise Stop


def _foreach(node: Foreach, scope: _Scope) -> None:
    items = _items(node.items, scope)
    count = min(len(items), MAX_FOREACH)
    saved = {name: scope.variables.get(name) for name in (node.var, "foreach", "velocityCount")}
    try:
        for index in range(count):
            scope.budget.iterations += 1
            if scope.budget.iterations > MAX_ITERATIONS:
                raise TemplateError(f"more than {MAX_ITERATIONS} #foreach iterations")
            scope.variables[node.var] = items[index]
            # hasNext/last speak of the list as the loop sees it: the 1000th item is the last one run.
            scope.variables["foreach"] = {"index": index, "count": index + 1, "hasNext": index + 1 < count,
                                          "first": index == 0, "last": index + 1 == count}  # fmt: skip
            scope.variables["velocityCount"] = index + 1
            try:
                _run(node.body, scope)
            except Break:
                break
    finally:
        for name, value in saved.items():
            if value is None:
                scope.variables.pop(name, None)
            else:
                scope.variables[name] = value


def _items(node: Any, scope: _Scope) -> list[Any] | range:
    """What ``#foreach`` walks: a range literal lazily (only its first 1000 numbers are ever read)."""
    if isinstance(node, Range):
        return _range(node, scope)
    value = _eval(node, scope)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.values())  # a Java Map iterates its values in #foreach
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _range(node: Range, scope: _Scope) -> range:
    start, stop = _eval(node.start, scope), _eval(node.stop, scope)
    if not _is_whole(start) or not _is_whole(stop):
        raise TemplateError("a range needs whole numbers")
    step = 1 if stop >= start else -1
    return range(start, stop + step, step)


def _assign(node: Set, scope: _Scope) -> None:
    value = _eval(node.value, scope)
    target = node.target
    if not target.chain:
        if value is None:
            return  # Velocity 1.7 leaves a variable unchanged when the value is null
        scope.variables[target.name] = value
        return
    owner = _walk(scope.variables.get(target.name), target.chain[:-1], scope)
    kind, last = target.chain[-1]
    key = _eval(last, scope) if kind == "index" else last
    if isinstance(owner, dict):
        owner[key] = value
        check_size(owner)
    elif isinstance(owner, list) and _is_whole(key) and 0 <= key < len(owner):
        owner[key] = value
    else:
        raise TemplateError(f"{target.source}: cannot be assigned")


def _resolve(ref: Ref, scope: _Scope) -> Any:
    return _walk(scope.variables.get(ref.name), ref.chain, scope)


def _walk(value: Any, chain: tuple[tuple[str, Any], ...], scope: _Scope) -> Any:
    for kind, part in chain:
        if value is None:
            return None
        if kind == "prop":
            value = _property(value, part)
        elif kind == "index":
            value = _index(value, _eval(part, scope))
        else:
            name, args = part
            value = _call(value, name, [_eval(a, scope) for a in args])
    return value


def _property(value: Any, name: str) -> Any:
    if isinstance(value, Namespace):
        return value.property(name)
    if isinstance(value, Mapping):
        return value.get(name)
    # A bean property: $list.size, $text.length, $map.empty read getX()/isX().
    for candidate in (name, "get" + name[:1].upper() + name[1:], "is" + name[:1].upper() + name[1:]):
        try:
            return _call(value, candidate, [])
        except TemplateError:
            continue
    return None


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get(key)
    # Velocity's $list[-1] is an error logged and a null rendered: no Python-style counting from the end.
    if isinstance(value, (list, tuple, str)) and _is_whole(key):
        return value[key] if 0 <= key < len(value) else None
    return None


def _call(value: Any, name: str, args: list[Any]) -> Any:
    if not isinstance(value, Namespace):
        return call_method(value, name, args)
    method = _namespace_method(value, name)
    if method is None:
        raise TemplateError(f"no method {name}()")
    try:
        inspect.signature(method).bind(value, *args)
    except TypeError:
        raise TemplateError(f"{name}() does not take {len(args)} argument(s)") from None
    try:
        return check_size(method(value, *args))
    except TemplateError:
        raise
    except (TypeError, ValueError, OverflowError, LookupError, RecursionError) as exc:
        raise TemplateError(f"{name}(): {exc}") from None


def _eval(node: Any, scope: _Scope) -> Any:
    budget = scope.budget
    budget.depth += 1
    try:
        if budget.depth > MAX_DEPTH:
            raise TemplateError(f"expressions nested deeper than {MAX_DEPTH} levels")
        return _evaluate(node, scope)
    finally:
        budget.depth -= 1


def _evaluate(node: Any, scope: _Scope) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Ref):
        return _resolve(node, scope)
    if isinstance(node, Interp):
        inner = _Scope(scope.variables, scope.budget)
        _run(node.nodes, inner)
        return "".join(inner.out)
    if isinstance(node, ListLit):
        return [_eval(item, scope) for item in node.items]
    if isinstance(node, Range):
        numbers = _range(node, scope)
        if len(numbers) > MAX_ITEMS:
            raise TemplateError(f"a range of more than {MAX_ITEMS} numbers")
        return list(numbers)
    if isinstance(node, MapLit):
        return {_eval(k, scope): _eval(v, scope) for k, v in node.items}
    if isinstance(node, Op):
        return _operate(node, scope)
    raise TemplateError(f"cannot evaluate {node!r}")


def _operate(node: Op, scope: _Scope) -> Any:
    op = node.op
    if op == "!":
        return not _truthy(_eval(node.left, scope))
    if op == "&&":
        return _truthy(_eval(node.left, scope)) and _truthy(_eval(node.right, scope))
    if op == "||":
        return _truthy(_eval(node.left, scope)) or _truthy(_eval(node.right, scope))
    left, right = _eval(node.left, scope), _eval(node.right, scope)
    if op in ("==", "!="):
        same = _equal(left, right)
        return same if op == "==" else not same
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        left_text, right_text = to_text(left), to_text(right)
        check_text(len(left_text) + len(right_text))
        return left_text + right_text
    if not _is_number(left) or not _is_number(right):
        if op in ("<", ">", "<=", ">=") and isinstance(left, str) and isinstance(right, str):
            return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
        raise TemplateError(f"{op}: {_quoted(left)} and {_quoted(right)} are not numbers")
    if op in ("<", ">", "<=", ">="):
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    return check_number(_arithmetic(op, left, right))


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    # Velocity widens int and long to BigInteger rather than overflow (check_number bounds that);
    # a double past its range is Infinity, as in Java.
    if op == "*" and isinstance(left, int) and isinstance(right, int):
        # Size the product before computing it: digits add under multiplication.
        check_number(1 << max(left.bit_length() + right.bit_length() - 1, 0))
    try:
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
    except OverflowError:  # float arithmetic with a huge int operand
        raise TemplateError(f"{op}: a number too large") from None
    if right == 0:
        raise TemplateError("division by zero")
    if isinstance(left, int) and isinstance(right, int):
        quotient = abs(left) // abs(right) * (1 if (left >= 0) == (right >= 0) else -1)  # Java truncates
        return quotient if op == "/" else left - quotient * right
    try:
        return left / right if op == "/" else _java_remainder(float(left), float(right))
    except OverflowError:
        raise TemplateError(f"{op}: a number too large") from None


def _java_remainder(left: float, right: float) -> float:
    """Java's % on doubles takes the dividend's sign (Python's takes the divisor's)."""
    return math.fmod(left, right)


def _quoted(value: Any) -> str:
    text = to_text(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is type(right):
        return bool(left == right)
    # Velocity compares objects of different classes by their toString().
    return to_text(left) == to_text(right)


def _truthy(value: Any) -> bool:
    return value is not None and value is not False
