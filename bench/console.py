"""Benchmark: what the console's pages cost with 10,000 executions and a 1,000-state history.

Issue 16 asks the console to stay fast with 10,000 executions and 1,000-state histories. The
browser draws what the management API gives it, so this measures the API calls each page
makes, over HTTP with a viewer's token, on a stack holding that much:

* ``list``: the executions page's first page of 100 (``GET /executions``), unfiltered and with
  ``statusFilter=FAILED`` (the failed ones are the rarest, so the filter must use the index,
  not scan), the third page through ``nextToken``, and a name prefix only the oldest runs have
  (the API reads the whole list for it: 1,000 ms);
* ``graph`` / ``history`` / ``state``: one execution whose history holds 1,000 state visits
  (a Choice loop of 500 rounds: Choice and Pass, 1,000 states entered, ~2,000 events):
  ``GET /executions/{arn}/graph`` (definition, whole history, layout and outcomes),
  the history's first page of 100, and ``GET /executions/{arn}/states/Step``.

    .venv/bin/python bench/console.py [--executions 10000] [--rounds 5]

Prints each call's median milliseconds over the rounds and the budget it is held to (what a
page can spend and still show a change within a second with its 500 ms polling): 250 ms
for a list page, 1,000 ms for the graph of the 1,000-state history. It reports, it does not gate:
exit 0 either way, non-zero only when a call fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import json
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

API = "/_sluiceway/api"
PASSWORD = "Bench-console-9-password"
BUDGET_MS = {
    "list": 250.0,
    "list_failed": 250.0,
    "list_page3": 250.0,
    "list_name": 1000.0,
    "history": 250.0,
    "state": 500.0,
    "graph": 1000.0,
}
QUICK = {
    "StartAt": "Fails?",
    "States": {
        "Fails?": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Nope"}], "Default": "Done"},
        "Done": {"Type": "Pass", "End": True},
        "Nope": {"Type": "Fail", "Error": "Bench", "Cause": "on purpose"},
    },
}
LOOP = {
    "StartAt": "Again",
    "States": {
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericLessThan": 500, "Next": "Step"}],
            "Default": "Done",
        },
        "Step": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again"},
        "Done": {"Type": "Succeed"},
    },
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client(url: str, service: str) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client(service, endpoint_url=url, config=Config(retries={"max_attempts": 1}, max_pool_connections=16))


def wait_ended(sfn: Any, arn: str, timeout_s: float = 120.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = str(sfn.describe_execution(executionArn=arn)["status"])
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    raise SystemExit(f"{arn} still RUNNING after {timeout_s:g}s")


def viewer_token(url: str, stack: Any) -> str:
    pool = stack.local.user_pools.default_pool()
    idp = client(url, "cognito-idp")
    name = f"bench-{uuid.uuid4().hex[:6]}"
    idp.admin_create_user(UserPoolId=pool.pool_id, Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool.pool_id, Username=name, Password=PASSWORD, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=name, GroupName="viewer")
    answer = {"USERNAME": name, "PASSWORD": PASSWORD}
    auth = idp.initiate_auth(ClientId=pool.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=answer)
    return str(auth["AuthenticationResult"]["AccessToken"])


def timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{answer.request.method} {answer.request.url} -> {answer.status_code}: {answer.text[:300]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=10_000, help="executions of the listed state machine (default 10000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed calls of each kind (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-console-") as folder:
        settings = Settings.load(data_dir=Path(folder) / "data", workers=1, endpoint_port=free_port())
        stack = build_stack(settings, app=None)
        stack.start("console bench")
        endpoint = Endpoint(stack, host="127.0.0.1", port=settings.endpoint_port)
        endpoint.start()
        try:
            return run(endpoint.url, stack, args)
        finally:
            endpoint.close()
            stack.close()


def run(url: str, stack: Any, args: argparse.Namespace) -> int:
    sfn = client(url, "stepfunctions")
    role = "arn:aws:iam::000000000000:role/bench"
    many = sfn.create_state_machine(name="many", definition=json.dumps(QUICK), roleArn=role)["stateMachineArn"]
    loop = sfn.create_state_machine(name="loop", definition=json.dumps(LOOP), roleArn=role)["stateMachineArn"]

    started = time.perf_counter()
    failed_every = 50  # 2% of the runs fail: the status filter has few to find among many

    def start(n: int) -> None:
        sfn.start_execution(stateMachineArn=many, name=f"run-{n:05d}", input=json.dumps({"fail": n % failed_every == 0}))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(start, range(args.executions)))
    long_arn = sfn.start_execution(stateMachineArn=loop, name="long", input=json.dumps({"n": 0}))["executionArn"]
    wait_ended(sfn, long_arn)
    setup_s = time.perf_counter() - started
    events = sum(len(p["events"]) for p in sfn.get_paginator("get_execution_history").paginate(executionArn=long_arn))
    print(f"setup: {args.executions} executions ({args.executions // failed_every} failing) + 1 long ({events} events) in {setup_s:.1f} s")

    token = viewer_token(url, stack)
    http = httpx.Client(base_url=url + API, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    third = http.get("/executions", params={"stateMachineArn": many, "maxResults": 100}).json()["nextToken"]
    third = http.get("/executions", params={"stateMachineArn": many, "maxResults": 100, "nextToken": third}).json()["nextToken"]
    quoted = long_arn
    calls: dict[str, Callable[[], httpx.Response]] = {
        "list": lambda: http.get("/executions", params={"stateMachineArn": many, "maxResults": 100}),
        "list_failed": lambda: http.get("/executions", params={"stateMachineArn": many, "maxResults": 100, "statusFilter": "FAILED"}),
        "list_page3": lambda: http.get("/executions", params={"stateMachineArn": many, "maxResults": 100, "nextToken": third}),
        # The oldest runs' names: the server reads the whole list to find them (its scan bound is 10,000).
        "list_name": lambda: http.get("/executions", params={"stateMachineArn": many, "maxResults": 100, "namePrefix": "run-0000"}),
        "history": lambda: http.get(f"/executions/{quoted}/history", params={"maxResults": 100}),
        "state": lambda: http.get(f"/executions/{quoted}/states/Step"),
        "graph": lambda: http.get(f"/executions/{quoted}/graph"),
    }
    failures = 0
    for name, call in calls.items():
        timed(call)  # warm: the first call builds what later ones reuse
        figures = [timed(call) for _ in range(args.rounds)]
        median = statistics.median(figures)
        budget = BUDGET_MS[name]
        verdict = "within budget" if median <= budget else "OVER budget"
        print(f"{name:12s} median={median:8.1f} ms  max={max(figures):8.1f} ms  budget<={budget:.0f} ms  {verdict}")
        failures += median > budget
    print(f"{len(calls) - failures}/{len(calls)} within budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
