"""Type aliases shared across layers."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["JSON", "EventDict"]

JSON: TypeAlias = Any
"""Any JSON value: dict, list, str, int, float, bool or None."""

EventDict: TypeAlias = dict[str, Any]
"""A Lambda-style event: a JSON object."""
