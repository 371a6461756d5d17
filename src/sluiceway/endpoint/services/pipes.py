"""Amazon EventBridge Pipes (rest-json): pipes, their states and tags, and the pipes running.

Pipes are kept in the state database (``backends/local/pipes.py``) and run by
:class:`~sluiceway.runtime.pipes.runs.PipeRuns` on this endpoint's own operations, so a pipe's
enrichment and target calls are the calls a client makes. :func:`restore` starts the kept pipes
when the endpoint is made.

States: Pipes answers a change in a transient state (``CREATING``, ``UPDATING``, ``STARTING``,
``STOPPING``, ``DELETING``) and settles it in the background; locally the change is made before
the answer, so the answer names the transient state, as AWS's does, and DescribePipe the state
it settled in (``RUNNING``, ``STOPPED``, or ``*_FAILED`` with a ``StateReason``).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from ...backends.local.pipes import PipeRecord, SqlitePipes
from ...errors import ConflictError, NotFoundError
from ...runtime.pipes.flow import PipeSpec, resource_kind
from ...runtime.pipes.runs import PipeRuns
from ..calls import AwsCalls
from ..context import Context, Handler, Operations, Shared
from ..errors import AwsError
from ..protocol.constraints import check_constraints
from ._pipes_checks import check_definition, check_name, check_tags, invalid

if TYPE_CHECKING:
    from ...runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS", "PipesService", "restore"]

OPERATIONS = Operations("pipes")

_MAX_LIMIT: Final = 100
_DEFINITION: Final = (
    "Description",
    "Source",
    "SourceParameters",
    "Enrichment",
    "EnrichmentParameters",
    "Target",
    "TargetParameters",
    "RoleArn",
    "LogConfiguration",
    "KmsKeyIdentifier",
)
#: What DescribePipe shows for the source parameters a pipe was made without (Pipes' defaults).
_SOURCE_DEFAULTS: Final = {
    "sqs": ("SqsQueueParameters", {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}),
    "dynamodb": (
        "DynamoDBStreamParameters",
        {
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 0,
            "MaximumRecordAgeInSeconds": -1,
            "MaximumRetryAttempts": -1,
            "ParallelizationFactor": 1,
        },
    ),
}


class PipesService:
    """The kept pipes and their runs, one per endpoint (``shared``).

    A change to a pipe (its record and its poller) is made under that pipe's lock
    (:meth:`changing`), so concurrent calls on one pipe take effect one after the other: an
    UpdatePipe cannot start the poller of a pipe a DeletePipe removed meanwhile, nor a StopPipe
    leave a RUNNING pipe with nothing polling.
    """

    def __init__(self, store: SqlitePipes, runs: PipeRuns) -> None:
        self.store = store
        self.runs = runs
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def changing(self, region: str, name: str) -> Iterator[None]:
        """Hold the pipe's lock (the pipe need not exist: CreatePipe takes it too)."""
        with self._guard:
            lock = self._locks.setdefault((region, name), threading.Lock())
        with lock:
            yield

    def run(self, record: PipeRecord, *, failed_state: str) -> PipeRecord:
        """Start or stop ``record``'s poller as its desired state says; the record with the state it settled in."""
        if record.desired_state != "RUNNING":
            self.runs.stop(record.arn)
            return replace(record, current_state="STOPPED", state_reason=None)
        try:
            self.runs.start(_spec(record))
        except ValueError as exc:
            logger.warning("pipe could not start", extra={"pipe": record.arn, "error": str(exc)})
            return replace(record, current_state=failed_state, state_reason=str(exc)[:512])
        return replace(record, current_state="RUNNING", state_reason=None)

    def settle(self, record: PipeRecord, *, failed_state: str) -> PipeRecord:
        """Run ``record`` and keep the state it settled in (hold :meth:`changing`).

        Raises:
            NotFoundError: the pipe is gone (deleted by another process): its poller is stopped.
        """
        settled = self.run(record, failed_state=failed_state)
        try:
            self.store.replace(settled)
        except NotFoundError:
            self.runs.stop(record.arn, forget=True)
            raise
        return settled

    def close(self) -> None:
        self.runs.close()


def _spec(record: PipeRecord) -> PipeSpec:
    config = record.config
    return PipeSpec(
        name=record.name,
        arn=record.arn,
        source=config["Source"],
        target=config["Target"],
        source_parameters=config.get("SourceParameters") or {},
        enrichment=config.get("Enrichment") or None,
        enrichment_parameters=config.get("EnrichmentParameters") or {},
        target_parameters=config.get("TargetParameters") or {},
    )


def restore(stack: Stack, shared: Shared) -> PipesService:
    """The pipes of the data dir, those meant to run started (the endpoint calls it when made)."""
    return shared.get("pipes", lambda: _open(stack, shared))


