"""What the CloudWatch Logs operations share: their table, the log store, names, limits, tokens and errors."""

from __future__ import annotations

import base64
import re

from ...backends.local.logs import SqliteLogStore
from ..context import Context, Operations
from ..errors import AwsError

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("logs")

_MAX_NAME = 512
_TOO_LONG = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
"""AWS's words for a group or stream name over 512 characters (not the model's length constraint)."""
_GROUP_NAME = re.compile(r"^[.\-_/#A-Za-z0-9]+$")


def _store(ctx: Context) -> SqliteLogStore:
    """The stack's log store (where the invoker writes functions' logs)."""
    store = getattr(ctx.stack.local, "logs", None) or ctx.stack.invoker.logs
    if not isinstance(store, SqliteLogStore):
        raise AwsError("ServiceUnavailableException", "The log store of this stack is not set up", 503, sender_fault=False)
    return store


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def _no_group() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log group does not exist.")


def _group_name(name: str) -> str:
    if len(name) > _MAX_NAME:
        raise _invalid(_TOO_LONG)
    if not _GROUP_NAME.match(name):
        raise _invalid(
            f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint:"
            r" Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+"
        )
    return name


def _limit(value: int | None, default: int, most: int) -> int:
    if value is None:
        return default
    if not 1 <= value <= most:
        raise _invalid(
            f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint:"
            f" Member must have value less than or equal to {most}"
        )
    return value


def _encode(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).decode()


def _decode(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise _invalid("The specified nextToken is invalid.") from None
