"""One upload is one trace: an in-test OTLP/HTTP receiver gets every span of it, connected.

A stack with tracing on (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` names the receiver below, a small
``http.server`` decoding OTLP's protobuf with opentelemetry-proto) runs a template: a bucket whose
Object Created events go to EventBridge, a rule starting a state machine (a Lambda task whose
handler reads the object and sends a message to a queue with boto3, a Map over the rows, an
SNS publish), and an SQS subscription to the topic. A CSV is put through the endpoint's S3 API
with boto3; the receiver must then hold one trace from the ``S3.PutObject`` server span through
the event delivery, the execution, its states and tasks, the function invocation and the
handler's boto3 calls (client spans from the worker process, server spans at the endpoint), to
the SNS delivery; and the messages sent on the way carry it in ``AWSTraceHeader``.

Until the lead adds :meth:`Tracing.server_span` to ``endpoint/server.py``, the module wraps the
operations this test calls the way a test can (their handlers, in the services' registry).
"""

from __future__ import annotations

import json
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

from sluiceway.cfn.deployer import deploy
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      NotificationConfiguration:
        EventBridgeConfiguration:
          EventBridgeEnabled: true
  Audit:
    Type: AWS::SQS::Queue
  Notifications:
    Type: AWS::SNS::Topic
  Inbox:
    Type: AWS::SQS::Queue
  InboxSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Notifications
      Protocol: sqs
      Endpoint: !GetAtt Inbox.Arn
      RawMessageDelivery: true
  Validate:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: validate.handler
      CodeUri: src/
      Timeout: 20
      Environment:
        Variables:
          AUDIT_QUEUE_URL: !Ref Audit
  Pipeline:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Validate
        States:
          Validate:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters:
              FunctionName: ${ValidateArn}
              Payload.$: $
            OutputPath: $.Payload
            Next: Rows
          Rows:
            Type: Map
            ItemsPath: $.rows
            ResultPath: null
            ItemProcessor:
              ProcessorConfig: {Mode: INLINE}
              StartAt: Row
              States:
                Row: {Type: Pass, End: true}
            Next: Notify
          Notify:
            Type: Task
            Resource: arn:aws:states:::sns:publish
            Parameters:
              TopicArn: ${TopicArn}
              Message.$: States.JsonToString($.key)
            End: true
      DefinitionSubstitutions:
        ValidateArn: !GetAtt Validate.Arn
        TopicArn: !Ref Notifications
      Events:
        Uploaded:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.s3]
              detail-type: [Object Created]
              detail:
                bucket:
                  name: [!Ref Uploads]
Outputs:
  Bucket:
    Value: !Ref Uploads
  AuditUrl:
    Value: !Ref Audit
  InboxUrl:
    Value: !Ref Inbox
  Topic:
    Value: !GetAtt Notifications.TopicName
"""

# The handler as it would run on Lambda: boto3 clients built from the environment.
VALIDATE = """
import json, os
import boto3

s3 = boto3.client("s3")
sqs = boto3.client("sqs")

def handler(event, context):
    bucket, key = event["detail"]["bucket"]["name"], event["detail"]["object"]["key"]
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    rows = text.strip().splitlines()[1:]
    sqs.send_message(QueueUrl=os.environ["AUDIT_QUEUE_URL"], MessageBody=json.dumps({"key": key, "rows": len(rows)}))
    return {"key": key, "rows": rows}
"""


class Receiver:
    """An OTLP/HTTP traces receiver: ``POST /v1/traces`` with a protobuf ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.take(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        found = []
        for resource in request.resource_spans:
            service = next((a.value.string_value for a in resource.resource.attributes if a.key == "service.name"), None)
            for scope in resource.scope_spans:
                for span in scope.spans:
                    found.append(
                        {
                            "name": span.name,
                            "trace": span.trace_id.hex(),
                            "id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "kind": span.kind,
                            "service": service,
                            "scope": scope.scope.name,
                            "attributes": {a.key: a.value for a in span.attributes},
                        }
                    )
        with self.lock:
            self.spans.extend(found)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.spans)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


