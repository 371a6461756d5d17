"""AWS Step Functions (json protocol, ``AWSStepFunctions.*``) on the local orchestrator.

State machines are the application's workflows and those created here (see
:mod:`._sfn_catalog`); executions, their history and task tokens are the orchestrator's,
so that an execution started by an S3 event is listed, described and followed here
exactly like one started with StartExecution.

StartSyncExecution and TestState are modelled with the ``sync-`` host prefix: botocore
sends them to ``sync-<host>``, a name that does not resolve for ``127.0.0.1``. Clients
disable the prefix with ``Config(inject_host_prefix=False)`` or the environment variable
``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (functions run with it set); the endpoint
serves both hosts the same.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ...asl import parser
from ...asl.limits import load_json
from ...backends.local.revisions import StateMachineRevision
from ...errors import (
    ExecutionAlreadyExistsError,
    ExecutionError,
    ExecutionNotFoundError,
    InvalidNameError,
    OrchestratorStoppedError,
)
from ...names import check_name
from ...ports import ExecutionRecord
from ...runtime.orchestration.executor import InvalidTaskTokenError, TaskTimedOutError
from ...runtime.orchestration.json_reasons import EMPTY_INPUT, jackson_location, jackson_reason
from ..context import Context, Operations
from ..errors import AwsError
from ..sdk_tasks import sdk_diagnostics
from . import _sfn_versions as versions
from ._sfn_activities import HANDLERS as ACTIVITY_HANDLERS
from ._sfn_activities import Tags, activity_tags
from ._sfn_catalog import Catalog, StateMachineRecord, invalid_arn, tag_map, validation_error
from ._sfn_express import NOT_AN_OBJECT, express_diagnostics
from ._sfn_test_state import test_state
from ._sfn_versions import DEFAULT_ENCRYPTION, Target, check_publish, publish, resolve, split, started_fields, version_arn

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("stepfunctions")
for _name, _handler in ACTIVITY_HANDLERS.items():  # activities and their workers' GetActivityTask
    OPERATIONS(_name)(_handler)

MAX_DATA_CHARS = 262_144
"""Step Functions' limit on an execution's input and a task's output (the model's SensitiveData)."""
SYNC_TIMEOUT_S = 300.0
"""An Express execution runs at most five minutes."""
_STATUSES = ("SUCCEEDED", "TIMED_OUT", "PENDING_REDRIVE", "ABORTED", "FAILED", "RUNNING")
"""ExecutionStatus, in the order AWS lists it in its ValidationException (recorded)."""
_REDRIVE_FILTERS = ("REDRIVEN", "NOT_REDRIVEN")
_EXECUTIONS_TOKEN_CHARS = 3096
"""ListExecutions' longer nextToken (ListExecutionsPageToken; the others' PageToken is 1024)."""
_REDRIVABLE = ("FAILED", "TIMED_OUT", "ABORTED")
REDRIVABLE_PERIOD = timedelta(days=14)
"""How long after it stopped an execution can be redriven."""


def _catalog(ctx: Context) -> Catalog:
    return ctx.shared.get("stepfunctions.catalog", lambda: Catalog(ctx.stack))


# -- state machines ---------------------------------------------------------------------------


@OPERATIONS("CreateStateMachine")
def create_state_machine(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    check_publish(params)
    record, _ = catalog.create(params)
    out: dict[str, Any] = {"stateMachineArn": catalog.arn(record.name), "creationDate": record.created_at}
    if params.get("publish"):
        version = publish(catalog, record.name, description=params.get("versionDescription"))
        out["stateMachineVersionArn"] = version_arn(catalog, record.name, version.version)
    return out


@OPERATIONS("UpdateStateMachine")
def update_state_machine(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    arn = params["stateMachineArn"]
    if split(catalog, arn)[1] is not None:
        # A version or an alias never changes: AWS knows no machine of that ARN to update (recorded).
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    check_publish(params)
    record = catalog.update(catalog.must_get(arn), params)
    out: dict[str, Any] = {"updateDate": record.updated_at}
    current = ctx.stack.local.executions.current_revision(record.name)
    if current is None or not current.initial:
        # Still at the revision CreateStateMachine made (nothing changed): AWS gives it no id (recorded).
        out["revisionId"] = record.revision_id
    if params.get("publish"):
        # The revision this update made, or ConflictException when another update came in between (as AWS documents).
        version = publish(catalog, record.name, description=params.get("versionDescription"), revision_id=out.get("revisionId"))
        out["stateMachineVersionArn"] = version_arn(catalog, record.name, version.version)
    return out


@OPERATIONS("DescribeStateMachine")
def describe_state_machine(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    arn = params["stateMachineArn"]
    name, qualifier = split(catalog, arn)
    if qualifier is not None:
        # A version ARN describes the version; an alias ARN describes no state machine.
        return versions.describe_version(catalog, arn, name, qualifier)
    record = catalog.must_get(arn)
    current = ctx.stack.local.executions.current_revision(record.name)
    return {
        "stateMachineArn": catalog.arn(record.name),
        "name": record.name,
        "status": "ACTIVE",
        "creationDate": record.created_at,
        **_configuration(record, initial=current is not None and current.initial),
    }


@OPERATIONS("DescribeStateMachineForExecution")
def describe_state_machine_for_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    execution = _execution(ctx, params["executionArn"])
    # The revision the execution started with, even when the machine was updated or deleted since.
    revision = ctx.stack.local.executions.execution_revision(execution.arn)
    if revision is not None:
        return {
            "stateMachineArn": catalog.arn(revision.state_machine),
            "name": revision.state_machine,
            "updateDate": revision.updated_at,
            **_configuration(revision, initial=revision.initial),
        }
    # Started before revisions were kept, or of an application workflow the store had not
    # recorded yet: the machine as it is now is the best known answer.
    record = catalog.get(execution.state_machine)
    if record is None:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{catalog.arn(execution.state_machine)}'")
    current = ctx.stack.local.executions.current_revision(record.name)
    return {
        "stateMachineArn": catalog.arn(record.name),
        "name": record.name,
        "updateDate": record.updated_at,
        **_configuration(record, initial=current is not None and current.initial),
    }


def _configuration(record: StateMachineRecord | StateMachineRevision, *, initial: bool) -> dict[str, Any]:
    out = {
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "loggingConfiguration": record.logging or {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": record.tracing or {"enabled": False},
        "encryptionConfiguration": DEFAULT_ENCRYPTION,
    }
    if not initial:
        # AWS gives the revision CreateStateMachine made no id ("the first revision ID ... is null");
        # each UpdateStateMachine makes one, so an execution's revision compares with the machine's.
        out["revisionId"] = record.revision_id
    return out


@OPERATIONS("ListStateMachines")
def list_state_machines(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    limit = _page_size(params.get("maxResults"))
    after = _decode_token(params.get("nextToken"))
    records = [r for r in catalog.all() if after is None or r.name > after]
    page = records[:limit]
    out: dict[str, Any] = {
        "stateMachines": [
            {"stateMachineArn": catalog.arn(r.name), "name": r.name, "type": r.type, "creationDate": r.created_at} for r in page
        ]
    }
    if len(records) > limit:
        out["nextToken"] = _encode_token(page[-1].name)
    return out


@OPERATIONS("DeleteStateMachine")
def delete_state_machine(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    name = catalog.name_of(params["stateMachineArn"])
    record = catalog.get(name)
    if record is not None:  # deleting what does not exist succeeds, as on AWS
        catalog.delete(record)
    return {}


@OPERATIONS("ValidateStateMachineDefinition")
def validate_state_machine_definition(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    kind = params.get("type") or "STANDARD"
    if kind not in ("STANDARD", "EXPRESS"):
        raise validation_error("type", kind, "Member must satisfy enum value set: [STANDARD, EXPRESS]")
    severity = params.get("severity") or "ERROR"
    if severity not in ("ERROR", "WARNING"):
        raise validation_error("severity", severity, "Member must satisfy enum value set: [ERROR, WARNING]")
    limit = params.get("maxResults") or 100
    if not 0 <= limit <= 100:
        raise validation_error("maxResults", limit, "Member must have value less than or equal to 100")
    text = params["definition"]
    try:
        doc = load_json(text)
    except ValueError as exc:
        diagnostics = [_json_diagnostic(text, exc)]
    else:
        if not isinstance(doc, dict):
            diagnostics = [{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": NOT_AN_OBJECT}]
        else:
            diagnostics = [d.to_json() for d in parser.validate(doc)]
            diagnostics += [d.to_json() for d in sdk_diagnostics(doc)]
            if kind == "EXPRESS":
                diagnostics += [d.to_json() for d in express_diagnostics(doc)]
    # severity ERROR (the default) reports errors only; WARNING reports both.
    wanted = [d for d in diagnostics if severity == "WARNING" or d["severity"] == "ERROR"]
    failed = any(d["severity"] == "ERROR" for d in diagnostics)
    return {"result": "FAIL" if failed else "OK", "diagnostics": wanted[:limit], "truncated": len(wanted) > limit}


def _json_diagnostic(text: str, exc: ValueError) -> dict[str, Any]:
    if not text.strip():
        # AWS: an empty definition is no JSON object, not a JSON syntax error (recorded).
        return {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": NOT_AN_OBJECT}
    out: dict[str, Any] = {"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": jackson_reason(text, exc)}
    location = jackson_location(text, exc)
    if location is not None:
        # The parser's message ends with where it stopped; AWS gives that as the location too.
        out["location"] = location
        out["message"] += f"\n at {location}"
    return out


# -- versions and aliases ---------------------------------------------------------------------


@OPERATIONS("PublishStateMachineVersion")
def publish_state_machine_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return versions.publish_operation(_catalog(ctx), params)


@OPERATIONS("ListStateMachineVersions")
def list_state_machine_versions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = _page_size(params.get("maxResults"))
    return versions.list_versions(_catalog(ctx), params, limit, _decode_token(params.get("nextToken")))


@OPERATIONS("DeleteStateMachineVersion")
def delete_state_machine_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return versions.delete_version(_catalog(ctx), params)


@OPERATIONS("CreateStateMachineAlias")
def create_state_machine_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return versions.create_alias(_catalog(ctx), params)


@OPERATIONS("DescribeStateMachineAlias")
def describe_state_machine_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return versions.describe_alias(_catalog(ctx), params)


@OPERATIONS("UpdateStateMachineAlias")
def update_state_machine_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return versions.update_alias(_catalog(ctx), params)


@OPERATIONS("ListStateMachineAliases")
def list_state_machine_aliases(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = _page_size(params.get("maxResults"))
    return versions.list_aliases(_catalog(ctx), params, limit, _decode_token(params.get("nextToken")))


@OPERATIONS("DeleteStateMachineAlias")
def delete_state_machine_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return versions.delete_alias(_catalog(ctx), params)


# -- tags -----------------------------------------------------------------------------------


def _tagged(ctx: Context, arn: str) -> Tags:
    """The tags of the state machine or activity ``arn``, and how to replace them.

    Raises:
        AwsError: ResourceNotFound when there is no such resource; InvalidArn for an ARN of neither kind.
    """
    activity = activity_tags(ctx, arn)
    if activity is not None:
        return activity
    catalog = _catalog(ctx)
    parts = arn.split(":")
    if len(parts) == 8 and parts[:3] == ["arn", "aws", "states"] and parts[5] == "stateMachine":
        # A version or alias ARN: AWS tags neither (recorded), and none is kept here.
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
    try:
        name = catalog.name_of(arn, "resourceArn")
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'") from None
        raise
    record = catalog.get(name)
    if record is None:
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
    return Tags(record.tags, lambda tags: catalog.set_tags(record, tags))


@OPERATIONS("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tagged = _tagged(ctx, params["resourceArn"])
    tags = {**tagged.tags, **tag_map(params["tags"])}
    if len(tags) > 50:
        raise AwsError("TooManyTags", "Too many tags: a resource may have at most 50 tags", fields={"resourceName": params["resourceArn"]})
    tagged.replace(tags)
    return {}


@OPERATIONS("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tagged = _tagged(ctx, params["resourceArn"])
    drop = set(params["tagKeys"])
    tagged.replace({k: v for k, v in tagged.tags.items() if k not in drop})
    return {}


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tagged = _tagged(ctx, params["resourceArn"])
    return {"tags": [{"key": k, "value": v} for k, v in tagged.tags.items()]}


# -- executions -----------------------------------------------------------------------------


def _input(params: dict[str, Any]) -> Any:
    text = params.get("input")
    if text is None:
        return {}
    if len(text) > MAX_DATA_CHARS:
        raise validation_error("input", "...", f"Member must have length less than or equal to {MAX_DATA_CHARS}")
    if not text.strip():
        raise AwsError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{EMPTY_INPUT}'")
    try:
        return load_json(text, parse_constant=_not_json)
    except ValueError as exc:
        raise AwsError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{jackson_reason(text, exc)}'") from None


def _not_json(constant: str) -> Any:
    # Python's decoder takes NaN, Infinity and -Infinity; JSON (and Step Functions) does not.
    raise ValueError(f"{constant} is not a JSON value")


def _start(ctx: Context, params: dict[str, Any], target: Target | None = None) -> tuple[StateMachineRecord, ExecutionRecord]:
    catalog = _catalog(ctx)
    target = target or resolve(catalog, params["stateMachineArn"])
    record = catalog.get(target.name)
    if record is None:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{params['stateMachineArn']}'")
    payload = _input(params)
    name = params.get("name")
    if name is not None:
        if len(name) > 80:
            raise validation_error("name", name, "Member must have length less than or equal to 80")
        try:
            check_name(name, what="execution name")
        except InvalidNameError:
            raise AwsError("InvalidName", f"Invalid Name: '{name}'") from None
    options: dict[str, Any] = {}
    if target.version is not None:
        current = ctx.stack.local.executions.current_revision(record.name)
        if current is None or current.revision_id != target.version.revision.revision_id:
            # The version's revision is not the one registered: the orchestrator runs the stored one.
            options["revision_id"] = target.version.revision.revision_id
    try:
        # The text as given goes along: AWS describes the execution with it unchanged.
        execution = ctx.stack.orchestrator.start_execution(record.name, payload, name=name, input_text=params.get("input"), **options)
    except ExecutionAlreadyExistsError:
        arn = ctx.stack.orchestrator.execution_arn(record.name, str(name))
        raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'") from None
    except ExecutionNotFoundError:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{params['stateMachineArn']}'") from None
    started = target.started()
    if started is not None:
        catalog.versions.link_execution(execution.arn, started)
    return record, execution


@OPERATIONS("StartExecution")
def start_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _, execution = _start(ctx, params)
    return {"executionArn": execution.arn, "startDate": execution.started_at}


@OPERATIONS("StartSyncExecution")
def start_sync_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    catalog = _catalog(ctx)
    target = resolve(catalog, params["stateMachineArn"])
    kind = target.version.revision.type if target.version is not None else catalog.must_get(catalog.arn(target.name)).type
    if kind != "EXPRESS":
        raise AwsError("StateMachineTypeNotSupported", "This operation is not supported by this type of state machine")
    record, execution = _start(ctx, params, target)
    orchestrator = ctx.stack.orchestrator
    try:
        execution = orchestrator.wait(execution.arn, timeout=SYNC_TIMEOUT_S)
    except OrchestratorStoppedError:
        raise AwsError("ServiceUnavailable", "The stack is stopping", 503, sender_fault=False) from None
    status, error, cause = execution.status, execution.error, execution.cause
    stopped = execution.stopped_at or datetime.now(UTC)
    if status == "RUNNING":
        # An Express execution that runs past five minutes ends TIMED_OUT.
        orchestrator.stop_execution(execution.arn, error="States.Timeout", cause="The execution ran longer than 5 minutes")
        status, error, cause = "TIMED_OUT", "States.Timeout", "The execution ran longer than 5 minutes"
    elif status == "ABORTED":
        status = "FAILED"  # SyncExecutionStatus has no ABORTED
    out: dict[str, Any] = {
        "executionArn": execution.arn,
        "stateMachineArn": catalog.arn(record.name),
        **started_fields(catalog, catalog.versions.execution_version(execution.arn)),
        "name": execution.name,
        "startDate": execution.started_at,
        "stopDate": stopped,
        "status": status,
        "input": ctx.stack.local.executions.input_text(execution.arn),
        "inputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(100, int((stopped - execution.started_at).total_seconds() * 1000)),
        },
    }
    if status == "SUCCEEDED":
        out["output"] = _text(execution.output)
        out["outputDetails"] = {"included": True}
    if error is not None:
        out["error"] = error
    if cause is not None:
        out["cause"] = cause
    return out


def _execution(ctx: Context, arn: str) -> ExecutionRecord:
    """The execution named by ``arn`` (never by name: the store also accepts names, AWS does not)."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "states" and parts[5] == "express":
        # An Express execution is neither described nor stopped by ARN on AWS; its message names only the type (recorded).
        raise AwsError("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")
    if len(parts) < 8 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "execution":
        raise invalid_arn(arn)
    try:
        return ctx.stack.orchestrator.describe(arn)
    except ExecutionNotFoundError:
        raise AwsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'") from None