def _open(stack: Stack, shared: Shared) -> PipesService:
    # The targets' calls answer nothing that names this endpoint's URL (SendMessage, PutEvents,
    # Invoke...), so the runs need none (it is not known yet when the endpoint is made).
    calls = AwsCalls(stack, shared, "")
    streams = stack.streams
    queues = stack.local.queues
    runs = PipeRuns(
        queues=stack.local.queues,
        topics=stack.local.topics,
        source=streams.source,
        checkpoints=streams.checkpoints,
        call=calls.call,
        clock=stack.local.clock,
        region=stack.settings.region,
        account_id=stack.settings.account_id,
        queue_exists=lambda name: name in queues.list_queues(name),
    )
    service = PipesService(SqlitePipes(stack.local.db), runs)
    # Its pollers stop with the stack's own, before the functions and executions they feed.
    stack.add_source(service.close)
    for record in service.store.list():
        if record.desired_state == "RUNNING":
            settled = service.run(record, failed_state="START_FAILED")
        else:
            # A pipe meant to be stopped is STOPPED, also one whose CreatePipe or StopPipe was cut
            # short (by a crash) in a transient state.
            settled = replace(record, current_state="STOPPED", state_reason=None)
        if settled.current_state != record.current_state or settled.state_reason != record.state_reason:
            service.store.replace(settled)
    return service


def _service(ctx: Context) -> PipesService:
    return restore(ctx.stack, ctx.shared)


@contextmanager
def _pipes_errors() -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise AwsError("NotFoundException", str(exc), 404) from None
    except ConflictError as exc:
        raise AwsError("ConflictException", str(exc), 409) from None


def _operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            with _pipes_errors():
                check_constraints("pipes", name, params)
                return handler(ctx, params)

        run.__name__ = handler.__name__
        return OPERATIONS(name)(run)

    return register


def _arn(ctx: Context, name: str) -> str:
    return f"arn:aws:pipes:{ctx.region}:{ctx.account_id}:pipe/{name}"


def _brief(record: PipeRecord, *, current: str | None = None, desired: str | None = None) -> dict[str, Any]:
    return {
        "Arn": record.arn,
        "Name": record.name,
        "DesiredState": desired or record.desired_state,
        "CurrentState": current or record.current_state,
        "CreationTime": record.created_at,
        "LastModifiedTime": record.modified_at,
    }


def _conflict(record: PipeRecord, message: str) -> AwsError:
    return AwsError("ConflictException", message, 409, fields={"resourceId": record.name, "resourceType": "pipe"})


# -- pipes ----------------------------------------------------------------------------------


@_operation("CreatePipe")
def create_pipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"])
    check_definition(params, creating=True)
    service = _service(ctx)
    now = ctx.stack.local.clock.now()
    config = {key: params[key] for key in _DEFINITION if params.get(key) is not None}
    record = PipeRecord(
        region=ctx.region,
        name=name,
        arn=_arn(ctx, name),
        config=config,
        desired_state=params.get("DesiredState") or "RUNNING",
        current_state="CREATING",
        created_at=now,
        modified_at=now,
        tags=dict(params.get("Tags") or {}),
    )
    with service.changing(ctx.region, name):
        try:
            service.store.create(record)
        except ConflictError:
            raise _conflict(record, f"Pipe {name} already exists.") from None
        service.settle(record, failed_state="CREATE_FAILED")
    return _brief(record)


def _merged(current: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """UpdatePipe's definition: members given replace the kept ones; within the parameter objects,
    each service's object is replaced as one (Pipes' UpdatePipe reference).

    Empty values remove what they name, as Pipes documents: an empty ``Enrichment`` (and with it
    its parameters), an empty ``InputTemplate``, an empty ``KmsKeyIdentifier`` (back to the AWS
    owned key); so do an empty ``Description`` and empty ``FilterCriteria`` (no filter: every
    record passes).
    """
    config = dict(current)
    for key in _DEFINITION:
        if key == "Source" or params.get(key) is None:
            continue
        if key in ("SourceParameters", "EnrichmentParameters", "TargetParameters"):
            merged = {**(config.get(key) or {}), **params[key]}
            config[key] = {member: value for member, value in merged.items() if not _cleared(member, value)}
        else:
            config[key] = params[key]
    if config.get("Enrichment") == "":
        config.pop("Enrichment")
        config.pop("EnrichmentParameters", None)
    for key in ("Description", "KmsKeyIdentifier"):
        if config.get(key) == "":
            config.pop(key)
    return config


def _cleared(member: str, value: Any) -> bool:
    if member == "InputTemplate":
        return bool(value == "")
    if member == "FilterCriteria":
        return not (isinstance(value, dict) and value.get("Filters"))
    return False


@_operation("UpdatePipe")
def update_pipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"])
    service = _service(ctx)
    with service.changing(ctx.region, name):
        current = service.store.get(ctx.region, name)
        config = _merged(current.config, params)
        check_definition({**config, "DesiredState": params.get("DesiredState")}, creating=False)
        now = ctx.stack.local.clock.now()
        record = replace(current, config=config, desired_state=params.get("DesiredState") or current.desired_state, modified_at=now)
        service.settle(record, failed_state="UPDATE_FAILED")
    return _brief(record, current="UPDATING")


def _describe(record: PipeRecord) -> dict[str, Any]:
    config = record.config
    out = _brief(record)
    for key in _DEFINITION:
        if config.get(key) is not None:
            out[key] = config[key]
    defaults = _SOURCE_DEFAULTS.get(resource_kind(config["Source"]))
    if defaults is not None:
        member, values = defaults
        source_parameters = dict(config.get("SourceParameters") or {})
        source_parameters[member] = {**values, **(source_parameters.get(member) or {})}
        out["SourceParameters"] = source_parameters
    if record.state_reason:
        out["StateReason"] = record.state_reason
    if record.tags:
        out["Tags"] = dict(record.tags)
    return out


@_operation("DescribePipe")
def describe_pipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _describe(_service(ctx).store.get(ctx.region, check_name(params["Name"])))


@_operation("DeletePipe")
def delete_pipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"])
    service = _service(ctx)
    with service.changing(ctx.region, name):
        record = service.store.get(ctx.region, name)
        service.runs.stop(record.arn, forget=True)
        if resource_kind(record.config["Source"]) == "dynamodb":
            service.runs.forget_checkpoint(record.arn)
        service.store.delete(ctx.region, name)
    return _brief(record, current="DELETING", desired="DELETED")


@_operation("StartPipe")
def start_pipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx)
    name = check_name(params["Name"])
    with service.changing(ctx.region, name):
        record = service.store.get(ctx.region, name)
        if record.desired_state == "RUNNING" and record.current_state == "RUNNING":
            raise _conflict(record, f"Pipe {record.name} is already in RUNNING state.")
        record = replace(record, desired_state="RUNNING", modified_at=ctx.stack.local.clock.now())
        service.settle(record, failed_state="START_FAILED")
    return _brief(record, current="STARTING")


