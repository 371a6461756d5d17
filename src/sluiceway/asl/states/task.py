"""Task: one call of a resource (a Lambda function, a service integration, an activity).

The state sends :class:`~sluiceway.asl.commands.InvokeTask` with its payload (Parameters or
Arguments), arms its TimeoutSeconds and HeartbeatSeconds timers, records AWS's task or Lambda
history events, and hands the result to the core's result processing or the error to Retry and
Catch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ... import jsonpath
from ...errors import StatesError
from ...types import JSON
from .. import jsonata as jsonata_lang
from .. import limits, templates
from ..commands import InvokeTask
from ..core import Failure, PathRecord, Run, StateType
from ..model import Setting, TaskState
from ..values import number_text, size, text, too_deep_cause, too_large_cause

__all__ = [
    "TaskType",
    "activity_scheduled",
    "activity_started",
    "activity_unavailable",
    "is_activity",
    "make_task_token",
    "parse_task_token",
]

_LAMBDA_ARN_PREFIX = "arn:aws:lambda:"


def make_task_token(execution_arn: str, task: str) -> str:
    """A ``$$.Task.Token``: names its execution and task, plus a digest so it can't be guessed from them."""
    digest = hashlib.sha256(f"{execution_arn}|{task}|sluiceway".encode()).hexdigest()[:20]
    arn = base64.urlsafe_b64encode(execution_arn.encode()).decode().rstrip("=")
    return f"{arn}.{task}.{digest}"


