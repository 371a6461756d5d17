"""Step Functions activities: CreateActivity, DescribeActivity, ListActivities, DeleteActivity and
GetActivityTask, on the local database (:class:`~sluiceway.backends.local.activities.SqliteActivities`).

A Task state whose resource is an activity ARN queues its task there (through the orchestrator,
see :mod:`sluiceway.runtime.orchestration.activities`); GetActivityTask long-polls for it, hands it
to one worker, and records ActivityStarted before answering. The worker answers with the
SendTask* operations, as for any callback task.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...backends.local.activities import ActivityRecord, ActivityTask, SqliteActivities
from ...errors import InvalidNameError
from ...names import check_name
from ..context import Context, Handler
from ..errors import AwsError
from ..protocol.constraints import check_constraints
from ._sfn_catalog import invalid_arn, tag_map

__all__ = ["HANDLERS", "Tags", "activity_queue", "activity_tags"]

MAX_POLL_S = 60.0
"""GetActivityTask holds a poll at most 60 seconds, then answers with no task (the API reference)."""
_DEFAULT_ENCRYPTION = {"type": "AWS_OWNED_KEY"}
"""What DescribeActivity answers for an activity made without an EncryptionConfiguration (recorded)."""
_REUSE_PERIOD_S = (60, 900)
_DEFAULT_PAGE = 100


def activity_queue(ctx: Context) -> SqliteActivities:
    """The stack's activities; the orchestrator queues activity tasks on them from the first call on."""

    def make() -> SqliteActivities:
        served = ctx.stack.orchestrator.activity_queue
        if isinstance(served, SqliteActivities):
            return served  # another endpoint of this stack served them first
        activities = SqliteActivities(ctx.stack.local.db, ctx.stack.orchestrator.clock)
        ctx.stack.orchestrator.serve_activities(activities)
        return activities

    return ctx.shared.get("stepfunctions.activities", make)


def _arn(ctx: Context, name: str) -> str:
    return f"arn:aws:states:{ctx.region}:{ctx.account_id}:activity:{name}"


def _must_arn(arn: str) -> str:
    """``arn`` if it names an activity (of any region: an activity elsewhere is simply not here).

    Raises:
        AwsError: InvalidArn, worded as Step Functions words it.
    """
    parts = arn.split(":")
    if not arn.startswith("arn:"):
        raise invalid_arn(arn)
    if len(parts) != 7 or parts[1] != "aws" or parts[2] != "states" or parts[5] != "activity" or not parts[6]:
        raise invalid_arn(arn, "Resource type not valid in this context")
    return arn


@dataclass(frozen=True)
class Tags:
    """A taggable resource's tags (TagResource, UntagResource, ListTagsForResource)."""

    tags: Mapping[str, str]
    replace: Callable[[Mapping[str, str]], None]
    """Makes the given tags the resource's (all of them)."""


def activity_tags(ctx: Context, arn: str) -> Tags | None:
    """The tags of the activity ``arn``; None when ``arn`` is not an activity ARN.

    Raises:
        AwsError: ResourceNotFound when there is no such activity (of this region or not).
    """
    parts = arn.split(":")
    if len(parts) != 7 or parts[:3] != ["arn", "aws", "states"] or parts[5] != "activity":
        return None
    activities = activity_queue(ctx)
    record = activities.get(arn)
    if record is None:
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
    return Tags(record.tags, lambda tags: activities.set_tags(arn, tags))


def _must_get(ctx: Context, arn: str) -> ActivityRecord:
    record = activity_queue(ctx).get(_must_arn(arn))
    if record is None:
        raise AwsError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
    return record


