"""The AWS SAM template for a pipeline, generated from its config and the settings.

The template is data built here, not text kept beside the code, so the things
that must match the local run are taken from the same sources:

* the state machine is the packaged ASL file itself (``DefinitionUri``), with
  ``DefinitionSubstitutions`` for exactly the placeholders the local runtime fills
  (the CSV application's, :mod:`sluiceway.apps.builtin`);
* the EventBridge rule's pattern is the local trigger pattern scoped to the input
  bucket, as the local router's rule is;
* one Lambda function per function of the application (:mod:`sluiceway.apps`),
  with the handler path the local worker pool imports.

Intrinsic functions are written in their long form (``{"Ref": ...}``,
``{"Fn::GetAtt": [...]}``) so the YAML needs no custom tags and any YAML or JSON
reader (cfn-lint, the SAM translator, checkov) loads it as plain data.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .. import __version__
from ..apps import App
from ..apps.builtin import WORKFLOW_FILE, csv_workflow
from ..ports import STATUS_TIME_INDEX
from ..settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    from ..config import PipelineConfig

logger = logging.getLogger(__name__)

__all__ = [
    "ALLOWED_WILDCARD_ACTIONS",
    "BUNDLE_CONFIG_NAME",
    "LAMBDA_TASK_ROOT",
    "POWERTOOLS_LAYER_VERSION",
    "TemplateOptions",
    "WrittenTemplate",
    "build_template",
    "definition_path",
    "dump_template",
    "function_logical_id",
    "rule_name",
    "write_template",
]

#: Public Powertools for AWS Lambda (Python) v3 layer version used by default (its docs, layer 27).
POWERTOOLS_LAYER_VERSION = 27
#: Where Lambda unpacks the function code; the bundle puts the pipeline config at its root.
LAMBDA_TASK_ROOT = "/var/task"
BUNDLE_CONFIG_NAME = "sluiceway-pipeline.yaml"
RUNTIME = "python3.12"

#: Actions AWS only grants on ``"Resource": "*"`` (no resource-level permissions exist for them):
#: Step Functions' CloudWatch Logs delivery set-up, and X-Ray segment upload.
ALLOWED_WILDCARD_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

_KEY = "SluicewayKey"
_DLQ = "DeadLetterQueue"
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


def function_logical_id(name: str) -> str:
    """The template's logical id of function ``name`` (``ValidateData`` -> ``ValidateDataFunction``)."""
    return f"{name}Function"


def definition_path() -> Path:
    """The packaged ASL file the local runtime reads (the file ``DefinitionUri`` points at)."""
    return Path(str(resources.files("sluiceway.workflows").joinpath(WORKFLOW_FILE)))


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return target.resolve().as_posix()


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _getatt(name: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, attribute]}


def _skips(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in items]}}


def _deny_insecure_transport(resources_: list[Any]) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources_,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


#: Every bucket's last lifecycle rule: parts of uploads that never completed are not kept.
_ABORT_UPLOADS = {"Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
#: Every bucket's first checkov skip.
_NO_ACCESS_LOGS = (
    "CKV_AWS_18",
    "Server access logs would need a log bucket of their own; use CloudTrail data events if object access must be audited.",
)


def _bucket(name: str, *, versioned: bool, lifecycle: list[dict[str, Any]], skips: list[tuple[str, str]]) -> dict[str, Any]:
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
        "Metadata": _skips([_NO_ACCESS_LOGS, *skips]),
        "Properties": properties,
    }


