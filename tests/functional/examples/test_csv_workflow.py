"""examples/csv-workflow end to end: S3 → EventBridge (.csv) → DataProcessingWorkflow → results, metadata, notifications.

The workflow's functions are the app's own thin modules over ``sluiceway.functions``, run from
the example's ``CodeUri`` with the AWS backends, which reach the local endpoint through
``AWS_ENDPOINT_URL`` exactly as they reach AWS on Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from example_harness import RunningApp, run_example

from sluiceway.apps.builtin import PIPELINE_FUNCTIONS, workflow_text

SALES = "sales/2025-01-15.csv"
BROKEN = "sales/broken-header.csv"
DUPLICATED = "sales/2025-01-16.csv"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_example("csv-workflow", tmp_path_factory.mktemp("csv-workflow")) as app:
        yield app


@pytest.fixture(scope="module")
def inbox(running: RunningApp) -> str:
    return running.inbox(running.outputs["NotificationTopicArn"])


def test_the_example_ships_the_packaged_workflow_and_every_stage(running: RunningApp) -> None:
    # The ASL file is the packaged one with the claim in front: the built-in pipeline and the example must not drift apart.
    shipped = json.loads((running.app_dir / "statemachine" / "data_processing.asl.json").read_text(encoding="utf-8"))
    packaged = json.loads(workflow_text())
    claim = shipped["States"].pop("ClaimObject")
    assert shipped["StartAt"] == "ClaimObject" and claim["Next"] == packaged["StartAt"]
    assert claim["Resource"] == "arn:aws:states:::dynamodb:putItem"
    assert shipped["States"].pop("AlreadyProcessed")["Type"] == "Succeed"
    assert {**shipped, "StartAt": packaged["StartAt"]} == packaged
    modules = {p.stem: p.read_text(encoding="utf-8") for p in (running.app_dir / "functions").glob("*.py")}
    for function in PIPELINE_FUNCTIONS:
        module = function.handler.rsplit(".", 1)[0]
        assert any(f"from {module} import handler" in text for text in modules.values()), function.name


def _finished(running: RunningApp, key: str) -> dict[str, Any] | None:
    sfn = running.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=running.outputs["StateMachineArn"])["executions"]:
        if execution["status"] == "RUNNING":
            continue
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"])["detail"]["object"]["key"] == key:
            return dict(described)
    return None


def _object(running: RunningApp, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    assert bucket == running.outputs["OutputBucketName"]
    return bytes(running.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_csv_is_validated_processed_stored_recorded_and_notified(running: RunningApp, inbox: str) -> None:
    s3 = running.client("s3")
    sample: Path = running.app_dir / "data" / "sales-2025-01-15.csv"
    s3.put_object(Bucket=running.outputs["InputBucketName"], Key="sales/notes.txt", Body=b"not a csv: no run")
    s3.put_object(Bucket=running.outputs["InputBucketName"], Key=SALES, Body=sample.read_bytes())

    execution = running.until(lambda: _finished(running, SALES), "the run of the sample", timeout=25)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), execution.get("cause"))
    stored = json.loads(execution["output"])

    result = json.loads(_object(running, stored["output"]))
    assert (result["rows_read"], result["rows_valid"], result["rows_rejected"]) == (7, 5, 2)
    assert result["input"]["key"] == SALES
    north = next(row for row in result["results"] if row["region"] == "north")
    assert north["orders"] == 3 and north["units"] == 11  # orders 1, 3 and 5: 2 + 6 + 3 units
    results_csv = _object(running, result["results_csv"]).decode()
    assert results_csv.splitlines()[0].startswith("region,")
    assert {line.split(",")[0] for line in results_csv.splitlines()[1:]} == {"north", "south", "east"}
    rejects = _object(running, stored["rejects"]).decode()
    assert "mars" in rejects and len(rejects.strip().splitlines()) == 3  # the header and the two rejected rows

    record = running.client("dynamodb").get_item(
        TableName=running.outputs["MetadataTableName"], Key={"ExecutionId": {"S": execution["executionArn"]}}
    )["Item"]
    assert record["Status"] == {"S": "SUCCEEDED"}
    assert record["InputKey"] == {"S": SALES}
    assert (record["RowsRead"], record["RowsValid"], record["RowsRejected"]) == ({"N": "7"}, {"N": "5"}, {"N": "2"})

    (message,) = running.drain(inbox, 1, "the success notification")
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == "Sluiceway: file processed"
    assert envelope["Message"].startswith(f"Processed s3://{running.outputs['InputBucketName']}/{SALES}: 7 rows read, 5 valid, 2 rejected.")
    assert envelope["MessageAttributes"]["status"] == {"Type": "String", "Value": "SUCCEEDED"}
    # The .txt upload matched no rule: one run only.
    sfn = running.client("stepfunctions")
    assert len(sfn.list_executions(stateMachineArn=running.outputs["StateMachineArn"])["executions"]) == 1


def test_a_csv_with_the_wrong_columns_fails_recorded_and_notified(running: RunningApp, inbox: str) -> None:
    sample = running.app_dir / "data" / "sales-broken-header.csv"
    running.client("s3").put_object(Bucket=running.outputs["InputBucketName"], Key=BROKEN, Body=sample.read_bytes())

    execution = running.until(lambda: _finished(running, BROKEN), "the run of the broken file", timeout=25)
    assert execution["status"] == "FAILED"
    record = running.client("dynamodb").get_item(
        TableName=running.outputs["MetadataTableName"], Key={"ExecutionId": {"S": execution["executionArn"]}}
    )["Item"]
    assert record["Status"] == {"S": "FAILED"}
    (message,) = running.drain(inbox, 1, "the failure notification")
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == "Sluiceway: file failed"
    assert BROKEN in envelope["Message"]
    assert envelope["MessageAttributes"]["status"] == {"Type": "String", "Value": "FAILED"}


def _ended(running: RunningApp, arn: str) -> dict[str, Any] | None:
    described = running.client("stepfunctions").describe_execution(executionArn=arn)
    return None if described["status"] == "RUNNING" else dict(described)


def _records(running: RunningApp, key: str) -> list[dict[str, Any]]:
    return list(
        running.client("dynamodb").scan(
            TableName=running.outputs["MetadataTableName"],
            FilterExpression="InputKey = :key",
            ExpressionAttributeValues={":key": {"S": key}},
        )["Items"]
    )


def _result_runs(running: RunningApp, key: str) -> set[str]:
    """The runs with objects under results/<key>/ (one folder per execution)."""
    listed = running.client("s3").list_objects_v2(Bucket=running.outputs["OutputBucketName"], Prefix=f"results/{key}/")
    return {o["Key"].removeprefix(f"results/{key}/").split("/", 1)[0] for o in listed.get("Contents", [])}


def test_a_duplicated_event_starts_a_run_that_does_nothing(running: RunningApp, inbox: str) -> None:
    sfn = running.client("stepfunctions")
    machine = running.outputs["StateMachineArn"]
    sample = running.app_dir / "data" / "sales-2025-01-15.csv"
    running.client("s3").put_object(Bucket=running.outputs["InputBucketName"], Key=DUPLICATED, Body=sample.read_bytes())
    first = running.until(lambda: _finished(running, DUPLICATED), "the run of the upload", timeout=25)
    assert first["status"] == "SUCCEEDED", (first.get("error"), first.get("cause"))
    running.drain(inbox, 1, "the run's notification")

    # On AWS, EventBridge starts every delivery's execution with a random name, so a duplicated
    # Object Created event is a second StartExecution with the same input: that is what is done here.
    # (The local router names executions after the write instead; the claim must hold without that.)
    duplicates = [sfn.start_execution(stateMachineArn=machine, input=first["input"])["executionArn"] for _ in range(2)]
    for arn in duplicates:
        ended = running.until(partial(_ended, running, arn), "the duplicate's run", timeout=25)
        assert ended["status"] == "SUCCEEDED", (ended.get("error"), ended.get("cause"))
        assert json.loads(ended["output"])["duplicate"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in sfn.get_execution_history(executionArn=arn)["events"]
            if e["type"].endswith("StateEntered")
        ]
        assert entered == ["ClaimObject", "AlreadyProcessed"]

    # One result, one record, one notification: the first run's.
    assert _result_runs(running, DUPLICATED) == {first["name"]}
    (record,) = _records(running, DUPLICATED)
    assert record["ExecutionId"] == {"S": first["executionArn"]}
    assert running.drain(inbox, 0, "no notification of the duplicates", settle=2.0) == []
    event = json.loads(first["input"])["detail"]
    claim = running.client("dynamodb").get_item(
        TableName=running.outputs["IdempotencyTableName"],
        Key={"pk": {"S": f"s3://{event['bucket']['name']}/{DUPLICATED}#{event['object']['etag']}#{event['object']['sequencer']}"}},
    )["Item"]
    assert claim["ExecutionId"] == {"S": first["executionArn"]}


def test_the_same_bytes_uploaded_again_are_a_new_write_and_run_again(running: RunningApp, inbox: str) -> None:
    # The claim is per write (ETag and sequencer), not per key: an upload of the same file again is run again.
    sample = running.app_dir / "data" / "sales-2025-01-15.csv"
    running.client("s3").put_object(Bucket=running.outputs["InputBucketName"], Key=DUPLICATED, Body=sample.read_bytes())
    running.until(lambda: len(_records(running, DUPLICATED)) == 2, "the second write's record", timeout=25)
    assert len(_result_runs(running, DUPLICATED)) == 2
    (message,) = running.drain(inbox, 1, "the second write's notification")
    assert json.loads(message["Body"])["Subject"] == "Sluiceway: file processed"
