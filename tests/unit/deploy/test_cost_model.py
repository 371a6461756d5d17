"""Counting billable units from histories, fitting durations, and pricing a month."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sluiceway.deploy.cost import (
    DAYS_PER_MONTH,
    Workload,
    estimate,
    fit_durations,
    parse_size,
)
from sluiceway.deploy.prices import PriceTable
from sluiceway.deploy.usage import RunUsage, measure_run, workflow_tasks
from sluiceway.ports import ExecutionRecord

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ARN = "arn:aws:lambda:us-east-1:111111111111:function:"

PRICES = PriceTable.model_validate(
    {
        "region": "test-1",
        "retrieved": "2026-11-24",
        "stepfunctions": {
            "standard_per_1000_transitions": 0.025,
            "express_per_million_requests": 1.0,
            "express_per_gb_second": 0.00001667,
        },
        "lambda": {"per_million_requests": 0.2, "per_gb_second_x86": 0.0000166667},
        "s3": {"put_per_1000": 0.005, "get_per_1000": 0.0004, "standard_per_gb_month": 0.023},
        "dynamodb": {
            "per_million_write_request_units": 0.625,
            "per_million_read_request_units": 0.125,
        },
        "sns": {"per_million_publishes": 0.5, "email_per_100000": 2.0},
        "sqs": {"per_million_requests": 0.4},
        "eventbridge": {"aws_service_events_per_million": 0.0, "custom_events_per_million": 1.0},
        "cloudwatch": {"alarm_per_month": 0.1, "logs_ingestion_per_gb": 0.5},
        "xray": {"per_million_traces_recorded": 5.0},
        "kms": {"key_per_month": 1.0, "per_10000_requests": 0.03},
    }
)


class History:
    """Builds a history in AWS's shapes, one path at a time, with a clock in milliseconds."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.ms = 0.0

    def emit(
        self,
        kind: str,
        details_key: str | None = None,
        details: dict[str, Any] | None = None,
        previous: int | None = None,
    ) -> int:
        event: dict[str, Any] = {
            "id": len(self.events) + 1,
            "previousEventId": previous if previous is not None else len(self.events),
            "timestamp": (T0 + timedelta(milliseconds=self.ms))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "type": kind,
        }
        if details_key:
            event[details_key] = details or {}
        self.events.append(event)
        return int(event["id"])

    def enter(self, kind: str, name: str, payload: str = "{}") -> None:
        self.emit(
            f"{kind}StateEntered", "stateEnteredEventDetails", {"name": name, "input": payload}
        )

    def exit(self, kind: str, name: str) -> None:
        self.emit(f"{kind}StateExited", "stateExitedEventDetails", {"name": name})

    def lambda_call(self, function: str, ms: float, *, fail: bool = False) -> None:
        scheduled = self.emit(
            "LambdaFunctionScheduled",
            "lambdaFunctionScheduledEventDetails",
            {"resource": ARN + function},
        )
        started = self.emit("LambdaFunctionStarted", previous=scheduled)
        self.ms += ms
        kind = "LambdaFunctionFailed" if fail else "LambdaFunctionSucceeded"
        self.emit(
            kind,
            "lambdaFunctionFailedEventDetails" if fail else "lambdaFunctionSucceededEventDetails",
            {},
            previous=started,
        )

    def publish(self) -> None:
        self.emit(
            "TaskScheduled",
            "taskScheduledEventDetails",
            {"resourceType": "sns", "resource": "publish"},
        )
        self.emit(
            "TaskStarted", "taskStartedEventDetails", {"resourceType": "sns", "resource": "publish"}
        )
        self.emit(
            "TaskSucceeded",
            "taskSucceededEventDetails",
            {"resourceType": "sns", "resource": "publish"},
        )


