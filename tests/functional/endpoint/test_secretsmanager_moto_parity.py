"""Behaviours AWS shows that a run of moto's Secrets Manager tests against the endpoint found missing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Aws = Callable[..., Any]


@pytest.fixture(scope="module")
def sm(aws: Aws) -> Any:
    return aws("secretsmanager")


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_update_secret_repeats_a_request_with_the_same_token_and_value(sm: Any) -> None:
    name, token = f"p-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    sm.create_secret(Name=name, SecretString="Hello", ClientRequestToken=token)
    assert sm.update_secret(SecretId=name, SecretString="Hello", ClientRequestToken=token)["VersionId"] == token
    assert _error(lambda: sm.update_secret(SecretId=name, SecretString="Bye", ClientRequestToken=token))[0] == "ResourceExistsException"


def test_a_bad_recovery_window_is_reported_before_the_conflict_with_force(sm: Any) -> None:
    assert _error(lambda: sm.delete_secret(SecretId="p-missing", RecoveryWindowInDays=1, ForceDeleteWithoutRecovery=True)) == (
        "InvalidParameterException",
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
    )


def test_description_filters_match_words_and_two_filters_on_one_key_both_apply(sm: Any) -> None:
    run = f"p{uuid.uuid4().hex[:6]}"
    for suffix, description in (("foo", "one two"), ("bar", "one and two"), ("baz", "one"), ("qux", "two")):
        sm.create_secret(Name=f"{run}-{suffix}", SecretString="s", Description=description)

    def names(*filters: dict[str, Any]) -> list[str]:
        listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [run]}, *filters])["SecretList"]
        return [s["Name"].removeprefix(f"{run}-") for s in listed]

    assert names({"Key": "description", "Values": ["one two"]}) == ["foo", "bar"]
    assert names({"Key": "description", "Values": ["o t"]}) == ["foo", "bar"]
    assert names({"Key": "description", "Values": ["t"]}) == ["foo", "bar", "qux"]
    assert names({"Key": "description", "Values": ["one"]}, {"Key": "description", "Values": ["two"]}) == ["foo", "bar"]


def test_a_filter_without_key_or_values_is_refused(sm: Any) -> None:
    assert _error(lambda: sm.list_secrets(Filters=[{"Values": ["foo"]}])) == ("InvalidParameterException", "Invalid filter key")
    assert _error(lambda: sm.list_secrets(Filters=[{"Key": "description"}])) == (
        "InvalidParameterException",
        "Invalid filter values for key: description",
    )
