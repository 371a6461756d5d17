"""The AWS SAM template for a pipeline, generated from its config and the settings.

The template is data built here, not text kept beside the code, so the things
that must match the local run are taken from the same sources:

* the state machine is the packaged ASL file itself (``DefinitionUri``), with
  ``DefinitionSubstitutions`` for exactly the placeholders the local runtime fills
  (the CSV application's, :mod:`sluiceway.apps.builtin`);
* the EventBridge rule's pattern is the local trigger pattern scoped to the input
  bucket, as the local router's rule is;
* one Lambda function per function of the application (:mod:`sluiceway.apps`),
  with the handler path the local worker pool imports (:mod:`.lambdas`).

This module puts the template together: the buckets, table, topics, queue, key, log
groups, state machine and alarms, the parameters and the outputs. Who may do what is
in :mod:`.policies`; the intrinsics it is written with are in :mod:`._cfn`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .. import __version__
from ..apps.builtin import WORKFLOW_FILE, csv_workflow
from ..ports import STATUS_TIME_INDEX
from ..settings import Settings
from ._cfn import DLQ, KEY, getatt, ref, skips, sub
from .lambdas import POWERTOOLS_LAYER_VERSION, function_logical_id, function_resource
from .management_api import add_management_api
from .policies import bucket_policy, dead_letter_queue_policy, key_policy, state_machine_policies

if TYPE_CHECKING:
    from ..config import PipelineConfig

logger = logging.getLogger(__name__)

__all__ = [
    "TemplateOptions",
    "WrittenTemplate",
    "build_template",
    "definition_path",
    "dump_template",
    "rule_name",
    "write_template",
]

_STATE_MACHINE = "DataProcessingWorkflow"
_TRIGGER_EVENT = "ObjectCreated"


@dataclass(frozen=True)
class TemplateOptions:
    """Choices the settings and the pipeline config do not make."""

    code_uri: str = "build/lambda"
    """The Lambda bundle (``sluiceway package``'s output), relative to the template's folder."""
    definition_uri: str | None = None
    """The ASL file, relative to the template's folder; the packaged file when None."""
    concurrent_runs: int | None = 10
    """Runs (files) processed at once; reserves Lambda concurrency for them. None: no reservation."""
    log_retention_days: int = 365
    """CloudWatch Logs retention for the functions' and the state machine's logs."""
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    """Default of the ``PowertoolsLayerVersion`` parameter."""
    extra_skips: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    """More checkov skips per logical id: ``(check id, reason)``."""
    management_api: bool = False
    """Add the management API (:mod:`.management_api`): a Lambda behind an HttpApi with a Cognito JWT authorizer."""


def definition_path() -> Path:
    """The packaged ASL file the local runtime reads (the file ``DefinitionUri`` points at)."""
    return Path(str(resources.files("sluiceway.workflows").joinpath(WORKFLOW_FILE)))


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return target.resolve().as_posix()


#: Every bucket's last lifecycle rule: parts of uploads that never completed are not kept.
_ABORT_UPLOADS = {"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
#: Every bucket's first checkov skip.
_NO_ACCESS_LOGS = (
    "CKV_AWS_18",
    "Server access logs would need a log bucket of their own; use CloudTrail data events if object access must be audited.",
)


def _bucket(name: str, *, versioned: bool, lifecycle: list[dict[str, Any]], more_skips: list[tuple[str, str]]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "BucketName": name,
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                # aws:kms with the AWS managed key: principals of the account may use it through S3
                # without key-policy changes; the bucket key keeps KMS requests (and their cost) low.
                {
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                    "BucketKeyEnabled": True,
                }
            ]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
        "LifecycleConfiguration": {"Rules": [*lifecycle, _ABORT_UPLOADS]},
    }
    if versioned:
        properties["VersioningConfiguration"] = {"Status": "Enabled"}
    return {
        "Type": "AWS::S3::Bucket",
        # Data outlives the stack: deleting the stack keeps the buckets and their objects.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": skips([_NO_ACCESS_LOGS, *more_skips]),
        "Properties": properties,
    }


def _log_group(name: Any, options: TemplateOptions) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": name,
            "RetentionInDays": options.log_retention_days,
            "KmsKeyId": getatt(KEY, "Arn"),
        },
    }
    if options.log_retention_days < 365:
        resource["Metadata"] = skips([("CKV_AWS_338", f"Retention chosen at generation: {options.log_retention_days} days.")])
    return resource


