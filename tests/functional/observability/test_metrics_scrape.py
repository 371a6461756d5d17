"""A running stack's ``/_sluiceway/metrics``: the CSV workflow's counts, and a template function's EMF metrics.

One stack with the CSV workflow and its endpoint: two small files go through the whole
pipeline, a template adds a function that prints a Powertools-shaped EMF line and a queue
with a dead-letter queue; then the exposition is scraped over HTTP and parsed with
prometheus_client's parser.
"""

from __future__ import annotations

import json
import socket
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sluiceway.cfn.deployer import deploy
from sluiceway.data.samples import write_sales_csv
from sluiceway.endpoint.server import Endpoint
from sluiceway.observability.exposition import METRICS_PATH
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

WORKFLOW = "DataProcessingWorkflow"

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Checkout:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: checkout.handler
      CodeUri: src/
      Timeout: 10
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt OrdersDlq.Arn
        maxReceiveCount: 3
  OrdersDlq:
    Type: AWS::SQS::Queue
Outputs:
  Function:
    Value: !Ref Checkout
  OrdersUrl:
    Value: !Ref Orders
  DlqUrl:
    Value: !Ref OrdersDlq
"""

# What Powertools Metrics' @metrics.log_metrics prints (service dimension, a Count and a latency).
CHECKOUT = """
import json, time

def handler(event, context):
    print(json.dumps({
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": "Shop",
            "Dimensions": [["service", "region"]],
            "Metrics": [{"Name": "SuccessfulOrders", "Unit": "Count"}, {"Name": "CheckoutLatency", "Unit": "Milliseconds"}],
        }]},
        "service": "checkout", "region": event["region"],
        "SuccessfulOrders": event["orders"], "CheckoutLatency": [120, 80],
    }))
    print("checkout done")
    return {"ok": True}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("metrics") / "data", workers=2, endpoint_port=_free_port())
    built = build_stack(settings)
    built.start("metrics tests")
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


def scrape(endpoint: Endpoint) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    request = urllib.request.Request(endpoint.url + METRICS_PATH)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    found = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s: {found}")


def test_the_csv_workflow_is_counted(stack: Stack, endpoint: Endpoint, tmp_path: Path) -> None:
    rows = 0
    for index in range(2):
        path = tmp_path / f"sales-{index}.csv"
        rows += write_sales_csv(path, rows=50 + index, seed=index)
        if index:  # one record the pipeline rejects (a quantity that is not a number)
            with path.open("a", encoding="utf-8") as out:
                out.write("999999,2024-03-01,north,Widget,many,3.50,c1@example.com\n")
        stack.upload(path, f"metrics/{index}.csv")
    wait_for(lambda: len([r for r in stack.orchestrator.store.list(limit=50) if r.status == "SUCCEEDED"]) == 2, "two finished runs")

    # The rows are counted when the execution's end is committed, on the dispatcher: poll the scrape.
    def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        found = scrape(endpoint)
        # Both runs' records: the rows they read are the valid and the rejected ones.
        runs = total(found, "sluiceway_executions_total", state_machine=WORKFLOW)
        return found if runs == 2 and total(found, "sluiceway_pipeline_rows_read_total") == rows + 1 else None

    samples = wait_for(counted, "row counts")

    assert total(samples, "sluiceway_executions_started_total", state_machine=WORKFLOW) == 2
    assert total(samples, "sluiceway_executions_total", state_machine=WORKFLOW, status="SUCCEEDED") == 2
    assert total(samples, "sluiceway_executions_total", state_machine=WORKFLOW) == 2
    assert total(samples, "sluiceway_execution_duration_seconds_count", state_machine=WORKFLOW) == 2
    # ValidateData, ProcessChunks' iterations, AggregateData, StoreResults, NotifySuccess: many states each.
    assert total(samples, "sluiceway_state_transitions_total", state_machine=WORKFLOW) >= 2 * 5
    assert total(samples, "sluiceway_task_duration_seconds_count", state_machine=WORKFLOW, integration="sns:publish") == 2
    assert (
        total(samples, "sluiceway_task_duration_seconds_count", state_machine=WORKFLOW, integration="lambda:invoke", status="SUCCEEDED")
        >= 2 * 3
    )
    for function in ("ValidateData", "AggregateData", "StoreResults"):
        assert total(samples, "sluiceway_function_invocations_total", function=function) == 2, function
        assert total(samples, "sluiceway_function_duration_seconds_count", function=function) == 2, function
        assert total(samples, "sluiceway_function_duration_seconds_sum", function=function) > 0, function
        assert total(samples, "sluiceway_function_errors_total", function=function) == 0, function
        # Each of the two worker processes loads a handler once at most: one or two cold starts each.
        assert 1 <= total(samples, "sluiceway_function_cold_starts_total", function=function) <= 2, function
    assert total(samples, "sluiceway_events_put_total", bus="default") >= 2
    assert total(samples, "sluiceway_events_matched_total", bus="default") >= 2
    assert total(samples, "sluiceway_events_delivered_total", bus="default", target_kind="state-machine") == 2
    assert total(samples, "sluiceway_event_delivery_lag_seconds_count", bus="default", target_kind="state-machine") == 2
    assert total(samples, "sluiceway_event_delivery_lag_seconds_bucket", bus="default", target_kind="state-machine", le="+Inf") == 2
    assert total(samples, "sluiceway_pipeline_rows_read_total", pipeline="sales") == rows + 1
    assert total(samples, "sluiceway_pipeline_rows_valid_total", pipeline="sales") == rows
    assert total(samples, "sluiceway_pipeline_rows_rejected_total", pipeline="sales") == 1
    assert total(samples, "sluiceway_executions_running", state_machine=WORKFLOW) == 0


