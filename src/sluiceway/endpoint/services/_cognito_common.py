"""What the ``cognito-idp`` operations share: their registry, the one mapping of Cognito's errors
to AWS's error shape, the store, and AWS's pagination and limits."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ...cognito.errors import CognitoError
from ..context import Context, Handler, Operations
from ..errors import AwsError

if TYPE_CHECKING:
    from ...backends.local.userpools import SqliteUserPools

__all__ = ["OPERATIONS", "operation", "page", "pools"]

OPERATIONS = Operations("cognito-idp")

T = TypeVar("T")


def pools(ctx: Context) -> SqliteUserPools:
    return ctx.stack.local.user_pools


def operation(name: str) -> Callable[[Handler], Handler]:
    """Register a ``cognito-idp`` operation whose CognitoErrors answer as Cognito's (400, its code and message)."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            try:
                return handler(ctx, params)
            except CognitoError as error:
                status = 500 if error.code == "InternalErrorException" else 400
                raise AwsError(error.code, error.message, status, sender_fault=status < 500) from None

        return OPERATIONS(name)(run)

    return register


def page(
    items: Sequence[T],
    key: Callable[[T], str],
    params: dict[str, Any],
    *,
    limit_name: str,
    token_name: str,
    maximum: int,
    default: int | None = None,
) -> tuple[list[T], str | None]:
    """One page of ``items`` (ordered by ``key``) and the token of the next, as AWS pages them.

    A limit above ``maximum`` is refused with Cognito's validation message; a limit of 0 (allowed
    by some) or none means ``default`` (the maximum, unless given).
    """
    limit = params.get(limit_name)
    if limit is not None and not 0 <= int(limit) <= maximum:
        bound = f"less than or equal to {maximum}" if int(limit) > maximum else "greater than or equal to 0"
        field = limit_name[0].lower() + limit_name[1:]
        raise AwsError(
            "InvalidParameterException",
            f"1 validation error detected: Value '{limit}' at '{field}' failed to satisfy constraint: Member must have value {bound}",
        )
    size = int(limit) if limit else (default or maximum)
    rest = list(items)
    token = params.get(token_name)
    if token:
        try:
            after = str(json.loads(base64.b64decode(token, validate=True))["after"])
        except (ValueError, KeyError, TypeError):
            raise AwsError("InvalidParameterException", f"Invalid {token_name}.") from None
        rest = [item for item in rest if key(item) > after]
    if len(rest) <= size:
        return rest, None
    shown = rest[:size]
    return shown, base64.b64encode(json.dumps({"after": key(shown[-1])}).encode()).decode()
