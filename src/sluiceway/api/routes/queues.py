"""SQS: each queue's depth, messages in flight and dead-letter queue; redrive a dead-letter queue (operator).

There is no route to preview a dead-letter queue's messages: SQS cannot show a message without
receiving it, and receiving one hides it from consumers and counts toward its maxReceiveCount.
A preview would change what it shows, so there is none.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..aws import Aws, AwsCallError
from ..schemas import QueueDetail, QueueList, QueueRedriveRequest, QueueRedriveTask
from ._deps import AwsApi, Operator, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["queues"])

#: SQS's queue names: 1 to 80 alphanumerics, hyphens and underscores (and .fifo).
QueueName = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$")]
_ATTRIBUTES = [
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "RedrivePolicy",
]


def _attributes(aws: Aws, url: str) -> dict[str, str]:
    found: dict[str, str] = aws.call("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": _ATTRIBUTES}).get("Attributes", {})
    return found


def _name_of(url_or_arn: str) -> str:
    return url_or_arn.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def _detail(aws: Aws, url: str) -> dict[str, Any]:
    attributes = _attributes(aws, url)
    name = _name_of(url)
    out: dict[str, Any] = {
        "name": name,
        "url": url,
        "arn": attributes.get("QueueArn", ""),
        "fifo": name.endswith(".fifo"),
        "messages": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        "deadLetterQueue": None,
    }
    policy = json.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else None
    if isinstance(policy, dict) and policy.get("deadLetterTargetArn"):
        arn = str(policy["deadLetterTargetArn"])
        dlq: dict[str, Any] = {"name": _name_of(arn), "arn": arn, "maxReceiveCount": int(policy.get("maxReceiveCount", 0))}
        try:
            dlq_url = aws.call("sqs", "GetQueueUrl", {"QueueName": dlq["name"]})["QueueUrl"]
            dlq["url"] = dlq_url
            dlq["messages"] = int(_attributes(aws, dlq_url).get("ApproximateNumberOfMessages", 0))
        except AwsCallError as error:
            # A redrive policy may name a queue since deleted: shown, with no depth.
            if error.code not in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"):
                raise
        out["deadLetterQueue"] = dlq
    return out


@router.get("/queues", response_model=QueueList, responses=errors())
def list_queues(
    aws: AwsApi,
    _: Viewer,
    prefix: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    nextToken: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    maxResults: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    params: dict[str, Any] = {"MaxResults": maxResults}
    if prefix:
        params["QueueNamePrefix"] = prefix
    if nextToken:
        params["NextToken"] = nextToken
    page = aws.call("sqs", "ListQueues", params)
    queues = []
    for url in page.get("QueueUrls", []):
        try:
            queues.append(_detail(aws, url))
        except AwsCallError as error:
            if error.code not in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"):
                raise  # deleted between the listing and its attributes: left out
    return {"queues": queues, "nextToken": page.get("NextToken")}


def _url(aws: Aws, name: str) -> str:
    return str(aws.call("sqs", "GetQueueUrl", {"QueueName": name})["QueueUrl"])


@router.get("/queues/{name}", response_model=QueueDetail, responses=errors(404))
def get_queue(aws: AwsApi, _: Viewer, name: QueueName) -> dict[str, Any]:
    return _detail(aws, _url(aws, name))


@router.post("/queues/{name}/redrive", status_code=202, response_model=QueueRedriveTask, responses=errors(404, 409))
def redrive_queue(aws: AwsApi, _: Operator, name: QueueName, body: QueueRedriveRequest | None = None) -> dict[str, Any]:
    """Move a dead-letter queue's messages back (StartMessageMoveTask).

    ``name`` is either a queue with a redrive policy (its dead-letter queue's messages move back
    to it) or a dead-letter queue (its messages move back to the queues they came from).
    """
    detail = _detail(aws, _url(aws, name))
    params: dict[str, Any] = {}
    if detail["deadLetterQueue"] is not None:
        params["SourceArn"] = detail["deadLetterQueue"]["arn"]
        params["DestinationArn"] = detail["arn"]
    else:
        params["SourceArn"] = detail["arn"]
    if body is not None and body.maxNumberOfMessagesPerSecond is not None:
        params["MaxNumberOfMessagesPerSecond"] = body.maxNumberOfMessagesPerSecond
    task = aws.call("sqs", "StartMessageMoveTask", params)
    return {"taskHandle": task["TaskHandle"], "sourceArn": params["SourceArn"], "destinationArn": params.get("DestinationArn")}
