"""An execution as the console draws it: its state machine laid out, each state with its outcome.

The definition is DescribeStateMachineForExecution's (the one the execution ran), the outcomes come
from GetExecutionHistory read to its end, so the graph of an old execution does not change when its
state machine does. A Distributed Map's iterations are child executions, counted by DescribeMapRun.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from ...console import graph as layout
from ...console.outcomes import Iterations, StateOutcome, from_history
from ..aws import Aws, AwsCallError, ServiceNotServedError
from ..errors import ApiError
from ..schemas import ExecutionStatus
from ._deps import AwsApi, Viewer, errors

__all__ = ["ExecutionGraph", "GraphEdge", "GraphNode", "IterationCounts", "StateDetail", "router"]

router = APIRouter(tags=["executions"])

StateStatus = Literal["SUCCEEDED", "FAILED", "CAUGHT_ERROR", "RUNNING", "CANCELLED", "NOT_RUN"]
ExecutionArn = Annotated[str, Path(min_length=1, max_length=256)]
#: A node id (``Fan/0/Check``) or a state's name; names are at most 80 characters, ids nest them.
StateName = Annotated[str, Path(min_length=1, max_length=2048)]

#: GetExecutionHistory's largest page.
PAGE = 1000


class IterationCounts(BaseModel):
    """A Map state's iterations; for a state inside a Map, its runs over the iterations, by outcome."""

    total: int
    succeeded: int
    failed: int = Field(description="Failed, or (inside a Map) failed and caught")
    running: int
    aborted: int


class GraphNode(BaseModel):
    id: str = Field(description="Unique: container ids, branch indexes and the state's name (`Fan/0/Check`)")
    name: str
    type: str = Field(description="The state's ASL Type; `Start` and `End` for the synthetic nodes")
    parent: str | None = Field(description="The id of the Parallel or Map state it runs in")
    x: int
    y: int
    width: int
    height: int
    status: StateStatus
    retries: int
    iterations: IterationCounts | None


class GraphEdge(BaseModel):
    source: str
    target: str
    kind: Literal["next", "choice", "default", "catch"]
    label: str = Field(description="The Choice rule in short, `Default`, or a Catch's errors")
    points: list[tuple[int, int]] = Field(description="A polyline from the source's box to the target's, in pixels")


class ExecutionGraph(BaseModel):
    executionArn: str
    stateMachineArn: str
    status: ExecutionStatus
    width: int
    height: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class StateDetail(BaseModel):
    id: str
    name: str
    type: str
    status: StateStatus
    input: str | None = Field(description="As the history gives it: a JSON text")
    output: str | None
    error: str | None
    cause: str | None
    retries: int
    enteredAt: datetime | None
    exitedAt: datetime | None
    iterations: IterationCounts | None


class _Execution:
    """What both routes read: the execution, its definition laid out, and its states' outcomes."""

    def __init__(self, aws: Aws, arn: str) -> None:
        self.aws = aws
        self.description = aws.call("stepfunctions", "DescribeExecution", {"executionArn": arn})
        machine = aws.call("stepfunctions", "DescribeStateMachineForExecution", {"executionArn": arn})
        try:
            definition = json.loads(machine["definition"])
            self.graph = layout.layout(definition)
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(502, "InvalidDefinition", f"the state machine's definition cannot be drawn: {exc}") from exc
        self.states = layout.states(definition)
        self.outcomes = from_history(self._history(arn))
        self.in_map = _inside_a_map(self.graph)

    def _history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {"executionArn": arn, "maxResults": PAGE}
        while True:
            page = self.aws.call("stepfunctions", "GetExecutionHistory", params)
            events.extend(page.get("events", []))
            if not page.get("nextToken"):
                return events
            params = {**params, "nextToken": page["nextToken"]}

    def status(self, node: layout.Node) -> StateStatus:
        if node.id == layout.START_ID:
            return "SUCCEEDED"
        if node.id == layout.END_ID:
            return "SUCCEEDED" if self.description.get("status") == "SUCCEEDED" else "NOT_RUN"
        outcome = self.outcomes.get(node.names)
        return outcome.status if outcome else "NOT_RUN"

    def iterations(self, node: layout.Node) -> IterationCounts | None:
        outcome = self.outcomes.get(node.names)
        if outcome is None:
            return None
        if outcome.map_run_arn:
            return self._map_run(outcome.map_run_arn)
        if outcome.iterations is not None:
            return _counts(outcome.iterations)
        if node.id in self.in_map:
            c = outcome.counts
            failed = c.get("FAILED", 0) + c.get("CAUGHT_ERROR", 0)
            return IterationCounts(
                total=outcome.visits,
                succeeded=c.get("SUCCEEDED", 0),
                failed=failed,
                running=c.get("RUNNING", 0),
                aborted=c.get("CANCELLED", 0),
            )
        return None

    def _map_run(self, arn: str) -> IterationCounts | None:
        try:
            run = self.aws.call("stepfunctions", "DescribeMapRun", {"mapRunArn": arn})
        except (AwsCallError, ServiceNotServedError):
            return None  # the graph still draws; only the counts are missing
        items = run.get("itemCounts") or {}
        return IterationCounts(
            total=int(items.get("total", 0)),
            succeeded=int(items.get("succeeded", 0)),
            failed=int(items.get("failed", 0)) + int(items.get("timedOut", 0)),
            # Items waiting for a slot (MaxConcurrency) are still to run, as running ones are.
            running=int(items.get("running", 0)) + int(items.get("pending", 0)),
            aborted=int(items.get("aborted", 0)),
        )

    def error(self, node: layout.Node, outcome: StateOutcome | None) -> tuple[str | None, str | None]:
        """The state's error and cause; a Fail state's own when the history names none (inside a branch)."""
        if outcome is None:
            return None, None
        error, cause = outcome.error, outcome.cause
        state = self.states.get(node.id, {})
        if outcome.status == "FAILED" and state.get("Type") == "Fail" and error is None and cause is None:
            error, cause = _text(state.get("Error")), _text(state.get("Cause"))
        return error, cause


