"""Values as the history and error causes show them: compact JSON, Java's numbers, AWS's limits' words."""

from __future__ import annotations

import json
import math
from datetime import datetime

from .. import jsonpath
from ..types import JSON
from . import limits

__all__ = ["iso", "number_text", "size", "text", "too_deep_cause", "too_large_cause"]


def text(value: JSON) -> str:
    """Compact JSON, as history events and messages carry values."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def number_text(value: JSON) -> str:
    """A value in an error cause: numbers as Java prints them (``1.0E300``), the rest as JSON."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return jsonpath.java_text(value)
    return text(value)


def size(value: JSON) -> int:
    return len(text(value).encode("utf-8"))


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def too_deep_cause(what: str) -> str:
    return f"{what} is nested more than {limits.MAX_NESTING_DEPTH} levels deep, which exceeds the maximum nesting depth"


def too_large_cause(state_name: str) -> str:
    return f"The state/task '{state_name}' returned a result with a size exceeding the maximum number of bytes service limit."