def _bucket_policy(bucket_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": _ref(bucket_id),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_deny_insecure_transport([_getatt(bucket_id, "Arn"), _sub(f"${{{bucket_id}.Arn}}/*")])],
            },
        },
    }


def _key_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # The account administers the key; everyone else gets it through IAM policies.
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # Alarms publish to the encrypted alarm topic as the CloudWatch service; an AWS managed
                # key cannot allow that, which is why this stack has its own key.
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}},
            },
            {
                "Sid": "CloudWatchLogsEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": _sub("logs.${AWS::Region}.amazonaws.com")},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": _sub(
                            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
                        )
                    }
                },
            },
        ],
    }


def _function_policies(app: App, name: str, input_id: str, output_id: str, table_id: str) -> list[dict[str, Any]]:
    access = app.function(name).access
    policies: list[dict[str, Any]] = []
    for role, bucket_id in (("input", input_id), ("output", output_id)):
        mode = access.get(role)
        if mode == "read":
            policies.append({"S3ReadPolicy": {"BucketName": _ref(bucket_id)}})
        elif mode == "crud":
            policies.append({"S3CrudPolicy": {"BucketName": _ref(bucket_id)}})
    if access.get("table") == "crud":
        policies.append({"DynamoDBCrudPolicy": {"TableName": _ref(table_id)}})
    return policies


def _environment(settings: Settings) -> dict[str, Any]:
    """What the functions' ``Settings`` and the AWS backends read on Lambda."""
    values: dict[str, Any] = {
        f"{ENV_PREFIX}BACKEND": "aws",
        f"{ENV_PREFIX}REGION": _ref("AWS::Region"),
        f"{ENV_PREFIX}ACCOUNT_ID": _ref("AWS::AccountId"),
        f"{ENV_PREFIX}INPUT_BUCKET": _ref("InputBucket"),
        f"{ENV_PREFIX}OUTPUT_BUCKET": _ref("OutputBucket"),
        f"{ENV_PREFIX}TABLE_NAME": _ref("MetadataTable"),
        f"{ENV_PREFIX}TOPIC_NAME": _getatt("NotificationTopic", "TopicName"),
        f"{ENV_PREFIX}STATE_MACHINE_NAME": settings.state_machine_name,
        f"{ENV_PREFIX}PIPELINE_CONFIG": f"{LAMBDA_TASK_ROOT}/{BUNDLE_CONFIG_NAME}",
        # /tmp is the only writable place on Lambda (DuckDB spills and scratch files go there).
        f"{ENV_PREFIX}DATA_DIR": "/tmp/sluiceway",
        f"{ENV_PREFIX}FUNCTION_TIMEOUT_S": str(_timeout(settings)),
        f"{ENV_PREFIX}FUNCTION_MEMORY_MB": str(settings.function_memory_mb),
        f"{ENV_PREFIX}MAX_PAYLOAD_BYTES": str(settings.max_payload_bytes),
        f"{ENV_PREFIX}LOG_FORMAT": "json",
        f"{ENV_PREFIX}LOG_LEVEL": settings.log_level,
        f"{ENV_PREFIX}LOG_PAYLOADS": "true" if settings.log_payloads else "false",
        "POWERTOOLS_SERVICE_NAME": "sluiceway",
        "POWERTOOLS_METRICS_NAMESPACE": "Sluiceway",
    }
    return {"Variables": values}


def _timeout(settings: Settings) -> int:
    return max(1, min(900, math.ceil(settings.function_timeout_s)))


def _reserved(name: str, pipeline: PipelineConfig, options: TemplateOptions) -> int | None:
    if options.concurrent_runs is None:
        return None
    # Each run fans ProcessChunk out up to the Map's MaxConcurrency; the other stages run once per run.
    per_run = pipeline.max_concurrency if name == "ProcessChunk" else 1
    return per_run * options.concurrent_runs


def _function(
    app: App, name: str, handler: str, settings: Settings, pipeline: PipelineConfig, options: TemplateOptions
) -> dict[str, Any]:
    skips = [
        (
            "CKV_AWS_117",
            "No VPC resources are used; S3, DynamoDB and SNS are reached over their public endpoints with IAM.",
        ),
        (
            "CKV_AWS_173",
            "The environment holds resource names only, no secrets; Lambda encrypts it at rest.",
        ),
        (
            "CKV_AWS_272",
            "Code signing needs an AWS Signer profile; the bundle's integrity comes from the deploy pipeline.",
        ),
    ]
    properties: dict[str, Any] = {
        "Description": f"Sluiceway {pipeline.name}: {name}",
        "CodeUri": options.code_uri,
        "Handler": handler,
        "Runtime": RUNTIME,
        "Architectures": ["x86_64"],
        "MemorySize": settings.function_memory_mb,
        "Timeout": _timeout(settings),
        "Tracing": "Active",
        "Layers": [
            _sub(
                "arn:${AWS::Partition}:lambda:${AWS::Region}:017000801446:layer:"
                "AWSLambdaPowertoolsPythonV3-python312-x86_64:${PowertoolsLayerVersion}"
            )
        ],
        "Environment": _environment(settings),
        "LoggingConfig": {"LogGroup": _ref("FunctionLogGroup")},
        # Only asynchronous invocations use it; Step Functions invokes synchronously and retries
        # itself, so this catches anything invoked asynchronously by hand or by a future trigger.
        "DeadLetterQueue": {"Type": "SQS", "TargetArn": _getatt(_DLQ, "Arn")},
        "Policies": _function_policies(app, name, "InputBucket", "OutputBucket", "MetadataTable"),
    }
    reserved = _reserved(name, pipeline, options)
    if reserved is None:
        skips.append(("CKV_AWS_115", "Concurrency is not reserved (generated with concurrent runs unset)."))
    else:
        properties["ReservedConcurrentExecutions"] = reserved
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": _skips(skips),
        "Properties": properties,
    }


def _log_group(name: Any, options: TemplateOptions) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": name,
            "RetentionInDays": options.log_retention_days,
            "KmsKeyId": _getatt(_KEY, "Arn"),
        },
    }
    if options.log_retention_days < 365:
        resource["Metadata"] = _skips([("CKV_AWS_338", f"Retention chosen at generation: {options.log_retention_days} days.")])
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
            "AlarmActions": [_ref("AlarmTopic")],
        },
    }


def _definition_substitutions(placeholders: Iterable[str], fn_ids: Mapping[str, str]) -> dict[str, Any]:
    """The application's substitutions, each as the intrinsic that yields it on AWS.

    Built from the local names so that a placeholder added for the local run
    cannot be forgotten here: an unknown one stops generation.
    """
    by_name: dict[str, Any] = {f"{name}FunctionArn": _getatt(logical_id, "Arn") for name, logical_id in fn_ids.items()}
    by_name["NotificationTopicArn"] = _ref("NotificationTopic")
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

    state_machine_policies: list[Any] = [{"LambdaInvokePolicy": {"FunctionName": _ref(fn_ids[f.name])}} for f in app.functions]
    state_machine_policies.append({"SNSPublishMessagePolicy": {"TopicName": _getatt("NotificationTopic", "TopicName")}})
    state_machine_policies.append(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # CloudWatch Logs delivery for Step Functions: these actions have no resource-level permissions.
                    "Effect": "Allow",
                    "Action": sorted(ALLOWED_WILDCARD_ACTIONS),
                    "Resource": "*",
                }
            ],
        }
    )

    resources_: dict[str, Any] = {
        _KEY: {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": _sub("Sluiceway ${AWS::StackName}: alarm topic and log groups"),
                "EnableKeyRotation": True,
                "KeyPolicy": _key_policy(),
            },
        },
        f"{_KEY}Alias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": _sub("alias/sluiceway/${AWS::StackName}"),
                "TargetKeyId": _ref(_KEY),
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
            skips=[],
        ),
        "InputBucketPolicy": _bucket_policy("InputBucket"),
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
            skips=[
                (
                    "CKV_AWS_21",
                    "Results are derived data: any run can be repeated from the (versioned) input object.",
                ),
            ],
        ),
        "OutputBucketPolicy": _bucket_policy("OutputBucket"),
        "MetadataTable": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": _skips(
                [
                    (
                        "CKV_AWS_119",
                        "Encrypted at rest with the AWS managed key; one small record per run does not justify a customer managed key's KMS calls.",
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
                "TopicArn": _ref("NotificationTopic"),
                "Protocol": "email",
                "Endpoint": _ref("NotificationEmail"),
            },
        },
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": "Sluiceway alarms", "KmsMasterKeyId": _ref(_KEY)},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": _ref("AlarmTopic"),
                "Protocol": "email",
                "Endpoint": _ref("AlarmEmail"),
            },
        },
        _DLQ: {
            "Type": "AWS::SQS::Queue",
            "Metadata": _skips(
                [
                    (
                        "CKV_AWS_27",
                        "Encrypted at rest with SQS managed keys (SSE-SQS); a KMS key would need grants for EventBridge and every function to send dead letters.",
                    )
                ]
            ),
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        f"{_DLQ}Policy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [_ref(_DLQ)],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TriggerRuleDeadLetters",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": _getatt(_DLQ, "Arn"),
                            "Condition": {
                                "ArnEquals": {
                                    "aws:SourceArn": _sub(
                                        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{trigger_rule}"
                                    )
                                }
                            },
                        },
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sqs:*",
                            "Resource": _getatt(_DLQ, "Arn"),
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        },
        "FunctionLogGroup": _log_group(_sub("/aws/lambda/sluiceway/${AWS::StackName}"), options),
        "StateMachineLogGroup": _log_group(
            _sub(f"/aws/vendedlogs/states/${{AWS::StackName}}-{settings.state_machine_name}"),
            options,
        ),
    }
    for function in app.functions:
        resources_[fn_ids[function.name]] = _function(app, function.name, function.handler, settings, pipeline, options)

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
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": _getatt("StateMachineLogGroup", "Arn")}}],
            },
            "Tracing": {"Enabled": True},
            "Policies": state_machine_policies,
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
                        "DeadLetterConfig": {"Arn": _getatt(_DLQ, "Arn")},
                    },
                }
            },
        },
    }

    resources_["ExecutionsFailedAlarm"] = _alarm(
        f"{settings.state_machine_name}: an execution failed (a file could not be processed)",
        "AWS/States",
        "ExecutionsFailed",
        [{"Name": "StateMachineArn", "Value": _ref(_STATE_MACHINE)}],
        "Sum",
    )
    resources_["DeadLetterQueueAlarm"] = _alarm(
        "Sluiceway: an event or invocation could not be delivered and is in the dead-letter queue",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": _getatt(_DLQ, "QueueName")}],
        "Maximum",
    )
    for name in fn_ids:
        resources_[f"{name}ErrorsAlarm"] = _alarm(
            f"Sluiceway: the {name} function raised errors",
            "AWS/Lambda",
            "Errors",
            [{"Name": "FunctionName", "Value": _ref(fn_ids[name])}],
            "Sum",
        )

    for logical_id, items in options.extra_skips.items():
        resource = resources_[logical_id]
        existing = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
        existing.extend({"id": check, "comment": reason} for check, reason in items)

    return {
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
            "HasNotificationEmail": {"Fn::Not": [{"Fn::Equals": [_ref("NotificationEmail"), ""]}]},
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [_ref("AlarmEmail"), ""]}]},
        },
        "Resources": resources_,
        "Outputs": {
            "InputBucketName": {"Description": "Drop files here", "Value": _ref("InputBucket")},
            "OutputBucketName": {
                "Description": "Results and rejects",
                "Value": _ref("OutputBucket"),
            },
            "StateMachineArn": {"Value": _ref(_STATE_MACHINE)},
            "MetadataTableName": {"Value": _ref("MetadataTable")},
            "NotificationTopicArn": {"Value": _ref("NotificationTopic")},
            "AlarmTopicArn": {"Value": _ref("AlarmTopic")},
            "DeadLetterQueueUrl": {"Value": _ref(_DLQ)},
        },
    }


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
