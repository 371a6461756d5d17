"""A handler behind the non-proxy integration tests: it sees the request template's output, not an API event."""

from __future__ import annotations

from typing import Any


class InvalidParameterValueException(Exception):
    """Named as botocore names Lambda's error of that code: what a handler's uncaught AWS call raises."""


def echo(event: Any, context: Any) -> Any:
    """Returns ``{"got": event}``; raises with ``event["fail"]`` as the message when it is given (an
    ``InvalidParameterValueException`` for a message after ``aws:``)."""
    if isinstance(event, dict) and "fail" in event:
        message = str(event["fail"])
        if message.startswith("aws:"):
            raise InvalidParameterValueException(message.removeprefix("aws:"))
        raise ValueError(message)
    return {"got": event}


def tenant(event: Any, context: Any) -> Any:
    """Returns the tenant the invocation ran for (``context.tenant_id``)."""
    return {"tenant": context.tenant_id}
