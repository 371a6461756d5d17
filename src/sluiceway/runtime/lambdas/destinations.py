"""Destinations of asynchronous invocations: the invocation record Lambda sends, and where it goes locally.

With ``PutFunctionEventInvokeConfig``'s ``DestinationConfig``, Lambda sends a record of each
asynchronous invocation that succeeded (``OnSuccess``) or that it gave up on (``OnFailure``:
its retries failed, or it waited longer than its maximum age) to an SQS queue, an SNS topic,
another function (invoked asynchronously) or an EventBridge bus. The record is the same JSON
document for each (:func:`invocation_record`); EventBridge gets it as the ``detail`` of an
event from ``lambda``.

A function's dead-letter queue (``DeadLetterConfig``, an SQS queue or SNS topic) gets something
else for the same events as ``OnFailure``: the event itself, as it was sent, as the message
body, with three message attributes that say why (:func:`dead_letter_attributes`). A function
may have both; neither replaces the other, so each gets what it is sent (Lambda's guide
describes the dead-letter queue as an alternative that "acts the same as an on-failure
destination", and says nothing of one silencing the other).

Sending is best effort, as on Lambda (a destination that is gone loses the record; Lambda
counts it in ``DestinationDeliveryFailures``, and a dead-letter queue's loss in
``DeadLetterErrors``): a failure is logged and never makes the invocation run again.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol

from ...messaging.sns import MessageAttribute
from ...messaging.sqs_attributes import MessageAttributeValue
from ...ports import InvocationResult
from ...types import JSON, EventDict

logger = logging.getLogger(__name__)

__all__ = [
    "DEAD_LETTER_MESSAGE_BYTES",
    "Condition",
    "LocalDestinations",
    "dead_letter_attributes",
    "destination_kind",
    "error_document",
    "invocation_record",
]

Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]
"""Why a record was sent: the invocation succeeded, its retries failed, or it grew too old to run."""

_ARN: Final = re.compile(r"arn:aws[a-zA-Z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}):(?P<resource>.+)")
_KINDS: Final = {"sqs": "queue", "sns": "topic", "lambda": "function", "events": "bus"}
DEAD_LETTER_MESSAGE_BYTES: Final = 1024
"""How much of the error message a dead-letter queue's ``ErrorMessage`` keeps: Lambda's "first 1 KB"."""


def destination_kind(arn: str) -> str | None:
    """``queue``, ``topic``, ``function`` or ``bus`` for an ARN an asynchronous invocation's record may go to; None otherwise."""
    match = _ARN.fullmatch(arn)
    if match is None:
        return None
    service, resource = match["service"], match["resource"]
    kind = _KINDS.get(service)
    if kind in ("queue", "topic") and ":" not in resource and "/" not in resource:
        return kind
    if kind == "function" and resource.startswith("function:"):
        return kind
    if kind == "bus" and resource.startswith("event-bus/"):
        return kind
    return None


def error_document(result: InvocationResult) -> dict[str, Any]:
    """Lambda's error document for a failed invocation (what the Python runtime reports)."""
    error: dict[str, Any] = {"errorMessage": result.error_message or "", "errorType": result.error_type}
    # The runtime reports no request id nor stack trace when the sandbox itself failed (a timeout, a crash).
    if result.error_type is not None and not result.error_type.startswith(("Sandbox.", "Runtime.ExitError")):
        error["requestId"] = result.request_id
        error["stackTrace"] = list(result.stack_trace)
    return error


def invocation_record(
    *,
    function_arn: str,
    request_id: str,
    condition: Condition,
    invoke_count: int,
    request_payload: JSON,
    result: InvocationResult | None,
    now: datetime,
) -> EventDict:
    """The invocation record Lambda sends a destination (``version`` 1.0).

    Args:
        function_arn: the function's ARN with its qualifier (``...:function:name:$LATEST``).
        invoke_count: how many times the function ran for the event (``approximateInvokeCount``).
        result: the last run's result; None when the event expired before a run had an outcome
            to report (the record then has no response).
    """
    record: EventDict = {
        "version": "1.0",
        "timestamp": _millis(now),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": request_payload,
    }
    if result is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not result.ok:
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
        record["responsePayload"] = result.payload if result.ok else error_document(result)
    return record


