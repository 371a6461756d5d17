"""SQS: ``sqs:sendMessage``."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from ....asl.commands import InvokeTask
from ....errors import NotFoundError
from ....ports import Queue
from ....types import JSON
from .base import Integration, TaskError, TaskPorts

__all__ = ["INTEGRATIONS"]


def _send_message(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    queues: Queue = ports.require(ports.queues, "queue")
    url = params.get("QueueUrl")
    if not isinstance(url, str) or not url:
        raise TaskError("SQS.MissingParameterException", "The request must contain the parameter QueueUrl.")
    body = params.get("MessageBody")
    if body is None:
        raise TaskError("SQS.MissingParameterException", "The request must contain the parameter MessageBody.")
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    attributes = {
        str(name): str(value.get("StringValue", ""))
        for name, value in (params.get("MessageAttributes") or {}).items()
        if isinstance(value, Mapping)
    }
    try:
        message_id = queues.send(
            url.rstrip("/").rsplit("/", 1)[-1],
            text,
            delay_s=int(params.get("DelaySeconds", 0)),
            attributes=attributes,
            group_id=params.get("MessageGroupId"),
            dedup_id=params.get("MessageDeduplicationId"),
        )
    except NotFoundError:
        raise TaskError("SQS.QueueDoesNotExistException", "The specified queue does not exist.") from None
    except ValueError as exc:
        raise TaskError("SQS.InvalidParameterValueException", str(exc)) from None
    return {
        "MD5OfMessageBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "MessageId": message_id,
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
    }


INTEGRATIONS = (Integration("sqs:sendMessage", _send_message, ("sqs:SendMessage",), in_database=True),)
