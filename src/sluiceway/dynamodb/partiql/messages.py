"""The engine's refusals of a planned request, worded for the PartiQL statement they came from.

A statement runs as a native request whose expressions the user never wrote, so the
engine's prefixes that name them ("Invalid FilterExpression: ", "ExpressionAttributeValues
contains invalid value: ") and the placeholders it names (" for key :v0") would point at
nothing the user sent. The detail after them is kept. AWS's exact PartiQL wording of these
refusals is unrecorded: this keeps DynamoDB's detail and drops only what names the native
request.
"""

from __future__ import annotations

import re

from ..errors import DynamoDbError

__all__ = ["reworded"]

_PREFIX = re.compile(
    r"^(?:Invalid (?:FilterExpression|ConditionExpression|KeyConditionExpression|UpdateExpression|ProjectionExpression): "
    r"|ExpressionAttribute(?:Values|Names) contains invalid (?:value|key): )"
)
_PLACEHOLDER = re.compile(r" for key [:#][nv]\d+$")


def reworded(error: DynamoDbError) -> DynamoDbError:
    """``error`` with the native request's names taken out of its message (other errors as they are)."""
    if error.code != "ValidationException":
        return error
    message = _PLACEHOLDER.sub("", _PREFIX.sub("", error.message))
    if message == error.message:
        return error
    framed = error.framed_message
    if framed is not None:
        framed = _PLACEHOLDER.sub("", _PREFIX.sub("", framed.removeprefix("1 validation error detected: ")))
    return DynamoDbError(error.code, message, item=error.item, reasons=error.reasons, framed_in=error.framed_in, framed_message=framed)
