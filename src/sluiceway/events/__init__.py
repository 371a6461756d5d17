"""EventBridge-compatible events: the pattern language and matching rules against events."""

from __future__ import annotations

__all__: list[str] = []