def successful_run(
    size: int, chunks: int, *, validate_ms: float, chunk_ms: float, retry_validate: bool = False
) -> tuple[ExecutionRecord, list[dict[str, Any]]]:
    h = History()
    h.emit("ExecutionStarted", "executionStartedEventDetails", {})
    h.enter("Task", "ValidateData")
    if retry_validate:
        h.lambda_call("ValidateData", 3, fail=True)
    h.lambda_call("ValidateData", validate_ms)
    h.exit("Task", "ValidateData")
    h.enter("Map", "ProcessChunks")
    for index in range(chunks):
        h.emit(
            "MapIterationStarted",
            "mapIterationStartedEventDetails",
            {"name": "ProcessChunks", "index": index},
        )
        h.enter("Task", "ProcessChunk")
        h.lambda_call("ProcessChunk", chunk_ms)
        h.exit("Task", "ProcessChunk")
        h.emit(
            "MapIterationSucceeded",
            "mapIterationSucceededEventDetails",
            {"name": "ProcessChunks", "index": index},
        )
    h.exit("Map", "ProcessChunks")
    for name in ("AggregateData", "StoreResults"):
        h.enter("Task", name)
        h.lambda_call(name, 5)
        h.exit("Task", name)
    h.enter("Task", "NotifySuccess")
    h.publish()
    h.exit("Task", "NotifySuccess")
    h.emit("ExecutionSucceeded", "executionSucceededEventDetails", {})
    record = ExecutionRecord(
        arn=f"arn:aws:states:us-east-1:111111111111:execution:DataProcessingWorkflow:r{size}",
        name=f"r{size}",
        state_machine="DataProcessingWorkflow",
        status="SUCCEEDED",
        input={"detail": {"bucket": {"name": "in"}, "object": {"key": "f.csv", "size": size}}},
        started_at=T0,
    )
    return record, h.events


def test_the_workflow_maps_states_to_functions_and_knows_the_map_body() -> None:
    tasks, inner = workflow_tasks()
    assert tasks == {
        "ValidateData": "ValidateData",
        "ProcessChunk": "ProcessChunk",
        "AggregateData": "AggregateData",
        "StoreResults": "StoreResults",
        "ErrorHandler": "ErrorHandler",
    }
    assert inner == {"ProcessChunk"}


def test_a_run_is_counted_as_aws_bills_it() -> None:
    record, history = successful_run(
        3 * 2**20, 3, validate_ms=40.2, chunk_ms=100, retry_validate=True
    )
    usage = measure_run(record, history, metadata_item={"ExecutionId": "x", "Padding": "p" * 2000})
    # ValidateData, ProcessChunks, 3 x ProcessChunk, AggregateData, StoreResults, NotifySuccess; plus one retry.
    assert usage.transitions == 8 + 1
    assert usage.chunk_transitions == 3 and usage.chunks == 3
    assert usage.invocations == {
        "ValidateData": 2,
        "ProcessChunk": 3,
        "AggregateData": 1,
        "StoreResults": 1,
    }
    # 3 ms for the failed attempt; 40.2 ms rounds up to 41 (the history keeps milliseconds: 40 -> 40).
    assert usage.billed_ms["ValidateData"] == 3 + 40
    assert usage.billed_ms["ProcessChunk"] == 300
    assert usage.map_wall_ms == 300  # one chunk after the other
    assert usage.sns_publishes == 1
    assert usage.input_bytes == 3 * 2**20
    assert usage.duration_ms == pytest.approx(3 + 40 + 300 + 5 + 5)
    assert usage.metadata_item_bytes is not None and usage.metadata_item_bytes > 2000
    assert (
        usage.chunk_events == 3 * 7
    )  # iteration started/succeeded, entered/exited, scheduled/started/succeeded


def test_durations_fit_a_fixed_and_a_per_byte_part() -> None:
    runs = [
        measure_run(
            *successful_run(
                size,
                chunks,
                validate_ms=20 + 8 * size / 2**20,
                chunk_ms=10 + 100 * size / chunks / 2**20,
            )
        )
        for size, chunks in ((2**20, 1), (5 * 2**19, 3))
    ]
    models = fit_durations(runs)
    assert models["ValidateData"].fitted
    assert models["ValidateData"].per_invocation_ms == pytest.approx(20, abs=0.5)
    assert models["ValidateData"].per_byte_ms * 2**20 == pytest.approx(8, abs=0.5)
    assert models["ProcessChunk"].per_invocation_ms == pytest.approx(10, abs=0.5)
    assert models["ProcessChunk"].per_byte_ms * 2**20 == pytest.approx(100, abs=0.5)
    assert models["StoreResults"].per_byte_ms == pytest.approx(0, abs=1e-9)


def test_with_one_size_input_readers_scale_with_size_and_the_rest_stays_fixed() -> None:
    runs = [measure_run(*successful_run(2**20, 1, validate_ms=50, chunk_ms=100))]
    models = fit_durations(runs)
    assert not models["ValidateData"].fitted
    assert models["ValidateData"].at(1, 2 * 2**20) == pytest.approx(100)
    assert models["StoreResults"].at(1, 2 * 2**20) == pytest.approx(5)


