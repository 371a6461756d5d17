"""CloudWatch Logs account policies through the endpoint with boto3: PutAccountPolicy,
DescribeAccountPolicies and DeleteAccountPolicy, and a subscription filter policy's deliveries
(each matching event of every selected log group once, marked ``ACCOUNT_LEVEL_POLICY``)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.backends.local._cw_subscription_feed import SubscriptionFeed
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ACCOUNT = "111111111111"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
SUB = "SUBSCRIPTION_FILTER_POLICY"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


SINK = _zip(
    "import base64, gzip, json\n"
    "def handler(event, context):\n"
    "    data = json.loads(gzip.decompress(base64.b64decode(event['awslogs']['data'])))\n"
    "    print('got ' + json.dumps(data))\n"
)


class Running:
    """A stack of its own (an account policy applies to every group of it) and its endpoint,
    without the alarm evaluator: each test pulls the subscription feed itself."""

    def __init__(self, data_dir: Path) -> None:
        self.stack: Stack = build_stack(Settings.load(data_dir=data_dir, workers=2), invoker_mode="process")
        self.evaluator, self.stack.alarms = self.stack.alarms, None
        self.stack.start("account policy tests")
        self.endpoint = Endpoint(self.stack, host="127.0.0.1", port=0)
        self.endpoint.start()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        config = Config(retries={"max_attempts": 1})
        self.client: Callable[[str], Any] = lambda service: session.client(service, endpoint_url=self.endpoint.url, config=config)

    def feed(self) -> SubscriptionFeed:
        local, kinesis = self.stack.local, self.stack.kinesis
        assert kinesis is not None
        return SubscriptionFeed(local.cloudwatch, local.logs.path, local.async_invocations, kinesis, account_id=ACCOUNT)

    def close(self) -> None:
        self.endpoint.close()
        self.stack.close()
        if self.evaluator is not None:
            self.evaluator.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    served = Running(tmp_path_factory.mktemp("account-policies") / "data")
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def logs(running: Running) -> Any:
    return running.client("logs")


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return str(info.value.response["Error"]["Code"]), str(info.value.response["Error"]["Message"])


def _group(logs: Any, name: str) -> str:
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def _put(logs: Any, group: str, messages: list[str]) -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": m} for m in messages])


def _function(running: Running, name: str) -> str:
    running.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/lambda", Handler="lambda_function.handler",
        Code={"ZipFile": SINK},
    )  # fmt: skip
    return FUNCTION_ARN + name


def _received(logs: Any, function: str, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except ClientError:
            events = []
        got = [json.loads(e["message"].strip()[len("got ") :]) for e in events if e["message"].startswith("got ")]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    pytest.fail(f"{function} received {got}, not {count} deliveries")


def _document(arn: str, pattern: str = "ERROR") -> str:
    return json.dumps({"DestinationArn": arn, "FilterPattern": pattern, "Distribution": "Random"})


def test_a_subscription_policy_delivers_every_selected_groups_events_once(running: Running, logs: Any) -> None:
    arn = _function(running, "account-sink")
    orders, excluded = _group(logs, "/app/orders"), _group(logs, "/app/excluded")
    _put(logs, orders, ["ERROR before the policy"])
    feed = running.feed()
    try:
        assert feed.pull() == 0
        selection = 'LogGroupName NOT IN ["/app/excluded", "/aws/lambda/account-sink"]'
        logs.put_account_policy(
            policyName="errors-everywhere", policyDocument=_document(arn), policyType=SUB, scope="ALL", selectionCriteria=selection
        )
        later = _group(logs, "/app/made-later")  # a group made after the policy is one of the account's too
        # A group's own filter of the same name delivers beside the account's, each once.
        logs.put_subscription_filter(logGroupName=orders, filterName="errors-everywhere", filterPattern="ERROR", destinationArn=arn)
        _put(logs, orders, ["ERROR one", "all fine"])
        _put(logs, excluded, ["ERROR never sent"])
        _put(logs, later, ["ERROR two"])
        assert feed.pull() == 3
        assert feed.pull() == 0
    finally:
        feed.close()
    again = running.feed()  # as after a restart: the cursor was committed with the deliveries
    try:
        assert again.pull() == 0
    finally:
        again.close()
    got = _received(logs, "account-sink", 3)
    assert len(got) == 3
    account = sorted((d for d in got if "policyLevel" in d), key=lambda d: str(d["logGroup"]))
    [own] = [d for d in got if "policyLevel" not in d]
    assert [list(d) for d in account] == [
        ["messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents", "policyLevel"]
    ] * 2
    assert [(d["logGroup"], d["subscriptionFilters"], d["policyLevel"], d["owner"]) for d in account] == [
        (later, ["errors-everywhere"], "ACCOUNT_LEVEL_POLICY", ACCOUNT),
        (orders, ["errors-everywhere"], "ACCOUNT_LEVEL_POLICY", ACCOUNT),
    ]
    assert [[e["message"] for e in d["logEvents"]] for d in account] == [["ERROR two"], ["ERROR one"]]
    assert (own["logGroup"], [e["message"] for e in own["logEvents"]]) == (orders, ["ERROR one"])

    logs.delete_account_policy(policyName="errors-everywhere", policyType=SUB)
    logs.delete_subscription_filter(logGroupName=orders, filterName="errors-everywhere")
    _put(logs, orders, ["ERROR after the delete"])
    feed = running.feed()
    try:
        assert feed.pull() == 0
    finally:
        feed.close()


def test_put_describe_and_delete_answer_aws_shapes(running: Running, logs: Any) -> None:
    arn = _function(running, "shape-sink")
    before = int(datetime.now(UTC).timestamp() * 1000)
    put = logs.put_account_policy(policyName="p", policyDocument=_document(arn), policyType=SUB)["accountPolicy"]
    assert put == {
        "policyName": "p",
        "policyDocument": _document(arn),
        "lastUpdatedTime": put["lastUpdatedTime"],
        "policyType": SUB,
        "scope": "ALL",
        "accountId": ACCOUNT,
    }
    assert put["lastUpdatedTime"] >= before
    assert logs.describe_account_policies(policyType=SUB)["accountPolicies"] == [put]
    assert logs.describe_account_policies(policyType=SUB, policyName="other")["accountPolicies"] == []
    assert logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"] == []
    # One subscription filter policy per account: another name is over the limit, the same name an update.
    assert _error(logs.put_account_policy, policyName="q", policyDocument=_document(arn), policyType=SUB)[0] == "LimitExceededException"
    updated = logs.put_account_policy(
        policyName="p", policyDocument=_document(arn, ""), policyType=SUB, selectionCriteria='LogGroupName NOT IN ["/x"]'
    )["accountPolicy"]
    assert (updated["policyDocument"], updated["selectionCriteria"]) == (_document(arn, ""), 'LogGroupName NOT IN ["/x"]')
    # Other types are kept and described (not applied).
    index = logs.put_account_policy(
        policyName="idx", policyDocument='{"Fields": ["requestId"]}', policyType="FIELD_INDEX_POLICY"
    )["accountPolicy"]  # fmt: skip
    assert logs.describe_account_policies(policyType="FIELD_INDEX_POLICY")["accountPolicies"] == [index]
    logs.delete_account_policy(policyName="idx", policyType="FIELD_INDEX_POLICY")
    logs.delete_account_policy(policyName="p", policyType=SUB)
    assert logs.describe_account_policies(policyType=SUB)["accountPolicies"] == []
    code, _ = _error(logs.delete_account_policy, policyName="p", policyType=SUB)
    assert code == "ResourceNotFoundException"


def test_what_a_subscription_policy_must_be(running: Running, logs: Any) -> None:
    arn = _function(running, "check-sink")

    def refused(document: str, **kwargs: Any) -> tuple[str, str]:
        return _error(logs.put_account_policy, policyName="bad", policyDocument=document, policyType=SUB, **kwargs)

    assert refused('{"FilterPattern": "ERROR"}')[0] == "InvalidParameterException"  # no destination
    assert refused("not json")[0] == "InvalidParameterException"
    assert refused(_document(arn), selectionCriteria='LogGroupNamePrefix IN ["/a"]')[0] == "InvalidParameterException"
    assert refused(_document(arn, "{ $.x = "))[0] == "InvalidParameterException"
    # The destination is checked as PutSubscriptionFilter checks one, in its words.
    assert refused(_document(FUNCTION_ARN + "missing")) == (
        "InvalidParameterException",
        "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function.",
    )
    assert refused(_document("arn:aws:lambda:us-east-1:222222222222:function:x"))[0] == "AccessDeniedException"
    code, message = _error(logs.put_account_policy, policyName="bad", policyDocument=_document(arn), policyType="NOPE")
    assert code == "InvalidParameterException" and "Member must satisfy enum value set" in message
    assert _error(logs.put_account_policy, policyName="aws/x", policyDocument=_document(arn), policyType=SUB)[0] == (
        "InvalidParameterException"
    )
    assert logs.describe_account_policies(policyType=SUB)["accountPolicies"] == []
