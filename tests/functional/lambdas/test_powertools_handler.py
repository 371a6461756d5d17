"""A handler written for Lambda with Powertools' Logger, Metrics and Tracer runs unchanged in the worker pool.

Its log group holds what it holds on Lambda: Powertools' JSON lines with the invocation's keys
(``function_name``, ``function_request_id``, ``cold_start`` true then false, ``xray_trace_id`` the
``Root`` of the invocation's own ``_X_AMZN_TRACE_ID``) and the EMF lines of its metrics; the
Tracer stays off (no X-Ray daemon here). The public Powertools layer a template names resolves to
the package installed here, and the endpoint's CloudWatch Logs API serves the lines.
"""

from __future__ import annotations

import json
import re
import socket
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_lambda_powertools")
pytest.importorskip("aws_xray_sdk")

from sluiceway.cfn.deployer import deploy  # noqa: E402
from sluiceway.endpoint.server import Endpoint  # noqa: E402
from sluiceway.ports import Invocation  # noqa: E402
from sluiceway.runtime.lambdas.code import prepare_function_code  # noqa: E402
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker  # noqa: E402
from sluiceway.runtime.lambdas.xray import root_of  # noqa: E402
from sluiceway.runtime.stack import Stack  # noqa: E402
from sluiceway.runtime.wiring import build_stack  # noqa: E402
from sluiceway.settings import Settings  # noqa: E402

APP = """\
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event, context):
    logger.info("order received", extra={"order": event["order"]})
    metrics.add_metric(name="OrdersReceived", unit=MetricUnit.Count, value=1)
    return {"trace_header": os.environ["_X_AMZN_TRACE_ID"], "tracing_disabled": tracer.disabled}
"""
ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME": "orders", "POWERTOOLS_METRICS_NAMESPACE": "Shop"}
TRACE_HEADER = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0")


class Logs:
    def __init__(self) -> None:
        self.groups: dict[str, list[str]] = {}

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        self.groups.setdefault(group, []).extend(message for _, message in events)


def _json_lines(messages: Sequence[str]) -> list[dict[str, Any]]:
    found = []
    for message in messages:
        text = message.strip()
        if text.startswith("{"):
            found.append(json.loads(text))
    return found


def _check_two_invocations(lines: list[dict[str, Any]], results: list[dict[str, Any]], request_ids: list[str], function: str) -> None:
    """What two invocations of APP (one warm environment) leave in the log group."""
    logged = [line for line in lines if line.get("message") == "order received"]
    assert len(logged) == 2, "one line per invocation, not repeated by the runtime's own log handler"
    for line, result, request_id, order in zip(logged, results, request_ids, (1, 2), strict=True):
        assert TRACE_HEADER.fullmatch(result["trace_header"])
        assert result["tracing_disabled"] is True
        assert line["xray_trace_id"] == root_of(result["trace_header"])
        assert line["function_request_id"] == request_id and line["function_name"] == function
        assert line["service"] == "orders" and line["order"] == order and line["level"] == "INFO"
        assert line["function_arn"].endswith(f":function:{function}")
        assert line["function_memory_size"] == "256"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0000", line["timestamp"])
    assert [line["cold_start"] for line in logged] == [True, False]
    assert results[0]["trace_header"] != results[1]["trace_header"], "a fresh trace per invocation"
    emf = [line for line in lines if "_aws" in line]
    namespaces = {m["Namespace"] for line in emf for m in line["_aws"]["CloudWatchMetrics"]}
    assert namespaces == {"Shop"}
    assert sum(sum(line.get("OrdersReceived", [])) for line in emf) == 2  # EMF values are lists
    cold = [line for line in emf if "ColdStart" in line]
    assert len(cold) == 1 and cold[0]["function_name"] == function


