"""Names from outside never reach the filesystem unchecked."""

from __future__ import annotations

import pytest

from sluiceway.errors import InvalidNameError
from sluiceway.names import check_bucket, check_key, check_name, name_from


@pytest.mark.parametrize(
    "key",
    ["data.csv", "incoming/2024/01/sales.csv", "a b/ü €.csv", "/".join(["x" * 255] * 3), "dir/.hidden", "weird'name\"$.csv"],
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
        ("csi\x9b31m.csv", "control"),
        ("a//b", "empty path segment"),
        ("folder/", "ends with '/'"),
        ("x/" * 512 + "x", "longer than"),
        (".sluiceway/meta/x", "reserved"),
        # S3 allows these; a folder cannot hold them, so no backend takes them (never an OS error).
        ("a/" + "y" * 300 + ".csv", "at most 255 bytes"),
        ("\udc80.csv", "not valid UTF-8"),
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
    # Step Functions names: any character but a few, Unicode letters included.
    for good in ("run-2024_01.x", "Müller.csv-0a1b", "销售-1", "a@b+c=d!'()", "x" * 80):
        assert check_name(good) == good
    for bad in ("", "has space", "slash/no", "colon:no", "tab\tno", "x" * 81, "a[b]", "q?", "50%", "bell\x07", "c1\x85"):
        with pytest.raises(InvalidNameError):
            check_name(bad)


@pytest.mark.parametrize(
    "key", ["Müller.csv", "销售.csv", "données.csv", "e\u0301te\u0301.csv", "a b:c;d.csv", "😀.csv", "\udc80x.csv", "...", ""]
)
def test_a_valid_name_is_made_from_any_key(key: str) -> None:
    name = name_from(key) + "-0123456789abcdef"
    assert check_name(name) == name
    assert len(name) <= 80
