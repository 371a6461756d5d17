"""AWS SDK integration resources: Step Functions' service names, camel-case actions, patterns."""

from __future__ import annotations

import pytest

from sluiceway.asl import parser
from sluiceway.asl.sdk_services import SdkResource, parse_sdk_resource, sdk_resource_problem
from sluiceway.runtime.orchestration.integrations.aws_sdk import iam_actions
from sluiceway.runtime.orchestration.permissions import required_actions


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("arn:aws:states:::aws-sdk:dynamodb:getItem", SdkResource("dynamodb", "getItem")),
        ("arn:aws:states:::aws-sdk:sfn:startExecution", SdkResource("sfn", "startExecution")),
        ("arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken", SdkResource("sqs", "sendMessage", True)),
        ("arn:aws:states:::aws-sdk:cognitoidentityprovider:adminGetUser", SdkResource("cognitoidentityprovider", "adminGetUser")),
        ("arn:aws:states:::aws-sdk:dynamodb:GetItem", None),  # actions are camel case
        ("arn:aws:states:::aws-sdk:stepfunctions:startExecution", None),  # botocore's name, not the SDK's
        ("arn:aws:states:::aws-sdk:events:putEvents", None),  # EventBridge is ``eventbridge``
        ("arn:aws:states:::aws-sdk:dynamodb:getItem.sync", None),  # no .sync for AWS SDK integrations
        ("arn:aws:states:::aws-sdk:s3:selectObjectContent", None),  # unsupported by Step Functions
        ("arn:aws:states:::aws-sdk:dynamodb", None),
    ],
)
def test_resources_are_taken_apart_or_refused(resource: str, expected: SdkResource | None) -> None:
    assert parse_sdk_resource(resource) == expected
    assert (sdk_resource_problem(resource) is None) is (expected is not None)


def test_exception_prefixes_are_the_sdks() -> None:
    assert SdkResource("dynamodb", "putItem").exception_prefix == "DynamoDb"
    assert SdkResource("sfn", "startExecution").exception_prefix == "Sfn"
    assert SdkResource("cloudwatchlogs", "putLogEvents").exception_prefix == "CloudWatchLogs"
    assert SdkResource("eventbridge", "putEvents").exception_prefix == "EventBridge"


def test_other_resources_are_left_alone() -> None:
    assert sdk_resource_problem("arn:aws:states:::sns:publish") is None
    assert sdk_resource_problem("arn:aws:lambda:us-east-1:111111111111:function:f") is None


def test_the_parser_refuses_an_unknown_sdk_resource_where_it_is() -> None:
    doc = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:nope:getItem", "End": True}}}
    [found] = parser.validate(doc)
    assert (found.code, found.location) == ("SCHEMA_VALIDATION_FAILED", "/States/T/Resource")
    assert found.message == (
        "The resource provided arn:aws:states:::aws-sdk:nope:getItem is not recognized. The value is not a valid "
        "resource ARN, or the resource is not available in this region."
    )


def test_iam_actions_are_the_api_actions() -> None:
    assert iam_actions(SdkResource("dynamodb", "getItem")) == ("dynamodb:GetItem",)
    assert iam_actions(SdkResource("sfn", "startExecution")) == ("states:StartExecution",)
    assert iam_actions(SdkResource("lambda", "invoke")) == ("lambda:InvokeFunction",)
    assert iam_actions(SdkResource("s3", "listObjectsV2")) == ("s3:ListBucket",)
    doc = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:scheduler:createSchedule", "End": True}}}
    assert required_actions(doc) == {"scheduler:CreateSchedule"}
