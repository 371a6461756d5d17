"""The endpoint's ``/_sluiceway/lambda-urls/<url-id>/...`` paths served as Lambda serves function URLs.

A URL is ``{endpoint}/_sluiceway/lambda-urls/{url-id}/`` + what follows
``https://{url-id}.lambda-url.{region}.on.aws/`` on AWS (:func:`local_function_url`). Each request
goes: the URL (an unknown one is refused as Lambda refuses it), a CORS preflight answered by the
URL itself, the caller (``AWS_IAM``), the function invoked with the 2.0 event (:mod:`.events`),
its answer interpreted (:mod:`.responses`) and the URL's CORS headers added.

``AWS_IAM``: a request must be signed (SigV4, service ``lambda``, the stack's region) with one
of the endpoint's access keys. An endpoint with no keys to check a signature against refuses every request to
such a URL (fail closed, as API routes with IAM authorization are refused): anything else
would serve an IAM-protected function to anyone.

``InvokeMode`` ``RESPONSE_STREAM`` is served buffered: the function's whole answer is sent at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ...ports import Invocation
from ...runtime.lambdas.invoker import invoke_api_error
from ..apigateway import Cors
from ..apigateway.cors import apply_cors, is_preflight, preflight
from ..context import HttpRequest, HttpResponse, Shared
from ..errors import AwsError
from ..services._lambda_url_store import StoredUrl, kept_urls
from ..sigv4 import Scope, verify
from .events import Caller, url_event
from .responses import MalformedResultError, denied, function_failed, invoke_refused, url_response

if TYPE_CHECKING:
    from ...runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["PREFIX", "FunctionUrls", "local_function_url", "url_cors"]

PREFIX = "/_sluiceway/lambda-urls/"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"})


def local_function_url(endpoint_url: str, url_id: str) -> str:
    """The local stand-in for ``https://{url_id}.lambda-url.{region}.on.aws/`` (with its trailing slash, as Lambda's)."""
    return f"{endpoint_url.rstrip('/')}{PREFIX}{url_id}/"


def url_cors(cors: Mapping[str, Any] | None) -> Cors | None:
    """A URL's ``Cors`` as the CORS rules of :mod:`..apigateway.cors` read it."""
    if not cors:
        return None
    max_age = cors.get("MaxAge")
    return Cors(
        allow_origins=tuple(str(o) for o in cors.get("AllowOrigins") or ()),
        allow_methods=tuple(str(m).upper() for m in cors.get("AllowMethods") or ()),
        allow_headers=tuple(str(h).lower() for h in cors.get("AllowHeaders") or ()),
        expose_headers=tuple(str(h).lower() for h in cors.get("ExposeHeaders") or ()),
        max_age=int(max_age) if max_age is not None else None,
        allow_credentials=bool(cors.get("AllowCredentials")),
    )


class Host(Protocol):
    """What the URLs need of the endpoint that serves them."""

    stack: Stack
    shared: Shared
    require_auth: bool
    access_keys: dict[str, str]


class FunctionUrls:
    """The function URLs an endpoint serves (read from the kept URLs at each request: made, changed
    and deleted through Lambda's API, they take effect at once)."""

    def __init__(self, host: Host) -> None:
        self._host = host

    @staticmethod
    def serves(path: str) -> bool:
        return path.startswith(PREFIX) or path == PREFIX.rstrip("/")

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request to a function URL (never raises)."""
        request_id = str(uuid.uuid4())
        try:
            response = self._serve(request, request_id)
        except Exception:
            logger.exception("function url: %s %s failed (request %s)", request.method, request.path, request_id)
            response = function_failed()
        response.headers["x-amzn-RequestId"] = request_id
        return response

    def _serve(self, request: HttpRequest, request_id: str) -> HttpResponse:
        url_id, _, rest = request.path[len(PREFIX) :].partition("/") if request.path.startswith(PREFIX) else ("", "", "")
        stack = self._host.stack
        # Domain names are not case-sensitive: neither is a URL's id (Lambda makes them lower-case).
        url = kept_urls(stack, self._host.shared).by_id(url_id.lower()) if url_id else None
        if url is None or url.function not in stack.invoker.functions:
            return denied(None)
        headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
        cors = url_cors(url.cors)
        if cors is not None and is_preflight(request.method, headers):
            # Answered by the URL itself, before any signature: a browser never signs a preflight.
            return preflight(cors, headers)
        caller: Caller | None = None
        if url.auth_type == "AWS_IAM":
            caller = self._caller(request)
            if caller is None:
                return _with_cors(cors, headers, denied())
        event = url_event(
            url_id=url.url_id, region=stack.settings.region, method=request.method, raw_path="/" + rest, query=request.query,
            headers=headers, body=request.body, source_ip="127.0.0.1", request_id=request_id, caller=caller,
        )  # fmt: skip
        return _with_cors(cors, headers, self._invoke(url, event, request_id))

    def _caller(self, request: HttpRequest) -> Caller | None:
        """The verified signer of ``request``; None when it is unsigned, badly signed, or cannot be checked."""
        keys = self._host.access_keys
        if not keys:
            return None
        try:
            # Signed for Lambda in the stack's region, as a URL's signature must be: the endpoint's
            # own paths take any service's scope (they route by it), a URL takes only its own.
            access_key = verify(request, "lambda", keys, scope=Scope("lambda", self._host.stack.settings.region))
        except AwsError as refused:
            logger.info("function url: request refused", extra={"reason": refused.message})
            return None
        account = self._host.stack.settings.account_id
        return Caller(access_key, account, account, f"arn:aws:iam::{account}:root")

    def _invoke(self, url: StoredUrl, event: dict[str, Any], request_id: str) -> HttpResponse:
        invoker = self._host.stack.invoker
        spec = invoker.functions[url.function]
        name = url.function if url.qualifier == "$LATEST" else f"{url.function}:{url.qualifier}"
        result = invoker.invoke(Invocation(name, event, request_id, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb))
        refused = invoke_api_error(result)
        if refused is not None:
            code, message, status, _ = refused
            return invoke_refused(code, message, status)
        if not result.ok:
            logger.info("function url: the function failed", extra={"function": name, "error_type": result.error_type})
            return function_failed()
        try:
            return url_response(result.payload)
        except MalformedResultError as exc:
            logger.warning("function url: malformed response from %s: %s", name, exc)
            return function_failed()


def _with_cors(cors: Cors | None, headers: Mapping[str, str], response: HttpResponse) -> HttpResponse:
    if cors is not None:
        apply_cors(cors, headers, response)
    return response