def dead_letter_attributes(*, request_id: str, error_code: int, error_message: str) -> dict[str, tuple[str, str]]:
    """The message attributes Lambda sets on an event it sends a function's dead-letter queue, by name:
    (data type, value).

    ``RequestID`` (String) is the invocation's request id; ``ErrorCode`` (Number) the HTTP status
    of the failure, 200 for a function error (the Invoke call itself succeeded: the function
    failed, as AWS's recorded answers show); ``ErrorMessage`` (String) the first KB of the
    error message. An empty message is left out: SQS and SNS refuse an empty attribute value.
    """
    attributes = {"RequestID": ("String", request_id), "ErrorCode": ("Number", str(error_code))}
    message = error_message.encode("utf-8")[:DEAD_LETTER_MESSAGE_BYTES].decode("utf-8", "ignore")
    if message:
        attributes["ErrorMessage"] = ("String", message)
    return attributes


class _Queues(Protocol):
    def send(self, queue: str, body: str, *, attributes: dict[str, MessageAttributeValue] | None = None) -> str: ...


class _Topics(Protocol):
    def publish(self, topic: str, message: str, *, attributes: dict[str, MessageAttribute] | None = None) -> str: ...


class _Bus(Protocol):
    def put_events(self, entries: Sequence[EventDict], *, bus: str | None = None) -> list[str]: ...


class _Invocations(Protocol):
    def enqueue(self, function: str, payload: JSON, *, request_id: str | None = None) -> str: ...


class LocalDestinations:
    """Sends invocation records to the local stack's queues, topics, functions and event buses.

    Args:
        queues: the local SQS queues.
        topics: the local SNS topics.
        bus: the local EventBridge buses.
        invocations: the asynchronous invocation queue (a function destination is invoked asynchronously).
        on_event: called after an event is put on a bus (the router's wake-up).
    """

    def __init__(
        self, queues: _Queues, topics: _Topics, bus: _Bus, invocations: _Invocations, *, on_event: Callable[[], None] | None = None
    ) -> None:
        self.queues = queues
        self.topics = topics
        self.bus = bus
        self.invocations = invocations
        self.on_event = on_event

    def send(self, arn: str, record: EventDict) -> bool:
        """Send ``record`` to the destination ``arn``; False (logged) if it could not be sent."""
        kind = destination_kind(arn)
        resource = arn.split(":", 5)[-1]
        try:
            if kind == "queue":
                self.queues.send(resource, json.dumps(record))
            elif kind == "topic":
                self.topics.publish(arn, json.dumps(record))
            elif kind == "function":
                self.invocations.enqueue(arn, record)
            elif kind == "bus":
                self.bus.put_events([_bus_event(arn, record)], bus=resource.removeprefix("event-bus/"))
                if self.on_event is not None:
                    self.on_event()
            else:
                raise ValueError(f"not a destination of asynchronous invocations: {arn}")
        except Exception as exc:
            logger.warning(
                "invocation record not delivered to its destination",
                extra={"destination": arn, "condition": record["requestContext"]["condition"], "error": str(exc)},
            )
            return False
        return True

    def dead_letter(self, arn: str, body: str, attributes: dict[str, tuple[str, str]]) -> bool:
        """Send an event given up on to a dead-letter queue or topic ``arn``: ``body`` as the
        message, with ``attributes`` (:func:`dead_letter_attributes`); False (logged) if it could not be sent."""
        kind = destination_kind(arn)
        try:
            if kind == "queue":
                typed = {name: MessageAttributeValue(kind_, value) for name, (kind_, value) in attributes.items()}
                self.queues.send(arn.split(":", 5)[-1], body, attributes=typed)
            elif kind == "topic":
                self.topics.publish(
                    arn, body, attributes={name: MessageAttribute(kind_, value) for name, (kind_, value) in attributes.items()}
                )
            else:
                raise ValueError(f"a dead-letter queue is an SQS queue or an SNS topic, not {arn}")
        except Exception as exc:
            logger.warning(
                "event not delivered to the function's dead-letter queue",
                extra={"dead_letter_queue": arn, "request_id": attributes.get("RequestID", ("", ""))[1], "error": str(exc)},
            )
            return False
        return True


def _bus_event(bus_arn: str, record: EventDict) -> EventDict:
    context = record["requestContext"]
    region, account = bus_arn.split(":")[3:5]
    outcome = "Success" if context["condition"] == "Success" else "Failure"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": f"Lambda Function Invocation Result - {outcome}",
        "source": "lambda",
        "account": account,
        "time": datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [bus_arn, context["functionArn"]],
        "detail": record,
    }


def _millis(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