@pytest.fixture(scope="module")
def stack(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
        patch.setenv("OTEL_SERVICE_NAME", "traces-test")
        patch.delenv("OTEL_SDK_DISABLED", raising=False)
        settings = Settings.load(data_dir=tmp_path_factory.mktemp("traces") / "data", workers=2, endpoint_port=_free_port())
        built = build_stack(settings, app=None)
        built.start("traces tests")
        try:
            yield built
        finally:
            built.close()


@pytest.fixture(scope="module")
def endpoint(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    try:
        yield served
    finally:
        served.close()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    found = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s: {found}")


def test_one_upload_is_one_connected_trace(stack: Stack, endpoint: Endpoint, receiver: Receiver, tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "validate.py").write_text(textwrap.dedent(VALIDATE), encoding="utf-8")
    (app / "template.yaml").write_text(textwrap.dedent(TEMPLATE), encoding="utf-8")
    outputs = deploy(endpoint, app / "template.yaml", "traced", {}, cache_dir=tmp_path / "cache").outputs
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    s3, sqs = (
        session.client("s3", endpoint_url=endpoint.url, config=config),
        session.client("sqs", endpoint_url=endpoint.url, config=config),
    )

    s3.put_object(Bucket=outputs["Bucket"], Key="orders.csv", Body=b"id,amount\n1,10\n2,20\n3,30\n")
    inbox = wait_for(
        lambda: sqs.receive_message(QueueUrl=outputs["InboxUrl"], MessageSystemAttributeNames=["AWSTraceHeader"]).get("Messages"),
        "notification",
    )
    assert inbox[0]["Body"] == '"orders.csv"'

    notified = f"deliver {outputs['Topic']}"

    def whole_trace() -> list[dict[str, Any]] | None:
        stack.tracing.flush()
        spans = receiver.snapshot()
        # The notification's delivery is the last span: its trace is the upload's.
        delivered = [s["trace"] for s in spans if s["name"] == notified]
        if len(delivered) != 1:
            return None
        mine = [s for s in spans if s["trace"] == delivered[0]]
        names = {s["name"] for s in mine}
        wanted = {"S3.PutObject", "S3.GetObject", "SQS.SendMessage", "task sns:publish", "execution " + _machine(mine)}
        return mine if wanted <= names else None

    spans = wait_for(whole_trace, "whole trace")
    trace_id = spans[0]["trace"]
    by_id = {s["id"]: s for s in spans}
    names = [s["name"] for s in spans]

    # One root: the upload's PutObject at the endpoint; every other span's parent is in the trace.
    [root] = [s for s in spans if not s["parent"]]
    assert root["name"] == "S3.PutObject" and root["kind"] == 2  # SPAN_KIND_SERVER
    assert root["attributes"]["rpc.service"].string_value == "s3" and root["attributes"]["aws.request_id"].string_value
    assert all(s["parent"] in by_id for s in spans if s is not root), [s["name"] for s in spans if s["parent"] not in by_id]

    def parent(name: str) -> str:
        [span] = [s for s in spans if s["name"] == name]
        return str(by_id[span["parent"]]["name"])

    machine = _machine(spans)
    rule = next(n for n in names if n.startswith("deliver ") and n != notified)
    assert parent(rule) == "S3.PutObject"  # the event kept the upload's context on the bus
    assert parent(f"execution {machine}") == rule
    assert parent("state Validate") == f"execution {machine}"
    assert parent("task lambda:invoke") == "state Validate"
    invoke = next(n for n in names if n.startswith("invoke "))
    assert parent(invoke) == "task lambda:invoke"
    # The handler's boto3 calls: client spans in the worker, server spans at the endpoint, both
    # children of the invocation (the endpoint reads the X-Amzn-Trace-Id botocore sends from Lambda's).
    clients = [s for s in spans if s["scope"].startswith("opentelemetry.instrumentation.botocore")]
    assert {s["name"] for s in clients} >= {"S3.GetObject", "SQS.SendMessage"}
    assert all(by_id[s["parent"]]["name"] == invoke for s in clients)
    served = [s for s in spans if s["name"] in ("S3.GetObject", "SQS.SendMessage") and s["kind"] == 2]
    assert len(served) == 2 and all(by_id[s["parent"]]["name"] == invoke for s in served)
    # The Map's iterations are inside the Map state; the notification inside the Notify task.
    rows = [s for s in spans if s["name"] == "state Row"]
    assert len(rows) == 3 and all(by_id[s["parent"]]["name"] == "state Rows" for s in rows)
    assert parent("state Rows") == f"execution {machine}"
    assert parent("task sns:publish") == "state Notify"
    assert parent(notified) == "task sns:publish"
    assert {s["service"] for s in spans} == {"traces-test"}

    # Messages sent on the way carry the trace as AWS's AWSTraceHeader (X-Ray's spelling of it).
    root_id = f"Root=1-{trace_id[:8]}-{trace_id[8:]};"
    assert inbox[0]["Attributes"]["AWSTraceHeader"].startswith(root_id)
    audit = sqs.receive_message(QueueUrl=outputs["AuditUrl"], MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert json.loads(audit[0]["Body"]) == {"key": "orders.csv", "rows": 3}
    assert audit[0]["Attributes"]["AWSTraceHeader"].startswith(root_id)


def _machine(spans: list[dict[str, Any]]) -> str:
    return next((s["name"].removeprefix("execution ") for s in spans if s["name"].startswith("execution ")), "?")
