"""The event an EventBridge Scheduler schedule puts on an event bus (its templated PutEvents target).

A schedule whose target ``Arn`` is an event bus calls PutEvents with one entry: its
``EventBridgeParameters`` give ``Source`` and ``DetailType``, its ``Input`` (with
Scheduler's context attributes filled in) is the ``Detail``. The bus gets it as a new
event, put on it directly (so its rules may send it on to another bus, as they may any
event put there). A Detail that is no JSON object, or missing parameters, make PutEvents
refuse the entry, which no retry changes.

The module is pure: the caller passes the time.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Final

from ..errors import InvalidNameError
from ..types import JSON, EventDict
from .envelope import envelope

__all__ = ["is_schedule_arn", "scheduled_event"]

_SCHEDULE_ARN: Final = re.compile(r"^arn:[^:]+:scheduler:[^:]*:[^:]*:schedule/[^/]+/[^/]+$")


def is_schedule_arn(arn: str) -> bool:
    """Whether ``arn`` names an EventBridge Scheduler schedule."""
    return bool(_SCHEDULE_ARN.match(arn))


def scheduled_event(
    *,
    schedule_arn: str,
    execution_id: str,
    parameters: object,
    detail: JSON,
    time: datetime,
    region: str,
    account: str,
) -> EventDict:
    """The event a schedule's fire puts on its target bus.

    Args:
        schedule_arn: the schedule's ARN.
        execution_id: the fire's execution id; the event's id is derived from it, so a fire
            delivered again (after a crash) puts the same event, which the bus keeps once.
        parameters: the target's ``EventBridgeParameters``.
        detail: the target's rendered ``Input`` (``{}`` without one).
        time: when it is put (PutEvents stamps an entry without ``Time`` so).
        region: the schedule's Region, the event's.
        account: likewise, its account.

    Raises:
        InvalidNameError: no ``Source`` or ``DetailType``, or a Detail that is no JSON object.
    """
    source = parameters.get("Source") if isinstance(parameters, Mapping) else None
    detail_type = parameters.get("DetailType") if isinstance(parameters, Mapping) else None
    if not isinstance(source, str) or not source or not isinstance(detail_type, str) or not detail_type:
        raise InvalidNameError("An event bus target needs EventBridgeParameters with a Source and a DetailType.")
    if not isinstance(detail, Mapping):
        raise InvalidNameError("Detail is malformed: the schedule's Input is not a JSON object.")
    # The schedule's ARN as the event's resource: what we understand Scheduler sets; not confirmed
    # against AWS.
    return envelope(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{schedule_arn}|{execution_id}")),
        source=source,
        detail_type=detail_type,
        detail=dict(detail),
        time=time,
        region=region,
        account=account,
        resources=[schedule_arn],
    )