def parse_task_token(task_token: str) -> tuple[str, str]:
    """``(execution_arn, task)`` named by a task token.

    Raises:
        ValueError: the token is malformed or was not made by :func:`make_task_token`.
    """
    try:
        arn_part, task, digest = task_token.split(".")
        arn = base64.urlsafe_b64decode(arn_part + "=" * (-len(arn_part) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("Invalid Token: malformed task token") from None
    if make_task_token(arn, task) != task_token:
        raise ValueError("Invalid Token: the task token does not match")
    return arn, task


class TaskType(StateType[TaskState]):
    def execute(self, run: Run, path: PathRecord, state: TaskState) -> None:
        path["entered_event"] = path["last_event"]
        self._schedule(run, path, state)

    def retry(self, run: Run, path: PathRecord, state: TaskState) -> None:
        # The state is not entered again: its "entered at the event id" stays the first one.
        run.guarded(path, state, lambda: self._schedule(run, path, state))

    def _schedule(self, run: Run, path: PathRecord, state: TaskState) -> None:
        resource = state.resource
        activity = is_activity(resource)
        # An activity task is a callback task whose token GetActivityTask hands to a worker.
        wait_for_token = activity or resource.endswith(".waitForTaskToken")
        token = run.token("task")
        if wait_for_token:
            path["task_token"] = make_task_token(run.state["context"]["Execution"]["Id"], token)
        if state.query_language == "JSONata":
            bindings = run.bindings(path, state, input=path["input"])
            payload = (
                jsonata_lang.resolve(state.arguments.value, bindings, run.rng(), field="Arguments", now=run.now)
                if state.arguments is not None
                else path["input"]
            )
            timeout = _jsonata_seconds(state.timeout, bindings, run.rng(), run.now)
            heartbeat = _jsonata_seconds(state.heartbeat, bindings, run.rng(), run.now)
            credentials = run.jsonata(state.credentials, path, state, "Credentials") if state.credentials is not None else None
        else:
            effective = run.effective_input(path, state)
            scope = run.scope(path, state, effective)
            payload = (
                templates.resolve(state.parameters.value, scope, field="Parameters", rng=run.rng())
                if state.parameters is not None
                else effective
            )
            timeout = _path_seconds(state.timeout, scope)
            heartbeat = _path_seconds(state.heartbeat, scope)
            credentials = (
                templates.resolve(state.credentials, scope, field="Credentials", rng=run.rng()) if state.credentials is not None else None
            )
        resource_type, resource_name = resource_parts(resource)
        if resource.startswith(_LAMBDA_ARN_PREFIX):
            details: dict[str, Any] = {"resource": resource, "input": text(payload), "inputDetails": {"truncated": False}}
            if timeout is not None:
                details["timeoutInSeconds"] = int(timeout)
            run.emit(path["pid"], "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
            run.emit(path["pid"], "LambdaFunctionStarted", None, None)
        elif activity:
            # ActivityScheduled waits for the runtime to find the activity (see activity_scheduled):
            # AWS records none for an activity that does not exist, it fails the execution.
            pass
        else:
            details = {
                "resourceType": resource_type,
                "resource": resource_name,
                "region": _region(run.state),
                "parameters": text(payload),
            }
            if timeout is not None:
                details["timeoutInSeconds"] = int(timeout)
            if heartbeat is not None:
                details["heartbeatInSeconds"] = int(heartbeat)
            if isinstance(credentials, Mapping) and "RoleArn" in credentials:
                details["taskCredentials"] = {"roleArn": credentials["RoleArn"]}
            run.emit(path["pid"], "TaskScheduled", "taskScheduledEventDetails", details)
            run.emit(path["pid"], "TaskStarted", "taskStartedEventDetails", {"resourceType": resource_type, "resource": resource_name})
        path["phase"] = "task"
        path["task"] = token
        run.state["tasks"][token] = {
            "pid": path["pid"],
            "resource": resource,
            "payload": payload,
            "state": state.name,
            "timeout": timeout,
            "heartbeat": heartbeat,
            "wait_for_token": wait_for_token,
            "task_token": path.get("task_token"),
            **({"activity": True} if activity else {}),
        }
        run.commands.append(InvokeTask(token, resource, payload, state.name, timeout, heartbeat, wait_for_token, credentials))
        if timeout is not None:
            due = limits.later(run.now, timeout)
            path["timeout_timer"] = run.arm_timer(path["pid"], "task-timeout", due, prefix="timeout", task=token)
        if heartbeat is not None and not activity:
            # An activity's heartbeats are counted from the worker's GetActivityTask (activity_started).
            _arm_heartbeat(run, path, token, heartbeat)

    def heartbeat(self, run: Run, path: PathRecord, state: TaskState, token: str, task: Mapping[str, Any]) -> None:
        if task.get("heartbeat") is not None:
            _arm_heartbeat(run, path, token, task["heartbeat"])

    def timer_fired(self, run: Run, path: PathRecord, state: TaskState, timer: Mapping[str, Any]) -> None:
        kind = timer["kind"]
        task = run.state["tasks"].pop(timer["task"], None)
        path.pop("timeout_timer" if kind == "task-timeout" else "heartbeat_timer", None)
        _disarm(run, path)
        if task is not None:
            error = "States.Timeout" if kind == "task-timeout" else "States.HeartbeatTimeout"
            self._failed(run, path, state, task, error, None)

    def task_succeeded(self, run: Run, path: PathRecord, state: TaskState, task: Mapping[str, Any], output: JSON) -> None:
        _disarm(run, path)
        too_deep = limits.too_deep(output)
        resource = task["resource"]
        resource_type, resource_name = resource_parts(resource)
        output_text = "" if too_deep else text(output)
        if resource.startswith(_LAMBDA_ARN_PREFIX):
            run.emit(
                path["pid"],
                "LambdaFunctionSucceeded",
                "lambdaFunctionSucceededEventDetails",
                {"output": output_text, "outputDetails": {"truncated": too_deep}},
            )
        elif task.get("activity"):
            run.emit(
                path["pid"],
                "ActivitySucceeded",
                "activitySucceededEventDetails",
                {"output": output_text, "outputDetails": {"truncated": too_deep}},
            )
        else:
            run.emit(
                path["pid"],
                "TaskSucceeded",
                "taskSucceededEventDetails",
                {"resourceType": resource_type, "resource": resource_name, "output": output_text, "outputDetails": {"truncated": too_deep}},
            )
        path["phase"] = "running"
        path.pop("task", None)
        path.pop("task_token", None)

        def finish() -> None:
            if too_deep:
                raise Failure("States.DataLimitExceeded", too_deep_cause(f"The result of the state '{state.name}'"))
            if size(output) > run.state["max_payload"]:
                raise Failure("States.DataLimitExceeded", too_large_cause(state.name))
            run.apply_result(path, state, output)

        run.guarded(path, state, finish)

    def task_failed(self, run: Run, path: PathRecord, state: TaskState, task: Mapping[str, Any], error: str, cause: str | None) -> None:
        _disarm(run, path)
        self._failed(run, path, state, task, error, cause)

    def _failed(self, run: Run, path: PathRecord, state: TaskState, task: Mapping[str, Any], error: str, cause: str | None) -> None:
        resource = task["resource"]
        is_lambda = resource.startswith(_LAMBDA_ARN_PREFIX)
        if is_lambda:
            cause = _lambda_cause(cause)
        resource_type, resource_name = resource_parts(resource)
        details: dict[str, Any] = {"error": error}
        if cause is not None:
            details["cause"] = cause
        if task.get("activity"):
            # SendTaskHeartbeat's reference: a task that times out (heartbeats included) is ActivityTimedOut.
            timed_out = error in ("States.Timeout", "States.HeartbeatTimeout")
            run.emit(
                path["pid"],
                "ActivityTimedOut" if timed_out else "ActivityFailed",
                "activityTimedOutEventDetails" if timed_out else "activityFailedEventDetails",
                details,
            )
        elif is_lambda and error != "States.Timeout":
            run.emit(path["pid"], "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", details)
        elif error == "States.Timeout":
            run.emit(
                path["pid"],
                "LambdaFunctionTimedOut" if is_lambda else "TaskTimedOut",
                "lambdaFunctionTimedOutEventDetails" if is_lambda else "taskTimedOutEventDetails",
                ({} if is_lambda else {"resourceType": resource_type, "resource": resource_name}) | details,
            )
        else:
            run.emit(
                path["pid"], "TaskFailed", "taskFailedEventDetails", {"resourceType": resource_type, "resource": resource_name} | details
            )
        path["phase"] = "running"
        path.pop("task", None)
        path.pop("task_token", None)
        run.state_failed(path, state, error, cause)


def is_activity(resource: str) -> bool:
    """``arn:aws:states:<region>:<account>:activity:<name>``: a task for the activity's workers."""
    parts = resource.split(":")
    return len(parts) == 7 and parts[:3] == ["arn", "aws", "states"] and parts[5] == "activity"


def _activity_task(run: Run, token: str) -> tuple[PathRecord, TaskState, dict[str, Any]] | None:
    info = run.state["tasks"].get(token)
    if info is None or not info.get("activity"):
        return None  # answered, timed out, or its execution moved on: nothing waits for it
    path = run.state["paths"].get(info["pid"])
    if path is None:
        return None
    state = run.current(path)
    return (path, state, info) if isinstance(state, TaskState) else None


def activity_scheduled(run: Run, token: str) -> None:
    """The runtime queued the activity task ``token`` for workers: ActivityScheduled (once)."""
    found = _activity_task(run, token)
    if found is None or found[2].get("scheduled"):
        return  # a restart queues it again: it was recorded the first time
    path, _, info = found
    info["scheduled"] = True
    details: dict[str, Any] = {"resource": info["resource"], "input": text(info["payload"]), "inputDetails": {"truncated": False}}
    if info.get("timeout") is not None:
        details["timeoutInSeconds"] = int(info["timeout"])
    if info.get("heartbeat") is not None:
        details["heartbeatInSeconds"] = int(info["heartbeat"])
    run.emit(path["pid"], "ActivityScheduled", "activityScheduledEventDetails", details)


def activity_unavailable(run: Run, token: str, cause: str) -> None:
    """The activity of task ``token`` does not exist: the state fails with States.Runtime.

    AWS records no Activity* event then: the execution fails with the cause given, worded
    as every runtime error of a state ("An error occurred while executing the state ...").
    """
    found = _activity_task(run, token)
    if found is None:
        return
    path, state, _ = found
    run.state["tasks"].pop(token, None)
    _disarm(run, path)
    path["phase"] = "running"
    path.pop("task", None)
    path.pop("task_token", None)

    def fail() -> None:
        raise StatesError("States.Runtime", cause)

    run.guarded(path, state, fail)


def activity_started(run: Run, token: str, worker_name: str | None) -> bool:
    """GetActivityTask handed the task ``token`` to a worker: ActivityStarted; False if it no longer waits.

    HeartbeatSeconds count from here: a task nobody polled for has no worker to beat for it.
    """
    found = _activity_task(run, token)
    if found is None or found[2].get("started"):
        return False
    path, _, info = found
    if not info.get("scheduled"):
        activity_scheduled(run, token)
    info["started"] = True
    run.emit(path["pid"], "ActivityStarted", "activityStartedEventDetails", {} if worker_name is None else {"workerName": worker_name})
    if info.get("heartbeat") is not None:
        _arm_heartbeat(run, path, token, info["heartbeat"])
    return True


def _arm_heartbeat(run: Run, path: PathRecord, task: str, seconds: float) -> None:
    old = path.pop("heartbeat_timer", None)
    if old:
        run.state["timers"].pop(old, None)
    path["heartbeat_timer"] = run.arm_timer(path["pid"], "heartbeat", limits.later(run.now, seconds), task=task)


def _disarm(run: Run, path: PathRecord) -> None:
    for key in ("timeout_timer", "heartbeat_timer"):
        timer = path.pop(key, None)
        if timer:
            run.state["timers"].pop(timer, None)


def _jsonata_seconds(setting: Setting | None, bindings: Mapping[str, JSON], rng: random.Random, now: datetime) -> float | None:
    if setting is None:
        return None
    name = setting.name
    value = jsonata_lang.resolve(setting.value, bindings, rng, field=name, now=now)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise jsonata_lang.QueryEvaluationError(f"The field '{name}' must be a positive number, got {text(value)}", location=name)
    if not value <= limits.MAX_TIMER_SECONDS:
        raise jsonata_lang.QueryEvaluationError(
            f"The field '{name}' must be at most {limits.MAX_TIMER_SECONDS}, got {number_text(value)}", location=name
        )
    return float(value)


def _path_seconds(setting: Setting | None, scope: jsonpath.Scope) -> float | None:
    if setting is None:
        return None
    if setting.path is None:
        return float(setting.value)
    path_field = setting.field
    value = jsonpath.select(setting.path, scope, field=None)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise StatesError("States.Runtime", f"The {path_field} parameter does not reference a positive number: {setting.path}")
    if not value <= limits.MAX_TIMER_SECONDS:
        raise StatesError(
            "States.Runtime",
            f"The {path_field} parameter references a value greater than {limits.MAX_TIMER_SECONDS}: "
            f"{setting.path} == {number_text(value)}",
        )
    return float(value)


def _lambda_cause(cause: str | None) -> str | None:
    """A Lambda function's error payload as Step Functions passes it on for function ARNs.

    The recordings show the cause of a failed ``arn:aws:lambda:...:function:``
    task in the form AWS Lambda's Python runtime writes (``json.dumps`` with its
    default ``", "``/``": "`` separators), while ``lambda:invoke`` keeps the
    compact text; a cause given compact is re-rendered the Lambda way.
    """
    if not cause or not cause.startswith("{"):
        return cause
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return json.dumps(parsed, ensure_ascii=False) if isinstance(parsed, dict) else cause


def resource_parts(resource: str) -> tuple[str, str]:
    """AWS's (resourceType, resource) for TaskScheduled: ``arn:aws:states:::sns:publish`` -> (sns, publish)."""
    if resource.startswith("arn:aws:states:::"):
        rest = resource[len("arn:aws:states:::") :]
        if rest.startswith("aws-sdk:"):
            _, service, action = rest.split(":", 2)
            return f"aws-sdk:{service}", action
        service, _, action = rest.partition(":")
        return service, action
    if resource.startswith(_LAMBDA_ARN_PREFIX):
        return "lambda", resource.rsplit(":", 1)[-1]
    return "activity" if ":activity:" in resource else "lambda", resource


def _region(state: Mapping[str, Any]) -> str:
    arn = str(state["context"]["Execution"]["Id"])
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"
