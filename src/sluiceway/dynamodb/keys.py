"""Primary keys: checking them in requests and items, and writing them so that text order is DynamoDB's order.

Key attributes are strings (S), numbers (N) or binaries (B). :func:`sort_text`
turns a key value into text whose plain (byte) order is DynamoDB's order of the
values, so that SQLite's ``ORDER BY`` and range comparisons on the text are
DynamoDB's: strings are themselves (SQLite compares TEXT by UTF-8 bytes, as
DynamoDB does), binaries are lower-case hex, and numbers are a sign class, a
fixed-width exponent and the digits (complemented for negative numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .errors import validation
from .values import Value, check_value, type_of, value_size

__all__ = ["HASH_KEY_LIMIT", "RANGE_KEY_LIMIT", "KeyAttribute", "sort_text"]

HASH_KEY_LIMIT = 2048
"""Bytes a partition key value may have."""
RANGE_KEY_LIMIT = 1024
"""Bytes a sort key value may have."""


class KeyAttribute:
    """One key attribute of a table or an index: its name and declared type (S, N or B)."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    def __repr__(self) -> str:
        return f"KeyAttribute({self.name!r}, {self.kind!r})"


def sort_text(value: Value) -> str:
    """Text whose order is the value's order among values of its type (S, N or B)."""
    kind = type_of(value)
    if kind == "S":
        return str(value["S"])
    if kind == "B":
        return bytes(value["B"]).hex()
    number = Decimal(value["N"])
    if number.is_zero():
        return "2"
    sign, digits, exponent = number.normalize().as_tuple()
    assert isinstance(exponent, int)
    # The value is 0.d1d2... x 10**position; DynamoDB's range keeps position within -129..126.
    position = len(digits) + exponent + 200
    text = "".join(str(d) for d in digits)
    if not sign:
        return f"3{position:03d}{text}"
    # Negative: larger magnitudes first, so exponent and digits are complemented; "~" ends the
    # digits so that -0.12 ("87~") sorts after -0.123 ("876~").
    complement = "".join(str(9 - d) for d in digits)
    return f"1{999 - position:03d}{complement}~"


def check_key_value(attribute: KeyAttribute, value: Any, *, limit: int, in_item: bool) -> Value:
    """A key value from a request: typed as declared, not empty, not too long.

    ``in_item`` picks the messages of an item (PutItem) over those of a ``Key`` parameter.
    """
    checked = check_value(value)
    kind = type_of(checked)
    if kind != attribute.kind:
        if in_item:
            raise validation(
                "One or more parameter values were invalid: Type mismatch for key"
                f" {attribute.name} expected: {attribute.kind} actual: {kind}"
            )
        raise validation("The provided key element does not match the schema")
    if kind in ("S", "B") and not checked[kind]:
        noun = "string" if kind == "S" else "binary"
        raise validation(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain"
            f" an empty {noun} value. Key: {attribute.name}"
        )
    if value_size(checked) > limit:
        if limit == HASH_KEY_LIMIT:
            # AWS's message has no space between "of" and the number.
            raise validation(
                f"One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of{HASH_KEY_LIMIT} bytes"
            )
        raise validation(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size"
            f" limit of {RANGE_KEY_LIMIT} bytes"
        )
    return checked


def key_of(item: Mapping[str, Value], attributes: tuple[KeyAttribute, ...]) -> dict[str, Value]:
    """The key attributes of a (checked) item."""
    return {a.name: item[a.name] for a in attributes}
