"""EventBridge: ``events:putEvents``.

Each entry becomes an event through the one PutEvents builder
(:func:`~sluiceway.events.envelope.from_put_events_entry`), as ``sluiceway events
put`` makes them. What differs from calling PutEvents directly is AWS's optimized
integration: a ``Detail`` may be given as a JSON object, the execution's and its
state machine's ARNs are appended to every entry's ``Resources``, and a response
with failed entries fails the task with ``EventBridge.FailedEntry`` (its cause the
response) after the other entries were put.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ....asl.commands import InvokeTask
from ....errors import NotFoundError
from ....events.envelope import bus_name_of, from_put_events_entry
from ....events.errors import InvalidEntryError
from ....events.rules import DEFAULT_BUS
from ....ports import EventPublisher
from ....types import JSON
from .base import Integration, TaskError, TaskPorts

__all__ = ["INTEGRATIONS"]

#: PutEvents takes 1 to 10 entries a call.
MAX_ENTRIES = 10
# Refusals of the whole request: nothing is put. Every other code is one entry's failure.
_REQUEST_ERRORS = frozenset({"SerializationException", "ValidationException"})


def _put_events(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    bus: EventPublisher = ports.require(ports.events, "event bus")
    entries = params.get("Entries")
    if not isinstance(entries, list):
        raise TaskError("EventBridge.SerializationException", "Entries must be a list of PutEventsRequestEntry")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise TaskError(
            "EventBridge.ValidationException",
            f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES} and greater than or equal to 1",
        )
    appended = _execution_resources(command)
    results: list[dict[str, str]] = []
    built: list[tuple[int, str, dict[str, Any]]] = []
    now = ports.clock.now()
    for index, raw in enumerate(entries):
        if not isinstance(raw, Mapping):
            raise TaskError("EventBridge.SerializationException", f"Entries[{index}] must be a PutEventsRequestEntry object")
        entry = dict(raw)
        if "Detail" in entry and not isinstance(entry["Detail"], str | type(None)):
            # The optimized integration takes the detail as JSON itself; PutEvents wants its text.
            entry["Detail"] = json.dumps(entry["Detail"], separators=(",", ":"))
        resources = entry.get("Resources")
        if resources is None:
            entry["Resources"] = list(appended)
        elif isinstance(resources, list):
            entry["Resources"] = [*resources, *appended]
        # Anything else is left for the builder to refuse, as PutEvents would.
        try:
            event = from_put_events_entry(entry, event_id=str(uuid.uuid4()), now=now, region=ports.region, account=ports.account_id)
        except InvalidEntryError as exc:
            if exc.code in _REQUEST_ERRORS:
                raise TaskError(f"EventBridge.{exc.code}", exc.message) from None
            results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
            continue
        results.append({})
        built.append((index, bus_name_of(entry, DEFAULT_BUS), event))
    for name in dict.fromkeys(b for _, b, _ in built):
        mine = [(index, event) for index, b, event in built if b == name]
        try:
            ids = bus.put_events([event for _, event in mine], bus=name)
        except NotFoundError:
            for index, _ in mine:
                results[index] = {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus {name} does not exist."}
            continue
        for (index, _), event_id in zip(mine, ids, strict=True):
            results[index] = {"EventId": event_id}
    failed = sum(1 for r in results if "ErrorCode" in r)
    return {"Entries": list(results), "FailedEntryCount": failed}


def _execution_resources(command: InvokeTask) -> Sequence[str]:
    """The execution's and its state machine's ARNs, which Step Functions adds to every entry's ``Resources``."""
    execution = command.execution_arn
    parts = execution.split(":")
    # arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME (express: ...:express:MACHINE:NAME:ID)
    if len(parts) < 8 or parts[5] not in ("execution", "express"):
        return ()
    return (execution, ":".join([*parts[:5], "stateMachine", parts[6]]))


def _failed_entries(response: JSON) -> JSON:
    if isinstance(response, Mapping) and response.get("FailedEntryCount"):
        raise TaskError("EventBridge.FailedEntry", json.dumps(response, separators=(",", ":")))
    return response


INTEGRATIONS = (Integration("events:putEvents", _put_events, ("events:PutEvents",), in_database=True, verdict=_failed_entries),)
