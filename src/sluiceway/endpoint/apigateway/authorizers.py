"""The gateway's authorization step: a route's guard checked before its integration runs.

:meth:`Authorization.authorize` answers None for an open route, a :class:`~.grants.Grant` (the
verified identity the events carry) or a :class:`~.grants.Refusal` (API Gateway's answer). It fails
closed: IAM authorization checks the request's SigV4 signature with the endpoint's access keys
(:mod:`.iam_authorization`) and refuses every request when there are none; a route whose authorizer
the API does not define, or cannot run locally, refuses; a request missing any of its authorizer's
identity sources is 401 before anything is invoked or verified, as on AWS.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from ..context import HttpRequest
from .cognito_authorizer import authorize_user_pool, issuer_of_pool
from .events import RequestView
from .grants import Grant, Refusal, refusal
from .iam_authorization import authorize_iam
from .jwt_authorizer import authorize_jwt
from .key_source import KeySource
from .lambda_authorizer import LambdaAuthorizers
from .model import Api, Authorizer
from .policies import method_arn
from .request_values import context_or_stage_value

logger = logging.getLogger(__name__)

__all__ = ["Authorization", "unverifiable_issuers"]


class Authorization:
    """Runs the authorizers of the gateway's routes.

    Args:
        keys: where issuers' signing keys come from (the local user pools).
        lambdas: Lambda authorizers, with their cache.
        clock: the wall clock (seconds since the epoch), checked against ``exp``, ``nbf`` and ``iat``
            and against a signed request's date.
        access_keys: access key id -> secret, that IAM-authorized requests may be signed with.
    """

    def __init__(
        self,
        keys: KeySource,
        lambdas: LambdaAuthorizers,
        clock: Callable[[], float] = time.time,
        *,
        access_keys: Mapping[str, str] | None = None,
    ) -> None:
        self._keys = keys
        self._lambdas = lambdas
        self._clock = clock
        self._access_keys = dict(access_keys or {})

    def authorize(self, view: RequestView, received: HttpRequest | None = None) -> Grant | Refusal | None:
        """Check the guard of the request's route (never raises for a bad token or a failing authorizer).

        ``received`` is the request as the client sent it: what an IAM signature covers (without
        it, a route with IAM authorization refuses the request).
        """
        guard = view.route.guard
        kind = view.api.kind
        if guard is None:
            return None
        if guard.kind == "iam":
            now = datetime.fromtimestamp(self._clock(), UTC)
            api, keys = view.api, self._access_keys if received is not None else {}
            signed = received or HttpRequest(view.method, view.path, view.query, {})
            return authorize_iam(kind, signed, region=api.region, account_id=api.account_id, keys=keys, now=now)
        authorizer = guard.authorizer
        if authorizer is None or authorizer.problem:
            why = authorizer.problem if authorizer is not None else f"the API defines no authorizer {guard.name}"
            return refusal(kind, "unauthorized", why)
        identity = tuple(_identity_value(source, view) for source in authorizer.identity_source)
        if not all(identity):
            return refusal(kind, "unauthorized", "an identity source is missing from the request")
        values = tuple(v for v in identity if v is not None)
        if authorizer.type in ("JWT", "COGNITO_USER_POOLS"):
            verify = authorize_jwt if authorizer.type == "JWT" else authorize_user_pool
            try:
                return verify(authorizer, guard.scopes, values[0], self._keys, self._clock())
            except Exception:
                # A token of a shape no check foresaw (claims are the caller's JSON) is refused, never
                # a 500 that says the gateway failed: authorization fails closed.
                logger.exception("api gateway: the %s authorizer %s failed on a token", authorizer.type, authorizer.name)
                return refusal(kind, "unauthorized", "the token could not be checked")
        expression = authorizer.validation_expression if authorizer.type == "TOKEN" else None
        if expression and not re.fullmatch(expression, values[0]):
            return refusal(kind, "unauthorized", "the token does not match the identity validation expression")
        arn = method_arn(view.api.region, view.api.account_id, view.api.api_id, view.stage.name, view.method, view.path)
        return self._lambdas.authorize(authorizer, view, values, arn)


def unverifiable_issuers(api: Api, keys: KeySource) -> list[str]:
    """Warnings for the API's JWT and user pool authorizers whose issuers have no local keys (their routes refuse)."""
    warnings: list[str] = []
    seen: set[str] = set()
    for route in api.routes:
        authorizer = route.guard.authorizer if route.guard is not None else None
        if authorizer is None or authorizer.name in seen:
            continue
        seen.add(authorizer.name)
        for issuer in _issuers(authorizer):
            if keys.jwks_for_issuer(issuer) is None:
                warnings.append(
                    f"{api.logical_id}: authorizer {authorizer.name}: the issuer {issuer} is not a local user pool: its tokens"
                    " cannot be verified locally (keys are never fetched), so every request it guards is refused (401)"
                )
    return warnings


def _issuers(authorizer: Authorizer) -> list[str]:
    if authorizer.type == "JWT":
        return [authorizer.issuer]
    if authorizer.type == "COGNITO_USER_POOLS":
        return [i for i in (issuer_of_pool(arn) for arn in authorizer.provider_arns) if i is not None]
    return []


def _identity_value(source: str, view: RequestView) -> str | None:
    """The value of one identity source expression in the request; None (or empty) when it is missing."""
    expression = source.removeprefix("$")
    if expression.startswith(("method.request.header.", "request.header.")):
        return view.headers.get(expression.rsplit(".header.", 1)[1].lower()) or None
    if expression.startswith(("method.request.querystring.", "request.querystring.")):
        name = expression.rsplit(".querystring.", 1)[1]
        values = [v for k, v in parse_qsl(view.query, keep_blank_values=True) if k == name]
        # REST reads the last value of a repeated parameter, an HTTP API all of them joined with commas.
        return (values[-1] if view.api.kind == "REST" else ",".join(values)) if values else None
    if expression.startswith(("stageVariables.", "context.")):
        return context_or_stage_value(expression, _context(view), view.stage.variables)
    return None


def _context(view: RequestView) -> dict[str, Any]:
    return {
        "accountId": view.api.account_id, "apiId": view.api.api_id, "httpMethod": view.method, "requestId": view.request_id,
        "resourcePath": view.route.path, "routeKey": view.route.route_key, "stage": view.stage.name,
        "identity": {"sourceIp": view.source_ip, "userAgent": view.headers.get("user-agent", "")},
    }  # fmt: skip
