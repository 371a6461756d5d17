"""The gateway: the endpoint's ``/_sluiceway/apis/<apiId>/...`` paths served as API Gateway serves the APIs.

A URL is ``{endpoint}/_sluiceway/apis/{apiId}`` + what follows ``https://{apiId}.execute-api.
{region}.amazonaws.com`` on AWS: a REST API's stage is the first segment (``/Prod/items``); an HTTP
API's ``$default`` stage has none, a named stage has its segment. Each request is routed, its
route's authorizer run (one ``authorize`` step: a refusal, or the grant the events carry; IAM
authorization checks the request's signature, as received, with the endpoint's access keys), a
REST method's API key checked against the stack's usage plans (:mod:`.api_keys`), its request
validated, its integration called, and the answer given with API Gateway's request-id headers. A
stage with access logging then gets the request's line (:mod:`.access_logs`), written after the
answer and never in its way.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, unquote

from ..context import Context, HttpRequest, HttpResponse, Shared
from .access_log_format import render
from .access_log_variables import Exchange, access_variables
from .access_logs import AccessLogWriter, LogSink, stream_name
from .api_keys import KeyUse, presented_key, served_keys
from .authorizers import Authorization, unverifiable_issuers
from .cors import apply_cors, is_preflight, preflight
from .events import RequestView, payload_v1, payload_v2, request_time
from .grants import Refusal
from .iam_authorization import iam_warnings
from .integrations import invoke_proxy, mapped_tenant, mock_response
from .key_source import KeySource, NoKeys
from .lambda_authorizer import LambdaAuthorizers
from .mappings import MappingError, MappingSource
from .model import DEFAULT_ROUTE, Api, Stage
from .nonproxy import TemplateRequest, serve_template
from .responses import HeaderList, MalformedResponseError, from_v1, from_v2, gateway_error, response_type
from .routes import match_route
from .service_integrations import IntegrationRequestError, call_service
from .usage_plans import KeyCatalog
from .validation import refusal_of, request_problem

if TYPE_CHECKING:
    from ...runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["MAX_PAYLOAD", "PREFIX", "ApiGateway", "local_base_url"]

PREFIX = "/_sluiceway/apis/"
MAX_PAYLOAD = 10 * 1024 * 1024
"""API Gateway's payload limit (REST and HTTP APIs): 10 MB."""
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"})


def local_base_url(endpoint_url: str, api_id: str) -> str:
    """The local stand-in for ``https://{api_id}.execute-api.{region}.amazonaws.com``."""
    return f"{endpoint_url.rstrip('/')}{PREFIX}{api_id}"


class Host(Protocol):
    """What the gateway needs of the endpoint that serves it."""

    stack: Stack
    shared: Shared
    access_keys: dict[str, str]
    """Access key id -> secret: what requests to routes with IAM authorization may be signed with."""

    @property
    def url(self) -> str: ...


