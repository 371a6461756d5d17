"""A Query's KeyConditionExpression, reduced to a partition value and a sort key range.

DynamoDB accepts ``pk = :v``, optionally ``AND`` one condition on the sort key
(``=``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN``, ``begins_with``); anything else is
refused with its own messages, reproduced here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DynamoDbError, validation
from ..keys import KeyAttribute
from ..values import Value, type_of
from .nodes import And, Between, Call, Comparison, Condition, In, Literal, Name, Not, Or, Path

__all__ = ["KeyRange", "key_range"]


@dataclass(frozen=True)
class KeyRange:
    """One partition, and which of its sort keys."""

    partition: Value
    operator: str | None = None
    """None (the whole partition), ``=``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN`` or ``begins_with``."""
    low: Value | None = None
    high: Value | None = None
    """The upper bound of BETWEEN."""


def _flatten(condition: Condition) -> list[Condition]:
    if isinstance(condition, And):
        return _flatten(condition.left) + _flatten(condition.right)
    return [condition]


def _invalid_operator(name: str) -> DynamoDbError:
    return validation(f"Invalid operator used in KeyConditionExpression: {name}")


def _attribute(operand: object) -> str | None:
    if isinstance(operand, Path) and len(operand.elements) == 1 and isinstance(operand.elements[0], Name):
        return operand.elements[0].text
    return None


def key_range(condition: Condition, hash_key: KeyAttribute, range_key: KeyAttribute | None) -> KeyRange:
    """The partition and sort range a key condition selects, for a table's or an index's key.

    Raises:
        DynamoDbError: a condition DynamoDB does not accept as a key condition.
    """
    parts = _flatten(condition)
    for part in parts:
        if isinstance(part, Or):
            raise _invalid_operator("OR")
        if isinstance(part, Not):
            raise _invalid_operator("NOT")
        if isinstance(part, In):
            raise _invalid_operator("IN")
        if isinstance(part, Comparison) and part.operator == "<>":
            raise _invalid_operator("<>")
        if isinstance(part, Call) and part.function != "begins_with":
            raise _invalid_operator(part.function)
    if len(parts) > 2:
        raise validation("Conditions can be of length 1 or 2 only")
    partition: Value | None = None
    sort: tuple[str, Value, Value | None] | None = None
    strangers: list[str | None] = []
    for part in parts:
        name, operator, low, high = _parse_part(part)
        if name == hash_key.name and partition is None and operator == "=":
            partition = _typed(low, hash_key, filled=True)
        elif range_key is not None and name == range_key.name and sort is None:
            # begins_with's operand is S or B by now (the expression's and the legacy parameters' own checks
            # refuse others); a prefix of another type than the key's is a mismatch like any other.
            filled = operator != "begins_with"
            sort = (operator, _typed(low, range_key, filled=filled), None if high is None else _typed(high, range_key, filled=True))
        elif name == hash_key.name or (range_key is not None and name == range_key.name):
            raise validation("Query key condition not supported")
        else:
            strangers.append(name)
    # An attribute outside the key: the partition key is named first when it is missing too.
    if partition is None:
        raise validation(f"Query condition missed key schema element: {hash_key.name}")
    if strangers:
        raise validation(f"Query condition missed key schema element: {range_key.name if range_key else hash_key.name}")
    if sort is None:
        return KeyRange(partition)
    return KeyRange(partition, sort[0], sort[1], sort[2])


def _parse_part(part: Condition) -> tuple[str | None, str, Value, Value | None]:
    if isinstance(part, Comparison):
        left, right = part.left, part.right
        operator = part.operator
        if _attribute(left) is not None and _attribute(right) is not None:
            raise validation("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
        if _attribute(left) is None and _attribute(right) is not None:
            # ":v < sk" means "sk > :v".
            left, right = right, left
            operator = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(operator, operator)
        if not isinstance(right, Literal) or _attribute(left) is None:
            raise validation("Query key condition not supported")
        return _attribute(left), operator, right.value, None
    if isinstance(part, Between):
        if _attribute(part.subject) is None or not isinstance(part.low, Literal) or not isinstance(part.high, Literal):
            raise validation("Query key condition not supported")
        return _attribute(part.subject), "BETWEEN", part.low.value, part.high.value
    assert isinstance(part, Call)
    subject, prefix = part.arguments
    if _attribute(subject) is None or not isinstance(prefix, Literal):
        raise validation("Query key condition not supported")
    return _attribute(subject), "begins_with", prefix.value, None


def _typed(value: Value, attribute: KeyAttribute, *, filled: bool) -> Value:
    kind = type_of(value)
    if kind != attribute.kind:
        raise validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
    if filled and kind in ("S", "B") and not value[kind]:
        # No key holds an empty string or binary, so DynamoDB refuses to look for one (a prefix may be empty).
        noun = "string" if kind == "S" else "binary"
        raise validation(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain"
            f" an empty {noun} value. Key: {attribute.name}"
        )
    return value
