"""Lambda event source mappings: Create/Get/List/Update/DeleteEventSourceMapping for SQS queues, DynamoDB streams and Kinesis streams.

A mapping is kept in ``lambda.db`` (``backends/local/event_source_mappings.py``) and run by the
stack's pollers (``_lambda_mapping_runs.py``); a template's ``AWS::Lambda::EventSourceMapping``
is made through these same operations. Lambda answers a mapping in a transient state right
after each change (``Creating``, ``Enabling``, ``Disabling``, ``Updating``, ``Deleting``) and
in its steady one (``Enabled``, ``Disabled``) afterwards; locally a change is done when the
call returns (no batch starts under the old settings; one in flight ends in the background),
so Get and List answer the steady state at once.

Other event sources (Kafka, Amazon MQ, DocumentDB) are refused with Lambda's
``InvalidParameterValueException``, naming the source: nothing reads them locally.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

from ...backends.local.event_source_mappings import StoredMapping
from ...errors import ConflictError, NotFoundError
from ...events.lambda_filters import FilterCriteriaError
from ...messaging.redrive import queue_name
from ..context import Context, Operations
from ..errors import AwsError
from ._lambda_code import user_error
from ._lambda_describe import must_function
from ._lambda_mapping_runs import MappingRuns, mapping_runs, poller_settings, source_kind
from ._lambda_tenant_limits import refuse_tenant_isolated

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS", "is_mapping_arn", "mapping_tags", "made_under", "set_mapping_tags"]

OPERATIONS = Operations("lambda")

_SERVED: Final = ("sqs", "dynamodb", "kinesis")
_NOT_SERVED: Final = ("kafka", "mq", "rds")
"""Sources Lambda reads (Amazon MSK, Amazon MQ, DocumentDB's change streams) that nothing reads locally."""
_STREAM_ONLY: Final = (
    "StartingPosition",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "DestinationConfig",
)
_LIMITS: Final = {
    # member: (path in Lambda's message, minimum, maximum): the model's constraints, which botocore checks
    # only in part (minimums), so a client can send the rest.
    "BatchSize": ("batchSize", 1, 10_000),
    "MaximumBatchingWindowInSeconds": ("maximumBatchingWindowInSeconds", 0, 300),
    "MaximumRetryAttempts": ("maximumRetryAttempts", -1, 10_000),
    "MaximumRecordAgeInSeconds": ("maximumRecordAgeInSeconds", -1, 604_800),
    "ParallelizationFactor": ("parallelizationFactor", 1, 10),
    "TumblingWindowInSeconds": ("tumblingWindowInSeconds", 0, 900),
}
_STARTING_POSITIONS: Final = ("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON")
_NOT_FOUND: Final = "The resource you requested does not exist."
PAGE_LIMIT: Final = 100
"""ListEventSourceMappings answers at most this many, whatever MaxItems says."""

_MADE_UNDER: ContextVar[str | None] = ContextVar("sluiceway_event_source_mapping_uuid", default=None)


@contextmanager
def made_under(mapping_uuid: str) -> Iterator[None]:
    """CreateEventSourceMapping called in this context (in-process) makes the mapping under ``mapping_uuid``.

    A template's mapping made again after it went missing keeps its id, and with it its stream's
    checkpoint (and the stack's record of it). Lambda's API has no such member: a request over
    HTTP never sets this.

    Raises:
        ValueError: ``mapping_uuid`` is not a UUID.
    """
    token = _MADE_UNDER.set(str(uuid.UUID(mapping_uuid)))
    try:
        yield
    finally:
        _MADE_UNDER.reset(token)


def _runs(ctx: Context) -> MappingRuns:
    runs = mapping_runs(ctx.stack, ctx.shared)
    runs.sync()  # a template's function registered since: its mappings run from now on
    return runs


# -- checks ---------------------------------------------------------------------------------


def _ranges(params: dict[str, Any]) -> None:
    problems = []
    checks = [(params.get(member), *limits) for member, limits in _LIMITS.items()]
    checks.append(((params.get("ScalingConfig") or {}).get("MaximumConcurrency"), "scalingConfig.maximumConcurrency", 2, 1000))
    for value, path, low, high in checks:
        if value is None or low <= value <= high:
            continue
        constraint = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have value {constraint}")
    kinds = params.get("FunctionResponseTypes")
    if kinds is not None and any(kind != "ReportBatchItemFailures" for kind in kinds):
        problems.append(
            f"Value '[{', '.join(kinds)}]' at 'functionResponseTypes' failed to satisfy constraint:"
            " Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"
        )
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: "
        raise AwsError("ValidationException", count + "; ".join(problems))


def _source(params: dict[str, Any]) -> tuple[str, str]:
    """The event source ARN and its kind (``sqs``, ``dynamodb`` or ``kinesis``), or Lambda's refusal."""
    destination = params.get("DestinationConfig") or {}
    if destination.get("OnSuccess"):
        raise user_error("InvalidParameterValueException", "Unsupported DestinationConfig parameter for given event source mapping type.")
    if params.get("SelfManagedEventSource"):
        raise _not_served("a self-managed Apache Kafka cluster")
    arn = params.get("EventSourceArn")
    if not arn:
        raise user_error("InvalidParameterValueException", "Unrecognized event source.")
    kind = source_kind(str(arn))
    if kind in _NOT_SERVED:
        raise _not_served(str(arn))
    if kind not in _SERVED:
        raise user_error("InvalidParameterValueException", "Unrecognized event source.")
    return str(arn), kind


def _not_served(source: str) -> AwsError:
    return user_error(
        "InvalidParameterValueException",
        f"Unsupported event source: {source}. Sluiceway's event source mappings read SQS queues, DynamoDB streams and Kinesis streams.",
    )


def _sqs_settings(config: dict[str, Any], given: dict[str, Any]) -> None:
    """Lambda's rules for an SQS mapping's settings (``config`` as it would be kept; ``given`` the request)."""
    for member in _STREAM_ONLY:
        if given.get(member) is None or (member == "DestinationConfig" and not given[member]):
            continue
        if member == "StartingPosition":
            raise user_error("InvalidParameterValueException", "StartingPosition is not valid for SQS event sources.")
        raise user_error("InvalidParameterValueException", f"Unsupported {member} parameter for given event source mapping type.")
    fifo = queue_name(config["EventSourceArn"]).endswith(".fifo")
    batch, window = config["BatchSize"], config["MaximumBatchingWindowInSeconds"]
    if fifo and batch > 10:
        raise user_error("InvalidParameterValueException", "Maximum batch size must be between 1 and 10 inclusive")
    if fifo and window:
        raise user_error("InvalidParameterValueException", "Batching window is not supported for FIFO queues")
    if batch > 10 and window == 0:
        raise user_error(
            "InvalidParameterValueException",
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        )


def _stream_settings(config: dict[str, Any], given: dict[str, Any]) -> None:
    if given.get("ScalingConfig"):
        raise user_error("InvalidParameterValueException", "Unsupported ScalingConfig parameter for given event source mapping type.")
    on_failure = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if on_failure and source_kind(str(on_failure)) not in ("sqs", "sns", "s3"):
        raise user_error(
            "InvalidParameterValueException", f"The provided destination config DestinationConfig(onFailure={on_failure}) is invalid."
        )


def _starting_position(params: dict[str, Any], arn: str) -> str:
    position = params.get("StartingPosition")
    if not position:
        raise user_error(
            "InvalidParameterValueException",
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.",
        )
    if position not in _STARTING_POSITIONS:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{position}' at 'startingPosition' failed to satisfy constraint:"
            " Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
        )
    if position == "AT_TIMESTAMP" and source_kind(arn) != "kinesis":  # Kinesis only
        raise user_error("InvalidParameterValueException", f"Unsupported starting position for arn type: {arn}")
    return str(position)


