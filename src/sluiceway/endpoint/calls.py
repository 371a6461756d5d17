"""AWS API calls made in-process through the endpoint's own operations.

A template's queue is made by the same ``CreateQueue`` a boto3 client reaches over
HTTP: the same validation, the same defaults, the same errors. Only the HTTP framing
is skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import protocol
from .context import Context, HttpRequest, Shared
from .services import operations

if TYPE_CHECKING:
    from ..runtime.stack import Stack

__all__ = ["AwsCalls", "typed"]


def typed(shape: Any, value: Any) -> Any:
    """``value`` with its scalars in the types the operation's model gives them.

    CloudFormation takes ``"5"`` for an integer property and ``"true"`` for a boolean (a
    ``Ref`` to a parameter is always text), and a number for a string; an API call made
    through HTTP gets the same conversion from the protocol layer. ``shape`` is botocore's
    model shape (the protocol layer's; botocore itself is not imported here).
    """
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {key: typed(members.get(key), item) for key, item in value.items()}
    if kind == "list" and isinstance(value, list):
        return [typed(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(key): typed(shape.value, item) for key, item in value.items()}
    if kind in ("integer", "long") and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if kind in ("double", "float") and isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, (int, float)):
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if kind == "timestamp" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


@dataclass
class AwsCalls:
    """``call(service, operation, params)`` against the running stack, as the endpoint serves it."""

    stack: Stack
    shared: Shared
    endpoint_url: str

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The operation's output members; raises :class:`~sluiceway.endpoint.errors.AwsError` as the endpoint would."""
        handler = operations(service).handlers[operation]
        params = typed(protocol.service_model(service).operation_model(operation).input_shape, params)
        context = Context(
            stack=self.stack,
            shared=self.shared,
            request=HttpRequest("POST", "/", "", {}),
            service=service,
            operation=operation,
            region=self.stack.settings.region,
            account_id=self.stack.settings.account_id,
            request_id=str(uuid.uuid4()),
            endpoint_url=self.endpoint_url,
        )
        return handler(context, params) or {}
