"""The endpoint's HTTP server: one port, AWS's services and Sluiceway's own ``/_sluiceway/`` routes.

Each request goes: routing (which service) -> signature checks -> the protocol layer
(request to input shape) -> the service's operation (over the ports) -> the protocol
layer again (output or error shape to response). Errors are mapped to AWS's shapes
here, once: an operation we do not serve answers with an AWS error naming it, and a
bug answers with AWS's InternalError, never with a traceback.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from ..observability.exposition import METRICS_PATH, exposition
from . import cognito_routes, console_routes, http1, protocol
from .apigateway import ApiGateway
from .asgi import AsgiApp
from .body import decode_aws_chunked, read_http_chunked
from .compression import inflate_body
from .context import Context, HttpRequest, HttpResponse, Shared, Stream
from .custom_resources import RESPONSE_PATH, ResponseSlots
from .errors import AwsError, not_implemented
from .health import liveness, readiness
from .lambda_urls import FunctionUrls
from .routing import QUERY_SERVICES, Route, route, virtual_host_bucket
from .sdk_tasks import serve_aws_sdk_tasks
from .services import operations
from .services._events_rest_api_targets import serve_rest_api_targets, stop_rest_api_targets
from .services._lambda_catalog import restore as restore_functions
from .services._ses_common import relay as ses_relay
from .services.pipes import restore as restore_pipes
from .sigv4 import check_expiry, precheck, verify

if TYPE_CHECKING:
    from ..runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PORT", "Endpoint", "is_loopback"]

API_PREFIX = "/_sluiceway/api"
"""Where the management API (``sluiceway.api``) is served."""
DEFAULT_PORT = 4566
"""The port every AWS emulator has used since LocalStack; clients' examples assume it."""
#: S3's single PUT limit is 5 GiB; a body larger than that is refused before it is read.
S3_MAX_BODY = 5 * 1024**3
#: Every other service refuses far smaller requests (DynamoDB's 16 MB batch is the largest).
MAX_BODY = 16 * 1024 * 1024
#: Lambda takes a request up to this size (a 50 MB zip, base64 in JSON), as its own message says.
LAMBDA_MAX_BODY = 70_167_211
#: SES v2 takes a raw message of up to 40 MB, base64 in JSON.
SESV2_MAX_BODY = 56 * 1024 * 1024
_STOP_GRACE_S = 5.0
IDLE_TIMEOUT_S = 60.0
"""How long a connection may wait for a byte (an idle kept-alive connection, a stalled body) before it is closed."""
HEAD_TIMEOUT_S = 30.0
"""How long a request's head may take from its first byte: a client dribbling it is answered 408 and closed."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Endpoint:
    """AWS's APIs for one running stack, served on ``host:port``.

    Args:
        stack: the started stack whose backends the operations use.
        host: the address to bind; anything but the loopback requires signed requests.
        port: the port (0 picks a free one: see :attr:`url`).
        require_auth: require a valid SigV4 signature even on the loopback.
        access_keys: access key id -> secret access key, for signature checks.

    Raises:
        ValueError: signatures are required but no access key is configured (fail closed).
    """

    def __init__(
        self,
        stack: Stack,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        require_auth: bool = False,
        access_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.stack = stack
        self.host = host
        self.port = port
        self.require_auth = require_auth or not is_loopback(host)
        self.access_keys = dict(access_keys or {})
        if self.require_auth and not self.access_keys:
            raise ValueError(
                f"the endpoint on {host} requires signed requests but no access key is configured "
                "(set SLUICEWAY_ENDPOINT_ACCESS_KEYS=KEY_ID:SECRET)"
            )
        # Step Functions' aws-sdk tasks call these operations; what they build is the stack's (closed with it).
        self.shared: Shared = serve_aws_sdk_tasks(stack, lambda: self.url)
        # Functions made through Lambda's API come back now, not on the first Lambda request: an
        # S3 notification or a rule may invoke one before anyone asks Lambda anything.
        restore_functions(stack, self.shared)
        # Kept pipes run again, and mail captured before a restart goes on to the SMTP server.
        restore_pipes(stack, self.shared)
        ses_relay(stack, self.shared)
        self.apis = ApiGateway(self)
        """The API Gateway APIs served under ``/_sluiceway/apis/<apiId>`` (``apis.deploy([...])``)."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._rest_api_targets: object | None = None
        self._query_actions: dict[str, frozenset[str]] | None = None
        self._busy = 0
        self._idle = threading.Condition()
        self._closing = False
        self.starting: str | None = None
        """While set (say, a template being made), health answers 503 with this as the reason."""

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a background thread. Raises OSError when the port is taken."""
        server = _Server((self.host, self.port), _Connection)
        server.endpoint = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="endpoint", daemon=True)
        self._thread.start()
        # EventBridge rules whose targets are these REST APIs call them here, while it serves.
        self._rest_api_targets = serve_rest_api_targets(self.stack, lambda: self.url, lambda: self.apis.apis)

    def close(self) -> None:
        """Stop accepting requests and let those in flight finish (a few seconds at most).

        Kept-alive connections are shut for reading: a request being served gets its
        answer, and nothing more is read from them, so nothing reaches the stack after this.
        """
        if self._server is None:
            return
        self._closing = True
        stop_rest_api_targets(self.stack, self._rest_api_targets)
        self._server.shutdown()
        self._server.server_close()
        self._server.shut_connections()
        deadline = time.monotonic() + _STOP_GRACE_S
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(0.1)
        self.apis.close()  # the access log lines of the requests just answered, written before the stack's log store closes
        self._server = None
        # self.shared is not closed here: the stack's AWS SDK tasks still use it (the stack closes it).

    # ------------------------------------------------------------------ requests

    def route(self, head: HttpRequest) -> Route:
        """Which service a request is for, from its head (see :func:`~.routing.route`); computed once per request."""
        return route(head, query_actions=self._actions())

    def precheck(self, head: HttpRequest, where: Route | None = None) -> HttpResponse | None:
        """An answer for a request its headers already condemn (its body is then never read), or None.

        With signatures required, an unsigned request, a foreign key or a stale date is
        refused here; so is a body larger than its service accepts.

        Args:
            where: :meth:`route` of ``head``, if the caller has it.
        """
        if _own_route(head) or cognito_routes.serves(head):
            # Never S3's 5 GiB: these routes read their body into memory, so it is refused before 100 Continue.
            length = head.header("content-length")
            if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_BODY:
                return _json(413, {"message": f"Request must be smaller than {MAX_BODY} bytes"})
            return self.apis.precheck(head) if ApiGateway.serves(head.path) else None
        where = where or self.route(head)
        service = where.service or "s3"
        try:
            length = head.header("content-length")
            if length is not None and not (length.isascii() and length.isdigit()):
                code = "InvalidArgument" if service == "s3" else "ValidationException"
                raise AwsError(code, "Content-Length must be a whole number", 400)
            limit = _body_limit(head.headers, where)
            if length is not None and int(length) > limit:
                raise _too_large(service, limit, head)
            if self.require_auth and where.service is not None and not unsigned_operation(head, where.service):
                precheck(head, service, self.access_keys)
        except AwsError as error:
            return protocol.serialize_error(service, error, str(uuid.uuid4()), method=head.method)
        return None

    def handle(self, request: HttpRequest, where: Route | None = None) -> HttpResponse:
        """Answer one request (never raises).

        Args:
            where: :meth:`route` of the request's head, if the caller has it.
        """
        started = time.perf_counter()
        served = _Served()
        response: HttpResponse | None = None
        with self._idle:
            self._busy += 1
        try:
            response = self._dispatch(request, where, served)
            return response
        except Exception:
            # _aws answers its own bugs in AWS's shapes; a bug in one of our own routes gets a
            # JSON 500 too, rather than escaping to the HTTP server (the client would get nothing).
            request_id = str(uuid.uuid4())
            logger.exception("endpoint: %s %s failed (request %s)", request.method, request.path, request_id)
            message = "We encountered an internal error. Please try again."
            response = _json(500, {"__type": "InternalFailure", "message": message}, {"x-amzn-RequestId": request_id})
            return response
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()
            # The one place where a request's service, operation, status and duration are all known.
            status = response.status if response is not None else 500
            seconds = time.perf_counter() - started
            self.stack.metrics.endpoint_request(served.service, served.operation, status, seconds)
            if logger.isEnabledFor(logging.DEBUG):
                extra = {"service": served.service, "operation": served.operation, "status": status}
                logger.debug("endpoint request", extra={**extra, "seconds": seconds})

    def _dispatch(self, request: HttpRequest, where: Route | None, served: _Served) -> HttpResponse:
        if self._closing:
            return _json(503, {"__type": "ServiceUnavailable", "message": "the stack is stopping"}, {"Connection": "close"})
        if _own_route(request) and ApiGateway.serves(request.path):
            served.operation = "apis"
            return self.apis.handle(request)
        if cognito_routes.serves(request):
            # Public in Cognito too: the keys that verify a pool's tokens, and the token endpoint.
            # Discovery names the endpoint's own URL, never the client-chosen Host header.
            served.operation = "cognito"
            return cognito_routes.handle(request, self.stack, self.url)
        if _own_route(request):
            served.operation = "own"
            return self._own(request)
        if where is None or where.body_decides:
            where = self.route(request)
        return self._aws(request, where, served)

    def _own(self, request: HttpRequest) -> HttpResponse:
        if (request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")) and self.stack.settings.api_enabled:
            return self.shared.get("management-api", self._management_api).handle(request)
        if console_routes.serves(request) and self.stack.settings.api_enabled:
            return console_routes.handle(request, self.stack, self.shared)
        if FunctionUrls.serves(request.path):
            return self.shared.get("lambda-urls", lambda: FunctionUrls(self)).handle(request)
        path = request.path.rstrip("/")
        if path == METRICS_PATH:
            status, headers, text = exposition(self.stack.metrics.registry, request.headers, request.method)
            return HttpResponse(status, headers, text)
        if path in ("/_sluiceway/health", "/_sluiceway/health/ready") and request.method in ("GET", "HEAD"):
            status, body = readiness(self) if path.endswith("/ready") else liveness(self)
            return _json(status, body)
        if request.path.startswith(RESPONSE_PATH) and request.method == "PUT":
            # A custom resource's function answering CloudFormation (cfnresponse PUTs to its ResponseURL).
            status, message = self.shared.get("cfn-responses", ResponseSlots).put(request.path[len(RESPONSE_PATH) :], request.body)
            return HttpResponse(status, {"Content-Length": str(len(message))}, message.encode())
        return _json(404, {"message": f"no route {request.method} {request.path}"})

    def _management_api(self) -> AsgiApp:
        from .management_api import create_local_app  # FastAPI is imported on the API's first request

        keys = self.access_keys if self.require_auth else None
        return AsgiApp(create_local_app(self.stack, self.shared, self.url, access_keys=keys), API_PREFIX)

    def _aws(self, request: HttpRequest, where: Route, served: _Served) -> HttpResponse:
        request_id = str(uuid.uuid4())
        service = where.service
        if service is None:
            return _json(
                501,
                {"__type": "NotImplemented", "message": f"the {where.named} API is not served by the Sluiceway endpoint"},
                {"x-amzn-ErrorType": "NotImplemented", "x-amzn-RequestId": request_id},
            )
        served.service = service
        speaks: str | None = None
        try:
            speaks = protocol.protocol_of(service, request)
            # The signature covers the request as sent: checked before the body is unframed
            # and before a virtual-host-style path is rewritten.
            access_key = None if unsigned_operation(request, service) else self._authenticate(request, service, where)
            request = inflate_body(decode_body(request), service)
            if service == "s3":
                request = _path_style(request)
            operation, params = protocol.parse(service, request, speaks)
            served.service, served.operation = service, operation.name
            handler = operations(service).handlers.get(operation.name)
            if handler is None:
                raise not_implemented(service, operation.name)
            context = Context(
                stack=self.stack,
                shared=self.shared,
                request=request,
                service=service,
                operation=operation.name,
                region=where.region or self.stack.settings.region,
                account_id=self.stack.settings.account_id,
                request_id=request_id,
                endpoint_url=f"http://{request.header('host')}" if request.header("host") else self.url,
                access_key=access_key,
                # API Gateway's control plane reads the APIs this endpoint serves.
                extra={"apis": self.apis} if service == "apigateway" else {},
            )
            with self.stack.tracing.server_span(service, operation.name, request.headers, request_id=request_id):
                output = handler(context, params)
            return protocol.serialize(operation, output, request_id, protocol=speaks)
        except AwsError as error:
            return protocol.serialize_error(service, error, request_id, protocol=speaks, method=request.method)
        except Exception:
            logger.exception("endpoint: %s %s failed (request %s)", request.method, request.path, request_id)
            internal = AwsError(
                "InternalError" if service == "s3" else "InternalFailure",
                "We encountered an internal error. Please try again.",
                500,
                sender_fault=False,
            )
            return protocol.serialize_error(service, internal, request_id, protocol=speaks, method=request.method)

    def _authenticate(self, request: HttpRequest, service: str, where: Route) -> str | None:
        if self.require_auth:
            return verify(request, service, self.access_keys)
        check_expiry(request, service)
        return where.access_key

    def _actions(self) -> dict[str, frozenset[str]]:
        if self._query_actions is None:
            self._query_actions = {s: frozenset(protocol.service_model(s).operation_names) for s in QUERY_SERVICES}
        return self._query_actions


def unsigned_operation(request: HttpRequest, service: str) -> bool:
    """Whether ``request`` calls an operation AWS serves without a signature (its model's ``authtype: none``,
    like Cognito's SignUp and InitiateAuth: boto3 sends them unsigned, so they are accepted unsigned)."""
    target = request.header("x-amz-target")
    if not target or "." not in target:
        return False
    model = protocol.service_model(service)
    name = target.split(".", 1)[1]
    if name not in model.operation_names:
        return False
    operation = model.operation_model(name)
    auth: Any = operation.auth  # botocore's newer "auth" list; older models only have "authtype"
    return operation.auth_type == "none" or auth == ["smithy.api#noAuth"]


def _own_route(request: HttpRequest) -> bool:
    return request.path.startswith("/_sluiceway/") or request.path == "/_sluiceway"


def decode_body(request: HttpRequest) -> HttpRequest:
    """The request with an ``aws-chunked`` body unframed and its trailing headers added (see body.py)."""
    headers = request.headers
    if "aws-chunked" not in headers.get("content-encoding", "").lower() and not headers.get("x-amz-content-sha256", "").startswith(
        "STREAMING-"
    ):
        return request
    body, trailers = decode_aws_chunked(request.body)
    # Only the checksums the client announced (x-amz-trailer, which it signed) may come as
    # trailers, and none may replace a header: trailers are not covered by the signature.
    announced = {name.strip().lower() for name in headers.get("x-amz-trailer", "").split(",") if name.strip()}
    accepted = {
        name: value for name, value in trailers.items() if name in announced and name.startswith("x-amz-checksum-") and name not in headers
    }
    decoded = {**headers, **accepted}
    encodings = [e for e in decoded.get("content-encoding", "").split(",") if e.strip() and e.strip().lower() != "aws-chunked"]
    if encodings:
        decoded["content-encoding"] = ",".join(encodings)
    else:
        decoded.pop("content-encoding", None)
    decoded["content-length"] = str(len(body))
    return HttpRequest(request.method, request.path, request.query, decoded, body)


_LAMBDA_UPLOADS = (
    ("POST", re.compile(r"/2015-03-31/functions/?"), "CreateFunction"),
    ("PUT", re.compile(r"/2015-03-31/functions/[^/]+/code/?"), "UpdateFunctionCode"),
)
"""Lambda's requests that carry a package, by method and path: its too-large answer names the operation."""


def _too_large(service: str, limit: int, head: HttpRequest) -> AwsError:
    if service == "s3":
        message = "Your proposed upload exceeds the maximum allowed size"
        return AwsError("EntityTooLarge", message, 400, fields={"MaxSizeAllowed": str(limit)})
    if service == "lambda":
        # Refused before the body is read, in Lambda's words (services/_lambda_upload.py has them too).
        named = next((name for method, path, name in _LAMBDA_UPLOADS if head.method == method and path.fullmatch(head.path)), None)
        where = f" for the {named} operation" if named else ""
        return AwsError("RequestEntityTooLargeException", f"Request must be smaller than {limit} bytes{where}", 413)
    return AwsError("RequestEntityTooLarge", f"Request must be smaller than {limit} bytes", 413)


def _path_style(request: HttpRequest) -> HttpRequest:
    """A virtual-host-style S3 request rewritten to path style (the bucket moves into the path)."""
    bucket = virtual_host_bucket(request.header("host"))
    if bucket is None:
        return request
    return HttpRequest(request.method, f"/{bucket}{request.path}", request.query, request.headers, request.body)


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())


