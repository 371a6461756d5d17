"""Rules, targets and retry policies: EventBridge's limits, names and messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sluiceway.errors import ConfigError, EventPatternError
from sluiceway.events.envelope import execution_name_for
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import (
    Delivery,
    InputTransformer,
    RetryPolicy,
    Rule,
    RuleValidationError,
    Target,
    bus_arn,
    check_bus_name,
    check_rule_name,
    rule_arn,
    target_kind,
)

QUEUE = "arn:aws:sqs:us-east-1:111111111111:work"
DLQ = "arn:aws:sqs:us-east-1:111111111111:work-dlq"
MACHINE = "arn:aws:states:us-east-1:111111111111:stateMachine:DataProcessingWorkflow"
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:ValidateData"
TOPIC = "arn:aws:sns:us-east-1:111111111111:alerts"
PATTERN = compile_pattern({"source": ["app"]})
EVENT: dict[str, Any] = {"id": "e-1", "source": "app", "detail-type": "Done", "detail": {"n": 1}}


# -- retry policy ----------------------------------------------------------------------------


def test_retry_policy_defaults_are_eventbridges() -> None:
    policy = RetryPolicy()
    assert (policy.maximum_retry_attempts, policy.maximum_event_age_s) == (185, 86_400)
    assert policy.to_json() == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86_400}


@pytest.mark.parametrize(
    ("attempts", "age"),
    [(-1, 60), (186, 60), (0, 59), (0, 86_401), (True, 60), (1.5, 60)],
)
def test_retry_policy_ranges(attempts: Any, age: Any) -> None:
    with pytest.raises(RuleValidationError, match="RetryPolicy"):
        RetryPolicy(attempts, age)


def test_retry_policy_bounds_are_allowed() -> None:
    assert RetryPolicy(0, 60).maximum_retry_attempts == 0
    assert RetryPolicy(185, 86_400).maximum_event_age_s == 86_400


def test_retry_policy_from_aws_shape() -> None:
    assert RetryPolicy.from_json({"MaximumRetryAttempts": 3}) == RetryPolicy(3, 86_400)
    assert RetryPolicy.from_json({}) == RetryPolicy()


def test_backoff_doubles_from_one_second_with_jitter_in_the_upper_half() -> None:
    policy = RetryPolicy()
    assert [policy.backoff_s(n, 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert [policy.backoff_s(n, 0.999999) for n in range(1, 4)] == pytest.approx([1.0, 2.0, 4.0])


def test_backoff_is_capped_at_ten_minutes() -> None:
    policy = RetryPolicy()
    assert policy.backoff_s(11, 0.0) == 300.0
    assert policy.backoff_s(185, 0.999999) == pytest.approx(600.0)
    assert policy.backoff_s(10_000, 1.0) == 600.0


def test_default_retries_spread_over_most_of_a_day() -> None:
    # 185 retries with average jitter take a little less than the default 24 hours.
    total = sum(RetryPolicy().backoff_s(n, 0.5) for n in range(1, 186))
    assert 0.8 * 86_400 < total < 86_400


def test_exhausted_conditions() -> None:
    policy = RetryPolicy(maximum_retry_attempts=2, maximum_event_age_s=60)
    assert policy.exhausted(2, 10) is None
    assert policy.exhausted(3, 10) == "MaximumRetryAttempts"
    assert policy.exhausted(1, 61) == "MaximumEventAgeInSeconds"
    assert RetryPolicy(0).exhausted(1, 0) == "MaximumRetryAttempts"


# -- targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "kind"),
    [(MACHINE, "state-machine"), (FUNCTION, "function"), (QUEUE, "queue"), (TOPIC, "topic")],
)
def test_target_kinds(arn: str, kind: str) -> None:
    assert target_kind(arn) == kind
    assert Target("t", arn).kind == kind


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:s3:::bucket",
        "arn:aws:states:us-east-1:1:execution:M:run",
        "arn:aws:lambda:us-east-1:1:layer:x",
        "not an arn",
    ],
)
def test_unsupported_target_arns(arn: str) -> None:
    with pytest.raises(RuleValidationError, match="not supported"):
        Target("t", arn)


@pytest.mark.parametrize("target_id", ["", "a b", "x" * 65, "é"])
def test_target_ids(target_id: str) -> None:
    with pytest.raises(RuleValidationError, match="Target id"):
        Target(target_id, QUEUE)


def test_only_one_input_mode() -> None:
    with pytest.raises(RuleValidationError) as info:
        Target("t1", QUEUE, input_path="$.detail", input_transformer=InputTransformer('"x"'))
    assert (
        str(info.value)
        == "Only one of Input, InputPath, or InputTransformer must be provided for target t1."
    )


def test_input_must_be_json() -> None:
    with pytest.raises(RuleValidationError, match="Input for target t1 is not valid JSON"):
        Target("t1", QUEUE, input="{nope")


def test_input_path_must_be_a_path() -> None:
    with pytest.raises(RuleValidationError, match="InputPath for target t1"):
        Target("t1", QUEUE, input_path="detail")


def test_transformer_problems_are_refused_with_aws_message() -> None:
    with pytest.raises(RuleValidationError) as info:
        Target("t1", QUEUE, input_transformer=InputTransformer('"<missing>"', {"a": "$.a"}))
    assert str(info.value) == "InputTemplate for target t1 contains invalid placeholder missing."


def test_dead_letter_queue_must_be_a_standard_queue() -> None:
    with pytest.raises(RuleValidationError, match="must be an SQS queue"):
        Target("t1", QUEUE, dead_letter_arn=TOPIC)
    with pytest.raises(RuleValidationError, match="FIFO"):
        Target("t1", QUEUE, dead_letter_arn=DLQ + ".fifo")
    assert Target("t1", QUEUE, dead_letter_arn=DLQ).dead_letter_arn == DLQ


def test_validation_errors_are_config_errors() -> None:
    assert issubclass(RuleValidationError, ConfigError)


def render(target: Target, event: Mapping[str, Any] = EVENT) -> Any:
    return target.render(
        event, rule_name="r", rule_arn="arn:r", ingestion_time="2026-01-01T00:00:00Z"
    )


def test_render_whole_event_by_default() -> None:
    assert render(Target("t", QUEUE)) == EVENT


def test_render_constant_input() -> None:
    assert render(Target("t", QUEUE, input='{"fixed": [1, 2]}')) == {"fixed": [1, 2]}


def test_render_input_path() -> None:
    assert render(Target("t", QUEUE, input_path="$.detail")) == {"n": 1}


def test_render_input_transformer() -> None:
    transformer = InputTransformer(
        '{"n": <n>, "rule": <aws.events.rule-name>}', {"n": "$.detail.n"}
    )
    assert render(Target("t", QUEUE, input_transformer=transformer)) == {"n": 1, "rule": "r"}


def test_targets_round_trip_through_aws_shape() -> None:
    target = Target(
        "t1",
        QUEUE,
        input_transformer=InputTransformer('"<n>"', {"n": "$.detail.n"}),
        retry_policy=RetryPolicy(3, 120),
        dead_letter_arn=DLQ,
    )
    shape = target.to_json()
    assert shape == {
        "Id": "t1",
        "Arn": QUEUE,
        "InputTransformer": {"InputTemplate": '"<n>"', "InputPathsMap": {"n": "$.detail.n"}},
        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120},
        "DeadLetterConfig": {"Arn": DLQ},
    }
    assert Target.from_json(shape) == target
    assert (
        Target.from_json({"Id": "p", "Arn": QUEUE, "InputPath": "$.detail"}).input_path
        == "$.detail"
    )


@pytest.mark.parametrize(
    "shape",
    [
        {"Arn": QUEUE},
        {"Id": "t"},
        {"Id": "t", "Arn": QUEUE, "InputTransformer": {"InputPathsMap": {}}},
        {
            "Id": "t",
            "Arn": QUEUE,
            "InputTransformer": {"InputTemplate": '"x"', "InputPathsMap": []},
        },
        {"Id": "t", "Arn": QUEUE, "RetryPolicy": [1]},
    ],
)
def test_incomplete_target_shapes(shape: dict[str, Any]) -> None:
    with pytest.raises(RuleValidationError):
        Target.from_json(shape)


# -- rules -----------------------------------------------------------------------------------


def test_at_most_five_targets() -> None:
    five = tuple(Target(f"t{i}", QUEUE) for i in range(5))
    assert len(Rule("r", PATTERN, five).targets) == 5
    with pytest.raises(RuleValidationError, match="at most 5"):
        Rule("r", PATTERN, (*five, Target("t5", QUEUE)))


def test_target_ids_are_unique_in_a_rule() -> None:
    with pytest.raises(RuleValidationError, match="same Id"):
        Rule("r", PATTERN, (Target("t", QUEUE), Target("t", TOPIC)))


def test_rule_state() -> None:
    assert Rule("r", PATTERN).enabled
    assert not Rule("r", PATTERN, state="DISABLED").enabled
    with pytest.raises(RuleValidationError, match="ENABLED or DISABLED"):
        Rule("r", PATTERN, state="OFF")  # type: ignore[arg-type]


def test_rule_needs_a_compiled_pattern() -> None:
    with pytest.raises(TypeError):
        Rule("r", {"source": ["app"]})  # type: ignore[arg-type]


def test_callable_targets_are_known_by_position_and_not_storable() -> None:
    def call(event: Mapping[str, Any]) -> None: ...

    rule = Rule("pipeline-trigger", PATTERN, (call, Target("q", QUEUE)))
    assert rule.target_ids == ("0", "q")
    assert rule.target("0") is call
    assert rule.target("nope") is None
    assert not rule.storable
    with pytest.raises(RuleValidationError, match="in-process targets"):
        rule.check()


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "a/b"])
def test_rule_names(name: str) -> None:
    with pytest.raises(RuleValidationError, match="Rule name"):
        check_rule_name(name)


def test_bus_names() -> None:
    assert check_bus_name("orders/eu.prod_1") == "orders/eu.prod_1"
    with pytest.raises(RuleValidationError, match="Event bus name"):
        check_bus_name("with space")


def test_from_definition_gives_aws_pattern_errors() -> None:
    with pytest.raises(EventPatternError) as info:
        Rule.from_definition("r", '{"source": []}')
    assert str(info.value) == "Event pattern is not valid. Reason: Empty arrays are not allowed"
    rule = Rule.from_definition("r", '{"source": ["app"]}', bus="orders", description="d")
    assert (rule.bus, rule.description, rule.pattern.matches(EVENT)) == ("orders", "d", True)


def test_arns() -> None:
    assert rule_arn("r", region="eu-west-1", account="1") == "arn:aws:events:eu-west-1:1:rule/r"
    assert rule_arn("r", bus="orders", region="eu-west-1", account="1") == (
        "arn:aws:events:eu-west-1:1:rule/orders/r"
    )
    assert (
        bus_arn("orders", region="eu-west-1", account="1")
        == "arn:aws:events:eu-west-1:1:event-bus/orders"
    )


# -- deliveries ------------------------------------------------------------------------------


S3_EVENT: dict[str, Any] = {
    "id": "e-9",
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {
        "bucket": {"name": "in"},
        "object": {"key": "d/sales.csv", "etag": "abc", "sequencer": "01"},
    },
}


def delivery(event: Mapping[str, Any]) -> Delivery:
    return Delivery({}, event, "r", "arn:r", "t", MACHINE)


def test_execution_name_is_the_events() -> None:
    assert delivery(S3_EVENT).execution_name.startswith(execution_name_for(S3_EVENT) + "-")


def test_a_replay_gets_its_own_execution_name_once() -> None:
    replayed = {**S3_EVENT, "replay-name": "default-20260101T000000"}
    name = delivery(replayed).execution_name
    assert name.startswith(execution_name_for(S3_EVENT) + "-")
    assert name == delivery(dict(replayed)).execution_name
    assert name != delivery({**S3_EVENT, "replay-name": "other"}).execution_name
    assert len(name) <= 80
    assert delivery(replayed).replay_name == "default-20260101T000000"
