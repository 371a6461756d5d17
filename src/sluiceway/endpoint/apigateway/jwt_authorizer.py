"""An HTTP API's JWT authorizer, as API Gateway runs it.

API Gateway's steps (its "Authorizing API requests with a JWT authorizer"): take the token from the
identity source (alone or after ``Bearer``); check its algorithm and signature with the key its
``kid`` names in the issuer's key set (RSA only); then the claims: ``iss`` must be the configured
issuer; ``aud`` must be one of the audiences, or ``client_id`` when the token has no ``aud`` (an
access token from Cognito has none); ``exp`` must be after now; ``nbf`` and ``iat``, when present,
before (no leeway is documented, none is given); and when the route has authorization scopes, the
token's ``scope`` (or ``scp``) must hold one of them. A failed scope check is 403 Forbidden;
anything else 401 Unauthorized with a ``www-authenticate`` header describing the failure, as
``Bearer scope="" error="invalid_token" error_description="the token does not have a valid
audience"`` (AWS's documented text; the other descriptions follow the same form).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ...cognito.jwt import TokenError, verify_signature
from .grants import Grant, Refusal, refusal
from .key_source import KeySource
from .model import Authorizer

__all__ = ["UNREADABLE", "authorize_jwt", "claim_text", "time_problem", "token_scopes"]

_BEARER = re.compile(r"^bearer +", re.I)

UNREADABLE = (TokenError, ValueError, RecursionError)
"""What reading a token can raise besides :class:`TokenError`: JSON too deeply nested
(``RecursionError``) or with an integer of more digits than Python converts (``ValueError``).
Every one is the caller's bad token, a 401, never a 500."""


def authorize_jwt(authorizer: Authorizer, route_scopes: tuple[str, ...], identity: str, keys: KeySource, now: float) -> Grant | Refusal:
    """Verify the token in ``identity`` (the identity source's value) for a route of ``authorizer``."""
    token = _BEARER.sub("", identity.strip(), count=1)
    jwks = keys.jwks_for_issuer(authorizer.issuer)
    if jwks is None:
        return _invalid(f"no signing keys are known locally for the issuer {authorizer.issuer}", "the token has an invalid issuer")
    try:
        claims = verify_signature(token, jwks)
    except UNREADABLE as exc:
        return _invalid(f"unreadable token: {exc!r}", "the token is not valid")
    if claims.get("iss") != authorizer.issuer:
        return _invalid(f"iss {claims.get('iss')!r}", "the token has an invalid issuer")
    if not _audience_ok(claims, authorizer.audience):
        return _invalid("neither aud nor client_id is an audience of the authorizer", "the token does not have a valid audience")
    problem = time_problem(claims, now)
    if problem is not None:
        return _invalid(*problem)
    scopes = token_scopes(claims)
    if route_scopes and not set(route_scopes) & set(scopes or ()):
        return refusal("HTTP", "forbidden", f"none of the route's scopes {list(route_scopes)} is in the token")
    return Grant("jwt", claims={k: claim_text(v) for k, v in claims.items()}, scopes=scopes)


def _invalid(reason: str, description: str) -> Refusal:
    header = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return refusal("HTTP", "unauthorized", reason, {"www-authenticate": header})


def _audience_ok(claims: Mapping[str, Any], audience: tuple[str, ...]) -> bool:
    if "aud" in claims:  # with both present API Gateway evaluates aud only
        aud = claims["aud"]
        values = aud if isinstance(aud, list) else [aud]
        return any(isinstance(v, str) and v in audience for v in values)
    client_id = claims.get("client_id")
    return isinstance(client_id, str) and client_id in audience


def time_problem(claims: Mapping[str, Any], now: float) -> tuple[str, str] | None:
    """(reason, description) when ``exp`` is missing or past, or ``nbf`` or ``iat`` is in the future."""
    exp, nbf, iat = (_time(claims, name) for name in ("exp", "nbf", "iat"))
    if exp is None or math.isnan(exp):
        return "exp is missing or not a number", "the token has an invalid exp claim"
    if now >= exp:
        return "expired", "the token has expired"
    if nbf is not None and (math.isnan(nbf) or now < nbf):
        return "nbf is in the future", "the token is not valid yet"
    if iat is not None and (math.isnan(iat) or now < iat):
        return "iat is in the future", "the token was issued in the future"
    return None


def _time(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim; NaN (which fails its check) for one present but not a finite number.

    An integer too large for a float, or ``Infinity`` (which Python's JSON reader accepts), is no
    date: taken as one, an infinite ``exp`` would never expire.
    """
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        number = float(value)
    except OverflowError:
        return math.nan
    return number if math.isfinite(number) else math.nan


def token_scopes(claims: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The token's scopes: ``scope`` (space-separated, OAuth 2.0) or ``scp`` (a list or a string)."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(v for v in value if isinstance(v, str))
    return None


def claim_text(value: Any) -> str:
    """A claim as an HTTP API puts it in the event: every value a string.

    API Gateway's HTTP APIs render non-string claims as Go prints them: a whole number without a
    fraction (``1700000000``), a boolean ``true``, an array as ``[viewer operator]`` (elements
    separated by spaces), an object as ``map[k:v]`` (keys sorted).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{claim_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)
