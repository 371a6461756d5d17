"""The claims of the tokens a user pool issues, exactly as Cognito writes them, and their lifetimes.

Pure: the caller passes the time and the ids (``jti``, ``origin_jti``, ``event_id``) in, and signs
the claims with :func:`sluiceway.cognito.jwt.sign`.

- An ID token (``token_use: id``) says who the user is: ``aud`` is the app client, and the user's
  attributes are claims (``email_verified`` and ``phone_number_verified`` as booleans, as Cognito
  writes them, though the attributes themselves are the strings ``"true"``/``"false"``).
- An access token (``token_use: access``) says what the bearer may do: ``client_id`` instead of
  ``aud``, ``username``, and the scope ``aws.cognito.signin.user.admin`` for tokens from the
  user-pool API's sign-in (the OAuth scopes come only through the hosted endpoints).
- A client_credentials access token is the app client's own: ``sub`` is the client id, ``scope``
  the granted resource-server scopes, and ``version: 2`` as Cognito's machine tokens carry it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "USER_ADMIN_SCOPE", "Session", "UserClaims", "Validity", "access_claims", "client_credentials_claims", "id_claims", "issuer_url",
    "secret_hash", "secrets_match", "validity_of",
]  # fmt: skip

#: The scope of access tokens from InitiateAuth: the user may call the user-pool API on themselves.
USER_ADMIN_SCOPE = "aws.cognito.signin.user.admin"

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
#: Attributes Cognito writes as JSON booleans or numbers in ID tokens, not as their stored strings.
_BOOLEAN_ATTRIBUTES = frozenset({"email_verified", "phone_number_verified"})
_NUMBER_ATTRIBUTES = frozenset({"updated_at"})


def issuer_url(region: str, pool_id: str) -> str:
    """``iss`` of a pool's tokens: AWS's own URL, so templates' JWT authorizers name it unchanged."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


@dataclass(frozen=True)
class Validity:
    """How long an app client's tokens live, in seconds."""

    access_s: int = 3600
    id_s: int = 3600
    refresh_s: int = 30 * 86400


def validity_of(client: Mapping[str, Any]) -> Validity:
    """The lifetimes an app client (as DescribeUserPoolClient shows it) gives its tokens.

    A validity given without ``TokenValidityUnits`` is in hours for access and ID tokens and in
    days for refresh tokens (Cognito's units before TokenValidityUnits existed); none given is
    60 minutes, 60 minutes and 30 days.
    """
    units = client.get("TokenValidityUnits") or {}

    def seconds(key: str, unit_key: str, default_unit: str, default_s: int) -> int:
        value = client.get(key)
        if value is None:
            return default_s
        return int(value) * _UNIT_SECONDS[units.get(unit_key) or default_unit]

    return Validity(
        access_s=seconds("AccessTokenValidity", "AccessToken", "hours", 3600),
        id_s=seconds("IdTokenValidity", "IdToken", "hours", 3600),
        refresh_s=seconds("RefreshTokenValidity", "RefreshToken", "days", 30 * 86400),
    )


@dataclass(frozen=True)
class UserClaims:
    """What a user's tokens say about them."""

    sub: str
    username: str
    attributes: Mapping[str, str]
    """The user's attributes (``email``, ``custom:tier``...), as AdminGetUser lists them."""
    groups: Sequence[str] = ()
    """Group names, by precedence (lowest first), as ``cognito:groups`` lists them."""
    roles: Sequence[str] = ()
    """The groups' IAM role ARNs, same order (``cognito:roles``; the first is ``cognito:preferred_role``)."""


@dataclass(frozen=True)
class Session:
    """One sign-in: the ids and time every token of it (and of its refreshes) shares."""

    origin_jti: str
    event_id: str
    auth_time: int


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def id_claims(
    user: UserClaims, *, issuer: str, client_id: str, session: Session, now: datetime, jti: str, lifetime_s: int
) -> dict[str, Any]:
    """An ID token's claims, in Cognito's order."""
    claims: dict[str, Any] = {"sub": user.sub}
    _groups(claims, user, with_roles=True)
    for name in sorted(_BOOLEAN_ATTRIBUTES & user.attributes.keys()):
        claims[name] = user.attributes[name].lower() == "true"
    iat = _epoch(now)
    claims.update(
        {
            "iss": issuer,
            "cognito:username": user.username,
            "origin_jti": session.origin_jti,
            "aud": client_id,
            "event_id": session.event_id,
            "token_use": "id",
            "auth_time": session.auth_time,
        }
    )
    for name, value in user.attributes.items():
        if name == "sub" or name in _BOOLEAN_ATTRIBUTES:
            continue
        claims[name] = int(value) if name in _NUMBER_ATTRIBUTES and value.isdigit() else value
    claims.update({"exp": iat + lifetime_s, "iat": iat, "jti": jti})
    return claims


def access_claims(
    user: UserClaims, *, issuer: str, client_id: str, session: Session, now: datetime, jti: str, lifetime_s: int
) -> dict[str, Any]:
    """An access token's claims for a user who signed in through the user-pool API, in Cognito's order."""
    claims: dict[str, Any] = {"sub": user.sub}
    _groups(claims, user, with_roles=False)
    iat = _epoch(now)
    claims.update(
        {
            "iss": issuer,
            "client_id": client_id,
            "origin_jti": session.origin_jti,
            "event_id": session.event_id,
            "token_use": "access",
            "scope": USER_ADMIN_SCOPE,
            "auth_time": session.auth_time,
            "exp": iat + lifetime_s,
            "iat": iat,
            "jti": jti,
            "username": user.username,
        }
    )
    return claims


def client_credentials_claims(
    *, issuer: str, client_id: str, scopes: Sequence[str], now: datetime, jti: str, lifetime_s: int
) -> dict[str, Any]:
    """A machine client's access token (the OAuth2 client_credentials grant), in Cognito's order."""
    iat = _epoch(now)
    return {
        "sub": client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": iat,
        "iss": issuer,
        "exp": iat + lifetime_s,
        "iat": iat,
        "version": 2,
        "jti": jti,
        "client_id": client_id,
    }


def _groups(claims: dict[str, Any], user: UserClaims, *, with_roles: bool) -> None:
    # Cognito leaves the claims out, rather than empty, for a user in no group.
    if user.groups:
        claims["cognito:groups"] = list(user.groups)
    if with_roles and user.roles:
        claims["cognito:preferred_role"] = user.roles[0]
        claims["cognito:roles"] = list(user.roles)


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """The ``SecretHash`` a client with a secret sends: base64(HMAC-SHA256(secret, username + client id))."""
    # surrogatepass: a username from JSON may hold a lone surrogate; it must hash (to no match), not raise.
    message = (username + client_id).encode("utf-8", "surrogatepass")
    digest = hmac.new(client_secret.encode("utf-8", "surrogatepass"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def secrets_match(given: str, expected: str) -> bool:
    """Whether a secret the caller sent is ``expected``, in constant time.

    Compared as bytes: :func:`hmac.compare_digest` refuses ``str`` holding non-ASCII text with a
    TypeError, and what a caller sends may hold anything (even a lone surrogate from JSON's ``\\ud800``).
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
