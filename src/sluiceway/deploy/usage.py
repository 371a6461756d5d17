"""What a recorded local run would be billed for on AWS, counted from its history.

The local store keeps every execution's history in AWS's event shapes, so the
quantities AWS bills can be counted from it: state transitions (retries
included), Lambda invocations and their durations (rounded up to 1 ms each, as
Lambda bills), SNS publishes, the chunks a file was split into, the execution's
wall time (what Express workflows bill) and the metadata record's size
(DynamoDB write units). :mod:`sluiceway.deploy.cost` scales and prices them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..apps.builtin import PIPELINE_FUNCTIONS, workflow_text
from ..ports import ExecutionRecord, ExecutionStore, MetadataTable

__all__ = ["RunUsage", "measure_local", "measure_run", "workflow_tasks"]

_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_LAMBDA_DONE = frozenset({"LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut"})
_EXECUTION_DONE = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


def workflow_tasks(definition: str | None = None) -> tuple[dict[str, str], frozenset[str]]:
    """Which function each Task state invokes, and the states that run once per Map item.

    Returns:
        (state name -> function name for states whose resource is one of the pipeline's
        functions, names of states inside a Map's ItemProcessor).
    """
    doc = json.loads(definition if definition is not None else workflow_text())
    tasks: dict[str, str] = {}
    inner: set[str] = set()

    def walk(states: Mapping[str, Any], in_map: bool) -> None:
        for name, state in states.items():
            if in_map:
                inner.add(name)
            resource = str(state.get("Resource", ""))
            for function in PIPELINE_FUNCTIONS:
                if resource == f"${{{function.name}FunctionArn}}":
                    tasks[name] = function.name
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if state.get("Type") == "Map" and isinstance(processor, Mapping):
                walk(processor.get("States", {}), True)
            for branch in state.get("Branches", []) or []:
                walk(branch.get("States", {}), in_map)

    walk(doc.get("States", {}), False)
    return tasks, frozenset(inner)


@dataclass(frozen=True)
class RunUsage:
    """What one recorded run used, counted from its history."""

    name: str
    status: str
    input_bytes: int | None
    """The input object's size from the S3 event, when the event carried one."""
    duration_ms: float
    """ExecutionStarted to the execution's end."""
    transitions: int
    """Billed state transitions: states entered plus task retries."""
    chunk_transitions: int
    """The part of ``transitions`` inside the Map (once per chunk)."""
    chunks: int
    history_events: int
    chunk_events: int
    invocations: Mapping[str, int]
    """Lambda invocations per function (retries included)."""
    billed_ms: Mapping[str, int]
    """Lambda billed milliseconds per function (each invocation rounded up to 1 ms)."""
    sns_publishes: int
    max_payload_bytes: int
    metadata_item_bytes: int | None = None
    map_wall_ms: float = 0.0
    """Wall time during which functions inside the Map ran (their intervals' union)."""


def _timestamp(event: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))


def _union_ms(intervals: Sequence[tuple[datetime, datetime]]) -> float:
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for begin, finish in sorted(intervals):
        if current is None or begin > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds() * 1000
            current = (begin, finish)
        else:
            current = (current[0], max(current[1], finish))
    if current is not None:
        total += (current[1] - current[0]).total_seconds() * 1000
    return total


def _function_of(resource: str) -> str:
    return resource.rsplit(":", 1)[-1]