@OPERATIONS("DescribeExecution")
def describe_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(ctx, params["executionArn"])
    out: dict[str, Any] = {
        **_summary(ctx, execution),
        "input": ctx.stack.local.executions.input_text(execution.arn),
        "inputDetails": {"included": True},
    }
    if execution.status == "SUCCEEDED":
        out["output"] = _text(execution.output)
        out["outputDetails"] = {"included": True}
    if execution.error is not None:
        out["error"] = execution.error
    if execution.cause is not None:
        out["cause"] = execution.cause
    if out["redriveCount"]:
        redriven = _redrive_date(ctx, execution)
        if redriven is not None:
            out["redriveDate"] = redriven
    redrive_status, reason = _redrive_status(ctx, execution)
    out["redriveStatus"] = redrive_status
    if reason:
        out["redriveStatusReason"] = reason
    return out


def _summary(ctx: Context, execution: ExecutionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "executionArn": execution.arn,
        "stateMachineArn": ctx.stack.orchestrator.state_machine_arn(execution.state_machine),
        "name": execution.name,
        "status": execution.status,
        "startDate": execution.started_at,
    }
    out.update(started_fields(_catalog(ctx), _catalog(ctx).versions.execution_version(execution.arn)))
    if execution.stopped_at is not None:
        out["stopDate"] = execution.stopped_at
    state = execution.state if isinstance(execution.state, dict) else {}
    redrives = int(state.get("context", {}).get("Execution", {}).get("RedriveCount", 0) or 0)
    out["redriveCount"] = redrives
    return out


