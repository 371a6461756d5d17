"""DynamoDB's typed values (``AttributeValue``): checks, numbers, sizes, equality and order.

A value is kept in the shape the wire uses: a one-member dict naming its type,
``{"S": "text"}``, ``{"N": "12.5"}``, ``{"B": b"..."}``, ``{"SS": [...]}``, ``{"NS": [...]}``,
``{"BS": [...]}``, ``{"M": {...}}``, ``{"L": [...]}``, ``{"NULL": True}``, ``{"BOOL": False}``.
Numbers are decimal text; they are checked and written in one canonical form (what
DynamoDB returns: ``"1.50"`` reads back as ``"1.5"``, ``"1e3"`` as ``"1000"``), so that
equal numbers are equal texts. Binary values are ``bytes``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Context, Decimal, InvalidOperation
from typing import Any, TypeAlias

from ..types import JSON
from .errors import framed, validation

__all__ = [
    "Item",
    "Value",
    "check_item",
    "check_value",
    "compare",
    "equal",
    "from_plain",
    "from_storage",
    "item_size",
    "number",
    "number_text",
    "to_plain",
    "to_storage",
    "type_of",
    "value_size",
]

Value: TypeAlias = dict[str, Any]
"""One AttributeValue, in the wire's shape."""

Item: TypeAlias = dict[str, Value]
"""An item: attribute names to values."""

TYPES = ("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL")

MAX_DIGITS = 38
"""Significant digits a DynamoDB number holds."""
_LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")
_SMALLEST = Decimal("1E-130")
_SET_WORDS = {"SS": "string", "NS": "number", "BS": "binary"}
# normalize() rounds to its context's precision; this one never rounds (DynamoDB refuses instead).
_EXACT = Context(prec=1000)


def type_of(value: Value) -> str:
    """The value's type name (``S``, ``N``, ``M``...)."""
    return next(iter(value))


def number(text: str) -> Decimal:
    """A number's text as a Decimal, refused as DynamoDB refuses it.

    Raises:
        DynamoDbError: not a number, or beyond DynamoDB's 38 digits or range.
    """
    if not isinstance(text, str) or text != text.strip():
        raise validation(f"The parameter cannot be converted to a numeric value: {text}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise validation(f"The parameter cannot be converted to a numeric value: {text}") from None
    if not value.is_finite():
        raise validation(f"The parameter cannot be converted to a numeric value: {text}")
    return check_number(value)


def check_number(value: Decimal) -> Decimal:
    """``value`` if DynamoDB can hold it exactly (a result of arithmetic is checked here too)."""
    if value.is_zero():
        return Decimal(0)
    reduced = value.normalize(_EXACT)
    if reduced.copy_abs() > _LARGEST:
        raise validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
    if reduced.copy_abs() < _SMALLEST:
        raise validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
    if len(reduced.as_tuple().digits) > MAX_DIGITS:
        raise validation(f"Attempting to store more than {MAX_DIGITS} significant digits in a Number")
    return reduced


def number_text(value: Decimal) -> str:
    """The canonical text of a number: plain notation, no trailing zeros, ``0`` for zero."""
    if value.is_zero():
        return "0"
    return format(value.normalize(_EXACT), "f")


def check_value(value: Any) -> Value:
    """A value from a request, checked and made canonical (numbers rewritten, sets deduplicated-checked).

    Raises:
        DynamoDbError: a ValidationException worded as DynamoDB words it.
    """
    if not isinstance(value, Mapping) or not value:
        raise validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    if len(value) > 1:
        raise validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
    [(kind, raw)] = value.items()
    if kind == "S":
        if not isinstance(raw, str):
            raise validation("Invalid type for parameter S")
        return {"S": raw}
    if kind == "N":
        return {"N": number_text(number(raw))}
    if kind == "B":
        return {"B": _bytes(raw)}
    if kind == "BOOL":
        return {"BOOL": bool(raw)}
    if kind == "NULL":
        if raw is not True:
            raise validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
        return {"NULL": True}
    if kind == "L":
        return {"L": [check_value(v) for v in raw]}
    if kind == "M":
        return {"M": {str(k): check_value(v) for k, v in raw.items()}}
    if kind in _SET_WORDS:
        members = list(raw)
        if not members:
            # DynamoDB's message has the two spaces.
            raise framed(validation(f"One or more parameter values were invalid: An {_SET_WORDS[kind]} set  may not be empty"))
        if kind == "SS":
            canonical: list[Any] = [check_value({"S": m})["S"] for m in members]
        elif kind == "NS":
            canonical = [check_value({"N": m})["N"] for m in members]
        else:
            canonical = [_bytes(m) for m in members]
        if len(set(canonical)) != len(canonical):
            shown = ", ".join(str(m) for m in members)
            raise validation(f"One or more parameter values were invalid: Input collection [{shown}] contains duplicates.")
        return {kind: canonical}
    raise validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        if kind not in TYPES
        else f"Unsupported AttributeValue type {kind}"
    )


