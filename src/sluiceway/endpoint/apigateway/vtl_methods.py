"""Java's String, List, Map, Number and Boolean methods, as templates call them on Python's values.

Where Java throws (an index out of range, a bad regular expression or replacement), the call is
refused with a :class:`TemplateError`: Python's own habits (negative indexes counting from the
end, ``re.sub``'s replacement syntax) would give answers AWS never gives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from .vtl_parser import TemplateError
from .vtl_text import check_text, to_text

__all__ = ["MAX_ITEMS", "call_method", "check_size", "java_replace", "java_split"]

MAX_ITEMS: Final = 1_000_000
"""Elements in a list or map a template builds (``[a..b]``, ``add``, ``addAll``, ``put``, ``split``):
beyond what a 10 MB payload could print, and small enough that a doubling loop cannot exhaust memory."""


def check_size(value: Any) -> Any:
    """``value``, or TemplateError when it is a string, list or map past the limits."""
    if isinstance(value, str):
        check_text(len(value))
    elif isinstance(value, (list, dict)):
        _grow(len(value))
    return value


def java_split(text: str, pattern: str) -> list[str]:
    """``String.split(regex)``: trailing empty strings dropped, no leading empty string for a zero-width match at 0."""
    parts: list[str] = []
    last = 0
    for found in re.finditer(pattern, text):
        if found.end() == 0:
            continue
        parts.append(text[last : found.start()])
        last = found.end()
        _grow(len(parts))
    if not parts:
        return [text]  # no match: the string itself, even when empty
    parts.append(text[last:])
    while parts and not parts[-1]:
        parts.pop()
    return parts


def java_replace(text: str, pattern: str, replacement: str, *, first: bool = False) -> str:
    """``replaceAll``/``replaceFirst``: in the replacement ``$n`` and ``${name}`` are groups, ``\\`` escapes the next character."""
    compiled = re.compile(pattern)
    pieces = _replacement(replacement, compiled)
    out: list[str] = []
    size = last = 0
    for found in compiled.finditer(text):
        chunk = text[last : found.start()] + "".join(p if isinstance(p, str) else (found.group(p) or "") for p in pieces)
        size += len(chunk)
        check_text(size + len(text) - found.end())
        out.append(chunk)
        last = found.end()
        if first:
            break
    out.append(text[last:])
    return "".join(out)


def _replacement(replacement: str, compiled: re.Pattern[str]) -> list[str | int]:
    """Java's ``Matcher.appendReplacement`` syntax as literal pieces and group numbers."""
    pieces: list[str | int] = []
    pos = 0
    while pos < len(replacement):
        ch = replacement[pos]
        if ch == "\\":
            if pos + 1 >= len(replacement):
                raise TemplateError("character to be escaped is missing")
            pieces.append(replacement[pos + 1])
            pos += 2
        elif ch == "$":
            named = re.match(r"\$\{([A-Za-z][A-Za-z0-9]*)\}", replacement[pos:])
            if named:
                if named[1] not in compiled.groupindex:
                    raise TemplateError(f"No group with name {{{named[1]}}}")
                pieces.append(compiled.groupindex[named[1]])
                pos += named.end()
                continue
            if pos + 1 >= len(replacement) or not replacement[pos + 1].isdigit():
                raise TemplateError("Illegal group reference")
            group = int(replacement[pos + 1])
            if group > compiled.groups:
                raise TemplateError(f"No group {group}")
            pos += 2
            # Java reads more digits while the larger number is still a group.
            while pos < len(replacement) and replacement[pos].isdigit() and group * 10 + int(replacement[pos]) <= compiled.groups:
                group = group * 10 + int(replacement[pos])
                pos += 1
            pieces.append(group)
        else:
            pieces.append(ch)
            pos += 1
    return pieces