def test_a_template_function_s_emf_line_becomes_a_metric_and_queues_are_gauged(stack: Stack, endpoint: Endpoint, tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "checkout.py").write_text(textwrap.dedent(CHECKOUT), encoding="utf-8")
    (app / "template.yaml").write_text(textwrap.dedent(TEMPLATE), encoding="utf-8")
    outputs = deploy(endpoint, app / "template.yaml", "shop", {}, cache_dir=tmp_path / "cache").outputs
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1})
    lambda_ = session.client("lambda", endpoint_url=endpoint.url, config=config)
    sqs = session.client("sqs", endpoint_url=endpoint.url, config=config)

    for region, orders in (("eu", 2), ("us", 5), ("eu", 1)):
        answer = lambda_.invoke(FunctionName=outputs["Function"], Payload=json.dumps({"region": region, "orders": orders}))
        assert "FunctionError" not in answer, answer["Payload"].read()
    sqs.send_message(QueueUrl=outputs["OrdersUrl"], MessageBody="one")
    sqs.send_message(QueueUrl=outputs["DlqUrl"], MessageBody="poison")
    samples = scrape(endpoint)

    assert samples[("Shop_SuccessfulOrders_total", (("region", "eu"), ("service", "checkout")))] == 3
    assert samples[("Shop_SuccessfulOrders_total", (("region", "us"), ("service", "checkout")))] == 5
    assert samples[("Shop_CheckoutLatency_seconds_count", (("region", "eu"), ("service", "checkout")))] == 4
    assert samples[("Shop_CheckoutLatency_seconds_sum", (("region", "eu"), ("service", "checkout")))] == pytest.approx(0.4)
    assert total(samples, "sluiceway_function_invocations_total", function=outputs["Function"]) == 3
    assert total(samples, "sluiceway_emf_validation_errors_total") == 0
    # The EMF line stays in the function's log group, as on AWS.
    logs = session.client("logs", endpoint_url=endpoint.url, config=config)
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{outputs['Function']}")["events"]
    assert sum('"SuccessfulOrders"' in e["message"] for e in events) == 3

    orders, dlq = outputs["OrdersUrl"].rsplit("/", 1)[-1], outputs["DlqUrl"].rsplit("/", 1)[-1]
    assert samples[("sluiceway_queue_messages", (("queue", orders), ("state", "visible")))] == 1
    assert samples[("sluiceway_queue_messages", (("queue", orders), ("state", "in_flight")))] == 0
    assert ("sluiceway_queue_oldest_message_age_seconds", (("queue", orders),)) in samples
    assert samples[("sluiceway_dead_letter_queue_messages", (("queue", dlq),))] == 1
    assert samples[("sluiceway_dead_letter_queue_oldest_message_age_seconds", (("queue", dlq),))] >= 0
    assert ("sluiceway_dead_letter_queue_messages", (("queue", orders),)) not in samples
