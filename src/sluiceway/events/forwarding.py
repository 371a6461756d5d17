"""What an event bus target and a CloudWatch Logs target receive, as EventBridge makes it.

An **event bus** target gets the matched event itself: same ``id``, ``time``,
``account``, ``region`` and content (AWS keeps the id when it sends an event on to
another bus; recorded against AWS in LocalStack's
``test_event_bus_to_event_bus_cross_account_region``). EventBridge does not send an
event that came from another bus on to a third one (its user guide, "Sending and
receiving events between event buses in the same account and Region"), so a
bus-to-bus chain is one hop long and can never loop.

A **log group** target gets one log event, in a stream named after the event's id,
stamped with the event's ``time``: the event as compact JSON, or, when an
``InputTransformer`` makes ``{"timestamp": ..., "message": ...}`` (the shape AWS
documents for this target), that message at that time.

The module is pure: the caller passes the fallback time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..errors import InvalidNameError
from ..types import JSON
from .rules import Delivery

__all__ = ["bus_event", "forward_key", "log_event", "log_stream_name"]

#: Event fields the router adds to what it delivers; none belongs to the event a bus receives.
_DELIVERY_ONLY: Final = ("replay-name",)


def _compact(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def bus_event(delivery: Delivery) -> dict[str, Any]:
    """The event an event bus target receives.

    Without Input, InputPath or InputTransformer it is the matched event (a replay's
    ``replay-name`` left out: the receiving bus gets the event, not the replay's copy).
    With one of them, what the target's input holds of an event (``source``,
    ``detail-type``, ``resources``, ``detail``) replaces the event's, and an input that is
    no event becomes its ``detail``. AWS does not document this case for a bus in the
    same account (it refuses those fields for a bus in another); this is LocalStack's
    reading, keeping the event's id, time, account and region.

    Raises:
        InvalidNameError: the input is not a JSON object, so it can be no event's detail
            (PutEvents refuses such a Detail); no retry changes that.
    """
    event = {k: v for k, v in delivery.event.items() if k not in _DELIVERY_ONLY}
    payload = delivery.input
    if payload == dict(delivery.event) or payload == event:
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
    identity = "|".join(
        (str(delivery.event.get("id", "")), delivery.replay_name or "", delivery.rule_arn, delivery.target_id, delivery.target_arn)
    )
    return f"forwarded:{uuid.uuid5(uuid.NAMESPACE_URL, identity)}"


def log_stream_name(delivery: Delivery) -> str:
    """The stream EventBridge writes an event's log event to: one per event, named by its id.

    AWS does not document the name; streams it makes for an event bus target are named
    by the event's id as far as we could observe (LocalStack names them at random).
    """
    return str(delivery.event.get("id") or "events")


def log_event(delivery: Delivery, *, fallback_ms: int) -> tuple[int, str]:
    """The ``(timestamp ms, message)`` a log group target receives.

    Args:
        delivery: the attempt.
        fallback_ms: the time to stamp when the event has no readable ``time`` (the bus's
            ingestion time).
    """
    stamp = _epoch_ms(delivery.event.get("time")) or fallback_ms
    payload = delivery.input
    if isinstance(payload, Mapping) and set(payload) == {"timestamp", "message"}:
        # The documented template for this target: {"timestamp": <time>, "message": <text>}.
        message = payload["message"]
        text = message if isinstance(message, str) else _compact(message)
        return _epoch_ms(payload["timestamp"]) or stamp, text
    return stamp, _compact(payload)


def _epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch of an event time (ISO 8601 text) or of a number of milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
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
