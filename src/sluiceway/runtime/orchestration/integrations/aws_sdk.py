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

__all__ = ["IAM_SERVICE_NAMES", "SdkCall", "iam_actions", "in_database"]


class SdkCall(Protocol):
    """Calls one API action of a service the way Step Functions' AWS SDK integration does."""

    def __call__(self, resource: SdkResource, parameters: Mapping[str, Any]) -> JSON:
        """The action's response as the integration renders it (members in Pascal case).

        Raises:
            TaskError: the call failed; ``error`` is ``<Prefix>.<Name>Exception`` and ``cause`` the
                service's message with the SDK's details, as Step Functions reports them.
        """
        ...


#: Services whose calls have all their effects in the local database (the queues, the topics and
#: their deliveries' outbox, the bus, the tables, the schedules): such a call commits in the task
#: journal's transaction, so it is made once per task, as the optimised integrations are. The others
#: are made at least once: a crash after the call and before its record makes it again. That is S3
#: (files: a PutObject writes the same object again, a new version where versioning is on, and
#: announces it again), CloudWatch Logs, Lambda, STS (their own databases or processes), Step
#: Functions (an execution started runs on threads of its own, and StartSyncExecution waits for it),
#: CloudWatch (a call may evaluate alarms, which take the write lock themselves), CloudFormation and
#: Cognito. Reads are had again without harm.
_IN_DATABASE = frozenset({"sqs", "sns", "eventbridge", "dynamodb", "scheduler"})
#: Actions of those services that wait for other writers, which the journal's transaction would
#: keep out: a long poll (the queue's default wait applies even without WaitTimeSeconds).
_WAITING = frozenset({("sqs", "receivemessage")})


def in_database(resource: SdkResource) -> bool:
    """Whether the call's effects are all rows of the local database (see ``_IN_DATABASE``)."""
    return resource.service in _IN_DATABASE and (resource.service, resource.action.lower()) not in _WAITING


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
