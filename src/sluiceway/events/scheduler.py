"""EventBridge Scheduler's resources as values: schedule groups, schedules, and the fires of a schedule.

A schedule lives in a group (``default`` always exists), has a schedule expression
(:mod:`sluiceway.events.schedules`) read in its time zone, an optional start and end,
a flexible time window, a state and one target: an ARN, its ``Input``, a
:class:`~sluiceway.events.rules.RetryPolicy` and an optional dead-letter queue. Each
time a schedule comes due, one *fire* is committed (with a copy of the target as it was
then) and delivered, with retries, like an event to a rule's target.

The module is pure: times and ids come from callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..types import JSON
from .rules import RetryPolicy
from .schedules import At, Schedule, ScheduleExpressionError, parse_schedule

__all__ = [
    "DEFAULT_GROUP",
    "FireRecord",
    "GroupRecord",
    "ScheduleRecord",
    "ScheduleState",
    "SchedulerValidationError",
    "check_schedule",
    "group_arn",
    "render_input",
    "schedule_arn",
    "zone_of",
]

DEFAULT_GROUP: Final = "default"
ScheduleState: TypeAlias = Literal["ENABLED", "DISABLED"]
FireStatus: TypeAlias = Literal["pending", "delivered", "dead-lettered", "dropped"]

_NAME: Final = re.compile(r"[0-9a-zA-Z\-_.]{1,64}")
#: How far in the past a recurring schedule's StartDate may be (AWS's limit).
START_DATE_SLACK: Final = timedelta(minutes=5)
_CONTEXT: Final = re.compile(r"<aws\.scheduler\.(schedule-arn|scheduled-time|execution-id|attempt-number)>")


class SchedulerValidationError(ValueError):
    """A schedule or group EventBridge Scheduler would refuse: its ValidationException, with AWS's message."""


def schedule_arn(group: str, name: str, *, region: str, account: str) -> str:
    return f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{name}"


def group_arn(name: str, *, region: str, account: str) -> str:
    return f"arn:aws:scheduler:{region}:{account}:schedule-group/{name}"


def check_name(name: Any, member: str = "name") -> str:
    """Return ``name`` if Scheduler accepts it as a schedule or group name (1-64 of ``0-9 a-z A-Z - _ .``)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+"
        )
    return name


def zone_of(name: str | None) -> ZoneInfo:
    """The time zone a schedule's expression is read in (UTC when None).

    Raises:
        SchedulerValidationError: not an IANA time zone name.
    """
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise SchedulerValidationError(f"Invalid ScheduleExpressionTimezone {name}.") from None


@dataclass(frozen=True)
class GroupRecord:
    """A schedule group."""

    name: str
    created_at: datetime
    updated_at: datetime
    state: Literal["ACTIVE", "DELETING"] = "ACTIVE"


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule as stored: AWS's members, and when it next comes due."""

    group: str
    name: str
    expression: str
    timezone: str
    target: Mapping[str, Any]
    """AWS's ``Target`` shape, RetryPolicy filled in with its defaults."""
    flexible_window: Mapping[str, Any]
    state: ScheduleState
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    action_after_completion: Literal["NONE", "DELETE"] = "NONE"
    kms_key_arn: str | None = None
    next_fire_at: datetime | None = None
    """The next occurrence not yet fired; None once the schedule has no more."""

    @property
    def schedule(self) -> Schedule:
        return parse_schedule(self.expression, units_agree=False)

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)

    @property
    def origin(self) -> datetime:
        """Where a rate's occurrences count from: the StartDate, else the creation time."""
        return self.start or self.created_at

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_json(self.target.get("RetryPolicy") or {})

    @property
    def window(self) -> timedelta:
        """How late an occurrence may still be delivered: its flexible window and its maximum event age."""
        flexible = timedelta(minutes=int(self.flexible_window.get("MaximumWindowInMinutes") or 0))
        return flexible + timedelta(seconds=self.retry_policy.maximum_event_age_s)

    def first_occurrence(self, after: datetime) -> datetime | None:
        """The first occurrence strictly after ``after`` within [StartDate, EndDate], or None."""
        for when in self.schedule.occurrences(after, start=self.origin, zone=self.zone):
            if self.end is not None and when > self.end:
                return None
            return when
        return None

    def arn(self, *, region: str, account: str) -> str:
        return schedule_arn(self.group, self.name, region=region, account=account)


@dataclass(frozen=True)
class FireRecord:
    """One occurrence of a schedule, committed once, and how its delivery stands."""

    id: int
    group: str
    name: str
    schedule_arn: str
    scheduled_at: datetime
    target: Mapping[str, Any]
    """The schedule's target when it fired (a later update does not change a fire in flight)."""
    execution_id: str
    """This fire's id (``<aws.scheduler.execution-id>``; state machine executions are named after it)."""
    status: str
    attempts: int
    """Failed attempts so far."""
    age_from: datetime
    next_attempt_at: datetime
    last_error: str | None = None

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_json(self.target.get("RetryPolicy") or {})


