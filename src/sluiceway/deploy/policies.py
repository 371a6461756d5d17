"""Who may do what in the stack: the IAM and resource policies of the template.

Each function gets the SAM policy templates its declared access asks for
(:attr:`sluiceway.apps.model.FunctionDef.access`: ``read`` or ``crud`` on the input and output
buckets, ``crud`` on the table), the state machine may invoke the functions and
publish to the notification topic, and the buckets, the dead-letter queue and the
KMS key each carry a resource policy. Nothing gets ``"Resource": "*"`` except the
actions in :data:`ALLOWED_WILDCARD_ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..apps import App
from ._cfn import DLQ, getatt, ref, sub

__all__ = [
    "ALLOWED_WILDCARD_ACTIONS",
    "bucket_policy",
    "dead_letter_queue_policy",
    "function_policies",
    "key_policy",
    "state_machine_policies",
]

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


def _deny_insecure_transport(resources_: list[Any]) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources_,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_id: str) -> dict[str, Any]:
    """The bucket policy resource of ``bucket_id``: TLS only."""
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": ref(bucket_id),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_deny_insecure_transport([getatt(bucket_id, "Arn"), sub(f"${{{bucket_id}.Arn}}/*")])],
            },
        },
    }


def key_policy() -> dict[str, Any]:
    """The stack key's policy: the account administers it; CloudWatch alarms and Logs use it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # The account administers the key; everyone else gets it through IAM policies.
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
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
                "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
            },
            {
                "Sid": "CloudWatchLogsEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
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
                        "kms:EncryptionContext:aws:logs:arn": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")
                    }
                },
            },
        ],
    }


def function_policies(app: App, name: str, input_id: str, output_id: str, table_id: str) -> list[dict[str, Any]]:
    """SAM policy templates for function ``name``: exactly the access the application declares for it."""
    access = app.function(name).access
    policies: list[dict[str, Any]] = []
    for role, bucket_id in (("input", input_id), ("output", output_id)):
        mode = access.get(role)
        if mode == "read":
            policies.append({"S3ReadPolicy": {"BucketName": ref(bucket_id)}})
        elif mode == "crud":
            policies.append({"S3CrudPolicy": {"BucketName": ref(bucket_id)}})
    if access.get("table") == "crud":
        policies.append({"DynamoDBCrudPolicy": {"TableName": ref(table_id)}})
    return policies


def state_machine_policies(app: App, fn_ids: Mapping[str, str], topic_id: str) -> list[Any]:
    """The state machine's policies: invoke the functions, publish to ``topic_id``, deliver its logs."""
    policies: list[Any] = [{"LambdaInvokePolicy": {"FunctionName": ref(fn_ids[f.name])}} for f in app.functions]
    policies.append({"SNSPublishMessagePolicy": {"TopicName": getatt(topic_id, "TopicName")}})
    policies.append(
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
    return policies


def dead_letter_queue_policy(trigger_rule: str) -> dict[str, Any]:
    """The dead-letter queue's policy resource: the trigger rule may send to it, over TLS only."""
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [ref(DLQ)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TriggerRuleDeadLetters",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": getatt(DLQ, "Arn"),
                        "Condition": {
                            "ArnEquals": {
                                "aws:SourceArn": sub(
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
                        "Resource": getatt(DLQ, "Arn"),
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ],
            },
        },
    }
