"""The ``$context`` variables of one answered request, as API Gateway offers them to access logs.

The gateway notes what it learns while serving (:class:`Exchange`: the stage, the routed request,
the integration's latency and status); once the response is made, :func:`access_variables` joins
that with the response. What a request never reached (no route matched, no integration ran) is
absent, and the format writes ``-`` for it, as API Gateway does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..context import HttpResponse, Stream
from .events import RequestView, request_time
from .model import Api, Stage

__all__ = ["Exchange", "access_variables"]


@dataclass
class Exchange:
    """What serving one request learnt, filled in step by step (mutable: it belongs to one request)."""

    api: Api
    request_id: str
    extended_request_id: str
    method: str
    path: str
    """The request's path after the API's id (``/Prod/items/1``)."""
    user_agent: str
    time_ms: int
    started: float
    """``time.monotonic()`` when the request arrived (for ``responseLatency``)."""
    stage: Stage | None = None
    view: RequestView | None = None
    """The request as routed (and authorized); None when it was answered before a route matched."""
    integration_latency_ms: int | None = None
    integration_status: int | None = None
    """The status the integration's service answered (Lambda's invoke: 200)."""
    integration_answered: bool = False
    """The response is the integration's (False: API Gateway answered itself)."""
    integration_error: str = ""
    response_type: str | None = None
    """The gateway response type of API Gateway's own answer (``MISSING_AUTHENTICATION_TOKEN``, ``THROTTLED``, ...)."""


def access_variables(exchange: Exchange, base: dict[str, Any], response: HttpResponse, latency_ms: int) -> dict[str, Any]:
    """The ``$context`` variables for the access log line of ``exchange`` answered with ``response``.

    ``base`` holds the request's mapping variables (``identity``, ``authorizer``, ``path``, ...)
    when it was routed; it is extended, not replaced.
    """
    api = exchange.api
    view = exchange.view
    out: dict[str, Any] = {
        "accountId": api.account_id, "apiId": api.api_id, "requestId": exchange.request_id,
        "extendedRequestId": exchange.extended_request_id, "httpMethod": exchange.method,
        "requestTime": request_time(exchange.time_ms), "requestTimeEpoch": exchange.time_ms,
        "protocol": "HTTP/1.1", "path": exchange.path,
        "identity": {"sourceIp": "127.0.0.1", "userAgent": exchange.user_agent},
        "stage": exchange.stage.name if exchange.stage is not None else None,
    }  # fmt: skip
    out.update(base)
    if view is not None:
        out["resourcePath"] = view.route.path if api.kind == "REST" else None
        out["resourceId"] = view.route.resource_id if api.kind == "REST" else None
        out["routeKey"] = view.route.route_key if api.kind == "HTTP" else None
    status = response.status
    length = response.body.length if isinstance(response.body, Stream) else len(response.body)
    out.update({"status": status, "responseLength": length, "responseLatency": latency_ms, "dataProcessed": length})
    latency = exchange.integration_latency_ms
    out.update({
        "integrationLatency": latency, "integrationStatus": exchange.integration_status,
        "integrationErrorMessage": exchange.integration_error or None,
        "integration": {
            "latency": latency, "integrationStatus": exchange.integration_status, "error": exchange.integration_error or None,
            "status": status if exchange.integration_answered else None,
        },
    })  # fmt: skip
    if not exchange.integration_answered and status >= 400:
        message = _gateway_message(response)
        error: dict[str, Any] = {"responseType": exchange.response_type}
        if message is not None:
            # messageString is the message as a JSON string, quotes included (the default gateway
            # response template is {"message":$context.error.messageString}).
            error.update({"message": message, "messageString": json.dumps(message, ensure_ascii=False)})
        out["error"] = error
    return out


def _gateway_message(response: HttpResponse) -> str | None:
    """The ``message`` of API Gateway's own JSON error body, if the body is one."""
    if isinstance(response.body, Stream):
        return None
    try:
        body = json.loads(response.body)
    except ValueError:
        return None
    if isinstance(body, dict):
        message = body.get("message", body.get("Message"))
        return message if isinstance(message, str) else None
    return None
