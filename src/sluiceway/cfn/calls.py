"""AWS API calls made in-process through the endpoint's own operations.

A template's queue is made by the same ``CreateQueue`` a boto3 client reaches over
HTTP: the same validation, the same defaults, the same errors. Only the HTTP framing
is skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..endpoint.context import Context, HttpRequest, Shared
from ..endpoint.services import operations

if TYPE_CHECKING:
    from ..runtime.stack import Stack

__all__ = ["AwsCalls"]


@dataclass
class AwsCalls:
    """``call(service, operation, params)`` against the running stack, as the endpoint serves it."""

    stack: Stack
    shared: Shared
    endpoint_url: str

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The operation's output members; raises :class:`~sluiceway.endpoint.errors.AwsError` as the endpoint would."""
        handler = operations(service).handlers[operation]
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
