"""Lambda authorizers: REST TOKEN and REQUEST, HTTP API REQUEST (payload 1.0 or 2.0, simple responses).

The function is invoked through the stack's invoker with API Gateway's authorizer event, and its
answer is read as API Gateway reads it:

* an IAM policy (``principalId``, ``policyDocument``, ``context``) is evaluated against the method
  ARN (:mod:`.policies`): an explicit Deny is 403 ("... with an explicit deny" on REST), no matching
  Allow 403 too; the ``context`` may hold only strings, numbers and booleans (REST);
* an HTTP API simple response (``{"isAuthorized": bool, "context": {...}}``): false is 403;
* a REST authorizer failing with the message ``Unauthorized`` is 401; any other failure, or an answer
  that is none of the above, is the authorizer's misconfiguration: REST 500 ``{"message": null}``
  (AuthorizerConfigurationException), HTTP API 500 Internal Server Error.

Answers are cached per authorizer and identity source values for ``ttl_s`` (REST: 300 s unless
told; 0 turns caching off) and, as on AWS, a cached policy is evaluated against each new request's
ARN: a policy cached for one method may refuse another.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...ports import Invocation
from ...ports.functions import FunctionInvoker
from .events import RequestView, payload_v1, payload_v2
from .grants import Grant, Refusal, refusal
from .model import Authorizer
from .policies import PolicyError, evaluate

logger = logging.getLogger(__name__)

__all__ = ["LambdaAuthorizers"]

#: How long API Gateway waits for an authorizer function (its integration timeout).
_TIMEOUT_S = 29.0
#: Cached answers kept at most (oldest dropped first): a bound on memory, not an AWS limit.
_MAX_CACHED = 10_000


class _BadAnswer(ValueError):
    """The authorizer's answer is not one API Gateway can read."""


@dataclass(frozen=True)
class _Answer:
    """A readable authorizer answer, cached as is (its policy is evaluated per request)."""

    allowed: bool | None
    """A simple response's ``isAuthorized``; None for a policy answer."""
    policy: Any
    principal_id: str | None
    context: Mapping[str, Any]
    usage_identifier_key: str | None = field(default=None, repr=False)
    """A REST policy answer's ``usageIdentifierKey`` (the API key, for an API whose key source is AUTHORIZER)."""


class LambdaAuthorizers:
    """Invokes Lambda authorizers and keeps their answers for their TTL."""

    def __init__(self, invoker: FunctionInvoker, clock: Callable[[], float] = time.monotonic) -> None:
        self._invoker = invoker
        self._clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, _Answer]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every cached answer (a redeployment)."""
        with self._lock:
            self._cache.clear()

    def authorize(self, authorizer: Authorizer, view: RequestView, identity: tuple[str, ...], arn: str) -> Grant | Refusal:
        """Authorize the request ``view`` whose identity source values are ``identity``, for ``arn``."""
        kind = view.api.kind
        key = (view.api.api_id, authorizer.name, *identity)
        started = time.monotonic()
        answer = self._cached(key) if authorizer.ttl_s > 0 and identity else None
        if answer is None:
            result = self._invoker.invoke(
                Invocation(str(authorizer.function_arn), _event(authorizer, view, identity, arn), str(uuid.uuid4()), _TIMEOUT_S)
            )
            if not result.ok:
                if kind == "REST" and result.error_message == "Unauthorized":
                    return refusal(kind, "unauthorized", "the authorizer answered Unauthorized")
                logger.warning(
                    "api gateway: the authorizer function failed",
                    extra={"authorizer": authorizer.name, "error_type": result.error_type, "error_message": result.error_message},
                )
                return refusal(kind, "configuration", f"the authorizer failed: {result.error_type}")
            try:
                answer = _read(authorizer, result.payload, rest=kind == "REST")
            except _BadAnswer as exc:
                logger.warning("api gateway: malformed authorizer answer from %s: %s", authorizer.name, exc)
                return refusal(kind, "configuration", f"malformed authorizer answer: {exc}")
            if authorizer.ttl_s > 0 and identity:
                self._keep(key, answer, authorizer.ttl_s)
        latency = int((time.monotonic() - started) * 1000)
        if answer.allowed is not None:
            if not answer.allowed:
                return refusal(kind, "forbidden", "isAuthorized is false")
        else:
            try:
                decision = evaluate(answer.policy, arn)
            except PolicyError as exc:
                logger.warning("api gateway: unreadable policy from authorizer %s: %s", authorizer.name, exc)
                return refusal(kind, "configuration", f"unreadable policy: {exc}")
            if decision == "deny":
                return refusal(kind, "denied", f"the policy denies {arn}")
            if decision == "implicit_deny":
                return refusal(kind, "not_allowed", f"the policy allows nothing matching {arn}")
        return Grant(
            "lambda", principal_id=answer.principal_id, context=answer.context, latency_ms=latency,
            usage_identifier_key=answer.usage_identifier_key,
        )  # fmt: skip

    def _cached(self, key: tuple[str, ...]) -> _Answer | None:
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                return None
            expires, answer = found
            if self._clock() >= expires:
                del self._cache[key]
                return None
            return answer

    def _keep(self, key: tuple[str, ...], answer: _Answer, ttl_s: int) -> None:
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (self._clock() + ttl_s, answer)


def _event(authorizer: Authorizer, view: RequestView, identity: tuple[str, ...], arn: str) -> dict[str, Any]:
    """API Gateway's authorizer event: the request as the integration would see it, without its body."""
    if view.api.kind == "REST" and authorizer.type == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": identity[0] if identity else "", "methodArn": arn}
    if view.api.kind == "REST":
        request = {k: v for k, v in payload_v1(view).items() if k not in ("body", "isBase64Encoded")}
        return {"type": "REQUEST", "methodArn": arn, **request}
    if authorizer.payload_format == "1.0":
        request = {k: v for k, v in payload_v1(view).items() if k not in ("body", "isBase64Encoded")}
        joined = ",".join(identity)
        return {"version": "1.0", "type": "REQUEST", "methodArn": arn, "identitySource": joined, "authorizationToken": joined, **request}
    request = {k: v for k, v in payload_v2(view).items() if k not in ("version", "body", "isBase64Encoded")}
    return {"version": "2.0", "type": "REQUEST", "routeArn": arn, "identitySource": list(identity), **request}


def _read(authorizer: Authorizer, payload: Any, *, rest: bool) -> _Answer:
    if not isinstance(payload, dict):
        raise _BadAnswer("the answer is not a JSON object")
    context = payload.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise _BadAnswer("context must be an object")
    if authorizer.simple_responses:
        allowed = payload.get("isAuthorized")
        if not isinstance(allowed, bool):
            raise _BadAnswer("isAuthorized must be a boolean")
        return _Answer(allowed, None, None, dict(context))
    principal = payload.get("principalId")
    if not isinstance(principal, str):
        raise _BadAnswer("principalId must be a string")
    if "policyDocument" not in payload:
        raise _BadAnswer("no policyDocument")
    if rest or authorizer.payload_format == "1.0":
        context = {str(k): _context_value(k, v) for k, v in context.items()}
    usage_key = payload.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise _BadAnswer("usageIdentifierKey must be a string")
    return _Answer(None, payload["policyDocument"], principal, context, usage_key if rest else None)


def _context_value(key: Any, value: Any) -> str:
    """A 1.0 context value: a string, number or boolean, passed on as a string (objects and arrays are refused)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _BadAnswer(f"context.{key}: only strings, numbers and booleans are allowed")