def _starting_timestamp(params: dict[str, Any], position: str) -> float | None:
    """``StartingPositionTimestamp`` as epoch seconds (what the mapping keeps); None when it does not apply."""
    value = params.get("StartingPositionTimestamp")
    if position != "AT_TIMESTAMP":
        return None  # Lambda keeps it for AT_TIMESTAMP only (not confirmed against Lambda: it is ignored otherwise)
    if value is None:
        # Lambda's exact words for this are not confirmed; the code is its code for a missing setting.
        raise user_error(
            "InvalidParameterValueException", "StartingPositionTimestamp must be specified when StartingPosition is AT_TIMESTAMP."
        )
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _function(ctx: Context, reference: str) -> tuple[str, str]:
    """A mapping's target: its name and the ARN Lambda reports (qualified when the reference is).

    A function with tenant isolation cannot be one: a mapping's invocations name no tenant.
    """
    try:
        spec = must_function(ctx, reference)
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        raise user_error("InvalidParameterValueException", "Function does not exist") from None
    refuse_tenant_isolated(spec.tenancy_mode, spec.name, "Event source mapping")
    arn = ctx.stack.invoker.arn_of(reference) or ctx.stack.settings.arn("lambda", f"function:{spec.name}")
    return spec.name, arn


def _source_exists(ctx: Context, arn: str, kind: str) -> None:
    if kind == "sqs":
        name = queue_name(arn)
        if arn != ctx.stack.settings.arn("sqs", name) or name not in ctx.stack.local.queues.list_queues(name):
            raise user_error(
                "InvalidParameterValueException",
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue."
                " SQS Error Message: The specified queue does not exist.",
            )
    elif ctx.stack.streams.stream_arn(arn) is None:
        # Lambda's words for a DynamoDB stream and a Kinesis stream that do not exist alike.
        raise user_error("InvalidParameterValueException", f"Stream not found: {arn}")


