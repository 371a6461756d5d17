"""EventBridge connections, API destinations and HTTP rule targets through the endpoint with boto3.

The destination is an HTTP server on 127.0.0.1 run by the test; it answers each path with the
statuses it is told to, then 200, and records every request it got.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

DEADLINE_S = 15.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Destination:
    url: str
    seen: list[Seen] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def wait(self, path: str, count: int) -> list[Seen]:
        deadline = time.monotonic() + DEADLINE_S
        while len(self.requests(path)) < count:
            assert time.monotonic() < deadline, f"{path}: {len(self.requests(path))} of {count} requests arrived"
            time.sleep(0.02)
        return self.requests(path)


@pytest.fixture(scope="module")
def destination() -> Iterator[Destination]:
    state = Destination("")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.seen.append(
                    Seen(
                        self.command,
                        urllib.parse.unquote(parts.path),
                        urllib.parse.parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
                queued = state.statuses.get(parts.path) or []
                status = queued.pop(0) if queued else 200
            payload = b"{}"
            if parts.path == "/oauth/token" and status == 200:
                payload = json.dumps({"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}).encode()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


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
    raise AssertionError("no dead-lettered message arrived")


def _rule(aws: Callable[..., Any], name: str, target: dict[str, Any]) -> None:
    events = aws("events")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    result = events.put_targets(Rule=name, Targets=[{"Id": "t", **target}])
    assert result["FailedEntryCount"] == 0, result


def _put(aws: Callable[..., Any], source: str, detail: dict[str, Any]) -> None:
    result = aws("events").put_events(Entries=[{"Source": source, "DetailType": "T", "Detail": json.dumps(detail)}])
    assert result["FailedEntryCount"] == 0


def test_connection_lifecycle_and_secret(aws: Callable[..., Any]) -> None:
    events, secrets = aws("events"), aws("secretsmanager")
    created = events.create_connection(
        Name="basic-conn",
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "user", "Password": "pass"}, "InvocationHttpParameters": {}},
    )
    assert created["ConnectionState"] == "AUTHORIZED" and "LastAuthorizedTime" not in created
    assert created["ConnectionArn"].startswith("arn:aws:events:") and ":connection/basic-conn/" in created["ConnectionArn"]
    described = events.describe_connection(Name="basic-conn")
    assert described["AuthParameters"] == {"BasicAuthParameters": {"Username": "user"}, "InvocationHttpParameters": {}}
    assert ":secret:events!connection/basic-conn/" in described["SecretArn"]
    value = secrets.get_secret_value(SecretId=described["SecretArn"])
    assert json.loads(value["SecretString"]) == {"username": "user", "password": "pass", "invocation_http_parameters": {}}
    assert value["Name"].startswith("events!connection/basic-conn/")

    events.update_connection(Name="basic-conn", AuthParameters={"BasicAuthParameters": {"Username": "new_user", "Password": "new_pass"}})
    assert events.describe_connection(Name="basic-conn")["AuthParameters"]["BasicAuthParameters"] == {"Username": "new_user"}
    assert json.loads(secrets.get_secret_value(SecretId=described["SecretArn"])["SecretString"])["password"] == "new_pass"
    listed = events.list_connections(NamePrefix="basic-")["Connections"]
    assert [(c["Name"], c["AuthorizationType"], c["ConnectionState"]) for c in listed] == [("basic-conn", "BASIC", "AUTHORIZED")]

    assert events.delete_connection(Name="basic-conn")["ConnectionState"] == "DELETING"
    assert _error(lambda: events.describe_connection(Name="basic-conn")) == (
        "ResourceNotFoundException",
        "Failed to describe the connection(s). Connection 'basic-conn' does not exist.",
    )
    with pytest.raises(ClientError):
        secrets.describe_secret(SecretId=described["SecretArn"])


def test_connection_and_destination_validation(aws: Callable[..., Any]) -> None:
    events = aws("events")
    assert _error(lambda: events.create_connection(Name="c", AuthorizationType="INVALID_AUTH_TYPE", AuthParameters={})) == (
        "ValidationException",
        "1 validation error detected: Value 'INVALID_AUTH_TYPE' at 'authorizationType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]",
    )
    code, message = _error(
        lambda: events.create_api_destination(
            Name="d", ConnectionArn="invalid-connection-arn", HttpMethod="INVALID_METHOD", InvocationEndpoint="invalid-endpoint"
        )
    )
    assert code == "ValidationException" and message.startswith(
        "2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn'"
    )
    assert (
        "Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST," in message
    )
    assert _error(lambda: events.describe_api_destination(Name="nope")) == (
        "ResourceNotFoundException",
        "Failed to describe the api-destination(s). An api-destination 'nope' does not exist.",
    )


def test_api_destination_describe_and_oauth_state(aws: Callable[..., Any]) -> None:
    events = aws("events")
    connection = events.create_connection(
        Name="oauth-described",
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "AuthorizationEndpoint": "https://example.com/oauth",
                "ClientParameters": {"ClientID": "client_id", "ClientSecret": "client_secret"},
                "HttpMethod": "POST",
            }
        },
    )
    assert connection["ConnectionState"] == "AUTHORIZING"
    assert events.describe_connection(Name="oauth-described")["AuthParameters"] == {
        "OAuthParameters": {
            "AuthorizationEndpoint": "https://example.com/oauth",
            "ClientParameters": {"ClientID": "client_id"},
            "HttpMethod": "POST",
        }
    }
    made = events.create_api_destination(
        Name="described", ConnectionArn=connection["ConnectionArn"], HttpMethod="POST", InvocationEndpoint="https://example.com/api"
    )
    assert made["ApiDestinationState"] == "INACTIVE" and ":api-destination/described/" in made["ApiDestinationArn"]
    described = events.describe_api_destination(Name="described")
    assert (described["InvocationRateLimitPerSecond"], described["HttpMethod"], described["ConnectionArn"]) == (
        300,
        "POST",
        connection["ConnectionArn"],
    )
    events.update_api_destination(Name="described", HttpMethod="PUT", InvocationEndpoint="https://example.com/api/v2", Description="v2")
    updated = events.describe_api_destination(Name="described")
    assert (updated["HttpMethod"], updated["InvocationEndpoint"], updated["Description"]) == ("PUT", "https://example.com/api/v2", "v2")
    assert [d["Name"] for d in events.list_api_destinations(NamePrefix="descr")["ApiDestinations"]] == ["described"]
    events.delete_api_destination(Name="described")
    assert events.list_api_destinations(NamePrefix="descr")["ApiDestinations"] == []


def _destination(aws: Callable[..., Any], name: str, auth_type: str, auth: dict[str, Any], endpoint: str, method: str = "POST") -> str:
    events = aws("events")
    arn = events.create_connection(Name=f"{name}-conn", AuthorizationType=auth_type, AuthParameters=auth)["ConnectionArn"]
    return str(
        events.create_api_destination(Name=name, ConnectionArn=arn, HttpMethod=method, InvocationEndpoint=endpoint)["ApiDestinationArn"]
    )


def test_api_key_delivery_with_parameters_and_path_wildcards(aws: Callable[..., Any], destination: Destination) -> None:
    auth = {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret-key"},
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "overwritten-header", "Value": "original", "IsValueSecret": False}],
            "QueryStringParameters": [{"Key": "connection_query", "Value": "cq", "IsValueSecret": True}],
            "BodyParameters": [{"Key": "connection_body", "Value": "cb", "IsValueSecret": False}],
        },
    }
    arn = _destination(aws, "apikey", "API_KEY", auth, f"{destination.url}/orders/*/items/*")
    described = aws("events").describe_connection(Name="apikey-conn")
    assert described["AuthParameters"]["InvocationHttpParameters"]["QueryStringParameters"] == [
        {"Key": "connection_query", "IsValueSecret": True}
    ]
    _rule(
        aws,
        "to-apikey",
        {
            "Arn": arn,
            "InputPath": "$.detail",
            "HttpParameters": {
                "PathParameterValues": ["o 1", "i2"],
                "HeaderParameters": {"target-header": "th", "Overwritten-Header": "changed"},
                "QueryStringParameters": {"target_query": "tq"},
            },
        },
    )
    assert aws("events").list_targets_by_rule(Rule="to-apikey")["Targets"][0]["HttpParameters"]["PathParameterValues"] == ["o 1", "i2"]
    _put(aws, "to-apikey", {"n": 1})
    [seen] = destination.wait("/orders/o 1/items/i2", 1)
    assert seen.method == "POST"
    assert json.loads(seen.body) == {"n": 1, "connection_body": "cb"}
    assert seen.headers["x-api-key"] == "secret-key"
    assert seen.headers["target-header"] == "th" and seen.headers["overwritten-header"] == "original"
    assert seen.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert seen.query == {"connection_query": ["cq"], "target_query": ["tq"]}


def test_basic_and_oauth_delivery(aws: Callable[..., Any], destination: Destination) -> None:
    basic = _destination(
        aws, "basic", "BASIC", {"BasicAuthParameters": {"Username": "user", "Password": "pass"}}, f"{destination.url}/basic", "PUT"
    )
    _rule(aws, "to-basic", {"Arn": basic})
    _put(aws, "to-basic", {"n": 2})
    [seen] = destination.wait("/basic", 1)
    assert seen.method == "PUT"
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"user:pass").decode()
    assert json.loads(seen.body)["detail"] == {"n": 2}

    oauth = _destination(
        aws,
        "oauth",
        "OAUTH_CLIENT_CREDENTIALS",
        {
            "OAuthParameters": {
                "AuthorizationEndpoint": f"{destination.url}/oauth/token",
                "ClientParameters": {"ClientID": "id", "ClientSecret": "password"},
                "HttpMethod": "POST",
                "OAuthHttpParameters": {"BodyParameters": [{"Key": "audience", "Value": "api"}]},
            }
        },
        f"{destination.url}/oauth-api",
    )
    _rule(aws, "to-oauth", {"Arn": oauth})
    _put(aws, "to-oauth", {"n": 3})
    [seen] = destination.wait("/oauth-api", 1)
    assert seen.headers["authorization"] == "Bearer tok-1"
    [token_request] = destination.requests("/oauth/token")
    assert token_request.headers["authorization"] == "Basic " + base64.b64encode(b"id:password").decode()
    assert urllib.parse.parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"], "audience": ["api"]}
    assert aws("events").describe_connection(Name="oauth-conn")["ConnectionState"] == "AUTHORIZED"


@pytest.mark.parametrize("status", [500, 429])
def test_retried_statuses_are_delivered_on_a_retry(aws: Callable[..., Any], destination: Destination, status: int) -> None:
    path = f"/flaky-{status}"
    destination.statuses[path] = [status]
    arn = _destination(
        aws, f"flaky-{status}", "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}, destination.url + path
    )
    _rule(aws, f"to-flaky-{status}", {"Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}})
    _put(aws, f"to-flaky-{status}", {"n": 4})
    assert len(destination.wait(path, 2)) == 2


@pytest.mark.parametrize("status", [400, 302])
def test_refused_statuses_go_to_the_dlq_without_retry(aws: Callable[..., Any], destination: Destination, status: int) -> None:
    path = f"/refuses-{status}"
    destination.statuses[path] = [status, status, status]
    url, dlq = _queue(aws, f"api-dlq-{status}")
    arn = _destination(
        aws, f"refuses-{status}", "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}, destination.url + path
    )
    _rule(
        aws,
        f"to-refuses-{status}",
        {"Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}, "DeadLetterConfig": {"Arn": dlq}},
    )
    _put(aws, f"to-refuses-{status}", {"n": 5})
    message = _receive(aws, url)
    assert json.loads(message["Body"])["detail"] == {"n": 5}
    attributes = message["MessageAttributes"]
    assert attributes["RETRY_ATTEMPTS"]["StringValue"] == "0" and attributes["TARGET_ARN"]["StringValue"] == arn
    assert len(destination.requests(path)) == 1  # neither retried nor redirected
    assert destination.requests("/etc/passwd") == []


def test_unknown_api_gateway_target_goes_to_the_dlq(aws: Callable[..., Any]) -> None:
    url, dlq = _queue(aws, "api-gw-dlq")
    target = "arn:aws:execute-api:us-east-1:123456789012:nosuchapi1/prod/POST/orders"
    _rule(aws, "to-missing-api", {"Arn": target, "DeadLetterConfig": {"Arn": dlq}, "HttpParameters": {"HeaderParameters": {"h": "v"}}})
    _put(aws, "to-missing-api", {"n": 6})
    message = _receive(aws, url)
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"
