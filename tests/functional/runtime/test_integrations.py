"""Service integrations of Task states on the local backends."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.executions import SqliteExecutionStore
from sluiceway.backends.local.journal import SqliteTaskJournal
from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.tables import SqliteTable
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker
from sluiceway.runtime.orchestration.executor import LocalOrchestrator
from sluiceway.runtime.orchestration.integrations.dynamodb import from_attribute, to_attribute
from sluiceway.runtime.orchestration.tasks import TaskRunner


@pytest.fixture
def world(tmp_path: Path) -> Any:
    db = Database(tmp_path / "s.db")
    clock = FakeClock()
    objects = FileObjectStore(tmp_path / "buckets")
    objects.ensure_bucket("data-bucket")
    topic = SqliteTopic(db, tmp_path / "outbox.jsonl", clock)
    bus = SqliteEventBus(db, clock)
    queues = SqliteQueueService(db, clock)
    queues.create_queue("jobs")
    invoker = LocalFunctionInvoker([FunctionSpec("Echo", "json.loads")], mode="thread")
    orders = SqliteTable(db, "Orders", partition_key="id")
    tables = {"Orders": orders}
    runner = TaskRunner(invoker, topic, objects=objects, events=bus, queues=queues, tables=tables.__getitem__, clock=clock)
    orch = LocalOrchestrator(SqliteExecutionStore(db), runner.run, clock, skip_waits=True)
    orch.start()
    orch.queues = queues  # type: ignore[attr-defined]
    yield orch, objects, topic, bus
    orch.close()
    invoker.close()
    db.close()


def run(orch: LocalOrchestrator, name: str, definition: dict[str, Any], payload: Any) -> Any:
    orch.register(name, parser.parse(definition))
    record = orch.start_execution(name, payload)
    return orch.wait(record.arn, timeout=20)


def task(resource: str, parameters: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True, **more}}}


def test_sns_publish_reaches_the_outbox(world: Any) -> None:
    orch, _, topic, _ = world
    done = run(
        orch,
        "Sns",
        task("arn:aws:states:::sns:publish", {"TopicArn": "arn:aws:sns:us-east-1:1:alerts", "Message.$": "$.m", "Subject": "S"}),
        {"m": {"a": 1}},
    )
    assert done.status == "SUCCEEDED" and "MessageId" in done.output
    [message] = topic.messages()
    assert (message.topic, message.subject, json.loads(message.message)) == ("arn:aws:sns:us-east-1:1:alerts", "S", {"a": 1})


def test_s3_put_then_get_object(world: Any) -> None:
    orch, objects, _, _ = world
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {"Bucket": "data-bucket", "Key": "a/b.json", "Body.$": "$"},
                "ResultPath": "$.put",
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "data-bucket", "Key": "a/b.json"},
                "ResultSelector": {"body.$": "States.StringToJson($.Body)"},
                "End": True,
            },
        },
    }
    done = run(orch, "S3", definition, {"x": [1, 2]})
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == {"body": {"x": [1, 2]}}
    assert json.loads(objects.get("data-bucket", "a/b.json")) == {"x": [1, 2]}


def test_s3_missing_key_is_catchable(world: Any) -> None:
    orch, _, _, _ = world
    definition = task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "data-bucket", "Key": "nope"})
    definition["States"]["T"]["Catch"] = [{"ErrorEquals": ["S3.NoSuchKeyException"], "Next": "Missing"}]
    definition["States"]["Missing"] = {"Type": "Pass", "Result": "missing", "End": True}
    done = run(orch, "S3Missing", definition, {})
    assert (done.status, done.output) == ("SUCCEEDED", "missing")


def test_events_put_events_commits_to_the_bus(world: Any) -> None:
    orch, _, _, bus = world
    entries = [{"Source": "my.app", "DetailType": "Thing Happened", "Detail.$": "$"}]
    done = run(orch, "Events", task("arn:aws:states:::events:putEvents", {"Entries": entries}), {"k": "v"})
    assert done.status == "SUCCEEDED"
    assert done.output["FailedEntryCount"] == 0
    [(_, event)] = bus.pending()
    assert (event["source"], event["detail-type"], event["detail"]) == ("my.app", "Thing Happened", {"k": "v"})


def test_events_put_events_fills_the_envelope_and_names_the_execution(world: Any) -> None:
    orch, _, _, bus = world
    entries = [
        {"Source": "my.app", "DetailType": "Text", "Detail": '{"a": 1}', "Resources": ["arn:aws:s3:::b"]},
        {"Source": "my.app", "DetailType": "Object", "Detail": {"b": [2]}},
    ]
    done = run(orch, "EventsEnvelope", task("arn:aws:states:::events:putEvents", {"Entries": entries}), {})
    assert done.status == "SUCCEEDED" and done.output["FailedEntryCount"] == 0
    machine = orch.state_machine_arn("EventsEnvelope")
    events = [event for _, event in bus.pending()]
    assert [e["detail"] for e in events] == [{"a": 1}, {"b": [2]}]
    assert [e["id"] for e in events] == [e["EventId"] for e in done.output["Entries"]]
    for event in events:
        assert (event["account"], event["region"], event["version"]) == ("111111111111", "us-east-1", "0")
        assert event["time"] == orch.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    # Step Functions appends the execution's and the state machine's ARNs to every entry's Resources.
    assert events[0]["resources"] == ["arn:aws:s3:::b", done.arn, machine]
    assert events[1]["resources"] == [done.arn, machine]


def test_events_put_events_with_a_failed_entry_puts_the_others_then_fails(world: Any) -> None:
    orch, _, _, bus = world
    bus.create_bus("orders")
    entries = [
        {"Source": "my.app", "DetailType": "Good", "Detail": "{}", "EventBusName": "orders"},
        {"DetailType": "No source", "Detail": "{}"},
        {"Source": "my.app", "DetailType": "Not an object", "Detail": '"text"'},
        {"Source": "my.app", "DetailType": "No bus", "Detail": "{}", "EventBusName": "nowhere"},
    ]
    done = run(orch, "EventsFailed", task("arn:aws:states:::events:putEvents", {"Entries": entries}), {})
    assert (done.status, done.error) == ("FAILED", "EventBridge.FailedEntry")
    cause = json.loads(done.cause)
    assert cause["FailedEntryCount"] == 3
    good, no_source, malformed, no_bus = cause["Entries"]
    assert no_source == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
    assert malformed == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert no_bus["ErrorCode"] == "ResourceNotFoundException"
    [(_, event)] = bus.pending()
    assert event["id"] == good["EventId"] and event["detail-type"] == "Good"


def test_events_put_events_refuses_a_request_of_no_entries(world: Any) -> None:
    orch, _, _, bus = world
    done = run(orch, "EventsNone", task("arn:aws:states:::events:putEvents", {"Entries": []}), {})
    assert (done.status, done.error) == ("FAILED", "EventBridge.ValidationException")
    assert bus.pending() == []


def test_put_events_run_again_after_a_crash_puts_nothing_twice_and_fails_alike(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    bus = SqliteEventBus(db, FakeClock())
    invoker = LocalFunctionInvoker([], mode="thread")
    runner = TaskRunner(invoker, SqliteTopic(db, tmp_path / "outbox.jsonl", FakeClock()), events=bus, journal=SqliteTaskJournal(db))
    entries = [{"Source": "my.app", "DetailType": "Good", "Detail": "{}"}, {"Source": "my.app", "DetailType": "Bad", "Detail": "[]"}]
    command = InvokeTask(
        "token-1",
        "arn:aws:states:::events:putEvents",
        {"Entries": entries},
        "Put",
        idempotency_key="arn:aws:states:us-east-1:111111111111:execution:M:run-1#token-1",
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:M:run-1",
    )
    first, again = runner.run(command), runner.run(command)
    assert isinstance(first, TaskFailed) and isinstance(again, TaskFailed)
    assert (first.error, first.cause) == (again.error, again.cause) == ("EventBridge.FailedEntry", first.cause)
    assert len(bus.pending()) == 1
    invoker.close()
    db.close()


def test_start_execution_sync_2_waits_for_the_child(world: Any) -> None:
    orch, _, _, _ = world
    orch.register("Child", parser.parse({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}}}))
    parent = task(
        "arn:aws:states:::states:startExecution.sync:2",
        {"StateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:Child", "Input": {"n.$": "$.n"}},
    )
    done = run(orch, "Parent", parent, {"n": 7})
    assert done.status == "SUCCEEDED", done.cause
    assert done.output["Status"] == "SUCCEEDED"
    assert done.output["Output"] == {"got": 7}
    fire_and_forget = run(
        orch,
        "Parent2",
        task(
            "arn:aws:states:::states:startExecution",
            {"StateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:Child", "Input": {"n": 1}},
        ),
        {},
    )
    assert set(fire_and_forget.output) == {"ExecutionArn", "StartDate"}


def test_unsupported_resource_fails_clearly(world: Any) -> None:
    orch, _, _, _ = world
    done = run(orch, "Nope", task("arn:aws:states:::glue:startJobRun", {}), {})
    assert done.status == "FAILED"
    assert "not supported" in (done.cause or "")


def distributed(reader: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **more,
    }
    if reader is not None:
        state["ItemReader"] = reader
    return {"StartAt": "M", "States": {"M": state}}


def test_item_reader_csv_with_header_row_and_max_items(world: Any) -> None:
    orch, objects, _, _ = world
    objects.put("data-bucket", "in/people.csv", b'name;age\nada;36\n"lin; y";7\nbo;1\n')
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "CSVDelimiter": "SEMICOLON", "MaxItems": 2},
        "Parameters": {"Bucket": "data-bucket", "Key.$": "$.key"},
    }
    done = run(orch, "CsvReader", distributed(reader), {"key": "in/people.csv"})
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [{"name": "ada", "age": "36"}, {"name": "lin; y", "age": "7"}]


def test_item_reader_jsonl_with_batcher(world: Any) -> None:
    orch, objects, _, _ = world
    objects.put("data-bucket", "in/n.jsonl", b"".join(f'{{"n": {i}}}\n'.encode() for i in range(5)))
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"},
        "Parameters": {"Bucket": "data-bucket", "Key": "in/n.jsonl"},
    }
    batcher = {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}}
    done = run(orch, "Batches", distributed(reader, ItemBatcher=batcher), {"run": "r1"})
    assert done.status == "SUCCEEDED", done.cause
    assert [len(b["Items"]) for b in done.output] == [2, 2, 1]
    assert done.output[0] == {"Items": [{"n": 0}, {"n": 1}], "BatchInput": {"run": "r1"}}


def test_item_reader_list_objects(world: Any) -> None:
    orch, objects, _, _ = world
    for name in ("a", "b"):
        objects.put("data-bucket", f"listed/{name}.txt", name.encode())
    reader = {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "data-bucket", "Prefix": "listed/"}}
    done = run(orch, "Listing", distributed(reader, ItemSelector={"key.$": "$$.Map.Item.Value.Key"}), {})
    assert done.status == "SUCCEEDED", done.cause
    assert done.output == [{"key": "listed/a.txt"}, {"key": "listed/b.txt"}]


def test_item_reader_missing_object_fails_with_item_reader_failed(world: Any) -> None:
    orch, _, _, _ = world
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "data-bucket", "Key": "gone.json"},
    }
    done = run(orch, "Gone", distributed(reader), {})
    assert (done.status, done.error) == ("FAILED", "States.ItemReaderFailed")


def test_result_writer_writes_manifest_and_results(world: Any) -> None:
    orch, objects, _, _ = world
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "data-bucket", "Prefix": "out"},
        "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"},
    }
    definition = distributed(None, ItemsPath="$.items", ResultWriter=writer)
    done = run(orch, "Writer", definition, {"items": [{"a": 1}, {"a": 2}]})
    assert done.status == "SUCCEEDED", done.cause
    details = done.output["ResultWriterDetails"]
    assert done.output["MapRunArn"].startswith("arn:aws:states:us-east-1:111111111111:mapRun:Writer/M:")
    manifest = json.loads(objects.get("data-bucket", details["Key"]))
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    lines = objects.get("data-bucket", succeeded["Key"]).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"a": 1}, {"a": 2}]


def test_sqs_send_message_by_queue_url(world: Any) -> None:
    orch, _, _, _ = world
    params = {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/jobs",
        "MessageBody.$": "$",
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "job"}},
    }
    done = run(orch, "Sqs", task("arn:aws:states:::sqs:sendMessage", params), {"n": 1})
    assert done.status == "SUCCEEDED", done.cause
    [message] = orch.queues.receive("jobs")
    assert json.loads(message.body) == {"n": 1} and message.attributes == {"kind": "job"}
    assert done.output["MessageId"] == message.message_id
    missing = run(orch, "SqsMissing", task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": "https://x/1/nope", "MessageBody": "x"}), {})
    assert (missing.status, missing.error) == ("FAILED", "SQS.QueueDoesNotExistException")


def test_dynamodb_put_get_update_delete_with_conditions(world: Any) -> None:
    orch, _, _, _ = world
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "ResultPath": None,
                "Next": "PutAgain",
                "Parameters": {
                    "TableName": "Orders",
                    "Item": {"id": {"S.$": "$.id"}, "total": {"N": "10.5"}, "tags": {"L": [{"S": "a"}]}},
                    "ConditionExpression": "attribute_not_exists(id)",
                },
            },
            "PutAgain": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "ResultPath": "$.again",
                "Next": "Update",
                "Parameters": {"TableName": "Orders", "Item": {"id": {"S.$": "$.id"}}, "ConditionExpression": "attribute_not_exists(id)"},
                "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.again", "Next": "Update"}],
            },
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:updateItem",
                "ResultPath": "$.updated",
                "Next": "Get",
                "Parameters": {
                    "TableName": "Orders",
                    "Key": {"id": {"S.$": "$.id"}},
                    "UpdateExpression": "SET #s = :s REMOVE tags",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "PAID"}},
                    "ReturnValues": "ALL_NEW",
                },
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "ResultSelector": {"item.$": "$.Item"},
                "ResultPath": "$.got",
                "Next": "Delete",
                "Parameters": {"TableName": "Orders", "Key": {"id": {"S.$": "$.id"}}},
            },
            "Delete": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:deleteItem",
                "ResultPath": None,
                "End": True,
                "Parameters": {
                    "TableName": "Orders",
                    "Key": {"id": {"S.$": "$.id"}},
                    "ConditionExpression": "#s = :paid",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":paid": {"S": "PAID"}},
                },
            },
        },
    }
    done = run(orch, "Dynamo", definition, {"id": "o-1"})
    assert done.status == "SUCCEEDED", done.cause
    assert done.output["again"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert done.output["got"]["item"] == {"id": {"S": "o-1"}, "total": {"N": "10.5"}, "status": {"S": "PAID"}}
    assert done.output["updated"]["Attributes"]["status"] == {"S": "PAID"}
    gone = run(orch, "DynamoGone", task("arn:aws:states:::dynamodb:getItem", {"TableName": "Orders", "Key": {"id": {"S": "o-1"}}}), {})
    assert "Item" not in gone.output
    unknown = run(orch, "DynamoUnknown", task("arn:aws:states:::dynamodb:getItem", {"TableName": "Nope", "Key": {"id": {"S": "x"}}}), {})
    assert unknown.error == "DynamoDB.ResourceNotFoundException"


def test_attribute_values_round_trip() -> None:
    value = {"s": "x", "n": 3, "f": 2.5, "b": True, "z": None, "l": [1, "a"], "m": {"k": [False]}}
    assert from_attribute(to_attribute(value)) == value
    assert from_attribute({"SS": ["b", "a"]}) == ["a", "b"]


def test_a_stop_while_a_sync_child_runs_ends_at_once_and_the_next_start_waits_for_the_same_child(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    invoker = LocalFunctionInvoker([FunctionSpec("Echo", "json.loads")], mode="thread")
    topic = SqliteTopic(db, tmp_path / "outbox.jsonl", FakeClock())
    # The child waits for a callback: it runs until the test answers, whatever the machine's speed.
    child = task("arn:aws:states:::sns:publish.waitForTaskToken", {"TopicArn": "callbacks", "Message.$": "$$.Task.Token"})

    def orchestrator() -> LocalOrchestrator:
        runner = TaskRunner(invoker, topic, journal=SqliteTaskJournal(db))
        orch = LocalOrchestrator(SqliteExecutionStore(db), runner.run, SystemClock())
        orch.register("Child", parser.parse(child))
        arn = orch.state_machine_arn("Child")
        orch.register("Parent", parser.parse(task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": arn, "Input": {}})))
        return orch

    first = orchestrator()
    first.start()
    parent = first.start_execution("Parent", {}, name="parent")
    deadline = time.monotonic() + 30
    while not topic.messages():
        assert time.monotonic() < deadline, "the child never asked for its callback"
        time.sleep(0.01)
    closing = threading.Thread(target=first.close, kwargs={"grace_s": 30})
    closing.start()
    closing.join(timeout=30)
    assert not closing.is_alive(), "the stop hung on the .sync wait"
    first.join_tasks()
    store = SqliteExecutionStore(db)
    assert store.get(parent.arn).status == "RUNNING"
    assert "TaskFailed" not in json.dumps(store.history(parent.arn))  # the stop committed no outcome

    with orchestrator() as second:  # the next start: the parent's task runs again and finds the same child
        [token] = [m.message for m in topic.messages()]  # the journal kept the child from asking twice
        second.send_task_success(token, {"answer": 42})
        done = second.wait(parent.arn, timeout=30)
    assert done.status == "SUCCEEDED" and done.output["Output"] == {"answer": 42}
    assert [r.state_machine for r in store.list()].count("Child") == 1
    invoker.close()
    db.close()


def test_events_put_events_refuses_resources_that_are_not_a_list(world: Any) -> None:
    orch, _, _, bus = world
    entries = [{"Source": "my.app", "DetailType": "Odd", "Detail": "{}", "Resources": ""}]
    done = run(orch, "EventsOddResources", task("arn:aws:states:::events:putEvents", {"Entries": entries}), {})
    assert (done.status, done.error) == ("FAILED", "EventBridge.SerializationException")
    assert bus.pending() == []
