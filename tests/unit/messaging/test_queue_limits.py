"""SQS's message and queue-name limits, as the local backend enforces them."""

from __future__ import annotations

import pytest

from sluiceway.errors import InvalidNameError
from sluiceway.messaging import InvalidMessageError, limits


@pytest.mark.parametrize("name", ["a", "orders", "Orders_DLQ-2", "x" * 80])
def test_standard_queue_names_sqs_accepts(name: str) -> None:
    limits.check_queue_name(name, fifo=False)


@pytest.mark.parametrize("name", ["", "x" * 81, "has space", "dot.ted", "orders.fifo", "ünicode"])
def test_standard_queue_names_sqs_refuses(name: str) -> None:
    with pytest.raises(InvalidNameError):
        limits.check_queue_name(name, fifo=False)


def test_fifo_queue_names_end_in_fifo_and_count_the_suffix() -> None:
    limits.check_queue_name("orders.fifo", fifo=True)
    limits.check_queue_name("x" * 75 + ".fifo", fifo=True)
    for bad in ["orders", "x" * 76 + ".fifo", ".fifo", "a.b.fifo"]:
        with pytest.raises(InvalidNameError, match="must end with .fifo"):
            limits.check_queue_name(bad, fifo=True)


def test_body_takes_xml_characters_only() -> None:
    limits.check_body("tab\there\nnew line\r emoji \U0001f600 and \ue000")
    with pytest.raises(InvalidMessageError) as info:
        limits.check_body("null \x00 byte")
    assert info.value.code == "InvalidMessageContents"
    assert "#x0" in str(info.value)
    with pytest.raises(InvalidMessageError) as info:
        limits.check_body("\ufffe")
    assert info.value.code == "InvalidMessageContents"


def test_empty_body_is_a_missing_parameter_and_non_strings_are_type_errors() -> None:
    with pytest.raises(InvalidMessageError) as info:
        limits.check_body("")
    assert info.value.code == "MissingParameter"
    assert isinstance(info.value, ValueError)
    with pytest.raises(TypeError):
        limits.check_body(b"bytes")  # type: ignore[arg-type]


def test_size_counts_utf8_body_and_attribute_names_types_and_values() -> None:
    assert limits.message_size("é", None) == 2
    assert limits.message_size("ab", {"k": "vv"}) == 2 + 1 + len("String") + 2


def test_size_limit_is_one_mebibyte() -> None:
    assert limits.check_size("x" * limits.MAX_MESSAGE_BYTES, None) == limits.MAX_MESSAGE_BYTES
    with pytest.raises(InvalidMessageError) as info:
        limits.check_size("x" * (limits.MAX_MESSAGE_BYTES + 1), None)
    assert info.value.code == "InvalidParameterValue"
    # Multi-byte characters count by their UTF-8 length.
    with pytest.raises(InvalidMessageError):
        limits.check_size("é" * (limits.MAX_MESSAGE_BYTES // 2 + 1), None)
    # Attributes count too.
    with pytest.raises(InvalidMessageError):
        limits.check_size("x" * (limits.MAX_MESSAGE_BYTES - 8), {"k": "vv"})


@pytest.mark.parametrize(
    "attributes",
    [
        {f"a{i}": "v" for i in range(11)},
        {"AWS.Trace": "v"},
        {"amazon.x": "v"},
        {".lead": "v"},
        {"trail.": "v"},
        {"two..dots": "v"},
        {"sp ace": "v"},
        {"empty": ""},
        {"bad": "\x01"},
    ],
)
def test_attributes_sqs_refuses(attributes: dict[str, str]) -> None:
    with pytest.raises(InvalidMessageError) as info:
        limits.check_attributes(attributes)
    assert info.value.code == "InvalidParameterValue"


def test_attributes_sqs_accepts() -> None:
    limits.check_attributes({f"name_{i}.x-y": "value" for i in range(10)})
    limits.check_attributes(None)
    limits.check_attributes({})


def test_ranges_refuse_out_of_range_and_non_numbers() -> None:
    limits.check_range("DelaySeconds", 900, 0, 900)
    for value in (-1, 901, True, "5"):
        with pytest.raises(ValueError, match="DelaySeconds"):
            limits.check_range("DelaySeconds", value, 0, 900)  # type: ignore[arg-type]


def test_group_and_dedup_ids_are_128_printable_ascii() -> None:
    limits.check_message_id_field("MessageGroupId", "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~aZ09")
    limits.check_message_id_field("MessageGroupId", "g" * 128)
    for bad in ("", "g" * 129, "has space", "é"):
        with pytest.raises(InvalidMessageError):
            limits.check_message_id_field("MessageGroupId", bad)
