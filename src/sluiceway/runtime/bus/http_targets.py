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
* Each request has 5 seconds in all (connect, send, answer) for an API destination, EventBridge's
  timeout; one that takes longer fails as a timeout and is retried. Error messages name the
  destination and the URL's path, never its query string (a connection's secret parameters).
* InvocationRateLimitPerSecond is honoured within this process: a delivery whose turn has not come
  is put back (:class:`~sluiceway.runtime.bus.router.DeliveryDeferred`, not an attempt) and the
  router goes on with other targets; it is best effort, not a queue shared across processes.
* OAuth: the access token is fetched from the AuthorizationEndpoint at the first request, after an
  UpdateConnection, and again when a request answers 401 or 407, or when it is within a minute of
  expiring (as EventBridge does); it is kept in memory only. An authorization endpoint that refuses
  the credentials (a 4xx other than 429) deauthorizes the connection; a timeout or 5xx is retried.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
import time
import urllib.parse
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
from .router import DeliveryDeferred

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
#: At most this much of an answer is read (an OAuth token response; a delivery's answer is not used).
_MAX_RESPONSE: Final = 1 << 20


class HttpTargetRefusedError(InvalidNameError):
    """The endpoint refused the request with a status EventBridge does not retry (a 4xx other than
    401, 407, 409 and 429, or a 3xx): the router sends the event to the dead-letter queue at once.

    An :class:`~sluiceway.errors.InvalidNameError` because that is what the router treats as a
    request the target refused (INVALID_PARAMETER, no retry).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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


def _abort(sock: socket.socket) -> None:
    # Called by the deadline's timer: shutting the socket down wakes a read or write blocked on it.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class UrllibTransport:
    """HTTP(S) with the standard library, within a total deadline; no redirects followed (a 3xx is
    answered as it is, as EventBridge neither follows nor retries one), no proxy from the environment.

    ``timeout_s`` bounds the whole request (connect, send, headers and body), not each socket
    operation: an endpoint that trickles its answer a byte at a time fails like one that does not
    answer, instead of holding the router's thread.
    """

    def send(self, request: HttpRequest, *, timeout_s: float) -> HttpResponse:
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        deadline = time.monotonic() + timeout_s
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=timeout_s)
        timer: threading.Timer | None = None
        response: http.client.HTTPResponse | None = None
        try:
            connection.connect()  # bounded by the socket's timeout
            # The socket itself, not the connection's attribute: http.client lets go of it once an
            # answer that closes the connection arrives, while its body is still being read.
            assert connection.sock is not None
            timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _abort, args=(connection.sock,))
            timer.daemon = True
            timer.start()
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request(request.method, target, body=request.body, headers=dict(request.headers))
            response = connection.getresponse()
            body = bytearray()
            while len(body) < _MAX_RESPONSE and (chunk := response.read1(_MAX_RESPONSE - len(body))):
                body += chunk
            status = response.status
        except http.client.HTTPException as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no complete answer within {timeout_s:g} s") from None
            raise ConnectionError(f"malformed HTTP answer ({type(exc).__name__})") from None
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no complete answer within {timeout_s:g} s") from None
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if response is not None:
                response.close()
            connection.close()
        if time.monotonic() >= deadline:
            # The timer shut the socket mid-body: what was read is a truncated answer.
            raise TimeoutError(f"no complete answer within {timeout_s:g} s")
        return HttpResponse(status, bytes(body))


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

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: int) -> float:
        """0 when a request to ``key`` may go now (the turn is taken); else how long until the next turn."""
        with self._lock:
            now = self._now()
            slot = self._next.get(key, now)
            if slot > now:
                return slot - now
            self._next[key] = now + 1.0 / max(rate, 1)
            return 0.0


def _where(request: HttpRequest) -> str:
    """The request as an error message may show it: its method, scheme, host and path, never its
    query string (where a connection's secret parameters go) or any user info."""
    parts = urllib.parse.urlsplit(request.url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{request.method} {parts.scheme}://{host}{parts.path or '/'}"


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
    ) -> None:
        self.destinations = destinations
        self.rules = rules
        self.region = region
        self.account = account
        self.transport = transport or UrllibTransport()
        self.apis = apis
        self._monotonic = monotonic
        self._limiter = _RateLimiter(monotonic)
        # By (connection ARN, its LastModifiedTime): an UpdateConnection (new client secret,
        # endpoint or parameters) makes the next request fetch a new token.
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
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

    def _send(self, request: HttpRequest, *, timeout_s: float, what: str, where: Mapping[str, Any]) -> HttpResponse:
        """Send ``request``; ``what`` names it in errors (``API destination NAME``...): messages go to
        dead-letter queues and logs, so they never hold the URL's query string or a header."""
        try:
            response = self.transport.send(request, timeout_s=timeout_s)
        except ValueError:
            # The request cannot be sent at all (a header http.client refuses, a value outside
            # Latin-1): no retry changes that.
            raise HttpTargetRefusedError(f"{what}: {_where(request)} could not be sent: a header or the URL is not valid.") from None
        except OSError as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise BackendUnavailableError(f"{what}: {_where(request)} failed ({reason}).") from None
        if 200 <= response.status <= 299:
            return response
        message = f"{what}: {_where(request)} answered {response.status}."
        if is_retryable_status(response.status):
            raise _RetryableStatusError(message, response.status)
        logger.warning("http target refused the event", extra={**where, "status": response.status})
        raise HttpTargetRefusedError(message, response.status)

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
        wait = self._limiter.take(destination.arn, destination.rate_limit)
        if wait > 0:
            # Not this delivery's turn: the router tries it again then, and meanwhile delivers to
            # other targets (EventBridge holds events for a throttled destination the same way).
            raise DeliveryDeferred(wait)
        token = self._token(connection, secret) if connection.authorization_type == "OAUTH_CLIENT_CREDENTIALS" else None
        what = f"API destination {name}"
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
            raise HttpTargetRefusedError(f"{what}: {exc}") from None
        where = {"rule": delivery.rule, "target": delivery.target_id, "destination": name}
        try:
            self._send(request, timeout_s=API_DESTINATION_TIMEOUT_S, what=what, where=where)
        except _RetryableStatusError as exc:
            if token is not None and exc.status in (401, 407):
                self._forget_token(connection)  # "EventBridge refreshes OAuth tokens when a 401 or 407 response is returned"
            raise

    def _token(self, connection: ConnectionRecord, secret: Mapping[str, Any]) -> str:
        key = (connection.arn, connection.modified_at.isoformat())
        now = self._monotonic()
        with self._tokens_lock:
            cached = self._tokens.get(key)
        if cached is not None and cached[1] - _TOKEN_MARGIN_S > now:
            if connection.state == "AUTHORIZING":
                self.destinations.set_connection_state(connection.name, "AUTHORIZED", authorized=True)
            return cached[0]
        what = f"The authorization endpoint of connection {connection.name}"
        try:
            request = oauth_token_request(secret)
        except RuleValidationError as exc:
            raise HttpTargetRefusedError(f"Connection {connection.name}: {exc}") from None
        try:
            response = self._send(request, timeout_s=API_DESTINATION_TIMEOUT_S, what=what, where={"connection": connection.name})
        except (HttpTargetRefusedError, _RetryableStatusError) as exc:
            status = exc.status
            if status != 429 and not (status is not None and status >= 500):
                # The endpoint refused the client's credentials (a 4xx other than throttling):
                # the connection is deauthorized until UpdateConnection, and this delivery fails
                # as one through a deauthorized connection does. A timeout or 5xx stays retryable.
                # StateReason's wording on AWS is not confirmed.
                reason = f"{what} refused the client credentials ({status or 'not retried'})."
                self.destinations.set_connection_state(connection.name, "DEAUTHORIZED", reason=reason)
                raise HttpTargetRefusedError(f"Connection {connection.name} is DEAUTHORIZED: {reason}") from None
            raise
        try:
            body = json.loads(response.body)
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or _TOKEN_DEFAULT_S)
        except (ValueError, KeyError, TypeError):
            raise BackendUnavailableError(f"{what} sent no access_token.") from None
        if not isinstance(token, str):
            raise BackendUnavailableError(f"{what} sent no access_token.")
        with self._tokens_lock:
            for stale in [k for k in self._tokens if k[0] == connection.arn]:
                del self._tokens[stale]
            self._tokens[key] = (token, now + lifetime)
        if connection.state != "AUTHORIZED":
            self.destinations.set_connection_state(connection.name, "AUTHORIZED", authorized=True)
        return token

    def _forget_token(self, connection: ConnectionRecord) -> None:
        with self._tokens_lock:
            self._tokens.pop((connection.arn, connection.modified_at.isoformat()), None)

    # -- API Gateway ------------------------------------------------------------------------------

    def _to_api(self, arn: str, delivery: Delivery) -> None:
        self._here(arn)
        target = execute_api_target(arn)
        assert target is not None  # target_kind checked the ARN
        base = self.apis.base_url(target.api_id) if self.apis is not None else None
        if base is None:
            raise NotFoundError(f"API {target.api_id} is not served by this stack.")
        method = "POST" if target.method == "*" else target.method
        what = f"API {target.api_id}"
        try:
            request = build_request(
                method=method,
                url_template=f"{base}/{target.stage}{target.path}",
                payload=delivery.input,
                target=self._target_parameters(delivery),
            )
        except RuleValidationError as exc:
            raise HttpTargetRefusedError(f"{what}: {exc}") from None
        self._send(
            request,
            timeout_s=API_GATEWAY_TIMEOUT_S,
            what=what,
            where={"rule": delivery.rule, "target": delivery.target_id, "api": target.api_id},
        )

    def _here(self, arn: str) -> None:
        region, account = arn.split(":")[3:5]
        if (region, account) != (self.region, self.account):
            raise NotFoundError(f"{arn} is not in this stack's account {self.account} and Region {self.region}.")
