"""Template values written as text: Java's ``toString`` (what Velocity prints) and JSON (what ``$input.json`` writes).

Both walk a value without recursion (a payload may nest as deep as JSON allows) and stop at
:data:`MAX_TEXT` characters, so a list holding the same long string many times is refused
before it is written out rather than after.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from .vtl_parser import TemplateError

__all__ = ["MAX_INT_DIGITS", "MAX_PRINT_DEPTH", "MAX_TEXT", "check_number", "check_text", "to_json", "to_text"]

MAX_TEXT: Final = 10 * 1024 * 1024
"""Characters in any string a template builds, and in its output: API Gateway's 10 MB payload limit."""

MAX_INT_DIGITS: Final = 4000
"""Digits of a whole number. Velocity promotes int and long arithmetic to BigInteger and so never
overflows; repeated squaring would then grow without bound, and Python will not print more than 4300
digits, so a number past this is refused."""


MAX_PRINT_DEPTH: Final = 2000
"""Lists and maps printed inside each other at most: past any payload's nesting (1000), short of a
list that holds a list that holds the first, which Java answers with a StackOverflowError."""


def check_text(size: int) -> None:
    """Raises TemplateError when a string of ``size`` characters would pass :data:`MAX_TEXT`."""
    if size > MAX_TEXT:
        raise TemplateError(f"a string longer than {MAX_TEXT} characters")


def check_number(value: Any) -> Any:
    """``value``, or TemplateError when it is a whole number of more than :data:`MAX_INT_DIGITS` digits."""
    # bit_length * log10(2) bounds the digits without printing them.
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() * 0.30103 > MAX_INT_DIGITS:
        raise TemplateError(f"a number of more than {MAX_INT_DIGITS} digits")
    return value


def java_double(value: float) -> str:
    """Java's ``Double.toString``: ``1.5``, ``100.0``, ``1.0E7``, ``1.2E-5``, ``Infinity``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # plain notation there, like Java's, with the shortest digits that read back
    sign, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    assert isinstance(exponent, int)  # a finite number's exponent
    power = exponent + len(digits) - 1
    return f"{'-' if value < 0 else ''}{text[0]}.{text[1:] or '0'}E{power}"


class _Writer:
    """Text pieces with a running size, refused past :data:`MAX_TEXT`."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.size += len(text)
        check_text(self.size)
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


def to_text(value: Any) -> str:
    """A value as Velocity writes it: Java's toString (``{a=1, b=[x, y]}`` for maps and lists, ``true``, ``null``).

    Raises:
        TemplateError: the text would be longer than :data:`MAX_TEXT`, or the value nests deeper
            than :data:`MAX_PRINT_DEPTH` (a list inside a list inside the first: Java's stack overflows).
    """
    if isinstance(value, str):
        return value
    out = _Writer()
    # Pending work, last first: (piece of punctuation, None, depth) or (None, value, depth) with the container it is in.
    stack: list[tuple[str | None, Any, Any, int]] = [(None, value, None, 0)]
    while stack:
        piece, item, owner, depth = stack.pop()
        if piece is not None:
            out.add(piece)
        elif item is owner and owner is not None:
            # Java's AbstractCollection/AbstractMap print a collection inside itself so.
            out.add("(this Map)" if isinstance(item, Mapping) else "(this Collection)")
        elif isinstance(item, (Mapping, list, tuple)):
            if depth >= MAX_PRINT_DEPTH:
                raise TemplateError(f"a value nested deeper than {MAX_PRINT_DEPTH} levels")
            pending: list[tuple[str | None, Any, Any, int]] = []
            if isinstance(item, Mapping):
                for n, (key, inner) in enumerate(item.items()):
                    pending += [(", " if n else "{", None, None, 0), (None, key, item, depth + 1), ("=", None, None, 0)]
                    pending.append((None, inner, item, depth + 1))
                pending.append(("}" if pending else "{}", None, None, 0))
            else:
                for n, inner in enumerate(item):
                    pending += [(", " if n else "[", None, None, 0), (None, inner, item, depth + 1)]
                pending.append(("]" if pending else "[]", None, None, 0))
            stack.extend(reversed(pending))
        else:
            out.add(_scalar(item))
    return out.text()


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int):
        return str(check_number(value))
    return str(value)


def to_json(value: Any) -> str:
    """``value`` as compact JSON (``$input.json``), non-ASCII kept.

    Raises:
        TemplateError: a number JSON cannot write (infinity, NaN), a value that contains itself,
            or text longer than :data:`MAX_TEXT`.
    """
    out = _Writer()
    stack: list[tuple[bool, Any]] = [(False, value)]
    open_containers: list[int] = []  # ids of the containers being written, to refuse a cycle
    while stack:
        literal, item = stack.pop()
        if literal:
            if isinstance(item, int):  # the end of a container
                open_containers.pop()
                continue
            out.add(item)
        elif isinstance(item, (Mapping, list, tuple)):
            if id(item) in open_containers:
                raise TemplateError("a value that contains itself is not JSON")
            open_containers.append(id(item))
            pending: list[tuple[bool, Any]] = []
            if isinstance(item, Mapping):
                pending.append((True, "{"))
                for n, (key, inner) in enumerate(item.items()):
                    pending += [(True, ",")] if n else []
                    pending += [(True, json.dumps(_key(key), ensure_ascii=False) + ":"), (False, inner)]
                pending.append((True, "}"))
            else:
                pending.append((True, "["))
                for n, inner in enumerate(item):
                    pending += [(True, ",")] if n else []
                    pending.append((False, inner))
                pending.append((True, "]"))
            pending.append((True, 0))
            stack.extend(reversed(pending))
        elif isinstance(item, float) and not math.isfinite(item):
            raise TemplateError(f"{java_double(item)} is not a JSON number")
        elif item is None or isinstance(item, (bool, str, int, float)):
            out.add(json.dumps(check_number(item), ensure_ascii=False))
        else:
            out.add(json.dumps(to_text(item), ensure_ascii=False))
    return out.text()


def _key(key: Any) -> str:
    return key if isinstance(key, str) else to_text(key)
