"""Apache Velocity (VTL), the language of API Gateway's mapping templates: parse once, render per request.

What API Gateway's templates use: ``$ref`` / ``$!ref`` / ``${ref}`` references with property,
index and method chains; ``#set``, ``#if``/``#elseif``/``#else``, ``#foreach`` (with ``$foreach``
and ``$velocityCount``), ``#break``; ``##`` and ``#* *#`` comments; string, number, boolean,
list, range and map literals; ``&&``/``and``, ``||``/``or``, ``!``/``not``, comparisons and
arithmetic. Values are Python's: strings, numbers, booleans, None (Java's null), lists and dicts,
and :class:`Namespace` objects (``$input``, ``$util``) whose public methods templates may call.
Java's common String, List and Map methods are mapped onto Python's values.

Velocity's own habits are kept because templates are written against them: a reference that is
null renders as its own source text unless it is quiet (``$!x``); ``#if`` is false only for null
and false; a directive that ends its line takes the newline with it (its indentation stays).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Namespace", "Template", "TemplateError", "render", "to_text"]


class TemplateError(ValueError):
    """A template that cannot be parsed, or an expression that cannot be evaluated."""


class Namespace:
    """An object whose public methods (and :meth:`property` values) templates may reach."""

    def property(self, name: str) -> Any:
        """``$obj.name`` without a call; None when there is no such property."""
        return None


# --------------------------------------------------------------------------- syntax tree

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_NAMES = "set|if|elseif|else|end|foreach|break|stop"
_DIRECTIVE = re.compile(rf"#(?:\{{(?P<braced>{_NAMES})\}}|(?P<bare>{_NAMES})(?![A-Za-z0-9_]))")


@dataclass(frozen=True)
class _Ref:
    name: str
    chain: tuple[tuple[str, Any], ...]
    """("prop", name) | ("index", expr) | ("call", (name, (args...)))."""
    quiet: bool
    source: str


@dataclass(frozen=True)
class _Lit:
    value: Any


@dataclass(frozen=True)
class _Interp:
    """A double-quoted string: rendered with the current variables."""

    nodes: tuple[Any, ...]


@dataclass(frozen=True)
class _ListLit:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Range:
    start: Any
    stop: Any


@dataclass(frozen=True)
class _MapLit:
    items: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class _Op:
    op: str
    left: Any
    right: Any = None


@dataclass(frozen=True)
class _Set:
    target: _Ref
    value: Any


@dataclass(frozen=True)
class _If:
    branches: tuple[tuple[Any, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...]


@dataclass(frozen=True)
class _Foreach:
    var: str
    items: Any
    body: tuple[Any, ...]


class _Break(Exception):
    pass


class _Stop(Exception):
    pass


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

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
        if name == "break":
            return _Break
        if name == "stop":
            return _Stop
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
            return _Set(target, value)
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
                    return _If(tuple(branches), tuple(otherwise))
                if closer != "end":
                    raise self.error("#if without #end")
                return _If(tuple(branches), ())
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
        return _Foreach(var.name, items, tuple(body))

    # --- references

    def reference(self) -> _Ref | None:
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
        return _Ref(name, tuple(chain), quiet, text[start : self.pos])

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
        left = self.conjunction()
        while self.word("||", "or"):
            left = _Op("||", left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.comparison()
        while self.word("&&", "and"):
            left = _Op("&&", left, self.comparison())
        return left

    _COMPARISONS = {"==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "<": "<", ">": ">",
                    "eq": "==", "ne": "!=", "le": "<=", "ge": ">=", "lt": "<", "gt": ">"}  # fmt: skip

    def comparison(self) -> Any:
        left = self.additive()
        op = self.word("==", "!=", "<=", ">=", "<", ">", "eq", "ne", "le", "ge", "lt", "gt")
        if op:
            return _Op(self._COMPARISONS[op], left, self.additive())
        return left

    def additive(self) -> Any:
        left = self.multiplicative()
        while True:
            op = self.word("+", "-")
            if not op:
                return left
            left = _Op(op, left, self.multiplicative())

    def multiplicative(self) -> Any:
        left = self.unary()
        while True:
            op = self.word("*", "/", "%")
            if not op:
                return left
            left = _Op(op, left, self.unary())

    def unary(self) -> Any:
        if self.word("!", "not"):
            return _Op("!", self.unary())
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
                return _Lit(raw)
            nodes, _ = _Parser(raw).block(())
            return _Interp(tuple(nodes))
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
                return _ListLit(())
            first = self.expression()
            self.skip()
            if text.startswith("..", self.pos):
                self.pos += 2
                last = self.expression()
                self.expect("]")
                return _Range(first, last)
            items = [first]
            while self.word(","):
                items.append(self.expression())
            self.expect("]")
            return _ListLit(tuple(items))
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
            return _MapLit(tuple(pairs))
        number = _NUMBER.match(text, pos)
        if number:
            self.pos = number.end()
            return _Lit(float(number.group(0)) if number.group(1) else int(number.group(0)))
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.word(word):
                return _Lit(value)
        raise self.error(f"unexpected {text[pos : pos + 10]!r}")


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Scope:
    variables: dict[str, Any]
    out: list[str] = field(default_factory=list)


class Template:
    """A parsed template, rendered many times."""

    def __init__(self, text: str) -> None:
        """Raises TemplateError when ``text`` is not a template."""
        parser = _Parser(text)
        nodes, closer = parser.block(())
        if closer:
            raise parser.error(f"#{closer} without its directive")
        self._nodes = tuple(nodes)

    def render(self, variables: Mapping[str, Any]) -> str:
        """The text for ``variables`` (which #set may add to; the caller's mapping is not changed).

        Raises:
            TemplateError: an expression fails (a method that does not exist, a bad operand).
        """
        scope = _Scope(dict(variables))
        try:
            _run(self._nodes, scope)
        except _Stop:
            pass
        except _Break:
            pass
        return "".join(scope.out)


def render(text: str, variables: Mapping[str, Any]) -> str:
    """Parse and render ``text`` once (see :class:`Template`)."""
    return Template(text).render(variables)


def _run(nodes: tuple[Any, ...], scope: _Scope) -> None:
    for node in nodes:
        if isinstance(node, str):
            scope.out.append(node)
        elif isinstance(node, _Ref):
            value = _resolve(node, scope)
            if value is None:
                if not node.quiet:
                    scope.out.append(node.source)
            else:
                scope.out.append(to_text(value))
        elif isinstance(node, _Set):
            _assign(node, scope)
        elif isinstance(node, _If):
            for condition, body in node.branches:
                if _truthy(_eval(condition, scope)):
                    _run(body, scope)
                    break
            else:
                _run(node.otherwise, scope)
        elif isinstance(node, _Foreach):
            _foreach(node, scope)
        elif node is _Break:
            raise _Break
        elif node is _Stop:
            raise _Stop


def _foreach(node: _Foreach, scope: _Scope) -> None:
    items = _iterable(_eval(node.items, scope))
    saved = {name: scope.variables.get(name) for name in (node.var, "foreach", "velocityCount")}
    try:
        for index, item in enumerate(items):
            scope.variables[node.var] = item
            scope.variables["foreach"] = {"index": index, "count": index + 1, "hasNext": index + 1 < len(items),
                                          "first": index == 0, "last": index + 1 == len(items)}  # fmt: skip
            scope.variables["velocityCount"] = index + 1
            try:
                _run(node.body, scope)
            except _Break:
                break
    finally:
        for name, value in saved.items():
            if value is None:
                scope.variables.pop(name, None)
            else:
                scope.variables[name] = value


def _iterable(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.values())  # a Java Map iterates its values in #foreach
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _assign(node: _Set, scope: _Scope) -> None:
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
    if isinstance(owner, dict) or (isinstance(owner, list) and isinstance(key, int)):
        owner[key] = value
    else:
        raise TemplateError(f"{target.source}: cannot be assigned")


def _resolve(ref: _Ref, scope: _Scope) -> Any:
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
    if isinstance(value, (list, tuple, str)) and isinstance(key, int) and not isinstance(key, bool):
        return value[key] if -len(value) <= key < len(value) else None
    return None


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "length": len, "size": len, "isEmpty": lambda s: not s, "toString": lambda s: s, "trim": str.strip,
    "toLowerCase": str.lower, "toUpperCase": str.upper, "contains": lambda s, x: to_text(x) in s,
    "startsWith": lambda s, x: s.startswith(to_text(x)), "endsWith": lambda s, x: s.endswith(to_text(x)),
    "equals": lambda s, x: s == x, "equalsIgnoreCase": lambda s, x: isinstance(x, str) and s.lower() == x.lower(),
    "indexOf": lambda s, x: s.find(to_text(x)), "lastIndexOf": lambda s, x: s.rfind(to_text(x)),
    "charAt": lambda s, i: s[i], "concat": lambda s, x: s + to_text(x),
    "replace": lambda s, a, b: s.replace(to_text(a), to_text(b)),
    "replaceAll": lambda s, a, b: re.sub(a, re.sub(r"\$(\d)", r"\\\1", b), s),
    "replaceFirst": lambda s, a, b: re.sub(a, re.sub(r"\$(\d)", r"\\\1", b), s, count=1),
    "matches": lambda s, p: re.fullmatch(p, s) is not None,
    "split": lambda s, p: [part for part in re.split(p, s)] if s else [""],
    "substring": lambda s, a, b=None: s[a:b] if b is not None else s[a:],
}  # fmt: skip

_LIST_METHODS: dict[str, Callable[..., Any]] = {
    "size": len, "isEmpty": lambda v: not v, "get": lambda v, i: v[i], "contains": lambda v, x: x in v,
    "add": lambda v, x: v.append(x) or True, "addAll": lambda v, x: v.extend(x) or True,
    "indexOf": lambda v, x: v.index(x) if x in v else -1,
    "remove": lambda v, i: v.pop(i), "toString": lambda v: to_text(v),
}  # fmt: skip

_MAP_METHODS: dict[str, Callable[..., Any]] = {
    "get": lambda m, k: m.get(k), "put": lambda m, k, v: m.__setitem__(k, v), "containsKey": lambda m, k: k in m,
    "keySet": lambda m: list(m.keys()), "values": lambda m: list(m.values()), "size": len, "isEmpty": lambda m: not m,
    "remove": lambda m, k: m.pop(k, None), "putAll": lambda m, o: m.update(o), "toString": lambda m: to_text(m),
    "entrySet": lambda m: [{"key": k, "value": v} for k, v in m.items()],
}  # fmt: skip


def _call(value: Any, name: str, args: list[Any]) -> Any:
    if isinstance(value, Namespace):
        method = getattr(type(value), name, None) if not name.startswith("_") else None
        if method is None or not callable(method) or name == "property":
            raise TemplateError(f"no method {name}()")
        return method(value, *args)
    if isinstance(value, str):
        table: Mapping[str, Callable[..., Any]] = _STRING_METHODS
    elif isinstance(value, list):
        table = _LIST_METHODS
    elif isinstance(value, dict):
        table = _MAP_METHODS
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        table = {"toString": to_text, "intValue": int, "doubleValue": float, "longValue": int}
    elif isinstance(value, bool):
        table = {"toString": to_text, "booleanValue": bool}
    else:
        table = {}
    method = table.get(name)
    if method is None:
        raise TemplateError(f"no method {name}() on {type(value).__name__}")
    try:
        return method(value, *args)
    except (TypeError, IndexError, KeyError, re.error) as exc:
        raise TemplateError(f"{name}(): {exc}") from None


def _eval(node: Any, scope: _Scope) -> Any:
    if isinstance(node, _Lit):
        return node.value
    if isinstance(node, _Ref):
        return _resolve(node, scope)
    if isinstance(node, _Interp):
        inner = _Scope(scope.variables)
        _run(node.nodes, inner)
        return "".join(inner.out)
    if isinstance(node, _ListLit):
        return [_eval(item, scope) for item in node.items]
    if isinstance(node, _Range):
        start, stop = _eval(node.start, scope), _eval(node.stop, scope)
        if not isinstance(start, int) or not isinstance(stop, int):
            raise TemplateError("a range needs whole numbers")
        step = 1 if stop >= start else -1
        return list(range(start, stop + step, step))
    if isinstance(node, _MapLit):
        return {_eval(k, scope): _eval(v, scope) for k, v in node.items}
    if isinstance(node, _Op):
        return _operate(node, scope)
    raise TemplateError(f"cannot evaluate {node!r}")


def _operate(node: _Op, scope: _Scope) -> Any:
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
        return to_text(left) + to_text(right)
    if not _is_number(left) or not _is_number(right):
        if op in ("<", ">", "<=", ">=") and isinstance(left, str) and isinstance(right, str):
            return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
        raise TemplateError(f"{op}: {to_text(left)!r} and {to_text(right)!r} are not numbers")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op in ("/", "%"):
        if right == 0:
            raise TemplateError("division by zero")
        if isinstance(left, int) and isinstance(right, int):
            quotient = abs(left) // abs(right) * (1 if (left >= 0) == (right >= 0) else -1)  # Java truncates
            return quotient if op == "/" else left - quotient * right
        return left / right if op == "/" else left % right
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


def to_text(value: Any) -> str:
    """A value as Velocity writes it: Java's toString (``{a=1, b=[x, y]}`` for maps and lists)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e7 else f"{value:.1f}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{to_text(k)}={to_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_text(v) for v in value) + "]"
    return str(value)