class ApiGateway:
    """The APIs an endpoint serves (``endpoint.apis``); :meth:`deploy` replaces them."""

    def __init__(self, host: Host, keys: KeySource | None = None) -> None:
        """``keys`` defaults to the stack's local user pools (no issuer at all before they exist)."""
        self._host = host
        self._apis: dict[str, Api] = {}
        self._lock = threading.Lock()
        self._keys = keys if keys is not None else _StackKeys(host)
        self._lambda_authorizers = LambdaAuthorizers(host.stack.invoker)
        self._authorization = Authorization(self._keys, self._lambda_authorizers, access_keys=host.access_keys)
        self._api_keys = served_keys(host.shared, host.stack)
        self._access_logs = AccessLogWriter(lambda: _log_store(host), release=getattr(host.stack.local, "release_thread", None))

    @staticmethod
    def serves(path: str) -> bool:
        """Whether ``path`` is the gateway's."""
        return path.startswith(PREFIX) or path == PREFIX.rstrip("/")

    def deploy(self, apis: Sequence[Api]) -> None:
        """Serve exactly ``apis`` from now on (a start, a restart or a stack update).

        Raises:
            ValueError: two APIs with one id.
        """
        served: dict[str, Api] = {}
        for api in apis:
            if api.api_id in served:
                raise ValueError(f"two APIs have the id {api.api_id}: {served[api.api_id].logical_id} and {api.logical_id}")
            served[api.api_id] = api
        # Every API of a stack holds the stack's one catalog of keys and plans.
        self._api_keys.deploy(next((api.usage for api in served.values()), KeyCatalog()))
        for api in served.values():
            for warning in [*unverifiable_issuers(api, self._keys), *iam_warnings(api, self._host.access_keys)]:
                if warning in api.warnings:
                    continue  # the same API deployed again (a stack update)
                logger.warning("api gateway: %s", warning)
                api.warnings.append(warning)
        with self._lock:
            self._apis = served
        self._lambda_authorizers.clear()

    @property
    def apis(self) -> Mapping[str, Api]:
        """The served APIs by id."""
        return dict(self._apis)

    def flush_access_logs(self, timeout: float = 10.0) -> bool:
        """Wait until the access log lines of the requests answered so far are written; True if they were in time."""
        return self._access_logs.flush(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write the queued access log lines and stop their writer (call before the stack's log store closes)."""
        self._access_logs.close(timeout)

    def precheck(self, head: HttpRequest) -> HttpResponse | None:
        """A refusal for a request whose headers already condemn it (too large), before its body is read."""
        length = head.header("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_PAYLOAD:
            api_id, rest = self._split(head.path)
            api = self._apis.get(api_id)
            response = gateway_error(api.kind if api else "HTTP", "too_large")
            response.headers["Connection"] = "close"
            if api is not None:
                # API Gateway answered it: it has its ids and its access log line, like any other answer.
                exchange = self._exchange(api, head, rest)
                located = _stage_of(api, rest)
                exchange.stage = located[0] if located is not None else None
                exchange.response_type = response_type(api.kind, "too_large")
                self._answered(exchange, response)
            return response
        return None

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request for an API (never raises)."""
        api_id, rest = self._split(request.path)
        api = self._apis.get(api_id)
        if api is None:
            return gateway_error("HTTP", "no_route")
        exchange = self._exchange(api, request, rest)
        try:
            response = self._serve(api, rest, request, exchange)
        except Exception:
            logger.exception("api gateway: %s %s failed (request %s)", request.method, request.path, exchange.request_id)
            response = self._refuse(exchange, "integration_error")
            exchange.integration_answered = False
        self._answered(exchange, response)
        return response

    @staticmethod
    def _exchange(api: Api, request: HttpRequest, rest: str) -> Exchange:
        """The record of one request to ``api``, with its ids."""
        return Exchange(
            api=api, request_id=str(uuid.uuid4()) if api.kind == "REST" else _short_id(), extended_request_id=_short_id(),
            method=request.method, path=rest, user_agent=request.header("user-agent") or "", time_ms=int(time.time() * 1000),
            started=time.monotonic(),
        )  # fmt: skip

    def _answered(self, exchange: Exchange, response: HttpResponse) -> None:
        """Give ``response`` the request's ids and queue its access log line."""
        if exchange.api.kind == "REST":
            response.headers["x-amzn-RequestId"] = exchange.request_id
            response.headers["x-amz-apigw-id"] = exchange.extended_request_id
            response.headers.setdefault("X-Amzn-Trace-Id", _trace_id())
        else:
            response.headers["apigw-requestid"] = exchange.request_id
        self._log_access(exchange, response)

    @staticmethod
    def _refuse(exchange: Exchange, problem: str) -> HttpResponse:
        """API Gateway's own answer to ``problem``, noted for the access log."""
        exchange.response_type = response_type(exchange.api.kind, problem)
        return gateway_error(exchange.api.kind, problem)

    def _log_access(self, exchange: Exchange, response: HttpResponse) -> None:
        """Queue the stage's access log line for the answered request (never raises: the request is served)."""
        stage = exchange.stage
        if stage is None or stage.access_log is None:
            return
        try:
            base = _context_variables(exchange.view) if exchange.view is not None else {}
            latency = int((time.monotonic() - exchange.started) * 1000)
            line = render(stage.access_log.format, access_variables(exchange, base, response, latency))
            stream = stream_name(exchange.api.kind, exchange.api.api_id, stage.name, exchange.time_ms)
            self._access_logs.submit(stage.access_log.group, stream, exchange.time_ms, line)
        except Exception:
            logger.exception("api gateway: the access log line of request %s was not made", exchange.request_id)

    # ------------------------------------------------------------------ steps

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        api_id, _, rest = path[len(PREFIX) :].partition("/") if path.startswith(PREFIX) else ("", "", "")
        return api_id, "/" + rest

    def _serve(self, api: Api, rest: str, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        located = _stage_of(api, rest)
        if located is None:
            return self._refuse(exchange, "no_stage")
        stage, path, stage_prefix = located
        exchange.stage = stage
        if len(request.body) > MAX_PAYLOAD:
            return self._refuse(exchange, "too_large")
        headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
        if api.kind == "HTTP" and api.cors is not None and is_preflight(request.method, headers):
            return preflight(api.cors, headers)
        found = match_route(api.routes, request.method, path)
        if found is None:
            return self._refuse(exchange, "no_route")
        route = found.route
        # The request is seen from here on (authorizers, validation, events) on the path it was
        # routed on: authorizing one spelling of a path and serving another would let a trailing or
        # doubled slash slip past a Deny.
        path = found.path
        stage_path = stage_prefix + path if path != "/" or not stage_prefix else stage_prefix
        headers = _forwarded(headers)
        host = headers.get("host") or self._host.url.split("://", 1)[-1]
        view = RequestView(
            api=api, stage=stage, route=route, path_parameters=found.path_parameters, method=request.method, path=path,
            stage_path=stage_path, query=request.query, headers=headers, body=request.body, source_ip="127.0.0.1",
            request_id=exchange.request_id, extended_request_id=exchange.extended_request_id, time_ms=exchange.time_ms,
            domain_name=host, domain_prefix=api.api_id,
        )  # fmt: skip
        exchange.view = view
        decision = self._authorization.authorize(view, request)
        if isinstance(decision, Refusal):
            logger.info("api gateway: %s %s refused: %s", request.method, request.path, decision.reason)
            exchange.response_type = decision.response_type
            return _with_cors(api, headers, decision.response)
        view = exchange.view = dataclasses.replace(view, authorizer=decision)
        if route.api_key_required and api.kind == "REST":
            use = self._api_key(view)
            if not isinstance(use, KeyUse):
                logger.info("api gateway: %s %s refused: %s", request.method, request.path, use)
                return self._refuse(exchange, use)
            view = exchange.view = dataclasses.replace(view, api_key=use)
        if route.validation is not None:
            query: dict[str, list[str]] = {}
            for key, value in parse_qsl(request.query, keep_blank_values=True):
                query.setdefault(key, []).append(value)
            invalid = request_problem(
                route.validation, headers=headers, query=query, path_parameters=found.path_parameters, body=request.body
            )
            if invalid is not None:
                exchange.response_type = invalid[0]
                return refusal_of(invalid)
        return _with_cors(api, headers, self._integrate(view, exchange))

    def _api_key(self, view: RequestView) -> KeyUse | str:
        """The key the request is let through with, or the problem (``api_key``, ``throttled``, ``quota``)."""
        usage_key = view.authorizer.usage_identifier_key if view.authorizer is not None else None
        presented = presented_key(view.api.key_source, view.headers.get("x-api-key"), usage_key)
        return self._api_keys.check(view.api.api_id, view.stage.name, view.route.path, view.route.method, view.method, presented)

    def _integrate(self, view: RequestView, exchange: Exchange) -> HttpResponse:
        started = time.monotonic()
        response = self._call_integration(view, exchange)
        if view.route.integration.kind != "unsupported":
            exchange.integration_latency_ms = int((time.monotonic() - started) * 1000)
        return response

    def _call_integration(self, view: RequestView, exchange: Exchange) -> HttpResponse:
        api, integration = view.api, view.route.integration
        if integration.kind == "lambda":
            v2 = integration.payload_format == "2.0"
            event = payload_v2(view) if v2 else payload_v1(view)
            tenant_id = mapped_tenant(
                integration,
                view.headers,
                dict(parse_qsl(view.query)),
                view.path_parameters,
                context=_context_variables(view),
                stage_variables=view.stage.variables,
            )
            outcome = invoke_proxy(self._host.stack.invoker, integration, event, tenant_id=tenant_id)
            if outcome.problem:
                exchange.integration_error = outcome.problem.replace("_", " ")
                # Lambda answered Invoke (200) for a function that failed; it did not for the others.
                exchange.integration_status = 200 if outcome.problem == "function_error" else None
                return self._refuse(exchange, outcome.problem)
            exchange.integration_status = 200
            try:
                if v2:
                    response = from_v2(outcome.payload)
                else:
                    accept = view.headers.get("accept")
                    response = from_v1(outcome.payload, kind=api.kind, accept=accept, binary_media_types=api.binary_media_types)
            except MalformedResponseError as exc:
                logger.warning("api gateway: malformed Lambda proxy response from %s: %s", integration.function_arn, exc)
                exchange.integration_error = str(exc)
                return self._refuse(exchange, "function_error")
            exchange.integration_answered = True
            return response
        if integration.kind == "service":
            source = MappingSource(
                headers=view.headers, query=view.query, path_parameters=view.path_parameters, body=view.body,
                context=_context_variables(view), stage_variables=view.stage.variables, path=view.path,
            )  # fmt: skip
            try:
                answered = call_service(integration, source, self._context_factory(api), view.request_id)
            except (MappingError, IntegrationRequestError) as exc:
                logger.warning("api gateway: %s %s: %s", view.method, view.route.route_key, exc)
                exchange.integration_error = str(exc)
                return self._refuse(exchange, "bad_request")
            exchange.integration_status, exchange.integration_answered = answered.status, True
            return answered
        if integration.kind == "template":
            request = TemplateRequest(
                method=view.method, headers=view.headers, query=view.query, path_parameters=view.path_parameters, body=view.body,
                context={**_context_variables(view), "resourcePath": view.route.path, "resourceId": view.route.resource_id},
                stage_variables=view.stage.variables, request_id=view.request_id, endpoint_url=self._host.url,
            )  # fmt: skip
            templated = serve_template(integration, request, self._host.stack.invoker, self._context_factory(api))
            exchange.integration_status, exchange.integration_answered = templated.status, True
            return templated
        if integration.kind == "mock":
            mocked = mock_response(integration)
            if mocked is None:
                return self._refuse(exchange, "integration_error")
            status, extra, body = mocked
            out = HeaderList()
            out["Content-Type"] = "application/json"
            for name, value in extra.items():
                out[name] = value
            exchange.integration_status, exchange.integration_answered = status, True
            return HttpResponse(status, out, body.encode())
        logger.warning("api gateway: %s is not served: %s", view.route.route_key, integration.reason)  # the route key names the method
        return self._refuse(exchange, "integration_error")

    def _context_factory(self, api: Api) -> Any:
        host = self._host

        def make(service: str, operation: str, request: HttpRequest) -> Context:
            return Context(
                stack=host.stack, shared=host.shared, request=request, service=service, operation=operation,
                region=api.region, account_id=api.account_id, request_id=str(uuid.uuid4()), endpoint_url=host.url,
            )  # fmt: skip

        return make


def _log_store(host: Host) -> LogSink | None:
    """The stack's log store, where functions' logs go too (None for a stack without one)."""
    store = getattr(host.stack.local, "logs", None) or getattr(host.stack.invoker, "logs", None)
    return store if store is not None and hasattr(store, "create_stream") else None


class _StackKeys:
    """The signing keys of the stack's local user pools, read at each use (pools come and go, keys rotate)."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def jwks_for_issuer(self, issuer: str) -> dict[str, Any] | None:
        pools = getattr(self._host.stack.local, "user_pools", None)
        if pools is None:
            return NoKeys().jwks_for_issuer(issuer)
        found = pools.jwks_for_issuer(issuer)
        return dict(found) if isinstance(found, dict) else None


def _with_cors(api: Api, headers: Mapping[str, str], response: HttpResponse) -> HttpResponse:
    if api.kind == "HTTP" and api.cors is not None:
        apply_cors(api.cors, headers, response)
    return response


def _stage_of(api: Api, rest: str) -> tuple[Stage, str, str] | None:
    """(stage, path after the stage, the stage's raw path segment ``/Prod`` or "") for the path after the API's id."""
    first, _, after = rest[1:].partition("/")
    named = api.stage(unquote(first)) if first else None
    if named is not None and named.name != DEFAULT_ROUTE:
        return named, "/" + after, "/" + first
    if api.kind == "HTTP":
        default = api.stage(DEFAULT_ROUTE)
        if default is not None:
            return default, rest, ""
    return None


def _forwarded(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers API Gateway adds before the integration sees the request."""
    out = dict(headers)
    prior = out.get("x-forwarded-for")
    out["x-forwarded-for"] = f"{prior}, 127.0.0.1" if prior else "127.0.0.1"
    host = out.get("host", "")
    port = host.rsplit(":", 1)[1] if ":" in host and host.rsplit(":", 1)[1].isdigit() else "80"
    out["x-forwarded-port"] = port
    out["x-forwarded-proto"] = "http"  # the client spoke plain HTTP to the local endpoint
    out.setdefault("x-amzn-trace-id", _trace_id())
    return out


def _context_variables(view: RequestView) -> dict[str, Any]:
    return {
        "accountId": view.api.account_id, "apiId": view.api.api_id, "domainName": view.domain_name,
        "domainPrefix": view.domain_prefix, "extendedRequestId": view.extended_request_id, "httpMethod": view.method,
        "identity": {
            "sourceIp": view.source_ip, "userAgent": view.headers.get("user-agent", ""), **_signer_identity(view), **_key_identity(view),
        },
        "path": view.stage_path, "protocol": "HTTP/1.1", "requestId": view.request_id,
        "requestTime": request_time(view.time_ms), "requestTimeEpoch": view.time_ms, "routeKey": view.route.route_key,
        "stage": view.stage.name, "authorizer": view.authorizer.for_mappings() if view.authorizer is not None else {},
    }  # fmt: skip


def _signer_identity(view: RequestView) -> dict[str, str]:
    """``$context.identity.accessKey``, ``accountId``, ``caller``, ``user`` and ``userArn``: set for a route with IAM authorization."""
    signer = view.authorizer.signer if view.authorizer is not None else None
    return signer.for_identity() if signer is not None else {}


def _key_identity(view: RequestView) -> dict[str, str]:
    """``$context.identity.apiKey`` and ``apiKeyId``: set only for a method that required a key."""
    return {"apiKey": view.api_key.value, "apiKeyId": view.api_key.key_id} if view.api_key is not None else {}


def _short_id() -> str:
    """An id shaped like API Gateway's HTTP API request ids and extended ids (``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(os.urandom(11)).decode("ascii").replace("+", "-").replace("/", "_")


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"
