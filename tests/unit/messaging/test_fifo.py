"""FIFO send rules: required ids, content-based deduplication, the five-minute window."""

from __future__ import annotations

import hashlib

import pytest

from sluiceway.messaging import InvalidMessageError
from sluiceway.messaging.fifo import SendIds, content_dedup_id, dedup_expires_at, resolve_send_ids


def resolve(**kwargs: object) -> SendIds:
    params: dict[str, object] = {
        "fifo": True,
        "content_based_dedup": False,
        "body": "b",
        "group_id": "g",
        "dedup_id": "d",
        "delay_s": None,
    }
    params.update(kwargs)
    return resolve_send_ids(**params)  # type: ignore[arg-type]


def code(**kwargs: object) -> str:
    with pytest.raises(InvalidMessageError) as info:
        resolve(**kwargs)
    return info.value.code


def test_content_based_dedup_id_is_the_sha256_of_the_body() -> None:
    assert content_dedup_id("hello") == hashlib.sha256(b"hello").hexdigest()
    assert resolve(dedup_id=None, content_based_dedup=True, body="hello") == SendIds(
        "g", content_dedup_id("hello")
    )


def test_an_explicit_dedup_id_wins_over_content() -> None:
    assert resolve(dedup_id="mine", content_based_dedup=True).dedup_id == "mine"


def test_fifo_needs_a_group_and_a_dedup_id() -> None:
    assert code(group_id=None) == "MissingParameter"
    assert code(dedup_id=None) == "InvalidParameterValue"


def test_fifo_refuses_a_per_message_delay_but_not_zero() -> None:
    assert code(delay_s=5) == "InvalidParameterValue"
    assert resolve(delay_s=0).group_id == "g"


def test_standard_queues_take_a_group_id_but_no_dedup_id() -> None:
    assert resolve(fifo=False, dedup_id=None) == SendIds("g", None)
    assert resolve(fifo=False, group_id=None, dedup_id=None, delay_s=10) == SendIds(None, None)
    assert code(fifo=False) == "InvalidParameterValue"


def test_ids_are_checked() -> None:
    assert code(group_id="has space") == "InvalidParameterValue"
    assert code(dedup_id="d" * 129) == "InvalidParameterValue"


def test_dedup_window_is_five_minutes() -> None:
    assert dedup_expires_at(1000.0) == 1300.0
