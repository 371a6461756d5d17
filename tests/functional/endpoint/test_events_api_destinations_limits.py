"""API destinations under stress: a trickling endpoint, rate limits, secrets kept out of errors,
the model's credential patterns, and OAuth connections that change or are refused.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.events.api_destinations import HttpRequest
from sluiceway.runtime.bus.http_targets import UrllibTransport

DEADLINE_S = 15.0
Handler = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(handle: Handler) -> str:
        class Serve(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                handle(self)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _answer(handler: BaseHTTPRequestHandler, status: int, payload: bytes = b"") -> None:
    handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def _queue(aws: Callable[..., Any], name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _receive(aws: Callable[..., Any], url: str) -> dict[str, Any]:
    sqs = aws("sqs")
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return dict(message)
    raise AssertionError("no message arrived")


def _rule(aws: Callable[..., Any], name: str, target: dict[str, Any]) -> None:
    events = aws("events")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    assert aws("events").put_targets(Rule=name, Targets=[{"Id": "t", **target}])["FailedEntryCount"] == 0


def _put(aws: Callable[..., Any], source: str, count: int = 1) -> None:
    entries = [{"Source": source, "DetailType": "T", "Detail": "{}"}] * count
    assert aws("events").put_events(Entries=entries)["FailedEntryCount"] == 0


def _destination(aws: Callable[..., Any], name: str, auth_type: str, auth: dict[str, Any], endpoint: str, **extra: Any) -> str:
    events = aws("events")
    arn = events.create_connection(Name=f"{name}-c", AuthorizationType=auth_type, AuthParameters=auth)["ConnectionArn"]
    made = events.create_api_destination(Name=name, ConnectionArn=arn, HttpMethod="POST", InvocationEndpoint=endpoint, **extra)
    return str(made["ApiDestinationArn"])


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


_API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "key-value"}}


def test_a_trickling_answer_times_out_within_the_total_deadline(serve: Callable[[Handler], str]) -> None:
    stop = threading.Event()

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        while not stop.wait(0.05):  # a byte every 50 ms: no single read ever waits long
            try:
                handler.wfile.write(b" ")
                handler.wfile.flush()
            except OSError:
                return

    url = serve(trickle)
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            UrllibTransport().send(HttpRequest("POST", url + "/slow", {}, b"{}"), timeout_s=0.5)
    finally:
        stop.set()
    assert time.monotonic() - started < 3.0


def test_a_rate_limited_destination_does_not_hold_other_targets(aws: Callable[..., Any], serve: Callable[[Handler], str]) -> None:
    hits: list[float] = []

    def ok(handler: BaseHTTPRequestHandler) -> None:
        hits.append(time.monotonic())
        _answer(handler, 200)

    arn = _destination(aws, "paced", "API_KEY", _API_KEY, serve(ok) + "/p", InvocationRateLimitPerSecond=2)
    _rule(aws, "to-paced", {"Arn": arn})
    url, queue_arn = _queue(aws, "beside-paced")
    _rule(aws, "to-beside", {"Arn": queue_arn})
    _put(aws, "to-paced", 4)
    time.sleep(0.3)  # let the router reach the rate-limited deliveries first
    started = time.monotonic()
    _put(aws, "to-beside")
    _receive(aws, url)
    assert time.monotonic() - started < 1.2, "the queue target waited for the rate-limited destination"
    deadline = time.monotonic() + DEADLINE_S
    while len(hits) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(hits) == 4
    # Two a second: four requests span at least 1.5 s (minus the poll's slack).
    assert hits[-1] - hits[0] >= 1.3


def test_secret_parameters_never_reach_the_dlq_or_the_logs(
    aws: Callable[..., Any], serve: Callable[[Handler], str], caplog: pytest.LogCaptureFixture
) -> None:
    url = serve(lambda handler: _answer(handler, 400))
    auth = {
        **_API_KEY,
        "InvocationHttpParameters": {"QueryStringParameters": [{"Key": "token", "Value": "TOPSECRET", "IsValueSecret": True}]},
    }
    arn = _destination(aws, "guarded", "API_KEY", auth, url + "/p")
    queue_url, queue_arn = _queue(aws, "guarded-dlq")
    _rule(aws, "to-guarded", {"Arn": arn, "DeadLetterConfig": {"Arn": queue_arn}})
    with caplog.at_level(logging.DEBUG):
        _put(aws, "to-guarded")
        message = _receive(aws, queue_url)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "INVALID_PARAMETER"
    assert attributes["ERROR_MESSAGE"] == f"API destination guarded: POST {url}/p answered 400."
    assert not [k for k, v in attributes.items() if "TOPSECRET" in v or "key-value" in v]
    assert not [r for r in caplog.records if "TOPSECRET" in str(r.__dict__) or "key-value" in str(r.__dict__)]


def test_credentials_and_headers_follow_the_models_patterns(aws: Callable[..., Any]) -> None:
    events = aws("events")
    code, message = _error(
        lambda: events.create_connection(
            Name="crlf",
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v\r\nX: 1"}},
        )
    )
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value at 'authParameters.apiKeyAuthParameters.apiKeyValue' failed")
    assert "\r\nX" not in message  # a sensitive member's value is not repeated
    code, message = _error(
        lambda: events.create_connection(
            Name="colon", AuthorizationType="BASIC", AuthParameters={"BasicAuthParameters": {"Username": "a:b", "Password": "p"}}
        )
    )
    assert (code, message.split(": Member")[0]) == (
        "ValidationException",
        "1 validation error detected: Value 'a:b' at 'authParameters.basicAuthParameters.username' failed to satisfy constraint",
    )
    events.create_connection(Name="fine", AuthorizationType="API_KEY", AuthParameters=_API_KEY)
    code, message = _error(
        lambda: events.update_connection(
            Name="fine", AuthParameters={"InvocationHttpParameters": {"HeaderParameters": [{"Key": "bad header", "Value": "v"}]}}
        )
    )
    assert code == "ValidationException"
    assert "Value 'bad header' at 'authParameters.invocationHttpParameters.headerParameters.1.member.key'" in message
    events.put_rule(Name="headers", EventPattern=json.dumps({"source": ["headers"]}))
    result = events.put_targets(
        Rule="headers",
        Targets=[
            {
                "Id": "t",
                "Arn": "arn:aws:events:us-east-1:123456789012:api-destination/x/0b1c2d3e-aaaa",
                "HttpParameters": {"HeaderParameters": {"x-ok": "v\r\nX-Injected: 1"}},
            }
        ],
    )
    assert result["FailedEntryCount"] == 1
    assert result["FailedEntries"][0]["ErrorCode"] == "ValidationException"
    connection = events.describe_connection(Name="fine")["ConnectionArn"]
    code, message = _error(
        lambda: events.create_api_destination(
            Name="huge",
            ConnectionArn=connection,
            HttpMethod="POST",
            InvocationEndpoint="https://a.example/b",
            InvocationRateLimitPerSecond=2**31,
        )
    )
    assert code == "ValidationException" and "invocationRateLimitPerSecond" in message


def test_an_updated_oauth_connection_fetches_a_new_token(aws: Callable[..., Any], serve: Callable[[Handler], str]) -> None:
    seen: list[tuple[str, str]] = []

    def handle(handler: BaseHTTPRequestHandler) -> None:
        seen.append((handler.path, handler.headers.get("Authorization") or ""))
        token = json.dumps({"access_token": f"tok-{len(seen)}", "expires_in": 3600}).encode()
        _answer(handler, 200, token if handler.path.startswith("/token") else b"{}")

    base = serve(handle)
    oauth = {
        "OAuthParameters": {
            "AuthorizationEndpoint": base + "/token",
            "ClientParameters": {"ClientID": "id", "ClientSecret": "old"},
            "HttpMethod": "POST",
        }
    }
    arn = _destination(aws, "rotated", "OAUTH_CLIENT_CREDENTIALS", oauth, base + "/api")
    _rule(aws, "to-rotated", {"Arn": arn})
    events = aws("events")

    def calls() -> int:
        return sum(path == "/api" for path, _ in seen)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while calls() < count:
            assert time.monotonic() < deadline
            time.sleep(0.02)

    _put(aws, "to-rotated")
    wait_for(1)
    update = {"OAuthParameters": {"ClientParameters": {"ClientID": "id", "ClientSecret": "new"}}}
    assert events.update_connection(Name="rotated-c", AuthParameters=update)["ConnectionState"] == "AUTHORIZING"
    _put(aws, "to-rotated")
    wait_for(2)
    assert [path for path, _ in seen] == ["/token", "/api", "/token", "/api"]
    assert seen[3][1] == "Bearer tok-3"
    assert events.describe_connection(Name="rotated-c")["ConnectionState"] == "AUTHORIZED"
    assert events.describe_api_destination(Name="rotated")["ApiDestinationState"] == "ACTIVE"


def test_a_refused_token_request_deauthorizes_the_connection(aws: Callable[..., Any], serve: Callable[[Handler], str]) -> None:
    base = serve(lambda handler: _answer(handler, 400 if handler.path.startswith("/token") else 200))
    oauth = {
        "OAuthParameters": {
            "AuthorizationEndpoint": base + "/token",
            "ClientParameters": {"ClientID": "id", "ClientSecret": "s"},
            "HttpMethod": "POST",
        }
    }
    arn = _destination(aws, "refused", "OAUTH_CLIENT_CREDENTIALS", oauth, base + "/api")
    queue_url, queue_arn = _queue(aws, "refused-dlq")
    _rule(aws, "to-refused", {"Arn": arn, "DeadLetterConfig": {"Arn": queue_arn}})
    _put(aws, "to-refused")
    attributes = {k: v["StringValue"] for k, v in _receive(aws, queue_url)["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "INVALID_PARAMETER"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    connection = aws("events").describe_connection(Name="refused-c")
    assert connection["ConnectionState"] == "DEAUTHORIZED"
    assert "400" in connection["StateReason"]
