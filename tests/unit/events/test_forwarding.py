"""What event bus and log group targets receive (sluiceway.events.forwarding) and their ARNs."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.errors import InvalidNameError
from sluiceway.events.forwarding import bus_event, forward_key, log_event, log_stream_name
from sluiceway.events.rules import (
    Delivery,
    RuleValidationError,
    Target,
    rule_arn,
    rule_bus_name,
    target_bus_name,
    target_kind,
    target_log_group_name,
)
from sluiceway.types import JSON

REGION, ACCOUNT = "us-east-1", "111111111111"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders"
GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/events/repro"
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Order Placed",
    "source": "shop",
    "account": ACCOUNT,
    "time": "2024-03-01T12:30:00Z",
    "region": REGION,
    "resources": [],
    "detail": {"order": 7},
}
RULE = rule_arn("ship", bus="shop/main", region=REGION, account=ACCOUNT)


def delivery(payload: JSON, event: dict[str, Any] | None = None, *, target_arn: str = BUS) -> Delivery:
    return Delivery(payload, event or EVENT, "ship", RULE, "t1", target_arn)


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        (BUS, "event-bus"),
        (GROUP, "log-group"),
        (GROUP + ":*", "log-group"),
        (f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", "event-bus"),
    ],
)
def test_bus_and_log_group_arns_are_targets(arn: str, kind: str) -> None:
    assert target_kind(arn) == kind
    assert Target("t", arn).kind == kind


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r",
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:bad name",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:log-stream:s",
    ],
)
def test_other_events_and_logs_arns_are_refused(arn: str) -> None:
    with pytest.raises(RuleValidationError, match="not supported"):
        Target("t", arn)


def test_names_from_arns() -> None:
    assert target_bus_name(BUS) == "orders"
    assert target_log_group_name(GROUP) == "/aws/events/repro"
    assert target_log_group_name(GROUP + ":*") == "/aws/events/repro"
    assert rule_bus_name(RULE) == "shop/main"
    assert rule_bus_name(rule_arn("r", region=REGION, account=ACCOUNT)) == "default"


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/x",
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/",
        "arn:r",
    ],
)
def test_only_a_rules_arn_names_a_rules_bus(arn: str) -> None:
    with pytest.raises(RuleValidationError, match="not an EventBridge rule ARN"):
        rule_bus_name(arn)


def test_the_bus_gets_a_replayed_event_as_a_replay() -> None:
    replayed = {**EVENT, "replay-name": "again"}
    assert bus_event(delivery(dict(replayed), replayed)) == replayed


def test_a_transformed_input_keeps_the_events_identity() -> None:
    out = bus_event(delivery({"detail-type": "Shipped", "detail": {"n": 1}}))
    assert out == {**EVENT, "detail-type": "Shipped", "detail": {"n": 1}}
    assert bus_event(delivery({"n": 1}))["detail"] == {"n": 1}


@pytest.mark.parametrize("payload", ["text", 3, [1], {"detail": "x"}])
def test_an_input_that_cannot_be_a_detail_fails(payload: JSON) -> None:
    with pytest.raises(InvalidNameError, match="Detail is malformed"):
        bus_event(delivery(payload))


def test_forward_keys_tell_deliveries_and_replays_apart() -> None:
    first = forward_key(delivery(EVENT))
    assert first == forward_key(delivery(EVENT))
    assert first != forward_key(delivery(EVENT, {**EVENT, "replay-name": "r"}))
    assert first != forward_key(Delivery(EVENT, EVENT, "ship", RULE, "t2", BUS))


def test_log_event_is_the_compact_event_at_its_time() -> None:
    stamp, message = log_event(delivery(dict(EVENT), target_arn=GROUP), fallback_ms=1)
    assert stamp == 1709296200000
    assert message.startswith('{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",')


def test_each_delivery_has_its_own_stream_every_attempt_the_same() -> None:
    name = log_stream_name(delivery(EVENT, target_arn=GROUP))
    assert name == log_stream_name(Delivery(EVENT, EVENT, "ship", RULE, "t1", GROUP, attempt=3))
    others = {
        log_stream_name(Delivery(EVENT, EVENT, "ship", RULE, "t2", GROUP)),
        log_stream_name(Delivery(EVENT, EVENT, "other", rule_arn("other", region=REGION, account=ACCOUNT), "t1", GROUP)),
        log_stream_name(delivery(EVENT, {**EVENT, "replay-name": "r"}, target_arn=GROUP)),
        log_stream_name(delivery(EVENT, {**EVENT, "id": "another"}, target_arn=GROUP)),
    }
    assert name not in others and len(others) == 4


@pytest.mark.parametrize("stamp", [99999999999999999999, -1, "99999999999999999999", 1e300])
def test_a_timestamp_cloudwatch_logs_cannot_hold_fails_for_good(stamp: JSON) -> None:
    with pytest.raises(InvalidNameError, match="out of range"):
        log_event(delivery({"timestamp": stamp, "message": "m"}, target_arn=GROUP), fallback_ms=1)
    with pytest.raises(InvalidNameError, match="out of range"):
        log_event(delivery(dict(EVENT), {**EVENT, "time": stamp}, target_arn=GROUP), fallback_ms=1)


def test_a_timestamp_that_is_no_number_is_the_events_time() -> None:
    assert log_event(delivery({"timestamp": float("nan"), "message": "m"}, target_arn=GROUP), fallback_ms=1)[0] == 1709296200000


def test_log_event_template_sets_timestamp_and_message() -> None:
    payload = {"timestamp": "2024-03-01T12:31:00Z", "message": "Order Placed"}
    assert log_event(delivery(payload, target_arn=GROUP), fallback_ms=1) == (1709296260000, "Order Placed")
    assert log_event(delivery({"n": 1}, {**EVENT, "time": "later"}, target_arn=GROUP), fallback_ms=5) == (5, '{"n":1}')


@pytest.mark.parametrize("given", [{"input": '{"n": 1}'}, {"input_path": "$.detail"}])
def test_a_log_group_target_takes_no_input_or_input_path(given: dict[str, str]) -> None:
    with pytest.raises(RuleValidationError, match="log group target takes the matched event or an InputTransformer"):
        Target("t", GROUP, **given)  # type: ignore[arg-type]
