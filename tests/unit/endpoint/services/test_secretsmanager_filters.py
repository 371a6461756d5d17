"""ListSecrets' filters: prefixes, words as AWS splits them, negation, AND across filters."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.backends.local.secrets import Secret
from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.services._secretsmanager_filters import check_filters, matches


def _secret(name: str, description: str | None = None, tags: tuple[tuple[str, str], ...] | None = None) -> Secret:
    return Secret(
        id=1, region="us-east-1", name=name, arn=f"arn:{name}", description=description, kms_key_id=None, tags=tags,
        created_ms=0, changed_ms=0, accessed_day_ms=None, deleted_ms=None, purge_ms=None, rotation_lambda_arn=None,
        rotation_rules=None, rotation_enabled=None, rotated_ms=None,
    )  # fmt: skip


def _all(secret: Secret, *values: str) -> bool:
    return matches(secret, [{"Key": "all", "Values": list(values)}], "us-east-1")


@pytest.mark.parametrize("separator", "/_+=.@-")
def test_all_splits_on_one_kind_of_separator_and_before_capitals(separator: str) -> None:
    secret = _secret(f"prod{separator}AppBeta{separator}x1")
    assert _all(secret, "AppBeta") and _all(secret, "beta") and _all(secret, "prod")
    assert not _all(secret, "eta") and not _all(secret, separator)


def test_two_kinds_of_separator_make_one_word() -> None:
    secret = _secret("prod-AppBeta/x1")
    assert not _all(secret, "beta") and not _all(secret, "AppBeta") and _all(secret, "prod")


def test_capital_runs_split_as_aws_splits_them() -> None:
    assert _all(_secret("uat/COMPANY/x"), "company")
    things = _secret("uat/COMPANYthings/x")
    assert _all(things, "Ythings") and not _all(things, "things")


def test_every_word_of_a_value_must_begin_a_word_of_one_attribute() -> None:
    secret = _secret("SecretTwo", description="DescTwo")
    assert _all(secret, "d t") and not _all(secret, "d x")
    assert matches(_secret("a", description="one and two"), [{"Key": "description", "Values": ["o t"]}], "r")


def test_prefix_keys_are_case_sensitive_and_filters_combine_with_and() -> None:
    secret = _secret("Prod/db", description="one two", tags=(("team", "data"),))
    assert matches(secret, [{"Key": "name", "Values": ["Prod"]}], "r")
    assert not matches(secret, [{"Key": "name", "Values": ["prod"]}], "r")
    assert matches(secret, [{"Key": "description", "Values": ["one"]}, {"Key": "description", "Values": ["two"]}], "r")
    assert not matches(secret, [{"Key": "description", "Values": ["one"]}, {"Key": "tag-key", "Values": ["x"]}], "r")
    assert matches(secret, [{"Key": "tag-value", "Values": ["!x"]}], "r")
    assert not matches(secret, [{"Key": "tag-value", "Values": ["!da"]}], "r")


@pytest.mark.parametrize(
    ("filters", "code"),
    [
        ([{"Values": ["x"]}], "InvalidParameterException"),
        ([{"Key": "name"}], "InvalidParameterException"),
        ([{"Key": "bad", "Values": ["x"]}], "ValidationException"),
    ],
)
def test_bad_filters_are_refused(filters: list[dict[str, Any]], code: str) -> None:
    with pytest.raises(AwsError) as refused:
        check_filters(filters)
    assert refused.value.code == code
