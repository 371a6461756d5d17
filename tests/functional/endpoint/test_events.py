"""EventBridge through the endpoint with a real boto3 client: buses, rules, targets, PutEvents, tags."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

DEADLINE_S = 10.0


def _queue(aws: Callable[..., Any], name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive(aws: Callable[..., Any], url: str, count: int = 1) -> list[dict[str, Any]]:
    """Messages of ``url`` until ``count`` arrived (deleting them), or fail at the deadline."""
    sqs = aws("sqs")
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} of {count} messages arrived"
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_buses(aws: Callable[..., Any]) -> None:
    events = aws("events")
    arn = events.create_event_bus(Name="orders-bus", Description="orders", Tags=[{"Key": "team", "Value": "a"}])["EventBusArn"]
    assert arn.endswith(":event-bus/orders-bus")
    described = events.describe_event_bus(Name=arn)
    assert (described["Name"], described["Description"]) == ("orders-bus", "orders")
    assert events.describe_event_bus()["Name"] == "default"
    names = [b["Name"] for b in events.list_event_buses(NamePrefix="orders")["EventBuses"]]
    assert names == ["orders-bus"]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    assert _error(lambda: events.create_event_bus(Name="orders-bus")) == (
        "ResourceAlreadyExistsException",
        "Event bus orders-bus already exists.",
    )
    assert _error(lambda: events.delete_event_bus(Name="default")) == ("ValidationException", "Cannot delete event bus default.")
    events.put_rule(Name="on-orders", EventBusName="orders-bus", EventPattern='{"source": ["shop"]}')
    events.delete_event_bus(Name="orders-bus")  # with its rule, as EventBridge does
    assert _error(lambda: events.describe_event_bus(Name="orders-bus")) == (
        "ResourceNotFoundException",
        "Event bus orders-bus does not exist.",
    )
    events.delete_event_bus(Name="orders-bus")  # deleting a bus that is not there succeeds


def test_rules(aws: Callable[..., Any]) -> None:
    events = aws("events")
    arn = events.put_rule(Name="r-one", EventPattern='{"source": ["shop"]}', Description="first")["RuleArn"]
    assert arn.endswith(":rule/r-one")
    events.put_rule(Name="r-two", ScheduleExpression="rate(5 minutes)", State="DISABLED")
    one = events.describe_rule(Name="r-one")
    assert (one["EventPattern"], one["State"], one["Description"], one["EventBusName"]) == (
        '{"source": ["shop"]}',
        "ENABLED",
        "first",
        "default",
    )
    two = events.describe_rule(Name="r-two")
    assert two["ScheduleExpression"] == "rate(5 minutes)" and "EventPattern" not in two and two["State"] == "DISABLED"
    first = events.list_rules(NamePrefix="r-", Limit=1)
    assert [r["Name"] for r in first["Rules"]] == ["r-one"]
    rest = events.list_rules(NamePrefix="r-", Limit=1, NextToken=first["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["r-two"] and "NextToken" not in rest
    events.enable_rule(Name="r-two")
    assert events.describe_rule(Name="r-two")["State"] == "ENABLED"
    events.disable_rule(Name="r-one")
    assert events.describe_rule(Name="r-one")["State"] == "DISABLED"
    code, message = _error(lambda: events.put_rule(Name="bad", EventPattern='{"source": "shop"}'))
    assert code == "InvalidEventPatternException" and message.startswith("Event pattern is not valid. Reason: ")
    assert _error(lambda: events.put_rule(Name="bad")) == (
        "ValidationException",
        "Parameter(s) EventPattern or ScheduleExpression must be specified.",
    )
    assert _error(lambda: events.put_rule(Name="bad", ScheduleExpression="rate(1 minutes)")) == (
        "ValidationException",
        "Parameter ScheduleExpression is not valid.",
    )
    events.create_event_bus(Name="sched-bus")
    assert _error(lambda: events.put_rule(Name="bad", EventBusName="sched-bus", ScheduleExpression="rate(1 minute)")) == (
        "ValidationException",
        "ScheduleExpression is supported only on the default event bus.",
    )
    assert _error(lambda: events.describe_rule(Name="nope")) == (
        "ResourceNotFoundException",
        "Rule nope does not exist on EventBus default.",
    )
    events.put_targets(Rule="r-one", Targets=[{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:somewhere"}])
    assert _error(lambda: events.delete_rule(Name="r-one")) == ("ValidationException", "Rule can't be deleted since it has targets.")
    events.delete_rule(Name="r-one", Force=True)
    events.delete_rule(Name="r-two")
    assert events.list_rules(NamePrefix="r-")["Rules"] == []


def test_targets(aws: Callable[..., Any]) -> None:
    events = aws("events")
    events.put_rule(Name="t-rule", EventPattern='{"source": ["shop"]}')
    queue = "arn:aws:sqs:us-east-1:000000000000:t-queue"
    answer = events.put_targets(
        Rule="t-rule",
        Targets=[
            {"Id": "a", "Arn": queue, "InputPath": "$.detail", "RetryPolicy": {"MaximumRetryAttempts": 3}},
            {"Id": "b", "Arn": queue, "Input": "not json"},
        ],
    )
    assert answer["FailedEntryCount"] == 1 and answer["FailedEntries"][0]["TargetId"] == "b"
    [target] = events.list_targets_by_rule(Rule="t-rule")["Targets"]
    assert (target["Id"], target["InputPath"], target["RetryPolicy"]["MaximumRetryAttempts"]) == ("a", "$.detail", 3)
    assert events.list_rule_names_by_target(TargetArn=queue)["RuleNames"] == ["t-rule"]
    many = [{"Id": f"x{i}", "Arn": queue} for i in range(5)]
    assert _error(lambda: events.put_targets(Rule="t-rule", Targets=many))[0] == "LimitExceededException"
    removed = events.remove_targets(Rule="t-rule", Ids=["a", "zz"])
    assert removed["FailedEntryCount"] == 1 and removed["FailedEntries"][0]["ErrorCode"] == "ResourceNotFoundException"
    assert events.list_targets_by_rule(Rule="t-rule")["Targets"] == []
    events.delete_rule(Name="t-rule")


def test_put_events_reaches_a_queue_through_a_rule(aws: Callable[..., Any]) -> None:
    events = aws("events")
    url, arn = _queue(aws, "ev-orders")
    plain_url, plain_arn = _queue(aws, "ev-plain")
    events.put_rule(Name="ev-orders", EventPattern=json.dumps({"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}}))
    events.put_targets(
        Rule="ev-orders",
        Targets=[
            {
                "Id": "shaped",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.id", "total": "$.detail.total"},
                    "InputTemplate": '{"order": <order>, "total": <total>, "rule": <aws.events.rule-name>}',
                },
            },
            {"Id": "plain", "Arn": plain_arn},
        ],
    )
    answer = events.put_events(
        Entries=[
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"id": "o-1", "total": 42})},
            {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"id": "o-2", "total": 5})},
            {"Source": "shop", "DetailType": "Order", "Detail": "[1, 2]"},
            {"Source": "shop", "DetailType": "Order"},
        ]
    )
    assert answer["FailedEntryCount"] == 2
    assert [e.get("ErrorCode") for e in answer["Entries"]] == [None, None, "MalformedDetail", "InvalidArgument"]
    assert answer["Entries"][2]["ErrorMessage"] == "Detail is malformed."
    assert answer["Entries"][3]["ErrorMessage"] == "Parameter Detail is not valid. Reason: Detail is a required argument."
    assert _receive(aws, url) == [{"order": "o-1", "total": 42, "rule": "ev-orders"}]
    [event] = _receive(aws, plain_url)
    assert (event["id"], event["source"], event["detail"]) == (answer["Entries"][0]["EventId"], "shop", {"id": "o-1", "total": 42})


def test_a_disabled_rule_delivers_nothing(aws: Callable[..., Any]) -> None:
    events = aws("events")
    on_url, on_arn = _queue(aws, "ev-on")
    off_url, off_arn = _queue(aws, "ev-off")
    for name, arn in (("ev-on", on_arn), ("ev-off", off_arn)):
        events.put_rule(Name=name, EventPattern='{"source": ["toggle"]}')
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    events.disable_rule(Name="ev-off")
    events.put_events(Entries=[{"Source": "toggle", "DetailType": "T", "Detail": "{}"}])
    _receive(aws, on_url)  # the event was routed: the disabled rule's target got nothing
    assert aws("sqs").receive_message(QueueUrl=off_url, WaitTimeSeconds=0).get("Messages", []) == []


def test_put_events_refusals(aws: Callable[..., Any]) -> None:
    events = aws("events")
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}"}
    code, message = _error(lambda: events.put_events(Entries=[entry] * 11))
    assert code == "ValidationException" and "Member must have length less than or equal to 10" in message
    answer = events.put_events(Entries=[{**entry, "EventBusName": "no-such-bus"}, {**entry, "Source": "aws.s3"}])
    assert [e["ErrorCode"] for e in answer["Entries"]] == ["ResourceNotFoundException", "NotAuthorizedForSourceException"]


def test_test_event_pattern(aws: Callable[..., Any]) -> None:
    events = aws("events")
    event = {
        "id": "1", "account": "123456789012", "source": "shop", "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1", "detail-type": "Order", "resources": [], "detail": {"total": 12},
    }  # fmt: skip
    assert events.test_event_pattern(EventPattern='{"detail": {"total": [{"numeric": [">", 10]}]}}', Event=json.dumps(event))["Result"]
    assert not events.test_event_pattern(EventPattern='{"source": ["other"]}', Event=json.dumps(event))["Result"]
    assert _error(lambda: events.test_event_pattern(EventPattern='{"source": ["x"]}', Event="{}")) == (
        "ValidationException",
        "Parameter Event is not valid.",
    )


def test_tags(aws: Callable[..., Any]) -> None:
    events = aws("events")
    arn = events.put_rule(Name="tagged", EventPattern='{"source": ["x"]}', Tags=[{"Key": "a", "Value": "1"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}])
    events.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    missing = arn.replace("tagged", "missing")
    assert _error(lambda: events.list_tags_for_resource(ResourceARN=missing)) == (
        "ResourceNotFoundException",
        "Rule missing does not exist on EventBus default.",
    )