@_operation("StopPipe")
def stop_pipe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx)
    name = check_name(params["Name"])
    with service.changing(ctx.region, name):
        record = service.store.get(ctx.region, name)
        if record.current_state == "STOPPED":
            raise _conflict(record, f"Pipe {record.name} is already in STOPPED state.")
        record = replace(record, desired_state="STOPPED", modified_at=ctx.stack.local.clock.now())
        service.settle(record, failed_state="STOP_FAILED")
    return _brief(record, current="STOPPING")


def _token(after: str) -> str:
    return base64.b64encode(json.dumps({"after": after}).encode()).decode()


def _after(token: str) -> str:
    try:
        after = json.loads(base64.b64decode(token, validate=True))["after"]
    except (ValueError, KeyError, TypeError):
        raise invalid("Invalid NextToken.", "NextToken") from None
    if not isinstance(after, str):
        raise invalid("Invalid NextToken.", "NextToken")
    return after


@_operation("ListPipes")
def list_pipes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = _MAX_LIMIT if params.get("Limit") is None else params["Limit"]
    if not 1 <= limit <= _MAX_LIMIT:
        raise invalid(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint:"
            f" Member must have value less than or equal to {_MAX_LIMIT}",
            "limit",
        )
    found = []
    for record in _service(ctx).store.list(ctx.region):
        config = record.config
        if not record.name.startswith(params.get("NamePrefix") or ""):
            continue
        if params.get("DesiredState") and record.desired_state != params["DesiredState"]:
            continue
        if params.get("CurrentState") and record.current_state != params["CurrentState"]:
            continue
        if not str(config.get("Source")).startswith(params.get("SourcePrefix") or ""):
            continue
        if not str(config.get("Target")).startswith(params.get("TargetPrefix") or ""):
            continue
        found.append(record)
    if params.get("NextToken"):
        after = _after(params["NextToken"])
        found = [r for r in found if r.name > after]
    shown = found[:limit]
    pipes = []
    for record in shown:
        summary = _brief(record)
        summary["Source"] = record.config["Source"]
        summary["Target"] = record.config["Target"]
        if record.config.get("Enrichment"):
            summary["Enrichment"] = record.config["Enrichment"]
        if record.state_reason:
            summary["StateReason"] = record.state_reason
        pipes.append(summary)
    out: dict[str, Any] = {"Pipes": pipes}
    if len(found) > limit:
        out["NextToken"] = _token(shown[-1].name)
    return out


# -- tags -----------------------------------------------------------------------------------


def _tagged(ctx: Context, arn: str) -> PipeRecord:
    record = _service(ctx).store.by_arn(arn) if isinstance(arn, str) else None
    if record is None:
        raise AwsError("NotFoundException", f"Resource {arn} not found.", 404)
    return record


def _retag(ctx: Context, arn: Any, change: Callable[[Mapping[str, str]], dict[str, str]]) -> None:
    # Under the pipe's lock: the record written back keeps a concurrent UpdatePipe's definition.
    service = _service(ctx)
    found = _tagged(ctx, arn)
    with service.changing(found.region, found.name):
        record = _tagged(ctx, arn)
        service.store.replace(replace(record, tags=change(record.tags)))


@_operation("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tags = check_tags(params["tags"])
    _retag(ctx, params["resourceArn"], lambda kept: {**kept, **tags})
    return {}


@_operation("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    gone = set(params.get("tagKeys") or [])
    _retag(ctx, params["resourceArn"], lambda kept: {k: v for k, v in kept.items() if k not in gone})
    return {}


@_operation("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"tags": dict(_tagged(ctx, params["resourceArn"]).tags)}
