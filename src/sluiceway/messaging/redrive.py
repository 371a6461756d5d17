"""Dead-letter queues: the redrive policy, its receive-count rule, and queue references.

SQS's rule: a message whose ``ApproximateReceiveCount`` has reached
``maxReceiveCount`` is not delivered again; on its next receive it moves to the
dead-letter queue instead, keeping its body, attributes, id and receive count.
(Standard queues keep the original enqueue time, so the DLQ's retention counts
from the first send; FIFO queues reset it.) A message move task
(StartMessageMoveTask) sends them back as new messages: new id, new enqueue time,
receive count zero.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .limits import MAX_RECEIVE_COUNT

__all__ = ["RedrivePolicy", "check_same_type", "queue_arn", "queue_name"]


def queue_name(ref: str) -> str:
    """The queue name in ``ref``: a name, an ARN (``arn:aws:sqs:region:account:name``) or a URL."""
    if ref.startswith("arn:"):
        return ref.rsplit(":", 1)[-1]
    if ref.startswith(("http://", "https://")):
        return ref.rstrip("/").rsplit("/", 1)[-1]
    return ref


def queue_arn(name: str, *, region: str, account_id: str) -> str:
    """The ARN SQS gives queue ``name`` in ``region`` and ``account_id``."""
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def check_same_type(source: str, source_fifo: bool, target: str, target_fifo: bool) -> None:
    """Raise ``ValueError`` unless both queues are FIFO or both standard (SQS requires it)."""
    if source_fifo != target_fifo:
        kinds = {True: "a FIFO queue", False: "a standard queue"}
        raise ValueError(
            f"{source} is {kinds[source_fifo]} but {target} is {kinds[target_fifo]}:"
            " both must be of the same type"
        )


@dataclass(frozen=True)
class RedrivePolicy:
    """Where a queue's poison messages go, and after how many receives."""

    dead_letter_queue: str
    """The dead-letter queue's name."""
    max_receive_count: int
    """Receives a message may have before its next receive moves it to the DLQ (1..1000)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_receive_count, bool) or not isinstance(self.max_receive_count, int):
            raise ValueError("maxReceiveCount must be an integer")
        if not 1 <= self.max_receive_count <= MAX_RECEIVE_COUNT:
            raise ValueError(
                f"Value {self.max_receive_count} for parameter RedrivePolicy is invalid. "
                f"Reason: maxReceiveCount must be between 1 and {MAX_RECEIVE_COUNT}."
            )
        if not self.dead_letter_queue:
            raise ValueError("RedrivePolicy needs a dead-letter queue")

    @classmethod
    def from_aws(cls, doc: Mapping[str, Any] | str) -> RedrivePolicy:
        """Parse SQS's ``RedrivePolicy`` (a mapping or its JSON text).

        ``deadLetterTargetArn`` may be an ARN, a URL or a plain name; ``deadLetterQueue``
        (a name) is accepted as well. ``maxReceiveCount`` may be a number or a numeric
        string, as SQS accepts both.

        Raises:
            ValueError: a missing or unknown key, or a count out of range.
        """
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except json.JSONDecodeError as exc:
                raise ValueError(f"RedrivePolicy is not valid JSON: {exc}") from exc
        if not isinstance(doc, Mapping):
            raise ValueError("RedrivePolicy must be an object")
        unknown = set(doc) - {"deadLetterTargetArn", "deadLetterQueue", "maxReceiveCount"}
        if unknown:
            raise ValueError(f"RedrivePolicy holds unknown keys: {', '.join(sorted(unknown))}")
        target = doc.get("deadLetterTargetArn", doc.get("deadLetterQueue"))
        if not isinstance(target, str) or not target:
            raise ValueError("Redrive policy does not contain deadLetterTargetArn")
        if "maxReceiveCount" not in doc:
            raise ValueError("Redrive policy does not contain maxReceiveCount")
        count = doc["maxReceiveCount"]
        if isinstance(count, str) and count.strip().isdigit():
            count = int(count)
        return cls(dead_letter_queue=queue_name(target), max_receive_count=count)

    def to_aws(self, *, region: str, account_id: str) -> dict[str, Any]:
        """SQS's ``RedrivePolicy`` document for this policy."""
        return {
            "deadLetterTargetArn": queue_arn(
                self.dead_letter_queue, region=region, account_id=account_id
            ),
            "maxReceiveCount": self.max_receive_count,
        }

    def exhausted(self, receive_count: int) -> bool:
        """Whether a message received ``receive_count`` times goes to the DLQ when received next."""
        return receive_count >= self.max_receive_count
