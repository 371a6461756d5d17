"""Handlers for the dead-letter queue tests; they run in this process (thread-mode invoker)."""

from __future__ import annotations

from typing import Any

CALLS: list[dict[str, Any]] = []
"""Every event a handler here received, in order."""


def reset() -> None:
    CALLS.clear()


def fail(event: dict[str, Any], context: Any) -> None:
    CALLS.append(event)
    raise ValueError(event.get("why", "order 7 cannot be shipped"))


def succeed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(event)
    return {"ok": True}