def test_a_powertools_handler_logs_as_on_lambda(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(APP)
    code = prepare_function_code("Orders", code_uri=src, cache_dir=tmp_path / "cache")
    spec = FunctionSpec("Orders", "app.handler", memory_mb=256, environment=ENVIRONMENT, code=code)
    logs = Logs()
    request_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    with LocalFunctionInvoker([spec], workers=1, logs=logs) as invoker:
        results = []
        for order, request_id in enumerate(request_ids, start=1):
            result = invoker.invoke(Invocation("Orders", {"order": order}, request_id))
            assert result.ok, f"{result.error_type}: {result.error_message}"
            results.append(result.payload)
    _check_two_invocations(_json_lines(logs.groups["/aws/lambda/Orders"]), results, request_ids, "Orders")


def test_a_function_may_turn_the_tracer_on(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(APP)
    code = prepare_function_code("Traced", code_uri=src, cache_dir=tmp_path / "cache")
    environment = {**ENVIRONMENT, "POWERTOOLS_TRACE_DISABLED": "false"}
    spec = FunctionSpec("Traced", "app.handler", memory_mb=256, environment=environment, code=code)
    with LocalFunctionInvoker([spec], workers=1) as invoker:
        result = invoker.invoke(Invocation("Traced", {"order": 1}, str(uuid.uuid4())))
    assert result.ok, f"{result.error_type}: {result.error_message}"
    # Sampled=0: the SDK records nothing and sends nothing, as on Lambda without active tracing.
    assert result.payload["tracing_disabled"] is False


# ------------------------------------------------------------------ from a template, through the endpoint

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Layers:
      - !Sub arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      MemorySize: 256
      Environment:
        Variables:
          POWERTOOLS_SERVICE_NAME: orders
          POWERTOOLS_METRICS_NAMESPACE: Shop
Outputs:
  Name:
    Value: !Ref Orders
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    data_dir: Path = tmp_path_factory.mktemp("powertools") / "data"
    stack: Stack = build_stack(Settings.load(data_dir=data_dir, workers=1, endpoint_port=_free_port()), app=None)
    stack.start("powertools tests")
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    try:
        yield served
    finally:
        served.close()
        stack.close()


def test_a_template_with_the_powertools_layer_runs_and_its_lines_are_served(endpoint: Endpoint, tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "app.py").write_text(APP)
    (app / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    warnings: list[str] = []
    deployment = deploy(endpoint, app / "template.yaml", "powertools", {}, cache_dir=tmp_path / "cache", warn=warnings.append)
    assert not [w for w in warnings if "layer" in w], warnings
    name = deployment.outputs["Name"]
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1})
    lambda_client: Any = session.client("lambda", endpoint_url=endpoint.url, config=config)
    logs_client: Any = session.client("logs", endpoint_url=endpoint.url, config=config)
    results, request_ids = [], []
    for order in (1, 2):
        answer = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"order": order}).encode())
        payload = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, payload
        results.append(payload)
        request_ids.append(answer["ResponseMetadata"]["RequestId"])
    events = logs_client.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    _check_two_invocations(_json_lines([event["message"] for event in events]), results, request_ids, name)


def test_the_layer_note_names_what_is_missing() -> None:
    from sluiceway.runtime.lambdas import known_layers

    arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:79"
    layer = known_layers.resolve(arn, versions=lambda module, dist: "3.37.0")
    assert layer is not None and layer.paths == () and layer.title == "Powertools for AWS Lambda (Python) v2"
    assert layer.note is not None and "3.37.0 is installed here, not v2" in layer.note
    assert known_layers.resolve(arn.replace("017000801446", "111111111111")) is None
    v3 = arn.replace("V2:79", "V3-python312-arm64:27")
    served = known_layers.resolve(v3, versions=lambda module, dist: "3.37.0")
    assert served is not None and served.note is None
    missing = known_layers.resolve(v3, versions=lambda module, dist: None)
    assert missing is not None and missing.note is not None and "requirements.txt lists aws-lambda-powertools" in missing.note
    no_xray = known_layers.resolve(v3, versions=lambda module, dist: None if module == "aws_xray_sdk" else "3.1.0")
    assert no_xray is not None and no_xray.note is not None and "Tracer() fails to import" in no_xray.note
