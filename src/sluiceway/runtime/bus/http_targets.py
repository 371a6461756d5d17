"""Rule targets that are HTTP endpoints: EventBridge API destinations and API Gateway REST APIs.

:class:`HttpTargets` resolves ``api-destination`` and ``api-gateway`` target ARNs (see
:func:`sluiceway.events.rules.target_kind`) to a callable that makes one HTTP request per
delivery, the router's retries and dead-letter queues around it:

* **2xx** is delivered. **401, 407, 409, 429 and 5xx**, a timeout or a refused connection fail the
  attempt and the router tries again on the target's RetryPolicy ("EventBridge retries requests
  that fail with 401, 407, 409, 429, and 5xx error codes", its API destinations guide). Any other
  status (a 400, a 404, a redirect, which is never followed) fails at once: the event goes to the
  dead-letter queue (INVALID_PARAMETER) without another try.
* An API destination, a connection or an API that does not exist fails at once as
  RESOURCE_NOT_FOUND.
* The request: the connection's auth header and parameters, the target's HttpParameters (the
  connection's win on a clash), and the target input as JSON. A request that timed out may have
  reached the endpoint: at least once, as on AWS.
* InvocationRateLimitPerSecond is honoured within this process (requests to one destination are
  spaced out); it is best effort, not a queue shared across processes.
* OAuth: the access token is fetched from the AuthorizationEndpoint at the first request and again
  when a request answers 401 or 407, or when it is within a minute of expiring (as EventBridge does);
  it is kept in memory only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ...errors import BackendUnavailableError, InvalidNameError, NotFoundError
from ...events.api_destinations import (
    ApiDestinationRecord,
    ConnectionRecord,
    HttpRequest,
    TargetHttpParameters,
    api_destination_name,
    auth_headers,
    build_request,
    connection_http_parameters,
    execute_api_target,
    is_retryable_status,
    oauth_token_request,
)
from ...events.rules import Delivery, Rule, RuleValidationError, Target, rule_bus_name, target_kind
from ...ports.events import Deliver

logger = logging.getLogger(__name__)

__all__ = [
    "ApiDestinationStore",
    "HttpResponse",
    "HttpTargetRefusedError",
    "HttpTargets",
    "HttpTransport",
    "RuleLookup",
    "ServedApis",
    "UrllibTransport",
]

#: EventBridge's client execution timeout for API destinations (its user guide): 5 seconds.
API_DESTINATION_TIMEOUT_S: Final = 5.0
#: API Gateway's own integration timeout (29 s) bounds what a REST API target can take; EventBridge's
#: timeout for this target is not documented.
API_GATEWAY_TIMEOUT_S: Final = 30.0
#: Refresh an OAuth token this long before it expires ("if the token expires within 60 seconds").
_TOKEN_MARGIN_S: Final = 60.0
#: A token response without expires_in is kept this long (our choice).
_TOKEN_DEFAULT_S: Final = 3600.0
#: A rate-limited request waits at most this long for its turn, then goes anyway (best effort).
_MAX_RATE_WAIT_S: Final = 1.0
_MAX_TOKEN_RESPONSE: Final = 1 << 20


class HttpTargetRefusedError(InvalidNameError):
    """The endpoint refused the request with a status EventBridge does not retry (a 4xx other than
    401, 407, 409 and 429, or a 3xx): the router sends the event to the dead-letter queue at once.

    An :class:`~sluiceway.errors.InvalidNameError` because that is what the router treats as a
    request the target refused (INVALID_PARAMETER, no retry).
    """


class _RetryableStatusError(BackendUnavailableError):
    """A status EventBridge retries on (401, 407, 409, 429, 5xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""


class HttpTransport(Protocol):
    """Sends one request (``UrllibTransport``; a fake in tests)."""

    def send(self, request: HttpRequest, *, timeout_s: float) -> HttpResponse:
        """The response, whatever its status.

        Raises:
            OSError: the endpoint could not be reached or did not answer in time.
        """
        ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is answered as it is (a 3xx, which EventBridge does not follow or retry); following
    # one could also lead to a scheme we never request (file:, ftp:).
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """HTTP(S) with the standard library: no redirects followed, no proxy from the environment."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect(), urllib.request.ProxyHandler({}))

    def send(self, request: HttpRequest, *, timeout_s: float) -> HttpResponse:
        if not request.url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {request.url}")
        outgoing = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method=request.method)
        try:
            with self._opener.open(outgoing, timeout=timeout_s) as response:
                return HttpResponse(response.status, response.read(_MAX_TOKEN_RESPONSE))
        except urllib.error.HTTPError as exc:
            with exc:
                return HttpResponse(exc.code, exc.read(_MAX_TOKEN_RESPONSE) if exc.fp is not None else b"")


class ApiDestinationStore(Protocol):
    """What deliveries read of connections and API destinations (``SqliteApiDestinations`` locally)."""

    def get_api_destination(self, name: str) -> ApiDestinationRecord:
        """Raises NotFoundError."""
        ...

    def connection_by_arn(self, arn: str) -> ConnectionRecord:
        """Raises NotFoundError."""
        ...

    def credentials(self, connection: ConnectionRecord) -> dict[str, Any]:
        """The connection's secret value. Raises NotFoundError."""
        ...

    def set_connection_state(self, name: str, state: str, *, reason: str | None = None, authorized: bool = False) -> None: ...


class RuleLookup(Protocol):
    """Where a delivery's target (and its HttpParameters) is read (the event store)."""

    def get_rule(self, name: str, bus: str = ...) -> Rule:
        """Raises NotFoundError."""
        ...


class ServedApis(Protocol):
    """The API Gateway REST APIs the stack's endpoint serves."""

    def base_url(self, api_id: str) -> str | None:
        """The local stand-in for ``https://{api_id}.execute-api.{region}.amazonaws.com``; None: not served."""
        ...


class _RateLimiter:
    """Spaces requests to one destination at least 1/rate seconds apart (in this process)."""

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._now, self._sleep = now, sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, rate: int) -> None:
        with self._lock:
            now = self._now()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + 1.0 / max(rate, 1)
        if slot > now:
            self._sleep(min(slot - now, _MAX_RATE_WAIT_S))


