"""SQS: each queue's depth, messages in flight and dead-letter queue; redrive a dead-letter queue and preview its messages (operator).

SQS cannot show a message without receiving it. The preview receives as the SQS console's "Poll
for messages" does, with a visibility timeout of 0 so that the messages stay visible to other
consumers; like the console's, it raises each message's ApproximateReceiveCount. That is why it
is for dead-letter queues only (:mod:`._dead_letters`: a queue's, a rule target's or a function's)
without a redrive policy of their own (a receive from such a queue counts toward its
maxReceiveCount and could move a message on), and needs the operator role (AWS's console needs
sqs:ReceiveMessage, a permission of consumers, not of read-only users).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..aws import Aws, AwsCallError
from ..errors import ApiError
from ..schemas import DeadLetterSources, QueueDetail, QueueList, QueueMessages, QueueRedriveRequest, QueueRedriveTask
from ._dead_letters import QUEUE_NOT_FOUND, has_senders, name_of, senders_to
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


def _detail(aws: Aws, url: str) -> dict[str, Any]:
    attributes = _attributes(aws, url)
    name = name_of(url)
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
        dlq: dict[str, Any] = {"name": name_of(arn), "arn": arn, "maxReceiveCount": int(policy.get("maxReceiveCount", 0))}
        try:
            dlq_url = aws.call("sqs", "GetQueueUrl", {"QueueName": dlq["name"]})["QueueUrl"]
            dlq["url"] = dlq_url
            dlq["messages"] = int(_attributes(aws, dlq_url).get("ApproximateNumberOfMessages", 0))
        except AwsCallError as error:
            # A redrive policy may name a queue since deleted: shown, with no depth.
            if error.code not in QUEUE_NOT_FOUND:
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
            if error.code not in QUEUE_NOT_FOUND:
                raise  # deleted between the listing and its attributes: left out
    return {"queues": queues, "nextToken": page.get("NextToken")}


def _url(aws: Aws, name: str) -> str:
    return str(aws.call("sqs", "GetQueueUrl", {"QueueName": name})["QueueUrl"])


@router.get("/queues/{name}", response_model=QueueDetail, responses=errors(404))
def get_queue(aws: AwsApi, _: Viewer, name: QueueName) -> dict[str, Any]:
    return _detail(aws, _url(aws, name))


@router.get("/queues/{name}/dead-letter-sources", response_model=DeadLetterSources, responses=errors(404))
def dead_letter_sources(aws: AwsApi, _: Viewer, name: QueueName) -> dict[str, Any]:
    """What sends its failures to this queue: queues (ListDeadLetterSourceQueues), rules' targets and functions (DeadLetterConfig).

    Only the queues' messages can be redriven (SQS moves messages back to the queue they came from).
    """
    url = _url(aws, name)
    return {"queueName": name, "sources": senders_to(aws, url, _attributes(aws, url).get("QueueArn", ""))}


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


#: A preview shows this much of a body (UTF-8 bytes); a message may hold 256 KiB.
PREVIEW_BODY_BYTES = 2048


@router.get("/queues/{name}/messages", response_model=QueueMessages, responses=errors(404, 409))
def preview_messages(
    aws: AwsApi,
    _: Operator,
    name: QueueName,
    max: Annotated[int, Query(ge=1, le=10, description="ReceiveMessage's MaxNumberOfMessages")] = 10,  # noqa: A002  # the query's name
) -> dict[str, Any]:
    """Up to ``max`` messages of a dead-letter queue, received with VisibilityTimeout=0 (they stay visible).

    As the SQS console's "Poll for messages", this is a receive: each message's
    ApproximateReceiveCount goes up by one. Messages are sampled, not paged: SQS picks them.

    Raises:
        409 NotADeadLetterQueue: nothing sends its failures to this queue (no queue's redrive
            policy, rule target or function names it), or this queue has a redrive policy of its
            own (receiving would count toward moving its messages on).
    """
    url = _url(aws, name)
    attributes = _attributes(aws, url)
    if attributes.get("RedrivePolicy"):
        raise ApiError(
            409, "NotADeadLetterQueue", f"{name} has a redrive policy: a preview's receive would count toward moving its messages on"
        )
    if not has_senders(aws, url, attributes.get("QueueArn", "")):
        raise ApiError(
            409,
            "NotADeadLetterQueue",
            f"{name} is no queue's, rule target's or function's dead-letter queue: previewing it would count toward its messages' receives",
        )
    received = aws.call(
        "sqs",
        "ReceiveMessage",
        {
            "QueueUrl": url,
            "MaxNumberOfMessages": max,
            "VisibilityTimeout": 0,
            "WaitTimeSeconds": 0,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        },
    )
    return {"queueName": name, "messages": [_preview(m) for m in received.get("Messages", [])]}


def _preview(message: dict[str, Any]) -> dict[str, Any]:
    encoded = str(message.get("Body", "")).encode("utf-8")
    # Cut on a character boundary: a multi-byte character split by the limit is left out whole.
    body = encoded[:PREVIEW_BODY_BYTES].decode("utf-8", errors="ignore")
    attributes = {str(k): str(v) for k, v in (message.get("Attributes") or {}).items()}
    sent = attributes.get("SentTimestamp")
    count = attributes.get("ApproximateReceiveCount")
    return {
        "messageId": message["MessageId"],
        "body": body,
        "bodyTruncated": len(encoded) > PREVIEW_BODY_BYTES,
        "bodySize": len(encoded),
        "md5OfBody": message.get("MD5OfBody"),
        "sentTimestamp": datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and sent.isdigit() else None,
        "approximateReceiveCount": int(count) if count and count.isdigit() else None,
        "attributes": attributes,
        "messageAttributes": {str(k): _attribute(v) for k, v in (message.get("MessageAttributes") or {}).items()},
    }


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    if isinstance(binary, (bytes, bytearray)):
        binary = base64.b64encode(bytes(binary)).decode("ascii")
    return {"dataType": value.get("DataType", "String"), "stringValue": value.get("StringValue"), "binaryValue": binary}
