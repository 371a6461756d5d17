"""EventBridge: ``events:putEvents``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ....asl.interpreter import InvokeTask
from ....ports import EventPublisher
from ....types import JSON
from .base import Integration, TaskError, TaskPorts

__all__ = ["INTEGRATIONS"]


def _put_events(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    bus: EventPublisher = ports.require(ports.events, "event bus")
    entries = params.get("Entries")
    if not isinstance(entries, list) or not entries:
        raise TaskError("EventBridge.ValidationException", "Entries must be a non-empty list")
    events = []
    for entry in entries:
        detail = entry.get("Detail", {})
        if isinstance(detail, str):
            try:
                detail = json.loads(detail)
            except ValueError:
                raise TaskError("EventBridge.ValidationException", "Detail is not valid JSON") from None
        events.append(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry.get("DetailType", ""),
                "source": entry.get("Source", ""),
                "account": "",
                "time": "",
                "region": "",
                "resources": list(entry.get("Resources", [])),
                "detail": detail,
            }
        )
    ids = bus.put_events(events)
    return {"Entries": [{"EventId": i} for i in ids], "FailedEntryCount": 0}


INTEGRATIONS = (Integration("events:putEvents", _put_events, ("events:PutEvents",), in_database=True),)