class HttpTargets:
    """Delivers to API destinations and API Gateway REST APIs (see the module).

    Args:
        destinations: the connections and API destinations.
        rules: where a delivery's target is read, for its HttpParameters.
        region: the local stack's Region: an API elsewhere does not exist here.
        account: likewise, its account.
        transport: sends the requests (urllib by default).
        apis: the REST APIs served, once an endpoint serves them (:meth:`serve_apis`).
    """

    def __init__(
        self,
        destinations: ApiDestinationStore,
        rules: RuleLookup,
        *,
        region: str,
        account: str,
        transport: HttpTransport | None = None,
        apis: ServedApis | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.destinations = destinations
        self.rules = rules
        self.region = region
        self.account = account
        self.transport = transport or UrllibTransport()
        self.apis = apis
        self._monotonic = monotonic
        self._limiter = _RateLimiter(monotonic, sleep)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()

    def serve_apis(self, apis: ServedApis | None) -> None:
        """Deliver to the REST APIs ``apis`` serves (None: no endpoint serves any now)."""
        self.apis = apis

    def handles(self, arn: str) -> bool:
        return target_kind(arn) in ("api-destination", "api-gateway")

    def resolve(self, arn: str) -> Deliver:
        """The callable that delivers to ``arn`` (an API destination or API Gateway ARN)."""
        if target_kind(arn) == "api-destination":
            return lambda delivery: self._to_destination(arn, delivery)
        return lambda delivery: self._to_api(arn, delivery)

    # -- what both share --------------------------------------------------------------------------

    def _target_parameters(self, delivery: Delivery) -> TargetHttpParameters:
        try:
            bus = rule_bus_name(delivery.rule_arn)
        except RuleValidationError:
            # A Scheduler schedule: EventBridge Scheduler offers no HTTP targets.
            raise HttpTargetRefusedError(f"{delivery.target_arn} is not a target EventBridge Scheduler can invoke.") from None
        try:
            target = self.rules.get_rule(delivery.rule, bus).target(delivery.target_id)
        except NotFoundError:
            target = None  # a rule of the router's own process: no HttpParameters
        params = target.http_parameters if isinstance(target, Target) else None
        return TargetHttpParameters.from_json(params)

    def _send(self, request: HttpRequest, *, timeout_s: float, where: Mapping[str, Any]) -> HttpResponse:
        try:
            response = self.transport.send(request, timeout_s=timeout_s)
        except OSError as exc:
            raise BackendUnavailableError(f"{request.method} {request.url} failed: {exc}") from exc
        if 200 <= response.status <= 299:
            return response
        message = f"{request.method} {request.url} answered {response.status}"
        if is_retryable_status(response.status):
            raise _RetryableStatusError(message, response.status)
        logger.warning("http target refused the event", extra={**where, "status": response.status})
        raise HttpTargetRefusedError(message)

    # -- API destinations -------------------------------------------------------------------------

    def _to_destination(self, arn: str, delivery: Delivery) -> None:
        self._here(arn)
        name = api_destination_name(arn)
        assert name is not None  # target_kind checked the ARN
        destination = self.destinations.get_api_destination(name)
        if destination.arn != arn:
            # Deleted and made again: a new resource with a new id, which the target does not name.
            raise NotFoundError(f"API destination {arn} does not exist.")
        connection = self.destinations.connection_by_arn(destination.connection_arn)
        secret = self.destinations.credentials(connection)
        if connection.state in ("DEAUTHORIZED", "DEAUTHORIZING"):
            # A deauthorized connection sends nothing until UpdateConnection authorizes it again.
            raise HttpTargetRefusedError(f"Connection {connection.name} is {connection.state}.")
        token = self._token(connection, secret) if connection.authorization_type == "OAUTH_CLIENT_CREDENTIALS" else None
        try:
            request = build_request(
                method=destination.http_method,
                url_template=destination.endpoint,
                payload=delivery.input,
                target=self._target_parameters(delivery),
                connection=connection_http_parameters(secret),
                auth_headers=auth_headers(connection.authorization_type, secret, token=token),
            )
        except RuleValidationError as exc:
            raise HttpTargetRefusedError(str(exc)) from None
        self._limiter.wait(destination.arn, destination.rate_limit)
        where = {"rule": delivery.rule, "target": delivery.target_id, "destination": name}
        try:
            self._send(request, timeout_s=API_DESTINATION_TIMEOUT_S, where=where)
        except _RetryableStatusError as exc:
            if token is not None and exc.status in (401, 407):
                self._forget_token(connection.arn)  # "EventBridge refreshes OAuth tokens when a 401 or 407 response is returned"
            raise

    def _token(self, connection: ConnectionRecord, secret: Mapping[str, Any]) -> str:
        now = self._monotonic()
        with self._tokens_lock:
            cached = self._tokens.get(connection.arn)
        if cached is not None and cached[1] - _TOKEN_MARGIN_S > now:
            return cached[0]
        try:
            request = oauth_token_request(secret)
        except RuleValidationError as exc:
            raise HttpTargetRefusedError(str(exc)) from None
        response = self._send(request, timeout_s=API_DESTINATION_TIMEOUT_S, where={"connection": connection.name})
        try:
            body = json.loads(response.body)
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or _TOKEN_DEFAULT_S)
        except (ValueError, KeyError, TypeError):
            raise BackendUnavailableError(f"the authorization endpoint of connection {connection.name} sent no access_token") from None
        if not isinstance(token, str):
            raise BackendUnavailableError(f"the authorization endpoint of connection {connection.name} sent no access_token")
        with self._tokens_lock:
            self._tokens[connection.arn] = (token, now + lifetime)
        if connection.state != "AUTHORIZED":
            self.destinations.set_connection_state(connection.name, "AUTHORIZED", authorized=True)
        return token

    def _forget_token(self, arn: str) -> None:
        with self._tokens_lock:
            self._tokens.pop(arn, None)

    # -- API Gateway ------------------------------------------------------------------------------

    def _to_api(self, arn: str, delivery: Delivery) -> None:
        self._here(arn)
        target = execute_api_target(arn)
        assert target is not None  # target_kind checked the ARN
        base = self.apis.base_url(target.api_id) if self.apis is not None else None
        if base is None:
            raise NotFoundError(f"API {target.api_id} is not served by this stack.")
        method = "POST" if target.method == "*" else target.method
        try:
            request = build_request(
                method=method,
                url_template=f"{base}/{target.stage}{target.path}",
                payload=delivery.input,
                target=self._target_parameters(delivery),
            )
        except RuleValidationError as exc:
            raise HttpTargetRefusedError(str(exc)) from None
        self._send(
            request, timeout_s=API_GATEWAY_TIMEOUT_S, where={"rule": delivery.rule, "target": delivery.target_id, "api": target.api_id}
        )

    def _here(self, arn: str) -> None:
        region, account = arn.split(":")[3:5]
        if (region, account) != (self.region, self.account):
            raise NotFoundError(f"{arn} is not in this stack's account {self.account} and Region {self.region}.")
