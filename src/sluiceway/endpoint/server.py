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
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import cognito_routes, protocol
from .apigateway import ApiGateway
from .asgi import AsgiApp
from .body import decode_aws_chunked, read_http_chunked
from .context import Context, HttpRequest, HttpResponse, Shared, Stream
from .custom_resources import RESPONSE_PATH, ResponseSlots
from .errors import AwsError, not_implemented
from .health import liveness, readiness
from .routing import Route, route, virtual_host_bucket
from .services import operations
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
_STOP_GRACE_S = 5.0


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
        self.shared = Shared()
        self.apis = ApiGateway(self)
        """The API Gateway APIs served under ``/_sluiceway/apis/<apiId>`` (``apis.deploy([...])``)."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
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
        server = _Server((self.host, self.port), _Handler)
        server.endpoint = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="endpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting requests and let those in flight finish (a few seconds at most).

        Kept-alive connections are shut for reading: a request being served gets its
        answer, and nothing more is read from them, so nothing reaches the stack after this.
        """
        if self._server is None:
            return
        self._closing = True
        self._server.shutdown()
        self._server.server_close()
        self._server.shut_connections()
        deadline = time.monotonic() + _STOP_GRACE_S
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(0.1)
        self._server = None
        self.shared.close()

    # ------------------------------------------------------------------ requests

    def precheck(self, head: HttpRequest) -> HttpResponse | None:
        """An answer for a request its headers already condemn (its body is then never read), or None.

        With signatures required, an unsigned request, a foreign key or a stale date is
        refused here; so is a body larger than its service accepts.
        """
        if _own_route(head) or cognito_routes.serves(head):
            return self.apis.precheck(head) if ApiGateway.serves(head.path) else None
        where = route(head)
        service = where.service or "s3"
        try:
            length = head.header("content-length")
            if length is not None and not (length.isascii() and length.isdigit()):
                code = "InvalidArgument" if service == "s3" else "ValidationException"
                raise AwsError(code, "Content-Length must be a whole number", 400)
            limit = _body_limit(head.headers, where)
            if length is not None and int(length) > limit:
                raise _too_large(service, limit)
            if self.require_auth and where.service is not None and not unsigned_operation(head, where.service):
                precheck(head, service, self.access_keys)
        except AwsError as error:
            return protocol.serialize_error(service, error, str(uuid.uuid4()), method=head.method)
        return None

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request (never raises)."""
        with self._idle:
            self._busy += 1
        try:
            if self._closing:
                return _json(503, {"__type": "ServiceUnavailable", "message": "the stack is stopping"}, {"Connection": "close"})
            if _own_route(request) and ApiGateway.serves(request.path):
                return self.apis.handle(request)
            if cognito_routes.serves(request):
                # Public in Cognito too: the keys that verify a pool's tokens, and the token endpoint.
                # Discovery names the endpoint's own URL, never the client-chosen Host header.
                return cognito_routes.handle(request, self.stack, self.url)
            if _own_route(request):
                return self._own(request)
            return self._aws(request)
        except Exception:
            # _aws answers its own bugs in AWS's shapes; a bug in one of our own routes gets a
            # JSON 500 too, rather than escaping to the HTTP server (the client would get nothing).
            request_id = str(uuid.uuid4())
            logger.exception("endpoint: %s %s failed (request %s)", request.method, request.path, request_id)
            message = "We encountered an internal error. Please try again."
            return _json(500, {"__type": "InternalFailure", "message": message}, {"x-amzn-RequestId": request_id})
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _own(self, request: HttpRequest) -> HttpResponse:
        if (request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")) and self.stack.settings.api_enabled:
            return self.shared.get("management-api", self._management_api).handle(request)
        path = request.path.rstrip("/")
        if path in ("/_sluiceway/health", "/_sluiceway/health/ready") and request.method in ("GET", "HEAD"):
            status, body = readiness(self) if path.endswith("/ready") else liveness(self)
            return _json(status, body)
        if request.path.startswith(RESPONSE_PATH) and request.method == "PUT":
            # A custom resource's function answering CloudFormation (cfnresponse PUTs to its ResponseURL).
            status, message = self.shared.get("cfn-responses", ResponseSlots).put(request.path[len(RESPONSE_PATH) :], request.body)
            return HttpResponse(status, {"Content-Length": str(len(message))}, message.encode())
        return _json(404, {"message": f"no route {request.method} {request.path}"})

    def _management_api(self) -> AsgiApp:
        from ..api.local import create_local_app  # FastAPI is imported on the API's first request

        keys = self.access_keys if self.require_auth else None
        return AsgiApp(create_local_app(self.stack, self.shared, self.url, access_keys=keys), API_PREFIX)

    def _aws(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        where = route(request, query_actions=self._actions())
        service = where.service
        if service is None:
            return _json(
                501,
                {"__type": "NotImplemented", "message": f"the {where.named} API is not served by the Sluiceway endpoint"},
                {"x-amzn-ErrorType": "NotImplemented", "x-amzn-RequestId": request_id},
            )
        speaks: str | None = None
        try:
            speaks = protocol.protocol_of(service, request)
            # The signature covers the request as sent: checked before the body is unframed
            # and before a virtual-host-style path is rewritten.
            access_key = None if unsigned_operation(request, service) else self._authenticate(request, service, where)
            request = decode_body(request)
            if service == "s3":
                request = _path_style(request)
            operation, params = protocol.parse(service, request)
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
            )
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
            self._query_actions = {s: frozenset(protocol.service_model(s).operation_names) for s in ("sqs", "sns", "sts")}
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


def _too_large(service: str, limit: int) -> AwsError:
    if service == "s3":
        message = "Your proposed upload exceeds the maximum allowed size"
        return AwsError("EntityTooLarge", message, 400, fields={"MaxSizeAllowed": str(limit)})
    return AwsError("RequestEntityTooLarge", f"Request must be smaller than {limit} bytes", 413)


def _path_style(request: HttpRequest) -> HttpRequest:
    """A virtual-host-style S3 request rewritten to path style (the bucket moves into the path)."""
    bucket = virtual_host_bucket(request.header("host"))
    if bucket is None:
        return request
    return HttpRequest(request.method, f"/{bucket}{request.path}", request.query, request.headers, request.body)


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())


# ---------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    endpoint: Endpoint

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "Sluiceway"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        logger.debug("endpoint %s: " + format, self.address_string(), *args)

    def _serve(self) -> None:
        endpoint = self.server.endpoint
        head = self._head()
        refused = endpoint.precheck(head)
        if refused is not None:
            # The body is not read: the connection cannot carry another request.
            refused.headers["Connection"] = "close"
            self.close_connection = True
            self._send(refused, head=head.method == "HEAD")
            return
        try:
            body = self._body(head)
        except AwsError as error:
            self.close_connection = True
            headers = {"Content-Type": "application/xml", "Connection": "close"}
            self._send(HttpResponse(error.status, headers, _plain_error(error)), head=False)
            return
        request = HttpRequest(head.method, head.path, head.query, head.headers, body)
        response = endpoint.handle(request)
        if response.headers.get("Connection") == "close":
            self.close_connection = True
        self._send(response, head=request.method == "HEAD")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

    def _head(self) -> HttpRequest:
        path, _, query = self.path.partition("?")
        if path.startswith(("http://", "https://")):  # an absolute URI (a client talking to a proxy)
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        return HttpRequest(self.command, path or "/", query, headers)

    def _body(self, head: HttpRequest) -> bytes:
        limit = _body_limit(head.headers, route(head))
        if "chunked" in head.headers.get("transfer-encoding", "").lower():
            return read_http_chunked(self.rfile.readline, self.rfile.read, limit)
        length = int(head.headers.get("content-length") or 0)  # digits only: checked by precheck
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
        return body

    def _send(self, response: HttpResponse, *, head: bool) -> None:
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        body = response.body
        length = body.length if isinstance(body, Stream) else len(body)
        has_length = False
        for name, value in response.headers.items():
            if name.lower() == "content-length":
                has_length = True
            self.send_header(name, value)
        if not has_length and not (head and length == 0):
            self.send_header("Content-Length", str(length))
        elif not has_length:
            self.send_header("Content-Length", "0")
        if not head and response.status not in (204, 304) and isinstance(body, bytes) and 0 < len(body) <= _ONE_WRITE_BYTES:
            # Head and body in one write (end_headers' CRLF, then the body): one system call and one
            # segment for the small answers most calls get, rather than two (a large body is not copied).
            self._headers_buffer.append(b"\r\n" + body)  # type: ignore[attr-defined]
            self.flush_headers()
            return
        self.end_headers()
        if head or response.status in (204, 304):
            return
        if isinstance(body, Stream):
            for chunk in body.chunks:
                self.wfile.write(chunk)
        elif body:
            self.wfile.write(body)


_ONE_WRITE_BYTES = 64 * 1024


def _body_limit(headers: Mapping[str, str], where: Route) -> int:
    """S3's 5 GiB for what may be an S3 request, the far smaller limit of the others otherwise."""
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
