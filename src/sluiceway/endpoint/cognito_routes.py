"""Cognito's HTTP routes beside its API: each pool's JWKS and OIDC discovery document, and the
OAuth2 token endpoint (client_credentials and refresh_token grants).

``GET /{poolId}/.well-known/jwks.json`` and ``/{poolId}/.well-known/openid-configuration`` are
Cognito's own paths (pool ids hold ``_`` and capitals, which no S3 bucket name can, so they never
shadow a bucket). The token endpoint is ``POST /_sluiceway/cognito/oauth2/token``: Cognito serves
it on the pool's domain, which a laptop has no name for. Its errors are Cognito's: 400 with
``{"error": "invalid_client"}`` and the like (Cognito answers 400 even where RFC 6749 allows 401).
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from ..cognito.errors import CognitoError, OAuthError
from .context import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from ..runtime.stack import Stack

__all__ = ["TOKEN_PATH", "serves", "handle"]

TOKEN_PATH = "/_sluiceway/cognito/oauth2/token"
_WELL_KNOWN = re.compile(r"^/(?P<pool>[\w-]+_[0-9a-zA-Z]+)/\.well-known/(?P<document>jwks\.json|openid-configuration)$")


def serves(request: HttpRequest) -> bool:
    """Whether ``request`` is for one of these routes (checked before S3's routing)."""
    return request.path == TOKEN_PATH or (request.method in ("GET", "HEAD") and _WELL_KNOWN.match(request.path) is not None)


def handle(request: HttpRequest, stack: Stack, base_url: str) -> HttpResponse:
    """Answer one request :func:`serves` accepted (``base_url``: the endpoint's own URL, never the
    request's Host header, which the client chooses: discovery must not point a verifier elsewhere)."""
    pools = stack.local.user_pools
    if request.path == TOKEN_PATH:
        if request.method != "POST":
            return _json(405, {"error": "invalid_request"}, {"Allow": "POST"})
        try:
            return _json(200, _token(request, stack), {"Cache-Control": "no-store", "Pragma": "no-cache"})
        except OAuthError as error:
            return _json(400, {"error": error.error})
    found = _WELL_KNOWN.match(request.path)
    assert found is not None  # serves() said so
    pool_id = found.group("pool")
    try:
        jwks = pools.jwks(pool_id)
        issuer = pools.issuer(pool_id)
    except CognitoError as error:
        return _json(404, {"code": error.code, "message": error.message})
    if found.group("document") == "jwks.json":
        return _json(200, jwks)
    return _json(200, _discovery(pool_id, issuer, base_url))


def _discovery(pool_id: str, issuer: str, base_url: str) -> dict[str, Any]:
    """The OIDC discovery document, with the endpoints this endpoint serves (no hosted UI: no
    authorization or userInfo endpoint is listed, rather than one that would not answer)."""
    return {
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": issuer,
        "jwks_uri": f"{base_url}/{pool_id}/.well-known/jwks.json",
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint": f"{base_url}{TOKEN_PATH}",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["client_credentials", "refresh_token"],
    }


def _token(request: HttpRequest, stack: Stack) -> dict[str, Any]:
    pools = stack.local.user_pools
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request")
    try:
        form = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request") from None
    if any(len(values) > 1 for values in form.values()):
        raise OAuthError("invalid_request")  # RFC 6749 3.2: parameters must not repeat
    fields = {name: values[0] for name, values in form.items()}
    client_id, client_secret = _client_authentication(request, fields)
    grant = fields.get("grant_type")
    if not grant:
        raise OAuthError("invalid_request")
    if grant == "client_credentials":
        return pools.client_credentials(client_id, client_secret, fields.get("scope") or None)
    if grant == "refresh_token":
        token = fields.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request")
        return pools.refresh_grant(client_id, client_secret, token)
    raise OAuthError("unsupported_grant_type")


def _client_authentication(request: HttpRequest, fields: dict[str, str]) -> tuple[str, str | None]:
    """(client id, secret) from HTTP Basic, or from the form's ``client_id``/``client_secret``."""
    header = request.header("authorization")
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "basic":
            raise OAuthError("invalid_client")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except ValueError:
            # binascii.Error and UnicodeDecodeError are ValueErrors, and so is what b64decode
            # raises for a header holding non-ASCII text: each is a client Cognito cannot identify.
            raise OAuthError("invalid_client") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client")
        client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 2.3.1: form-encoded, then Basic
        if fields.get("client_id", client_id) != client_id or "client_secret" in fields:
            raise OAuthError("invalid_request")  # two ways of authenticating at once
        return client_id, secret
    body_client = fields.get("client_id")
    if not body_client:
        raise OAuthError("invalid_client")
    return body_client, fields.get("client_secret")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    data = json.dumps(body).encode()
    return HttpResponse(status, {"Content-Type": "application/json", **(headers or {})}, data)
