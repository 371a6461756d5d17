"""DynamoDB Streams records: what one item change writes, and how readers see it.

A change is stored as a *body* (``eventID``, ``eventName``, the key and the images
its stream's view type keeps, ``SizeBytes``; values in storage form) beside its
sequence number and time. :func:`api_record` gives GetRecords' ``Record`` shape and
:func:`lambda_record` the record of Lambda's DynamoDB event, which differ only in how
the time and binary values travel (a datetime and bytes for the endpoint's
serializer; epoch seconds and base64 text in the event's JSON).

No change, no record: a PutItem or UpdateItem that leaves an item exactly as it was
writes nothing to the stream (DynamoDB's developer guide, "Change data capture for
DynamoDB Streams": "If you perform a PutItem or UpdateItem operation that does not
change any data in an item, DynamoDB Streams does not write a stream record"), and a
DeleteItem of an absent item deletes nothing, so it writes nothing either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ....dynamodb.values import equal, from_storage, item_size, to_storage

__all__ = [
    "EVENT_VERSION",
    "VIEW_TYPES",
    "api_record",
    "change_name",
    "lambda_record",
    "parse_sequence",
    "record_body",
    "sequence_text",
]

VIEW_TYPES: Final = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
EVENT_VERSION: Final = "1.1"
_SEQUENCE_DIGITS: Final = 21
"""AWS's sequence numbers are 21 to 40 digits (the model's ``SequenceNumber`` length): zero-padded to the least."""
_TTL_IDENTITY: Final = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


def sequence_text(sequence: int) -> str:
    """A record's ``SequenceNumber``: digits only, ordered as the numbers are."""
    return f"{sequence:0{_SEQUENCE_DIGITS}d}"


def parse_sequence(text: Any) -> int | None:
    """The number a ``SequenceNumber`` names; None when it is not one (digits, 21 to 40 of them)."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or not _SEQUENCE_DIGITS <= len(text) <= 40:
        return None
    return int(text)


def change_name(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str | None:
    """``INSERT``, ``MODIFY`` or ``REMOVE`` for an item that was ``old`` and is ``new``; None when nothing changed."""
    if old is None and new is None:
        return None
    if old is None:
        return "INSERT"
    if new is None:
        return "REMOVE"
    return None if equal({"M": dict(old)}, {"M": dict(new)}) else "MODIFY"


def record_body(
    *,
    event_id: str,
    event_name: str,
    key_names: Sequence[str],
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    view_type: str,
    by_ttl: bool = False,
) -> dict[str, Any]:
    """What the stream keeps of one change (images as ``view_type`` says; values in storage form).

    Args:
        key_names: the table's key attribute names (``Keys`` holds only those).
        by_ttl: the item was removed by Time to Live (the record names DynamoDB as who removed it).
    """
    if view_type not in VIEW_TYPES:
        raise ValueError(f"unknown StreamViewType {view_type!r}")
    either = new if new is not None else old
    assert either is not None
    keys = {name: either[name] for name in key_names if name in either}
    body: dict[str, Any] = {"eventID": event_id, "eventName": event_name, "Keys": _stored(keys)}
    size = item_size(keys)
    if new is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["NewImage"] = _stored(new)
        size += item_size(new)
    if old is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["OldImage"] = _stored(old)
        size += item_size(old)
    body["SizeBytes"] = size
    body["StreamViewType"] = view_type
    if by_ttl:
        body["userIdentity"] = dict(_TTL_IDENTITY)
    return body


def api_record(body: Mapping[str, Any], *, sequence: int, created: float, region: str) -> dict[str, Any]:
    """GetRecords' ``Record``: values with bytes, the time as a datetime (whole seconds, as AWS rounds it down)."""
    stream: dict[str, Any] = {"ApproximateCreationDateTime": datetime.fromtimestamp(math.floor(created), UTC)}
    for member in ("Keys", "NewImage", "OldImage"):
        if member in body:
            stream[member] = {name: from_storage(value) for name, value in body[member].items()}
    stream["SequenceNumber"] = sequence_text(sequence)
    stream["SizeBytes"] = body["SizeBytes"]
    stream["StreamViewType"] = body["StreamViewType"]
    record: dict[str, Any] = {
        "eventID": body["eventID"],
        "eventName": body["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream,
    }
    if "userIdentity" in body:
        record["userIdentity"] = dict(body["userIdentity"])
    return record


def lambda_record(body: Mapping[str, Any], *, sequence: int, created: float, region: str, stream_arn: str) -> dict[str, Any]:
    """One record of Lambda's DynamoDB event: the stream record as JSON, with ``eventSourceARN``.

    Lambda writes ``ApproximateCreationDateTime`` as epoch seconds and binary values as
    base64 text (DynamoDB JSON); ``userIdentity`` of a TTL removal has lower-case keys there.
    """
    stream: dict[str, Any] = {"ApproximateCreationDateTime": math.floor(created)}
    for member in ("Keys", "NewImage", "OldImage"):
        if member in body:
            stream[member] = dict(body[member])
    stream["SequenceNumber"] = sequence_text(sequence)
    stream["SizeBytes"] = body["SizeBytes"]
    stream["StreamViewType"] = body["StreamViewType"]
    record: dict[str, Any] = {
        "eventID": body["eventID"],
        "eventName": body["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in body:
        identity = body["userIdentity"]
        record["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
    return record


def _stored(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_storage(value) for name, value in item.items()}
