"""Execution names of state machine targets: one per (event, replay, rule, target), the same every attempt."""

from __future__ import annotations

from typing import Any

from sluiceway.events.envelope import execution_name_for
from sluiceway.events.rules import Delivery, delivery_execution_name, rule_arn

REGION, ACCOUNT = "us-east-1", "111111111111"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:process"
RULE = rule_arn("fwd", region=REGION, account=ACCOUNT)
AUDIT = rule_arn("audit-sm", bus="audit", region=REGION, account=ACCOUNT)
S3_EVENT: dict[str, Any] = {
    "id": "e-1",
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {"bucket": {"name": "in"}, "object": {"key": "d/sales.csv", "etag": "abc", "sequencer": "01"}},
}


def delivery(event: dict[str, Any], rule: str = RULE, target: str = "sm", attempt: int = 1) -> Delivery:
    return Delivery({}, event, rule.rsplit("/", 1)[-1], rule, target, MACHINE, attempt)


def test_every_rule_target_gets_its_own_name_and_every_attempt_the_same() -> None:
    name = delivery(S3_EVENT).execution_name
    assert name == delivery(S3_EVENT, attempt=4).execution_name
    assert name == delivery_execution_name(S3_EVENT, rule_arn=RULE, target_id="sm")
    assert len({name, delivery(S3_EVENT, AUDIT).execution_name, delivery(S3_EVENT, target="sm2").execution_name}) == 3


def test_names_keep_the_objects_key_and_write() -> None:
    # The same write reported twice (two event ids) is one run; the name still says which file.
    name = delivery(S3_EVENT).execution_name
    assert name.startswith(execution_name_for(S3_EVENT) + "-") and name.startswith("sales.csv-")
    assert name == delivery({**S3_EVENT, "id": "e-2"}).execution_name
    assert name != delivery({**S3_EVENT, "detail": {**S3_EVENT["detail"], "object": {"key": "d/sales.csv", "etag": "new"}}}).execution_name


def test_a_replay_gets_its_own_name_once() -> None:
    replayed = {**S3_EVENT, "replay-name": "r1"}
    name = delivery(replayed).execution_name
    assert name != delivery(S3_EVENT).execution_name
    assert name == delivery(dict(replayed), attempt=2).execution_name
    assert name != delivery({**S3_EVENT, "replay-name": "r2"}).execution_name


def test_names_fit_step_functions_limit() -> None:
    long_key = {**S3_EVENT, "detail": {**S3_EVENT["detail"], "object": {"key": "x" * 300}}, "replay-name": "r" * 300}
    assert len(delivery(long_key, target="t" * 64).execution_name) <= 80
