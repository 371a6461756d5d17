"""The second source document's Lambda handler, verbatim, runs as a function on the local stack.

It calls ``boto3.resource("dynamodb").Table(...).put_item``, ``s3.get_object`` and
``sns.publish`` with no endpoint in its code: the worker process's environment points
boto3 at the stack's endpoint, as Lambda's points it at AWS. The wiring is the document's
own: a bucket whose ``incoming/*.json`` ObjectCreated notifications invoke the function,
an ``events`` table keyed by ``pk``, an ``events-notify`` topic (here with a queue
subscribed, to read the notification back).
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

HANDLER_DIR = Path(__file__).parent / "seed002"


REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def process_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Endpoint]]:
    sys.path.insert(0, str(HANDLER_DIR))  # workers start with the parent's sys.path, as CodeUri would give
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("seed002") / "data", workers=1, endpoint_port=free_port())
    stack = build_stack(settings, invoker_mode="process")
    stack.start("seed 002 test")
    endpoint = Endpoint(stack, port=settings.endpoint_port)
    endpoint.start()
    try:
        yield stack, endpoint
    finally:
        endpoint.close()
        stack.close()
        sys.path.remove(str(HANDLER_DIR))


@pytest.fixture(scope="module")
def client(process_stack: tuple[Stack, Endpoint]) -> Callable[[str], Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    url = process_stack[1].url
    return lambda name: session.client(name, endpoint_url=url, config=Config(s3={"addressing_style": "path"}))


def _until(found: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_the_seed_handler_verbatim_records_and_notifies(process_stack: tuple[Stack, Endpoint], client: Callable[[str], Any]) -> None:
    stack, _ = process_stack
    s3, ddb, sns, sqs = client("s3"), client("dynamodb"), client("sns"), client("sqs")
    s3.create_bucket(Bucket="gs-events-playground")
    ddb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic_arn = sns.create_topic(Name="events-notify")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="events-notify-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    stack.invoker.register(
        FunctionSpec(
            "events-processor",
            "lambda_function.lambda_handler",
            timeout_s=30,
            environment={"TABLE_NAME": "events", "TOPIC_ARN": topic_arn},
        )
    )
    function_arn = client("lambda").get_function(FunctionName="events-processor")["Configuration"]["FunctionArn"]
    s3.put_bucket_notification_configuration(
        Bucket="gs-events-playground",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}, {"Name": "suffix", "Value": ".json"}]}},
                }
            ]
        },
    )

    s3.put_object(Bucket="gs-events-playground", Key="other/ignored.json", Body=b'{"id": "not-me"}')
    s3.put_object(Bucket="gs-events-playground", Key="incoming/sample.json", Body=json.dumps({"id": "order-1", "total": 12}).encode())

    item = _until(lambda: ddb.get_item(TableName="events", Key={"pk": {"S": "order-1"}}).get("Item"))
    assert item == {"pk": {"S": "order-1"}, "payload": {"M": {"id": {"S": "order-1"}, "total": {"N": "12"}}}}
    messages = _until(lambda: sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages"))
    assert messages[0]["Body"] == "New file processed: incoming/sample.json"
    # The prefix filter held: the other object invoked nothing.
    assert ddb.get_item(TableName="events", Key={"pk": {"S": "not-me"}}).get("Item") is None
    assert ddb.scan(TableName="events")["Count"] == 1
