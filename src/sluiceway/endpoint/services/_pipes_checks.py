"""What EventBridge Pipes refuses in a pipe's definition, with its ``ValidationException``.

The API model's constraints (lengths, patterns, ranges, enums) are answered in the wording
AWS's request validation uses (``1 validation error detected: Value ... at 'name' failed to
satisfy constraint: ...``); the rules between members (source parameters that fit the source,
a batch no larger than the target takes, filters Pipes can read, input templates) follow
Pipes' user guide and API reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ...events.lambda_filters import FilterCriteriaError, compile_filter_criteria
from ...runtime.pipes.flow import TARGET_BATCH_LIMITS, resource_kind
from ...runtime.pipes.input_template import MAX_TEMPLATE_CHARS, placeholder_problems
from ..errors import AwsError

__all__ = ["check_definition", "check_name", "invalid"]

_NAME: Final = re.compile(r"[\.\-_A-Za-z0-9]+")
_ARN: Final = re.compile(
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-]+):([a-z]{2,4}((-gov)|(-de)|(-iso([a-z]?)))?-[a-z]+(-\d{1})?)?:(\d{12})?:(.+)"
)
_ROLE: Final = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z0-9+=,.@\-_/]+")
_STATES: Final = ("RUNNING", "STOPPED")
_SOURCE_MEMBERS: Final = {
    "sqs": "SqsQueueParameters",
    "dynamodb": "DynamoDBStreamParameters",
    "kinesis": "KinesisStreamParameters",
    "mq": "ActiveMQBrokerParameters",
    "kafka": "ManagedStreamingKafkaParameters",
}


def invalid(message: str, field: str | None = None) -> AwsError:
    """Pipes' ValidationException, naming the member at fault in ``fieldList`` when one is."""
    fields = {"fieldList": [{"name": field, "message": message}]} if field else None
    return AwsError("ValidationException", message, 400, fields=fields)


