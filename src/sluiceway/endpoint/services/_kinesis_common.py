"""What the Kinesis operations share: the registry, the store, stream lookup and AWS's errors."""

from __future__ import annotations

from typing import Any, Final

from ...backends.local.kinesis import KinesisStream, SqliteKinesis
from ..context import Context, Operations
from ..errors import AwsError
from ..protocol.constraints import check_constraints

__all__ = [
    "OPERATIONS",
    "invalid",
    "kinesis",
    "must_stream",
    "not_found",
    "stream_name",
]

OPERATIONS: Final = Operations("kinesis")

MIN_RETENTION_HOURS: Final = 24
MAX_RETENTION_HOURS: Final = 8760
"""365 days: the longest retention Kinesis keeps records for."""


def kinesis(ctx: Context) -> SqliteKinesis:
    """The stack's streams (a stack built without them gets a store on the same database)."""
    store = ctx.stack.kinesis
    if store is not None:
        return store
    local = ctx.stack.local
    return ctx.shared.get(
        "kinesis",
        lambda: SqliteKinesis(local.db, local.clock, region=ctx.stack.settings.region, account_id=ctx.account_id),
    )


def invalid(message: str) -> AwsError:
    return AwsError("InvalidArgumentException", message)


def not_found(ctx: Context, name: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Stream {name} under account {ctx.account_id} not found.")


def checked(ctx: Context, params: dict[str, Any]) -> None:
    """Kinesis checks the model's constraints (lengths, patterns, ranges) before anything else."""
    check_constraints("kinesis", ctx.operation, params)


def stream_name(ctx: Context, params: dict[str, Any]) -> str:
    """The stream a request names, by StreamName or StreamARN.

    Raises:
        AwsError: neither is given (InvalidArgumentException; AWS's exact text unconfirmed).
    """
    checked(ctx, params)
    name = params.get("StreamName")
    if name:
        return str(name)
    arn = params.get("StreamARN")
    if arn:
        found = kinesis(ctx).name_of(str(arn))
        if found is None:
            raise not_found(ctx, str(arn))
        return found
    raise AwsError("ValidationException", "Either StreamName or StreamARN should be provided.")


def must_stream(ctx: Context, params: dict[str, Any]) -> KinesisStream:
    """The stream a request names; ResourceNotFoundException if there is none."""
    name = stream_name(ctx, params)
    stream = kinesis(ctx).describe(name)
    if stream is None:
        raise not_found(ctx, name)
    return stream