def _encryption(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The EncryptionConfiguration to record, checked as CreateActivity checks it.

    Raises:
        AwsError: InvalidEncryptionConfiguration (a customer managed key without its id, a reuse
        period out of 60..900 seconds, a key id with AWS's own key).
    """
    if not config:
        return dict(_DEFAULT_ENCRYPTION)
    kind = config.get("type")
    key = config.get("kmsKeyId")
    period = config.get("kmsDataKeyReusePeriodSeconds")
    if kind == "CUSTOMER_MANAGED_KMS_KEY" and not key:
        raise AwsError(
            "InvalidEncryptionConfiguration", "Invalid Encryption Configuration: 'kmsKeyId is required for CUSTOMER_MANAGED_KMS_KEY'"
        )
    if kind == "AWS_OWNED_KEY" and (key is not None or period is not None):
        raise AwsError(
            "InvalidEncryptionConfiguration",
            "Invalid Encryption Configuration: 'kmsKeyId and kmsDataKeyReusePeriodSeconds are not allowed with AWS_OWNED_KEY'",
        )
    if period is not None and not _REUSE_PERIOD_S[0] <= period <= _REUSE_PERIOD_S[1]:
        raise AwsError(
            "InvalidEncryptionConfiguration",
            f"Invalid Encryption Configuration: 'kmsDataKeyReusePeriodSeconds must be between {_REUSE_PERIOD_S[0]}"
            f" and {_REUSE_PERIOD_S[1]}'",
        )
    return {k: v for k, v in config.items() if v is not None}


def create_activity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["name"]
    try:
        check_name(name, what="activity name")
    except InvalidNameError:
        raise AwsError("InvalidName", f"Invalid Name: '{name}'") from None
    tags = tag_map(params.get("tags") or [])
    encryption = _encryption(params.get("encryptionConfiguration"))
    record, _ = activity_queue(ctx).create(_arn(ctx, name), name, encryption, tags)
    # Idempotent by name (the API reference): the existing activity's ARN and creation date, its tags
    # unchanged; only another encryption is refused, for it may not be updated.
    if params.get("encryptionConfiguration") is not None and dict(record.encryption) != encryption:
        raise AwsError("ActivityAlreadyExists", f"Activity already exists: '{record.arn}'")
    return {"activityArn": record.arn, "creationDate": record.created_at}


def describe_activity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = _must_get(ctx, params["activityArn"])
    return {
        "activityArn": record.arn,
        "name": record.name,
        "creationDate": record.created_at,
        "encryptionConfiguration": dict(record.encryption),
    }


def list_activities(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    size = params.get("maxResults") or _DEFAULT_PAGE  # 0 means the default, as the API reference says
    after = _cursor(params.get("nextToken"))
    found = activity_queue(ctx).list_activities(after=after, limit=size + 1)
    out: dict[str, Any] = {"activities": [{"activityArn": r.arn, "name": r.name, "creationDate": r.created_at} for r in found[:size]]}
    if len(found) > size:
        out["nextToken"] = base64.urlsafe_b64encode(found[size - 1].name.encode()).decode()
    return out


def delete_activity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # Deleting one that is not there succeeds (recorded). Tasks already handed to workers can still be
    # answered; tasks not handed out wait, for a worker of an activity made again under the name.
    activity_queue(ctx).delete(_must_arn(params["activityArn"]))
    return {}


def get_activity_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["activityArn"]
    worker = params.get("workerName")
    _must_get(ctx, arn)
    activities = activity_queue(ctx)
    orchestrator = ctx.stack.orchestrator

    def take() -> ActivityTask | None:
        if activities.get(arn) is None:
            raise AwsError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        for task in activities.waiting(arn):
            handed = orchestrator.start_activity_task(task.execution_arn, task.task, worker)
            if handed == "started":
                return task
            if handed == "gone":
                activities.forget(task.execution_arn, task.task)  # it stopped waiting before a worker came
            elif handed == "closed":
                return None  # the stack stops: the task stays queued for its next start
            # "taken": another worker has it
        return None

    task = activities.poll(arn, MAX_POLL_S, take)
    if task is None:
        # No task within the poll: AWS answers without a taskToken (an SDK task's output is ``{}``).
        return {}
    return {"taskToken": task.task_token, "input": task.input}


def _cursor(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        # Strictly: only what list_activities wrote (the name of a page's last activity) is a token.
        after = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        after = ""
    if not after:
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
    return after


def _checked(operation: str, handler: Handler) -> Handler:
    """``handler`` after the operation's model constraints (lengths, ranges, enums), checked first as AWS does."""

    @functools.wraps(handler)
    def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
        check_constraints("stepfunctions", operation, params)
        return handler(ctx, params)

    return run


HANDLERS: Mapping[str, Handler] = {
    name: _checked(name, handler)
    for name, handler in {
        "CreateActivity": create_activity,
        "DescribeActivity": describe_activity,
        "ListActivities": list_activities,
        "DeleteActivity": delete_activity,
        "GetActivityTask": get_activity_task,
    }.items()
}
"""The activity operations by name (registered by :mod:`.stepfunctions`)."""