def _redrive_date(ctx: Context, execution: ExecutionRecord) -> datetime | None:
    """When the execution was last redriven: its last ExecutionRedriven event."""
    for event in reversed(ctx.stack.local.executions.history(execution.arn)):
        if event["type"] == "ExecutionRedriven":
            return datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
    return None


def _redrive_status(ctx: Context, execution: ExecutionRecord) -> tuple[str, str | None]:
    """DescribeExecution's redriveStatus and redriveStatusReason (worded as AWS words them)."""
    state = execution.state if isinstance(execution.state, dict) else {}
    if execution.status not in _REDRIVABLE:
        return "NOT_REDRIVABLE", f"Execution is {execution.status} and cannot be redriven"
    now = ctx.stack.orchestrator.clock.now()
    if execution.stopped_at is not None and now - execution.stopped_at > REDRIVABLE_PERIOD:
        return "NOT_REDRIVABLE", "Execution redrivable period exceeded"
    if not state.get("redrive"):
        # Ended before entering any state (its input was refused): there is no step to continue from.
        return "NOT_REDRIVABLE", f"Execution is {execution.status} and cannot be redriven"
    return "REDRIVABLE", None


@OPERATIONS("ListExecutions")
def list_executions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    status = params.get("statusFilter")
    if status is not None and status not in _STATUSES:
        raise validation_error("statusFilter", status, f"Member must satisfy enum value set: [{', '.join(_STATUSES)}]")
    redrive_filter = params.get("redriveFilter")
    if redrive_filter is not None and redrive_filter not in _REDRIVE_FILTERS:
        raise validation_error("redriveFilter", redrive_filter, f"Member must satisfy enum value set: [{', '.join(_REDRIVE_FILTERS)}]")
    limit = _page_size(params.get("maxResults"))
    if params.get("mapRunArn"):
        # Distributed Map runs are not kept as Map Runs of their own here: none has an ARN to list by.
        raise AwsError("ResourceNotFound", f"Resource not found: '{params['mapRunArn']}'")
    arn = params.get("stateMachineArn")
    if arn is None:
        raise AwsError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
    if status == "PENDING_REDRIVE":
        # Only a Map Run's child executions wait for a redrive; AWS refuses the filter with a state machine.
        raise AwsError("ValidationException", "PENDING_REDRIVE status filter is only supported with mapRunArn")
    catalog = _catalog(ctx)
    name, qualifier = split(catalog, arn)
    version_filter: int | None = None
    alias_filter: str | None = None
    if qualifier is not None:
        # A version or alias ARN lists the executions started through it.
        if catalog.get(name) is None:
            raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        if qualifier.isdigit():
            version_filter = int(qualifier)
        else:
            alias_filter = qualifier
        arn = catalog.arn(name)
    record = catalog.must_get(arn)
    if record.type == "EXPRESS":
        raise AwsError("StateMachineTypeNotSupported", "This operation is not supported by this type of state machine")
    cursor = _decode_token(params.get("nextToken"), _EXECUTIONS_TOKEN_CHARS)
    after: tuple[str, str] | None = None
    if cursor is not None:
        try:
            sort_at, last = json.loads(cursor)
            after = (str(sort_at), str(last))
        except (ValueError, TypeError):
            raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'") from None
    store = ctx.stack.local.executions
    redriven = None if redrive_filter is None else redrive_filter == "REDRIVEN"
    rows = store.keyed_page(
        state_machine=record.name,
        status=status,
        redriven=redriven,
        after=after,
        limit=limit + 1,
        version=version_filter,
        alias=alias_filter,
    )
    page = rows[:limit]
    items = []
    for execution, _ in page:
        item = _summary(ctx, execution)
        if item["redriveCount"]:
            redriven_at = _redrive_date(ctx, execution)
            if redriven_at is not None:
                item["redriveDate"] = redriven_at
        items.append(item)
    out: dict[str, Any] = {"executions": items}
    if len(rows) > limit:
        last_execution, last_key = page[-1]
        out["nextToken"] = _encode_token(json.dumps([last_key, last_execution.arn]))
    return out


