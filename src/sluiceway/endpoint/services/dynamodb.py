"""Amazon DynamoDB (json protocol) on the local DynamoDB engine of the data dir.

Each operation hands its request members to :class:`~sluiceway.backends.local.dynamodb.LocalDynamoDb`
and returns its answer; the engine's refusals become AWS's error responses here,
with the members AWS adds to some of them (``Item`` of a failed condition when
asked for, ``CancellationReasons`` of a cancelled transaction). The pipeline's
metadata table is one of the engine's tables, so these operations read and
write what the runs do. The PartiQL operations (ExecuteStatement, BatchExecuteStatement,
ExecuteTransaction) are in ``_dynamodb_partiql``, over the same engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ...backends.local.dynamodb import LocalDynamoDb
from ...dynamodb.errors import DynamoDbError
from ..context import Context, Operations
from ..errors import AwsError
from ._dynamodb_partiql import register as register_partiql

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("dynamodb")


def _engine(ctx: Context) -> LocalDynamoDb:
    settings = ctx.stack.settings
    return ctx.shared.get(
        "dynamodb.engine",
        lambda: LocalDynamoDb(ctx.stack.local.db, ctx.stack.local.clock, region=settings.region, account_id=settings.account_id),
    )


def _aws_error(error: DynamoDbError, operation: str) -> AwsError:
    fields: dict[str, Any] = {}
    if error.item is not None:
        fields["Item"] = error.item
    if error.reasons:
        fields["CancellationReasons"] = [reason.to_wire() for reason in error.reasons]
    return AwsError(error.code, error.message_for(operation), 400, fields=fields)


def _serve(operation: str, method: Callable[[LocalDynamoDb], Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    def handler(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return method(_engine(ctx))(params)
        except DynamoDbError as exc:
            raise _aws_error(exc, operation) from None

    handler.__name__ = handler.__qualname__ = operation
    OPERATIONS(operation)(handler)


for _operation, _method in {
    "CreateTable": lambda e: e.create_table,
    "DescribeTable": lambda e: e.describe_table,
    "ListTables": lambda e: e.list_tables,
    "DeleteTable": lambda e: e.delete_table,
    "UpdateTable": lambda e: e.update_table,
    "DescribeTimeToLive": lambda e: e.describe_time_to_live,
    "UpdateTimeToLive": lambda e: e.update_time_to_live,
    "TagResource": lambda e: e.tag_resource,
    "UntagResource": lambda e: e.untag_resource,
    "ListTagsOfResource": lambda e: e.list_tags_of_resource,
    "DescribeContinuousBackups": lambda e: e.describe_continuous_backups,
    "UpdateContinuousBackups": lambda e: e.update_continuous_backups,
    "DescribeLimits": lambda e: e.describe_limits,
    "PutItem": lambda e: e.put_item,
    "GetItem": lambda e: e.get_item,
    "UpdateItem": lambda e: e.update_item,
    "DeleteItem": lambda e: e.delete_item,
    "Query": lambda e: e.query,
    "Scan": lambda e: e.scan,
    "BatchGetItem": lambda e: e.batch_get_item,
    "BatchWriteItem": lambda e: e.batch_write_item,
    "TransactGetItems": lambda e: e.transact_get_items,
    "TransactWriteItems": lambda e: e.transact_write_items,
}.items():
    _serve(_operation, _method)

register_partiql(OPERATIONS, _engine, _aws_error)


@OPERATIONS("DescribeEndpoints")
def describe_endpoints(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """This endpoint's address, for clients that discover endpoints (AWS answers its regional host, cached a day)."""
    return {"Endpoints": [{"Address": urlsplit(ctx.endpoint_url).netloc, "CachePeriodInMinutes": 1440}]}