def _index(size: int, index: Any, *, end: bool = False) -> int:
    """A Java index: a whole number in [0, size) ([0, size] for an end); anything else throws."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= size - (0 if end else 1):
        raise TemplateError(f"index {to_text(index)} out of range for length {size}")
    return index


def _substring(text: str, start: Any, stop: Any = None) -> str:
    begin = _index(len(text), start, end=True)
    finish = len(text) if stop is None else _index(len(text), stop, end=True)
    if begin > finish:
        raise TemplateError(f"begin {begin}, end {finish}, length {len(text)}")
    return text[begin:finish]


def _replace(text: str, old: Any, new: Any) -> str:
    old_text, new_text = to_text(old), to_text(new)
    # An empty target matches between every character (as in Java): size it before building it.
    count = len(text) + 1 if not old_text else text.count(old_text)
    check_text(len(text) + count * (len(new_text) - len(old_text)))
    return text.replace(old_text, new_text)


def _concat(text: str, other: Any) -> str:
    tail = to_text(other)
    check_text(len(text) + len(tail))
    return text + tail


def _grow(size: int) -> None:
    if size > MAX_ITEMS:
        raise TemplateError(f"a collection of more than {MAX_ITEMS} elements")


def _add(items: list[Any], value: Any) -> bool:
    _grow(len(items) + 1)
    items.append(value)
    return True


def _add_all(items: list[Any], values: Any) -> bool:
    if not isinstance(values, (list, tuple)):
        raise TemplateError("addAll() needs a list")
    _grow(len(items) + len(values))
    items.extend(values)
    return True


def _put(mapping: dict[Any, Any], key: Any, value: Any) -> Any:
    previous = mapping.get(key)
    mapping[key] = value
    check_size(mapping)
    return previous


def _put_all(mapping: dict[Any, Any], other: Any) -> None:
    if not isinstance(other, Mapping):
        raise TemplateError("putAll() needs a map")
    mapping.update(other)
    check_size(mapping)


_STRING: Final[dict[str, Callable[..., Any]]] = {
    "length": len, "size": len, "isEmpty": lambda s: not s, "toString": lambda s: s, "trim": str.strip,
    "toLowerCase": str.lower, "toUpperCase": str.upper, "contains": lambda s, x: to_text(x) in s,
    "startsWith": lambda s, x: s.startswith(to_text(x)), "endsWith": lambda s, x: s.endswith(to_text(x)),
    "equals": lambda s, x: s == x, "equalsIgnoreCase": lambda s, x: isinstance(x, str) and s.lower() == x.lower(),
    "indexOf": lambda s, x: s.find(to_text(x)), "lastIndexOf": lambda s, x: s.rfind(to_text(x)),
    "charAt": lambda s, i: s[_index(len(s), i)], "concat": _concat, "replace": _replace,
    "replaceAll": lambda s, a, b: java_replace(s, to_text(a), to_text(b)),
    "replaceFirst": lambda s, a, b: java_replace(s, to_text(a), to_text(b), first=True),
    "matches": lambda s, p: re.fullmatch(to_text(p), s) is not None,
    "split": lambda s, p: java_split(s, to_text(p)), "substring": _substring,
}  # fmt: skip

_LIST: Final[dict[str, Callable[..., Any]]] = {
    "size": len, "isEmpty": lambda v: not v, "get": lambda v, i: v[_index(len(v), i)], "contains": lambda v, x: x in v,
    "add": _add, "addAll": _add_all, "indexOf": lambda v, x: v.index(x) if x in v else -1,
    "remove": lambda v, i: v.pop(_index(len(v), i)), "toString": lambda v: to_text(v),
}  # fmt: skip

_MAP: Final[dict[str, Callable[..., Any]]] = {
    "get": lambda m, k: m.get(k), "put": _put, "containsKey": lambda m, k: k in m,
    "keySet": lambda m: list(m.keys()), "values": lambda m: list(m.values()), "size": len, "isEmpty": lambda m: not m,
    "remove": lambda m, k: m.pop(k, None), "putAll": _put_all, "toString": lambda m: to_text(m),
    "entrySet": lambda m: [{"key": k, "value": v} for k, v in m.items()],
}  # fmt: skip

_NUMBER: Final[dict[str, Callable[..., Any]]] = {"toString": to_text, "intValue": int, "doubleValue": float, "longValue": int}
_BOOLEAN: Final[dict[str, Callable[..., Any]]] = {"toString": to_text, "booleanValue": bool}


def call_method(value: Any, name: str, args: list[Any]) -> Any:
    """``value.name(args)`` with Java's meaning.

    Raises:
        TemplateError: no such method, the wrong arguments, or a call Java would throw on.
    """
    if isinstance(value, str):
        table: Mapping[str, Callable[..., Any]] = _STRING
    elif isinstance(value, list):
        table = _LIST
    elif isinstance(value, dict):
        table = _MAP
    elif isinstance(value, bool):
        table = _BOOLEAN
    elif isinstance(value, (int, float)):
        table = _NUMBER
    else:
        table = {}
    method = table.get(name)
    if method is None:
        raise TemplateError(f"no method {name}() on {type(value).__name__}")
    try:
        return check_size(method(value, *args))
    except TemplateError:
        raise
    # TypeError: the wrong number or kind of arguments; ValueError: int() of an infinity or NaN;
    # OverflowError: int() of an infinity; RecursionError: == on a list that holds itself.
    except (TypeError, ValueError, OverflowError, IndexError, KeyError, re.error, RecursionError) as exc:
        raise TemplateError(f"{name}(): {exc}") from None
