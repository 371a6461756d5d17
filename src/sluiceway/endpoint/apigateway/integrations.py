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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...ports import Invocation
from ...ports.functions import FunctionInvoker
from .model import Integration
from .request_values import context_or_stage_value

logger = logging.getLogger(__name__)

__all__ = ["TENANT_PARAMETER", "LambdaOutcome", "invoke_proxy", "mapped_tenant", "mock_response"]


@dataclass(frozen=True)
class LambdaOutcome:
    problem: Literal["", "function_error", "integration_error", "timeout", "too_large"]
    payload: Any = None


def invoke_proxy(
    invoker: FunctionInvoker, integration: Integration, event: dict[str, Any], *, tenant_id: str | None = None
) -> LambdaOutcome:
    """Invoke the integration's function with ``event``; its result or what went wrong.

    ``tenant_id`` is the ``X-Amz-Tenant-Id`` header a REST integration's request parameters map
    (``integration.request.header.X-Amz-Tenant-Id``): Lambda's ``TenantId``. A function with tenant
    isolation invoked without one (or one without it invoked with one) refuses: an integration error.
    """
    request_id = str(uuid.uuid4())
    started = time.monotonic()
    result = invoker.invoke(
        Invocation(
            function_name=str(integration.function_arn),
            payload=event,
            request_id=request_id,
            timeout_s=integration.timeout_s,
            tenant_id=tenant_id,
        )
    )
    if result.ok:
        return LambdaOutcome("", result.payload)
    elapsed = time.monotonic() - started
    logger.warning(
        "api integration: the function failed",
        extra={"function": integration.function_arn, "error_type": result.error_type, "error_message": result.error_message},
    )
    # Invoke's own refusals (the flag, not the code: a handler's own exception of the same name is a
    # function error): the function could not run at all; a payload too large is told apart.
    if result.refused and result.error_type == "RequestEntityTooLargeException":
        return LambdaOutcome("too_large")
    # A throttle stays a function error: API Gateway's answer to a throttled Lambda was not confirmed.
    if result.refused and result.error_type != "TooManyRequestsException":
        return LambdaOutcome("integration_error")
    if result.error_type == "Sandbox.Timedout" and elapsed >= integration.timeout_s * 0.95:
        return LambdaOutcome("timeout")
    return LambdaOutcome("function_error")


TENANT_PARAMETER = "integration.request.header.X-Amz-Tenant-Id"
"""The REST integration request parameter that becomes Lambda's ``TenantId`` (HTTP APIs cannot set it)."""


def mapped_tenant(
    integration: Integration,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    path_parameters: Mapping[str, str],
    *,
    context: Mapping[str, Any] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> str | None:
    """The tenant a REST Lambda integration's ``X-Amz-Tenant-Id`` mapping gives the request, or None.

    The mapping names a method request parameter (``method.request.header.x-tenant-id``,
    ``method.request.querystring.tenant``, ``method.request.path.tenant``), a context variable
    (``context.authorizer.tenantId``: what the request's authorizer verified), a stage variable
    (``stageVariables.tenant``) or a static ``'value'``; a value the request lacks sends no header.
    ``headers`` are keyed in lower case; ``context`` is ``$context`` as a nested mapping.
    """
    source = integration.parameters.get(TENANT_PARAMETER)
    if source is None:
        return None
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith(("context.", "stageVariables.")):
        return context_or_stage_value(source, context or {}, stage_variables or {})
    for prefix, values, lower in (
        ("method.request.header.", headers, True),
        ("method.request.querystring.", query, False),
        ("method.request.path.", path_parameters, False),
    ):
        if source.startswith(prefix):
            name = source[len(prefix) :]
            return values.get(name.lower() if lower else name)
    return None


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
