"""Events on Amazon EventBridge."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import boto3

from ...errors import BackendError, BackendUnavailableError
from ...types import EventDict
from ._errors import UNAVAILABLE_CODES, translated

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

logger = logging.getLogger(__name__)

__all__ = ["EventBridgePublisher", "MAX_BATCH_BYTES", "MAX_BATCH_ENTRIES", "entry_size", "to_entry"]

MAX_BATCH_ENTRIES = 10
"""PutEvents takes at most 10 entries per call."""
MAX_BATCH_BYTES = 256 * 1024
"""PutEvents takes at most 256 KiB per call, counted as :func:`entry_size` does."""


class EventBridgePublisher:
    """An :class:`~sluiceway.ports.EventPublisher` on an EventBridge bus.

    Each event in EventBridge's envelope (``source``, ``detail-type``, ``detail``,
    ``resources``, ``time``) becomes a ``PutEventsRequestEntry``; EventBridge
    assigns new ids (an ``id`` in the envelope is not sent: PutEvents cannot set it).
    EventBridge refuses custom events whose source starts with ``aws.``: on AWS,
    S3's own object events reach the bus without passing through here.

    Args:
        client: an EventBridge client; a default one is built when omitted.
        bus_name: the event bus (name or ARN) events go to.
    """

    def __init__(
        self, client: EventBridgeClient | None = None, *, bus_name: str = "default"
    ) -> None:
        self.client: EventBridgeClient = client if client is not None else boto3.client("events")
        self.bus_name = bus_name

    def put_events(self, entries: Sequence[EventDict], *, bus: str | None = None) -> list[str]:
        """Put the events on ``bus`` (this publisher's bus when None) in batches EventBridge accepts; return their ids in order.

        Every batch is sent even when an earlier one had failures, so one bad
        event does not hold back the rest.

        Raises:
            BackendUnavailableError: some entries failed, all of them for retryable
                reasons (throttling, internal failure); the others were put.
            BackendError: some entries failed; the message lists each one's index,
                error code and message. The others were put.
        """
        bus = bus or self.bus_name
        request = [to_entry(entry, bus) for entry in entries]
        ids: list[str] = []
        failures: list[tuple[int, str, str]] = []
        for offset, batch in _batches(request):
            with translated(f"put {len(batch)} events on bus {bus}"):
                response = self.client.put_events(Entries=cast(Any, batch))
            for index, result in enumerate(response.get("Entries", []), start=offset):
                if "EventId" in result and not result.get("ErrorCode"):
                    ids.append(result["EventId"])
                else:
                    failures.append(
                        (index, result.get("ErrorCode", "?"), result.get("ErrorMessage", ""))
                    )
        if failures:
            listing = "; ".join(f"entry {i}: {code}: {message}" for i, code, message in failures)
            text = (
                f"{len(failures)} of {len(request)} events were not put"
                f" on bus {self.bus_name}: {listing}"
            )
            retryable = all(code in UNAVAILABLE_CODES for _, code, _ in failures)
            raise BackendUnavailableError(text) if retryable else BackendError(text)
        return ids


def to_entry(event: Mapping[str, Any], bus_name: str = "default") -> dict[str, Any]:
    """The ``PutEventsRequestEntry`` for an event in EventBridge's envelope.

    Raises:
        ValueError: the event has no ``source`` or ``detail-type``.
    """
    try:
        source = str(event["source"])
        detail_type = str(event["detail-type"])
    except KeyError as exc:
        raise ValueError(f"event has no {exc.args[0]!r}") from None
    detail = event.get("detail", {})
    entry: dict[str, Any] = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": detail if isinstance(detail, str) else json.dumps(detail, separators=(",", ":")),
        "EventBusName": bus_name,
    }
    resources = event.get("resources")
    if resources:
        entry["Resources"] = [str(r) for r in resources]
    when = event.get("time")
    if when:
        entry["Time"] = _time(when)
    return entry


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge counts it against the 256 KiB request limit."""
    size = 14 if "Time" in entry else 0
    for field in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(field, "")).encode("utf-8"))
    for resource in entry.get("Resources", []):
        size += len(str(resource).encode("utf-8"))
    return size


def _batches(request: Sequence[dict[str, Any]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Consecutive batches of at most 10 entries and 256 KiB, with each batch's first index."""
    start = 0
    batch: list[dict[str, Any]] = []
    size = 0
    for index, entry in enumerate(request):
        entry_bytes = entry_size(entry)
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + entry_bytes > MAX_BATCH_BYTES):
            yield start, batch
            start, batch, size = index, [], 0
        batch.append(entry)
        size += entry_bytes
    if batch:
        yield start, batch


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"event time {value!r} is not an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
