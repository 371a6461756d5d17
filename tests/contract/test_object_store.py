"""The ObjectStore contract, on folders and on S3."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sluiceway.errors import InvalidNameError, NotFoundError, PreconditionFailedError

from .conftest import ObjectsCase

DATA = b"0123456789"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_put_then_get_returns_the_bytes(objects: ObjectsCase) -> None:
    objects.store.put(objects.bucket, "in/data.csv", b"a,b\n1,2\n")

    assert objects.store.get(objects.bucket, "in/data.csv") == b"a,b\n1,2\n"


def test_put_reports_what_head_reports(objects: ObjectsCase) -> None:
    info = objects.store.put(
        objects.bucket,
        "in/data.csv",
        DATA,
        content_type="text/csv",
        metadata={"pipeline": "sales", "run-id": "r1"},
    )
    head = objects.store.head(objects.bucket, "in/data.csv")

    for seen in (info, head):
        assert (seen.bucket, seen.key, seen.size) == (objects.bucket, "in/data.csv", len(DATA))
        assert seen.etag == md5(DATA)
        assert seen.content_type == "text/csv"
        assert dict(seen.metadata) == {"pipeline": "sales", "run-id": "r1"}
        assert seen.last_modified.tzinfo is not None


def test_put_replaces_the_previous_object(objects: ObjectsCase) -> None:
    objects.store.put(objects.bucket, "k", b"old content")
    objects.store.put(objects.bucket, "k", b"new")

    assert objects.store.get(objects.bucket, "k") == b"new"
    assert objects.store.head(objects.bucket, "k").etag == md5(b"new")


def test_empty_object_round_trips(objects: ObjectsCase) -> None:
    info = objects.store.put(objects.bucket, "empty", b"")

    assert info.size == 0
    assert objects.store.get(objects.bucket, "empty") == b""
    assert objects.store.get(objects.bucket, "empty", start=0, end=5) == b""


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 5),
        (5, None),
        (None, 3),
        (2, 3),
        (8, 100),
        (3, 3),
        (7, 2),
        (10, None),
        (100, None),
        (100, 200),
        (0, None),
    ],
)
def test_get_byte_range_is_start_inclusive_end_exclusive(
    objects: ObjectsCase, start: int | None, end: int | None
) -> None:
    objects.store.put(objects.bucket, "digits", DATA)

    assert objects.store.get(objects.bucket, "digits", start=start, end=end) == DATA[start:end]


def test_download_writes_the_whole_object(objects: ObjectsCase, tmp_path: Path) -> None:
    objects.store.put(objects.bucket, "a/b.csv", DATA)
    target = tmp_path / "out.csv"

    objects.store.download(objects.bucket, "a/b.csv", str(target))

    assert target.read_bytes() == DATA


@pytest.mark.parametrize(("start", "end"), [(2, 6), (None, 4), (6, None), (4, 4), (50, None)])
def test_download_writes_a_byte_range(
    objects: ObjectsCase, tmp_path: Path, start: int | None, end: int | None
) -> None:
    objects.store.put(objects.bucket, "digits", DATA)
    target = tmp_path / "part"

    objects.store.download(objects.bucket, "digits", str(target), start=start, end=end)

    assert target.read_bytes() == DATA[start:end]


def test_put_file_stores_the_file(objects: ObjectsCase, tmp_path: Path) -> None:
    source = tmp_path / "upload.csv"
    source.write_bytes(b"x,y\n" * 100)

    info = objects.store.put_file(
        objects.bucket, "up/upload.csv", str(source), content_type="text/csv"
    )

    assert objects.store.get(objects.bucket, "up/upload.csv") == source.read_bytes()
    assert info.size == 400
    assert info.etag == md5(source.read_bytes())
    assert info.content_type == "text/csv"


def test_put_file_stores_a_file_bigger_than_one_part(objects: ObjectsCase, tmp_path: Path) -> None:
    data = bytes(range(256)) * (6 * 1024 * 4)  # 6 MiB: two parts on S3
    source = tmp_path / "big.bin"
    source.write_bytes(data)

    info = objects.store.put_file(objects.bucket, "big.bin", str(source))

    assert info.size == len(data)
    assert objects.store.get(objects.bucket, "big.bin", start=len(data) - 3) == data[-3:]
    target = tmp_path / "back.bin"
    objects.store.download(objects.bucket, "big.bin", str(target))
    assert target.read_bytes() == data


def test_list_yields_keys_in_order_under_the_prefix(objects: ObjectsCase) -> None:
    for key in ["b/2.csv", "a/1.csv", "b/10.csv", "c.txt", "b/1.csv", "ba.csv"]:
        objects.store.put(objects.bucket, key, key.encode())

    everything = list(objects.store.list(objects.bucket))
    under_b = list(objects.store.list(objects.bucket, "b/"))

    assert [i.key for i in everything] == [
        "a/1.csv",
        "b/1.csv",
        "b/10.csv",
        "b/2.csv",
        "ba.csv",
        "c.txt",
    ]
    assert [i.key for i in under_b] == ["b/1.csv", "b/10.csv", "b/2.csv"]
    assert [(i.size, i.etag) for i in under_b] == [
        (len(k), md5(k.encode())) for k in ["b/1.csv", "b/10.csv", "b/2.csv"]
    ]
    assert all(i.bucket == objects.bucket for i in everything)


def test_list_with_an_unmatched_prefix_is_empty(objects: ObjectsCase) -> None:
    objects.store.put(objects.bucket, "a/1.csv", b"1")

    assert list(objects.store.list(objects.bucket, "z")) == []


def test_delete_removes_the_object(objects: ObjectsCase) -> None:
    objects.store.put(objects.bucket, "gone", DATA)

    objects.store.delete(objects.bucket, "gone")

    with pytest.raises(NotFoundError):
        objects.store.head(objects.bucket, "gone")
    assert list(objects.store.list(objects.bucket)) == []


def test_deleting_a_missing_key_is_not_an_error(objects: ObjectsCase) -> None:
    objects.store.delete(objects.bucket, "never-written")


def test_missing_key_is_not_found_everywhere(objects: ObjectsCase, tmp_path: Path) -> None:
    target = tmp_path / "never"
    with pytest.raises(NotFoundError):
        objects.store.get(objects.bucket, "missing")
    with pytest.raises(NotFoundError):
        objects.store.get(objects.bucket, "missing", start=1, end=4)
    with pytest.raises(NotFoundError):
        objects.store.get(objects.bucket, "missing", start=4, end=4)
    with pytest.raises(NotFoundError):
        objects.store.head(objects.bucket, "missing")
    with pytest.raises(NotFoundError):
        objects.store.download(objects.bucket, "missing", str(target))
    with pytest.raises(NotFoundError):
        objects.store.download(objects.bucket, "missing", str(target), start=0, end=2)
    assert not target.exists()


def test_missing_bucket_is_not_found(objects: ObjectsCase) -> None:
    with pytest.raises(NotFoundError):
        objects.store.get("no-such-bucket", "k")
    with pytest.raises(NotFoundError):
        objects.store.head("no-such-bucket", "k")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../escape",
        "a/../../b",
        "a/./b",
        "a\\b",
        "a//b",
        "folder/",
        "x\x00y",
        "tab\there",
        "k" * 1025,
    ],
)
def test_invalid_keys_are_refused(objects: ObjectsCase, key: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError):
        objects.store.put(objects.bucket, key, DATA)
    with pytest.raises(InvalidNameError):
        objects.store.get(objects.bucket, key)
    with pytest.raises(InvalidNameError):
        objects.store.head(objects.bucket, key)
    with pytest.raises(InvalidNameError):
        objects.store.delete(objects.bucket, key)
    with pytest.raises(InvalidNameError):
        objects.store.download(objects.bucket, key, str(tmp_path / "x"))


@pytest.mark.parametrize("bucket", ["Upper", "ab", "under_score", "-dash", "a..b", "x" * 64])
def test_invalid_buckets_are_refused(objects: ObjectsCase, bucket: str) -> None:
    with pytest.raises(InvalidNameError):
        objects.store.put(bucket, "k", DATA)
    with pytest.raises(InvalidNameError):
        objects.store.get(bucket, "k")
    with pytest.raises(InvalidNameError):
        list(objects.store.list(bucket))


def test_keys_with_unicode_and_spaces_round_trip(objects: ObjectsCase) -> None:
    key = "reports/2026 März/données €.csv"
    objects.store.put(objects.bucket, key, DATA)

    assert objects.store.get(objects.bucket, key) == DATA
    assert [i.key for i in objects.store.list(objects.bucket, "reports/")] == [key]


def test_a_read_pinned_to_an_etag_reads_that_version_or_fails(objects: ObjectsCase, tmp_path: Path) -> None:
    first = objects.store.put(objects.bucket, "in/data.csv", DATA)
    assert objects.store.get(objects.bucket, "in/data.csv", start=2, end=5, if_match=first.etag) == b"234"
    objects.store.download(objects.bucket, "in/data.csv", str(tmp_path / "whole"), if_match=f'"{first.etag}"')
    assert (tmp_path / "whole").read_bytes() == DATA

    objects.store.put(objects.bucket, "in/data.csv", b"another version")
    with pytest.raises(PreconditionFailedError):
        objects.store.get(objects.bucket, "in/data.csv", if_match=first.etag)
    with pytest.raises(PreconditionFailedError):
        objects.store.download(objects.bucket, "in/data.csv", str(tmp_path / "part"), start=0, end=4, if_match=first.etag)
    with pytest.raises(PreconditionFailedError):
        objects.store.download(objects.bucket, "in/data.csv", str(tmp_path / "all"), if_match=first.etag)
    with pytest.raises(PreconditionFailedError):
        objects.store.get(objects.bucket, "in/data.csv", start=3, end=3, if_match=first.etag)  # an empty range too


@pytest.mark.parametrize("key", ["in/" + "y" * 256 + ".csv", "\udc80.csv"])
def test_keys_a_folder_cannot_hold_are_refused_on_every_backend(objects: ObjectsCase, key: str) -> None:
    with pytest.raises(InvalidNameError):
        objects.store.put(objects.bucket, key, DATA)
