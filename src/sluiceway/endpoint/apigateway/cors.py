"""An HTTP API's CORS: API Gateway answers preflights itself and adds the headers to responses.

With CORS configured, API Gateway answers a preflight ``OPTIONS`` (one with ``Origin`` and
``Access-Control-Request-Method``) without calling any route, even when no OPTIONS route exists,
and it replaces whatever ``Access-Control-*`` headers the integration returned with its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..context import HttpResponse
from .model import Cors
from .responses import HeaderList

__all__ = ["apply_cors", "is_preflight", "preflight"]


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def _allowed_origin(cors: Cors, origin: str | None) -> str | None:
    if not origin:
        return None
    if "*" in cors.allow_origins:
        # With credentials allowed a browser refuses "*": the origin is echoed instead.
        return origin if cors.allow_credentials else "*"
    return origin if origin in cors.allow_origins else None


def preflight(cors: Cors, headers: Mapping[str, str]) -> HttpResponse:
    """The 204 API Gateway answers a preflight with (without CORS headers for a refused origin or method)."""
    out = HeaderList()
    origin = _allowed_origin(cors, headers.get("origin"))
    method = headers.get("access-control-request-method", "").strip().upper()
    if origin is not None and ("*" in cors.allow_methods or method in cors.allow_methods):
        out["access-control-allow-origin"] = origin
        out["access-control-allow-methods"] = ",".join(cors.allow_methods)
        requested = headers.get("access-control-request-headers", "")
        if cors.allow_headers:
            out["access-control-allow-headers"] = requested if "*" in cors.allow_headers and requested else ",".join(cors.allow_headers)
        if cors.max_age is not None:
            out["access-control-max-age"] = str(cors.max_age)
        if cors.allow_credentials:
            out["access-control-allow-credentials"] = "true"
        if origin != "*":
            out["vary"] = "Origin"
    return HttpResponse(204, out, b"")


def apply_cors(cors: Cors, request_headers: Mapping[str, str], response: HttpResponse) -> None:
    """Put the API's CORS headers on an integration's response (for an allowed Origin), dropping the integration's."""
    headers = response.headers
    if not isinstance(headers, HeaderList):
        plain = headers
        headers = HeaderList()
        for name, value in plain.items():
            headers[name] = value
        response.headers = headers
    for name in [n for n in headers if n.lower().startswith("access-control-")]:
        headers.remove(name)
    origin = _allowed_origin(cors, request_headers.get("origin"))
    if origin is None:
        return
    headers["access-control-allow-origin"] = origin
    if cors.allow_credentials:
        headers["access-control-allow-credentials"] = "true"
    if cors.expose_headers:
        headers["access-control-expose-headers"] = ",".join(cors.expose_headers)
