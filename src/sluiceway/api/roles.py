"""Roles: ``viewer`` reads, ``operator`` also acts (starts, stops, redrives, uploads), ``admin`` also manages users.

A user's role comes from its ``cognito:groups``; a machine client's (client_credentials) from its
scopes ``sluiceway/read``, ``sluiceway/operate``, ``sluiceway/admin``. The highest one counts.
A request without a verified access token is answered 401 with ``WWW-Authenticate: Bearer``;
one whose caller's role is too low, 403.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..cognito.roles import ROLE_NAMES, scope_name
from ..cognito.roles import SCOPES as ROLE_SCOPES
from .auth import Authenticator, NotAuthenticatedError, Principal

__all__ = ["GROUPS", "SCOPES", "Forbidden", "Role", "Unauthorized", "require", "role_of"]


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3


# The default pool's groups and scopes (cognito/roles.py), which the local pool and the deployed template make.
GROUPS: dict[str, Role] = {name: Role[name.upper()] for name in ROLE_NAMES}
SCOPES: dict[str, Role] = {
    scope_name(scope): role for (scope, _), role in zip(ROLE_SCOPES, (Role.VIEWER, Role.OPERATOR, Role.ADMIN), strict=True)
}


def role_of(principal: Principal) -> Role | None:
    """The highest role the caller's groups and scopes give, or None."""
    found = [GROUPS[g] for g in principal.groups if g in GROUPS] + [SCOPES[s] for s in principal.scopes if s in SCOPES]
    return max(found, default=None)


class Unauthorized(Exception):
    """401: no verified access token."""

    def __init__(self, message: str, *, token_given: bool) -> None:
        super().__init__(message)
        self.message = message
        self.token_given = token_given


class Forbidden(Exception):
    """403: a verified caller whose role is too low."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Declares the bearer scheme in the OpenAPI document; the authenticator reads the request itself
# (on AWS the token has been verified by API Gateway and its claims are in the event).
_bearer = HTTPBearer(auto_error=False, scheme_name="cognitoAccessToken", description="An access token of Sluiceway's user pool")


def require(role: Role) -> Callable[..., Principal]:
    """A dependency: the caller, when its role is at least ``role``."""

    def dependency(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        authenticator: Authenticator = request.app.state.authenticator
        try:
            principal = authenticator.authenticate(request)
        except NotAuthenticatedError as exc:
            raise Unauthorized(
                "a valid access token is required" if exc.token_given else "missing bearer token", token_given=exc.token_given
            ) from exc
        has = role_of(principal)
        if has is None or has < role:
            who = principal.username or principal.client_id or "the caller"
            raise Forbidden(f"{who} needs the {role.name.lower()} role")
        return principal

    return dependency
