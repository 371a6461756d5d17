"""SQS answers that other AWS emulators' test suites check, as AWS gives them: empty batches named by
their entry shape, AddPermission's checks and the policy it writes, tag requests without tags."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_an_empty_batch_names_its_entry_shape(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="parity-empty-batches")["QueueUrl"]
    for call, shape in (
        (sqs.send_message_batch, "SendMessageBatchRequestEntry"),
        (sqs.delete_message_batch, "DeleteMessageBatchRequestEntry"),
        (sqs.change_message_visibility_batch, "ChangeMessageVisibilityBatchRequestEntry"),
    ):
        assert _error(call, QueueUrl=url, Entries=[]) == (
            "AWS.SimpleQueueService.EmptyBatchRequest",
            f"There should be at least one {shape} in the request.",
            400,
        )


def test_add_permission_writes_single_values_as_strings(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="parity-permissions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.add_permission(QueueUrl=url, Label="one", AWSAccountIds=["222222222222"], Actions=["SendMessage"])
    accounts = ["333333333333", "444444444444"]
    sqs.add_permission(QueueUrl=url, Label="two", AWSAccountIds=accounts, Actions=["ReceiveMessage", "DeleteMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Version"] == "2008-10-17"
    assert policy["Statement"] == [
        {
            "Sid": "one",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
            "Action": "SQS:SendMessage",
            "Resource": arn,
        },
        {
            "Sid": "two",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"]},
            "Action": ["SQS:ReceiveMessage", "SQS:DeleteMessage"],
            "Resource": arn,
        },
    ]


def test_add_permission_checks_the_request_before_the_label(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="parity-permission-errors")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="taken", AWSAccountIds=["222222222222"], Actions=["ReceiveMessage"])
    assert _error(sqs.add_permission, QueueUrl=url, Label="taken", AWSAccountIds=["222222222222"], Actions=[]) == (
        "MissingParameter",
        "The request must contain the parameter Actions.",
        400,
    )
    assert _error(sqs.add_permission, QueueUrl=url, Label="taken", AWSAccountIds=[], Actions=["SendMessage"]) == (
        "InvalidParameterValue",
        "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.",
        400,
    )
    eight = ["ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl"]
    eight += ["ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage"]
    assert _error(sqs.add_permission, QueueUrl=url, Label="new", AWSAccountIds=["222222222222"], Actions=eight) == (
        "OverLimit",
        "8 Actions were found, maximum allowed is 7.",
        403,
    )
    assert _error(sqs.add_permission, QueueUrl=url, Label="new", AWSAccountIds=["222222222222"], Actions=["RemovePermission"]) == (
        "InvalidParameterValue",
        "Value SQS:RemovePermission for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.",
        400,
    )
    assert _error(sqs.add_permission, QueueUrl=url, Label="taken", AWSAccountIds=["222222222222"], Actions=["SendMessage"]) == (
        "InvalidParameterValue",
        "Value taken for parameter Label is invalid. Reason: Already exists.",
        400,
    )


def test_tag_requests_without_tags(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="parity-tags", tags={"kept": "yes"})["QueueUrl"]
    assert _error(sqs.tag_queue, QueueUrl=url, Tags={}) == ("MissingParameter", "The request must contain the parameter Tags.", 400)
    assert _error(sqs.untag_queue, QueueUrl=url, TagKeys=[]) == (
        "InvalidParameterValue",
        "Tag keys must be between 1 and 128 characters in length.",
        400,
    )
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"kept": "yes"}


def test_json_errors_name_the_query_code_and_the_exception(sqs: Any) -> None:
    """Over JSON, SQS's two unmodelled codes keep their query code and name an exception type of their own."""
    url = sqs.create_queue(QueueName="parity-json-errors")["QueueUrl"]
    for call, kwargs, code, query_code in (
        (sqs.untag_queue, {"TagKeys": []}, "InvalidParameterValue", "InvalidParameterValueException"),
        (sqs.tag_queue, {"Tags": {}}, "MissingParameter", "MissingRequiredParameterException"),
    ):
        with pytest.raises(ClientError) as caught:
            call(QueueUrl=url, **kwargs)
        error = caught.value.response["Error"]
        assert (error["Code"], error["QueryErrorCode"], error["Type"]) == (code, query_code, "Sender")
