"""PartiQL's conditions, paths and values written as DynamoDB expressions with placeholders.

A statement becomes a native request (Query, PutItem, UpdateItem...) whose expressions
name every attribute through ``#n<i>`` and every value through ``:v<i>``, so any
attribute name (a reserved word, a name with a space) and any value passes through the
expression language unchanged, and the engine checks and evaluates it as it does the
native calls'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import validation
from .nodes import (
    And,
    Arithmetic,
    Between,
    Call,
    Comparison,
    Condition,
    Constant,
    In,
    ListValue,
    MapValue,
    Missing,
    Not,
    Null,
    Operand,
    Or,
    Parameter,
    Path,
    Value,
)

__all__ = ["Placeholders", "bind"]

_SET_TYPES = {"S": "SS", "N": "NS", "B": "BS"}


def bind(value: Value, parameters: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``value`` as an AttributeValue, its ``?`` taken from ``parameters`` in order."""
    if isinstance(value, Parameter):
        return dict(parameters[value.position])
    if isinstance(value, Constant):
        return dict(value.value)
    if isinstance(value, MapValue):
        return {"M": {key: bind(member, parameters) for key, member in value.entries}}
    if isinstance(value, ListValue):
        return {"L": [bind(member, parameters) for member in value.members]}
    members = [bind(member, parameters) for member in value.members]
    # Parameters are checked AttributeValues (one type each) before they are bound.
    kinds = {next(iter(m), "") for m in members}
    if len(kinds) != 1 or next(iter(kinds)) not in _SET_TYPES:
        # A set holds strings, numbers or binaries, all of one type, and at least one.
        raise validation("One or more parameter values were invalid: Set values must be of the same scalar type (S, N or B)")
    kind = next(iter(kinds))
    return {_SET_TYPES[kind]: [m[kind] for m in members]}


class Placeholders:
    """The ``ExpressionAttributeNames`` and ``ExpressionAttributeValues`` of one native request."""

    def __init__(self, parameters: Sequence[dict[str, Any]]) -> None:
        self.parameters = parameters
        self.names: dict[str, str] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self._by_name: dict[str, str] = {}

    def name(self, attribute: str) -> str:
        placeholder = self._by_name.get(attribute)
        if placeholder is None:
            placeholder = self._by_name[attribute] = f"#n{len(self._by_name)}"
            self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Value | dict[str, Any]) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value if isinstance(value, dict) else bind(value, self.parameters)
        return placeholder

    def add_to(self, request: dict[str, Any]) -> dict[str, Any]:
        """``request`` with the placeholders used so far (none: the members are left out, as DynamoDB wants)."""
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = dict(self.values)
        return request

    # -- writing expressions ------------------------------------------------------------

    def path(self, path: Path) -> str:
        text = ""
        for element in path.elements:
            if isinstance(element, int):
                text += f"[{element}]"
            else:
                text += ("." if text else "") + self.name(element)
        return text

    def operand(self, operand: Operand) -> str:
        if isinstance(operand, Path):
            return self.path(operand)
        if isinstance(operand, Call):
            return f"{operand.function}({', '.join(self.operand(a) for a in operand.arguments)})"
        if isinstance(operand, Arithmetic):
            return f"{self.operand(operand.left)} {operand.operator} {self.operand(operand.right)}"
        return self.value(operand)

    def condition(self, condition: Condition) -> str:
        """The condition as expression text, parenthesised only where precedence needs it.

        DynamoDB refuses a group that holds nothing but another group, so no more
        parentheses are written than the tree needs.
        """
        if isinstance(condition, Or):
            return " OR ".join(self.condition(term) for term in condition.terms)
        if isinstance(condition, And):
            return " AND ".join(self.grouped(term, Or) for term in condition.terms)
        if isinstance(condition, Not):
            return f"NOT {self.grouped(condition.operand, Or | And)}"
        if isinstance(condition, Comparison):
            return f"{self.operand(condition.left)} {condition.operator} {self.operand(condition.right)}"
        if isinstance(condition, Between):
            subject = self.operand(condition.subject)
            return f"{subject} BETWEEN {self.operand(condition.low)} AND {self.operand(condition.high)}"
        if isinstance(condition, In):
            return f"{self.operand(condition.subject)} IN ({', '.join(self.operand(c) for c in condition.candidates)})"
        if isinstance(condition, Missing):
            function = "attribute_exists" if condition.negated else "attribute_not_exists"
            return f"{function}({self.path(condition.path)})"
        if isinstance(condition, Null):
            # PartiQL's IS NULL holds for an attribute that is NULL or that is missing (the
            # ql-operators reference: IS tests "a given PartiQL data type, including NULL or
            # MISSING"). Written as one group, so that it binds as one predicate wherever it is.
            path = self.path(condition.path)
            null = self.value({"S": "NULL"})
            if condition.negated:
                return f"(attribute_exists({path}) AND NOT attribute_type({path}, {null}))"
            return f"(attribute_not_exists({path}) OR attribute_type({path}, {null}))"
        return self.operand(condition)

    def grouped(self, condition: Condition, looser: Any) -> str:
        """The condition's text, in parentheses when it is a ``looser`` node (one that binds less tightly)."""
        text = self.condition(condition)
        return f"({text})" if isinstance(condition, looser) else text