def _alarm(description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]], statistic: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref("AlarmTopic")],
        },
    }


def _definition_substitutions(placeholders: Iterable[str], fn_ids: Mapping[str, str]) -> dict[str, Any]:
    """The application's substitutions, each as the intrinsic that yields it on AWS.

    Built from the local names so that a placeholder added for the local run
    cannot be forgotten here: an unknown one stops generation.
    """
    by_name: dict[str, Any] = {f"{name}FunctionArn": getatt(logical_id, "Arn") for name, logical_id in fn_ids.items()}
    by_name["NotificationTopicArn"] = ref("NotificationTopic")
    values: dict[str, Any] = {}
    for placeholder in placeholders:
        if placeholder not in by_name:
            raise ValueError(f"no AWS value for the workflow placeholder ${{{placeholder}}}")
        values[placeholder] = by_name[placeholder]
    return values


def rule_name(pipeline: PipelineConfig) -> str:
    """The EventBridge rule's name: the local router's rule name (64 characters at most)."""
    return f"{pipeline.name[:56]}-trigger"


def build_template(
    settings: Settings,
    pipeline: PipelineConfig,
    *,
    template_dir: Path,
    options: TemplateOptions | None = None,
) -> dict[str, Any]:
    """The SAM template for ``pipeline`` with ``settings``' names, as a JSON-compatible dict.

    Args:
        settings: bucket, table, topic and state machine names; memory and timeout of the functions.
        pipeline: the trigger pattern, the Map's concurrency, the pipeline's name.
        template_dir: the folder the template will be written to (``DefinitionUri`` is relative to it).
        options: code location, concurrency reservation, log retention, Powertools layer version.
    """
    options = options or TemplateOptions()
    app = csv_workflow(settings, pipeline)
    [workflow] = app.workflows
    [trigger] = app.rules
    definition_uri = options.definition_uri or _relative(definition_path(), template_dir)
    pattern = dict(trigger.pattern)
    trigger_rule = rule_name(pipeline)
    fn_ids = {f.name: function_logical_id(f.name) for f in app.functions}

    substitutions = _definition_substitutions(workflow.substitutions, fn_ids)

    resources_: dict[str, Any] = {
        KEY: {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": sub("Sluiceway ${AWS::StackName}: alarm topic and log groups"),
                "EnableKeyRotation": True,
                "KeyPolicy": key_policy(),
            },
        },
        f"{KEY}Alias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": sub("alias/sluiceway/${AWS::StackName}"),
                "TargetKeyId": ref(KEY),
            },
        },
        "InputBucket": _bucket(
            settings.input_bucket,
            versioned=True,
            lifecycle=[
                {
                    "Id": "ExpireOldVersions",
                    "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                },
            ],
            more_skips=[],
        ),
        "InputBucketPolicy": bucket_policy("InputBucket"),
        "OutputBucket": _bucket(
            settings.output_bucket,
            versioned=False,
            lifecycle=[
                {
                    "Id": "ExpireWorkFiles",
                    "Status": "Enabled",
                    "Prefix": "_work/",
                    "ExpirationInDays": 7,
                },
            ],
            more_skips=[
                (
                    "CKV_AWS_21",
                    "Results are derived data: any run can be repeated from the (versioned) input object.",
                ),
            ],
        ),
        "OutputBucketPolicy": bucket_policy("OutputBucket"),
        "MetadataTable": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": skips(
                [
                    (
                        "CKV_AWS_119",
                        "Encrypted at rest with the AWS managed key; one small record per run does not justify "
                        "a customer managed key's KMS calls.",
                    )
                ]
            ),
            "Properties": {
                "TableName": settings.table_name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": name, "AttributeType": "S"} for name in ("ExecutionId", *STATUS_TIME_INDEX.key_attributes)
                ],
                "KeySchema": [{"AttributeName": "ExecutionId", "KeyType": "HASH"}],
                # Runs by status in time order (DynamoTable.query_index). On-demand
                # billing covers the index too; it is sparse, so records without a
                # Status or Timestamp cost nothing there.
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": STATUS_TIME_INDEX.name,
                        "KeySchema": [
                            {"AttributeName": STATUS_TIME_INDEX.partition_key, "KeyType": "HASH"},
                            {"AttributeName": STATUS_TIME_INDEX.sort_key, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        },
        "NotificationTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": settings.topic_name,
                "DisplayName": "Sluiceway",
                # The AWS managed key lets principals of the account (the state machine's role) publish.
                "KmsMasterKeyId": "alias/aws/sns",
            },
        },
        "NotificationEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasNotificationEmail",
            "Properties": {
                "TopicArn": ref("NotificationTopic"),
                "Protocol": "email",
                "Endpoint": ref("NotificationEmail"),
            },
        },
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": "Sluiceway alarms", "KmsMasterKeyId": ref(KEY)},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": ref("AlarmTopic"),
                "Protocol": "email",
                "Endpoint": ref("AlarmEmail"),
            },
        },
        DLQ: {
            "Type": "AWS::SQS::Queue",
            "Metadata": skips(
                [
                    (
                        "CKV_AWS_27",
                        "Encrypted at rest with SQS managed keys (SSE-SQS); a KMS key would need grants for EventBridge "
                        "and every function to send dead letters.",
                    )
                ]
            ),
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        f"{DLQ}Policy": dead_letter_queue_policy(trigger_rule),
        "FunctionLogGroup": _log_group(sub("/aws/lambda/sluiceway/${AWS::StackName}"), options),
        "StateMachineLogGroup": _log_group(
            sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{settings.state_machine_name}"),
            options,
        ),
    }
    for function in app.functions:
        resources_[fn_ids[function.name]] = function_resource(
            app,
            function.name,
            function.handler,
            settings,
            pipeline,
            code_uri=options.code_uri,
            concurrent_runs=options.concurrent_runs,
        )

    resources_[_STATE_MACHINE] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Name": settings.state_machine_name,
            "Type": "STANDARD",
            "DefinitionUri": definition_uri,
            "DefinitionSubstitutions": substitutions,
            "Logging": {
                # ALL event types without their payloads: the history is in the logs, user data is not.
                "Level": "ALL",
                "IncludeExecutionData": False,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": getatt("StateMachineLogGroup", "Arn")}}],
            },
            "Tracing": {"Enabled": True},
            "Policies": state_machine_policies(app, fn_ids, "NotificationTopic"),
            "Events": {
                _TRIGGER_EVENT: {
                    "Type": "EventBridgeRule",
                    "Properties": {
                        "RuleName": trigger_rule,
                        "Pattern": pattern,
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": 86400,
                            "MaximumRetryAttempts": 185,
                        },
                        "DeadLetterConfig": {"Arn": getatt(DLQ, "Arn")},
                    },
                }
            },
        },
    }

    resources_["ExecutionsFailedAlarm"] = _alarm(
        f"{settings.state_machine_name}: an execution failed (a file could not be processed)",
        "AWS/States",
        "ExecutionsFailed",
        [{"Name": "StateMachineArn", "Value": ref(_STATE_MACHINE)}],
        "Sum",
    )
    resources_["DeadLetterQueueAlarm"] = _alarm(
        "Sluiceway: an event or invocation could not be delivered and is in the dead-letter queue",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": getatt(DLQ, "QueueName")}],
        "Maximum",
    )
    for name in fn_ids:
        resources_[f"{name}ErrorsAlarm"] = _alarm(
            f"Sluiceway: the {name} function raised errors",
            "AWS/Lambda",
            "Errors",
            [{"Name": "FunctionName", "Value": ref(fn_ids[name])}],
            "Sum",
        )

    for logical_id, items in options.extra_skips.items():
        resource = resources_[logical_id]
        existing = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
        existing.extend({"id": check, "comment": reason} for check, reason in items)

    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"Sluiceway pipeline {pipeline.name}: S3 -> EventBridge -> Step Functions -> Lambda, DynamoDB, SNS",
        "Metadata": {
            "Sluiceway": {
                "Version": __version__,
                "Pipeline": pipeline.name,
                "PipelineDigest": pipeline.digest(),
                "CodeUri": options.code_uri,
                "DefinitionUri": definition_uri,
            }
        },
        "Parameters": {
            "NotificationEmail": {
                "Type": "String",
                "Default": "",
                "Description": "Email address subscribed to run notifications (empty: none)",
                "AllowedPattern": r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            },
            "AlarmEmail": {
                "Type": "String",
                "Default": "",
                "Description": "Email address subscribed to alarms (empty: none)",
                "AllowedPattern": r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            },
            "PowertoolsLayerVersion": {
                "Type": "Number",
                "Default": options.powertools_layer_version,
                "Description": "Version of the public Powertools for AWS Lambda (Python) v3 layer",
                "MinValue": 1,
            },
        },
        "Conditions": {
            "HasNotificationEmail": {"Fn::Not": [{"Fn::Equals": [ref("NotificationEmail"), ""]}]},
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]},
        },
        "Resources": resources_,
        "Outputs": {
            "InputBucketName": {"Description": "Drop files here", "Value": ref("InputBucket")},
            "OutputBucketName": {
                "Description": "Results and rejects",
                "Value": ref("OutputBucket"),
            },
            "StateMachineArn": {"Value": ref(_STATE_MACHINE)},
            "MetadataTableName": {"Value": ref("MetadataTable")},
            "NotificationTopicArn": {"Value": ref("NotificationTopic")},
            "AlarmTopicArn": {"Value": ref("AlarmTopic")},
            "DeadLetterQueueUrl": {"Value": ref(DLQ)},
        },
    }
    if options.management_api:
        add_management_api(
            template,
            code_uri=options.code_uri,
            state_machine=_STATE_MACHINE,
            log_retention_days=options.log_retention_days,
            reserved_concurrency=10 if options.concurrent_runs else None,
        )
    return template


