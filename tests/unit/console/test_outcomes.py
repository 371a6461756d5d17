"""States' outcomes from execution histories: histories recorded from the local stack, and AWS's shapes by hand."""

# Recorded events are kept as GetExecutionHistory gave them, one per line, however long.
# ruff: noqa: E501

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sluiceway.console.outcomes import Iterations, from_history


def recorded(lines: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.strip().splitlines()]


# GetExecutionHistory of a run through the local endpoint of: Choice "Pick" (default) -> Parallel "Both"
# (A | B) -> Task "Call" (retried once, then caught) -> "Handled" -> Map "Fan" over [1, 2, 3, 1] whose
# item 3 enters the Fail state "Boom" (the Map's Catch goes to "Done").
CAUGHT = recorded(
    r"""
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ExecutionStarted","id":1,"previousEventId":0,"executionStartedEventDetails":{"input":"{\"go\":\"both\",\"items\":[1,2,3,1]}","inputDetails":{"truncated":false},"roleArn":"arn:aws:iam::111111111111:role/sluiceway"}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ChoiceStateEntered","id":2,"previousEventId":0,"stateEnteredEventDetails":{"name":"Pick","input":"{\"go\":\"both\",\"items\":[1,2,3,1]}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ChoiceStateExited","id":3,"previousEventId":2,"stateExitedEventDetails":{"name":"Pick","output":"{\"go\":\"both\",\"items\":[1,2,3,1]}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ParallelStateEntered","id":4,"previousEventId":3,"stateEnteredEventDetails":{"name":"Both","input":"{\"go\":\"both\",\"items\":[1,2,3,1]}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ParallelStateStarted","id":5,"previousEventId":4}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"PassStateEntered","id":6,"previousEventId":5,"stateEnteredEventDetails":{"name":"A","input":"{\"go\":\"both\",\"items\":[1,2,3,1]}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"PassStateExited","id":7,"previousEventId":6,"stateExitedEventDetails":{"name":"A","output":"{\"go\":\"both\",\"items\":[1,2,3,1]}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"PassStateEntered","id":8,"previousEventId":5,"stateEnteredEventDetails":{"name":"B","input":"{\"go\":\"both\",\"items\":[1,2,3,1]}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"PassStateExited","id":9,"previousEventId":8,"stateExitedEventDetails":{"name":"B","output":"{\"go\":\"both\",\"items\":[1,2,3,1]}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ParallelStateSucceeded","id":10,"previousEventId":5}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"ParallelStateExited","id":11,"previousEventId":10,"stateExitedEventDetails":{"name":"Both","output":"{\"go\":\"both\",\"items\":[1,2,3,1]}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"TaskStateEntered","id":12,"previousEventId":11,"stateEnteredEventDetails":{"name":"Call","input":"{\"go\":\"both\",\"items\":[1,2,3,1]}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"TaskScheduled","id":13,"previousEventId":12,"taskScheduledEventDetails":{"resourceType":"lambda","resource":"invoke","region":"us-east-1","parameters":"{\"FunctionName\":\"no-such-function\"}"}}
{"timestamp":"2026-12-05T04:28:03.492000+00:00","type":"TaskStarted","id":14,"previousEventId":13,"taskStartedEventDetails":{"resourceType":"lambda","resource":"invoke"}}
{"timestamp":"2026-12-05T04:28:03.510000+00:00","type":"TaskFailed","id":15,"previousEventId":14,"taskFailedEventDetails":{"resourceType":"lambda","resource":"invoke","error":"Lambda.ResourceNotFoundException","cause":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)"}}
{"timestamp":"2026-12-05T04:28:04.510000+00:00","type":"TaskScheduled","id":16,"previousEventId":15,"taskScheduledEventDetails":{"resourceType":"lambda","resource":"invoke","region":"us-east-1","parameters":"{\"FunctionName\":\"no-such-function\"}"}}
{"timestamp":"2026-12-05T04:28:04.510000+00:00","type":"TaskStarted","id":17,"previousEventId":16,"taskStartedEventDetails":{"resourceType":"lambda","resource":"invoke"}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"TaskFailed","id":18,"previousEventId":17,"taskFailedEventDetails":{"resourceType":"lambda","resource":"invoke","error":"Lambda.ResourceNotFoundException","cause":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)"}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"TaskStateExited","id":19,"previousEventId":18,"stateExitedEventDetails":{"name":"Call","output":"{\"go\":\"both\",\"items\":[1,2,3,1],\"error\":{\"Error\":\"Lambda.ResourceNotFoundException\",\"Cause\":\"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)\"}}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"PassStateEntered","id":20,"previousEventId":19,"stateEnteredEventDetails":{"name":"Handled","input":"{\"go\":\"both\",\"items\":[1,2,3,1],\"error\":{\"Error\":\"Lambda.ResourceNotFoundException\",\"Cause\":\"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)\"}}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"PassStateExited","id":21,"previousEventId":20,"stateExitedEventDetails":{"name":"Handled","output":"{\"go\":\"both\",\"items\":[1,2,3,1],\"error\":{\"Error\":\"Lambda.ResourceNotFoundException\",\"Cause\":\"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)\"}}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapStateEntered","id":22,"previousEventId":21,"stateEnteredEventDetails":{"name":"Fan","input":"{\"go\":\"both\",\"items\":[1,2,3,1],\"error\":{\"Error\":\"Lambda.ResourceNotFoundException\",\"Cause\":\"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)\"}}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapStateStarted","id":23,"previousEventId":22,"mapStateStartedEventDetails":{"length":4}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationStarted","id":24,"previousEventId":23,"mapIterationStartedEventDetails":{"name":"Fan","index":0}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationStarted","id":25,"previousEventId":24,"mapIterationStartedEventDetails":{"name":"Fan","index":1}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationStarted","id":26,"previousEventId":25,"mapIterationStartedEventDetails":{"name":"Fan","index":2}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationStarted","id":27,"previousEventId":26,"mapIterationStartedEventDetails":{"name":"Fan","index":3}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateEntered","id":28,"previousEventId":24,"stateEnteredEventDetails":{"name":"Check","input":"1","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateExited","id":29,"previousEventId":28,"stateExitedEventDetails":{"name":"Check","output":"1","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateEntered","id":30,"previousEventId":25,"stateEnteredEventDetails":{"name":"Check","input":"2","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateExited","id":31,"previousEventId":30,"stateExitedEventDetails":{"name":"Check","output":"2","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateEntered","id":32,"previousEventId":26,"stateEnteredEventDetails":{"name":"Check","input":"3","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateExited","id":33,"previousEventId":32,"stateExitedEventDetails":{"name":"Check","output":"3","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateEntered","id":34,"previousEventId":27,"stateEnteredEventDetails":{"name":"Check","input":"1","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ChoiceStateExited","id":35,"previousEventId":34,"stateExitedEventDetails":{"name":"Check","output":"1","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"PassStateEntered","id":36,"previousEventId":29,"stateEnteredEventDetails":{"name":"Fine","input":"1","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"PassStateExited","id":37,"previousEventId":36,"stateExitedEventDetails":{"name":"Fine","output":"1","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationSucceeded","id":38,"previousEventId":27,"mapIterationSucceededEventDetails":{"name":"Fan","index":0}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"PassStateEntered","id":39,"previousEventId":31,"stateEnteredEventDetails":{"name":"Fine","input":"2","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"PassStateExited","id":40,"previousEventId":39,"stateExitedEventDetails":{"name":"Fine","output":"2","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationSucceeded","id":41,"previousEventId":38,"mapIterationSucceededEventDetails":{"name":"Fan","index":1}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"FailStateEntered","id":42,"previousEventId":33,"stateEnteredEventDetails":{"name":"Boom","input":"3","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationFailed","id":43,"previousEventId":41,"mapIterationFailedEventDetails":{"name":"Fan","index":2}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapIterationAborted","id":44,"previousEventId":43,"mapIterationAbortedEventDetails":{"name":"Fan","index":3}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapStateFailed","id":45,"previousEventId":44}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"MapStateExited","id":46,"previousEventId":45,"stateExitedEventDetails":{"name":"Fan","output":"{\"Error\":\"TooBig\",\"Cause\":\"over 2\"}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"SucceedStateEntered","id":47,"previousEventId":46,"stateEnteredEventDetails":{"name":"Done","input":"{\"Error\":\"TooBig\",\"Cause\":\"over 2\"}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"SucceedStateExited","id":48,"previousEventId":47,"stateExitedEventDetails":{"name":"Done","output":"{\"Error\":\"TooBig\",\"Cause\":\"over 2\"}","outputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.511000+00:00","type":"ExecutionSucceeded","id":49,"previousEventId":48,"executionSucceededEventDetails":{"output":"{\"Error\":\"TooBig\",\"Cause\":\"over 2\"}","outputDetails":{"truncated":false}}}
"""
)

