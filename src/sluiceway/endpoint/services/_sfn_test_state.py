"""Step Functions' TestState: run one state in isolation and report what it did.

The state is wrapped in a one-state machine and run with the ASL simulator on a virtual
clock, so Wait states take no time. Where the state would move on, the wrapper ends
instead and reports ``nextState``: ``Next`` becomes ``End``; a Choice's targets and a
Catch's ``Next`` become Succeed states named after them. Retry is taken out: TestState
runs a state once and answers ``RETRIABLE`` when a retrier would retry the error.

A Task runs for real through the stack (the functions, the local services), unless
``mock`` gives its result or error; ``.waitForTaskToken`` and ``.sync`` tasks need a
mock, as on AWS.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...asl.commands import InvokeTask, ReadItems, TaskFailed, TaskSucceeded, WriteResults
from ...asl.core import error_matches
from ...asl.limits import load_json
from ...asl.simulator import simulate
from ...runtime.orchestration.json_reasons import EMPTY_INPUT, jackson_reason
from ..context import Context
from ..errors import AwsError
from ._sfn_catalog import check_role, parse_definition, validation_error

__all__ = ["test_state"]

_EXIT = "__sluiceway_next__"
_TESTABLE = {"Task", "Pass", "Wait", "Choice", "Succeed", "Fail", "Parallel", "Map"}


def test_state(ctx: Context, params: Mapping[str, Any]) -> dict[str, Any]:
    """TestState's answer for ``params`` (the operation's input members)."""
    if params.get("roleArn") is not None:
        check_role(params["roleArn"])
    level = params.get("inspectionLevel") or "INFO"
    if level not in ("INFO", "DEBUG", "TRACE"):
        raise validation_error("inspectionLevel", level, "Member must satisfy enum value set: [INFO, DEBUG, TRACE]")
    name, state = _the_state(params)
    payload = _json(params.get("input"), "input", "{}")
    variables = _json(params.get("variables"), "variables", "{}")
    if not isinstance(variables, dict):
        raise validation_error("variables", params.get("variables"), "Member must be a JSON object")
    mock = params.get("mock")
    resource = str(state.get("Resource", ""))
    if state["Type"] == "Task" and mock is None and resource.endswith((".waitForTaskToken", ".sync", ".sync:2")):
        raise AwsError("ValidationException", "TestState needs a mock to test a .waitForTaskToken or .sync integration pattern")
    wrapped, exits = _wrap(name, state, variables)
    machine = parse_definition(json.dumps(wrapped))
    answer = _mocked(mock) if mock is not None else _real(ctx)
    run = simulate(
        machine,
        payload,
        answer,
        start=datetime.now(UTC),
        execution_name="test-state",
        state_machine_name="TestState",
        region=ctx.region,
        account_id=ctx.account_id,
    )
    return _report(state, name, payload, variables, run, exits, level, params.get("stateConfiguration") or {})


def _the_state(params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    doc = _json(params["definition"], "definition", None, code="InvalidDefinition")
    if not isinstance(doc, dict):
        raise AwsError(
            "InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The definition must be a JSON object'"
        )
    wanted = params.get("stateName")
    if "States" in doc:
        states = doc.get("States") or {}
        name = wanted or doc.get("StartAt")
        if not isinstance(states, dict) or name not in states:
            raise AwsError("ValidationException", f"The state '{name}' is not in the definition")
        state = states[name]
        if doc.get("QueryLanguage") and isinstance(state, dict):
            state = {"QueryLanguage": doc["QueryLanguage"], **state}
    else:
        name, state = wanted or "TestState", doc
    if not isinstance(state, dict) or state.get("Type") not in _TESTABLE:
        raise AwsError("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The state has no valid Type'")
    return str(name), copy.deepcopy(state)


def _wrap(name: str, state: dict[str, Any], variables: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A machine running ``state`` once; ``exits`` maps each wrapper end state to the state it stands for."""
    state = copy.deepcopy(state)  # the caller reports on the state as given (its Retry included)
    exits: dict[str, str] = {}
    extra: dict[str, Any] = {}

    def exit_to(target: str) -> str:
        end = f"{_EXIT}{len(exits)}"
        exits[end] = target
        extra[end] = {"Type": "Succeed"}
        return end

    if "Next" in state:
        state["Next"] = exit_to(state["Next"])
    state.pop("Retry", None)
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, dict) and "Next" in catcher:
            catcher["Next"] = exit_to(catcher["Next"])
    if state.get("Type") == "Choice":
        for rule in state.get("Choices") or []:
            if isinstance(rule, dict) and "Next" in rule:
                rule["Next"] = exit_to(rule["Next"])
        if "Default" in state:
            state["Default"] = exit_to(state["Default"])
    states: dict[str, Any] = {}
    start = name
    if variables:
        # The variables the state sees are assigned by a Pass state before it.
        start = f"{_EXIT}vars"
        states[start] = {"Type": "Pass", "Assign": variables, "Next": name}
    states[name] = state
    states.update(extra)
    return {"StartAt": start, "States": states}, exits


