"""What an event bus target and a CloudWatch Logs target receive, as EventBridge makes it.

An **event bus** target gets the matched event itself: same ``id``, ``time``,
``account``, ``region`` and content. LocalStack's
``test_event_bus_to_event_bus_cross_account_region``, recorded against AWS, shows
the id kept when an event goes to a bus in another account or Region; we keep it for
a bus in the same account and Region too (not confirmed there). EventBridge does not
send an event that came from another bus on to a third one (its user guide, "Sending
and receiving events between event buses in the same account and Region"), so a
bus-to-bus chain is one hop long and can never loop. A replayed event keeps its
``replay-name`` on the way: the receiving bus's rules see a replay, and its archives,
which never hold replayed events, do not store it again.

A **log group** target gets one log event per delivery, in a stream of that
delivery's own (:func:`log_stream_name`), stamped with the event's ``time``: the event
as compact JSON, or, when an ``InputTransformer`` makes ``{"timestamp": ...,
"message": ...}`` (the shape AWS documents for this target), that message at that time.

The module is pure: the caller passes the fallback time.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import InvalidNameError
from ..types import JSON
from .rules import Delivery

__all__ = ["bus_event", "forward_key", "log_event", "log_stream_name"]

#: CloudWatch Logs' timestamps are milliseconds since the epoch in a signed 64-bit Long, never negative.
_MAX_TIMESTAMP_MS: Final = 2**63 - 1


def _compact(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def bus_event(delivery: Delivery) -> dict[str, Any]:
    """The event an event bus target receives.

    Without Input, InputPath or InputTransformer it is the matched event, a replay's
    ``replay-name`` included (see the module docstring).
    With one of them, what the target's input holds of an event (``source``,
    ``detail-type``, ``resources``, ``detail``) replaces the event's, and an input that is
    no event becomes its ``detail``. AWS does not document this case for a bus in the
    same account (it refuses those fields for a bus in another); this is LocalStack's
    reading, keeping the event's id, time, account and region.

    Raises:
        InvalidNameError: the input is not a JSON object, so it can be no event's detail
            (PutEvents refuses such a Detail); no retry changes that.
    """
    event = dict(delivery.event)
    payload = delivery.input
    if payload == event:
        return event
    if not isinstance(payload, Mapping):
        raise InvalidNameError(f"Detail is malformed: the input of target {delivery.target_id} is not a JSON object.")
    if "detail" not in payload:
        return {**event, "detail": dict(payload)}
    if not isinstance(payload["detail"], Mapping):
        raise InvalidNameError(f"Detail is malformed: the detail of target {delivery.target_id}'s input is not a JSON object.")
    out = dict(event)
    for field in ("source", "detail-type", "resources", "detail"):
        if field in payload:
            out[field] = payload[field]
    return out


def forward_key(delivery: Delivery) -> str:
    """The receiving bus's own key for one (event, replay, rule, target): the same delivery
    made twice (after a crash) stores the event once; a replay is a new delivery."""
    return f"forwarded:{uuid.uuid5(uuid.NAMESPACE_URL, _identity(delivery))}"


def _identity(delivery: Delivery) -> str:
    """What tells one delivery from another, and is the same for every attempt at it."""
    return "|".join(
        (str(delivery.event.get("id", "")), delivery.replay_name or "", delivery.rule_arn, delivery.target_id, delivery.target_arn)
    )


def log_stream_name(delivery: Delivery) -> str:
    """The stream a delivery's log event goes to: one per (event, replay, rule, target).

    On AWS one event that two targets of a rule send to one log group lands in two
    streams, one event each (LocalStack's ``test_scheduled_rule_logs``, run against AWS,
    waits for two streams). AWS does not document the names; ours are a UUID of the
    delivery, so a delivery made again (a retry, or a repeat after a crash) writes to the
    same stream.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "log-stream|" + _identity(delivery)))


def log_event(delivery: Delivery, *, fallback_ms: int) -> tuple[int, str]:
    """The ``(timestamp ms, message)`` a log group target receives.

    Args:
        delivery: the attempt.
        fallback_ms: the time to stamp when the event has no readable ``time`` (the bus's
            ingestion time).

    Raises:
        InvalidNameError: the timestamp is no CloudWatch Logs timestamp (negative, or past
            a 64-bit count of milliseconds): PutLogEvents would refuse it, and no retry
            changes that.
    """
    stamp = _epoch_ms(delivery.event.get("time")) or fallback_ms
    payload = delivery.input
    if isinstance(payload, Mapping) and set(payload) == {"timestamp", "message"}:
        # The documented template for this target: {"timestamp": <time>, "message": <text>}.
        message = payload["message"]
        text = message if isinstance(message, str) else _compact(message)
        stamp = _epoch_ms(payload["timestamp"]) or stamp
        if not 0 <= stamp <= _MAX_TIMESTAMP_MS:
            raise InvalidNameError(f"Log event timestamp {payload['timestamp']} of target {delivery.target_id} is out of range.")
        return stamp, text
    if not 0 <= stamp <= _MAX_TIMESTAMP_MS:
        raise InvalidNameError(f"Log event timestamp {stamp} of target {delivery.target_id} is out of range.")
    return stamp, _compact(payload)


def _epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an event time (ISO 8601 text) or of a number of milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # inf and nan are no time; a float too big for a Long fails the range check.
        return int(value) if math.isfinite(value) else None
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