def _duplicate(runs: MappingRuns, source: str, function: str, kind: str, *, other_than: str | None = None) -> None:
    """Lambda refuses a second mapping of one source to one function."""
    for other in runs.store.all():
        if other.source != source or other.function != function or other.uuid == other_than:
            continue
        if kind == "sqs":
            message = f'An event source mapping with SQS arn (" {source} ") and function (" {function} ") already exists.'
        else:
            message = f'The event source arn (" {source} ") and function (" {function} ") provided mapping already exists.'
        raise user_error("ResourceConflictException", f"{message} Please update or delete the existing mapping with UUID {other.uuid}", 409)


def _checked_settings(mapping: StoredMapping) -> None:
    """What the poller itself refuses (filters above all), as Lambda's error."""
    try:
        poller_settings(mapping)
    except FilterCriteriaError as exc:
        raise user_error(exc.code, exc.message) from None
    except ValueError as exc:
        raise user_error("InvalidParameterValueException", str(exc)) from None


def _run(runs: MappingRuns, mapping: StoredMapping) -> None:
    try:
        runs.restart(mapping.uuid)
    except ValueError as exc:
        # The application runs a trigger of its own for this queue or stream and function.
        raise user_error("ResourceConflictException", str(exc), 409) from None


# -- rendering ------------------------------------------------------------------------------


def _output(mapping: StoredMapping, state: str | None = None) -> dict[str, Any]:
    out = dict(mapping.config)
    out["LastModified"] = datetime.fromtimestamp(float(out["LastModified"]), UTC)
    if out.get("StartingPositionTimestamp") is not None:
        out["StartingPositionTimestamp"] = datetime.fromtimestamp(float(out["StartingPositionTimestamp"]), UTC)
    out["State"] = state or ("Enabled" if mapping.enabled else "Disabled")
    return dict(sorted(out.items()))


def _now(ctx: Context) -> float:
    return ctx.stack.local.clock.now().timestamp()


def _must_mapping(runs: MappingRuns, mapping_uuid: str) -> StoredMapping:
    mapping = runs.store.get(mapping_uuid)
    if mapping is None:
        raise user_error("ResourceNotFoundException", _NOT_FOUND, 404)
    return mapping


def _filters(value: Any) -> dict[str, Any] | None:
    # An empty FilterCriteria (or no Filters) is no filtering: Lambda then reports none.
    filters = (value or {}).get("Filters") or []
    return {"Filters": [dict(f) for f in filters]} if filters else None


# -- operations -----------------------------------------------------------------------------