def _json(text: str | None, member: str, default: str | None, *, code: str = "InvalidExecutionInput") -> Any:
    source = default if text is None else text
    if source is None:
        raise validation_error(member, None, "Member must not be null")
    try:
        return load_json(source)
    except ValueError as exc:
        reason = jackson_reason(source, exc) if source.strip() else EMPTY_INPUT
        if code == "InvalidDefinition":
            raise AwsError(code, f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {reason}'") from None
        raise AwsError(code, f"Invalid State Machine Execution Input: '{reason}'") from None


def _mocked(mock: Mapping[str, Any]) -> Any:
    error = mock.get("errorOutput")
    if (mock.get("result") is None) == (error is None):
        raise AwsError("ValidationException", "A mock needs exactly one of result and errorOutput")
    result = None if error is not None else _json(mock["result"], "mock.result", None, code="ValidationException")

    def answer(command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed:
        if error is not None:
            return TaskFailed(command.token, str(error.get("error") or "States.TaskFailed"), error.get("cause"))
        return TaskSucceeded(command.token, result)

    return answer


def _real(ctx: Context) -> Any:
    orchestrator = ctx.stack.orchestrator

    def answer(command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed:
        return orchestrator.run_task(command)

    return answer


def _report(
    state: Mapping[str, Any],
    name: str,
    payload: Any,
    variables: Mapping[str, Any],
    run: Any,
    exits: Mapping[str, str],
    level: str,
    configuration: Mapping[str, Any],
) -> dict[str, Any]:
    history = run.history
    entered = {e.get("stateEnteredEventDetails", {}).get("name") for e in history if e["type"].endswith("StateEntered")}
    next_state = next((exits[s] for s in exits if s in entered), None)
    failure = _failure(history)
    out: dict[str, Any] = {}
    if failure is not None and state.get("Type") != "Fail":
        retry_index = _retrier(state, failure[0], int(configuration.get("retrierRetryCount") or 0))
        if retry_index is not None:
            out.update(status="RETRIABLE", error=failure[0])
            if failure[1] is not None:
                out["cause"] = failure[1]
            out["inspectionData"] = _inspection(payload, variables, history, level) | {"errorDetails": {"retryIndex": retry_index}}
            return out
    if run.status == "SUCCEEDED":
        out["output"] = json.dumps(run.output, separators=(",", ":"))
        if failure is not None and next_state is not None:
            out["status"] = "CAUGHT_ERROR"
            out["error"], out["cause"] = failure[0], failure[1]
            if out["cause"] is None:
                del out["cause"]
        else:
            out["status"] = "SUCCEEDED"
        if next_state is not None:
            out["nextState"] = next_state
    else:
        out["status"] = "FAILED"
        if run.error is not None:
            out["error"] = run.error
        if run.cause is not None:
            out["cause"] = run.cause
    if level != "INFO":
        out["inspectionData"] = _inspection(payload, variables, history, level)
    return out


def _failure(history: list[dict[str, Any]]) -> tuple[str, str | None] | None:
    for event in history:
        if event["type"].endswith(("Failed", "TimedOut")) and event["type"] not in ("ExecutionFailed", "ExecutionTimedOut"):
            for key, details in event.items():
                if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                    return str(details["error"]), details.get("cause")
    return None


def _retrier(state: Mapping[str, Any], error: str, retries_made: int) -> int | None:
    for index, retrier in enumerate(state.get("Retry") or []):
        if not isinstance(retrier, dict):
            continue
        if error_matches(tuple(retrier.get("ErrorEquals") or ()), error):
            return index if retries_made < int(retrier.get("MaxAttempts", 3)) else None
    return None


def _inspection(payload: Any, variables: Mapping[str, Any], history: list[dict[str, Any]], level: str) -> dict[str, Any]:
    """What the history shows of the data flow (DEBUG and TRACE show the same locally)."""
    data: dict[str, Any] = {"input": json.dumps(payload, separators=(",", ":"))}
    if variables:
        data["variables"] = json.dumps(dict(variables), separators=(",", ":"))
    for event in history:
        kind = event["type"]
        if kind == "TaskScheduled":
            data["afterParameters"] = event["taskScheduledEventDetails"].get("parameters")
        elif kind == "LambdaFunctionScheduled":
            data["afterParameters"] = event["lambdaFunctionScheduledEventDetails"].get("input")
        elif kind == "TaskSucceeded":
            data["result"] = event["taskSucceededEventDetails"].get("output")
        elif kind == "LambdaFunctionSucceeded":
            data["result"] = event["lambdaFunctionSucceededEventDetails"].get("output")
    return {k: v for k, v in data.items() if v is not None}
