"""Step Functions' service limits, and the checks the engine makes at its boundaries.

A definition or an input must never crash or hang the engine: what AWS refuses is refused
here with AWS's error, and what AWS does not document is bounded so that the engine's own
recursive code (paths, payload templates, JSON encoding, JSONata) stays far from Python's
recursion limit.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "HISTORY_LIMIT_CAUSE",
    "MAX_DEFINITION_CHARS",
    "MAX_HISTORY_EVENTS",
    "MAX_NESTING_DEPTH",
    "MAX_TIMER_SECONDS",
    "definition_problem",
    "later",
    "load_json",
    "too_deep",
]

MAX_HISTORY_EVENTS: Final = 25_000
"""AWS's hard quota on events in one execution's history (see :data:`HISTORY_LIMIT_CAUSE`)."""

HISTORY_LIMIT_CAUSE: Final = "The execution reached the maximum number of history events (25000)."
"""AWS's cause (error ``States.Runtime``) when an execution's 25,000th event would not be
ExecutionSucceeded: the docs' "Avoid reaching the history quota" page describes the rule, and
executions failed this way report this exact cause with ExecutionFailed as event 25,000."""

MAX_DEFINITION_CHARS: Final = 1_048_576
"""CreateStateMachine's ``definition`` is at most 1,048,576 characters (the 1 MB quota)."""

MAX_NESTING_DEPTH: Final = 200
"""The deepest nesting of arrays and objects accepted in a definition or in execution data.

AWS documents no nesting limit (its JVM JSON parser, Jackson, stops at 1000 levels by default).
The engine walks JSON recursively, as Python's ``json`` module and jsonata-python do, up to
three frames a level; 200 levels keep every walk within Python's default recursion limit of
1000, whatever else is on the stack, and no real payload comes near it. (jsonata-python raises
the limit to 10000 when imported, but test runners lower it again: nothing may depend on it.)
"""

MAX_TIMER_SECONDS: Final = 99_999_999
"""The longest wait, task timeout or heartbeat AWS accepts, in seconds: a Wait's ``Seconds`` is
"from 0 up to 99999999", and 99999999 is a Task's default ``TimeoutSeconds``."""


def too_deep(value: Any, limit: int = MAX_NESTING_DEPTH) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` levels deep.

    Iterative, so that it can look at any value, however deep, without recursing.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


def definition_problem(doc: Any) -> str | None:
    """Why a definition object cannot be a state machine at all, or None.

    Checked before anything walks the definition: nesting beyond :data:`MAX_NESTING_DEPTH`,
    numbers JSON cannot hold (NaN, Infinity), and more than :data:`MAX_DEFINITION_CHARS`
    characters as compact JSON.
    """
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return f"The definition is not valid JSON: {item!r} is not a JSON number"
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > MAX_NESTING_DEPTH:
            return f"The definition is nested more than {MAX_NESTING_DEPTH} levels deep"
        stack.extend((child, depth + 1) for child in children)
    try:
        size = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        return f"The definition is not valid JSON: {exc}"
    if size > MAX_DEFINITION_CHARS:
        return f"The definition is {size} characters long; at most {MAX_DEFINITION_CHARS} are allowed"
    return None


def load_json(text: str, **options: Any) -> Any:
    """``json.loads`` that reports text nested too deeply for it as a ``ValueError``.

    The standard library's decoder recurses once per level; past the interpreter's recursion
    limit it raises RecursionError, which this turns into the ValueError every caller already
    handles as "not valid JSON".
    """
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise ValueError("the JSON text is nested too deeply") from None


_LAST_MOMENT: Final = datetime.max.replace(tzinfo=UTC)


def later(now: datetime, seconds: float) -> datetime:
    """``now`` plus ``seconds``, or the last representable moment when that is past the calendar.

    A timer that far out never fires in practice (AWS ends every execution within a year), but
    computing it must not fail: a Wait until 9999-12-31 followed by any other timer would.
    """
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:
        return _LAST_MOMENT if now.tzinfo is not None else datetime.max
