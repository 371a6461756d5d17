"""SNS: ``sns:publish`` (with ``.waitForTaskToken``: the message carries the token, the answer comes later)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ....asl.commands import InvokeTask
from ....types import JSON
from .base import Integration, TaskError, TaskPorts

__all__ = ["INTEGRATIONS"]


def _publish(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    topic = params.get("TopicArn") or params.get("TargetArn")
    if not isinstance(topic, str):
        raise TaskError("SNS.InvalidParameterException", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
    message = params.get("Message")
    if message is None:
        raise TaskError("SNS.InvalidParameterException", "Invalid parameter: Message Reason: no value for required parameter")
    text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
    attributes: dict[str, str] = {}
    for key, value in (params.get("MessageAttributes") or {}).items():
        if isinstance(value, Mapping):
            attributes[key] = str(value.get("StringValue", value.get("BinaryValue", "")))
    subject = params.get("Subject")
    message_id = ports.topic.publish(topic, text, subject=subject if isinstance(subject, str) else None, attributes=attributes)
    return {
        "MessageId": message_id,
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
    }


INTEGRATIONS = (Integration("sns:publish", _publish, ("sns:Publish",), in_database=True),)