def _constraint(value: Any, path: str, constraint: str) -> AwsError:
    return invalid(f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {constraint}", path)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise _constraint(name, "name", "Member must have length between 1 and 64")
    if not _NAME.fullmatch(name):
        raise _constraint(name, "name", r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+")
    return name


def _arn(value: Any, path: str, *, optional: bool = False) -> None:
    if optional and value == "":
        return
    if not isinstance(value, str) or not 1 <= len(value) <= 1600 or not _ARN.fullmatch(value):
        raise _constraint(value, path, "Member must satisfy regular expression pattern: " + _ARN.pattern)


def _range(params: Mapping[str, Any], member: str, path: str, low: int, high: int) -> None:
    value = params.get(member)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _constraint(value, f"{path}.{member[:1].lower()}{member[1:]}", "Member must be a number")
    if value < low:
        raise _constraint(value, f"{path}.{member[:1].lower()}{member[1:]}", f"Member must have value greater than or equal to {low}")
    if value > high:
        raise _constraint(value, f"{path}.{member[:1].lower()}{member[1:]}", f"Member must have value less than or equal to {high}")


def _template(params: Mapping[str, Any] | None, where: str) -> None:
    template = (params or {}).get("InputTemplate")
    if template is None:
        return
    if not isinstance(template, str) or len(template) > MAX_TEMPLATE_CHARS:
        raise _constraint(template, f"{where}.inputTemplate", f"Member must have length less than or equal to {MAX_TEMPLATE_CHARS}")
    problems = placeholder_problems(template)
    if problems:
        raise invalid(problems[0], f"{where[:1].upper()}{where[1:]}.InputTemplate")


def _source_parameters(source: str, params: Mapping[str, Any], *, creating: bool) -> None:
    kind = resource_kind(source)
    own = _SOURCE_MEMBERS.get(kind)
    for member in _SOURCE_MEMBERS.values():
        if member != own and params.get(member) is not None and not (kind == "kafka" and member == "SelfManagedKafkaParameters"):
            raise invalid(f"{member} is not a valid parameter for the source {source}.", f"SourceParameters.{member}")
    if kind == "dynamodb" and creating and not (params.get("DynamoDBStreamParameters") or {}).get("StartingPosition"):
        raise invalid("Missing required parameter.", "SourceParameters.DynamoDBStreamParameters")
    sqs = params.get("SqsQueueParameters") or {}
    _range(sqs, "BatchSize", "sourceParameters.sqsQueueParameters", 1, 10_000)
    _range(sqs, "MaximumBatchingWindowInSeconds", "sourceParameters.sqsQueueParameters", 0, 300)
    stream = params.get("DynamoDBStreamParameters") or {}
    where = "sourceParameters.dynamoDBStreamParameters"
    _range(stream, "BatchSize", where, 1, 10_000)
    _range(stream, "MaximumBatchingWindowInSeconds", where, 0, 300)
    _range(stream, "MaximumRecordAgeInSeconds", where, -1, 604_800)
    _range(stream, "MaximumRetryAttempts", where, -1, 10_000)
    _range(stream, "ParallelizationFactor", where, 1, 10)
    age = stream.get("MaximumRecordAgeInSeconds")
    if isinstance(age, int) and 0 <= age < 60:
        raise invalid(
            "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.",
            "SourceParameters.DynamoDBStreamParameters.MaximumRecordAgeInSeconds",
        )
    position = stream.get("StartingPosition")
    if position is not None and position not in ("TRIM_HORIZON", "LATEST"):
        raise _constraint(position, f"{where}.startingPosition", "Member must satisfy enum value set: [TRIM_HORIZON, LATEST]")
    if stream.get("OnPartialBatchItemFailure") not in (None, "AUTOMATIC_BISECT"):
        raise _constraint(
            stream["OnPartialBatchItemFailure"],
            f"{where}.onPartialBatchItemFailure",
            "Member must satisfy enum value set: [AUTOMATIC_BISECT]",
        )
    dead_letter = (stream.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter is not None:
        _arn(dead_letter, f"{where}.deadLetterConfig.arn")
        if resource_kind(dead_letter) not in ("sqs", "sns"):
            raise invalid(
                "The dead-letter queue must be an SQS queue or SNS topic ARN.",
                "SourceParameters.DynamoDBStreamParameters.DeadLetterConfig.Arn",
            )
    criteria = params.get("FilterCriteria")
    if criteria is not None and kind in ("sqs", "dynamodb"):
        try:
            compile_filter_criteria(criteria, source=kind, max_filters=5)  # type: ignore[arg-type]
        except FilterCriteriaError as exc:
            raise invalid(str(exc), "SourceParameters.FilterCriteria") from None


def _batch_fits_target(definition: Mapping[str, Any]) -> None:
    target_kind = resource_kind(str(definition.get("Target") or ""))
    largest = TARGET_BATCH_LIMITS.get(target_kind)
    if largest is None:
        return
    params = definition.get("SourceParameters") or {}
    for member in ("SqsQueueParameters", "DynamoDBStreamParameters"):
        size = (params.get(member) or {}).get("BatchSize")
        if isinstance(size, int) and size > largest:
            raise invalid(
                f"The batch size {size} is larger than the target {definition['Target']} supports ({largest}).",
                f"SourceParameters.{member}.BatchSize",
            )


def check_definition(definition: Mapping[str, Any], *, creating: bool) -> None:
    """Raise Pipes' ValidationException for what it refuses in ``definition`` (CreatePipe's or the
    definition UpdatePipe leaves)."""
    description = definition.get("Description")
    if description is not None and (not isinstance(description, str) or len(description) > 512):
        raise _constraint(description, "description", "Member must have length less than or equal to 512")
    state = definition.get("DesiredState")
    if state is not None and state not in _STATES:
        raise _constraint(state, "desiredState", "Member must satisfy enum value set: [RUNNING, STOPPED]")
    source = definition.get("Source")
    if not (isinstance(source, str) and source.startswith("smk://")):
        _arn(source, "source")
    _arn(definition.get("Target"), "target")
    if definition.get("Enrichment") is not None:
        _arn(definition.get("Enrichment"), "enrichment", optional=True)
    role = definition.get("RoleArn")
    if not isinstance(role, str) or not _ROLE.fullmatch(role):
        raise _constraint(role, "roleArn", "Member must satisfy regular expression pattern: " + _ROLE.pattern)
    _source_parameters(str(source), definition.get("SourceParameters") or {}, creating=creating)
    _template(definition.get("EnrichmentParameters"), "enrichmentParameters")
    _template(definition.get("TargetParameters"), "targetParameters")
    _batch_fits_target(definition)
    tags = definition.get("Tags")
    if tags is not None:
        check_tags(tags)


def check_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, dict) or not 1 <= len(tags) <= 50:
        raise _constraint(tags, "tags", "Member must have length between 1 and 50")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise _constraint(key, "tags", "Member must have length between 1 and 128")
        if not isinstance(value, str) or len(value) > 256:
            raise _constraint(value, "tags", "Member must have length less than or equal to 256")
    return dict(tags)