@dataclass
class _Served:
    """What a request turned out to be, filled in as it is served."""

    service: str = "sluiceway"
    """botocore's service name; ``sluiceway`` for the endpoint's own routes."""
    operation: str = ""
    """The operation's name in the model, once the request parsed as one; a route's kind for our own."""


# ---------------------------------------------------------------------- HTTP


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    endpoint: Endpoint

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted connections inherit it
        super().server_bind()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.head_watch = _HeadWatch()
        super().__init__(*args, **kwargs)

    def server_close(self) -> None:
        self.head_watch.close()
        super().server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            # Each connection has a thread of its own: its SQLite connections go with it.
            self.endpoint.stack.local.release_thread()

    def shut_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a replaced worker's pooled connection) is not an error.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        logger.exception("endpoint: the connection from %s failed", client_address)


class _HeadWatch:
    """The deadlines of the heads being read, on all connections: one thread checks them all.

    A connection whose head is late is shut for reading, so its blocked read returns; the
    connection's own thread then learns from :meth:`end` that it was late and answers 408.
    """

    def __init__(self) -> None:
        self._deadlines: dict[socket.socket, float] = {}
        self._late: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, sock: socket.socket) -> None:
        with self._lock:
            self._deadlines[sock] = time.monotonic() + HEAD_TIMEOUT_S
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="endpoint-head-watch", daemon=True)
                self._thread.start()

    def end(self, sock: socket.socket) -> bool:
        """Stop watching ``sock``'s head; whether it was late (and its reading side shut)."""
        with self._lock:
            self._deadlines.pop(sock, None)
            if sock in self._late:
                self._late.discard(sock)
                return True
            return False

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(min(0.5, HEAD_TIMEOUT_S / 4)):
            now = time.monotonic()
            with self._lock:
                for sock, deadline in list(self._deadlines.items()):
                    if now >= deadline:
                        del self._deadlines[sock]
                        self._late.add(sock)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RD)


