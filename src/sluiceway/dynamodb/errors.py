"""DynamoDB's errors, with its codes and its words.

Every refusal of the DynamoDB rules is one :class:`DynamoDbError` carrying the code
AWS answers with (``ValidationException``, ``ConditionalCheckFailedException``...),
so that the endpoint serializes it as AWS does and the metadata table adapter can
translate it into the port's errors in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SluicewayError

__all__ = [
    "SINGLE_WRITES",
    "CancellationReason",
    "DynamoDbError",
    "conditional_check_failed",
    "framed",
    "resource_in_use",
    "resource_not_found",
    "validation",
]


class DynamoDbError(SluicewayError):
    """A request DynamoDB refuses.

    Attributes:
        code: DynamoDB's error code (``ValidationException``, ``ResourceNotFoundException``...).
        message: DynamoDB's message, word for word.
        item: for ``ConditionalCheckFailedException``, the stored item when the request
            asked for it (``ReturnValuesOnConditionCheckFailure=ALL_OLD``).
        reasons: for ``TransactionCanceledException``, one reason per action, in order.
        framed_in: the operations whose request validation answers this refusal framed
            as ``1 validation error detected: ...`` (see :func:`framed`).
        framed_message: the words inside that frame, when they differ from ``message``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        item: Mapping[str, Any] | None = None,
        reasons: Sequence[CancellationReason] = (),
        framed_in: frozenset[str] = frozenset(),
        framed_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.item = dict(item) if item is not None else None
        self.reasons = tuple(reasons)
        self.framed_in = framed_in
        self.framed_message = framed_message

    def message_for(self, operation: str) -> str:
        """The message as ``operation`` words it (framed or not, see :func:`framed`)."""
        if operation not in self.framed_in:
            return self.message
        text = self.framed_message or self.message
        return text if text.startswith(_FRAME) else _FRAME + text

    def __repr__(self) -> str:
        return f"DynamoDbError({self.code!r}, {self.message!r})"


class CancellationReason:
    """Why one action of a transaction did not happen (``Code: None`` when it was not at fault)."""

    def __init__(self, code: str = "None", message: str | None = None, item: Mapping[str, Any] | None = None) -> None:
        self.code = code
        self.message = message
        self.item = dict(item) if item is not None else None

    def to_wire(self) -> dict[str, Any]:
        """The ``CancellationReason`` shape: ``Code``, and ``Message``/``Item`` when there are."""
        reason: dict[str, Any] = {"Code": self.code}
        if self.message is not None:
            reason["Message"] = self.message
        if self.item is not None:
            reason["Item"] = self.item
        return reason


def validation(message: str) -> DynamoDbError:
    """DynamoDB's ``ValidationException``: the request itself is wrong."""
    return DynamoDbError("ValidationException", message)


_FRAME = "1 validation error detected: "

SINGLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
"""The operations whose front validation frames expression and value refusals."""


def framed(error: DynamoDbError, operations: frozenset[str] = SINGLE_WRITES, message: str | None = None) -> DynamoDbError:
    """``error``, answered framed as ``1 validation error detected: ...`` by ``operations``.

    DynamoDB checks some parts of a request in a front validation layer whose messages
    carry that frame, and which layer checks what differs by operation: PutItem,
    UpdateItem and DeleteItem frame unused or empty placeholder maps, empty sets and
    overlapping update paths, while GetItem, Query, Scan and the transactions answer the
    same words bare (Query, but not Scan, frames its Select refusals). ``message`` is the
    framed text when the framed layer words it otherwise.
    """
    error.framed_in = error.framed_in | operations
    if message is not None:
        error.framed_message = message
    return error


def conditional_check_failed(item: Mapping[str, Any] | None = None) -> DynamoDbError:
    """The condition of a write did not hold; nothing was written."""
    return DynamoDbError("ConditionalCheckFailedException", "The conditional request failed", item=item)


def resource_not_found(message: str = "Requested resource not found") -> DynamoDbError:
    return DynamoDbError("ResourceNotFoundException", message)


def resource_in_use(message: str) -> DynamoDbError:
    return DynamoDbError("ResourceInUseException", message)