def workload(**overrides: Any) -> Workload:
    values: dict[str, Any] = {
        "files_per_day": 100,
        "avg_size_bytes": None,
        "memory_mb": 1024,
        "chunk_size_bytes": 2**20,
        "max_concurrency": 4,
    }
    values.update(overrides)
    return Workload(**values)


def test_a_month_at_the_measured_size_is_priced_line_by_line() -> None:
    run = measure_run(*successful_run(2**20, 1, validate_ms=50, chunk_ms=100))
    result = estimate([run], workload(), PRICES)
    files = 100 * DAYS_PER_MONTH
    lines = {line.service: line for line in result.lines}
    assert result.files_per_month == pytest.approx(files)
    assert lines["Step Functions"].standard == pytest.approx(run.transitions * files / 1000 * 0.025)
    invocations = sum(run.invocations.values()) * files
    gb_seconds = sum(run.billed_ms.values()) * files / 1000
    assert lines["Lambda"].standard == pytest.approx(
        invocations / 1e6 * 0.2 + gb_seconds * 0.0000166667
    )
    # Express: one request per run, the run's time rounded up to 100 ms at 64 MB.
    express_ms = math.ceil(run.duration_ms / 100) * 100
    assert lines["Step Functions"].express == pytest.approx(
        files / 1e6 + files * express_ms / 1000 * 64 / 1024 * 0.00001667
    )
    assert lines["SNS"].standard == pytest.approx(files / 1e6 * 0.5 + files / 1e5 * 2.0)
    assert lines["EventBridge"].standard == 0
    assert lines["KMS"].standard == 1.0
    assert lines["CloudWatch"].standard > 7 * 0.1
    assert result.total_standard == pytest.approx(sum(line.standard for line in result.lines))
    assert result.total_express == pytest.approx(sum(line.express for line in result.lines))
    assert result.total_express < result.total_standard


def test_a_larger_average_size_means_more_chunks_and_time() -> None:
    runs = [
        measure_run(
            *successful_run(
                size,
                chunks,
                validate_ms=20 + 8 * size / 2**20,
                chunk_ms=10 + 100 * size / chunks / 2**20,
            )
        )
        for size, chunks in ((2**20, 1), (5 * 2**19, 3))
    ]
    small = estimate(runs, workload(avg_size_bytes=2**20), PRICES)
    large = estimate(runs, workload(avg_size_bytes=10 * 2**20), PRICES)
    assert small.profile.chunks == 1 and large.profile.chunks == 10
    assert large.profile.invocations["ProcessChunk"] == 10
    assert large.profile.billed_ms["ProcessChunk"] == pytest.approx(10 * 10 + 100 * 10, rel=0.01)
    assert large.profile.transitions == pytest.approx(small.profile.transitions + 9)
    # 10 chunks, 4 at a time: the Map's share of the run's time is about a quarter of the chunks' time.
    assert large.profile.duration_ms == pytest.approx(20 + 80 + 1100 / 4 + 10, rel=0.02)
    assert large.profile.s3_put > small.profile.s3_put


def test_failed_runs_stay_in_the_mix() -> None:
    ok = measure_run(*successful_run(2**20, 1, validate_ms=50, chunk_ms=100))
    failed = RunUsage(
        name="bad",
        status="FAILED",
        input_bytes=2**20,
        duration_ms=30,
        transitions=4,
        chunk_transitions=0,
        chunks=0,
        history_events=17,
        chunk_events=0,
        invocations={"ValidateData": 1, "ErrorHandler": 1},
        billed_ms={"ValidateData": 10, "ErrorHandler": 20},
        sns_publishes=1,
        max_payload_bytes=500,
    )
    result = estimate([ok, failed], workload(), PRICES)
    assert result.failed_runs == 1
    assert result.profile.transitions == pytest.approx((ok.transitions + 4) / 2)
    assert result.profile.invocations["ErrorHandler"] == pytest.approx(0.5)


def test_nothing_to_measure_is_an_error() -> None:
    with pytest.raises(ValueError, match="no recorded runs"):
        estimate([], workload(), PRICES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512", 512),
        ("200KB", 200_000),
        ("10MB", 10_000_000),
        ("10MiB", 10 * 2**20),
        ("1.5GiB", int(1.5 * 2**30)),
        ("3 mb", 3_000_000),
    ],
)
def test_sizes_read_with_their_units(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "5 parsecs", "-3MB"])
def test_a_size_without_a_number_or_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)
