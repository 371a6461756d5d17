"""The errors the messaging rules raise for a request SQS or SNS would refuse.

Both are a caller's mistake, so ``ValueError``; each carries the service's error
code so that the AWS-compatible endpoint and batch calls can report it as AWS does.
"""

from __future__ import annotations

from ..errors import ConflictError, NotFoundError

__all__ = [
    "DeadLetterTargetError",
    "InvalidMessageError",
    "InvalidParameterError",
    "MessageGoneError",
    "ParameterValueInvalidError",
    "PurgeInProgressError",
    "QueueDoesNotExistError",
    "ReceiptHandleInvalidError",
    "StaleReceiptError",
]


class InvalidMessageError(ValueError):
    """A message, a batch entry or a batch request that SQS would refuse.

    A caller's mistake, so a ``ValueError``; it carries SQS's error code so that
    batch calls can report a bad entry per entry, as SQS does, instead of failing
    the whole batch.

    Attributes:
        code: SQS's error code, e.g. ``InvalidMessageContents``, ``MissingParameter``,
            ``InvalidParameterValue``, ``TooManyEntriesInBatchRequest``.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class InvalidParameterError(ValueError):
    """A request SNS would refuse with ``InvalidParameter`` (a caller's mistake).

    The message is SNS's own text where we know it, e.g.
    ``Invalid parameter: Attributes Reason: FilterPolicy: Filter policy is too complex``.
    """

    code: str = "InvalidParameter"


class ParameterValueInvalidError(InvalidParameterError):
    """A message attribute SNS refuses with ``ParameterValueInvalid`` (its name, type or value)."""

    code = "ParameterValueInvalid"


class QueueDoesNotExistError(NotFoundError):
    """No queue of that name (SQS's ``QueueDoesNotExist``)."""


class ReceiptHandleInvalidError(NotFoundError):
    """A receipt handle that is malformed, of another queue, or stale (SQS's ``ReceiptHandleIsInvalid``)."""


class StaleReceiptError(ReceiptHandleInvalidError):
    """A receipt of this queue whose receive is over: the message was received again since, or moved
    to its dead-letter queue.

    The local queue refuses it, so that a caller knows its delete or visibility change did not
    happen; SQS's answer to it is success (DeleteMessage's documentation: with an old receipt
    handle "the request will succeed, but the message might not be deleted").
    """


class MessageGoneError(NotFoundError):
    """A receipt of a message that no longer exists (deleted, purged, expired), where SQS refuses one:
    ChangeMessageVisibility's ``InvalidParameterValue``."""


class DeadLetterTargetError(NotFoundError):
    """A redrive policy naming a dead-letter queue that does not exist (SQS's ``InvalidParameterValue``)."""


class PurgeInProgressError(ConflictError):
    """A PurgeQueue within 60 seconds of the queue's last one (SQS's ``PurgeQueueInProgress``)."""
