"""SQS over JSON names two unmodelled errors as AWS does: the query code in its header, AWS's own __type.

Real SQS answers InvalidParameterValue and MissingParameter with ``__type``
``InvalidParameterValueException`` and ``MissingRequiredParameterException`` (botocore shows them
as ``QueryErrorCode``), while ``Code`` comes from the ``x-amzn-query-error`` header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return dict(caught.value.response["Error"])


def test_invalid_parameter_value_and_missing_parameter_carry_aws_s_json_types(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="json-errors")["QueueUrl"]
    invalid = _error(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11))
    assert (invalid["Code"], invalid["QueryErrorCode"], invalid["Type"]) == (
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "Sender",
    )
    fifo = sqs.create_queue(QueueName="json-errors.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    missing = _error(lambda: sqs.send_message(QueueUrl=fifo, MessageBody="m"))
    assert (missing["Code"], missing["QueryErrorCode"]) == ("MissingParameter", "MissingRequiredParameterException")
    gone = _error(lambda: sqs.get_queue_url(QueueName="json-errors-none"))
    assert (gone["Code"], gone["QueryErrorCode"]) == ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