def _bytes(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    raise validation("Invalid type for parameter B, expected bytes")


def check_item(item: Any) -> Item:
    """Every attribute of an item checked (see :func:`check_value`)."""
    if not isinstance(item, Mapping):
        raise validation("Invalid type for parameter Item")
    return {str(name): check_value(value) for name, value in item.items()}


# -- equality and order ------------------------------------------------------------------


def equal(a: Value, b: Value) -> bool:
    """DynamoDB's ``=``: same type and same value (numbers by value, sets in any order)."""
    kind = type_of(a)
    if kind != type_of(b):
        return False
    x, y = a[kind], b[kind]
    if kind == "N":
        return Decimal(x) == Decimal(y)
    if kind in ("SS", "BS"):
        return set(x) == set(y)
    if kind == "NS":
        return {Decimal(n) for n in x} == {Decimal(n) for n in y}
    if kind == "L":
        return len(x) == len(y) and all(equal(p, q) for p, q in zip(x, y, strict=True))
    if kind == "M":
        return x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
    return bool(x == y)


def compare(a: Value, b: Value) -> int | None:
    """-1, 0 or 1 for two values of one scalar type DynamoDB orders (S by UTF-8 bytes, N, B); else None."""
    kind = type_of(a)
    if kind != type_of(b) or kind not in ("S", "N", "B"):
        return None
    x: Any
    y: Any
    if kind == "S":
        x, y = a["S"].encode("utf-8"), b["S"].encode("utf-8")
    elif kind == "N":
        x, y = Decimal(a["N"]), Decimal(b["N"])
    else:
        x, y = a["B"], b["B"]
    return int(x > y) - int(x < y)


# -- sizes -------------------------------------------------------------------------------


def value_size(value: Value) -> int:
    """Bytes a value counts for in DynamoDB's item size (its published sizing rules)."""
    kind = type_of(value)
    raw = value[kind]
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "B":
        return len(raw)
    if kind == "N":
        return _number_size(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in raw.items())


def _number_size(text: str) -> int:
    # "Numbers are variable length, with up to 38 significant digits": about one byte per two digits, plus one.
    digits = len(Decimal(text).as_tuple().digits)
    return (digits + 1) // 2 + 1


def item_size(item: Mapping[str, Value]) -> int:
    """An item's size: each attribute's name and value."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


# -- storage and plain JSON ----------------------------------------------------------------


def to_storage(value: Value) -> JSON:
    """A value as JSON text can hold it (bytes as base64)."""
    kind = type_of(value)
    raw = value[kind]
    if kind == "B":
        return {"B": base64.b64encode(raw).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in raw]}
    if kind == "L":
        return {"L": [to_storage(v) for v in raw]}
    if kind == "M":
        return {"M": {k: to_storage(v) for k, v in raw.items()}}
    return {kind: raw}


def from_storage(stored: Mapping[str, Any]) -> Value:
    """The inverse of :func:`to_storage`."""
    [(kind, raw)] = stored.items()
    if kind == "B":
        return {"B": base64.b64decode(raw)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in raw]}
    if kind == "L":
        return {"L": [from_storage(v) for v in raw]}
    if kind == "M":
        return {"M": {k: from_storage(v) for k, v in raw.items()}}
    return {kind: raw}


def from_plain(value: JSON) -> Value:
    """A plain JSON value as boto3's resource layer would send it (floats exactly as ``repr`` shows them).

    Raises:
        DynamoDbError: a number DynamoDB cannot hold (NaN, infinity, more than 38 digits).
        TypeError: not a JSON value.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": number_text(number(str(value)))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [from_plain(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): from_plain(v) for k, v in value.items()}}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def to_plain(value: Value) -> JSON:
    """A value as plain JSON (whole numbers as int, sets as sorted lists, binary as UTF-8 text)."""
    kind = type_of(value)
    raw = value[kind]
    if kind == "N":
        return _plain_number(raw)
    if kind in ("S", "BOOL"):
        return raw
    if kind == "NULL":
        return None
    if kind == "L":
        return [to_plain(v) for v in raw]
    if kind == "M":
        return {k: to_plain(v) for k, v in raw.items()}
    if kind == "SS":
        return sorted(raw)
    if kind == "NS":
        return sorted((_plain_number(n) for n in raw), key=lambda n: Decimal(str(n)))
    if kind == "B":
        return bytes(raw).decode("utf-8", "replace")
    return sorted(bytes(b).decode("utf-8", "replace") for b in raw)


def _plain_number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)
