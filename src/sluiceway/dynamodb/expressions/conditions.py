"""Whether an item satisfies a condition (ConditionExpression, FilterExpression), as DynamoDB decides.

A missing item has no attributes. A comparison with a missing attribute is false,
except ``<>``, which is true; values of different types are never equal and
never ordered. Functions follow the developer guide: ``contains`` is a substring
test on strings and binaries and a membership test on sets and lists;
``begins_with`` works on strings and binaries; ``size`` counts a string's bytes in
UTF-8, a binary's bytes, and the members of a set, list or map.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ..values import Value, compare, equal, number_text, type_of
from .documents import lookup
from .nodes import And, Arithmetic, Between, Call, Comparison, Condition, In, Literal, Not, Operand, Or, Path

__all__ = ["holds", "operand_value"]


def holds(condition: Condition, item: Mapping[str, Value] | None) -> bool:
    """Whether ``item`` (None: no item) satisfies the resolved ``condition``."""
    if isinstance(condition, And):
        return holds(condition.left, item) and holds(condition.right, item)
    if isinstance(condition, Or):
        return holds(condition.left, item) or holds(condition.right, item)
    if isinstance(condition, Not):
        return not holds(condition.operand, item)
    if isinstance(condition, Comparison):
        return _compare(condition.operator, operand_value(condition.left, item), operand_value(condition.right, item))
    if isinstance(condition, Between):
        subject = operand_value(condition.subject, item)
        low, high = operand_value(condition.low, item), operand_value(condition.high, item)
        if subject is None or low is None or high is None:
            return False
        above, below = compare(subject, low), compare(subject, high)
        return above is not None and below is not None and above >= 0 and below <= 0
    if isinstance(condition, In):
        subject = operand_value(condition.subject, item)
        if subject is None:
            return False
        return any((candidate := operand_value(c, item)) is not None and equal(subject, candidate) for c in condition.candidates)
    return _function(condition, item)


def _compare(operator: str, left: Value | None, right: Value | None) -> bool:
    if operator == "<>":
        return left is None or right is None or not equal(left, right)
    if left is None or right is None:
        return False
    if operator == "=":
        return equal(left, right)
    order = compare(left, right)
    if order is None:
        return False
    return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[operator]


def operand_value(operand: Operand, item: Mapping[str, Value] | None) -> Value | None:
    """A condition operand's value for ``item`` (None: the attribute is missing or ``size`` has no answer)."""
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Path):
        return lookup(item, operand)
    if isinstance(operand, Call) and operand.function == "size":
        value = operand_value(operand.arguments[0], item)
        size = None if value is None else _size(value)
        return None if size is None else {"N": number_text(Decimal(size))}
    if isinstance(operand, Arithmetic):  # refused by the parser in conditions
        return None
    return None


def _size(value: Value) -> int | None:
    kind = type_of(value)
    raw = value[kind]
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind in ("B", "SS", "NS", "BS", "L", "M"):
        return len(raw)
    return None


def _function(call: Call, item: Mapping[str, Value] | None) -> bool:
    name = call.function
    first = operand_value(call.arguments[0], item)
    if name == "attribute_exists":
        return first is not None
    if name == "attribute_not_exists":
        return first is None
    second = operand_value(call.arguments[1], item)
    if first is None or second is None:
        return False
    if name == "attribute_type":
        return type_of(first) == second.get("S")
    if name == "begins_with":
        kind = type_of(first)
        if kind != type_of(second) or kind not in ("S", "B"):
            return False
        return bool(first[kind].startswith(second[kind]))
    if name == "contains":
        return _contains(first, second)
    return False


def _contains(container: Value, member: Value) -> bool:
    kind = type_of(container)
    if kind in ("S", "B"):
        return type_of(member) == kind and member[kind] in container[kind]
    if kind in ("SS", "NS", "BS"):
        element = kind[0]
        return type_of(member) == element and any(equal({element: m}, member) for m in container[kind])
    if kind == "L":
        return any(equal(element, member) for element in container["L"])
    return False