@OPERATIONS("CreateEventSourceMapping")
def create_event_source_mapping(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    source, kind = _source(params)
    _ranges(params)
    mapping_uuid = _MADE_UNDER.get() or str(uuid.uuid4())
    config: dict[str, Any] = {
        "UUID": mapping_uuid,
        "EventSourceArn": source,
        "EventSourceMappingArn": ctx.stack.settings.arn("lambda", f"event-source-mapping:{mapping_uuid}"),
        "BatchSize": params.get("BatchSize") or (10 if kind == "sqs" else 100),
        "MaximumBatchingWindowInSeconds": params.get("MaximumBatchingWindowInSeconds") or 0,
        "FunctionResponseTypes": list(params.get("FunctionResponseTypes") or []),
        "LastModified": _now(ctx),
    }
    if (filters := _filters(params.get("FilterCriteria"))) is not None:
        config["FilterCriteria"] = filters
    if kind == "sqs":
        _sqs_settings(config, params)
        config["StateTransitionReason"] = "USER_INITIATED"
        if (params.get("ScalingConfig") or {}).get("MaximumConcurrency") is not None:
            config["ScalingConfig"] = {"MaximumConcurrency": params["ScalingConfig"]["MaximumConcurrency"]}
    else:
        position = _starting_position(params, source)
        if (since := _starting_timestamp(params, position)) is not None:
            config["StartingPositionTimestamp"] = since
        config.update(
            StartingPosition=position,
            ParallelizationFactor=params.get("ParallelizationFactor") or 1,
            MaximumRecordAgeInSeconds=_or(params.get("MaximumRecordAgeInSeconds"), -1),
            MaximumRetryAttempts=_or(params.get("MaximumRetryAttempts"), -1),
            BisectBatchOnFunctionError=bool(params.get("BisectBatchOnFunctionError")),
            TumblingWindowInSeconds=params.get("TumblingWindowInSeconds") or 0,
            DestinationConfig={"OnFailure": dict((params.get("DestinationConfig") or {}).get("OnFailure") or {})},
            LastProcessingResult="No records processed",
            # Lambda words a stream mapping's reason so, and an SQS one USER_INITIATED.
            StateTransitionReason="User action",
        )
        _stream_settings(config, params)
    function, function_arn = _function(ctx, params["FunctionName"])
    config["FunctionArn"] = function_arn
    tags = dict(params.get("Tags") or {})
    mapping = StoredMapping(mapping_uuid, function, source, config, params.get("Enabled") is not False, tags)
    _checked_settings(mapping)
    _source_exists(ctx, source, kind)
    runs = _runs(ctx)
    with runs.lock:
        _duplicate(runs, source, function, kind)
        try:
            runs.store.add(mapping)
        except ConflictError:
            raise user_error(
                "ResourceConflictException", f"An event source mapping with UUID {mapping_uuid} already exists.", 409
            ) from None
        try:
            _run(runs, mapping)
        except AwsError:
            runs.store.delete(mapping_uuid)
            raise
    logger.info("event source mapping created", extra={"uuid": mapping_uuid, "source": source, "function": function})
    return _output(mapping, "Creating" if mapping.enabled else "Disabled")


def _or(value: Any, default: int) -> int:
    return default if value is None else int(value)


@OPERATIONS("GetEventSourceMapping")
def get_event_source_mapping(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _output(_must_mapping(_runs(ctx), params["UUID"]))


@OPERATIONS("ListEventSourceMappings")
def list_event_source_mappings(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("MaxItems")
    if limit is not None and not 1 <= limit <= 10_000:
        constraint = "greater than or equal to 1" if limit < 1 else "less than or equal to 10000"
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'maxItems' failed to satisfy constraint: Member must have value {constraint}",
        )
    after = ""
    if params.get("Marker"):
        try:
            after = base64.urlsafe_b64decode(str(params["Marker"]).encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise user_error("InvalidParameterValueException", "Invalid Marker") from None
    mappings = _runs(ctx).store.all()
    if params.get("EventSourceArn"):
        mappings = [m for m in mappings if m.source == params["EventSourceArn"]]
    if params.get("FunctionName"):
        name = ctx.stack.invoker.resolve(params["FunctionName"])
        if ctx.stack.invoker.arn_of(params["FunctionName"]) is None:
            must_function(ctx, params["FunctionName"])  # Lambda's refusal of a malformed name
        wanted = name or _bare_name(params["FunctionName"])
        mappings = [m for m in mappings if m.function == wanted]
    mappings = [m for m in mappings if m.uuid > after]
    size = min(limit or PAGE_LIMIT, PAGE_LIMIT)
    page = mappings[:size]
    out: dict[str, Any] = {"EventSourceMappings": [_output(m) for m in page]}
    if len(mappings) > size:
        out["NextMarker"] = base64.urlsafe_b64encode(page[-1].uuid.encode()).decode()
    return out


def _bare_name(reference: str) -> str:
    # A deleted function's mappings stay (as on Lambda): they are still listed by its name.
    ref = reference.split(":function:", 1)[1] if ":function:" in reference else reference
    return ref.split(":", 1)[0]


@OPERATIONS("UpdateEventSourceMapping")
def update_event_source_mapping(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    runs = _runs(ctx)
    try:
        with runs.lock:
            return _update(ctx, runs, params)
    finally:
        runs.settle()  # the stopped poller's receive in progress: the answer comes once no batch can start


def _update(ctx: Context, runs: MappingRuns, params: dict[str, Any]) -> dict[str, Any]:
    current = _must_mapping(runs, params["UUID"])
    _ranges(params)
    kind = source_kind(current.source)
    config = dict(current.config)
    for member in ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes"):
        if params.get(member) is not None:
            config[member] = list(params[member]) if member == "FunctionResponseTypes" else params[member]
    if params.get("FilterCriteria") is not None:
        # An empty FilterCriteria removes the filters.
        filters = _filters(params["FilterCriteria"])
        config.pop("FilterCriteria", None)
        if filters is not None:
            config["FilterCriteria"] = filters
    if kind == "sqs":
        _sqs_settings(config, params)
        if params.get("ScalingConfig") is not None:
            config.pop("ScalingConfig", None)
            if params["ScalingConfig"].get("MaximumConcurrency") is not None:
                config["ScalingConfig"] = {"MaximumConcurrency": params["ScalingConfig"]["MaximumConcurrency"]}
    else:
        for member in ("MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "ParallelizationFactor", "TumblingWindowInSeconds"):
            if params.get(member) is not None:
                config[member] = params[member]
        if params.get("BisectBatchOnFunctionError") is not None:
            config["BisectBatchOnFunctionError"] = bool(params["BisectBatchOnFunctionError"])
        if params.get("DestinationConfig") is not None:
            config["DestinationConfig"] = {"OnFailure": dict((params["DestinationConfig"] or {}).get("OnFailure") or {})}
        _stream_settings(config, params)
    function = current.function
    if params.get("FunctionName"):
        function, config["FunctionArn"] = _function(ctx, params["FunctionName"])
        _duplicate(runs, current.source, function, kind, other_than=current.uuid)
    config["LastModified"] = _now(ctx)
    enabled = current.enabled if params.get("Enabled") is None else bool(params["Enabled"])
    mapping = StoredMapping(current.uuid, function, current.source, config, enabled, current.tags)
    _checked_settings(mapping)
    try:
        runs.store.replace(mapping)
    except NotFoundError:
        raise user_error("ResourceNotFoundException", _NOT_FOUND, 404) from None
    try:
        _run(runs, mapping)
    except AwsError:
        runs.store.replace(current)
        _run(runs, current)
        raise
    if enabled == current.enabled:
        return _output(mapping, "Updating")
    return _output(mapping, "Enabling" if enabled else "Disabling")


@OPERATIONS("DeleteEventSourceMapping")
def delete_event_source_mapping(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    runs = _runs(ctx)
    with runs.lock:
        mapping = _must_mapping(runs, params["UUID"])
        try:
            runs.store.delete(mapping.uuid)
        except NotFoundError:
            raise user_error("ResourceNotFoundException", _NOT_FOUND, 404) from None
        runs.stop(mapping.uuid, forget=True)
    runs.settle()
    logger.info("event source mapping deleted", extra={"uuid": mapping.uuid})
    return _output(mapping, "Deleting")


# -- tags (ListTags, TagResource and UntagResource name a mapping by its ARN) -------------------------


def is_mapping_arn(resource: str) -> bool:
    return ":event-source-mapping:" in resource


def _tagged_mapping(ctx: Context, arn: str) -> StoredMapping:
    mapping = _runs(ctx).store.get(arn.rsplit(":", 1)[-1])
    if mapping is None or mapping.config.get("EventSourceMappingArn") != arn:
        raise user_error("ResourceNotFoundException", f"Event source mapping not found: {arn}", 404)
    return mapping


def mapping_tags(ctx: Context, arn: str) -> dict[str, str]:
    """The tags of the mapping ``arn`` names; raises Lambda's ResourceNotFoundException."""
    return dict(_tagged_mapping(ctx, arn).tags)


def set_mapping_tags(ctx: Context, arn: str, tags: dict[str, str]) -> None:
    """Replace the tags of the mapping ``arn`` names; raises Lambda's ResourceNotFoundException."""
    runs = _runs(ctx)
    with runs.lock:  # the poller may note the mapping's LastProcessingResult meanwhile
        mapping = _tagged_mapping(ctx, arn)
        runs.store.replace(StoredMapping(mapping.uuid, mapping.function, mapping.source, mapping.config, mapping.enabled, tags))
