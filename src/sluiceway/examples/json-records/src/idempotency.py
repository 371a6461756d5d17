"""Once per S3 write: a function S3 invokes does its work once per write, however often the event arrives.

S3 delivers event notifications at least once, so now and then one write's event comes twice, and a
function that publishes would publish twice. Before the work, the function puts an item keyed by the
write (bucket, key, version id or ETag, sequencer: together they name one write of one key) into the
idempotency table, on condition that there is none yet, or only one that a crashed invocation left
(its ``in_progress_until`` has passed). The first delivery wins and works; a later one finds the item
and does nothing. A failed run deletes its item, so that Lambda's retry of the event works again; a
finished one marks it ``COMPLETED``, and DynamoDB's TTL removes it after ``KEEP_S``.

The idea of Powertools' idempotency utility, in a page of boto3, keyed by the write itself (Powertools'
would key it by a hash of the whole event, which differs between two deliveries of one write).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")
TABLE = os.environ["IDEMPOTENCY_TABLE"]
#: How long a finished write's item is kept: duplicates come within minutes, Lambda's retries of an
#: asynchronous invocation within six hours. The table's TTL attribute is ``expiration``.
KEEP_S = 7 * 24 * 3600


def write_id(record: Mapping[str, Any]) -> str:
    """The write an S3 event record announces: ``s3://bucket/key#version-or-etag#sequencer``.

    The key stays as S3 sends it (URL-encoded): it is an identity here, never a path.
    """
    s3 = record["s3"]
    obj = s3["object"]
    return f"s3://{s3['bucket']['name']}/{obj['key']}#{obj.get('versionId') or obj.get('eTag', '')}#{obj['sequencer']}"


class AlreadyInProgress(Exception):
    """Another invocation holds the write's claim and has not finished: this delivery must not count as
    done (that invocation may still crash), so it fails and Lambda delivers it again later, by when the
    claim is COMPLETED (then it is a duplicate) or has expired (then this delivery does the work)."""


def _claim(pk: str, now: int, busy_until: int) -> bool:
    try:
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": pk},
                "status": {"S": "IN_PROGRESS"},
                "in_progress_until": {"N": str(busy_until)},
                "expiration": {"N": str(now + KEEP_S)},
            },
            # "status" is one of DynamoDB's reserved words: names go through placeholders.
            ConditionExpression="attribute_not_exists(pk) OR (#status = :in_progress AND #until < :now)",
            ExpressionAttributeNames={"#status": "status", "#until": "in_progress_until"},
            ExpressionAttributeValues={":in_progress": {"S": "IN_PROGRESS"}, ":now": {"N": str(now)}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException as exc:
        held = exc.response.get("Item") or {}
        if held.get("status", {}).get("S") == "COMPLETED":
            return False
        raise AlreadyInProgress(f"{pk} is being processed by another invocation") from None
    return True


@contextmanager
def once(record: Mapping[str, Any], context: Any) -> Iterator[bool]:
    """``True`` to the first delivery of the record's write, ``False`` to one after it completed (which then
    does nothing); :class:`AlreadyInProgress` while another delivery is still working on it.

    What the block raises is raised again, after the claim is given up, so that a retry works again.
    """
    pk = write_id(record)
    now = int(time.time())
    # Held no longer than this invocation can live: a claim a timeout or crash left is taken by the retry.
    if not _claim(pk, now, now + context.get_remaining_time_in_millis() // 1000 + 1):
        print(json.dumps({"duplicate": pk}))
        yield False
        return
    try:
        yield True
    except BaseException:
        dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": pk}})
        raise
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": pk}},
        UpdateExpression="SET #status = :completed REMOVE #until",
        ExpressionAttributeNames={"#status": "status", "#until": "in_progress_until"},
        ExpressionAttributeValues={":completed": {"S": "COMPLETED"}},
    )
