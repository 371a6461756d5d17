"""IAM authorization (``AuthorizationType: AWS_IAM``), as API Gateway checks a request's signature.

A request to a route with IAM authorization must be signed with SigV4 for the service ``execute-api``
in the API's region, with one of the endpoint's access keys (``SLUICEWAY_ENDPOINT_ACCESS_KEYS``); the
signature is checked by the endpoint's own :func:`~..sigv4.verify`, over the request as it was
received: its host, its path (``/_sluiceway/apis/<apiId>/<stage>/...`` locally, where AWS sees
``/<stage>/...`` on the ``execute-api`` host) and its query, headers and body. A client signs
the URL it calls, so any SigV4 signer (botocore's ``SigV4Auth``, awscurl) works unchanged.

What is not evaluated: IAM policies (``execute-api:Invoke``) and the API's resource policy. Every
configured key stands for the account's root user, which IAM lets call anything, so a valid
signature is all a request needs. An endpoint with no keys cannot check any signature and refuses
every request (fail closed).

API Gateway's answers (403 each; AWS's troubleshooting guide for 403s names the messages and
``x-amzn-ErrorType`` values):

* no signature: ``Missing Authentication Token`` (MissingAuthenticationTokenException);
* an unknown access key: ``The security token included in the request is invalid.`` (AccessDeniedException);
* a signature that does not match: AWS's message followed by the canonical request and the string to
  sign API Gateway computed (InvalidSignatureException);
* a date more than five minutes from API Gateway's clock: ``Signature expired: ... (... - 5 min.)``
  or ``Signature not yet current: ... (... + 5 min.)`` (InvalidSignatureException).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from ..context import HttpRequest, HttpResponse
from ..errors import AwsError
from ..sigv4 import Scope, SignatureMismatchError, verify
from .grants import Grant, Refusal, Signer
from .model import Api, ApiKind
from .responses import HeaderList, gateway_error, response_type

logger = logging.getLogger(__name__)

__all__ = ["MAX_SKEW", "authorize_iam", "iam_warnings"]

SERVICE = "execute-api"
MAX_SKEW = timedelta(minutes=5)
"""How far a request's ``X-Amz-Date`` may be from API Gateway's clock ("... - 5 min." in its message)."""
_DATE = "%Y%m%dT%H%M%SZ"

#: The refusals sigv4 words by code (``execute-api`` takes the JSON services' codes) -> (x-amzn-ErrorType,
#: gateway response type). The response types of an unknown key and of an incomplete signature are
#: not documented by AWS: they follow the error type (not confirmed against AWS's access logs).
_ANSWERS: dict[str, tuple[str, str]] = {
    "MissingAuthenticationTokenException": ("MissingAuthenticationTokenException", "MISSING_AUTHENTICATION_TOKEN"),
    "UnrecognizedClientException": ("AccessDeniedException", "ACCESS_DENIED"),
    "InvalidSignatureException": ("InvalidSignatureException", "INVALID_SIGNATURE"),
    "IncompleteSignatureException": ("IncompleteSignatureException", "INVALID_SIGNATURE"),
}


def authorize_iam(
    kind: ApiKind, request: HttpRequest, *, region: str, account_id: str, keys: Mapping[str, str], now: datetime
) -> Grant | Refusal:
    """Check the SigV4 signature of ``request`` (as received) for ``execute-api`` in ``region``.

    Args:
        kind: the API's kind (its answers' shapes).
        request: the request exactly as the client sent it (what it signed).
        region: the API's region: the only one its signatures may be scoped to.
        account_id: the API's account, whose root user every configured key stands for.
        keys: access key id -> secret; none means every request is refused.
        now: API Gateway's clock.

    Returns:
        The grant naming the signer, or API Gateway's refusal.
    """
    if not keys:
        return _refused(kind, "MissingAuthenticationTokenException", "", "no access key is configured to check signatures with")
    skewed = _skew_problem(request, now)
    if skewed is not None:
        return _refused(kind, "InvalidSignatureException", skewed, "the signature's date is too far from the clock")
    try:
        access_key = verify(request, SERVICE, keys, now, scope=Scope(SERVICE, region))
    except SignatureMismatchError as error:
        # API Gateway sends back what it signed, so that a client can compare it with its own.
        message = (
            f"{error.message}\n\nThe Canonical String for this request should have been\n'{error.canonical_request}'"
            f"\n\nThe String-to-Sign should have been\n'{error.string_to_sign}'\n"
        )
        return _refused(kind, error.code, message, "the signature does not match")
    except AwsError as error:
        # sigv4 words the others as API Gateway does; a refusal it words for another service (a
        # payload hash that is not the body's, an expired presigned URL) is a signature API Gateway refuses.
        return _refused(kind, error.code, error.message, error.message)
    # A configured key is the account's own (root) credentials: IAM names the account as the caller.
    signer = Signer(access_key=access_key, account_id=account_id, user_id=account_id, user_arn=f"arn:aws:iam::{account_id}:root")
    return Grant("iam", signer=signer)


def _skew_problem(request: HttpRequest, now: datetime) -> str | None:
    """AWS's message for a header-signed request dated more than :data:`MAX_SKEW` from ``now``.

    Checked here, before the signature, because API Gateway's window is narrower than the 15 minutes
    the endpoint's other services allow (:data:`..sigv4.MAX_SKEW`); which of the two AWS reports
    for a request both stale and badly signed is not confirmed. A request without a readable date
    is left to :func:`~..sigv4.verify`, which words what is missing.
    """
    if not request.header("authorization"):
        return None
    try:
        signed_at = datetime.strptime(request.header("x-amz-date") or "", _DATE).replace(tzinfo=UTC)
    except ValueError:
        return None
    stamp = signed_at.strftime(_DATE)
    if signed_at < now - MAX_SKEW:
        return f"Signature expired: {stamp} is now earlier than {(now - MAX_SKEW).strftime(_DATE)} ({now.strftime(_DATE)} - 5 min.)"
    if signed_at > now + MAX_SKEW:
        return f"Signature not yet current: {stamp} is still later than {(now + MAX_SKEW).strftime(_DATE)} ({now.strftime(_DATE)} + 5 min.)"
    return None


def _refused(kind: ApiKind, code: str, message: str, reason: str) -> Refusal:
    """API Gateway's 403 for a request whose signature it refused (``code``: sigv4's error code)."""
    if code == "MissingAuthenticationTokenException":
        # The gateway's own answer to an unsigned request: REST's Missing Authentication Token, an
        # HTTP API's plain 403 Forbidden.
        return Refusal(gateway_error(kind, "iam"), f"IAM authorization: {reason}", response_type(kind, "iam"))
    # An HTTP API's answers to a bad signature are taken to be a REST API's (not confirmed against AWS).
    error_type, answer_type = _ANSWERS.get(code, ("InvalidSignatureException", "INVALID_SIGNATURE"))
    headers = HeaderList()
    headers["Content-Type"] = "application/json"
    headers["x-amzn-ErrorType"] = error_type
    response = HttpResponse(403, headers, json.dumps({"message": message}, separators=(",", ":")).encode())
    return Refusal(response, f"IAM authorization: {reason}", answer_type)


def iam_warnings(api: Api, keys: Mapping[str, str]) -> list[str]:
    """What a user must know of the API's routes with IAM authorization, said once at start-up."""
    guarded = [route.route_key for route in api.routes if route.guard is not None and route.guard.kind == "iam"]
    if not guarded:
        return []
    if not keys:
        refused = "403 Forbidden" if api.kind == "HTTP" else "403 Missing Authentication Token"
        return [
            f"{api.logical_id}: {route_key}: IAM authorization needs an access key to check signatures with and none is"
            f" configured (SLUICEWAY_ENDPOINT_ACCESS_KEYS=KEY_ID:SECRET): the route refuses every request ({refused})"
            for route_key in guarded
        ]
    return [
        f"{api.logical_id}: {len(guarded)} route(s) with IAM authorization: a request signed (SigV4, service {SERVICE},"
        f" region {api.region}) with a configured access key is allowed; IAM policies and the API's resource policy"
        " are not evaluated"
    ]
