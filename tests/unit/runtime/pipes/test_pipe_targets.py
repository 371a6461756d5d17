"""What a pipe's target gets: batch limits after an enrichment, dynamic path parameters, templates
that are not JSON, and a stream pipe's dead-letter record."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.ports import Invocation
from sluiceway.runtime.pipes.dead_letter import pipe_failure_record
from sluiceway.runtime.pipes.flow import PipeBatchError, PipeFlow, PipeSpec
from sluiceway.runtime.pipes.runs import PipeInvoker, pipe_function

PIPE = "arn:aws:pipes:us-east-1:111111111111:pipe/p"
SOURCE = "arn:aws:sqs:us-east-1:111111111111:in"
QUEUE = "arn:aws:sqs:us-east-1:111111111111:out.fifo"
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:f"
RECORDS = [
    {"messageId": "m-1", "body": json.dumps({"g": "red", "key": "value"}), "eventSource": "aws:sqs"},
    {"messageId": "m-2", "body": json.dumps({"g": "blue", "key": "other"}), "eventSource": "aws:sqs"},
]


class Calls:
    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.made: list[tuple[str, str, dict[str, Any]]] = []
        self.answers = answers or {}

    def __call__(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.made.append((service, operation, params))
        return self.answers.get(operation, {})


def _flow(target: str, calls: Calls, **more: Any) -> PipeFlow:
    spec = PipeSpec(name="p", arn=PIPE, source=SOURCE, target=target, **more)
    return PipeFlow(spec, calls, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))


def test_an_enrichment_answering_more_events_than_the_target_takes_fails_the_batch() -> None:
    eleven = json.dumps([{"n": n} for n in range(11)]).encode()
    calls = Calls({"Invoke": {"StatusCode": 200, "Payload": eleven}})
    with pytest.raises(PipeBatchError, match="more than the target"):
        _flow(QUEUE, calls, enrichment=FUNCTION).run(RECORDS, ["m-1", "m-2"])
    assert [operation for _, operation, _ in calls.made] == ["Invoke"]  # the target is not called


def test_target_parameters_that_are_json_paths_are_read_from_each_event() -> None:
    calls = Calls()
    params = {"SqsQueueParameters": {"MessageGroupId": "$.body.g", "MessageDeduplicationId": "$.messageId"}}
    assert _flow(QUEUE, calls, target_parameters=params).run(RECORDS, ["m-1", "m-2"]) == set()
    sent = [(p["MessageGroupId"], p["MessageDeduplicationId"]) for _, _, p in calls.made]
    assert sent == [("red", "m-1"), ("blue", "m-2")]


def test_bus_and_log_parameters_read_paths_too() -> None:
    calls = Calls({"PutEvents": {"Entries": [{}, {}]}})
    params = {"EventBridgeEventBusParameters": {"Source": "$.body.g", "DetailType": "fixed"}}
    _flow("arn:aws:events:us-east-1:111111111111:event-bus/b", calls, target_parameters=params).run(RECORDS, ["m-1", "m-2"])
    [(_, _, put)] = calls.made
    assert [(e["Source"], e["DetailType"]) for e in put["Entries"]] == [("red", "fixed"), ("blue", "fixed")]
    logs = Calls()
    params = {"CloudWatchLogsParameters": {"LogStreamName": "$.body.g"}}
    _flow("arn:aws:logs:us-east-1:111111111111:log-group:g", logs, target_parameters=params).run(RECORDS, ["m-1", "m-2"])
    assert [p["logStreamName"] for _, _, p in logs.made] == ["red", "blue"]


def test_a_json_body_placed_as_text_loses_its_quotes_and_fails_a_function_target() -> None:
    queue = Calls()
    _flow(QUEUE, queue, target_parameters={"InputTemplate": "<$.body>"}).run(RECORDS[:1], ["m-1"])
    assert queue.made[0][2]["MessageBody"] == "{g:red,key:value}"  # as the Pipes user guide warns
    function = Calls()
    with pytest.raises(PipeBatchError, match="valid JSON"):
        _flow(FUNCTION, function, target_parameters={"InputTemplate": "<$.body>"}).run(RECORDS[:1], ["m-1"])
    assert function.made == []
    wrapped = Calls({"Invoke": {"StatusCode": 200, "Payload": b"null"}})
    _flow(FUNCTION, wrapped, target_parameters={"InputTemplate": '{"data": <$.body>}'}).run(RECORDS[:1], ["m-1"])
    assert json.loads(wrapped.made[0][2]["Payload"]) == [{"data": {"g": "red", "key": "value"}}]


def test_a_stream_pipes_dead_letter_record_names_the_pipe() -> None:
    records = [
        {"eventID": "e1", "dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": 1767225600}},
        {"eventID": "e2", "dynamodb": {"SequenceNumber": "101", "ApproximateCreationDateTime": 1767225601}},
    ]
    stream = "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2026-01-01T00:00:00.000"
    document = pipe_failure_record(PIPE)(
        records=records,
        condition="RetryAttemptsExhausted",
        function_arn="unused",
        request_id="r",
        invoke_count=3,
        shard_id="shardId-1",
        stream_arn=stream,
        result=None,
        now=datetime(2026, 1, 1, 0, 0, 5, 123000, tzinfo=UTC),
    )
    assert document == {
        "context": {"partnerResourceArn": PIPE, "condition": "RetryAttemptsExhausted"},
        "version": "1.0",
        "timestamp": "2026-01-01T00:00:05.123Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "101",
            "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00Z",
            "approximateArrivalOfLastRecord": "2026-01-01T00:00:01Z",
            "batchSize": 2,
            "streamArn": stream,
        },
    }


def test_the_invoker_knows_pipes_by_arn_and_tells_when_no_batch_runs() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        release.wait(10)
        return {}

    invoker = PipeInvoker()
    east = PipeSpec(name="p", arn=PIPE, source=SOURCE, target=QUEUE)
    west = PipeSpec(name="p", arn=PIPE.replace("us-east-1", "eu-west-1"), source=SOURCE, target=QUEUE)
    invoker.put(PipeFlow(east, slow, now=lambda: datetime(2026, 1, 1, tzinfo=UTC)))
    invoker.put(PipeFlow(west, Calls(), now=lambda: datetime(2026, 1, 1, tzinfo=UTC)))
    invoker.drop(west.arn)
    assert invoker.knows(pipe_function(east.arn)) and not invoker.knows(pipe_function(west.arn))
    worker = threading.Thread(target=invoker.invoke, args=(Invocation(pipe_function(east.arn), {"Records": RECORDS[:1]}, "r"),))
    worker.start()
    assert entered.wait(10)
    assert not invoker.wait_idle(0.01)
    release.set()
    assert invoker.wait_idle(10)
    worker.join(10)


def test_a_stream_pipes_mapping_sends_pipes_record_and_is_known_by_the_pipe_arn() -> None:
    from sluiceway.runtime.pipes.runs import stream_mapping

    spec = PipeSpec(
        name="p",
        arn=PIPE,
        source="arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2026-01-01T00:00:00.000",
        target=QUEUE,
        source_parameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST"}},
    )
    mapping = stream_mapping(spec)
    assert mapping.function == pipe_function(PIPE) and mapping.function_name == pipe_function(PIPE)
    assert mapping.failure_record is not None