@OPERATIONS("GetExecutionHistory")
def get_execution_history(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(ctx, params["executionArn"])
    events = ctx.stack.local.executions.history(execution.arn)
    if params.get("reverseOrder"):
        events.reverse()
    limit = _page_size(params.get("maxResults"))
    offset = 0
    token = _decode_token(params.get("nextToken"))
    if token is not None:
        if not token.isdigit():
            raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
        offset = int(token)
    include_data = params.get("includeExecutionData", True) is not False
    page = [_event(e, include_data) for e in events[offset : offset + limit]]
    started = started_fields(_catalog(ctx), _catalog(ctx).versions.execution_version(execution.arn))
    for event in page:
        if started and event["type"] == "ExecutionStarted" and isinstance(event.get("executionStartedEventDetails"), dict):
            # Its ExecutionStarted event names the version (and alias) it was started through, as DescribeExecution does.
            event["executionStartedEventDetails"] = {**event["executionStartedEventDetails"], **started}
    out: dict[str, Any] = {"events": page}
    if offset + limit < len(events):
        out["nextToken"] = _encode_token(str(offset + limit))
    return out


_DATA_FIELDS = ("input", "output", "inputDetails", "outputDetails", "parameters", "result", "resultDetails")


def _event(event: dict[str, Any], include_data: bool) -> dict[str, Any]:
    out = dict(event)
    out["timestamp"] = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
    if not include_data:
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if k not in _DATA_FIELDS}
    return out


