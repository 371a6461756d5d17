"""Amazon EventBridge (json protocol): PutEvents, buses, rules, targets, patterns and tags.

Everything goes through the stack's event bus (``stack.local.bus``), which the CLI uses
too: an event put here is committed and routed by the running stack's router exactly as
``sluiceway events put`` puts it, and a rule made here is the one ``sluiceway rules``
lists. Archives and replays are in :mod:`._events_archives`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Final

from ...errors import NotFoundError
from ...events.bus_policy import BusPolicyError, granting, statement, without
from ...events.envelope import bus_name_of, from_put_events_entry
from ...events.errors import InvalidEntryError
from ...events.patterns import compile_pattern
from ...events.rules import DEFAULT_BUS, MAX_TARGETS, NO_PATTERN, EventBusInfo, Rule, RuleValidationError, Target
from ..context import Context
from ..errors import AwsError
from . import (
    _events_archives,  # noqa: F401 - registers the archive and replay operations
    _events_connections,  # noqa: F401 - registers the connection and API destination operations
)
from ._events_common import (
    BUS_NAME,
    OPERATIONS,
    arn_of_bus,
    bus_name,
    check_name,
    constraint,
    operation,
    page,
    tags_in,
    tags_out,
    validation,
)

__all__ = ["OPERATIONS"]

_MAX_ENTRIES: Final = 10
#: PutEvents' limit on a request's entries (AWS counts Time, Source, DetailType, Detail and Resources).
_MAX_REQUEST_BYTES: Final = 256 * 1024
#: arn:partition:service:region:account:resource (S3 bucket ARNs have neither region nor account).
_ARN: Final = re.compile(r"arn:aws[\w-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+")
_RULE_STATES: Final = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


# -- PutEvents ------------------------------------------------------------------------------


def _entry_size(entry: dict[str, Any]) -> int:
    # AWS's documented calculation ("Calculating PutEvents event entry size").
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        if isinstance(entry.get(name), str):
            size += len(entry[name].encode())
    for resource in entry.get("Resources") or []:
        if isinstance(resource, str):
            size += len(resource.encode())
    return size


@operation("PutEvents")
def put_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    entries = params["Entries"]
    if not 1 <= len(entries) <= _MAX_ENTRIES:
        raise constraint("[PutEventsRequestEntry]", "entries", f"Member must have length less than or equal to {_MAX_ENTRIES}")
    if sum(_entry_size(e) for e in entries) > _MAX_REQUEST_BYTES:
        raise validation("Total size of the entries in the request is over the limit.")
    bus = ctx.stack.local.bus
    now = bus.clock.now()
    results: list[dict[str, Any]] = []
    by_bus: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, entry in enumerate(entries):
        try:
            # The builder the CLI's `events put` uses: the same checks, the same envelope.
            event = from_put_events_entry(entry, event_id=str(uuid.uuid4()), now=now, region=ctx.region, account=ctx.account_id)
        except InvalidEntryError as exc:
            if exc.code in ("ValidationException", "SerializationException"):
                raise AwsError(exc.code, exc.message) from None  # AWS refuses the whole request
            results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
            continue
        if str(entry["Source"]).startswith("aws."):
            # Sources of AWS services are AWS's own: PutEvents refuses them for the entry.
            results.append({"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."})
            continue
        results.append({})
        by_bus.setdefault(bus_name_of(entry, DEFAULT_BUS), []).append((index, event))
    committed = False
    for name, batch in by_bus.items():
        try:
            ids = bus.put_events([event for _, event in batch], bus=name)
        except NotFoundError:
            for index, _ in batch:
                results[index] = {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus {name} does not exist."}
            continue
        committed = True
        for (index, _), event_id in zip(batch, ids, strict=True):
            results[index] = {"EventId": event_id}
    if committed:
        ctx.stack.router.notify()
    return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}


@operation("TestEventPattern")
def test_event_pattern(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pattern = compile_pattern(params["EventPattern"])
    try:
        event = json.loads(params["Event"])
    except (TypeError, ValueError):
        raise validation("Parameter Event is not valid.") from None
    if not isinstance(event, dict):
        raise validation("Parameter Event is not valid.")
    # AWS checks the event has EventBridge's envelope before matching.
    if any(member not in event for member in ("id", "account", "source", "time", "region", "detail-type")):
        raise validation("Parameter Event is not valid.")
    return {"Result": pattern.matches(event)}


# -- buses ----------------------------------------------------------------------------------


def _bus_out(ctx: Context, info: EventBusInfo, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": info.name, "Arn": arn_of_bus(ctx, info.name)}
    if info.description:
        out["Description"] = info.description
    if full and info.kms_key_identifier:
        out["KmsKeyIdentifier"] = info.kms_key_identifier
    if full and info.dead_letter_arn:
        out["DeadLetterConfig"] = {"Arn": info.dead_letter_arn}
    if info.policy:
        out["Policy"] = info.policy
    out["CreationTime"] = info.created_at
    out["LastModifiedTime"] = info.updated_at or info.created_at
    return out


@operation("CreateEventBus")
def create_event_bus(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # The model allows '/' (partner buses are named after their source), so the pattern
    # check comes first and EventBridge's own rule for other buses after it.
    name = check_name(params["Name"], "name", maximum=256, pattern=BUS_NAME)
    source = params.get("EventSourceName")
    if source:
        # No partner event source exists locally: AWS's answer for an unknown one.
        raise AwsError("ResourceNotFoundException", f"Event source {source} does not exist.")
    if "/" in name:
        raise validation("Event bus name must not contain '/'.")
    description = params.get("Description")
    if description is not None and len(description) > 512:
        raise constraint(description, "description", "Member must have length less than or equal to 512")
    tags = tags_in(params.get("Tags"))
    if name == DEFAULT_BUS:
        raise AwsError("ResourceAlreadyExistsException", f"Event bus {name} already exists.")
    kms_key = params.get("KmsKeyIdentifier") or None
    dead_letter = (params.get("DeadLetterConfig") or {}).get("Arn") or None
    arn = arn_of_bus(ctx, name)
    ctx.stack.local.bus.create_bus(
        name, description=description, tags=tags, arn=arn, kms_key_identifier=kms_key, dead_letter_arn=dead_letter
    )
    out: dict[str, Any] = {"EventBusArn": arn}
    if description:
        out["Description"] = description
    if kms_key:
        out["KmsKeyIdentifier"] = kms_key
    if dead_letter:
        out["DeadLetterConfig"] = {"Arn": dead_letter}
    return out


@operation("DeleteEventBus")
def delete_event_bus(ctx: Context, params: dict[str, Any]) -> None:
    name = check_name(params["Name"], "name", maximum=256)
    bus = ctx.stack.local.bus
    try:
        # EventBridge deletes the bus's rules with it; deleting a bus that is not there succeeds.
        bus.delete_bus(name, force=True)
    except NotFoundError:
        return
    bus.untag(arn_of_bus(ctx, name), list(bus.tags(arn_of_bus(ctx, name))))


@operation("DescribeEventBus")
def describe_event_bus(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _bus_out(ctx, ctx.stack.local.bus.get_bus(bus_name(params.get("Name"), "name")), full=True)


@operation("PutPermission")
def put_permission(ctx: Context, params: dict[str, Any]) -> None:
    name = bus_name(params.get("EventBusName"))
    given = params.get("Policy")
    if given is not None:
        # A whole policy replaces the bus's policy as written.
        try:
            document = json.loads(given)
        except ValueError:
            raise validation("Provided value in parameter 'policy' is not valid JSON.") from None
        if not isinstance(document, dict) or "Statement" not in document:
            raise validation("Provided value in parameter 'policy' is not valid.")
        ctx.stack.local.bus.update_bus_policy(name, lambda _current: given)
        return
    missing = [m for m in ("Action", "Principal", "StatementId") if not params.get(m)]
    if missing:
        raise validation(f"Parameter(s) {', '.join(missing)} must be specified.")
    check_name(params["StatementId"], "statementId")
    grant = statement(
        action=params["Action"],
        principal=params["Principal"],
        sid=params["StatementId"],
        bus_arn=arn_of_bus(ctx, name),
        condition=params.get("Condition"),
    )
    ctx.stack.local.bus.update_bus_policy(name, lambda current: granting(current, grant))


@operation("RemovePermission")
def remove_permission(ctx: Context, params: dict[str, Any]) -> None:
    name = bus_name(params.get("EventBusName"))
    bus = ctx.stack.local.bus
    if params.get("RemoveAllPermissions"):

        def clear(current: str | None) -> None:
            if not current:
                raise BusPolicyError("ResourceNotFoundException", "EventBus does not have a policy.")

        bus.update_bus_policy(name, clear)
        return
    sid = params.get("StatementId")
    if not sid:
        raise validation("Parameter(s) StatementId must be specified.")
    bus.update_bus_policy(name, lambda current: without(current, sid))


@operation("ListEventBuses")
def list_event_buses(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("NamePrefix") or ""
    buses = sorted((b for b in ctx.stack.local.bus.list_buses() if b.name.startswith(prefix)), key=lambda b: b.name)
    shown, token = page(buses, lambda b: b.name, params)
    out: dict[str, Any] = {"EventBuses": [_bus_out(ctx, b) for b in shown]}
    if token:
        out["NextToken"] = token
    return out


# -- rules ----------------------------------------------------------------------------------


def _rule_out(ctx: Context, rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": rule.name, "Arn": rule.arn(region=ctx.region, account=ctx.account_id)}
    if rule.matches_events:
        out["EventPattern"] = rule.pattern.source
    if rule.schedule is not None:
        out["ScheduleExpression"] = rule.schedule
    out["State"] = rule.state
    if rule.description:
        out["Description"] = rule.description
    if rule.role_arn:
        out["RoleArn"] = rule.role_arn
    out["EventBusName"] = rule.bus
    return out


def _rule(ctx: Context, params: dict[str, Any], member: str = "Name") -> Rule:
    name = check_name(params[member], member[0].lower() + member[1:])
    return ctx.stack.local.bus.get_rule(name, _existing_bus(ctx, params))


def _existing_bus(ctx: Context, params: dict[str, Any]) -> str:
    name = bus_name(params.get("EventBusName"))
    ctx.stack.local.bus.get_bus(name)  # "Event bus X does not exist." before any rule is looked at
    return name


@operation("PutRule")
def put_rule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"], "name")
    bus_of_rule = _existing_bus(ctx, params)
    pattern_text, schedule = params.get("EventPattern"), params.get("ScheduleExpression")
    state = params.get("State") or "ENABLED"
    if state not in _RULE_STATES:
        raise constraint(state, "state", f"Member must satisfy enum value set: [{', '.join(_RULE_STATES)}]")
    description = params.get("Description") or ""
    if len(description) > 512:
        raise constraint(description, "description", "Member must have length less than or equal to 512")
    if not pattern_text and not schedule:
        raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
    bus = ctx.stack.local.bus
    try:
        targets = bus.get_rule(name, bus_of_rule).targets
    except NotFoundError:
        targets = ()  # PutRule keeps an existing rule's targets
    rule = Rule(
        name,
        compile_pattern(pattern_text) if pattern_text else NO_PATTERN,
        targets,
        bus_of_rule,
        # CloudTrail management events do not exist locally: such a rule is simply enabled.
        "DISABLED" if state == "DISABLED" else "ENABLED",
        description,
        schedule or None,
        params.get("RoleArn"),
    )
    tags = tags_in(params.get("Tags"))
    bus.put_rule(rule)
    arn = rule.arn(region=ctx.region, account=ctx.account_id)
    if tags:
        bus.tag(arn, tags)
    return {"RuleArn": arn}


@operation("DescribeRule")
def describe_rule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = _rule(ctx, params)
    return {**_rule_out(ctx, rule), "CreatedBy": ctx.account_id}


@operation("ListRules")
def list_rules(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("NamePrefix") or ""
    rules = [r for r in ctx.stack.local.bus.list_rules(_existing_bus(ctx, params)) if r.name.startswith(prefix)]
    shown, token = page(rules, lambda r: r.name, params)
    out: dict[str, Any] = {"Rules": [_rule_out(ctx, r) for r in shown]}
    if token:
        out["NextToken"] = token
    return out


@operation("DeleteRule")
def delete_rule(ctx: Context, params: dict[str, Any]) -> None:
    name = check_name(params["Name"], "name")
    bus_of_rule = _existing_bus(ctx, params)
    bus = ctx.stack.local.bus
    try:
        rule = bus.get_rule(name, bus_of_rule)
    except NotFoundError:
        return  # DeleteRule of a rule that is not there succeeds, as on AWS
    if rule.targets and not params.get("Force"):
        raise validation("Rule can't be deleted since it has targets.")
    bus.delete_rule(name, bus_of_rule, force=True)
    arn = rule.arn(region=ctx.region, account=ctx.account_id)
    bus.untag(arn, list(bus.tags(arn)))


def _set_state(ctx: Context, params: dict[str, Any], state: str) -> None:
    rule = _rule(ctx, params)
    if rule.state != state:
        ctx.stack.local.bus.put_rule(replace(rule, state="ENABLED" if state == "ENABLED" else "DISABLED"))


@operation("EnableRule")
def enable_rule(ctx: Context, params: dict[str, Any]) -> None:
    _set_state(ctx, params, "ENABLED")


@operation("DisableRule")
def disable_rule(ctx: Context, params: dict[str, Any]) -> None:
    _set_state(ctx, params, "DISABLED")


# -- targets --------------------------------------------------------------------------------


@operation("PutTargets")
def put_targets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = _rule(ctx, params, "Rule")
    for given in params["Targets"]:
        arn = given.get("Arn")
        # A malformed ARN fails the whole request (a well-formed one we cannot deliver to
        # fails only its entry, below).
        if not isinstance(arn, str) or not _ARN.fullmatch(arn):
            raise validation(f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format.")
        if ":sqs:" in arn and arn.endswith(".fifo") and not given.get("SqsParameters"):
            # A FIFO queue takes no message without a group: AWS refuses the whole request (a 400
            # ValidationException, as CloudFormation, Terraform and the CDK report it), not the entry.
            raise validation(f"Parameter(s) SqsParameters must be specified for target: {given.get('Id')}.")
    accepted: list[Target] = []
    failed: list[dict[str, Any]] = []
    for index, given in enumerate(params["Targets"], 1):
        target_id = given.get("Id")
        try:
            check_name(target_id, f"targets.{index}.member.id")
            accepted.append(Target.from_json(given))
        except (RuleValidationError, AwsError) as exc:
            message = exc.message if isinstance(exc, AwsError) else str(exc)
            failed.append({"TargetId": target_id, "ErrorCode": "ValidationException", "ErrorMessage": message})
    existing = {t.id for t in rule.targets if isinstance(t, Target)}
    if len(existing | {t.id for t in accepted}) > MAX_TARGETS:
        raise AwsError("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
    if accepted:
        ctx.stack.local.bus.put_targets(rule.name, accepted, rule.bus)
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@operation("RemoveTargets")
def remove_targets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = _rule(ctx, params, "Rule")
    present = set(rule.target_ids)
    ids: Iterable[str] = params["Ids"]
    failed = [
        {
            "TargetId": target_id,
            "ErrorCode": "ResourceNotFoundException",
            "ErrorMessage": f"Rule '{rule.name}' does not have a target with the Id '{target_id}'.",
        }
        for target_id in ids
        if target_id not in present
    ]
    gone = [i for i in ids if i in present]
    if gone:
        ctx.stack.local.bus.remove_targets(rule.name, gone, rule.bus)
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


@operation("ListTargetsByRule")
def list_targets_by_rule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = _rule(ctx, params, "Rule")
    targets = [t for t in rule.targets if isinstance(t, Target)]
    shown, token = page(targets, lambda t: t.id, params)
    out: dict[str, Any] = {"Targets": [t.to_json() for t in shown]}
    if token:
        out["NextToken"] = token
    return out


@operation("ListRuleNamesByTarget")
def list_rule_names_by_target(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["TargetArn"]
    rules = ctx.stack.local.bus.list_rules(_existing_bus(ctx, params))
    names = sorted(r.name for r in rules if any(isinstance(t, Target) and t.arn == arn for t in r.targets))
    shown, token = page(names, lambda n: n, params)
    out: dict[str, Any] = {"RuleNames": shown}
    if token:
        out["NextToken"] = token
    return out


# -- tags -----------------------------------------------------------------------------------


def _taggable(ctx: Context, arn: str) -> str:
    """``arn`` if it names an existing bus or rule (EventBridge's taggable resources here)."""
    resource = arn.split(":", 5)[-1] if arn.startswith("arn:") and arn.count(":") >= 5 else ""
    bus = ctx.stack.local.bus
    if resource.startswith("event-bus/"):
        bus.get_bus(resource.removeprefix("event-bus/"))
        return arn
    if resource.startswith("rule/"):
        parts = resource.removeprefix("rule/").rsplit("/", 1)
        bus_of_rule, name = (DEFAULT_BUS, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
        bus.get_rule(name, bus_of_rule)
        return arn
    raise validation(f"Parameter ResourceARN is not valid. Reason: {arn} is not an EventBridge resource ARN.")


@operation("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    ctx.stack.local.bus.tag(_taggable(ctx, params["ResourceARN"]), tags_in(params["Tags"]))


@operation("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    ctx.stack.local.bus.untag(_taggable(ctx, params["ResourceARN"]), params["TagKeys"])


@operation("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": tags_out(ctx.stack.local.bus.tags(_taggable(ctx, params["ResourceARN"])))}