def dump_template(template: Mapping[str, Any]) -> str:
    """The template as YAML text, keys in the order they were built."""
    meta = template.get("Metadata", {}).get("Sluiceway", {})
    header = (
        f"# Generated by `sluiceway template` from pipeline {meta.get('Pipeline', '?')!r} "
        f"(config digest {meta.get('PipelineDigest', '?')}).\n"
        "# Change the pipeline config or the SLUICEWAY_* settings and generate it again rather than editing it.\n"
    )
    body = str(yaml.safe_dump(json.loads(json.dumps(template)), sort_keys=False, width=1000, allow_unicode=True))
    return header + body


@dataclass(frozen=True)
class WrittenTemplate:
    """What :func:`write_template` wrote."""

    path: Path
    resources: int
    """Resources in the template (before the SAM transform adds roles, versions and the rule)."""
    template: dict[str, Any]


def write_template(
    settings: Settings,
    pipeline: PipelineConfig,
    out: Path,
    *,
    options: TemplateOptions | None = None,
) -> WrittenTemplate:
    """Build the template and write it to ``out`` as YAML."""
    out = Path(out)
    template = build_template(
        settings,
        pipeline,
        template_dir=out.parent if str(out.parent) else Path("."),
        options=options,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump_template(template), encoding="utf-8")
    logger.info("template written", extra={"path": str(out), "resources": len(template["Resources"])})
    return WrittenTemplate(out, len(template["Resources"]), template)