@OPERATIONS("StopExecution")
def stop_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(ctx, params["executionArn"])
    if execution.status != "RUNNING":
        return {"stopDate": execution.stopped_at or datetime.now(UTC)}
    ctx.stack.orchestrator.stop_execution(execution.arn, error=params.get("error"), cause=params.get("cause"))
    # The dispatcher applies the stop; StopExecution answers once it has, as AWS's does.
    stopped = ctx.stack.orchestrator.wait(execution.arn, timeout=10.0)
    return {"stopDate": stopped.stopped_at or datetime.now(UTC)}


@OPERATIONS("RedriveExecution")
def redrive_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    execution = _execution(ctx, params["executionArn"])
    redrive_status, reason = _redrive_status(ctx, execution)
    if redrive_status != "REDRIVABLE":
        raise AwsError("ExecutionNotRedrivable", f"{reason}: '{execution.arn}'")
    try:
        ctx.stack.orchestrator.redrive_execution(execution.arn)
    except ExecutionNotFoundError as exc:
        raise AwsError("ExecutionNotRedrivable", str(exc)) from None
    except ExecutionError as exc:
        raise AwsError("ExecutionNotRedrivable", f"Execution cannot be redriven: '{exc}'") from None
    return {"redriveDate": datetime.now(UTC)}