@router.get("/executions/{executionArn}/graph", response_model=ExecutionGraph, responses=errors(404))
def execution_graph(aws: AwsApi, _: Viewer, executionArn: ExecutionArn) -> dict[str, Any]:
    execution = _Execution(aws, executionArn)
    nodes = []
    for node in execution.graph.nodes:
        outcome = execution.outcomes.get(node.names) if node.names else None
        nodes.append(
            {
                "id": node.id,
                "name": node.name,
                "type": node.type,
                "parent": node.parent,
                "x": node.x,
                "y": node.y,
                "width": node.width,
                "height": node.height,
                "status": execution.status(node),
                "retries": outcome.retries if outcome else 0,
                "iterations": execution.iterations(node) if outcome else None,
            }
        )
    return {
        "executionArn": executionArn,
        "stateMachineArn": execution.description["stateMachineArn"],
        "status": execution.description["status"],
        "width": execution.graph.width,
        "height": execution.graph.height,
        "nodes": nodes,
        "edges": [
            {"source": e.source, "target": e.target, "kind": e.kind, "label": e.label, "points": e.points} for e in execution.graph.edges
        ],
    }


@router.get("/executions/{executionArn}/states/{stateName:path}", response_model=StateDetail, responses=errors(404))
def execution_state(aws: AwsApi, _: Viewer, executionArn: ExecutionArn, stateName: StateName) -> dict[str, Any]:
    execution = _Execution(aws, executionArn)
    node = _find(execution.graph, stateName)
    outcome = execution.outcomes.get(node.names)
    error, cause = execution.error(node, outcome)
    return {
        "id": node.id,
        "name": node.name,
        "type": node.type,
        "status": execution.status(node),
        "input": outcome.input if outcome else None,
        "output": outcome.output if outcome else None,
        "error": error,
        "cause": cause,
        "retries": outcome.retries if outcome else 0,
        "enteredAt": outcome.entered_at if outcome else None,
        "exitedAt": outcome.exited_at if outcome else None,
        "iterations": execution.iterations(node) if outcome else None,
    }


def _find(graph: layout.Graph, wanted: str) -> layout.Node:
    """The state with id ``wanted``, else the first (in definition order) named ``wanted``."""
    states = [n for n in graph.nodes if n.names]
    found = next((n for n in states if n.id == wanted), None) or next((n for n in states if n.name == wanted), None)
    if found is None:
        raise ApiError(404, "ResourceNotFound", f"State Does Not Exist: '{wanted}'")
    return found


def _inside_a_map(graph: layout.Graph) -> set[str]:
    """Ids of the states that run in a Map's iterations (containers come before their children)."""
    types = {n.id: n.type for n in graph.nodes}
    inside: set[str] = set()
    for node in graph.nodes:
        if node.parent is not None and (types.get(node.parent) == "Map" or node.parent in inside):
            inside.add(node.id)
    return inside


def _counts(iterations: Iterations) -> IterationCounts:
    return IterationCounts(
        total=iterations.total,
        succeeded=iterations.succeeded,
        failed=iterations.failed,
        running=iterations.running,
        aborted=iterations.aborted,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
