"""Calling a route's integration: a Lambda function (proxy), or a REST ``mock``.

A Lambda proxy integration invokes the function synchronously through the stack's invoker and
maps the outcome as API Gateway does: a function error or a malformed result is the function's
fault (REST 502, HTTP API 500), a function that cannot be invoked is the API's (500), and an
invocation cut off by the integration's timeout (29 s REST, 30 s HTTP API) is a gateway timeout
(REST 504 "Endpoint request timed out", HTTP API 503 "Service Unavailable").
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from ...ports import Invocation
from ...ports.functions import FunctionInvoker
from .model import Integration

logger = logging.getLogger(__name__)

__all__ = ["LambdaOutcome", "invoke_proxy", "mock_response"]

#: Invoke's own refusals: the function could not run at all (no such function, payload too large).
_NOT_RUN = frozenset({"ResourceNotFoundException", "ValidationException", "InvalidRequestContentException"})


@dataclass(frozen=True)
class LambdaOutcome:
    problem: Literal["", "function_error", "integration_error", "timeout", "too_large"]
    payload: Any = None


def invoke_proxy(invoker: FunctionInvoker, integration: Integration, event: dict[str, Any]) -> LambdaOutcome:
    """Invoke the integration's function with ``event``; its result or what went wrong."""
    request_id = str(uuid.uuid4())
    started = time.monotonic()
    result = invoker.invoke(
        Invocation(function_name=str(integration.function_arn), payload=event, request_id=request_id, timeout_s=integration.timeout_s)
    )
    if result.ok:
        return LambdaOutcome("", result.payload)
    elapsed = time.monotonic() - started
    logger.warning(
        "api integration: the function failed",
        extra={"function": integration.function_arn, "error_type": result.error_type, "error_message": result.error_message},
    )
    if result.error_type == "RequestEntityTooLargeException":
        return LambdaOutcome("too_large")
    if result.error_type in _NOT_RUN:
        return LambdaOutcome("integration_error")
    if result.error_type == "Sandbox.Timedout" and elapsed >= integration.timeout_s * 0.95:
        return LambdaOutcome("timeout")
    return LambdaOutcome("function_error")


def mock_response(integration: Integration) -> tuple[int, dict[str, str], str] | None:
    """The mock's integration response: the one whose selection pattern matches its status, else the default."""
    status = str(integration.mock_status)
    default = None
    for response in integration.mock_responses:
        if response.selection_pattern is None:
            default = response
        elif re.fullmatch(response.selection_pattern, status):
            return response.status, dict(response.headers), response.body
    if default is None:
        return None
    return default.status, dict(default.headers), default.body
