"""One pipe batch through enrichment and target, against recorded calls (no endpoint)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.runtime.pipes.flow import PipeBatchError, PipeFlow, PipeSpec

SOURCE = "arn:aws:sqs:us-east-1:111111111111:in"
RECORDS = [{"messageId": "m-1", "body": "one", "eventSource": "aws:sqs"}, {"messageId": "m-2", "body": "two", "eventSource": "aws:sqs"}]


class Calls:
    def __init__(self, answers: dict[str, Any] | None = None, refuse: set[str] | None = None) -> None:
        self.made: list[tuple[str, str, dict[str, Any]]] = []
        self.answers = answers or {}
        self.refuse = refuse or set()

    def __call__(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.made.append((service, operation, params))
        if params.get("MessageBody") in self.refuse:
            raise RuntimeError("refused")
        answer = self.answers.get(operation, {})
        return answer(params) if callable(answer) else answer


def _flow(target: str, calls: Calls, **more: Any) -> PipeFlow:
    spec = PipeSpec(name="p", arn="arn:aws:pipes:us-east-1:111111111111:pipe/p", source=SOURCE, target=target, **more)
    return PipeFlow(spec, calls, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))


def test_a_queue_target_gets_one_message_a_record_and_failures_name_their_records() -> None:
    calls = Calls(refuse={json.dumps(RECORDS[1])})
    flow = _flow("arn:aws:sqs:us-east-1:111111111111:out", calls)
    assert flow.run(RECORDS, ["m-1", "m-2"]) == {"m-2"}
    assert [c[2]["QueueUrl"] for c in calls.made] == ["https://sqs.us-east-1.amazonaws.com/111111111111/out"] * 2


def test_a_function_target_gets_the_batch_as_an_array_and_reports_failures() -> None:
    calls = Calls({"Invoke": {"StatusCode": 200, "Payload": json.dumps({"batchItemFailures": [{"itemIdentifier": "m-1"}]}).encode()}})
    flow = _flow("arn:aws:lambda:us-east-1:111111111111:function:f", calls)
    assert flow.run(RECORDS, ["m-1", "m-2"]) == {"m-1"}
    [(_, _, params)] = calls.made
    assert json.loads(params["Payload"]) == RECORDS and params["InvocationType"] == "RequestResponse"


def test_a_failed_function_or_an_unreadable_report_fails_the_batch() -> None:
    failing = Calls({"Invoke": {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": b"{}"}})
    with pytest.raises(PipeBatchError):
        _flow("arn:aws:lambda:us-east-1:111111111111:function:f", failing).run(RECORDS, ["m-1", "m-2"])
    unknown = Calls({"Invoke": {"StatusCode": 200, "Payload": json.dumps({"batchItemFailures": [{"itemIdentifier": "zz"}]}).encode()}})
    with pytest.raises(PipeBatchError):
        _flow("arn:aws:lambda:us-east-1:111111111111:function:f", unknown).run(RECORDS, ["m-1", "m-2"])


def test_an_empty_enrichment_answer_ends_the_batch_without_the_target() -> None:
    calls = Calls({"Invoke": {"StatusCode": 200, "Payload": b"[]"}})
    flow = _flow("arn:aws:sqs:us-east-1:111111111111:out", calls, enrichment="arn:aws:lambda:us-east-1:111111111111:function:e")
    assert flow.run(RECORDS, ["m-1", "m-2"]) == set()
    assert [c[1] for c in calls.made] == ["Invoke"]


def test_a_bus_target_names_the_pipe_and_the_source_unless_told_otherwise() -> None:
    calls = Calls({"PutEvents": {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}, {"EventId": "2"}]}})
    flow = _flow("arn:aws:events:us-east-1:111111111111:event-bus/b", calls)
    assert flow.run(RECORDS, ["m-1", "m-2"]) == set()
    [(_, _, params)] = calls.made
    assert [(e["Source"], e["DetailType"]) for e in params["Entries"]] == [("Pipe p", "Event from aws:sqs")] * 2