def check_schedule(
    *,
    expression: Any,
    timezone: Any,
    start: datetime | None,
    end: datetime | None,
    flexible_window: Any,
    target: Any,
    state: Any,
    action_after_completion: Any,
    now: datetime,
) -> tuple[Schedule, dict[str, Any]]:
    """Check a CreateSchedule/UpdateSchedule request as Scheduler does; return the expression and the target.

    The target comes back with its ``RetryPolicy`` completed with AWS's defaults (185
    retries, 86400 seconds), as GetSchedule shows it.

    Raises:
        SchedulerValidationError: with AWS's message.
    """
    try:
        schedule = parse_schedule(expression, units_agree=False)
    except ScheduleExpressionError:
        raise SchedulerValidationError(f"Invalid Schedule Expression {expression}.") from None
    zone_of(timezone)
    if not isinstance(flexible_window, Mapping) or flexible_window.get("Mode") not in ("OFF", "FLEXIBLE"):
        mode = flexible_window.get("Mode") if isinstance(flexible_window, Mapping) else flexible_window
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{mode}' at 'flexibleTimeWindow.mode' failed to satisfy constraint: "
            "Member must satisfy enum value set: [OFF, FLEXIBLE]"
        )
    window = flexible_window.get("MaximumWindowInMinutes")
    if flexible_window["Mode"] == "FLEXIBLE" and window is None:
        raise SchedulerValidationError("MaximumWindowInMinutes must be provided when the FlexibleTimeWindow Mode is FLEXIBLE.")
    if flexible_window["Mode"] == "OFF" and window is not None:
        raise SchedulerValidationError("MaximumWindowInMinutes must not be provided when the FlexibleTimeWindow Mode is OFF.")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1440):
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{window}' at 'flexibleTimeWindow.maximumWindowInMinutes' "
            "failed to satisfy constraint: Member must have value between 1 and 1440"
        )
    if state not in (None, "ENABLED", "DISABLED"):
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{state}' at 'state' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ENABLED, DISABLED]"
        )
    if action_after_completion not in (None, "NONE", "DELETE"):
        raise SchedulerValidationError(
            f"1 validation error detected: Value '{action_after_completion}' at 'actionAfterCompletion' "
            "failed to satisfy constraint: Member must satisfy enum value set: [NONE, DELETE]"
        )
    # Scheduler ignores StartDate and EndDate for one-time schedules (its API reference says so).
    if not isinstance(schedule, At):
        if start is not None and start < now - START_DATE_SLACK:
            raise SchedulerValidationError("The StartDate you specify cannot be earlier than 5 minutes ago.")
        if end is not None and end <= now:
            raise SchedulerValidationError("The EndDate you specify cannot be earlier than the current time.")
        if start is not None and end is not None and end <= start:
            raise SchedulerValidationError("The StartDate you specify must come before the EndDate.")
    return schedule, _target(target)


def _target(target: Any) -> dict[str, Any]:
    if not isinstance(target, Mapping) or not target.get("Arn") or not target.get("RoleArn"):
        raise SchedulerValidationError("A target needs an Arn and a RoleArn.")
    out = dict(target)
    retry = dict(target.get("RetryPolicy") or {})
    retry.setdefault("MaximumEventAgeInSeconds", 86_400)
    retry.setdefault("MaximumRetryAttempts", 185)
    for member, low, high in (("MaximumEventAgeInSeconds", 60, 86_400), ("MaximumRetryAttempts", 0, 185)):
        value = retry[member]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            field = member[0].lower() + member[1:]
            bound = f"greater than or equal to {low}" if isinstance(value, int) and value < low else f"less than or equal to {high}"
            raise SchedulerValidationError(
                f"1 validation error detected: Value '{value}' at 'target.retryPolicy.{field}' failed to satisfy "
                f"constraint: Member must have value {bound}"
            )
    out["RetryPolicy"] = retry
    dead_letter = target.get("DeadLetterConfig")
    if dead_letter is not None:
        arn = dead_letter.get("Arn") if isinstance(dead_letter, Mapping) else None
        if not isinstance(arn, str) or not arn.startswith("arn:") or ":sqs:" not in arn:
            raise SchedulerValidationError(f"DeadLetterConfig Arn {arn} is not a valid SQS queue ARN.")
    if "Input" in target and (not isinstance(target["Input"], str) or not target["Input"]):
        raise SchedulerValidationError(
            "1 validation error detected: Value at 'target.input' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    return out


def render_input(fire: FireRecord, attempt: int) -> JSON:
    """What the target receives: its ``Input`` with Scheduler's context attributes filled in.

    ``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.scheduled-time>``,
    ``<aws.scheduler.execution-id>`` and ``<aws.scheduler.attempt-number>`` are
    replaced as Scheduler replaces them. JSON text is handed on as its value (queue and
    topic targets get it back as JSON text); other text stays text. Without ``Input``
    the target gets ``{}``.
    """
    text = fire.target.get("Input")
    if text is None:
        return {}
    values = {
        "schedule-arn": fire.schedule_arn,
        "scheduled-time": fire.scheduled_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "execution-id": fire.execution_id,
        "attempt-number": str(attempt),
    }
    rendered = _CONTEXT.sub(lambda m: values[m[1]], str(text))
    try:
        value: JSON = json.loads(rendered)
    except ValueError:
        return rendered
    return value
