"""Who is calling: an access token of Sluiceway's user pool, verified locally or by API Gateway on AWS.

Locally the token is verified here, against the default pool's keys, exactly as HTTP API's JWT
authorizer would (signature RS256 by ``kid``, issuer, client, expiry, ``token_use``). On AWS the
HttpApi's JWT authorizer has verified it before the Lambda runs: its claims arrive in the event,
and are read from there, never from the token itself. Either way a request that cannot be tied to
a verified access token is refused (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from starlette.requests import Request

__all__ = [
    "ApiGatewayClaimsAuthenticator",
    "Authenticator",
    "LocalAuthenticator",
    "NotAuthenticatedError",
    "Principal",
    "UserPools",
    "bearer_token",
    "principal_of",
]


@dataclass(frozen=True)
class Principal:
    """The caller, from a verified access token's claims."""

    username: str | None
    """The user's ``username`` claim; None for a machine client (client_credentials)."""
    groups: frozenset[str] = field(default_factory=frozenset)
    """``cognito:groups``."""
    scopes: frozenset[str] = field(default_factory=frozenset)
    """``scope``, split (``aws.cognito.signin.user.admin``, ``sluiceway/read``...)."""
    client_id: str | None = None
    """The app client the token was issued to."""


class NotAuthenticatedError(Exception):
    """No verified access token: 401. ``token_given`` says whether one was sent (RFC 6750's ``invalid_token``)."""

    def __init__(self, reason: str, *, token_given: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token_given = token_given


class Authenticator(Protocol):
    """Turns a request into the verified caller."""

    def authenticate(self, request: Request) -> Principal:
        """The caller of ``request``.

        Raises:
            NotAuthenticatedError: no token, or one that is not a valid access token of the pool.
        """
        ...


class DefaultPoolRef(Protocol):
    @property
    def pool_id(self) -> str: ...


class UserPools(Protocol):
    """What the local authenticator needs of the stack's user pools (``stack.local.user_pools``)."""

    def default_pool(self) -> DefaultPoolRef: ...

    def verify_token(self, token: str, *, pool_id: str, token_use: Literal["access", "id"], now: datetime) -> Mapping[str, Any]: ...


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive, RFC 6750), or None."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_of(claims: Mapping[str, Any]) -> Principal:
    """The caller from an access token's verified claims.

    Claims through API Gateway are strings: HTTP API flattens a list claim into ``"[admin operator]"``,
    so ``cognito:groups`` is read in both forms.
    """
    if claims.get("token_use") != "access":
        # An ID token of the same client passes an authorizer whose audience is the client id:
        # this API takes access tokens only, locally and on AWS alike.
        raise NotAuthenticatedError("not an access token", token_given=True)
    username = claims.get("username")
    client_id = claims.get("client_id")
    return Principal(
        username=str(username) if username else None,
        groups=frozenset(_list_claim(claims.get("cognito:groups"))),
        scopes=frozenset(str(claims.get("scope") or "").split()),
        client_id=str(client_id) if client_id else None,
    )


def _list_claim(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    # "[a b]" from HTTP API; '["a","b"]' from a REST API's Cognito authorizer: both read as [a, b].
    return [part.strip('"') for part in text.replace(",", " ").split() if part.strip('"')]


class LocalAuthenticator:
    """Verifies ``Authorization: Bearer <access token>`` against the stack's default user pool."""

    def __init__(self, user_pools: UserPools) -> None:
        self._pools = user_pools

    def authenticate(self, request: Request) -> Principal:
        from ..cognito.errors import CognitoError
        from ..cognito.jwt import TokenError

        token = bearer_token(request)
        if token is None:
            raise NotAuthenticatedError("no bearer token", token_given="authorization" in request.headers)
        pool_id = self._pools.default_pool().pool_id
        try:
            claims = self._pools.verify_token(token, pool_id=pool_id, token_use="access", now=datetime.now(UTC))
        except (CognitoError, TokenError) as exc:
            raise NotAuthenticatedError(str(exc), token_given=True) from exc
        return principal_of(claims)


class ApiGatewayClaimsAuthenticator:
    """The caller from the claims HTTP API's JWT authorizer verified (``requestContext.authorizer.jwt.claims``).

    Mangum puts the Lambda event in the ASGI scope as ``aws.event``. No claims means the route has no
    authorizer (a template mistake): refused, never trusted.
    """

    def authenticate(self, request: Request) -> Principal:
        event = request.scope.get("aws.event")
        claims = _path(event, "requestContext", "authorizer", "jwt", "claims")
        if not isinstance(claims, Mapping) or not claims:
            raise NotAuthenticatedError("the request carries no claims verified by API Gateway", token_given=False)
        return principal_of(claims)


def _path(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
