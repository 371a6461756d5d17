"""The graph of an execution and its states' details, through a running endpoint, for real executions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from management_api_helpers import API, Pool, make_user, sign_in

from sluiceway.endpoint.server import Endpoint

FAILING_TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "no-such-function"}}

SUCCEEDS = {
    "StartAt": "Pick",
    "States": {
        "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.skip", "BooleanEquals": True, "Next": "Done"}], "Default": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "End": True}}},
            ],
            "ResultPath": None,
            "Next": "Fan",
        },
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "Double", "States": {"Double": {"Type": "Pass", "End": True}}},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}

CAUGHT = {
    "StartAt": "Call",
    "States": {
        "Call": {
            **FAILING_TASK,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}],
            "Next": "Unused",
        },
        "Unused": {"Type": "Pass", "End": True},
        "Handled": {"Type": "Pass", "End": True},
    },
}

UNCAUGHT = {
    "StartAt": "Prepare",
    "States": {"Prepare": {"Type": "Pass", "Next": "Give up"}, "Give up": {"Type": "Fail", "Error": "Abandoned", "Cause": "on purpose"}},
}

MAP_FAILS = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Boom"}], "Default": "Fine"},
                    "Fine": {"Type": "Pass", "End": True},
                    "Boom": {"Type": "Fail", "Error": "TooBig", "Cause": "over 2"},
                },
            },
            "End": True,
        }
    },
}


@pytest.fixture(scope="module")
def viewer(aws: Callable[..., Any], pool: Pool) -> str:
    token: str = sign_in(aws, pool.client_id, make_user(aws, pool.pool_id, "viewer"))["AccessToken"]
    return token


def get(endpoint: Endpoint, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{endpoint.url}{API}{path}", headers=headers, timeout=30)


def run(aws: Callable[..., Any], name: str, definition: dict[str, Any], payload: Any) -> str:
    """Start an execution of a new state machine and wait (polling, with a deadline) until it ends."""
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::000000000000:role/sfn")
    arn: str = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not end")
        time.sleep(0.05)
    return arn


def nodes_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in body["nodes"]}


def test_a_successful_execution(endpoint: Endpoint, aws: Callable[..., Any], viewer: str) -> None:
    arn = run(aws, "graph-succeeds", SUCCEEDS, {"skip": False, "items": [1, 2, 3]})
    answer = get(endpoint, f"/executions/{arn}/graph", viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["executionArn"], body["status"]) == (arn, "SUCCEEDED")
    assert body["stateMachineArn"].endswith(":stateMachine:graph-succeeds")
    nodes = nodes_of(body)
    statuses = {i: n["status"] for i, n in nodes.items()}
    assert statuses == {
        "#Start": "SUCCEEDED",
        "Pick": "SUCCEEDED",
        "Both": "SUCCEEDED",
        "Both/0/Left": "SUCCEEDED",
        "Both/1/Right": "SUCCEEDED",
        "Fan": "SUCCEEDED",
        "Fan/0/Double": "SUCCEEDED",
        "Done": "SUCCEEDED",
        "#End": "SUCCEEDED",
    }
    assert nodes["Fan"]["iterations"] == {"total": 3, "succeeded": 3, "failed": 0, "running": 0, "aborted": 0}
    assert nodes["Fan/0/Double"]["iterations"]["total"] == 3 and nodes["Fan/0/Double"]["parent"] == "Fan"
    assert nodes["Pick"]["iterations"] is None and nodes["Both/0/Left"]["iterations"] is None
    labels = {(e["source"], e["target"]): (e["kind"], e["label"]) for e in body["edges"]}
    assert labels[("Pick", "Done")] == ("choice", "$.skip == true")
    assert labels[("Pick", "Both")] == ("default", "Default")
    for node in body["nodes"]:
        assert node["x"] >= 0 and node["x"] + node["width"] <= body["width"]
    assert all(len(e["points"]) >= 2 for e in body["edges"])

    detail = get(endpoint, f"/executions/{arn}/states/Fan/0/Double", viewer).json()
    assert (detail["name"], detail["type"], detail["status"]) == ("Double", "Pass", "SUCCEEDED")
    assert json.loads(detail["input"]) in (1, 2, 3) and detail["enteredAt"] and detail["exitedAt"]


def test_a_failure_caught_after_a_retry(endpoint: Endpoint, aws: Callable[..., Any], viewer: str) -> None:
    arn = run(aws, "graph-caught", CAUGHT, {"order": 7})
    nodes = nodes_of(get(endpoint, f"/executions/{arn}/graph", viewer).json())
    assert (nodes["Call"]["status"], nodes["Call"]["retries"]) == ("CAUGHT_ERROR", 1)
    assert (nodes["Handled"]["status"], nodes["Unused"]["status"], nodes["#End"]["status"]) == ("SUCCEEDED", "NOT_RUN", "SUCCEEDED")

    call = get(endpoint, f"/executions/{arn}/states/Call", viewer)
    assert call.status_code == 200, call.text
    detail = call.json()
    assert (detail["status"], detail["retries"], detail["error"]) == ("CAUGHT_ERROR", 1, "Lambda.ResourceNotFoundException")
    assert json.loads(detail["input"]) == {"order": 7}
    assert json.loads(detail["output"])["error"]["Error"] == "Lambda.ResourceNotFoundException"
    # As AWS words it: the function the Invoke call named, not the integration's resource ARN.
    assert detail["cause"].startswith("Function not found: arn:aws:lambda:us-east-1:"), detail["cause"]
    assert ":function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException;" in detail["cause"]
    unused = get(endpoint, f"/executions/{arn}/states/Unused", viewer).json()
    assert (unused["status"], unused["input"], unused["enteredAt"]) == ("NOT_RUN", None, None)


def test_an_uncaught_failure(endpoint: Endpoint, aws: Callable[..., Any], viewer: str) -> None:
    arn = run(aws, "graph-uncaught", UNCAUGHT, {})
    body = get(endpoint, f"/executions/{arn}/graph", viewer).json()
    assert body["status"] == "FAILED"
    nodes = nodes_of(body)
    assert (nodes["Prepare"]["status"], nodes["Give up"]["status"], nodes["#End"]["status"]) == ("SUCCEEDED", "FAILED", "NOT_RUN")
    detail = get(endpoint, f"/executions/{arn}/states/Give up", viewer).json()
    assert (detail["type"], detail["status"], detail["error"], detail["cause"]) == ("Fail", "FAILED", "Abandoned", "on purpose")


def test_a_map_with_a_failing_iteration(endpoint: Endpoint, aws: Callable[..., Any], viewer: str) -> None:
    arn = run(aws, "graph-map-fails", MAP_FAILS, {"items": [1, 2, 5]})
    body = get(endpoint, f"/executions/{arn}/graph", viewer).json()
    assert body["status"] == "FAILED"
    nodes = nodes_of(body)
    assert nodes["Fan"]["status"] == "FAILED"
    assert nodes["Fan"]["iterations"] == {"total": 3, "succeeded": 2, "failed": 1, "running": 0, "aborted": 0}
    assert (nodes["Fan/0/Check"]["status"], nodes["Fan/0/Check"]["iterations"]["total"]) == ("SUCCEEDED", 3)
    assert (nodes["Fan/0/Fine"]["status"], nodes["Fan/0/Fine"]["iterations"]["succeeded"]) == ("SUCCEEDED", 2)
    assert nodes["Fan/0/Boom"]["status"] == "FAILED"
    boom = get(endpoint, f"/executions/{arn}/states/Boom", viewer).json()
    assert (boom["status"], boom["error"], boom["cause"], json.loads(boom["input"])) == ("FAILED", "TooBig", "over 2", 5)


def test_unknown_states_and_executions_are_404_problems(endpoint: Endpoint, aws: Callable[..., Any], viewer: str) -> None:
    arn = run(aws, "graph-404", UNCAUGHT, {})
    missing = get(endpoint, f"/executions/{arn}/states/Nowhere", viewer)
    assert missing.status_code == 404
    assert missing.json() == {"error": "ResourceNotFound", "message": "State Does Not Exist: 'Nowhere'"}
    nobody = arn.rsplit(":", 1)[0] + ":nobody"
    for path in (f"/executions/{nobody}/graph", f"/executions/{nobody}/states/Prepare"):
        answer = get(endpoint, path, viewer)
        assert (answer.status_code, answer.json()["error"]) == (404, "ExecutionDoesNotExist")


def test_both_routes_need_a_token(endpoint: Endpoint, aws: Callable[..., Any], viewer: str) -> None:
    arn = run(aws, "graph-auth", UNCAUGHT, {})
    for path in (f"/executions/{arn}/graph", f"/executions/{arn}/states/Prepare"):
        refused = get(endpoint, path, None)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert get(endpoint, path, "not.a.token").status_code == 401
        assert get(endpoint, path, viewer).status_code == 200
