"""Names from outside never reach the filesystem unchecked."""

from __future__ import annotations

import pytest

from sluiceway.errors import InvalidNameError
from sluiceway.names import check_bucket, check_key, check_name


@pytest.mark.parametrize(
    "key",
    ["data.csv", "incoming/2024/01/sales.csv", "a b/ü €.csv", "x" * 1000, "dir/.hidden", "weird'name\"$.csv"],
)
def test_ordinary_keys_pass(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("../etc/passwd", "'..'"),
        ("a/../../b", "'..'"),
        ("./a", "'.'"),
        ("/abs/path.csv", "absolute"),
        ("a\\..\\b", "backslash"),
        ("a\x00b", "control"),
        ("line\nbreak", "control"),
        ("del\x7f", "control"),
        ("a//b", "empty path segment"),
        ("folder/", "ends with '/'"),
        ("x" * 1025, "longer than"),
        (".sluiceway/meta/x", "reserved"),
    ],
)
def test_dangerous_keys_are_refused_with_a_reason(key: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        check_key(key)
    assert reason in str(caught.value)


@pytest.mark.parametrize("bucket", ["ab", "UPPER", "-lead", "trail-", "a..b", "a/b", "x" * 64, "has_underscore"])
def test_bad_buckets(bucket: str) -> None:
    with pytest.raises(InvalidNameError):
        check_bucket(bucket)


def test_good_bucket_and_names() -> None:
    assert check_bucket("sluiceway-input.v2") == "sluiceway-input.v2"
    assert check_name("run-2024_01:x") == "run-2024_01:x"
    for bad in ("", "has space", "slash/no", "x" * 81):
        with pytest.raises(InvalidNameError):
            check_name(bad)
