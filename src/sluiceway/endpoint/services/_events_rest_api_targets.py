"""Rule targets that are API Gateway REST APIs, delivered through the endpoint that serves them.

A rule's ``arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH`` target is called over HTTP
at the endpoint's local stand-in for the API's ``execute-api`` host, so the request goes through
the API's authorizers, integrations and access logs like any client's. The stack's router learns
of the endpoint through :func:`serve_rest_api_targets`, called when an endpoint starts serving, and
forgets it through :func:`stop_rest_api_targets` when that endpoint closes (a request to a closed
port would only fail and be retried).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...runtime.bus.bus_and_log_targets import BusAndLogTargets
from ...runtime.bus.http_targets import HttpTargets, ServedApis
from ..apigateway import local_base_url

__all__ = ["serve_rest_api_targets", "stop_rest_api_targets"]


class _EndpointApis:
    def __init__(self, url: Callable[[], str], apis: Callable[[], Mapping[str, Any]]) -> None:
        self._url, self._apis = url, apis

    def base_url(self, api_id: str) -> str | None:
        api = self._apis().get(api_id)
        if api is None or getattr(api, "kind", "REST") != "REST":
            return None  # EventBridge's API Gateway targets are REST APIs only
        return local_base_url(self._url(), api_id)


def _http_targets(stack: Any) -> HttpTargets | None:
    resolver = getattr(getattr(stack, "router", None), "resolver", None)
    return resolver.http if isinstance(resolver, BusAndLogTargets) else None


def serve_rest_api_targets(stack: Any, url: Callable[[], str], apis: Callable[[], Mapping[str, Any]]) -> ServedApis | None:
    """Have ``stack``'s rules deliver to the REST APIs ``apis()`` lists (by id), at ``url()``.

    Returns:
        What to pass to :func:`stop_rest_api_targets`; None when the stack's router delivers to no
        HTTP targets (a stack built without them).
    """
    http = _http_targets(stack)
    if http is None:
        return None
    served = _EndpointApis(url, apis)
    http.serve_apis(served)
    return served


def stop_rest_api_targets(stack: Any, served: object | None) -> None:
    """Stop delivering to the APIs ``served`` (what :func:`serve_rest_api_targets` returned), unless
    another endpoint serves the stack's APIs since: a REST API target then fails as one not served."""
    http = _http_targets(stack)
    if http is not None and served is not None and http.apis is served:
        http.serve_apis(None)
