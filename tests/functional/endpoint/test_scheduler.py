"""EventBridge Scheduler through the endpoint with a real boto3 client, and a schedule firing into a queue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.clock import FakeClock
from sluiceway.runtime.bus.scheduler import ScheduleRunner
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import LocalTargets

ROLE = "arn:aws:iam::123456789012:role/scheduler"
DEADLINE_S = 10.0


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _target(arn: str = "arn:aws:sqs:us-east-1:123456789012:nowhere", **more: Any) -> dict[str, Any]:
    return {"Arn": arn, "RoleArn": ROLE, **more}


def test_schedules(aws: Callable[..., Any]) -> None:
    scheduler = aws("scheduler")
    later = datetime.now(UTC) + timedelta(days=30)
    arn = scheduler.create_schedule(
        Name="nightly",
        ScheduleExpression="cron(0 2 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Target=_target(Input='{"job": "nightly"}'),
        Description="every night",
        EndDate=later,
    )["ScheduleArn"]
    assert arn.endswith(":schedule/default/nightly")
    got = scheduler.get_schedule(Name="nightly")
    assert (got["GroupName"], got["State"], got["ScheduleExpressionTimezone"], got["Description"]) == (
        "default", "ENABLED", "Europe/Paris", "every night",
    )  # fmt: skip
    assert got["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert abs(got["EndDate"] - later) < timedelta(seconds=1)
    assert got["ActionAfterCompletion"] == "NONE"

    scheduler.update_schedule(
        Name="nightly", ScheduleExpression="rate(2 hours)", FlexibleTimeWindow={"Mode": "OFF"}, Target=_target(), State="DISABLED"
    )
    updated = scheduler.get_schedule(Name="nightly")
    assert (updated["ScheduleExpression"], updated["State"], updated["ScheduleExpressionTimezone"]) == ("rate(2 hours)", "DISABLED", "UTC")
    assert "Description" not in updated and updated["CreationDate"] == got["CreationDate"]

    scheduler.create_schedule_group(Name="batch", Tags=[{"Key": "team", "Value": "data"}])
    scheduler.create_schedule(
        Name="nightly", GroupName="batch", ScheduleExpression="at(2030-01-01T00:00:00)", FlexibleTimeWindow={"Mode": "OFF"},
        Target=_target(), ActionAfterCompletion="DELETE",
    )  # fmt: skip
    listed = scheduler.list_schedules(NamePrefix="night")["Schedules"]
    assert [(s["GroupName"], s["Name"]) for s in listed] == [("batch", "nightly"), ("default", "nightly")]
    assert [s["Name"] for s in scheduler.list_schedules(GroupName="batch")["Schedules"]] == ["nightly"]
    assert [s["GroupName"] for s in scheduler.list_schedules(NamePrefix="night", State="DISABLED")["Schedules"]] == ["default"]
    page = scheduler.list_schedules(NamePrefix="night", MaxResults=1)
    assert len(page["Schedules"]) == 1
    assert len(scheduler.list_schedules(NamePrefix="night", MaxResults=1, NextToken=page["NextToken"])["Schedules"]) == 1

    scheduler.delete_schedule(Name="nightly")
    assert _error(lambda: scheduler.get_schedule(Name="nightly")) == (
        "ResourceNotFoundException", "Schedule nightly does not exist.", 404,
    )  # fmt: skip
    scheduler.delete_schedule_group(Name="batch")  # its schedules go with it
    assert _error(lambda: scheduler.get_schedule(Name="nightly", GroupName="batch")) == (
        "ResourceNotFoundException", "Schedule group batch does not exist.", 404,
    )  # fmt: skip


def test_a_rate_unit_need_not_agree_with_its_value_as_for_rules(aws: Callable[..., Any]) -> None:
    scheduler = aws("scheduler")
    for name, expression in (("five", "rate(5 minute)"), ("one", "rate(1 hours)")):
        scheduler.create_schedule(Name=name, ScheduleExpression=expression, FlexibleTimeWindow={"Mode": "OFF"}, Target=_target())
        assert scheduler.get_schedule(Name=name)["ScheduleExpression"] == expression
        scheduler.delete_schedule(Name=name)


def test_schedule_refusals(aws: Callable[..., Any]) -> None:
    scheduler = aws("scheduler")

    def create(**changes: Any) -> Any:
        request = {"Name": "bad", "ScheduleExpression": "rate(5 minutes)", "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": _target()}
        return scheduler.create_schedule(**{**request, **changes})

    assert _error(lambda: create(ScheduleExpression="rate(10 seconds)")) == (
        "ValidationException", "Invalid Schedule Expression rate(10 seconds).", 400,
    )  # fmt: skip
    assert _error(lambda: create(ScheduleExpression="cron(0 2 * * * *)"))[0] == "ValidationException"
    assert _error(lambda: create(StartDate=datetime.now(UTC) - timedelta(hours=1))) == (
        "ValidationException", "The StartDate you specify cannot be earlier than 5 minutes ago.", 400,
    )  # fmt: skip
    assert _error(lambda: create(GroupName="nope"))[:2] == ("ResourceNotFoundException", "Schedule group nope does not exist.")
    assert _error(lambda: create(ScheduleExpressionTimezone="Mars/Olympus"))[0] == "ValidationException"
    create(Name="taken")
    assert _error(lambda: create(Name="taken")) == ("ConflictException", "Schedule taken already exists.", 409)
    scheduler.delete_schedule(Name="taken")


def test_schedule_groups(aws: Callable[..., Any]) -> None:
    scheduler = aws("scheduler")
    arn = scheduler.create_schedule_group(Name="grp-a")["ScheduleGroupArn"]
    assert arn.endswith(":schedule-group/grp-a")
    got = scheduler.get_schedule_group(Name="grp-a")
    assert (got["Name"], got["State"], got["Arn"]) == ("grp-a", "ACTIVE", arn)
    names = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert "default" in names and "grp-a" in names
    assert [g["Name"] for g in scheduler.list_schedule_groups(NamePrefix="grp-")["ScheduleGroups"]] == ["grp-a"]
    assert _error(lambda: scheduler.create_schedule_group(Name="grp-a")) == (
        "ConflictException", "Schedule group grp-a already exists.", 409,
    )  # fmt: skip
    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    scheduler.untag_resource(ResourceArn=arn, TagKeys=["k"])
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
    assert _error(lambda: scheduler.delete_schedule_group(Name="default"))[0] == "ValidationException"
    scheduler.delete_schedule_group(Name="grp-a")
    assert _error(lambda: scheduler.get_schedule_group(Name="grp-a"))[0] == "ResourceNotFoundException"


def test_a_rate_schedule_fires_into_a_queue(aws: Callable[..., Any], stack: Stack) -> None:
    sqs, scheduler = aws("sqs"), aws("scheduler")
    url = sqs.create_queue(QueueName="ticks")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    scheduler.create_schedule(
        Name="tick",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=_target(arn, Input='{"at": "<aws.scheduler.scheduled-time>"}'),
    )
    created = stack.local.schedules.get_schedule("default", "tick").created_at
    # A runner of our own on the stack's store, driven by a fake clock: the minute passes at once.
    # (The stack's own runner, on the real clock, may fire the first occurrence too: it is committed once.)
    clock = FakeClock(created)
    runner = ScheduleRunner(
        stack.local.schedules,
        stack.local.bus,
        resolver=LocalTargets(stack.local.topics, stack.orchestrator, stack.invoker, stack.local.queues, stack.local.async_invocations),
        clock=clock,
        region=stack.settings.region,
        account=stack.settings.account_id,
    )
    runner.run_pending()
    clock.advance(60)
    runner.run_pending()
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(bodies) < 2:
        assert time.monotonic() < deadline, f"{len(bodies)} of 2 fires arrived"
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    first_at = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    second_at = (created + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sorted(b["at"] for b in bodies) == [first_at, second_at]
    assert [f.status for f in stack.local.schedules.fires("default", "tick")] == ["delivered", "delivered"]
    scheduler.delete_schedule(Name="tick")
