"""CloudFormation's schema check of a resource's property types, in CloudFormation's words.

A template's value of the wrong type fails the resource before anything is made:
``Properties validation failed for resource Wire with message: #/BatchSize: expected type:
Integer, found: String``. A parameter's value is always text (a ``Ref`` to a Number parameter
gives ``"10"``), and CloudFormation converts such text as the schema asks, so ``"10"`` passes for
an Integer and ``"true"`` for a Boolean; a number passes for a String (YAML's ``Name: 12345``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import TemplateError

__all__ = ["check_types", "has_type", "type_name"]


def type_name(value: Any) -> str:
    """The schema's name for the type ``value`` has (``Integer``, ``JSONObject``...)."""
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Number"
    if isinstance(value, list):
        return "JSONArray"
    if isinstance(value, Mapping):
        return "JSONObject"
    return "String"


def has_type(value: Any, expected: str) -> bool:
    """Whether ``value`` passes for the schema type ``expected`` (with CloudFormation's conversions of text)."""
    if expected == "Integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, str) and value.strip().removeprefix("-").isdigit() and value.isascii())
    if expected == "Boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    if expected == "JSONArray":
        return isinstance(value, list)
    if expected == "JSONObject":
        return isinstance(value, Mapping)
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def check_types(logical_id: str, checks: Iterable[tuple[str, Any, str]]) -> None:
    """Raise CloudFormation's TemplateError for the first ``(where, value, expected)`` whose value is given and of another type.

    ``where`` is the property's JSON pointer as CloudFormation prints it (``#/Cors/MaxAge``).
    """
    for where, value, expected in checks:
        if value is not None and not has_type(value, expected):
            raise TemplateError(
                f"Properties validation failed for resource {logical_id} with message:"
                f" {where}: expected type: {expected}, found: {type_name(value)}"
            )
