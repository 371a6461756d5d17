"""What a stream pipe's dead-letter queue or topic gets for a batch it gave up on.

Pipes' record (its user guide, "pipe DLQ behavior") names the pipe, not a function, and carries
no request or response context: ``{"context": {"partnerResourceArn": <pipe ARN>, "condition":
"RetryAttemptsExhausted" | "RecordAgeExceeded"}, "version": "1.0", "timestamp": ...,
"DDBStreamBatchInfo": {...}}``. The batch information is the one Lambda's record carries, so it
is taken from :func:`~sluiceway.runtime.messaging.streams.failure_record`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...types import EventDict
from ..messaging.streams import failure_record

__all__ = ["pipe_failure_record"]


def pipe_failure_record(pipe_arn: str) -> Callable[..., EventDict]:
    """The builder of ``pipe_arn``'s dead-letter records (a stream mapping's ``failure_record``)."""

    def build(**batch: Any) -> EventDict:
        lambda_record = failure_record(**batch)
        return {
            "context": {"partnerResourceArn": pipe_arn, "condition": batch["condition"]},
            "version": lambda_record["version"],
            "timestamp": lambda_record["timestamp"],
            "DDBStreamBatchInfo": lambda_record["DDBStreamBatchInfo"],
        }

    return build
