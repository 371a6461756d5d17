"""AWS SDK service integrations (``arn:aws:states:::aws-sdk:<service>:<apiAction>``), run generically.

Unlike the optimised integrations (one module each, in the registry), an AWS SDK integration is
any API action of any service, with the API's own request and response: the runtime cannot
know them all. It runs them through an :class:`SdkCall`, which the composition gives it: the
endpoint's in-process operations (``sluiceway.endpoint.sdk_tasks``), so a task's call has the
validation, effects and errors of the same call made with boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ....asl.sdk_services import SdkResource
from ....types import JSON

__all__ = ["IAM_SERVICE_NAMES", "SdkCall", "iam_actions"]


class SdkCall(Protocol):
    """Calls one API action of a service the way Step Functions' AWS SDK integration does."""

    def __call__(self, resource: SdkResource, parameters: Mapping[str, Any]) -> JSON:
        """The action's response as the integration renders it (members in Pascal case).

        Raises:
            TaskError: the call failed; ``error`` is ``<Prefix>.<Name>Exception`` and ``cause`` the
                service's message with the SDK's details, as Step Functions reports them.
        """
        ...


#: IAM's service prefix where it is not the Step Functions service name.
IAM_SERVICE_NAMES: Mapping[str, str] = {
    "sfn": "states",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "cognitoidentityprovider": "cognito-idp",
    "cognitoidentity": "cognito-identity",
    "dynamodbstreams": "dynamodb",
    "applicationautoscaling": "application-autoscaling",
    "elasticloadbalancingv2": "elasticloadbalancing",
    "costexplorer": "ce",
    "databasemigration": "dms",
    "directory": "ds",
    "emrcontainers": "emr-containers",
    "emrserverless": "emr-serverless",
    "rdsdata": "rds-data",
    "redshiftdata": "redshift-data",
    "sagemakerruntime": "sagemaker",
    "bedrockruntime": "bedrock",
    "bedrockagent": "bedrock",
    "bedrockagentruntime": "bedrock",
    "sesv2": "ses",
    "acmpca": "acm-pca",
    "kinesisanalyticsv2": "kinesisanalytics",
    "resourcegroups": "resource-groups",
    "resourcegroupstaggingapi": "tag",
    "cloudcontrol": "cloudformation",
}

#: API actions whose IAM actions have other names (IAM authorizes some by what they touch).
_IAM_ACTIONS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("lambda", "invoke"): ("lambda:InvokeFunction",),
    ("s3", "listObjects"): ("s3:ListBucket",),
    ("s3", "listObjectsV2"): ("s3:ListBucket",),
    ("s3", "headBucket"): ("s3:ListBucket",),
    ("s3", "headObject"): ("s3:GetObject",),
    ("s3", "listBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "deleteObjects"): ("s3:DeleteObject",),
    ("s3", "copyObject"): ("s3:GetObject", "s3:PutObject"),
}


def iam_actions(resource: SdkResource) -> tuple[str, ...]:
    """The IAM actions the state machine's role needs for the call: ``dynamodb:GetItem``."""
    known = _IAM_ACTIONS.get((resource.service, resource.action))
    if known is not None:
        return known
    service = IAM_SERVICE_NAMES.get(resource.service, resource.service)
    return (f"{service}:{resource.action[:1].upper()}{resource.action[1:]}",)
