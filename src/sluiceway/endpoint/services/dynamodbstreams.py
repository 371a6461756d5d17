"""Amazon DynamoDB Streams (json protocol) on the streams of the data dir's tables.

ListStreams, DescribeStream, GetShardIterator and GetRecords read what the DynamoDB
engine writes with every item change (:mod:`sluiceway.backends.local.dynamodb.streams`).
Each stream is one shard locally (see there why that loses nothing a reader relies on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...backends.local.dynamodb.stream_reads import StreamReader
from ...backends.local.dynamodb.streams import StreamLog
from ...dynamodb.errors import DynamoDbError
from ..context import Context, Operations
from ..errors import AwsError

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("dynamodbstreams")


def _reader(ctx: Context) -> StreamReader:
    settings = ctx.stack.settings
    local = ctx.stack.local

    def build() -> StreamReader:
        log = StreamLog(local.db, local.clock, region=settings.region, account_id=settings.account_id)
        return StreamReader(log, local.clock, region=settings.region)

    return ctx.shared.get("dynamodbstreams.reader", build)


def _serve(operation: str, method: Callable[[StreamReader], Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    def handler(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return method(_reader(ctx))(params)
        except DynamoDbError as exc:
            raise AwsError(exc.code, exc.message, 400) from None

    handler.__name__ = handler.__qualname__ = operation
    OPERATIONS(operation)(handler)


for _operation, _method in {
    "ListStreams": lambda r: r.list_streams,
    "DescribeStream": lambda r: r.describe_stream,
    "GetShardIterator": lambda r: r.get_shard_iterator,
    "GetRecords": lambda r: r.get_records,
}.items():
    _serve(_operation, _method)
