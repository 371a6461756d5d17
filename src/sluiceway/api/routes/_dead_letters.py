"""Dead-letter queues: the SQS queues something sends its failures to, and what sends them.

Three things name a dead-letter queue: a queue's RedrivePolicy (SQS moves a message there after
maxReceiveCount receives), an EventBridge target's DeadLetterConfig (the events a rule could not
deliver) and a function's DeadLetterConfig (its failed asynchronous invocations). SQS itself knows
only the first (ListDeadLetterSourceQueues); the others are read from the rules and the functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..aws import Aws, AwsCallError
from ._paging import paged

__all__ = ["QUEUE_NOT_FOUND", "Senders", "dead_letter_targets", "name_of", "queue_attributes", "has_senders", "queue_urls", "senders_to"]

#: SQS's codes for a queue that does not exist (JSON protocol, then query protocol).
QUEUE_NOT_FOUND = ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
Senders = dict[str, list[dict[str, str]]]
"""Dead-letter queue ARN -> what sends to it: ``{"type": "AWS::SQS::Queue", "name": ...}``."""


def name_of(url_or_arn: str) -> str:
    """A queue's name from its URL or ARN."""
    return url_or_arn.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def queue_attributes(aws: Aws, url: str, names: list[str]) -> dict[str, str] | None:
    """The queue's attributes; None when it was deleted since it was listed."""
    try:
        found: dict[str, str] = aws.call("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": names}).get("Attributes", {})
    except AwsCallError as error:
        if error.code in QUEUE_NOT_FOUND:
            return None
        raise
    return found


def queue_urls(aws: Aws) -> list[str]:
    """Every queue's URL (ListQueues, 1000 a page)."""
    return [str(u) for u in paged(aws, "sqs", "ListQueues", {"MaxResults": 1000}, "QueueUrls")]


def _is_queue_arn(arn: Any) -> bool:
    # Only SQS queues are dead-letter queues here; a function's dead-letter target may also be an SNS topic.
    return isinstance(arn, str) and arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]


def _rule_and_function_senders(aws: Aws) -> Iterator[tuple[str, dict[str, str]]]:
    """``(dead-letter queue ARN, sender)`` of every rule's target and every function with a DeadLetterConfig."""
    for bus in paged(aws, "events", "ListEventBuses", {}, "EventBuses"):
        for rule in paged(aws, "events", "ListRules", {"EventBusName": bus["Name"]}, "Rules"):
            for target in paged(aws, "events", "ListTargetsByRule", {"Rule": rule["Name"], "EventBusName": bus["Name"]}, "Targets"):
                arn = (target.get("DeadLetterConfig") or {}).get("Arn")
                if _is_queue_arn(arn):
                    yield str(arn), {"type": "AWS::Events::Rule", "name": f"{bus['Name']}/{rule['Name']}"}
    for function in paged(aws, "lambda", "ListFunctions", {}, "Functions", "NextMarker", "Marker"):
        arn = (function.get("DeadLetterConfig") or {}).get("TargetArn")
        if _is_queue_arn(arn):
            yield str(arn), {"type": "AWS::Lambda::Function", "name": str(function["FunctionName"])}


def _sorted(senders: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(senders, key=lambda s: (s["type"], s["name"]))


def dead_letter_targets(aws: Aws, urls: list[str]) -> Senders:
    """Every dead-letter queue with what sends to it, from the queues at ``urls``, the rules and the functions."""
    targets: Senders = {}
    for url in urls:
        attributes = queue_attributes(aws, url, ["RedrivePolicy"])
        policy = json.loads(attributes["RedrivePolicy"]) if attributes and attributes.get("RedrivePolicy") else None
        if isinstance(policy, dict) and _is_queue_arn(policy.get("deadLetterTargetArn")):
            targets.setdefault(policy["deadLetterTargetArn"], []).append({"type": "AWS::SQS::Queue", "name": name_of(url)})
    for arn, sender in _rule_and_function_senders(aws):
        targets.setdefault(arn, []).append(sender)
    return {arn: _sorted(senders) for arn, senders in targets.items()}


def senders_to(aws: Aws, url: str, arn: str) -> list[dict[str, str]]:
    """What sends its failures to the queue at ``url`` (ARN ``arn``); empty: it is no dead-letter queue.

    The queues come from ListDeadLetterSourceQueues (one call a page rather than every queue's
    attributes), the rules' targets and the functions as for :func:`dead_letter_targets`.
    """
    sources = paged(aws, "sqs", "ListDeadLetterSourceQueues", {"QueueUrl": url, "MaxResults": 1000}, "queueUrls")
    senders = [{"type": "AWS::SQS::Queue", "name": name_of(str(source))} for source in sources]
    senders.extend(sender for target, sender in _rule_and_function_senders(aws) if target == arn)
    return _sorted(senders)


def has_senders(aws: Aws, url: str, arn: str) -> bool:
    """Whether anything sends its failures to the queue: :func:`senders_to`, stopping at the first
    (a preview asks before each receive; an account's every rule need not be read for it)."""
    if aws.call("sqs", "ListDeadLetterSourceQueues", {"QueueUrl": url, "MaxResults": 1}).get("queueUrls"):
        return True
    return any(target == arn for target, _ in _rule_and_function_senders(aws))
