"""Access logs of REST and HTTP API stages, deployed from a SAM template, read back through CloudWatch Logs.

Each request to a stage with access logging writes one event to the destination log group, in the
stage's ``Format`` with its ``$context`` variables substituted (``-`` where there is no value),
after the response; a stage without access logging writes nothing, and a missing log group fails
no request.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment, deploy
from sluiceway.endpoint.apigateway import local_base_url
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REST_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",'
    '"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","path":"$context.path","status":"$context.status",'
    '"protocol":"$context.protocol","responseLength":"$context.responseLength","integrationLatency":"$context.integrationLatency",'
    '"userAgent":"$context.identity.userAgent","unknown":"$context.noSuchVariable","stage":"$context.stage",'
    '"error":"$context.error.message","responseType":"$context.error.responseType"}'
)
HTTP_FORMAT = (
    '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey $context.protocol"'
    " $context.status $context.responseLength $context.requestId $context.integrationStatus"
)

TEMPLATE = f"""\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Access:
    Type: AWS::Logs::LogGroup
    Properties: {{LogGroupName: /access-test/rest}}
  HttpAccess:
    Type: AWS::Logs::LogGroup
    Properties: {{LogGroupName: /access-test/http}}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      AccessLogSetting:
        DestinationArn: !GetAtt Access.Arn
        Format: '{REST_FORMAT}'
  Quiet:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings:
        DestinationArn: !GetAtt HttpAccess.Arn
        Format: '{HTTP_FORMAT}'
  Orphan:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings:
        DestinationArn: !Sub arn:aws:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/access-test/never-made
        Format: $context.requestId $context.status
  DashedAccess:
    Type: AWS::Logs::LogGroup
    Properties: {{LogGroupName: /access-test/dashed}}
  Dashed:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings:
        DestinationArn: !GetAtt DashedAccess.Arn
        Format: $context.identity.sourceIp-$context.requestId
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Rest: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: '/items/{{id}}', Method: get}}}}
        Quiet: {{Type: Api, Properties: {{RestApiId: !Ref Quiet, Path: /, Method: get}}}}
        Http: {{Type: HttpApi, Properties: {{ApiId: !Ref Http, Path: /things, Method: post}}}}
        Orphan: {{Type: HttpApi, Properties: {{ApiId: !Ref Orphan, Path: /, Method: get}}}}
        Dashed: {{Type: HttpApi, Properties: {{ApiId: !Ref Dashed, Path: /, Method: get}}}}
Outputs:
  Rest: {{Value: !Sub 'https://${{Api}}.execute-api.${{AWS::Region}}.amazonaws.com/Prod'}}
  Quiet: {{Value: !Sub 'https://${{Quiet}}.execute-api.${{AWS::Region}}.amazonaws.com/Prod'}}
  Http: {{Value: !Sub 'https://${{Http}}.execute-api.${{AWS::Region}}.amazonaws.com'}}
  Orphan: {{Value: !Sub 'https://${{Orphan}}.execute-api.${{AWS::Region}}.amazonaws.com'}}
  Dashed: {{Value: !Sub 'https://${{Dashed}}.execute-api.${{AWS::Region}}.amazonaws.com'}}
