"""The one error the queue rules raise for a message SQS would refuse."""

from __future__ import annotations

__all__ = ["InvalidMessageError"]


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
