"""EventBridge rules as values: buses, rules, targets, retry policies, deliveries.

A rule belongs to one event bus, has an event pattern (compiled once, see
:mod:`sluiceway.events.patterns`), a state (``ENABLED`` or ``DISABLED``) and up
to five targets. A target is an id, an ARN (a state machine, a function, a
queue, a topic, another event bus or a CloudWatch Logs log group), what it receives (the event, ``Input``, ``InputPath`` or an
``InputTransformer``, see :mod:`sluiceway.events.transform`), a
:class:`RetryPolicy` and an optional dead-letter queue. The limits and names
are EventBridge's, and so are the messages where we know them.

The module is pure: times, ids and random numbers come from callers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

from ..errors import ConfigError
from ..types import JSON
from .envelope import execution_name_for
from .patterns import Pattern, compile_pattern
from .schedules import ScheduleExpressionError, parse_schedule
from .transform import input_path_problems, select_input_path, transform, transformer_problems

__all__ = [
    "DEFAULT_BUS",
    "MAX_TARGETS",
    "NO_PATTERN",
    "ArchiveRecord",
    "Delivery",
    "DeliveryRecord",
    "DeliveryStatus",
    "EventBusInfo",
    "InputTransformer",
    "NewDelivery",
    "ReplayRecord",
    "RetryPolicy",
    "Rule",
    "RuleState",
    "RuleValidationError",
    "StoredEvent",
    "Target",
    "TargetCallable",
    "TargetKind",
    "bus_arn",
    "check_bus_name",
    "check_rule_name",
    "delivery_execution_name",
    "rule_arn",
    "rule_bus_name",
    "target_bus_name",
    "target_kind",
    "target_log_group_name",
]

DEFAULT_BUS: Final = "default"
#: EventBridge allows five targets per rule.
MAX_TARGETS: Final = 5

#: The pattern of a rule that only runs on a schedule: it matches no event.
NO_PATTERN: Final = Pattern(source="", _branches=(), _prefixes=frozenset())

RuleState: TypeAlias = Literal["ENABLED", "DISABLED"]
TargetKind: TypeAlias = Literal["state-machine", "function", "queue", "topic", "event-bus", "log-group", "api-destination", "api-gateway"]
TargetCallable: TypeAlias = Callable[[Mapping[str, Any]], None]
"""An in-process target: called with the event (the composition root's own rules)."""
DeliveryStatus: TypeAlias = Literal["pending", "delivered", "dead-lettered", "dropped", "cancelled"]
"""``pending`` until the target took the event (``delivered``) or retries ran out: then
``dead-lettered`` (sent to the DLQ) or ``dropped`` (no DLQ, or the DLQ failed too);
``cancelled`` when its stored rule or target was deleted first."""

_RULE_NAME: Final = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
_BUS_NAME: Final = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")
_TARGET_ID: Final = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
_ARN: Final = re.compile(r"^arn:[^:]+:(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)$")
_MAX_DESCRIPTION: Final = 512
#: SqsParameters' MessageGroupId (EventBridge's Target shape allows up to 100 characters).
_MAX_MESSAGE_GROUP_ID: Final = 100
# CloudWatch Logs' log group names (1-512 of these); a target ARN may end in ":*", as the
# group's ARN from CloudFormation's Fn::GetAtt does.
_LOG_GROUP: Final = re.compile(r"^log-group:(?P<name>[.\-_/#A-Za-z0-9]{1,512})(?::\*)?$")
# An API destination (``api-destination/NAME/UUID``) and an API Gateway REST API's method
# (``API_ID/STAGE/METHOD/PATH``, see :mod:`sluiceway.events.api_destinations`).
_API_DESTINATION: Final = re.compile(r"^api-destination/[.\-_A-Za-z0-9]{1,64}/[-A-Za-z0-9]+$")
_EXECUTE_API: Final = re.compile(r"^[a-z0-9]+/[^/]+/[A-Z*]+(/.*)?$")
#: The model's HeaderKey, HeaderValue, QueryStringKey and QueryStringValue patterns (EventBridge's
#: service model, quoted as is in its messages; ``+-.`` is a range, ``+ , - .``, in AWS's regex as
#: here), each of at most MAX_PARAMETER characters: a target's and a connection's parameters.
HEADER_KEY_PATTERN: Final = r"^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$"
HEADER_VALUE_PATTERN: Final = r"^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$"
QUERY_KEY_PATTERN: Final = r"[^\x00-\x1F\x7F]+"
QUERY_VALUE_PATTERN: Final = r"[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F]+"
MAX_PARAMETER: Final = 512
#: HttpParameters' members (EventBridge's Target shape).
_HTTP_PARAMETER_KEYS: Final = frozenset({"PathParameterValues", "HeaderParameters", "QueryStringParameters"})

# Backoff between attempts: exponential from one second, capped at ten minutes, with
# "equal jitter" (half fixed, half random). EventBridge does not publish its schedule;
# this one spends 185 retries in roughly the 24 hours EventBridge's defaults allow.
_BACKOFF_BASE_S: Final = 1.0
_BACKOFF_CAP_S: Final = 600.0


class RuleValidationError(ConfigError):
    """A bus, rule or target EventBridge would refuse (its ``ValidationException``)."""


def check_rule_name(name: str) -> str:
    """Return ``name`` if EventBridge accepts it as a rule name (1-64 of ``. - _ A-Z a-z 0-9``).

    Raises:
        RuleValidationError: it does not.
    """
    if not isinstance(name, str) or not _RULE_NAME.match(name):
        raise RuleValidationError(f"Rule name '{name}' is not valid: use 1-64 letters, digits, '.', '-' and '_'.")
    return name


def check_bus_name(name: str) -> str:
    """Return ``name`` if EventBridge accepts it as a bus name (1-256 of ``/ . - _ A-Z a-z 0-9``).

    Raises:
        RuleValidationError: it does not.
    """
    if not isinstance(name, str) or not _BUS_NAME.match(name):
        raise RuleValidationError(f"Event bus name '{name}' is not valid: use 1-256 letters, digits, '/', '.', '-' and '_'.")
    return name


def rule_arn(name: str, *, bus: str = DEFAULT_BUS, region: str, account: str) -> str:
    """A rule's ARN: ``rule/NAME`` on the default bus, ``rule/BUS/NAME`` on others (as AWS)."""
    resource = f"rule/{name}" if bus == DEFAULT_BUS else f"rule/{bus}/{name}"
    return f"arn:aws:events:{region}:{account}:{resource}"


def bus_arn(name: str, *, region: str, account: str) -> str:
    """An event bus's ARN."""
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def target_kind(arn: str) -> TargetKind:
    """What an ARN names: a state machine, a function, a queue, a topic, an event bus, a log group,
    an API destination or an API Gateway REST API's method.

    Raises:
        RuleValidationError: the ARN is none of those.
    """
    match = _ARN.match(arn) if isinstance(arn, str) else None
    if match is not None:
        service, resource = match["service"], match["resource"]
        if service == "states" and resource.startswith("stateMachine:"):
            return "state-machine"
        if service == "lambda" and resource.startswith("function:"):
            return "function"
        if service == "sqs" and ":" not in resource:
            return "queue"
        if service == "sns" and ":" not in resource:
            return "topic"
        if service == "events" and resource.startswith("event-bus/") and _BUS_NAME.match(resource.removeprefix("event-bus/")):
            return "event-bus"
        if service == "logs" and _LOG_GROUP.match(resource):
            return "log-group"
        if service == "events" and _API_DESTINATION.match(resource):
            return "api-destination"
        if service == "execute-api" and _EXECUTE_API.match(resource):
            return "api-gateway"
    raise RuleValidationError(
        f"Target ARN '{arn}' is not supported: use a state machine, Lambda function, SQS queue, SNS topic, "
        "event bus, CloudWatch Logs log group, API destination or API Gateway REST API ARN."
    )


def target_bus_name(arn: str) -> str:
    """The bus an ``event-bus`` target ARN names.

    Raises:
        RuleValidationError: the ARN names no event bus.
    """
    if target_kind(arn) != "event-bus":
        raise RuleValidationError(f"Target ARN '{arn}' is not an event bus ARN.")
    return arn.split(":", 5)[5].removeprefix("event-bus/")


def target_log_group_name(arn: str) -> str:
    """The log group a ``log-group`` target ARN names (without the ``:*`` a group's ARN may end in).

    Raises:
        RuleValidationError: the ARN names no log group.
    """
    match = _LOG_GROUP.match(arn.split(":", 5)[5]) if target_kind(arn) == "log-group" else None
    if match is None:
        raise RuleValidationError(f"Target ARN '{arn}' is not a log group ARN.")
    return match["name"]


def rule_bus_name(arn: str) -> str:
    """The bus of a rule, from the rule's ARN (``rule/NAME`` is on the default bus, ``rule/BUS/NAME``
    on BUS; a bus name may hold ``/``, a rule name may not).

    Raises:
        RuleValidationError: ``arn`` is no EventBridge rule's (a Scheduler schedule's, say).
    """
    match = _ARN.match(arn)
    if match is None or match["service"] != "events" or not match["resource"].startswith("rule/"):
        raise RuleValidationError(f"'{arn}' is not an EventBridge rule ARN.")
    resource = match["resource"].removeprefix("rule/")
    bus, _, name = resource.rpartition("/")
    if not _RULE_NAME.match(name) or (bus and not _BUS_NAME.match(bus)):
        raise RuleValidationError(f"'{arn}' is not an EventBridge rule ARN.")
    return bus or DEFAULT_BUS


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often EventBridge keeps trying a target (its ``RetryPolicy``)."""

    maximum_retry_attempts: int = 185
    """Retries after the first attempt, 0-185."""
    maximum_event_age_s: int = 86_400
    """Give up on an event this many seconds after it arrived, 60-86400."""

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("MaximumRetryAttempts", self.maximum_retry_attempts, 0, 185),
            ("MaximumEventAgeInSeconds", self.maximum_event_age_s, 60, 86_400),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise RuleValidationError(f"RetryPolicy {name} must be a whole number from {low} to {high}, got {value!r}.")

    def backoff_s(self, failures: int, jitter: float) -> float:
        """Seconds to wait after the ``failures``-th failed attempt before the next one.

        Args:
            failures: failed attempts so far (1 after the first failure).
            jitter: a random number in [0, 1) from the caller.
        """
        ceiling = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2.0 ** min(max(failures, 1) - 1, 30))
        return ceiling / 2 + ceiling / 2 * min(max(jitter, 0.0), 1.0)

    def exhausted(self, failures: int, age_s: float) -> str | None:
        """Why no attempt may follow, as DLQ's EXHAUSTED_RETRY_CONDITION; None while retries remain.

        Args:
            failures: failed attempts so far.
            age_s: seconds since the event arrived, at the time of the next attempt.
        """
        if failures > self.maximum_retry_attempts:
            return "MaximumRetryAttempts"
        if age_s > self.maximum_event_age_s:
            return "MaximumEventAgeInSeconds"
        return None

    def to_json(self) -> dict[str, int]:
        return {
            "MaximumRetryAttempts": self.maximum_retry_attempts,
            "MaximumEventAgeInSeconds": self.maximum_event_age_s,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RetryPolicy:
        """Read AWS's shape (``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds``)."""
        return cls(
            maximum_retry_attempts=value.get("MaximumRetryAttempts", 185),
            maximum_event_age_s=value.get("MaximumEventAgeInSeconds", 86_400),
        )


@dataclass(frozen=True)
class InputTransformer:
    """A target's ``InputTransformer``: named paths into the event and a template using them."""

    input_template: str
    input_paths_map: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"InputTemplate": self.input_template}
        if self.input_paths_map:
            out["InputPathsMap"] = dict(self.input_paths_map)
        return out


