"""Topics on Amazon SNS."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3

from ...errors import InvalidNameError
from ...names import check_name
from ._errors import translated

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = logging.getLogger(__name__)

__all__ = ["SnsTopic"]

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


class SnsTopic:
    """A :class:`~sluiceway.ports.Topic` on Amazon SNS.

    ``topic`` may be an ARN or a bare name. A name is resolved to its ARN once
    with CreateTopic (idempotent: it returns the existing topic's ARN) and the
    answer is cached; pass ``topic_arns`` to skip that call for known topics (or
    when the caller may not create topics).

    Args:
        client: an SNS client; a default one is built when omitted.
        topic_arns: known name -> ARN pairs.
    """

    def __init__(
        self, client: SNSClient | None = None, *, topic_arns: Mapping[str, str] | None = None
    ) -> None:
        self.client: SNSClient = client if client is not None else boto3.client("sns")
        self._arns: dict[str, str] = dict(topic_arns or {})
        self._lock = threading.Lock()

    def topic_arn(self, topic: str) -> str:
        """The ARN of ``topic`` (a name or an ARN).

        Raises:
            InvalidNameError: ``topic`` is neither a valid topic name nor an SNS topic ARN.
        """
        if topic.startswith("arn:"):
            if not _TOPIC_ARN.match(topic):
                raise InvalidNameError(f"invalid SNS topic ARN {topic!r}")
            return topic
        with self._lock:
            cached = self._arns.get(topic)
        if cached is not None:
            return cached
        check_name(topic, what="topic name")
        with translated(f"resolve topic {topic}"):
            arn = self.client.create_topic(Name=topic)["TopicArn"]
        with self._lock:
            self._arns[topic] = arn
        return arn

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Publish ``message`` to ``topic`` (a name or an ARN) and return SNS's message id.

        ``attributes`` become String message attributes, which subscribers' filter
        policies can match.
        """
        arn = self.topic_arn(topic)
        kwargs: dict[str, Any] = {}
        if subject is not None:
            kwargs["Subject"] = subject
        if attributes:
            kwargs["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": value}
                for name, value in attributes.items()
            }
        with translated(f"publish to topic {topic}"):
            response = self.client.publish(TopicArn=arn, Message=message, **kwargs)
        message_id = response["MessageId"]
        logger.info(
            "notification published",
            extra={"topic": topic, "subject": subject, "message_id": message_id},
        )
        return message_id
