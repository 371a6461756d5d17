"""Batch requests: what fails the whole request, and the per-entry result shape."""

from __future__ import annotations

import pytest

from sluiceway.messaging import (
    BatchFailure,
    BatchResult,
    BatchSuccess,
    InvalidMessageError,
    check_batch,
)


def batch_code(ids: list[str]) -> str:
    with pytest.raises(InvalidMessageError) as info:
        check_batch(ids)
    return info.value.code


def test_accepts_one_to_ten_distinct_ids() -> None:
    check_batch(["a"])
    check_batch([f"id-{i}_x" for i in range(10)])
    check_batch(["x" * 80])


def test_refuses_what_sqs_refuses() -> None:
    assert batch_code([]) == "EmptyBatchRequest"
    assert batch_code([str(i) for i in range(11)]) == "TooManyEntriesInBatchRequest"
    assert batch_code(["a", "b", "a"]) == "BatchEntryIdsNotDistinct"
    assert batch_code(["has space"]) == "InvalidBatchEntryId"
    assert batch_code(["x" * 81]) == "InvalidBatchEntryId"


def test_result_in_sqs_shape() -> None:
    result = BatchResult(
        successful=(BatchSuccess("a", "m-1", "00000000000000000001"), BatchSuccess("b")),
        failed=(BatchFailure("c", "ReceiptHandleIsInvalid", "bad receipt"),),
    )
    assert result.to_aws() == {
        "Successful": [
            {"Id": "a", "MessageId": "m-1", "SequenceNumber": "00000000000000000001"},
            {"Id": "b"},
        ],
        "Failed": [
            {
                "Id": "c",
                "SenderFault": True,
                "Code": "ReceiptHandleIsInvalid",
                "Message": "bad receipt",
            }
        ],
    }
