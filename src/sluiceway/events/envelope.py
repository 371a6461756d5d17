"""Events in EventBridge's envelope: from a PutEvents entry, and S3 object events exactly as S3 sends them.

The module is pure: callers pass ids, the time and where the bus lives.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..names import name_from
from ..types import EventDict, json_type
from .errors import InvalidEntryError

__all__ = [
    "bus_name_of",
    "envelope",
    "execution_name_for",
    "from_put_events_entry",
    "object_created",
    "object_deleted",
    "object_event_key",
]


def envelope(
    *,
    event_id: str,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    time: datetime,
    region: str,
    account: str,
    resources: list[str] | None = None,
) -> EventDict:
    """An event as EventBridge delivers it to targets."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(resources or []),
        "detail": dict(detail),
    }


_BUS_NAME: Final = re.compile(r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+")
"""EventBusName in PutEvents: a bus name or an event bus ARN (botocore's NonPartnerEventBusNameOrArn)."""
_MAX_BUS_NAME: Final = 1600
_MAX_RESOURCE: Final = 2048


def from_put_events_entry(
    entry: Mapping[str, Any], *, event_id: str, now: datetime, region: str, account: str
) -> EventDict:
    """The event EventBridge makes of one PutEvents entry, checked as PutEvents checks it.

    The entry has PutEvents' members: ``Source``, ``DetailType`` and ``Detail``
    (JSON text of an object), all required and non-empty; ``Resources`` (strings);
    ``Time`` (a datetime, RFC 3339 text or seconds since the epoch; ``now`` if
    absent); ``EventBusName`` (a name or an event bus ARN: see :func:`bus_name_of`);
    ``TraceHeader``. Members that are not PutEvents' are ignored, as AWS ignores them.

    Every caller that turns an entry into an event uses this, so that the CLI,
    the ``events:putEvents`` task and anything else fill in the envelope alike::

        event = from_put_events_entry(
            entry, event_id=str(uuid.uuid4()), now=clock.now(),
            region=settings.region, account=settings.account_id,
        )

    Args:
        entry: one member of PutEvents' ``Entries``.
        event_id: the new event's id (callers make it; this module makes no ids).
        now: when PutEvents was called: the event's time unless ``Time`` says otherwise.
        region: the region of the bus, for the envelope's ``region``.
        account: the account of the bus, for the envelope's ``account``.

    Returns:
        The event as targets receive it (:func:`envelope`).

    Raises:
        InvalidEntryError: the entry is one EventBridge would refuse; checks run
            in AWS's order and the first failing one answers. First those that
            fail the whole request on AWS: a member of the wrong JSON type or a
            ``Time`` that is no time stamp (``SerializationException``), then an
            ``EventBusName``, ``TraceHeader`` or resource that breaks the API's
            constraints (``ValidationException``; AWS's message also names the
            entry's position, which this function does not know). Then those
            that fail the entry alone: a missing or empty ``Source``,
            ``DetailType`` or ``Detail`` (``InvalidArgument``), then a ``Detail``
            that is not the JSON text of an object (``MalformedDetail``).
    """
    if not isinstance(entry, Mapping):
        raise _wrong_type("entry", entry, "an object")
    # AWS reads and checks the whole request before it looks at any entry: wrong
    # JSON types first, then the API's constraints on lengths and patterns.
    for name in ("Source", "DetailType", "Detail", "EventBusName", "TraceHeader"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise _wrong_type(name, entry[name], "a string")
    resources = _resources(entry.get("Resources"))
    when = _time(entry["Time"]) if entry.get("Time") is not None else now
    if entry.get("EventBusName") is not None:
        _check_bus_name(entry["EventBusName"])
    trace = entry.get("TraceHeader")
    if trace is not None and not 1 <= len(trace) <= 500:
        raise _constraint("traceHeader", trace, "Member must have length between 1 and 500", "TraceHeader is 1 to 500 characters")
    # Then each entry on its own: Source, DetailType, Detail present, then Detail readable.
    source, detail_type, detail_text = entry.get("Source"), entry.get("DetailType"), entry.get("Detail")
    if not source:
        raise _required("Source", "an event needs a source (Source)")
    if not detail_type:
        raise _required("DetailType", "an event needs a detail-type (DetailType)")
    if not detail_text:
        raise _required("Detail", "an event needs a detail (Detail)")
    try:
        detail = json.loads(detail_text, parse_constant=_not_json)
    except ValueError:
        raise InvalidEntryError("MalformedDetail", "Detail is malformed.", "Detail is not valid JSON") from None
    if not isinstance(detail, dict):
        raise InvalidEntryError("MalformedDetail", "Detail is malformed.", "an event's detail (Detail) must be a JSON object")
    # The envelope's time is UTC; a naive datetime is taken to be UTC already.
    when = when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return envelope(
        event_id=event_id,
        source=source,
        detail_type=detail_type,
        detail=detail,
        time=when,
        region=region,
        account=account,
        resources=resources,
    )


def bus_name_of(entry: Mapping[str, Any], default: str) -> str:
    """The name of the bus a PutEvents entry goes to: its ``EventBusName`` (a name, or the name in an ARN), else ``default``.

    Call it on an entry :func:`from_put_events_entry` accepted.
    """
    bus = entry.get("EventBusName")
    if not bus:
        return default
    return str(bus).rsplit("event-bus/", 1)[-1] if str(bus).startswith("arn:") else str(bus)


def _not_json(word: str) -> Any:
    # Python reads NaN and Infinity; JSON (and AWS) has no such values.
    raise ValueError(word)


def _required(name: str, reason: str) -> InvalidEntryError:
    return InvalidEntryError("InvalidArgument", f"Parameter {name} is not valid. Reason: {name} is a required argument.", reason)


def _wrong_type(name: str, value: Any, expected: str) -> InvalidEntryError:
    # AWS's JSON protocol refuses the request before looking at entries; its
    # message names Java classes, so the words here are ours.
    return InvalidEntryError(
        "SerializationException",
        f"{name} must be {expected}, not {json_type(value)}",
        f"{name} must be {expected}",
    )


def _constraint(member: str, value: Any, constraint: str, reason: str) -> InvalidEntryError:
    return InvalidEntryError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
        reason,
    )


def _resources(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(r, str) for r in value):
        raise _wrong_type("Resources", value, "a list of strings")
    for resource in value:
        if len(resource) > _MAX_RESOURCE:
            raise _constraint(
                "resources",
                resource,
                f"Member must have length less than or equal to {_MAX_RESOURCE}",
                f"a resource is at most {_MAX_RESOURCE} characters",
            )
    return list(value)


def _check_bus_name(name: str) -> None:
    if not 1 <= len(name) <= _MAX_BUS_NAME:
        raise _constraint(
            "eventBusName", name, f"Member must have length between 1 and {_MAX_BUS_NAME}", "EventBusName is 1 to 1600 characters"
        )
    if not _BUS_NAME.fullmatch(name):
        raise _constraint(
            "eventBusName",
            name,
            f"Member must satisfy regular expression pattern: {_BUS_NAME.pattern}",
            "EventBusName must be a bus name or an event bus ARN",
        )


def _time(value: Any) -> datetime:
    """PutEvents' ``Time``: a datetime, RFC 3339 text, or seconds since the epoch (how the JSON protocol sends it)."""
    when: datetime
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            when = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise _bad_time(value) from None
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise _bad_time(value) from None
    else:
        raise _wrong_type("Time", value, "a time stamp")
    return when


def _bad_time(value: Any) -> InvalidEntryError:
    return InvalidEntryError(
        "SerializationException",
        f"Time must be a time stamp, not {value!r}",
        "Time must be a time stamp (RFC 3339, e.g. 2026-01-31T12:00:00Z, or seconds since the epoch)",
    )


def object_created(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    sequencer: str,
    event_id: str,
    request_id: str,
    time: datetime,
    region: str,
    account: str,
    reason: str = "PutObject",
    version_id: str | None = None,
    requester: str | None = None,
    source_ip: str = "127.0.0.1",
) -> EventDict:
    """An S3 "Object Created" event (``reason``: PutObject, CopyObject, CompleteMultipartUpload, POST Object)."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer}
    if version_id is not None:
        obj["version-id"] = version_id
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": request_id,
        "requester": requester or account,
        "source-ip-address": source_ip,
        "reason": reason,
    }
    return envelope(
        event_id=event_id,
        source="aws.s3",
        detail_type="Object Created",
        detail=detail,
        time=time,
        region=region,
        account=account,
        resources=[f"arn:aws:s3:::{bucket}"],
    )


def object_deleted(
    *,
    bucket: str,
    key: str,
    sequencer: str,
    event_id: str,
    request_id: str,
    time: datetime,
    region: str,
    account: str,
    version_id: str | None = None,
) -> EventDict:
    """An S3 "Object Deleted" event (reason DeleteObject)."""
    obj: dict[str, Any] = {"key": key, "sequencer": sequencer}
    if version_id is not None:
        obj["version-id"] = version_id
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": request_id,
        "requester": account,
        "source-ip-address": "127.0.0.1",
        "reason": "DeleteObject",
        "deletion-type": "Permanently Deleted",
    }
    return envelope(
        event_id=event_id,
        source="aws.s3",
        detail_type="Object Deleted",
        detail=detail,
        time=time,
        region=region,
        account=account,
        resources=[f"arn:aws:s3:::{bucket}"],
    )


def object_event_key(event: Mapping[str, Any]) -> str | None:
    """A stable identity for an S3 object event: the same write always gives the same key.

    Built from bucket, key, version-id or ETag, and sequencer, so the same write
    seen twice (by the writer and by the folder watcher, or redelivered after a
    crash) is recognised, while a later write of the same key is not.
    """
    if event.get("source") != "aws.s3":
        return None
    detail = event.get("detail") or {}
    obj = detail.get("object") or {}
    bucket = (detail.get("bucket") or {}).get("name")
    if not bucket or "key" not in obj:
        return None
    parts = [event.get("detail-type", ""), bucket, obj["key"], obj.get("version-id") or obj.get("etag") or "", obj.get("sequencer", "")]
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def execution_name_for(event: Mapping[str, Any]) -> str:
    """A valid, deterministic execution name for an event (so a redelivered event never starts a second run)."""
    identity = object_event_key(event) or hashlib.sha256(str(event.get("id", "")).encode()).hexdigest()
    detail = event.get("detail") or {}
    key = str((detail.get("object") or {}).get("key", "event"))
    return f"{name_from(key.rsplit('/', 1)[-1])}-{identity[:16]}"