# -- task tokens ------------------------------------------------------------------------------


def _token_errors(send: Any) -> None:
    try:
        send()
    except InvalidTaskTokenError as exc:
        raise AwsError("InvalidToken", str(exc)) from None
    except TaskTimedOutError as exc:
        raise AwsError("TaskTimedOut", str(exc)) from None


def _check_token(token: str) -> None:
    if not 1 <= len(token) <= 2048:
        raise validation_error("taskToken", "...", "Member must have length less than or equal to 2048")


@OPERATIONS("SendTaskSuccess")
def send_task_success(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params["taskToken"]
    _check_token(token)
    text = params["output"]
    if len(text) > MAX_DATA_CHARS:
        raise validation_error("output", "...", f"Member must have length less than or equal to {MAX_DATA_CHARS}")
    try:
        output = load_json(text)
    except ValueError as exc:
        raise AwsError("InvalidOutput", f"Invalid Output: '{jackson_reason(text, exc)}'") from None
    _token_errors(lambda: ctx.stack.orchestrator.send_task_success(token, output))
    return {}


@OPERATIONS("SendTaskFailure")
def send_task_failure(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params["taskToken"]
    _check_token(token)
    _token_errors(lambda: ctx.stack.orchestrator.send_task_failure(token, error=params.get("error"), cause=params.get("cause")))
    return {}


@OPERATIONS("SendTaskHeartbeat")
def send_task_heartbeat(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    token = params["taskToken"]
    _check_token(token)
    _token_errors(lambda: ctx.stack.orchestrator.send_task_heartbeat(token))
    return {}


# -- TestState ---------------------------------------------------------------------------------


@OPERATIONS("TestState")
def test_state_operation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return test_state(ctx, params)


# -- helpers -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """An output as Step Functions serialises the outputs it makes: compact JSON (inputs are
    returned as given instead, see :meth:`~sluiceway.backends.local.executions.SqliteExecutionStore.input_text`)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _page_size(value: int | None) -> int:
    if value is None or value == 0:
        return 100  # 0 means the default, as the API reference says
    if not 0 <= value <= 1000:
        raise validation_error("maxResults", value, "Member must have value less than or equal to 1000")
    return value


def _encode_token(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).decode()


def _decode_token(token: str | None, max_chars: int = 1024) -> str | None:
    """The cursor in a nextToken; ``max_chars`` is the model's limit on the operation's token (1024, 3096 for ListExecutions)."""
    if token is None:
        return None
    if len(token) > max_chars:
        raise validation_error("nextToken", token, f"Member must have length less than or equal to {max_chars}")
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'") from None
