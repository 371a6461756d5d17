"""The same workflow and the same handlers on the AWS backends (S3, DynamoDB, SNS on a moto server).

The functions run in worker processes with ``SLUICEWAY_BACKEND=aws``: they wire
the boto3 adapters from the environment exactly as the Lambda entrypoints do,
and nothing above the ports knows the difference. (moto's Step Functions does
not run states, so the local orchestrator drives the very ASL file.)
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sluiceway.apps.builtin import PIPELINE_FUNCTIONS
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.executions import SqliteExecutionStore
from sluiceway.clock import SystemClock
from sluiceway.events.envelope import object_created
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker
from sluiceway.runtime.orchestration.executor import LocalOrchestrator
from sluiceway.runtime.orchestration.tasks import TaskRunner
from sluiceway.runtime.wiring import load_workflow
from sluiceway.services import build_services
from sluiceway.settings import Settings

from .conftest import Moto

FUNCTIONS = {f.name: f.handler for f in PIPELINE_FUNCTIONS}
HEADER = "order_id,order_date,region,product,quantity,unit_price,customer_email"


def test_the_csv_workflow_on_aws_backends(moto: Moto, tmp_path: Path) -> None:
    account = moto.client("sts").get_caller_identity()["Account"]
    settings = Settings(
        backend="aws",
        account_id=account,
        aws_endpoint_url=moto.endpoint,
        data_dir=tmp_path / "lambda-tmp",
        input_bucket="contract-input",
        output_bucket="contract-output",
        workers=2,
    )
    s3 = moto.client("s3")
    for bucket in (settings.input_bucket, settings.output_bucket):
        s3.create_bucket(Bucket=bucket)
    moto.client("dynamodb").create_table(
        TableName=settings.table_name,
        KeySchema=[{"AttributeName": "ExecutionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ExecutionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns = moto.client("sns")
    topic_arn = sns.create_topic(Name=settings.topic_name)["TopicArn"]
    sqs = moto.client("sqs")
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})

    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": settings.region}
    for name, value in credentials.items():
        os.environ.setdefault(name, value)
    services = build_services(settings)
    rows = "\n".join(f"{i},2024-02-0{1 + i % 9},{['north', 'east'][i % 2]},Lamp,{1 + i % 4},2.50,c{i}@example.com" for i in range(1, 501))
    info = services.objects.put(
        settings.input_bucket, "in/orders.csv", (HEADER + "\n" + rows + "\n2,2024-02-01,north,Lamp,1,2.50,dup@example.com\n").encode()
    )

    db = Database(tmp_path / "state.db")
    invoker = LocalFunctionInvoker(
        [FunctionSpec(name, handler, timeout_s=120) for name, handler in FUNCTIONS.items()],
        workers=2,
        env={**settings.to_env(), **credentials},
    )
    runner = TaskRunner(invoker, services.topic, objects=services.objects)
    orchestrator = LocalOrchestrator(SqliteExecutionStore(db), runner.run, SystemClock())
    orchestrator.register(settings.state_machine_name, load_workflow(settings))
    try:
        orchestrator.start()
        event = object_created(
            bucket=info.bucket,
            key=info.key,
            size=info.size,
            etag=info.etag,
            sequencer="0001",
            event_id="e-1",
            request_id="r-1",
            time=datetime.now(UTC),
            region=settings.region,
            account=settings.account_id,
        )
        record = orchestrator.start_execution(settings.state_machine_name, event, name="on-aws")
        done = orchestrator.wait(record.arn, timeout=120)
    finally:
        orchestrator.close()
        invoker.close()
        db.close()

    assert done.status == "SUCCEEDED", done.cause
    item = services.table.get({"ExecutionId": done.arn})
    assert item is not None
    assert (item["Status"], item["RowsRead"], item["RowsValid"], item["RowsRejected"]) == ("SUCCEEDED", 501, 500, 1)
    bucket, key = item["OutputLocation"].removeprefix("s3://").split("/", 1)
    result = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert sum(group["orders"] for group in result["results"]) == 500
    messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert any("in/orders.csv" in m["Body"] and "500 valid" in m["Body"] for m in messages)
    assert not [o for o in s3.list_objects_v2(Bucket=settings.output_bucket).get("Contents", []) if o["Key"].startswith("_work/")]


@pytest.fixture(autouse=True)
def _restore_environment() -> object:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
