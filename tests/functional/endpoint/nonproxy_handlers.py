"""A handler behind the non-proxy integration tests: it sees the request template's output, not an API event."""

from __future__ import annotations

from typing import Any


def echo(event: Any, context: Any) -> Any:
    """Returns ``{"got": event}``; raises with ``event["fail"]`` as the message when it is given."""
    if isinstance(event, dict) and "fail" in event:
        raise ValueError(event["fail"])
    return {"got": event}


def tenant(event: Any, context: Any) -> Any:
    """Returns the tenant the invocation ran for (``context.tenant_id``)."""
    return {"tenant": context.tenant_id}