@dataclass(frozen=True)
class Target:
    """Where a rule sends matching events (EventBridge's ``Target``)."""

    id: str
    arn: str
    input: str | None = None
    """Constant JSON text sent instead of the event."""
    input_path: str | None = None
    """JSONPath selecting the part of the event to send."""
    input_transformer: InputTransformer | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letter_arn: str | None = None
    """An SQS queue (standard, not FIFO) for events that could not be delivered."""
    message_group_id: str | None = None
    """``SqsParameters.MessageGroupId``: the message group of a queue target's messages (a FIFO
    queue needs one; a standard queue takes it as a fair queue does)."""
    http_parameters: Mapping[str, Any] | None = None
    """``HttpParameters`` (API destination and API Gateway targets): PathParameterValues for the
    endpoint's ``*``, HeaderParameters and QueryStringParameters, in AWS's shape."""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _TARGET_ID.match(self.id):
            raise RuleValidationError(f"Target id '{self.id}' is not valid: use 1-64 letters, digits, '.', '-' and '_'.")
        kind = target_kind(self.arn)
        if self.message_group_id is not None and (
            not isinstance(self.message_group_id, str) or len(self.message_group_id) > _MAX_MESSAGE_GROUP_ID
        ):
            raise RuleValidationError(
                f"SqsParameters MessageGroupId of target {self.id} must be text of at most {_MAX_MESSAGE_GROUP_ID} characters."
            )
        if self.http_parameters is not None:
            _check_http_parameters(self.id, self.http_parameters)
        given = [x for x in (self.input, self.input_path, self.input_transformer) if x is not None]
        if len(given) > 1:
            raise RuleValidationError(f"Only one of Input, InputPath, or InputTransformer must be provided for target {self.id}.")
        if kind == "log-group" and (self.input is not None or self.input_path is not None):
            # A log group takes the matched event or an InputTransformer making {"timestamp", "message"}
            # (the only two choices EventBridge offers this target). That PutTargets refuses the rest
            # is our reading; AWS's exact message is not confirmed.
            raise RuleValidationError(
                f"Target {self.id}: a CloudWatch Logs log group target takes the matched event or an InputTransformer, "
                "not Input or InputPath."
            )
        if self.input is not None:
            try:
                json.loads(self.input)
            except (TypeError, ValueError):
                raise RuleValidationError(f"Input for target {self.id} is not valid JSON.") from None
        if self.input_path is not None:
            for issue in input_path_problems(self.input_path):
                raise RuleValidationError(f"InputPath for target {self.id}: {issue}")
        if self.input_transformer is not None:
            transformer = self.input_transformer
            for issue in transformer_problems(transformer.input_paths_map, transformer.input_template, target_id=self.id):
                raise RuleValidationError(issue)
        if self.dead_letter_arn is not None:
            if _kind_or_none(self.dead_letter_arn) != "queue":
                raise RuleValidationError(f"DeadLetterConfig of target {self.id} must be an SQS queue ARN, got '{self.dead_letter_arn}'.")
            if self.dead_letter_arn.endswith(".fifo"):
                raise RuleValidationError(f"DeadLetterConfig of target {self.id}: a FIFO queue cannot be a dead-letter queue.")

    @property
    def kind(self) -> TargetKind:
        return target_kind(self.arn)

    def render(self, event: Mapping[str, Any], *, rule_name: str, rule_arn: str, ingestion_time: str) -> JSON:
        """What this target receives for ``event``.

        Args:
            event: the event as delivered (with ``replay-name`` when replayed).
            rule_name: the rule that matched.
            rule_arn: its ARN.
            ingestion_time: when the bus received the event (ISO 8601, UTC).
        """
        if self.input is not None:
            return json.loads(self.input)
        if self.input_path is not None:
            return select_input_path(event, self.input_path)
        if self.input_transformer is not None:
            return transform(
                event,
                input_paths_map=self.input_transformer.input_paths_map,
                input_template=self.input_transformer.input_template,
                rule_name=rule_name,
                rule_arn=rule_arn,
                ingestion_time=ingestion_time,
            )
        return dict(event)

    def to_json(self) -> dict[str, Any]:
        """AWS's PutTargets shape."""
        out: dict[str, Any] = {"Id": self.id, "Arn": self.arn}
        if self.input is not None:
            out["Input"] = self.input
        if self.input_path is not None:
            out["InputPath"] = self.input_path
        if self.input_transformer is not None:
            out["InputTransformer"] = self.input_transformer.to_json()
        out["RetryPolicy"] = self.retry_policy.to_json()
        if self.dead_letter_arn is not None:
            out["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        if self.message_group_id is not None:
            out["SqsParameters"] = {"MessageGroupId": self.message_group_id}
        if self.http_parameters is not None:
            out["HttpParameters"] = dict(self.http_parameters)
        return out

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Target:
        """Read AWS's PutTargets shape.

        Raises:
            RuleValidationError: a field is missing or not valid.
        """
        if not isinstance(value, Mapping) or "Id" not in value or "Arn" not in value:
            raise RuleValidationError("A target needs an Id and an Arn.")
        transformer = value.get("InputTransformer")
        if transformer is not None:
            if not isinstance(transformer, Mapping) or "InputTemplate" not in transformer:
                raise RuleValidationError(f"InputTransformer of target {value['Id']} needs an InputTemplate.")
            paths = transformer.get("InputPathsMap", {})
            if not isinstance(paths, Mapping):
                raise RuleValidationError(f"InputPathsMap of target {value['Id']} must be an object.")
        retry = value.get("RetryPolicy") or {}
        dead_letter = value.get("DeadLetterConfig") or {}
        sqs = value.get("SqsParameters") or {}
        if not isinstance(retry, Mapping) or not isinstance(dead_letter, Mapping) or not isinstance(sqs, Mapping):
            raise RuleValidationError(f"RetryPolicy, DeadLetterConfig and SqsParameters of target {value['Id']} must be objects.")
        return cls(
            id=value["Id"],
            arn=value["Arn"],
            input=value.get("Input"),
            input_path=value.get("InputPath"),
            input_transformer=(
                InputTransformer(transformer["InputTemplate"], dict(transformer.get("InputPathsMap") or {}))
                if transformer is not None
                else None
            ),
            retry_policy=RetryPolicy.from_json(retry),
            dead_letter_arn=dead_letter.get("Arn"),
            message_group_id=sqs.get("MessageGroupId"),
            http_parameters=value.get("HttpParameters"),
        )


def _check_http_parameters(target_id: str, value: Any) -> None:
    """HttpParameters as EventBridge's model shapes them: a list of strings and two string maps."""
    if not isinstance(value, Mapping) or set(value) - _HTTP_PARAMETER_KEYS:
        raise RuleValidationError(f"HttpParameters of target {target_id} must be an object of {sorted(_HTTP_PARAMETER_KEYS)}.")
    paths = value.get("PathParameterValues")
    if paths is not None and (not isinstance(paths, list) or not all(isinstance(p, str) and p.strip() for p in paths)):
        raise RuleValidationError(f"HttpParameters PathParameterValues of target {target_id} must be a list of non-blank strings.")
    for member, key_pattern, value_pattern in (
        ("HeaderParameters", HEADER_KEY_PATTERN, HEADER_VALUE_PATTERN),
        ("QueryStringParameters", QUERY_KEY_PATTERN, QUERY_VALUE_PATTERN),
    ):
        given = value.get(member)
        if given is not None and (not isinstance(given, Mapping) or not all(isinstance(v, str) for v in given.values())):
            raise RuleValidationError(f"HttpParameters {member} of target {target_id} must map names to strings.")
        for key, text in (given or {}).items():
            # The model's map key and value constraints: no line break or control character can
            # reach a request's header or query string. The value is not shown (it may be a credential).
            for what, item, pattern in (("key", key, key_pattern), ("value", text, value_pattern)):
                if not isinstance(item, str) or len(item) > MAX_PARAMETER or not re.search(pattern, item):
                    shown = f" '{item}'" if what == "key" else f" of '{key}'"
                    raise RuleValidationError(
                        f"HttpParameters {member} {what}{shown} of target {target_id} failed to satisfy constraint: "
                        f"Member must have length less than or equal to {MAX_PARAMETER} and satisfy regular expression pattern: {pattern}"
                    )


def _kind_or_none(arn: str) -> TargetKind | None:
    try:
        return target_kind(arn)
    except RuleValidationError:
        return None


@dataclass(frozen=True)
class Rule:
    """A rule on an event bus.

    ``targets`` holds :class:`Target` values (delivered through a target
    resolver, with retries and dead-letter queues) and, for rules the
    composition root adds in its own process, plain callables that get the event.
    Only rules whose targets are all :class:`Target` values can be stored.
    """

    name: str
    pattern: Pattern
    """:data:`NO_PATTERN` for a rule that runs only on its schedule."""
    targets: tuple[Target | TargetCallable, ...] = ()
    bus: str = DEFAULT_BUS
    state: RuleState = "ENABLED"
    description: str = ""
    schedule: str | None = None
    """A ``rate()`` or ``cron()`` ScheduleExpression: the rule also sends its targets a
    "Scheduled Event" at each occurrence (default bus only, as on AWS)."""
    role_arn: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, Pattern):
            raise TypeError("Rule.pattern must be a compiled Pattern (use compile_pattern)")
        if self.schedule is not None:
            try:
                parse_schedule(self.schedule, allow_at=False)
            except ScheduleExpressionError:
                raise RuleValidationError("Parameter ScheduleExpression is not valid.") from None
            if self.bus != DEFAULT_BUS:
                raise RuleValidationError("ScheduleExpression is supported only on the default event bus.")
        elif not self.matches_events:
            raise RuleValidationError("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if self.state not in ("ENABLED", "DISABLED"):
            raise RuleValidationError(f"Rule state must be ENABLED or DISABLED, got '{self.state}'.")
        if len(self.targets) > MAX_TARGETS:
            raise RuleValidationError(f"Rule {self.name} has {len(self.targets)} targets; a rule can have at most {MAX_TARGETS}.")
        ids = self.target_ids
        if len(set(ids)) != len(ids):
            raise RuleValidationError(f"Rule {self.name} has two targets with the same Id.")
        if len(self.description) > _MAX_DESCRIPTION:
            raise RuleValidationError(f"Rule description is longer than {_MAX_DESCRIPTION} characters.")

    @property
    def enabled(self) -> bool:
        return self.state == "ENABLED"

    @property
    def matches_events(self) -> bool:
        """Whether the rule has an event pattern (a rule may run only on its schedule)."""
        return self.pattern.source != ""

    @property
    def target_ids(self) -> tuple[str, ...]:
        """Each target's id; an in-process callable is known by its position."""
        return tuple(t.id if isinstance(t, Target) else str(i) for i, t in enumerate(self.targets))

    @property
    def storable(self) -> bool:
        """Whether every target is a :class:`Target` (callables live only in their process)."""
        return all(isinstance(t, Target) for t in self.targets)

    def target(self, target_id: str) -> Target | TargetCallable | None:
        """The target with ``target_id``, or None."""
        for tid, target in zip(self.target_ids, self.targets, strict=True):
            if tid == target_id:
                return target
        return None

    def arn(self, *, region: str, account: str) -> str:
        return rule_arn(self.name, bus=self.bus, region=region, account=account)

    def check(self) -> Rule:
        """Return the rule if EventBridge would accept its names and it can be stored.

        Raises:
            RuleValidationError: a name is invalid or a target is an in-process callable.
        """
        check_rule_name(self.name)
        check_bus_name(self.bus)
        if not self.storable:
            raise RuleValidationError(f"Rule {self.name} has in-process targets; only ARN targets can be stored.")
        return self

    @classmethod
    def from_definition(
        cls,
        name: str,
        pattern: str | Mapping[str, Any] | None,
        *,
        bus: str = DEFAULT_BUS,
        state: RuleState = "ENABLED",
        description: str = "",
        targets: tuple[Target, ...] = (),
        schedule: str | None = None,
        role_arn: str | None = None,
    ) -> Rule:
        """Build and check a rule from its pattern as JSON text or a mapping (None: a schedule only).

        Raises:
            EventPatternError: the pattern is invalid (AWS's message).
            RuleValidationError: anything else EventBridge would refuse.
        """
        compiled = NO_PATTERN if pattern is None else compile_pattern(pattern)
        return cls(name, compiled, targets, bus, state, description, schedule, role_arn).check()


@dataclass(frozen=True)
class Delivery:
    """One attempt to hand an event to a target: what a target resolver's callable receives."""

    input: JSON
    """What the target gets (after Input, InputPath or InputTransformer)."""
    event: Mapping[str, Any]
    """The event as delivered, ``replay-name`` included when replayed."""
    rule: str
    rule_arn: str
    target_id: str
    target_arn: str
    attempt: int = 1
    """1 for the first attempt, 2 for the first retry..."""
    message_group_id: str | None = None
    """The target's ``SqsParameters.MessageGroupId`` (queue targets)."""

    @property
    def replay_name(self) -> str | None:
        value = self.event.get("replay-name")
        return str(value) if value is not None else None

    @property
    def execution_name(self) -> str:
        """The execution name a state machine target starts with (see :func:`delivery_execution_name`)."""
        return delivery_execution_name(self.event, rule_arn=self.rule_arn, target_id=self.target_id)


def delivery_execution_name(event: Mapping[str, Any], *, rule_arn: str, target_id: str) -> str:
    """The execution name one (event, replay, rule, target) starts a state machine with.

    :func:`~sluiceway.events.envelope.execution_name_for` the event (its object key and
    the identity of its write, or its id), then a short hash of the rule's ARN, the target's
    id and the replay's name, if any. The same delivery made again (a retry, or a repeat
    after a crash) gets the same name, so it starts nothing new; but every rule target
    starts an execution of its own, as on AWS, where two rules (on one bus, or on a bus and
    the bus it forwards to) that match one event each start the machine. A name that left
    the rule out would make the second start return the first's execution. Whether another
    rule reaches the same machine cannot decide the name: rules change between a delivery's
    retries, and the name must not.
    """
    parts = [rule_arn, target_id]
    replay = event.get("replay-name")
    if replay is not None:
        parts.append(str(replay))
    # 50 (the key's part) + 1 + 16 (the event's) + 1 + 12: Step Functions' 80-character limit.
    return f"{execution_name_for(event)}-{hashlib.sha256(chr(31).join(parts).encode()).hexdigest()[:12]}"


# --------------------------------------------------------------------------------------
# Records of a bus's durable side (what an event store keeps and a router reads).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventBusInfo:
    """An event bus."""

    name: str
    created_at: datetime
    description: str | None = None
    updated_at: datetime | None = None
    policy: str | None = None
    """Its resource-based policy (a JSON document), if PutPermission gave it one."""
    kms_key_identifier: str | None = None
    dead_letter_arn: str | None = None
    """The SQS queue CreateEventBus named for events it could not deliver."""


@dataclass(frozen=True)
class ArchiveRecord:
    """An archive: the events of a bus matching its pattern, from its creation on (EventBridge's CreateArchive)."""

    name: str
    bus: str
    created_at: datetime
    description: str | None = None
    pattern: str = ""
    """The event pattern as JSON text; '' keeps every event."""
    retention_days: int = 0
    """0: forever (bounded here by the data dir's retention of the bus's log)."""


@dataclass(frozen=True)
class StoredEvent:
    """An event as the bus keeps it."""

    seq: int
    """Its place in the bus's log (ingestion order)."""
    event: dict[str, Any]
    bus: str
    ingested_at: datetime


@dataclass(frozen=True)
class NewDelivery:
    """A target an event must reach, found by matching the event against a bus's rules."""

    rule: str
    target: str
    origin: Literal["stored", "process"]
    """``stored``: a rule in the event store; ``process``: one added in a router's process."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One (event, replay, rule, target) and how its delivery stands."""

    id: int
    seq: int
    replay: str
    """The replay's name; empty for the event's own delivery."""
    bus: str
    rule: str
    target: str
    origin: Literal["stored", "process"]
    status: DeliveryStatus
    attempts: int
    """Failed attempts so far."""
    age_from: datetime
    """When the event arrived (or the replay started): MaximumEventAgeInSeconds counts from here."""
    next_attempt_at: datetime
    last_error: str | None = None


@dataclass(frozen=True)
class ReplayRecord:
    """A replay of archived events (EventBridge's StartReplay)."""

    name: str
    bus: str
    rule: str | None
    """Only this rule gets the events; every rule of the bus when None."""
    since: datetime
    until: datetime | None
    """Events that arrived before this; None: every event up to ``last_seq``."""
    last_seq: int
    """Events after this one arrived after the replay started and are not part of it."""
    cursor: int
    """The last event fanned out so far."""
    state: Literal["RUNNING", "COMPLETED"]
    started_at: datetime
    archive: str | None = None
    """The archive replayed (StartReplay); None for the CLI's replay of the bus's log."""
    description: str | None = None
    ended_at: datetime | None = None
    cancelled: bool = False
    """Cancelled (CancelReplay) before it completed: no event is fanned out after that."""

    @property
    def rule_names(self) -> frozenset[str] | None:
        """The rules that get the events (Destination.FilterArns); None: every rule of the bus."""
        return frozenset(self.rule.split(",")) if self.rule else None
