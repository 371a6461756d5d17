"""Amazon EventBridge Scheduler (rest-json): schedules, schedule groups and their tags.

Schedules are stored in the data dir (``stack.local.schedules``); the stack's schedule
runner (:class:`~sluiceway.runtime.bus.scheduler.ScheduleRunner`) fires them when they
come due and delivers to their targets through the same target resolver, retries and
dead-letter queues as EventBridge rules. A write here wakes the runner.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from ...errors import ConflictError, NotFoundError
from ...events.scheduler import (
    DEFAULT_GROUP,
    GroupRecord,
    ScheduleRecord,
    SchedulerValidationError,
    check_name,
    check_schedule,
    group_arn,
    schedule_arn,
)
from ..context import Context, Handler, Operations
from ..errors import AwsError

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("scheduler")

T = TypeVar("T")
_TICK: Final = timedelta(microseconds=1)
_MAX_RESULTS: Final = 100


@contextmanager
def _scheduler_errors() -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise AwsError("ResourceNotFoundException", str(exc), 404) from None
    except ConflictError as exc:
        raise AwsError("ConflictException", str(exc), 409) from None
    except SchedulerValidationError as exc:
        raise AwsError("ValidationException", str(exc), 400) from None


def _operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            with _scheduler_errors():
                return handler(ctx, params)

        return OPERATIONS(name)(run)

    return register


def _page(items: Sequence[T], key: Callable[[T], str], params: dict[str, Any]) -> tuple[list[T], str | None]:
    limit = params.get("MaxResults") or _MAX_RESULTS
    rest = list(items)
    if params.get("NextToken"):
        try:
            after = json.loads(base64.b64decode(params["NextToken"], validate=True))["after"]
        except (ValueError, KeyError, TypeError):
            raise SchedulerValidationError("Invalid NextToken.") from None
        rest = [i for i in rest if key(i) > after]
    if len(rest) <= limit:
        return rest, None
    return rest[:limit], base64.b64encode(json.dumps({"after": key(rest[limit - 1])}).encode()).decode()


def _group_name(params: dict[str, Any]) -> str:
    return check_name(params.get("GroupName") or DEFAULT_GROUP, "groupName")


# -- schedules ------------------------------------------------------------------------------


def _record(ctx: Context, params: dict[str, Any], *, created_at: datetime | None) -> ScheduleRecord:
    """The schedule a CreateSchedule or UpdateSchedule request describes, checked, with its first occurrence."""
    now = ctx.stack.local.schedules.clock.now()
    name = check_name(params["Name"], "name")
    group = _group_name(params)
    description = params.get("Description")
    if description is not None and len(description) > 512:
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{description}' at 'description' failed to satisfy constraint: "
            "Member must have length less than or equal to 512"
        )
    _, target = check_schedule(
        expression=params["ScheduleExpression"],
        timezone=params.get("ScheduleExpressionTimezone"),
        start=params.get("StartDate"),
        end=params.get("EndDate"),
        flexible_window=params["FlexibleTimeWindow"],
        target=params["Target"],
        state=params.get("State"),
        action_after_completion=params.get("ActionAfterCompletion"),
        now=now,
    )
    record = ScheduleRecord(
        group=group,
        name=name,
        expression=params["ScheduleExpression"],
        timezone=params.get("ScheduleExpressionTimezone") or "UTC",
        target=target,
        flexible_window=dict(params["FlexibleTimeWindow"]),
        state=params.get("State") or "ENABLED",
        created_at=created_at or now,
        updated_at=now,
        description=description,
        start=params.get("StartDate"),
        end=params.get("EndDate"),
        action_after_completion=params.get("ActionAfterCompletion") or "NONE",
        kms_key_arn=params.get("KmsKeyArn"),
    )
    if record.state != "ENABLED":
        return record  # a disabled schedule does not come due; enabling it computes its next occurrence
    # A rate without StartDate "starts invoking its target immediately" (Scheduler's guide);
    # every schedule's first occurrence is its first at or after now.
    return replace(record, next_fire_at=record.first_occurrence(now - _TICK))


@_operation("CreateSchedule")
def create_schedule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = _record(ctx, params, created_at=None)
    ctx.stack.local.schedules.create_schedule(record)
    return {"ScheduleArn": record.arn(region=ctx.region, account=ctx.account_id)}


@_operation("UpdateSchedule")
def update_schedule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    schedules = ctx.stack.local.schedules
    current = schedules.get_schedule(_group_name(params), check_name(params["Name"], "name"))
    # UpdateSchedule replaces the whole schedule: members left out take their defaults, as on AWS.
    record = _record(ctx, params, created_at=current.created_at)
    schedules.update_schedule(record)
    return {"ScheduleArn": record.arn(region=ctx.region, account=ctx.account_id)}


def _schedule_out(ctx: Context, record: ScheduleRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Arn": record.arn(region=ctx.region, account=ctx.account_id),
        "GroupName": record.group,
        "Name": record.name,
        "ScheduleExpression": record.expression,
        "ScheduleExpressionTimezone": record.timezone,
        "State": record.state,
        "Target": dict(record.target),
        "FlexibleTimeWindow": dict(record.flexible_window),
        "ActionAfterCompletion": record.action_after_completion,
        "CreationDate": record.created_at,
        "LastModificationDate": record.updated_at,
    }
    for member, value in (
        ("Description", record.description),
        ("StartDate", record.start),
        ("EndDate", record.end),
        ("KmsKeyArn", record.kms_key_arn),
    ):
        if value is not None:
            out[member] = value
    return out


@_operation("GetSchedule")
def get_schedule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.stack.local.schedules.get_schedule(_group_name(params), check_name(params["Name"], "name"))
    return _schedule_out(ctx, record)


@_operation("DeleteSchedule")
def delete_schedule(ctx: Context, params: dict[str, Any]) -> None:
    ctx.stack.local.schedules.delete_schedule(_group_name(params), check_name(params["Name"], "name"))


@_operation("ListSchedules")
def list_schedules(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    schedules = ctx.stack.local.schedules
    group = params.get("GroupName")
    if group is not None:
        schedules.get_group(check_name(group, "groupName"))
    state = params.get("State")
    if state not in (None, "ENABLED", "DISABLED"):
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ENABLED, DISABLED]"
        )
    found = schedules.list_schedules(group=group, prefix=params.get("NamePrefix") or "", state=state)
    shown, token = _page(found, lambda r: f"{r.group}/{r.name}", params)
    out: dict[str, Any] = {
        "Schedules": [
            {
                "Arn": schedule_arn(r.group, r.name, region=ctx.region, account=ctx.account_id),
                "Name": r.name,
                "GroupName": r.group,
                "State": r.state,
                "CreationDate": r.created_at,
                "LastModificationDate": r.updated_at,
                "Target": {"Arn": r.target["Arn"]},
            }
            for r in shown
        ]
    }
    if token:
        out["NextToken"] = token
    return out


# -- groups ---------------------------------------------------------------------------------


def _group_out(ctx: Context, group: GroupRecord) -> dict[str, Any]:
    return {
        "Arn": group_arn(group.name, region=ctx.region, account=ctx.account_id),
        "Name": group.name,
        "State": group.state,
        "CreationDate": group.created_at,
        "LastModificationDate": group.updated_at,
    }


def _tags(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in value or []:
        key, text = tag.get("Key"), tag.get("Value")
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not isinstance(text, str) or not 1 <= len(text) <= 256:
            raise SchedulerValidationError("A tag's Key is 1 to 128 characters and its Value 1 to 256.")
        out[key] = text
    return out


@_operation("CreateScheduleGroup")
def create_schedule_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"], "name")
    arn = group_arn(name, region=ctx.region, account=ctx.account_id)
    ctx.stack.local.schedules.create_group(name, _tags(params.get("Tags")), arn=arn)
    return {"ScheduleGroupArn": arn}


@_operation("GetScheduleGroup")
def get_schedule_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _group_out(ctx, ctx.stack.local.schedules.get_group(check_name(params["Name"], "name")))


@_operation("ListScheduleGroups")
def list_schedule_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    groups = ctx.stack.local.schedules.list_groups(params.get("NamePrefix") or "")
    shown, token = _page(groups, lambda g: g.name, params)
    out: dict[str, Any] = {"ScheduleGroups": [_group_out(ctx, g) for g in shown]}
    if token:
        out["NextToken"] = token
    return out


@_operation("DeleteScheduleGroup")
def delete_schedule_group(ctx: Context, params: dict[str, Any]) -> None:
    name = check_name(params["Name"], "name")
    if name == DEFAULT_GROUP:
        raise SchedulerValidationError("The default schedule group cannot be deleted.")
    # AWS deletes the group's schedules with it.
    ctx.stack.local.schedules.delete_group(name, arn=group_arn(name, region=ctx.region, account=ctx.account_id))


# -- tags -----------------------------------------------------------------------------------


def _taggable(ctx: Context, arn: str) -> str:
    """``arn`` if it names an existing schedule group (Scheduler's only taggable resource)."""
    prefix = f"arn:aws:scheduler:{ctx.region}:{ctx.account_id}:schedule-group/"
    if not arn.startswith(prefix):
        raise SchedulerValidationError(f"Invalid ResourceArn {arn}: tags are on schedule groups.")
    ctx.stack.local.schedules.get_group(arn.removeprefix(prefix))
    return arn


@_operation("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    ctx.stack.local.schedules.tag(_taggable(ctx, params["ResourceArn"]), _tags(params["Tags"]))


@_operation("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    ctx.stack.local.schedules.untag(_taggable(ctx, params["ResourceArn"]), params["TagKeys"])


@_operation("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tags = ctx.stack.local.schedules.tags(_taggable(ctx, params["ResourceArn"]))
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