# A Parallel whose Task branch fails uncaught while its other branch waits.
UNCAUGHT = recorded(
    r"""
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"ExecutionStarted","id":1,"previousEventId":0,"executionStartedEventDetails":{"input":"{}","inputDetails":{"truncated":false},"roleArn":"arn:aws:iam::111111111111:role/sluiceway"}}
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"ParallelStateEntered","id":2,"previousEventId":0,"stateEnteredEventDetails":{"name":"Both","input":"{}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"ParallelStateStarted","id":3,"previousEventId":2}
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"TaskStateEntered","id":4,"previousEventId":3,"stateEnteredEventDetails":{"name":"Call","input":"{}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"TaskScheduled","id":5,"previousEventId":4,"taskScheduledEventDetails":{"resourceType":"lambda","resource":"invoke","region":"us-east-1","parameters":"{\"FunctionName\":\"no-such-function\"}"}}
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"TaskStarted","id":6,"previousEventId":5,"taskStartedEventDetails":{"resourceType":"lambda","resource":"invoke"}}
{"timestamp":"2026-12-05T04:28:04.558000+00:00","type":"WaitStateEntered","id":7,"previousEventId":3,"stateEnteredEventDetails":{"name":"Wait","input":"{}","inputDetails":{"truncated":false}}}
{"timestamp":"2026-12-05T04:28:04.560000+00:00","type":"TaskFailed","id":8,"previousEventId":6,"taskFailedEventDetails":{"resourceType":"lambda","resource":"invoke","error":"Lambda.ResourceNotFoundException","cause":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)"}}
{"timestamp":"2026-12-05T04:28:04.560000+00:00","type":"WaitStateAborted","id":9,"previousEventId":7}
{"timestamp":"2026-12-05T04:28:04.560000+00:00","type":"ParallelStateFailed","id":10,"previousEventId":3}
{"timestamp":"2026-12-05T04:28:04.560000+00:00","type":"ExecutionFailed","id":11,"previousEventId":10,"executionFailedEventDetails":{"error":"Lambda.ResourceNotFoundException","cause":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)"}}
"""
)


