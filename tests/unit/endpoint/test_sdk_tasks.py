"""How AWS SDK integrations map onto the served operations: names, requests, responses, errors."""

from __future__ import annotations

from datetime import UTC, datetime

from sluiceway.endpoint import protocol
from sluiceway.endpoint.sdk_tasks import _exception_name, _instant, _render, _request, sdk_diagnostics


def test_error_names_are_the_sdks_exception_classes() -> None:
    assert _exception_name("s3", "NoSuchKey", "S3") == "NoSuchKeyException"
    assert _exception_name("dynamodb", "ConditionalCheckFailedException", "DynamoDb") == "ConditionalCheckFailedException"
    # Not in DynamoDB's model: the SDK raises the service's own exception.
    assert _exception_name("dynamodb", "ValidationException", "DynamoDb") == "DynamoDbException"
    assert _exception_name("stepfunctions", "InvalidToken", "Sfn") == "InvalidTokenException"
    assert _exception_name("sqs", "QueueDoesNotExist", "Sqs") == "QueueDoesNotExistException"


def test_requests_take_pascal_case_and_serialise_json_into_strings_and_blobs() -> None:
    shape = protocol.service_model("s3").operation_model("PutObject").input_shape
    request = _request(shape, {"Bucket": "b", "Key": "k", "Body": "text data"}, "Parameters")
    assert request == {"Bucket": "b", "Key": "k", "Body": b'"text data"', "ContentType": "text/plain; charset=UTF-8"}
    start = protocol.service_model("stepfunctions").operation_model("StartExecution").input_shape
    assert _request(start, {"StateMachineArn": "arn", "Input": {"a": [1]}}, "Parameters")["input"] == '{"a":[1]}'


def test_responses_are_pascal_case_with_instants() -> None:
    shape = protocol.service_model("stepfunctions").operation_model("StartExecution").output_shape
    moment = datetime(2024, 5, 1, 12, 0, 0, 250_400, tzinfo=UTC)
    assert _render(shape, {"executionArn": "arn", "startDate": moment}) == {"ExecutionArn": "arn", "StartDate": "2024-05-01T12:00:00.250Z"}
    assert _instant(datetime(2024, 5, 1, tzinfo=UTC)) == "2024-05-01T00:00:00Z"


def test_unknown_actions_of_served_services_are_refused() -> None:
    doc = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObjects", "End": True}}}
    [found] = sdk_diagnostics(doc)
    assert found.location == "/States/T/Resource" and "arn:aws:states:::aws-sdk:s3:getObjects is not recognized" in found.message
    ok = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeInstances", "End": True}}}
    assert sdk_diagnostics(ok) == []
