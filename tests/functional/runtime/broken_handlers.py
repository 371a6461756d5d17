"""A handler module whose import fails, as a module-level setting gone wrong would."""

from __future__ import annotations

from typing import Any

raise RuntimeError("cannot start: no settings")


def handler(event: Any, context: Any) -> None:  # pragma: no cover - never reached
    return None
