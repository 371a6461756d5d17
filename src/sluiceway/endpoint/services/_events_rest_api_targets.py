"""Rule targets that are API Gateway REST APIs, delivered through the endpoint that serves them.

A rule's ``arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH`` target is called over HTTP
at the endpoint's local stand-in for the API's ``execute-api`` host, so the request goes through
the API's authorizers, integrations and access logs like any client's. The stack's router learns
of the endpoint through :func:`serve_rest_api_targets`, called when an endpoint starts serving it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...runtime.bus.bus_and_log_targets import BusAndLogTargets
from ..apigateway import local_base_url

__all__ = ["serve_rest_api_targets"]


class _EndpointApis:
    def __init__(self, url: Callable[[], str], apis: Callable[[], Mapping[str, Any]]) -> None:
        self._url, self._apis = url, apis

    def base_url(self, api_id: str) -> str | None:
        api = self._apis().get(api_id)
        if api is None or getattr(api, "kind", "REST") != "REST":
            return None  # EventBridge's API Gateway targets are REST APIs only
        return local_base_url(self._url(), api_id)


def serve_rest_api_targets(stack: Any, url: Callable[[], str], apis: Callable[[], Mapping[str, Any]]) -> bool:
    """Have ``stack``'s rules deliver to the REST APIs ``apis()`` lists (by id), at ``url()``.

    Returns:
        Whether the stack's router delivers to HTTP targets at all (a stack built without them does not).
    """
    resolver = getattr(getattr(stack, "router", None), "resolver", None)
    if not isinstance(resolver, BusAndLogTargets) or resolver.http is None:
        return False
    resolver.http.serve_apis(_EndpointApis(url, apis))
    return True
