"""A REST API's COGNITO_USER_POOLS authorizer, as API Gateway runs it.

The identity source header holds the token itself: API Gateway documents the header's value as
the ID or access token, so a ``Bearer`` prefix is not stripped (the token does not parse and is
refused), unlike an HTTP API's JWT authorizer. The token must match the authorizer's
``IdentityValidationExpression`` when it has one, verify with its pool's keys (RS256, ``kid``), come
from one of the authorizer's pools (``iss``), not be expired and not be used before its ``nbf``/``iat``. A method without authorization
scopes takes an ID token (``token_use`` ``id``); a method with scopes takes an access token one of
whose scopes is the method's. Any failure is 401 Unauthorized, a scope mismatch included.

The claims reach the integration as strings, as REST renders them: ``exp`` and ``iat`` as dates
(``Fri Jul 29 18:52:53 UTC 2016``), other numbers as digits, booleans ``true``/``false``, and a
list (``cognito:groups``) joined with commas.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from ...cognito.jwt import unverified_claims, verify_signature
from .grants import Grant, Refusal, refusal
from .jwt_authorizer import UNREADABLE, time_problem, token_scopes
from .key_source import KeySource
from .model import Authorizer

__all__ = ["authorize_user_pool", "issuer_of_pool"]

_POOL_ARN = re.compile(r"^arn:aws[a-z-]*:cognito-idp:(?P<region>[a-z0-9-]+):\d{12}:userpool/(?P<pool>[a-z0-9-]+_[A-Za-z0-9]+)$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def issuer_of_pool(arn: str) -> str | None:
    """The ``iss`` of a user pool's tokens (``https://cognito-idp.{region}.amazonaws.com/{poolId}``)."""
    match = _POOL_ARN.match(arn)
    return f"https://cognito-idp.{match['region']}.amazonaws.com/{match['pool']}" if match else None


def authorize_user_pool(authorizer: Authorizer, method_scopes: tuple[str, ...], token: str, keys: KeySource, now: float) -> Grant | Refusal:
    """Verify ``token`` (the identity header's value) for a method of ``authorizer``."""
    if authorizer.validation_expression and not re.fullmatch(authorizer.validation_expression, token):
        return refusal("REST", "unauthorized", "the token does not match the identity validation expression")
    issuers = {issuer_of_pool(arn) for arn in authorizer.provider_arns} - {None}
    try:
        issuer = unverified_claims(token).get("iss")  # only to choose the pool whose keys verify it
    except UNREADABLE as exc:
        return refusal("REST", "unauthorized", f"unreadable token: {exc!r}")
    # Unverified, so of any JSON type: a list or an object must be refused, not hashed.
    if not isinstance(issuer, str) or issuer not in issuers:
        return refusal("REST", "unauthorized", f"iss {issuer!r} is not one of the authorizer's user pools")
    jwks = keys.jwks_for_issuer(issuer)
    if jwks is None:
        return refusal("REST", "unauthorized", f"no signing keys are known locally for {issuer}")
    try:
        claims = verify_signature(token, jwks)
    except UNREADABLE as exc:
        return refusal("REST", "unauthorized", f"unreadable token: {exc!r}")
    if claims.get("iss") != issuer:
        return refusal("REST", "unauthorized", "the verified iss differs")
    problem = time_problem(claims, now)
    if problem is not None:
        return refusal("REST", "unauthorized", problem[0])
    if method_scopes:
        scopes = token_scopes(claims) or ()
        if claims.get("token_use") != "access" or not set(method_scopes) & set(scopes):
            return refusal("REST", "unauthorized", f"an access token with one of the scopes {list(method_scopes)} is required")
    elif claims.get("token_use") != "id":
        return refusal("REST", "unauthorized", "a method without authorization scopes takes an ID token")
    return Grant("cognito", claims={k: _claim_text(k, v) for k, v in claims.items()})


def _claim_text(name: str, value: Any) -> str:
    if name in ("exp", "iat") and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            t = time.gmtime(value)
        except (OverflowError, OSError, ValueError):
            return str(value)  # a date the platform cannot represent (an iat of -1e300): its number
        return f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC {t.tm_year}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(_claim_text("", v) for v in value)
    if isinstance(value, Mapping):
        return str({k: _claim_text("", v) for k, v in value.items()})
    return str(value)