"""

HANDLER = """\
def handler(event, context):
    return {"statusCode": 201, "body": "made"}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("access-logs") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None)
    built.start("access log tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def deployed(endpoint: Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    root = tmp_path_factory.mktemp("access-logs-app")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER, encoding="utf-8")
    (root / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    return deploy(endpoint, root / "template.yaml", "access-logs", {}, cache_dir=root / "cache")


def call(method: str, url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def events_of(logs: Any, group: str, count: int) -> list[dict[str, Any]]:
    """The group's events once there are ``count`` of them (written after the response: polled)."""
    deadline = time.monotonic() + 10
    while True:
        found = logs.filter_log_events(logGroupName=group)["events"]
        if len(found) >= count or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.02)


def test_a_rest_stage_logs_each_request_in_its_json_format(deployed: Deployment, aws: Callable[..., Any]) -> None:
    url = deployed.outputs["Rest"]
    status, headers, _ = call("GET", url + "/items/7", {"User-Agent": 'probe "quoted"'})
    assert status == 201
    missing, missing_headers, _ = call("GET", url + "/nowhere")
    assert missing == 403
    logs = aws("logs")
    events = events_of(logs, "/access-test/rest", 2)
    assert len(events) == 2
    lines = {json.loads(e["message"])["requestId"]: json.loads(e["message"]) for e in events}
    served = lines[headers["x-amzn-RequestId"]]
    assert served["ip"] == "127.0.0.1" and served["httpMethod"] == "GET" and served["status"] == "201"
    assert served["resourcePath"] == "/items/{id}" and served["path"] == "/Prod/items/7" and served["stage"] == "Prod"
    assert served["protocol"] == "HTTP/1.1" and served["responseLength"] == "4"
    assert served["integrationLatency"].isdigit()
    assert served["userAgent"] == 'probe "quoted"'
    assert served["unknown"] == "-" and served["error"] == "-" and served["responseType"] == "-"
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", served["requestTime"])
    refused = lines[missing_headers["x-amzn-RequestId"]]
    assert refused["status"] == "403" and refused["resourcePath"] == "-" and refused["integrationLatency"] == "-"
    assert refused["error"] == "Missing Authentication Token" and refused["responseType"] == "MISSING_AUTHENTICATION_TOKEN"
    streams = logs.describe_log_streams(logGroupName="/access-test/rest")["logStreams"]
    assert len(streams) == 1 and re.fullmatch(r"[0-9a-f]{32}", streams[0]["logStreamName"])


def test_an_http_api_stage_logs_in_its_text_format(deployed: Deployment, aws: Callable[..., Any]) -> None:
    status, headers, _ = call("POST", deployed.outputs["Http"] + "/things")
    assert status == 201
    request_id = headers["apigw-requestid"]
    events = [e for e in events_of(aws("logs"), "/access-test/http", 1) if request_id in e["message"]]
    assert len(events) == 1
    pattern = r'127\.0\.0\.1 - - \[[^\]]+\] "POST POST /things HTTP/1\.1" 201 4 (\S+) 200'
    match = re.fullmatch(pattern, events[0]["message"])
    assert match is not None, events[0]["message"]
    assert match[1] == request_id


def test_stages_without_a_group_or_without_logging_still_answer(
    deployed: Deployment, endpoint: Endpoint, aws: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sluiceway.endpoint.apigateway.access_logs"):
        for _ in range(2):
            assert call("GET", deployed.outputs["Orphan"] + "/")[0] == 201
            assert endpoint.apis.flush_access_logs(10)
    status, headers, _ = call("GET", deployed.outputs["Quiet"] + "/")
    assert status == 201
    assert endpoint.apis.flush_access_logs(10)
    logs = aws("logs")
    names = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
    assert "/access-test/never-made" not in names  # API Gateway does not make the destination group
    warned = [r.getMessage() for r in caplog.records if "/access-test/never-made" in r.getMessage()]
    assert warned == ["api gateway: access log group /access-test/never-made does not exist; access log lines are dropped"]
    # The stage without access logging wrote nothing anywhere.
    quiet_id = headers["x-amzn-RequestId"]
    for name in names:
        assert not [e for e in logs.filter_log_events(logGroupName=name)["events"] if quiet_id in e["message"]], name


def test_a_variable_with_text_after_it_keeps_its_value(deployed: Deployment, aws: Callable[..., Any]) -> None:
    """``$context.identity.sourceIp-$context.requestId`` (the stage's Format) is the address, a dash and the id."""
    status, headers, _ = call("GET", deployed.outputs["Dashed"] + "/")
    assert status == 201
    request_id = headers["apigw-requestid"]
    events = [e for e in events_of(aws("logs"), "/access-test/dashed", 1) if request_id in e["message"]]
    assert [e["message"] for e in events] == [f"127.0.0.1-{request_id}"]


def test_one_writer_serves_every_request(deployed: Deployment, endpoint: Endpoint) -> None:
    """Spaced requests (the writer idle in between) share one writer thread: no thread, and no connection, per burst."""
    for _ in range(10):
        assert call("GET", deployed.outputs["Rest"] + "/items/1")[0] == 201
        assert endpoint.apis.flush_access_logs(10)
    writers = [t for t in threading.enumerate() if t.name == "sluiceway-apigw-access-logs"]
    assert len(writers) == 1


def test_closing_the_endpoint_writes_every_queued_line(stack: Stack, endpoint: Endpoint, aws: Callable[..., Any]) -> None:
    writers_before = {t.ident for t in threading.enumerate() if t.name == "sluiceway-apigw-access-logs"}
    second = Endpoint(stack, host="127.0.0.1", port=free_port())
    second.apis.deploy(list(endpoint.apis.apis.values()))
    second.start()
    try:
        url = local_base_url(second.url, _api_id(endpoint, "Api")) + "/Prod/items/2"
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: call("GET", url), range(40)))
    finally:
        second.close()
    assert {status for status, _, _ in answers} == {201}
    ids = {headers["x-amzn-RequestId"] for _, headers, _ in answers}
    # Written by the time close returned: the stack's log store may close right after.
    written = {
        json.loads(e["message"])["requestId"]
        for e in aws("logs").filter_log_events(logGroupName="/access-test/rest", limit=10_000)["events"]
    }
    assert ids <= written
    # ... and the closed endpoint's writer has ended.
    assert {t.ident for t in threading.enumerate() if t.name == "sluiceway-apigw-access-logs"} == writers_before


def test_a_body_refused_from_its_length_is_logged(deployed: Deployment, endpoint: Endpoint, aws: Callable[..., Any]) -> None:
    """A Content-Length over 10 MB is answered 413 before the body is read, with its ids and its access log line."""
    path = local_base_url("", _api_id(endpoint, "Api")) + "/Prod/items/3"
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as conn:
        conn.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {11 * 1024 * 1024}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            assert chunk, head
            head += chunk
    status_line, *lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert status_line.split()[1] == "413"
    request_id = next(line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("x-amzn-requestid:"))
    assert endpoint.apis.flush_access_logs(10)
    events = aws("logs").filter_log_events(logGroupName="/access-test/rest", limit=10_000)["events"]
    (line,) = [json.loads(e["message"]) for e in events if request_id in e["message"]]
    assert line["status"] == "413" and line["responseType"] == "REQUEST_TOO_LARGE" and line["httpMethod"] == "PUT"
    assert line["error"] == "Request Entity Too Large"


def _api_id(endpoint: Endpoint, logical_id: str) -> str:
    return next(api.api_id for api in endpoint.apis.apis.values() if api.logical_id == logical_id)
