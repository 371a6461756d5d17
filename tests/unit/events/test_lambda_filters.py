"""Lambda's event filtering for event source mappings: FilterCriteria checked and matched as Lambda does."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from sluiceway.events.lambda_filters import (
    MAX_PATTERN_LENGTH,
    FilterCriteriaError,
    Source,
    compile_filter_criteria,
)


def criteria(*patterns: Any) -> dict[str, Any]:
    return {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]}


def sqs(body: str, **extra: Any) -> dict[str, Any]:
    """An SQS record as Lambda sends it."""
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-west-2:123456789012:my-queue",
        "awsRegion": "us-west-2",
        **extra,
    }


def keeps(source: Source, record: dict[str, Any], *patterns: Any) -> bool:
    return compile_filter_criteria(criteria(*patterns), source=source).matches(record)


def refusal(value: Any, *, source: Source = "sqs", max_filters: int = 5) -> FilterCriteriaError:
    with pytest.raises(FilterCriteriaError) as info:
        compile_filter_criteria(value, source=source, max_filters=max_filters)
    return info.value


# -- SQS bodies ------------------------------------------------------------------------------


def test_a_json_body_is_matched_on_its_fields() -> None:
    record = sqs(json.dumps({"RecordNumber": 1234, "RequestCode": "AAAA"}))
    assert keeps("sqs", record, {"body": {"RequestCode": ["AAAA"]}})
    assert not keeps("sqs", record, {"body": {"RequestCode": ["BBBB"]}})
    assert keeps("sqs", record, {"body": {"RecordNumber": [{"numeric": [">", 999]}]}})
    assert not keeps("sqs", record, {"body": {"RecordNumber": [{"numeric": [">", 9999]}]}})


def test_a_plain_body_is_matched_as_a_string() -> None:
    record = sqs("Result: all good")
    assert keeps("sqs", record, {"body": [{"prefix": "Result: "}]})
    assert keeps("sqs", record, {"body": ["Result: all good"]})
    assert not keeps("sqs", record, {"body": [{"prefix": "Error"}]})


def test_a_rule_on_body_fields_never_keeps_a_plain_body() -> None:
    # Even a rule a plain body would satisfy by the letter (the field is indeed absent).
    record = sqs("not json at all")
    assert not keeps("sqs", record, {"body": {"RequestCode": ["AAAA"]}})
    assert not keeps("sqs", record, {"body": {"RequestCode": [{"exists": False}]}})


def test_a_plain_string_rule_never_keeps_a_json_body() -> None:
    assert not keeps("sqs", sqs('{"a": 1}'), {"body": [{"exists": False}]})
    assert not keeps("sqs", sqs('{"a": 1}'), {"body": [{"anything-but": "x"}]})
    # A JSON scalar is JSON too: its text is not matched as a plain string.
    assert not keeps("sqs", sqs("123"), {"body": ["123"]})
    assert keeps("sqs", sqs("123abc"), {"body": ["123abc"]})


def test_json_is_read_strictly() -> None:
    # Python's reader alone takes NaN; a JSON reader does not, so the body stays a plain string.
    assert keeps("sqs", sqs("NaN"), {"body": ["NaN"]})
    assert keeps("sqs", sqs('{"a": NaN}'), {"body": [{"prefix": "{"}]})


def test_a_pattern_without_body_matches_the_records_own_keys_whatever_the_body() -> None:
    for body in ("plain", '{"a": 1}'):
        assert keeps("sqs", sqs(body), {"eventSource": ["aws:sqs"]})
        assert keeps("sqs", sqs(body), {"attributes": {"ApproximateReceiveCount": ["1"]}})
        assert not keeps("sqs", sqs(body), {"awsRegion": ["eu-west-1"]})


def test_every_field_named_must_be_there() -> None:
    record = sqs(json.dumps({"a": 1}))
    assert not keeps("sqs", record, {"body": {"a": [1], "b": [2]}})
    assert keeps("sqs", record, {"body": {"a": [1]}, "eventSource": ["aws:sqs"]})


def test_filters_are_ored() -> None:
    record = sqs(json.dumps({"kind": "b"}))
    assert keeps("sqs", record, {"body": {"kind": ["a"]}}, {"body": {"kind": ["b"]}})
    assert not keeps("sqs", record, {"body": {"kind": ["a"]}}, {"body": {"kind": ["c"]}})
    # One filter of the wrong kind for this body does not stop another from keeping it.
    assert keeps("sqs", sqs("plain"), {"body": {"kind": ["a"]}}, {"body": ["plain"]})


def test_or_inside_a_pattern_and_array_flattening_work_as_in_eventbridge() -> None:
    record = sqs(json.dumps({"items": [{"sku": "x", "n": 1}, {"sku": "y", "n": 2}]}))
    assert keeps("sqs", record, {"body": {"items": {"sku": ["y"], "n": [2]}}})
    assert not keeps("sqs", record, {"body": {"items": {"sku": ["y"], "n": [1]}}})  # not the same element
    assert keeps("sqs", record, {"$or": [{"body": {"items": {"sku": ["z"]}}}, {"eventSource": ["aws:sqs"]}]})


def test_no_filters_keep_everything() -> None:
    for value in (None, {}, {"Filters": []}):
        compiled = compile_filter_criteria(value, source="sqs")
        assert compiled.matches(sqs("anything")) and compiled.patterns == ()
        assert compiled.to_aws() == {"Filters": []}


def test_the_patterns_are_reported_as_given() -> None:
    text = '{ "body" : { "RequestCode" : [ "BBBB" ] } }'
    compiled = compile_filter_criteria({"Filters": [{"Pattern": text}]}, source="sqs")
    assert compiled.to_aws() == {"Filters": [{"Pattern": text}]}


# -- streams ---------------------------------------------------------------------------------


def kinesis(data: bytes, partition_key: str = "1") -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventName": "aws:kinesis:record",
    }


def test_kinesis_data_is_decoded_and_the_kinesis_keys_are_the_metadata() -> None:
    record = kinesis(json.dumps({"City": "Seattle", "Temperature": 55}).encode(), partition_key="1")
    pattern = {"partitionKey": ["1"], "data": {"Temperature": [{"numeric": [">", 50, "<=", 60]}]}}
    assert keeps("kinesis", record, pattern)
    assert keeps("kinesis", record["kinesis"], pattern)
    assert not keeps("kinesis", kinesis(json.dumps({"Temperature": 61}).encode()), pattern)
    assert not keeps("kinesis", record, {"partitionKey": ["2"]})


def test_kinesis_data_that_is_not_json_is_dropped_by_data_rules_only() -> None:
    record = kinesis(b"\xff\xfe not utf-8")
    assert not keeps("kinesis", record, {"data": {"a": [{"exists": False}]}})
    assert keeps("kinesis", record, {"partitionKey": ["1"]})
    assert not keeps("kinesis", kinesis(b"plain text"), {"data": {"a": [{"exists": False}]}})


def test_dynamodb_records_are_matched_whole() -> None:
    record = {
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"Id": {"N": "101"}},
            "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    assert keeps("dynamodb", record, {"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}})
    assert keeps("dynamodb", record, {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"Message": {"S": [{"prefix": "New"}]}}}})
    assert not keeps("dynamodb", record, {"eventName": ["REMOVE"]})


@pytest.mark.parametrize(("source", "key"), [("kinesis", "data"), ("dynamodb", "dynamodb")])
def test_a_stream_data_rule_must_be_an_object(source: Source, key: str) -> None:
    error = refusal(criteria({key: ["x"]}), source=source)
    assert (error.code, error.message) == ("InvalidParameterValueException", "Invalid filter pattern definition.")


# -- what Lambda refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "not json",
        "[]",
        '{"body": "BBBB"}',  # a rule must be an array or an object
        '{"body": []}',
        '{"body": {"a": [{"prefix": 5}]}}',
        '{"body": {"a": [{"unknown-operator": "x"}]}}',
        "",
        "   ",
    ],
)
def test_a_pattern_lambda_cannot_read_is_refused(pattern: str) -> None:
    error = refusal({"Filters": [{"Pattern": pattern}]})
    assert (error.code, error.message) == ("InvalidParameterValueException", "Invalid filter pattern definition.")
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("filters", [[{}], [{"Pattern": None}], [{"Pattern": 5}], ["{}"], "abc", {"Pattern": "{}"}])
def test_malformed_filters_are_refused(filters: Any) -> None:
    assert refusal({"Filters": filters}).code == "InvalidParameterValueException"
    assert refusal("not an object").code == "InvalidParameterValueException"


def test_five_filters_by_default_and_the_quota_can_be_raised() -> None:
    six = criteria(*({"body": {"n": [n]}} for n in range(6)))
    error = refusal(six)
    assert error.code == "InvalidParameterValueException" and "5" in error.message
    assert compile_filter_criteria(six, source="sqs", max_filters=10).patterns
    assert len(compile_filter_criteria(criteria(*({"n": [n]} for n in range(5))), source="sqs").patterns) == 5


def test_a_pattern_longer_than_4096_characters_fails_the_apis_length_check() -> None:
    padding = " " * (MAX_PATTERN_LENGTH - len('{"body":["x"]}'))
    assert compile_filter_criteria(criteria('{"body":["x"]}' + padding), source="sqs").patterns
    error = refusal(criteria('{"body":["x"]}' + padding + " "))
    assert error.code == "ValidationException"
    assert error.message.endswith(
        "at 'filterCriteria.filters.1.member.pattern' failed to satisfy constraint: Member must have length less than or equal to 4096"
    )
