"""SQS message attributes: checks, digests, selection, storage; queue attribute maps."""

from __future__ import annotations

import pytest

from sluiceway.messaging.errors import InvalidMessageError
from sluiceway.messaging.queue_attributes import parse_queue_attributes, redrive_allowed, select_queue_attributes
from sluiceway.messaging.redrive import RedrivePolicy
from sluiceway.messaging.sqs_attributes import (
    MessageAttributeValue,
    attributes_from_json,
    attributes_size,
    attributes_to_json,
    check_message_attributes,
    from_aws,
    md5_of_attributes,
    select_attributes,
)


@pytest.mark.parametrize(
    ("attributes", "digest"),
    [
        # Published vectors: aws-sdk-go-v2's and a Node client's checksum tests, moto's send test.
        ({"ordinal": MessageAttributeValue("Number", "1"), "category": "test"}, "d21ae90c49061e927f57df5f5d72be1f"),
        ({"SellerName": "Example Store"}, "cd28f3b68aeee4b2eac9c66f2f694b58"),
        ({"timestamp": MessageAttributeValue("Number", "1493147359900")}, "235c5c510d26fb653d073faed50ae77c"),
    ],
)
def test_md5_of_attributes_matches_published_vectors(attributes: dict[str, object], digest: str) -> None:
    assert md5_of_attributes(attributes) == digest  # type: ignore[arg-type]


def test_the_digest_includes_custom_types_and_binary_transport() -> None:
    plain = md5_of_attributes({"a": MessageAttributeValue("String", "x")})
    assert md5_of_attributes({"a": MessageAttributeValue("String.custom", "x")}) != plain
    assert md5_of_attributes({"a": MessageAttributeValue("Binary", binary_value=b"x")}) != md5_of_attributes(
        {"a": MessageAttributeValue("Binary", "x")}
    )


@pytest.mark.parametrize(
    "attributes",
    [
        {"n": MessageAttributeValue("Number", "twelve")},
        {"n": MessageAttributeValue("Number", "1" * 39)},
        {"t": MessageAttributeValue("Colour", "red")},
        {"t": MessageAttributeValue("", "red")},
        {"b": MessageAttributeValue("Binary")},
        {"s": MessageAttributeValue("String", "")},
        {"AWS.x": "v"},
        {f"a{i}": "v" for i in range(11)},
    ],
)
def test_attributes_sqs_refuses(attributes: dict[str, object]) -> None:
    with pytest.raises(InvalidMessageError) as info:
        check_message_attributes(attributes)  # type: ignore[arg-type]
    assert info.value.code == "InvalidParameterValue"


def test_system_attributes_take_only_a_string_trace_header() -> None:
    check_message_attributes({"AWSTraceHeader": "Root=1-abc"}, system=True)
    for bad in ({"Other": "x"}, {"AWSTraceHeader": MessageAttributeValue("Number", "1")}):
        with pytest.raises(InvalidMessageError):
            check_message_attributes(bad, system=True)  # type: ignore[arg-type]


def test_from_aws_refuses_reserved_list_values() -> None:
    with pytest.raises(InvalidMessageError):
        from_aws("x", {"DataType": "String", "StringListValues": ["a"]})
    assert from_aws("x", {"DataType": "Binary", "BinaryValue": "AAE="}).binary_value == b"\x00\x01"


def test_selection_by_all_prefix_and_name() -> None:
    attributes = {n: MessageAttributeValue("String", n) for n in ("foo.a", "foo.b", "bar", "foox")}
    assert select_attributes(attributes, ["All"]) == attributes
    assert select_attributes(attributes, [".*"]) == attributes
    assert set(select_attributes(attributes, ["foo.*"])) == {"foo.a", "foo.b"}
    assert set(select_attributes(attributes, ["bar", "none"])) == {"bar"}
    assert select_attributes(attributes, None) == {}


def test_storage_round_trip_keeps_plain_strings_plain() -> None:
    attributes = {"s": MessageAttributeValue("String", "v"), "b": MessageAttributeValue("Binary.png", binary_value=b"\x89PNG")}
    text = attributes_to_json(attributes)
    assert text is not None and '"s": "v"' in text
    assert attributes_from_json(text) == attributes
    assert attributes_from_json('{"legacy": "value"}') == {"legacy": MessageAttributeValue("String", "value")}
    assert attributes_size(attributes) == len("s") + len("String") + 1 + len("b") + len("Binary.png") + 4


def test_queue_attribute_maps_split_fields_and_settings() -> None:
    changes = parse_queue_attributes(
        {
            "VisibilityTimeout": "60",
            "Policy": "{}",
            "RedrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:r:1:dlq", "maxReceiveCount": "3"}',
        },
        fifo=False,
        create=True,
    )
    assert changes.fields == {"visibility_timeout_s": 60, "redrive_policy": RedrivePolicy("dlq", 3)}
    assert changes.settings == {"Policy": "{}"}
    for attributes, code in (
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1023"}, "InvalidAttributeValue"),
        ({"DelaySeconds": "soon"}, "InvalidAttributeValue"),
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
        ({"RedrivePolicy": "{"}, "InvalidParameterValue"),
        ({"RedriveAllowPolicy": '{"redrivePermission": "byQueue"}'}, "InvalidParameterValue"),
    ):
        with pytest.raises(InvalidMessageError) as info:
            parse_queue_attributes(attributes, fifo=False, create=True)
        assert info.value.code == code
    assert parse_queue_attributes({"FifoQueue": "true"}, fifo=True, create=True).fields == {}
    # Setting FifoQueue to what it is changes nothing (AWS accepts it); changing the queue's type is refused.
    assert parse_queue_attributes({"FifoQueue": "true"}, fifo=True, create=False).fields == {}
    with pytest.raises(InvalidMessageError) as info:
        parse_queue_attributes({"FifoQueue": "false"}, fifo=True, create=False)
    assert info.value.code == "InvalidAttributeValue"


def test_redrive_allow_policies_and_attribute_selection() -> None:
    assert redrive_allowed(None, "arn:x")
    assert not redrive_allowed('{"redrivePermission": "denyAll"}', "arn:x")
    assert redrive_allowed('{"redrivePermission": "byQueue", "sourceQueueArns": ["arn:x"]}', "arn:x")
    assert not redrive_allowed('{"redrivePermission": "byQueue", "sourceQueueArns": ["arn:y"]}', "arn:x")
    current = {"VisibilityTimeout": "30", "QueueArn": "arn"}
    assert select_queue_attributes(current, ["All"]) == current
    assert select_queue_attributes(current, ["QueueArn", "Policy"]) == {"QueueArn": "arn"}
    with pytest.raises(InvalidMessageError):
        select_queue_attributes(current, ["Nope"])
