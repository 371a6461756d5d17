"""The parameters from before expressions, translated into expression trees.

``Expected`` with ``ConditionalOperator``, ``QueryFilter``/``ScanFilter``, ``KeyConditions``
and ``AttributeUpdates`` are what older programs and libraries still send, and DynamoDB
still serves them. Each becomes the resolved tree its expression would give (a
``ComparisonOperator`` of ``EQ`` is ``attr = :v``, ``NOT_NULL`` is ``attribute_exists(attr)``,
an ``ADD`` action is ``ADD attr :v``...), so that one evaluator decides both. The checks
and messages are DynamoDB's own for these parameters, which differ from the expression ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import DynamoDbError, validation
from ..keys import KeyAttribute
from ..values import TYPES, Value, check_value, compare, type_of
from .nodes import And, Between, Call, Comparison, Condition, In, Literal, Name, Not, Or, Path, SetAction, Update, UpdateAction

__all__ = [
    "attribute_updates",
    "check_joined",
    "check_key_types",
    "check_query_filter",
    "conditional_operator",
    "expected_condition",
    "filter_condition",
    "key_conditions",
]

_INVALID = "One or more parameter values were invalid: "

#: How many values each ComparisonOperator takes (None: one or more) and of which types;
#: EQ and NE compare values of every type, maps and lists included (as the API reference says).
_ARGUMENTS: dict[str, tuple[int | None, tuple[str, ...]]] = {
    "EQ": (1, TYPES),
    "NE": (1, TYPES),
    "LE": (1, ("S", "N", "B")),
    "LT": (1, ("S", "N", "B")),
    "GE": (1, ("S", "N", "B")),
    "GT": (1, ("S", "N", "B")),
    "CONTAINS": (1, ("S", "N", "B")),
    "NOT_CONTAINS": (1, ("S", "N", "B")),
    "BEGINS_WITH": (1, ("S", "B")),
    "IN": (None, ("S", "N", "B")),
    "BETWEEN": (2, ("S", "N", "B")),
    "NULL": (0, ()),
    "NOT_NULL": (0, ()),
}
_COMPARISONS = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_KEY_OPERATORS = ("EQ", "LE", "LT", "GE", "GT", "BEGINS_WITH", "BETWEEN")
_SETS = ("SS", "NS", "BS")


def _path(attribute: str) -> Path:
    return Path((Name(attribute),))


def _literal(value: Value, attribute: str) -> Literal:
    return Literal(value, attribute)


def conditional_operator(operator: Any) -> str:
    """``ConditionalOperator``'s value, ``AND`` when absent.

    Raises:
        DynamoDbError: a value other than AND and OR.
    """
    if operator is None:
        return "AND"
    if operator not in ("AND", "OR"):
        # DynamoDB lists the values in this order.
        raise validation(
            f"1 validation error detected: Value '{operator}' at 'conditionalOperator' failed to satisfy constraint:"
            " Member must satisfy enum value set: [OR, AND]"
        )
    return str(operator)


def check_joined(conditions: Mapping[str, Any] | None) -> None:
    """Refuse a ``ConditionalOperator`` given with fewer than two conditions (``Expected`` or filter) to join.

    Raises:
        DynamoDbError: no conditions, or only one.
    """
    if not conditions:
        raise validation("ConditionalOperator cannot be used without Filter or Expected")
    if len(conditions) == 1:
        raise validation("ConditionalOperator can only be used when Filter or Expected has two or more elements")


def _join(parts: Sequence[Condition], operator: str) -> Condition | None:
    combined: Condition | None = None
    for part in parts:
        if combined is None:
            combined = part
        elif operator == "OR":
            combined = Or(combined, part)
        else:
            combined = And(combined, part)
    return combined


def _checked(value: Any) -> Value:
    try:
        return check_value(value)
    except DynamoDbError as exc:
        raise validation(exc.message) from None


def _comparison(attribute: str, operator: Any, values: Sequence[Any], *, expected: bool) -> Condition:
    """One ``ComparisonOperator`` with its ``AttributeValueList`` as a condition (checked as DynamoDB does)."""
    if operator not in _ARGUMENTS:
        where = "expected" if expected else "conditions"
        raise validation(
            f"1 validation error detected: Value '{operator}' at '{where}.{attribute}.member.comparisonOperator' failed to"
            " satisfy constraint: Member must satisfy enum value set:"
            " [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
        )
    checked = [_checked(v) for v in values]
    count, types = _ARGUMENTS[operator]
    if (count is None and not checked) or (count is not None and len(checked) != count):
        raise validation(f"{_INVALID}Invalid number of argument(s) for the {operator} ComparisonOperator")
    kinds = [type_of(v) for v in checked]
    if len(set(kinds)) > 1:
        raise validation(f"{_INVALID}AttributeValues inside AttributeValueList must be of same type")
    for kind in kinds:
        if kind not in types:
            raise validation(f"{_INVALID}ComparisonOperator {operator} is not valid for {kind} AttributeValue type")
    if operator == "BETWEEN":
        order = compare(checked[0], checked[1])
        if order is not None and order > 0:
            raise validation("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
    path = _path(attribute)
    literals = [_literal(v, attribute) for v in checked]
    if operator in _COMPARISONS:
        return Comparison(_COMPARISONS[operator], path, literals[0])
    if operator == "NULL":
        return Call("attribute_not_exists", (path,))
    if operator == "NOT_NULL":
        return Call("attribute_exists", (path,))
    if operator == "CONTAINS":
        return Call("contains", (path, literals[0]))
    if operator == "NOT_CONTAINS":
        return Not(Call("contains", (path, literals[0])))
    if operator == "BEGINS_WITH":
        return Call("begins_with", (path, literals[0]))
    if operator == "IN":
        return In(path, tuple(literals))
    return Between(path, literals[0], literals[1])


def expected_condition(expected: Mapping[str, Any], operator: str = "AND") -> Condition | None:
    """``Expected`` joined by ``operator`` (see :func:`conditional_operator`) as a condition; None when it expects nothing.

    Raises:
        DynamoDbError: an entry mixing ``Exists``/``Value`` with ``ComparisonOperator``/
            ``AttributeValueList``, ``Exists`` true without a ``Value`` (or false with one),
            or values that do not suit the operator.
    """
    parts: list[Condition] = []
    for attribute, entry in expected.items():
        entry = entry or {}
        if "AttributeValueList" in entry and "Value" in entry:
            raise validation(f"{_INVALID}Value and AttributeValueList cannot be used together for Attribute: {attribute}")
        if "ComparisonOperator" in entry:
            operator_name = entry["ComparisonOperator"]
            if "Exists" in entry:
                raise validation(f"{_INVALID}Exists and ComparisonOperator cannot be used together for Attribute: {attribute}")
            values = entry.get("AttributeValueList")
            if values is None:
                values = [entry["Value"]] if "Value" in entry else []
                if not values and operator_name not in ("NULL", "NOT_NULL"):
                    raise validation(
                        f"{_INVALID}Value or AttributeValueList must be used with ComparisonOperator: {operator_name}"
                        f" for Attribute: {attribute}"
                    )
            parts.append(_comparison(attribute, operator_name, values, expected=True))
            continue
        if "AttributeValueList" in entry:
            raise validation(f"{_INVALID}AttributeValueList can only be used with a ComparisonOperator for Attribute: {attribute}")
        exists = entry.get("Exists")
        value = entry.get("Value")
        if exists is False:
            if value is not None:
                raise validation(f"{_INVALID}Value cannot be used when Exists is false for Attribute: {attribute}")
            parts.append(Call("attribute_not_exists", (_path(attribute),)))
            continue
        if value is None:
            shown = "null" if exists is None else "true"
            raise validation(f"{_INVALID}Value must be provided when Exists is {shown} for Attribute: {attribute}")
        parts.append(Comparison("=", _path(attribute), _literal(_checked(value), attribute)))
    return _join(parts, operator)


def filter_condition(conditions: Mapping[str, Any], operator: str = "AND") -> Condition | None:
    """``QueryFilter``/``ScanFilter`` joined by ``operator`` (see :func:`conditional_operator`) as a condition; None when empty."""
    parts = [
        _comparison(attribute, (c or {}).get("ComparisonOperator"), (c or {}).get("AttributeValueList") or [], expected=False)
        for attribute, c in conditions.items()
    ]
    return _join(parts, operator)


def key_conditions(conditions: Mapping[str, Any]) -> Condition:
    """``KeyConditions`` as the key condition it stands for (see :func:`~.keyconditions.key_range`)."""
    parts: list[Condition] = []
    for attribute, condition in conditions.items():
        condition = condition or {}
        operator = condition.get("ComparisonOperator")
        checked = _comparison(attribute, operator, condition.get("AttributeValueList") or [], expected=False)
        if operator not in _KEY_OPERATORS:
            raise validation("Attempted conditional constraint is not an indexable operation")
        parts.append(checked)
    if len(parts) not in (1, 2):
        raise validation("Conditions can be of length 1 or 2 only")
    joined = _join(parts, "AND")
    assert joined is not None
    return joined


def check_key_types(conditions: Mapping[str, Any], hash_key: KeyAttribute, range_key: KeyAttribute | None) -> None:
    """Refuse ``KeyConditions`` whose values are not of their key's type, partition key first.

    DynamoDB checks the types of legacy key conditions before their operators: a partition key
    compared with GT to a number is a type mismatch, not an unsupported condition, and a
    BEGINS_WITH of a string on a number key is a type mismatch too (the KeyConditionExpression
    message about begins_with's operand is not for legacy input). A missing partition key
    condition is left to :func:`~.keyconditions.key_range`, which names it.

    Raises:
        DynamoDbError: a value whose type is not its key attribute's.
    """
    for attribute in (hash_key, range_key):
        if attribute is None:
            return
        condition = conditions.get(attribute.name)
        if condition is None:
            if attribute is hash_key:
                return
            continue
        for value in (condition or {}).get("AttributeValueList") or []:
            if type_of(_checked(value)) != attribute.kind:
                raise validation(f"{_INVALID}Condition parameter type does not match schema type")


def check_query_filter(conditions: Mapping[str, Any], key: Sequence[KeyAttribute]) -> None:
    """Refuse a ``QueryFilter`` naming a key attribute of the table or index queried (its key condition says it all).

    Raises:
        DynamoDbError: the first key attribute (partition key first) the filter names.
    """
    for attribute in key:
        if attribute.name in conditions:
            raise validation(f"QueryFilter can only contain non-primary key attributes: Primary key attribute: {attribute.name}")


def attribute_updates(updates: Mapping[str, Any]) -> Update:
    """``AttributeUpdates`` as an update: PUT is SET, DELETE is REMOVE (or DELETE of set members), ADD is ADD.

    ADD also appends to a list here, which the ADD of an UpdateExpression does not.
    """
    actions: list[SetAction | UpdateAction] = []
    for attribute, update in updates.items():
        update = update or {}
        action = update.get("Action") or "PUT"
        if action not in ("PUT", "ADD", "DELETE"):
            raise validation(
                f"1 validation error detected: Value '{action}' at 'attributeUpdates.{attribute}.member.action' failed to"
                " satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
            )
        raw = update.get("Value")
        if raw is None:
            if action != "DELETE":
                raise validation(f"{_INVALID}Only DELETE action is allowed when no attribute value is specified")
            actions.append(UpdateAction("REMOVE", _path(attribute)))
            continue
        value = _checked(raw)
        kind = type_of(value)
        if action == "PUT":
            actions.append(SetAction(_path(attribute), _literal(value, attribute)))
        elif action == "DELETE":
            if kind not in _SETS:
                raise validation(f"{_INVALID}DELETE action with value is not supported for the type {kind}")
            actions.append(UpdateAction("DELETE", _path(attribute), _literal(value, attribute)))
        else:
            if kind not in ("N", "L", *_SETS):
                raise validation(f"{_INVALID}ADD action is not supported for the type {kind}")
            actions.append(UpdateAction("ADD", _path(attribute), _literal(value, attribute)))
    return Update(tuple(actions), legacy=True)
