"""The template's Lambda functions: one per function of the application, configured as Lambda runs it.

Each gets the handler path the local worker pool imports, the environment the
functions' :class:`~sluiceway.settings.Settings` and the AWS backends read on Lambda
(the pipeline config is in the bundle at :data:`LAMBDA_TASK_ROOT`), the Powertools
layer, the stack's dead-letter queue for asynchronous invocations, and the policies
its declared access asks for (:func:`~sluiceway.deploy.policies.function_policies`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..apps import App
from ..settings import ENV_PREFIX, Settings
from ._cfn import DLQ, getatt, ref, skips, sub
from .policies import function_policies

if TYPE_CHECKING:
    from ..config import PipelineConfig

__all__ = [
    "BUNDLE_CONFIG_NAME",
    "LAMBDA_TASK_ROOT",
    "POWERTOOLS_LAYER_VERSION",
    "function_logical_id",
    "function_resource",
]

#: Public Powertools for AWS Lambda (Python) v3 layer version used by default (its docs, layer 27).
POWERTOOLS_LAYER_VERSION = 27
#: Where Lambda unpacks the function code; the bundle puts the pipeline config at its root.
LAMBDA_TASK_ROOT = "/var/task"
BUNDLE_CONFIG_NAME = "sluiceway-pipeline.yaml"
RUNTIME = "python3.12"


def function_logical_id(name: str) -> str:
    """The template's logical id of function ``name`` (``ValidateData`` -> ``ValidateDataFunction``)."""
    return f"{name}Function"


def _environment(settings: Settings) -> dict[str, Any]:
    """What the functions' ``Settings`` and the AWS backends read on Lambda."""
    values: dict[str, Any] = {
        f"{ENV_PREFIX}BACKEND": "aws",
        f"{ENV_PREFIX}REGION": ref("AWS::Region"),
        f"{ENV_PREFIX}ACCOUNT_ID": ref("AWS::AccountId"),
        f"{ENV_PREFIX}INPUT_BUCKET": ref("InputBucket"),
        f"{ENV_PREFIX}OUTPUT_BUCKET": ref("OutputBucket"),
        f"{ENV_PREFIX}TABLE_NAME": ref("MetadataTable"),
        f"{ENV_PREFIX}TOPIC_NAME": getatt("NotificationTopic", "TopicName"),
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


def _reserved(name: str, pipeline: PipelineConfig, concurrent_runs: int | None) -> int | None:
    if concurrent_runs is None:
        return None
    # Each run fans ProcessChunk out up to the Map's MaxConcurrency; the other stages run once per run.
    per_run = pipeline.max_concurrency if name == "ProcessChunk" else 1
    return per_run * concurrent_runs


def function_resource(
    app: App,
    name: str,
    handler: str,
    settings: Settings,
    pipeline: PipelineConfig,
    *,
    code_uri: str,
    concurrent_runs: int | None,
) -> dict[str, Any]:
    """The ``AWS::Serverless::Function`` of function ``name``.

    Args:
        code_uri: the Lambda bundle, relative to the template's folder.
        concurrent_runs: runs processed at once, for which concurrency is reserved; None: none reserved.
    """
    skip_list = [
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
        "CodeUri": code_uri,
        "Handler": handler,
        "Runtime": RUNTIME,
        "Architectures": ["x86_64"],
        "MemorySize": settings.function_memory_mb,
        "Timeout": _timeout(settings),
        "Tracing": "Active",
        "Layers": [
            sub(
                "arn:${AWS::Partition}:lambda:${AWS::Region}:017000801446:layer:"
                "AWSLambdaPowertoolsPythonV3-python312-x86_64:${PowertoolsLayerVersion}"
            )
        ],
        "Environment": _environment(settings),
        "LoggingConfig": {"LogGroup": ref("FunctionLogGroup")},
        # Only asynchronous invocations use it; Step Functions invokes synchronously and retries
        # itself, so this catches anything invoked asynchronously by hand or by a future trigger.
        "DeadLetterQueue": {"Type": "SQS", "TargetArn": getatt(DLQ, "Arn")},
        "Policies": function_policies(app, name, "InputBucket", "OutputBucket", "MetadataTable"),
    }
    reserved = _reserved(name, pipeline, concurrent_runs)
    if reserved is None:
        skip_list.append(("CKV_AWS_115", "Concurrency is not reserved (generated with concurrent runs unset)."))
    else:
        properties["ReservedConcurrentExecutions"] = reserved
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": skips(skip_list),
        "Properties": properties,
    }
