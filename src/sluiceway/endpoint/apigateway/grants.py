"""What an authorizer decides: a grant the integration sees, or API Gateway's refusal.

A :class:`Grant` holds only what an authorizer verified (a token's claims once its signature, issuer,
audience and times checked out; a Lambda authorizer's principal and context once its policy allowed
the call), and renders it where each event and mapping expects it:

* HTTP API JWT: ``requestContext.authorizer.jwt = {claims, scopes}`` (payload 2.0) or
  ``requestContext.authorizer = {claims, scopes}`` (1.0);
* REST user pool: ``requestContext.authorizer.claims``;
* Lambda: ``requestContext.authorizer.lambda`` (HTTP API, 2.0), or the context's keys beside
  ``principalId`` in ``requestContext.authorizer`` (REST, and HTTP API with 1.0);
* IAM: the signer in ``requestContext.identity`` (1.0: ``accessKey``, ``accountId``, ``caller``,
  ``user``, ``userArn``) or ``requestContext.authorizer.iam`` (HTTP API, 2.0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..context import HttpResponse
from .model import ApiKind
from .responses import HeaderList

__all__ = ["Grant", "Refusal", "Signer", "refusal"]


@dataclass(frozen=True)
class Signer:
    """Who signed a request to a route with IAM authorization (the verified access key's principal)."""

    access_key: str
    account_id: str
    user_id: str
    """``caller`` and ``user`` (1.0), ``callerId`` and ``userId`` (2.0): the account id for root credentials."""
    user_arn: str

    def for_identity(self) -> dict[str, str]:
        """The members of ``requestContext.identity`` (and ``$context.identity``) that name the signer."""
        return {
            "accessKey": self.access_key, "accountId": self.account_id, "caller": self.user_id, "user": self.user_id,
            "userArn": self.user_arn,
        }  # fmt: skip

    def for_event_v2(self) -> dict[str, Any]:
        """``requestContext.authorizer.iam`` of an HTTP API's 2.0 event."""
        return {
            "accessKey": self.access_key, "accountId": self.account_id, "callerId": self.user_id, "cognitoIdentity": None,
            "principalOrgId": None, "userArn": self.user_arn, "userId": self.user_id,
        }  # fmt: skip


@dataclass(frozen=True)
class Grant:
    """A verified identity, for the integration."""

    kind: Literal["jwt", "cognito", "lambda", "iam"]
    claims: Mapping[str, str] = field(default_factory=dict)
    """jwt, cognito: every claim of the verified token, rendered as a string."""
    scopes: tuple[str, ...] | None = None
    """jwt: the token's scopes (None when it has no ``scope`` claim)."""
    principal_id: str | None = None
    """lambda: the ``principalId`` the authorizer answered (policy responses)."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """lambda: the ``context`` the authorizer answered."""
    latency_ms: int = 0
    """lambda: how long the authorizer took (REST's ``integrationLatency``)."""
    usage_identifier_key: str | None = field(default=None, repr=False)
    """lambda (REST): the ``usageIdentifierKey`` answered: the request's API key when the API's key source is AUTHORIZER."""
    signer: Signer | None = None
    """iam: who signed the request."""

    def for_event(self, api_kind: ApiKind, payload_format: str) -> dict[str, Any] | None:
        """``requestContext.authorizer`` of a Lambda proxy event (None: the event has none)."""
        if self.kind == "iam":
            # 1.0 names the signer in requestContext.identity, and has no authorizer member for IAM
            # (AWS's documented 1.0 examples; not confirmed for an HTTP API's 1.0 integrations).
            if self.signer is None or payload_format != "2.0":
                return None
            return {"iam": self.signer.for_event_v2()}
        if self.kind == "jwt":
            jwt = {"claims": dict(self.claims), "scopes": list(self.scopes) if self.scopes is not None else None}
            return {"jwt": jwt} if payload_format == "2.0" else jwt
        if self.kind == "cognito":
            return {"claims": dict(self.claims)}
        if api_kind == "HTTP" and payload_format == "2.0":
            return {"lambda": dict(self.context)}
        out: dict[str, Any] = dict(self.context)
        if self.principal_id is not None:
            out["principalId"] = self.principal_id
        if api_kind == "REST":
            out["integrationLatency"] = self.latency_ms
        return out

    def for_mappings(self) -> dict[str, Any]:
        """``$context.authorizer``: ``claims.x`` (JWT, user pools), ``principalId`` and the context's keys (Lambda)."""
        if self.kind in ("jwt", "cognito"):
            return {"claims": dict(self.claims), "scopes": list(self.scopes or [])}
        if self.kind == "iam":
            return {}  # the signer is $context.identity's
        out = dict(self.context)
        if self.principal_id is not None:
            out["principalId"] = self.principal_id
        return out


@dataclass(frozen=True)
class Refusal:
    """API Gateway's answer to a request its authorizer refused; ``reason`` is for the log only."""

    response: HttpResponse
    reason: str
    response_type: str = "DEFAULT_4XX"
    """The gateway response type (``$context.error.responseType``): ``UNAUTHORIZED``, ``ACCESS_DENIED``, ..."""


#: problem -> gateway response type. An authorizer that fails (an error, a malformed policy) is an
#: AUTHORIZER_CONFIGURATION_ERROR, as LocalStack's recorded tests have it (not confirmed against AWS's access logs).
_REFUSAL_TYPES = {
    "unauthorized": "UNAUTHORIZED", "denied": "ACCESS_DENIED", "not_allowed": "ACCESS_DENIED", "forbidden": "ACCESS_DENIED",
    "configuration": "AUTHORIZER_CONFIGURATION_ERROR",
}  # fmt: skip


#: (kind, problem) -> (status, body, x-amzn-ErrorType). REST's access-denied body spells "Message"
#: with a capital M, and its authorizer-configuration body is {"message": null}: both are AWS's.
_REFUSALS: dict[tuple[ApiKind, str], tuple[int, dict[str, Any], str]] = {
    ("REST", "unauthorized"): (401, {"message": "Unauthorized"}, "UnauthorizedException"),
    ("REST", "denied"): (403, {"Message": "User is not authorized to access this resource with an explicit deny"}, "AccessDeniedException"),
    ("REST", "not_allowed"): (403, {"Message": "User is not authorized to access this resource"}, "AccessDeniedException"),
    ("REST", "configuration"): (500, {"message": None}, "AuthorizerConfigurationException"),
    ("HTTP", "unauthorized"): (401, {"message": "Unauthorized"}, ""),
    ("HTTP", "denied"): (403, {"message": "Forbidden"}, ""),
    ("HTTP", "not_allowed"): (403, {"message": "Forbidden"}, ""),
    ("HTTP", "forbidden"): (403, {"message": "Forbidden"}, ""),
    ("HTTP", "configuration"): (500, {"message": "Internal Server Error"}, ""),
}


def refusal(kind: ApiKind, problem: str, reason: str, headers: Mapping[str, str] | None = None) -> Refusal:
    """The refusal for ``problem``: ``unauthorized`` (401), ``denied`` (an explicit Deny), ``not_allowed``
    (no Allow), ``forbidden`` (HTTP API scopes) or ``configuration`` (the authorizer failed)."""
    status, body, error_type = _REFUSALS[(kind, problem)]
    out = HeaderList()
    out["Content-Type"] = "application/json"
    if error_type:
        out["x-amzn-ErrorType"] = error_type
    for name, value in (headers or {}).items():
        out[name] = value
    response = HttpResponse(status, out, json.dumps(body, separators=(",", ":")).encode())
    return Refusal(response, reason, _REFUSAL_TYPES[problem])