class History:
    """AWS-shaped events, numbered as Step Functions numbers them: each names the previous event of its path."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, previous: int, details: dict[str, Any] | None = None, key: str | None = None) -> int:
        event: dict[str, Any] = {"id": len(self.events) + 1, "previousEventId": previous, "type": kind}
        event["timestamp"] = datetime(2024, 5, 1, 12, 0, len(self.events) % 60).isoformat()
        if details is not None:
            event[key or kind[0].lower() + kind[1:] + "EventDetails"] = details
        self.events.append(event)
        return len(self.events)

    def enter(self, kind: str, name: str, previous: int, value: str = "{}") -> int:
        return self.add(f"{kind}StateEntered", previous, {"name": name, "input": value}, "stateEnteredEventDetails")

    def exit(self, kind: str, name: str, previous: int, value: str = "{}") -> int:
        return self.add(f"{kind}StateExited", previous, {"name": name, "output": value}, "stateExitedEventDetails")

    def failed(self, kind: str, previous: int, error: str = "Boom", cause: str = "it broke") -> int:
        return self.add(kind, previous, {"error": error, "cause": cause})


def test_a_recorded_run_with_a_parallel_a_retry_a_catch_and_a_failing_map_iteration() -> None:
    found = from_history(CAUGHT)
    assert {k: v.status for k, v in found.items()} == {
        ("Pick",): "SUCCEEDED",
        ("Both",): "SUCCEEDED",
        ("Both", "A"): "SUCCEEDED",
        ("Both", "B"): "SUCCEEDED",
        ("Call",): "CAUGHT_ERROR",
        ("Handled",): "SUCCEEDED",
        ("Fan",): "CAUGHT_ERROR",
        ("Fan", "Check"): "SUCCEEDED",
        ("Fan", "Fine"): "SUCCEEDED",
        ("Fan", "Boom"): "FAILED",
        ("Done",): "SUCCEEDED",
    }
    call = found[("Call",)]
    assert (call.retries, call.error) == (1, "Lambda.ResourceNotFoundException")
    assert call.input == '{"go":"both","items":[1,2,3,1]}'
    assert call.output is not None and json.loads(call.output)["error"]["Error"] == "Lambda.ResourceNotFoundException"
    assert call.entered_at is not None and call.exited_at is not None and call.exited_at > call.entered_at
    assert found[("Fan",)].iterations == Iterations(total=4, succeeded=2, failed=1, running=0, aborted=1)
    check = found[("Fan", "Check")]
    assert (check.visits, dict(check.counts), check.iterations) == (4, {"SUCCEEDED": 4}, None)
    assert (found[("Fan", "Fine")].visits, found[("Fan", "Boom")].input) == (2, "3")
    assert found[("Pick",)].retries == 0 and found[("Pick",)].error is None


def test_a_recorded_uncaught_failure_in_a_branch_cancels_its_sibling() -> None:
    found = from_history(UNCAUGHT)
    assert {k: v.status for k, v in found.items()} == {("Both",): "FAILED", ("Both", "Call"): "FAILED", ("Both", "Wait"): "CANCELLED"}
    assert found[("Both", "Call")].error == found[("Both",)].error == "Lambda.ResourceNotFoundException"
    assert found[("Both", "Call")].cause == "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: 5c1f0a52-3a8e-4d2b-9c61-0d3e2f7a9b10; Proxy: null)"
    assert found[("Both", "Wait")].exited_at is not None


def test_events_are_read_by_id_whatever_order_the_pages_came_in() -> None:
    assert from_history(list(reversed(CAUGHT))) == from_history(CAUGHT)


def test_a_failed_task_waiting_for_its_retry_is_running_and_a_successful_retry_succeeds() -> None:
    h = History()
    h.add("ExecutionStarted", 0, {"input": "{}"})
    entered = h.enter("Task", "Call", 0)
    failed = h.failed("TaskFailed", h.add("TaskStarted", h.add("TaskScheduled", entered, {"resource": "invoke"})))
    waiting = from_history(h.events)[("Call",)]
    assert (waiting.status, waiting.retries, waiting.error) == ("RUNNING", 0, "Boom")
    done = h.add("TaskSucceeded", h.add("TaskStarted", h.add("TaskScheduled", failed, {"resource": "invoke"})), {"output": "1"})
    h.exit("Task", "Call", done, "1")
    ended = from_history(h.events)[("Call",)]
    assert (ended.status, ended.retries, ended.output) == ("SUCCEEDED", 1, "1")


def test_lambda_and_activity_failures_count_as_retries_too() -> None:
    h = History()
    entered = h.enter("Task", "Call", 0)
    first = h.failed("LambdaFunctionScheduleFailed", entered)
    second = h.failed("LambdaFunctionTimedOut", h.add("LambdaFunctionStarted", h.add("LambdaFunctionScheduled", first, {"resource": "f"})))
    h.add("ExecutionFailed", second, {"error": "States.Timeout", "cause": "late"})
    call = from_history(h.events)[("Call",)]
    assert (call.status, call.retries, call.error) == ("FAILED", 1, "Boom")


def test_an_aborted_execution_cancels_the_states_it_was_in() -> None:
    h = History()
    wait = h.enter("Wait", "Pause", h.exit("Pass", "First", h.enter("Pass", "First", 0)))
    h.add("ExecutionAborted", wait, {"error": "Stopped", "cause": "by an operator"})
    found = from_history(h.events)
    assert (found[("First",)].status, found[("Pause",)].status) == ("SUCCEEDED", "CANCELLED")
    assert found[("Pause",)].error is None and ("Never",) not in found


def test_a_top_level_fail_state_fails_with_the_executions_error() -> None:
    h = History()
    boom = h.enter("Fail", "Boom", 0)
    h.add("ExecutionFailed", boom, {"error": "TooBig", "cause": "over 2"})
    boom_outcome = from_history(h.events)[("Boom",)]
    assert (boom_outcome.status, boom_outcome.error, boom_outcome.cause) == ("FAILED", "TooBig", "over 2")


def test_a_runtime_error_fails_the_state_it_happened_in() -> None:
    h = History()
    fan = h.enter("Map", "Fan", 0)
    h.add("ExecutionFailed", fan, {"error": "States.Runtime", "cause": "Invalid path '$.items'"})
    fan_outcome = from_history(h.events)[("Fan",)]
    assert (fan_outcome.status, fan_outcome.error, fan_outcome.iterations) == ("FAILED", "States.Runtime", None)


def test_a_loop_shows_the_latest_visit() -> None:
    h = History()
    first = h.enter("Task", "Poll", 0, '{"n":1}')
    caught = h.exit("Task", "Poll", h.failed("TaskFailed", h.add("TaskScheduled", first, {})), "caught")
    again = h.enter("Task", "Poll", h.exit("Wait", "Pause", h.enter("Wait", "Pause", caught)), '{"n":2}')
    h.exit("Task", "Poll", h.add("TaskSucceeded", h.add("TaskScheduled", again, {}), {"output": "ok"}), "ok")
    poll = from_history(h.events)[("Poll",)]
    assert (poll.status, poll.input, poll.output, poll.error, poll.visits) == ("SUCCEEDED", '{"n":2}', "ok", None, 1)


def map_run(h: History, outcomes: list[str]) -> tuple[int, list[int]]:
    """A Map "Fan" whose iteration i runs the Task "Work" to ``outcomes[i]`` ("ok", "fail" or "running")."""
    fan = h.enter("Map", "Fan", 0)
    last = h.add("MapStateStarted", fan, {"length": len(outcomes)})
    starts = []
    for index in range(len(outcomes)):
        last = h.add("MapIterationStarted", last, {"name": "Fan", "index": index})
        starts.append(last)
    ends = []
    for index, (start, outcome) in enumerate(zip(starts, outcomes, strict=True)):
        work = h.add("TaskScheduled", h.enter("Task", "Work", start, str(index)), {})
        if outcome == "ok":
            h.exit("Task", "Work", h.add("TaskSucceeded", work, {"output": "1"}), "1")
            last = h.add("MapIterationSucceeded", last, {"name": "Fan", "index": index})
        elif outcome == "fail":
            h.failed("TaskFailed", work, "Work.Broke", f"item {index}")
            last = h.add("MapIterationFailed", last, {"name": "Fan", "index": index})
        ends.append(last)
    return fan, ends


def test_a_state_inside_a_map_sums_its_iterations_and_fails_if_one_did() -> None:
    h = History()
    _, ends = map_run(h, ["ok", "fail", "ok"])
    failed = h.add("MapStateFailed", ends[-1])
    h.add("ExecutionFailed", failed, {"error": "Work.Broke", "cause": "item 1"})
    found = from_history(h.events)
    work = found[("Fan", "Work")]
    assert (work.status, dict(work.counts), work.visits, work.input, work.error) == (
        "FAILED",
        {"SUCCEEDED": 2, "FAILED": 1},
        3,
        "1",
        "Work.Broke",
    )
    fan = found[("Fan",)]
    assert (fan.status, fan.error, fan.cause) == ("FAILED", "Work.Broke", "item 1")
    assert fan.iterations == Iterations(total=3, succeeded=2, failed=1, running=0, aborted=0)


def test_a_running_map_counts_iterations_still_to_run() -> None:
    h = History()
    map_run(h, ["ok", "running", "running"])
    found = from_history(h.events)
    assert found[("Fan",)].status == "RUNNING"
    assert found[("Fan",)].iterations == Iterations(total=3, succeeded=1, failed=0, running=2, aborted=0)
    assert dict(found[("Fan", "Work")].counts) == {"SUCCEEDED": 1, "RUNNING": 2}
    assert found[("Fan", "Work")].status == "RUNNING"


def test_a_distributed_map_names_its_map_run_instead_of_counting() -> None:
    h = History()
    fan = h.enter("Map", "Fan", 0)
    run = "arn:aws:states:us-east-1:123456789012:mapRun:machine/Fan:4e1f"
    h.add("MapRunStarted", h.add("MapStateStarted", fan, {"length": 0}), {"mapRunArn": run})
    outcome = from_history(h.events)[("Fan",)]
    assert (outcome.status, outcome.map_run_arn, outcome.iterations) == ("RUNNING", run, None)


def test_a_redriven_state_shows_its_new_visit() -> None:
    h = History()
    call = h.enter("Task", "Call", h.exit("Pass", "First", h.enter("Pass", "First", 0)))
    failed = h.add("ExecutionFailed", h.failed("TaskFailed", h.add("TaskScheduled", call, {})), {"error": "Boom", "cause": "x"})
    again = h.enter("Task", "Call", h.add("ExecutionRedriven", failed, {"redriveCount": 1}))
    h.exit("Task", "Call", h.add("TaskSucceeded", h.add("TaskScheduled", again, {}), {"output": "{}"}))
    found = from_history(h.events)
    assert set(found) == {("First",), ("Call",)}
    assert (found[("Call",)].status, found[("Call",)].visits, found[("Call",)].error) == ("SUCCEEDED", 1, None)


def test_an_evaluation_failure_is_the_states_error() -> None:
    h = History()
    pick = h.enter("Pass", "Shape", 0)
    failed = h.add("EvaluationFailed", 0, {"error": "States.QueryEvaluationError", "cause": "bad", "state": "Shape"})
    h.add("ExecutionFailed", failed, {"error": "States.QueryEvaluationError", "cause": "bad"})
    assert pick == 1
    shape = from_history(h.events)[("Shape",)]
    assert (shape.status, shape.error) == ("FAILED", "States.QueryEvaluationError")