#: The methods AWS's APIs and the endpoint's own routes use; any other is answered 501.
_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"})
_ONE_WRITE_BYTES = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: its requests one after the other, kept alive as the client asks."""

    server: _Server
    request: socket.socket

    def handle(self) -> None:
        # Every read waits IDLE_TIMEOUT_S at most: an idle kept-alive connection, or a body that
        # stops coming, ends (TimeoutError, which the server takes as a client gone) and frees its thread.
        self.request.settimeout(IDLE_TIMEOUT_S)
        rfile = self.request.makefile("rb")
        try:
            while self._serve(rfile):
                pass
        finally:
            rfile.close()

    def _serve(self, rfile: BinaryIO) -> bool:
        """Answer the next request; whether the connection can carry another."""
        if not rfile.peek(1):  # type: ignore[attr-defined]  # the client closed it between requests
            return False
        # From its first byte a head has HEAD_TIMEOUT_S in all: a per-read timeout alone would let a
        # client send one byte a minute and hold the thread for ever.
        self.server.head_watch.begin(self.request)
        try:
            head = http1.read_head(rfile)
        except http1.HttpError as error:
            if self.server.head_watch.end(self.request):
                self._refuse(408, "The request head was not received in time")
            else:
                self._refuse(error.status, error.message)
            return False
        except BaseException:
            self.server.head_watch.end(self.request)
            raise
        if self.server.head_watch.end(self.request):
            self._refuse(408, "The request head was not received in time")
            return False
        if head is None:
            return False
        if head.method not in _METHODS:
            self._refuse(501, f"The method {head.method} is not served")
            return False
        endpoint = self.server.endpoint
        request = HttpRequest(head.method, head.path, head.query, head.headers)
        where = endpoint.route(request)
        refused = endpoint.precheck(request, where)
        if refused is not None:
            # The body is not read: the connection cannot carry another request.
            refused.headers["Connection"] = "close"
            self._send(refused, head=head.method == "HEAD")
            return False
        if head.expect_continue:  # only now: a request refused above never sends its body
            self.request.sendall(_CONTINUE)
        try:
            own = _own_route(request) or cognito_routes.serves(request)
            body = _body(rfile, head, MAX_BODY if own else _body_limit(head.headers, where))
        except AwsError as error:
            headers = {"Content-Type": "application/xml", "Connection": "close"}
            self._send(HttpResponse(error.status, headers, _plain_error(error)), head=False)
            return False
        request = HttpRequest(head.method, head.path, head.query, head.headers, body)
        response = endpoint.handle(request, where)
        sent = self._send(response, head=head.method == "HEAD")
        return sent and head.keep_alive and response.headers.get("Connection") != "close"

    def _refuse(self, status: int, message: str) -> None:
        code = http1.reason(status).replace(" ", "").replace("-", "")
        error = AwsError(code, message, status)
        with contextlib.suppress(OSError):
            self._send(HttpResponse(status, {"Content-Type": "application/xml", "Connection": "close"}, _plain_error(error)), head=False)

    def _send(self, response: HttpResponse, *, head: bool) -> bool:
        """Send ``response`` (``head``: its head only); False when it was replaced by a 500 (close then)."""
        body = response.body
        length = body.length if isinstance(body, Stream) else len(body)
        status = response.status
        # The server frames every response itself: a handler's own Content-Length or
        # Transfer-Encoding (a Lambda proxy response's headers) could otherwise make a kept-alive
        # connection read part of this body as a second response. Only a HEAD answer and a 304
        # keep a handler's Content-Length (HeadObject's is the object's size, no body follows);
        # 1xx and 204 have none (RFC 9110 8.6).
        keeps_length = head or status == 304
        items = [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() != "transfer-encoding" and (keeps_length or name.lower() != "content-length")
        ]
        if status < 200 or status == 204:
            items = [(name, value) for name, value in items if name.lower() != "content-length"]
        elif status != 304 and not any(name.lower() == "content-length" for name, _ in items):
            items.append(("Content-Length", str(length)))
        try:
            data = http1.response_head(response.status, items)
        except ValueError:
            # A header that would split the response (or cannot be sent): the client gets a 500, never it.
            logger.error("endpoint: a response header cannot be sent", extra={"status": response.status})
            body = _plain_error(AwsError("InternalError", "We encountered an internal error. Please try again.", 500))
            head_items = [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("Connection", "close")]
            self.request.sendall(http1.response_head(500, head_items) + (b"" if head else body))
            return False
        sock = self.request
        if head or status in (204, 304) or status < 200:
            sock.sendall(data)
        elif isinstance(body, Stream):
            sock.sendall(data)
            for chunk in body.chunks:
                sock.sendall(chunk)
        elif len(body) <= _ONE_WRITE_BYTES:
            # Head and body in one write: one system call and one segment for the small answers
            # most calls get, rather than two (a large body is not copied).
            sock.sendall(data + body)
        else:
            sock.sendall(data)
            sock.sendall(body)
        return True


def _body(rfile: BinaryIO, head: http1.RequestHead, limit: int) -> bytes:
    if head.chunked:
        return read_http_chunked(rfile.readline, rfile.read, limit)
    text = head.headers.get("content-length")
    if not text:
        return b""
    if not (text.isascii() and text.isdigit()):  # refused in AWS's shapes by precheck, but for our own routes
        raise AwsError("BadRequest", "Content-Length must be a whole number", 400)
    length = int(text)
    if length > limit:
        raise AwsError("RequestEntityTooLarge", f"The request is larger than {limit} bytes", 413)
    body = rfile.read(length)
    if len(body) < length:
        raise AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
    return body


def _body_limit(headers: Mapping[str, str], where: Route) -> int:
    """S3's 5 GiB for what may be an S3 request, the far smaller limit of the others otherwise."""
    if where.service == "sesv2":
        return SESV2_MAX_BODY
    if where.service == "lambda":
        # A function's zip comes inline, base64 in JSON: Lambda takes requests up to this size
        # and answers its own limits (50 MB zipped) with its own messages.
        return LAMBDA_MAX_BODY
    if where.service is not None and where.service != "s3":
        return MAX_BODY
    if where.access_key is not None:  # signed for S3: an object may have any content type
        return S3_MAX_BODY
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded" or content_type.startswith("application/x-amz-json"):
        return MAX_BODY  # an unsigned query or JSON protocol request
    return S3_MAX_BODY


def _plain_error(error: AwsError) -> bytes:
    from xml.sax.saxutils import escape

    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(error.code)}</Code>'
        f"<Message>{escape(error.message)}</Message></Error>"
    ).encode()