def measure_run(
    record: ExecutionRecord,
    history: Sequence[Mapping[str, Any]],
    *,
    metadata_item: Mapping[str, Any] | None = None,
    definition: str | None = None,
) -> RunUsage:
    """Count what a recorded run would be billed for.

    Args:
        record: the execution.
        history: its events in order (AWS's shapes).
        metadata_item: the run's record in the metadata table, for its size.
        definition: the ASL text (the packaged workflow when None).
    """
    tasks, inner = workflow_tasks(definition)
    inner_functions = {tasks[state] for state in inner if state in tasks}
    by_id = {int(event["id"]): event for event in history if "id" in event}
    entered = Counter[str]()
    inner_entered = 0
    task_entered = 0
    inner_task_entered = 0
    invocations = Counter[str]()
    billed = Counter[str]()
    scheduled = 0
    sns = 0
    chunks = 0
    inner_lambda_events = 0
    map_events = 0
    max_payload = 0
    inner_intervals: list[tuple[datetime, datetime]] = []
    start = end = None
    for event in history:
        kind = str(event.get("type", ""))
        if kind == "ExecutionStarted":
            start = _timestamp(event)
        elif kind in _EXECUTION_DONE:
            end = _timestamp(event)
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            state = str(details.get("name", ""))
            entered[state] += 1
            max_payload = max(max_payload, len(str(details.get("input", "")).encode()))
            if kind == "TaskStateEntered":
                task_entered += 1
            if state in inner:
                inner_entered += 1
                if kind == "TaskStateEntered":
                    inner_task_entered += 1
        elif kind.endswith("StateExited") and str((event.get("stateExitedEventDetails") or {}).get("name", "")) in inner:
            map_events += 1
        elif kind.startswith("MapIteration"):
            map_events += 1
            if kind == "MapIterationStarted":
                chunks += 1
        elif kind == "LambdaFunctionScheduled":
            scheduled += 1
            function = _function_of(str((event.get("lambdaFunctionScheduledEventDetails") or {}).get("resource", "")))
            invocations[function] += 1
            if function in inner_functions:
                inner_lambda_events += 3  # scheduled, started, and how it ended
        elif kind == "TaskScheduled":
            scheduled += 1
            details = event.get("taskScheduledEventDetails") or {}
            if details.get("resourceType") == "sns" and str(details.get("resource", "")).startswith("publish"):
                sns += 1
        elif kind in _LAMBDA_DONE:
            started = by_id.get(int(event.get("previousEventId", -1)))
            if started is not None and started.get("type") == "LambdaFunctionStarted":
                scheduled_event = by_id.get(int(started.get("previousEventId", -1)))
                resource = ((scheduled_event or {}).get("lambdaFunctionScheduledEventDetails") or {}).get("resource", "")
                elapsed = (_timestamp(event) - _timestamp(started)).total_seconds() * 1000
                function = _function_of(str(resource))
                billed[function] += max(1, math.ceil(elapsed))
                if function in inner_functions:
                    inner_intervals.append((_timestamp(started), _timestamp(event)))
    retries = max(0, scheduled - task_entered)
    inner_invocations = sum(invocations[f] for f in inner_functions)
    inner_retries = max(0, inner_invocations - inner_task_entered)
    duration = (end - start).total_seconds() * 1000 if start is not None and end is not None else 0.0
    detail = record.input.get("detail", {}) if isinstance(record.input, Mapping) else {}
    size = (detail.get("object") or {}).get("size") if isinstance(detail, Mapping) else None
    item_bytes = len(json.dumps(metadata_item, separators=(",", ":"), default=str).encode()) if metadata_item else None
    return RunUsage(
        name=record.name,
        status=record.status,
        input_bytes=int(size) if isinstance(size, int | float) else None,
        duration_ms=duration,
        transitions=sum(entered.values()) + retries,
        chunk_transitions=inner_entered + inner_retries,
        chunks=chunks,
        history_events=len(history),
        chunk_events=inner_entered + map_events + inner_lambda_events,
        invocations=dict(invocations),
        billed_ms=dict(billed),
        map_wall_ms=_union_ms(inner_intervals),
        sns_publishes=sns,
        max_payload_bytes=max_payload,
        metadata_item_bytes=item_bytes,
    )


def measure_local(executions: ExecutionStore, table: MetadataTable, state_machine: str, *, limit: int = 1000) -> list[RunUsage]:
    """The recorded runs of ``state_machine`` in a local store, newest first.

    Args:
        executions: the executions (and their histories) to read.
        table: the metadata table, for each run's stored item.
        state_machine: the pipeline's state machine name.
        limit: at most this many recent executions.
    """
    runs = []
    for record in executions.list(limit=limit):
        if record.state_machine != state_machine or record.status not in _TERMINAL:
            continue
        item = table.get({"ExecutionId": record.arn})
        runs.append(measure_run(record, executions.history(record.arn), metadata_item=item))
    return runs
