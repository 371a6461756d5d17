"""AWS::Events::EventBus, AWS::Events::Rule, AWS::Scheduler::Schedule(Group), AWS::StepFunctions::StateMachine
(with its StateMachineVersion and StateMachineAlias, which SAM's AutoPublishAlias makes) and AWS::StepFunctions::Activity."""

from __future__ import annotations

import json
import re
from typing import Any

from ...endpoint.errors import AwsError
from ...endpoint.services._sfn_logging import described_logging, described_tracing
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["Activity", "EventBus", "Rule", "Schedule", "ScheduleGroup", "StateMachine", "StateMachineAlias", "StateMachineVersion"]


def _ignore(codes: tuple[str, ...], action: Any) -> None:
    try:
        action()
    except AwsError as error:
        if error.code not in codes:
            raise


class EventBus:
    def apply(self, env: Env, request: Request) -> Made:
        name = request.properties.get("Name")
        if not isinstance(name, str):
            raise TemplateError(f"{request.where}.Name: required for AWS::Events::EventBus")
        params: dict[str, Any] = {"Name": name}
        if request.properties.get("Description"):
            params["Description"] = request.properties["Description"]
        _ignore(("ResourceAlreadyExistsException",), lambda: env.aws.call("events", "CreateEventBus", params))
        arn = env.arn("events", f"event-bus/{name}")
        return Made(name, name, {"Arn": arn, "Name": name})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore(("ResourceNotFoundException",), lambda: env.aws.call("events", "DeleteEventBus", {"Name": stored.physical_id}))


_TARGET_KEYS = (
    "Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "RetryPolicy", "DeadLetterConfig", "SqsParameters", "HttpParameters",
)  # fmt: skip


