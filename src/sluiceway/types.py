"""Type aliases shared across layers."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["JSON", "EventDict", "json_type"]

JSON: TypeAlias = Any
"""Any JSON value: dict, list, str, int, float, bool or None."""

EventDict: TypeAlias = dict[str, Any]
"""A Lambda-style event: a JSON object."""


def json_type(value: JSON) -> str:
    """The JSON type of a value, as AWS names it in errors: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
