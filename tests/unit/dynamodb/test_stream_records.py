"""Stream records: which change writes one, what each view type keeps, and the two shapes readers see."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluiceway.backends.local.dynamodb.stream_records import (
    api_record,
    change_name,
    lambda_record,
    parse_sequence,
    record_body,
    sequence_text,
)

KEY = {"pk": {"S": "a"}, "sk": {"N": "1"}}
OLD = {**KEY, "v": {"N": "1"}, "blob": {"B": b"\x00\xff"}}
NEW = {**KEY, "v": {"N": "2"}, "tags": {"SS": ["x", "y"]}}


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        (None, NEW, "INSERT"),
        (OLD, NEW, "MODIFY"),
        (OLD, None, "REMOVE"),
        (None, None, None),
        (OLD, dict(OLD), None),
        # Equal by DynamoDB's rules: numbers by value, sets in any order.
        ({**KEY, "n": {"N": "1.50"}, "s": {"SS": ["b", "a"]}}, {**KEY, "n": {"N": "1.5"}, "s": {"SS": ["a", "b"]}}, None),
        ({**KEY, "n": {"N": "1"}}, {**KEY, "n": {"S": "1"}}, "MODIFY"),
    ],
)
def test_change_names(old: dict | None, new: dict | None, name: str | None) -> None:
    assert change_name(old, new) == name


@pytest.mark.parametrize(
    ("view_type", "old", "new", "images"),
    [
        ("KEYS_ONLY", OLD, NEW, set()),
        ("NEW_IMAGE", OLD, NEW, {"NewImage"}),
        ("OLD_IMAGE", OLD, NEW, {"OldImage"}),
        ("NEW_AND_OLD_IMAGES", OLD, NEW, {"NewImage", "OldImage"}),
        ("NEW_AND_OLD_IMAGES", None, NEW, {"NewImage"}),
        ("NEW_AND_OLD_IMAGES", OLD, None, {"OldImage"}),
        ("NEW_IMAGE", OLD, None, set()),
        ("OLD_IMAGE", None, NEW, set()),
    ],
)
def test_each_view_type_keeps_its_images(view_type: str, old: dict | None, new: dict | None, images: set[str]) -> None:
    name = change_name(old, new)
    assert name is not None
    body = record_body(event_id="e" * 32, event_name=name, key_names=("pk", "sk"), old=old, new=new, view_type=view_type)
    record = api_record(body, sequence=7, created=1_700_000_000.9, region="eu-west-1")
    stream = record["dynamodb"]
    assert stream["Keys"] == KEY
    assert {m for m in ("NewImage", "OldImage") if m in stream} == images
    if "NewImage" in images:
        assert stream["NewImage"] == new
    if "OldImage" in images:
        assert stream["OldImage"] == old  # binary values come back as bytes
    assert stream["StreamViewType"] == view_type
    assert stream["SequenceNumber"] == "000000000000000000007"
    assert stream["ApproximateCreationDateTime"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # rounded down
    assert record["eventName"] == name and record["eventVersion"] == "1.1" and record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-west-1" and record["eventID"] == "e" * 32
    assert "userIdentity" not in record


def test_size_counts_the_key_and_the_images_kept() -> None:
    keys_only = record_body(event_id="e", event_name="MODIFY", key_names=("pk", "sk"), old=OLD, new=NEW, view_type="KEYS_ONLY")
    both = record_body(event_id="e", event_name="MODIFY", key_names=("pk", "sk"), old=OLD, new=NEW, view_type="NEW_AND_OLD_IMAGES")
    assert keys_only["SizeBytes"] == len("pk") + 1 + len("sk") + 2  # "a" is 1 byte, the number 1 is 2
    assert both["SizeBytes"] > keys_only["SizeBytes"]


def test_lambdas_record_is_json_with_epoch_seconds_base64_binaries_and_the_source_arn() -> None:
    body = record_body(event_id="e", event_name="REMOVE", key_names=("pk", "sk"), old=OLD, new=None, view_type="OLD_IMAGE", by_ttl=True)
    arn = "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2024-01-01T00:00:00.000"
    record = lambda_record(body, sequence=12, created=1_700_000_000.9, region="us-east-1", stream_arn=arn)
    assert record["eventSourceARN"] == arn
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1_700_000_000
    assert record["dynamodb"]["OldImage"]["blob"] == {"B": "AP8="}
    assert record["dynamodb"]["SequenceNumber"] == "000000000000000000012"
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert api_record(body, sequence=12, created=0, region="us-east-1")["userIdentity"] == {
        "PrincipalId": "dynamodb.amazonaws.com",
        "Type": "Service",
    }


def test_sequence_numbers_are_21_to_40_digits() -> None:
    assert parse_sequence(sequence_text(5)) == 5
    assert parse_sequence("1" * 40) == int("1" * 40)
    for bad in ("5", "1" * 41, "00000000000000000000x", None, 5, "٣" * 21):
        assert parse_sequence(bad) is None


def test_an_unknown_view_type_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        record_body(event_id="e", event_name="INSERT", key_names=("pk",), old=None, new=NEW, view_type="ALL")