class Rule:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("Name") or physical_name(env.stack_name, request.logical_id, 64)
        bus = props.get("EventBusName") or "default"
        if isinstance(bus, str) and bus.startswith("arn:"):
            bus = bus.rsplit("/", 1)[-1]
        params: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State") or "ENABLED"}
        pattern = props.get("EventPattern")
        if pattern is not None:
            params["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if props.get("ScheduleExpression"):
            params["ScheduleExpression"] = props["ScheduleExpression"]
        if props.get("Description"):
            params["Description"] = props["Description"]
        arn = env.aws.call("events", "PutRule", params)["RuleArn"]
        targets = []
        for index, target in enumerate(props.get("Targets") or []):
            if not isinstance(target, dict) or "Id" not in target or "Arn" not in target:
                raise TemplateError(f"{request.where}.Targets[{index}]: needs Id and Arn")
            unknown = sorted(set(target) - set(_TARGET_KEYS))
            if unknown:
                env.warn(f"{request.logical_id}: target {target['Id']}: {', '.join(unknown)} not emulated locally")
            targets.append({key: target[key] for key in _TARGET_KEYS if key in target})
        stale = set((request.previous.state if request.previous else {}).get("targets", ())) - {t["Id"] for t in targets}
        if stale:
            env.aws.call("events", "RemoveTargets", {"Rule": name, "EventBusName": bus, "Ids": sorted(stale)})
        if targets:
            result = env.aws.call("events", "PutTargets", {"Rule": name, "EventBusName": bus, "Targets": targets})
            if result.get("FailedEntryCount"):
                problems = "; ".join(f"{e.get('TargetId')}: {e.get('ErrorMessage')}" for e in result.get("FailedEntries", []))
                raise TemplateError(f"{request.where}.Targets: {problems}")
        # A rule on another bus than the default is Ref'd as "bus|rule", as CloudFormation documents.
        ref = name if bus == "default" else f"{bus}|{name}"
        return Made(ref, ref, {"Arn": arn}, {"bus": bus, "name": name, "targets": [t["Id"] for t in targets]})

    def delete(self, env: Env, stored: Stored) -> None:
        bus, name = stored.state.get("bus", "default"), stored.state.get("name", stored.physical_id)
        ids = list(stored.state.get("targets", []))
        if ids:
            _ignore(
                ("ResourceNotFoundException",),
                lambda: env.aws.call("events", "RemoveTargets", {"Rule": name, "EventBusName": bus, "Ids": ids}),
            )
        _ignore(("ResourceNotFoundException",), lambda: env.aws.call("events", "DeleteRule", {"Name": name, "EventBusName": bus}))


class ScheduleGroup:
    def apply(self, env: Env, request: Request) -> Made:
        name = request.properties.get("Name") or physical_name(env.stack_name, request.logical_id, 64)
        _ignore(("ConflictException",), lambda: env.aws.call("scheduler", "CreateScheduleGroup", {"Name": name}))
        arn = env.arn("scheduler", f"schedule-group/{name}")
        return Made(name, name, {"Arn": arn})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore(("ResourceNotFoundException",), lambda: env.aws.call("scheduler", "DeleteScheduleGroup", {"Name": stored.physical_id}))


_SCHEDULE_KEYS = (
    "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target", "State", "StartDate", "EndDate",
    "Description", "GroupName", "KmsKeyArn", "ActionAfterCompletion",
)  # fmt: skip


class Schedule:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("Name") or physical_name(env.stack_name, request.logical_id, 64)
        params = {"Name": name, **{key: props[key] for key in _SCHEDULE_KEYS if key in props}}
        group = params.get("GroupName") or "default"
        try:
            env.aws.call("scheduler", "CreateSchedule", params)
        except AwsError as error:
            if error.code != "ConflictException":
                raise
            env.aws.call("scheduler", "UpdateSchedule", params)
        arn = env.arn("scheduler", f"schedule/{group}/{name}")
        return Made(name, name, {"Arn": arn}, {"group": group})

    def delete(self, env: Env, stored: Stored) -> None:
        params = {"Name": stored.physical_id, "GroupName": stored.state.get("group", "default")}
        _ignore(("ResourceNotFoundException",), lambda: env.aws.call("scheduler", "DeleteSchedule", params))


_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def definition_text(env: Env, request: Request) -> str:
    """The state machine's ASL text: DefinitionString, Definition or the local DefinitionS3Location, substituted."""
    props = request.properties
    if isinstance(props.get("DefinitionString"), str):
        text = props["DefinitionString"]
    elif isinstance(props.get("Definition"), dict):
        text = json.dumps(props["Definition"])
    elif isinstance(props.get("DefinitionS3Location"), dict):
        location = props["DefinitionS3Location"]
        path = env.artifacts.local(location.get("Bucket"), location.get("Key"))
        if path is None:
            raise TemplateError(f"{request.where}.DefinitionS3Location: only local files can be read (DefinitionUri beside the template)")
        text = path.read_text(encoding="utf-8")
    else:
        raise TemplateError(f"{request.where}: needs DefinitionString, Definition or DefinitionS3Location")
    substitutions = props.get("DefinitionSubstitutions") or {}
    if not isinstance(substitutions, dict):
        raise TemplateError(f"{request.where}.DefinitionSubstitutions: must be an object")

    def replace(match: re.Match[str]) -> str:
        # CloudFormation replaces ${key} for the keys given and leaves any other ${...} as it is.
        key = match.group(1)
        if key in substitutions:
            value = substitutions[key]
            return (
                json.dumps(value)
                if isinstance(value, (dict, list))
                else ("true" if value is True else "false" if value is False else str(value))
            )
        return match.group(0)

    return _SUBSTITUTION.sub(replace, text)


class StateMachine:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("StateMachineName") or physical_name(env.stack_name, request.logical_id, 80)
        params: dict[str, Any] = {
            "name": name,
            "definition": definition_text(env, request),
            "roleArn": props.get("RoleArn") or env.arn("iam", "role/sluiceway-local").replace(f":{env.region}:", "::"),
            "type": props.get("StateMachineType") or "STANDARD",
        }
        for cfn_key, api_key in (("LoggingConfiguration", "loggingConfiguration"), ("TracingConfiguration", "tracingConfiguration")):
            if isinstance(props.get(cfn_key), dict):
                params[api_key] = _camel(props[cfn_key])
        try:
            arn = env.aws.call("stepfunctions", "CreateStateMachine", params)["stateMachineArn"]
        except AwsError as error:
            if error.code != "StateMachineAlreadyExists":
                raise
            arn = env.arn("states", f"stateMachine:{name}")
        # CreateStateMachine gives an existing machine back unchanged when only its role (or tags)
        # differ, and refuses one whose definition, logging or tracing differ: either way the
        # template's configuration is brought about by UpdateStateMachine, with only what differs
        # from the machine as described (nothing differing makes no call, hence no new revision).
        described = env.aws.call("stepfunctions", "DescribeStateMachine", {"stateMachineArn": arn})
        update = _differences(params, described)
        if update:
            env.aws.call("stepfunctions", "UpdateStateMachine", {"stateMachineArn": arn, **update})
            described = env.aws.call("stepfunctions", "DescribeStateMachine", {"stateMachineArn": arn})
        # The revision the machine is at: a version published from it names it (StateMachineRevisionId).
        revision = described.get("revisionId") or "INITIAL"
        return Made(arn, arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": revision})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore(
            ("StateMachineDoesNotExist",),
            lambda: env.aws.call("stepfunctions", "DeleteStateMachine", {"stateMachineArn": stored.physical_id}),
        )


def _differences(params: dict[str, Any], described: dict[str, Any]) -> dict[str, Any]:
    """UpdateStateMachine's members for what the template gives differently from the machine as described.

    A template without LoggingConfiguration or TracingConfiguration turns them off, as
    CloudFormation's update does; both are compared as DescribeStateMachine shows them.
    """
    update: dict[str, Any] = {}
    if described.get("definition") != params["definition"]:
        update["definition"] = params["definition"]
    if described.get("roleArn") != params["roleArn"]:
        update["roleArn"] = params["roleArn"]
    logging = params.get("loggingConfiguration") or {"level": "OFF"}
    if described_logging(described.get("loggingConfiguration")) != described_logging(logging):
        update["loggingConfiguration"] = logging
    tracing = params.get("tracingConfiguration") or {"enabled": False}
    if described_tracing(described.get("tracingConfiguration")) != described_tracing(tracing):
        update["tracingConfiguration"] = tracing
    return update


def _camel(value: Any) -> Any:
    # CloudFormation spells the API's camelCase members in PascalCase.
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


class Activity:
    """An activity workers poll with GetActivityTask; ``Ref`` is its ARN.

    Its name and encryption cannot change in place: a new name makes a new activity and deletes
    the old one (CloudFormation's replacement); another encryption under the same name fails, as
    a custom-named replacement does on CloudFormation. Tags are brought to the template's.
    """

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("Name")
        if not isinstance(name, str):
            raise TemplateError(f"{request.where}.Name: required for AWS::StepFunctions::Activity")
        tags: dict[str, str] = {}
        for index, tag in enumerate(props.get("Tags") or []):
            if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str) or not isinstance(tag.get("Value"), str):
                raise TemplateError(f"{request.where}.Tags[{index}]: a tag is {{Key: string, Value: string}}")
            tags[tag["Key"]] = tag["Value"]
        previous = request.previous
        if (
            previous is not None
            and previous.properties.get("Name") == name
            and previous.properties.get("EncryptionConfiguration") != props.get("EncryptionConfiguration")
        ):
            # A create-only property of a named resource: CloudFormation would have to replace it under
            # the same name, which it refuses.
            raise TemplateError(
                f"{request.where}.EncryptionConfiguration: CloudFormation cannot update a stack when a custom-named resource"
                " requires replacing. Rename the activity and update the stack again."
            )
        params: dict[str, Any] = {"name": name}
        if isinstance(props.get("EncryptionConfiguration"), dict):
            params["encryptionConfiguration"] = _camel(props["EncryptionConfiguration"])
        if tags:
            params["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        arn = str(env.aws.call("stepfunctions", "CreateActivity", params)["activityArn"])
        if previous is not None and previous.physical_id != arn:
            self.delete(env, previous)
        elif previous is not None:
            # CreateActivity keeps an existing activity's tags: bring them to the template's.
            had = {str(t["key"]) for t in env.aws.call("stepfunctions", "ListTagsForResource", {"resourceArn": arn}).get("tags") or []}
            if had - tags.keys():
                env.aws.call("stepfunctions", "UntagResource", {"resourceArn": arn, "tagKeys": sorted(had - tags.keys())})
            if tags:
                env.aws.call("stepfunctions", "TagResource", {"resourceArn": arn, "tags": params["tags"]})
        return Made(arn, arn, {"Arn": arn, "Name": name})

    def delete(self, env: Env, stored: Stored) -> None:
        # Deleting an activity that is gone succeeds (DeleteActivity is idempotent).
        env.aws.call("stepfunctions", "DeleteActivity", {"activityArn": stored.physical_id})


class StateMachineVersion:
    """Publishes the machine's current revision; applied again at each start, it publishes only when the
    revision changed (PublishStateMachineVersion is idempotent), as CloudFormation replaces the version then."""

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        machine = props.get("StateMachineArn")
        if not isinstance(machine, str):
            raise TemplateError(f"{request.where}.StateMachineArn: required for AWS::StepFunctions::StateMachineVersion")
        params: dict[str, Any] = {"stateMachineArn": machine}
        revision = props.get("StateMachineRevisionId")
        if isinstance(revision, str) and revision != "INITIAL":
            # Publish only if the machine is still at that revision (the initial revision has no id to compare).
            params["revisionId"] = revision
        if isinstance(props.get("Description"), str):
            params["description"] = props["Description"]
        arn = env.aws.call("stepfunctions", "PublishStateMachineVersion", params)["stateMachineVersionArn"]
        return Made(arn, arn, {"Arn": arn})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore(
            ("StateMachineDoesNotExist",),
            lambda: env.aws.call("stepfunctions", "DeleteStateMachineVersion", {"stateMachineVersionArn": stored.physical_id}),
        )


class StateMachineAlias:
    """An alias routing to the template's versions. A DeploymentPreference (SAM's gradual deployments) routes
    everything to its version at once locally: there is no traffic to shift, nor alarms to roll back on."""

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("Name") or physical_name(env.stack_name, request.logical_id, 80)
        routing = _alias_routing(env, request)
        params: dict[str, Any] = {"routingConfiguration": routing}
        if isinstance(props.get("Description"), str):
            params["description"] = props["Description"]
        machine = routing[0]["stateMachineVersionArn"].rsplit(":", 1)[0]
        arn = f"{machine}:{name}"
        try:
            env.aws.call("stepfunctions", "CreateStateMachineAlias", {"name": name, **params})
        except AwsError as error:
            if error.code != "ConflictException":
                raise
            # Made before with another routing (a new version was published): point it at this one.
            env.aws.call("stepfunctions", "UpdateStateMachineAlias", {"stateMachineAliasArn": arn, **params})
        return Made(arn, arn, {"Arn": arn})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore(
            ("ResourceNotFound",),
            lambda: env.aws.call("stepfunctions", "DeleteStateMachineAlias", {"stateMachineAliasArn": stored.physical_id}),
        )


def _alias_routing(env: Env, request: Request) -> list[dict[str, Any]]:
    props = request.properties
    items = props.get("RoutingConfiguration")
    preference = props.get("DeploymentPreference")
    if isinstance(items, list) and items:
        if not all(isinstance(item, dict) for item in items):
            raise TemplateError(f"{request.where}.RoutingConfiguration: a list of objects")
        return [{"stateMachineVersionArn": item.get("StateMachineVersionArn"), "weight": item.get("Weight")} for item in items]
    if isinstance(preference, dict) and isinstance(preference.get("StateMachineVersionArn"), str):
        if preference.get("Type", "ALL_AT_ONCE") != "ALL_AT_ONCE":
            env.warn(f"{request.logical_id}: DeploymentPreference {preference.get('Type')} shifts all traffic at once locally")
        return [{"stateMachineVersionArn": preference["StateMachineVersionArn"], "weight": 100}]
    raise TemplateError(f"{request.where}: needs RoutingConfiguration or DeploymentPreference.StateMachineVersionArn")
