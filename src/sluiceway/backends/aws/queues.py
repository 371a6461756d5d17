"""Queues on Amazon SQS."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from ...messaging import limits
from ...messaging.queue import QueueAttributes, QueueConfig
from ...messaging.redrive import RedrivePolicy, check_same_type, queue_name
from ...messaging.sqs_attributes import AttributeInput, from_aws, typed_attributes
from ...ports import QueueMessage
from ._errors import translated

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

__all__ = ["SqsQueue"]


def _timestamp_ms(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


class SqsQueue:
    """The :class:`~sluiceway.ports.Queue` port on Amazon SQS.

    Queues are named by name (as on the local backend) or by URL. A name is
    resolved to its URL once with GetQueueUrl and cached. Parameter ranges are
    checked before the call with the same rules as the local queue, so both
    backends raise ``ValueError`` for the same mistakes.

    Args:
        client: an SQS client; a default one is built when omitted.
        queue_urls: known name -> URL pairs (skips GetQueueUrl for them).
    """

    def __init__(self, client: SQSClient | None = None, *, queue_urls: Mapping[str, str] | None = None) -> None:
        self.client: SQSClient = client if client is not None else boto3.client("sqs")
        self._urls: dict[str, str] = dict(queue_urls or {})
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ names

    def queue_url(self, queue: str) -> str:
        """The URL of ``queue`` (a name or a URL).

        Raises:
            NotFoundError: no queue has that name.
        """
        if queue.startswith(("https://", "http://")):
            return queue
        with self._lock:
            cached = self._urls.get(queue)
        if cached is not None:
            return cached
        with translated(f"resolve queue {queue}"):
            url = self.client.get_queue_url(QueueName=queue)["QueueUrl"]
        with self._lock:
            self._urls[queue] = url
        return url

    def queue_arn(self, queue: str) -> str:
        """The ARN of ``queue`` (a name or a URL), as GetQueueAttributes reports it.

        Raises:
            NotFoundError: no such queue.
        """
        url = self.queue_url(queue)
        with translated(f"get the ARN of queue {queue}"):
            attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return attributes["QueueArn"]

    # ----------------------------------------------------------- management

    def create_queue(
        self,
        name: str,
        *,
        visibility_timeout_s: int = 30,
        retention_s: int = 345_600,
        delay_s: int = 0,
        receive_wait_s: int = 0,
        redrive_policy: Mapping[str, Any] | str | RedrivePolicy | None = None,
        fifo: bool = False,
        content_based_dedup: bool = False,
    ) -> QueueConfig:
        """Create a queue, or return the existing one if it has exactly these attributes.

        Takes the same arguments as the local queue's ``create_queue``; the redrive
        policy's dead-letter queue may be a name, a URL or an ARN.

        Returns:
            The queue's configuration.

        Raises:
            ConflictError: the queue exists with other attributes (QueueAlreadyExists).
            NotFoundError: the redrive policy's dead-letter queue does not exist.
            InvalidNameError: the name is not valid for the queue type.
            ValueError: an attribute out of SQS's range, or a DLQ of the other queue type.
        """
        policy = redrive_policy if isinstance(redrive_policy, RedrivePolicy | None) else RedrivePolicy.from_aws(redrive_policy)
        config = QueueConfig(
            name=name,
            fifo=fifo,
            content_based_dedup=content_based_dedup,
            visibility_timeout_s=visibility_timeout_s,
            retention_s=retention_s,
            delay_s=delay_s,
            receive_wait_s=receive_wait_s,
            redrive_policy=policy,
        )
        config.check()
        attributes = {
            "VisibilityTimeout": str(visibility_timeout_s),
            "MessageRetentionPeriod": str(retention_s),
            "DelaySeconds": str(delay_s),
            "ReceiveMessageWaitTimeSeconds": str(receive_wait_s),
        }
        if fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = str(content_based_dedup).lower()
        if policy is not None:
            # SQS takes the DLQ by ARN and, unlike a name, an ARN of a missing queue
            # is not refused everywhere: resolving it first fails the same way locally.
            dlq_url = self.queue_url(policy.dead_letter_queue)
            with translated(f"read dead-letter queue {policy.dead_letter_queue}"):
                dlq = self.client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn", "FifoQueue"])["Attributes"]
            check_same_type(name, fifo, policy.dead_letter_queue, dlq.get("FifoQueue") == "true")
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": policy.max_receive_count})
        with translated(f"create queue {name}"):
            url = self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        with self._lock:
            self._urls[name] = url
        logger.info("queue created", extra={"queue": name})
        return config

    def delete_queue(self, queue: str) -> None:
        """Delete a queue and its messages.

        Raises:
            NotFoundError: no such queue.
        """
        url = self.queue_url(queue)
        with translated(f"delete queue {queue}"):
            self.client.delete_queue(QueueUrl=url)
        with self._lock:
            self._urls.pop(queue, None)
        logger.info("queue deleted", extra={"queue": queue})

    def queue_attributes(self, queue: str) -> QueueAttributes:
        """Counts and settings of ``queue`` (GetQueueAttributes).

        ``oldest_age_s`` is None: SQS reports it only as a CloudWatch metric.

        Raises:
            NotFoundError: no such queue.
        """
        url = self.queue_url(queue)
        with translated(f"get attributes of queue {queue}"):
            attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        policy = RedrivePolicy.from_aws(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else None
        config = QueueConfig(
            name=queue_name(url),
            fifo=attributes.get("FifoQueue") == "true",
            content_based_dedup=attributes.get("ContentBasedDeduplication") == "true",
            visibility_timeout_s=int(attributes.get("VisibilityTimeout", 30)),
            retention_s=int(attributes.get("MessageRetentionPeriod", 345_600)),
            delay_s=int(attributes.get("DelaySeconds", 0)),
            receive_wait_s=int(attributes.get("ReceiveMessageWaitTimeSeconds", 0)),
            redrive_policy=policy,
        )
        return QueueAttributes(
            config=config,
            arn=attributes["QueueArn"],
            created_at=datetime.fromtimestamp(float(attributes.get("CreatedTimestamp", 0)), UTC),
            available=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    # ------------------------------------------------------------- the port

    def send(
        self,
        queue: str,
        body: str,
        *,
        delay_s: int | None = None,
        attributes: Mapping[str, AttributeInput] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Send a message and return SQS's message id.

        Args:
            delay_s: seconds before the message can be received (0-900); None takes
                the queue's delay. SQS refuses a per-message delay on FIFO queues.
            attributes: message attributes; plain strings are ``String`` ones, typed values keep
                their type.
            group_id: ``MessageGroupId``; required on FIFO queues.
            dedup_id: ``MessageDeduplicationId`` (FIFO queues).

        Raises:
            NotFoundError: no such queue.
            ValueError: ``delay_s`` out of range.
        """
        url = self.queue_url(queue)
        kwargs: dict[str, Any] = {}
        if delay_s is not None:
            limits.check_range("DelaySeconds", delay_s, 0, limits.MAX_DELAY_S)
            kwargs["DelaySeconds"] = delay_s
        if attributes:
            kwargs["MessageAttributes"] = {name: value.to_aws() for name, value in typed_attributes(attributes).items()}
        if group_id is not None:
            kwargs["MessageGroupId"] = group_id
        if dedup_id is not None:
            kwargs["MessageDeduplicationId"] = dedup_id
        with translated(f"send to queue {queue}"):
            response = self.client.send_message(QueueUrl=url, MessageBody=body, **kwargs)
        return response["MessageId"]

    def receive(
        self,
        queue: str,
        *,
        max_messages: int = 1,
        visibility_s: int | None = None,
        wait_s: float | None = None,
    ) -> list[QueueMessage]:
        """Receive up to ``max_messages`` visible messages and hide them for the visibility timeout.

        Args:
            max_messages: 1 to 10.
            visibility_s: 0 to 43200; None takes the queue's visibility timeout.
            wait_s: long-poll up to this many seconds (0 to 20, rounded up to whole
                seconds as SQS takes them); None takes the queue's
                ReceiveMessageWaitTimeSeconds.

        Raises:
            NotFoundError: no such queue.
            ValueError: a parameter out of range.
        """
        limits.check_range("MaxNumberOfMessages", max_messages, 1, limits.MAX_RECEIVE_MESSAGES)
        url = self.queue_url(queue)
        kwargs: dict[str, Any] = {}
        if visibility_s is not None:
            limits.check_range("VisibilityTimeout", visibility_s, 0, limits.MAX_VISIBILITY_S)
            kwargs["VisibilityTimeout"] = visibility_s
        if wait_s is not None:
            limits.check_range("WaitTimeSeconds", wait_s, 0, limits.MAX_WAIT_S)
            kwargs["WaitTimeSeconds"] = math.ceil(wait_s)
        with translated(f"receive from queue {queue}"):
            response = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=max_messages,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                **kwargs,
            )
        return [_message(raw) for raw in response.get("Messages", [])]

    def delete(self, queue: str, receipt_handle: str) -> None:
        """Delete a received message.

        Raises:
            NotFoundError: no such queue, or SQS refused the receipt (ReceiptHandleIsInvalid).
                SQS itself accepts a stale receipt of a message received again since
                without deleting it; only a malformed or unknown receipt is refused.
        """
        url = self.queue_url(queue)
        with translated(f"delete a message from queue {queue}"):
            self.client.delete_message(QueueUrl=url, ReceiptHandle=receipt_handle)

    def change_visibility(self, queue: str, receipt_handle: str, visibility_s: int) -> None:
        """Hide a received message for ``visibility_s`` seconds from now (0: visible at once).

        Raises:
            NotFoundError: no such queue, or a receipt SQS refuses.
            ValueError: ``visibility_s`` out of 0-43200.
        """
        limits.check_range("VisibilityTimeout", visibility_s, 0, limits.MAX_VISIBILITY_S)
        url = self.queue_url(queue)
        with translated(f"change visibility in queue {queue}"):
            self.client.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=visibility_s)


def _message(raw: Mapping[str, Any]) -> QueueMessage:
    system = raw.get("Attributes", {})
    # As the local queue gives them: String and Number as their text, Binary in base64.
    attributes = {name: from_aws(name, value).text() for name, value in (raw.get("MessageAttributes") or {}).items()}
    return QueueMessage(
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        attributes=attributes,
        receive_count=int(system.get("ApproximateReceiveCount", 1)),
        sent_at=_timestamp_ms(system.get("SentTimestamp")),
        group_id=system.get("MessageGroupId"),
    )
