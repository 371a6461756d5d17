"""S3 multipart uploads through the endpoint: boto3's upload_file, the low-level calls, and S3's errors."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from sluiceway.runtime.stack import Stack

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


def error_of(call: Callable[[], Any]) -> tuple[str, int, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def created_events(stack: Stack, bucket: str, key: str) -> list[dict[str, Any]]:
    since = datetime.now(UTC) - timedelta(hours=1)
    return [
        e.event
        for e in stack.bus.archived(since)
        if e.event.get("detail-type") == "Object Created"
        and e.event["detail"]["bucket"]["name"] == bucket
        and e.event["detail"]["object"]["key"] == key
    ]


def test_upload_file_in_parts_makes_one_object_and_one_event(s3: Any, stack: Stack, tmp_path: Path) -> None:
    bucket = stack.settings.output_bucket  # a bucket the stack made: EventBridge is on for it
    data = hashlib.sha256(b"part").digest() * (11 * MIB // 32 + 5)
    source = tmp_path / "eleven.bin"
    source.write_bytes(data)
    s3.upload_file(str(source), bucket, "mp/eleven.bin", Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
    head = s3.head_object(Bucket=bucket, Key="mp/eleven.bin")
    assert head["ContentLength"] == len(data)
    parts = [data[i : i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f"-{len(parts)}"
    assert head["ETag"] == f'"{expected}"'
    assert s3.get_object(Bucket=bucket, Key="mp/eleven.bin")["Body"].read() == data
    [event] = created_events(stack, bucket, "mp/eleven.bin")
    assert event["detail"]["reason"] == "CompleteMultipartUpload"
    assert event["detail"]["object"]["size"] == len(data)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.fixture
def upload(s3: Any) -> tuple[str, str, str]:
    s3.create_bucket(Bucket="parts")
    created = s3.create_multipart_upload(Bucket="parts", Key="low/level.bin", ContentType="text/plain", Metadata={"m": "1"})
    return "parts", "low/level.bin", created["UploadId"]


def test_the_low_level_calls(s3: Any, upload: tuple[str, str, str]) -> None:
    bucket, key, upload_id = upload
    first = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"a" * (5 * MIB))
    second = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=b"tail")
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [(1, 5 * MIB, first["ETag"]), (2, 4, second["ETag"])]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(key, upload_id)]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]},
    )
    assert done["ETag"].endswith('-2"')
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"a" * (5 * MIB) + b"tail"
    assert (got["ContentType"], got["Metadata"]) == ("text/plain", {"m": "1"})
    code, status, _ = error_of(lambda: s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id))
    assert (code, status) == ("NoSuchUpload", 404)


def test_upload_part_copy(s3: Any, upload: tuple[str, str, str]) -> None:
    bucket, key, upload_id = upload
    s3.put_object(Bucket=bucket, Key="source.bin", Body=b"0123456789")
    copied = s3.upload_part_copy(
        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, CopySource=f"{bucket}/source.bin", CopySourceRange="bytes=2-5"
    )
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]}
    )
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"2345"


def test_small_parts_wrong_parts_and_wrong_order_are_refused(s3: Any, upload: tuple[str, str, str]) -> None:
    bucket, key, upload_id = upload
    one = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    two = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=b"last")["ETag"]

    def complete(parts: list[dict[str, Any]]) -> Any:
        return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})

    code, status, error = error_of(lambda: complete([{"PartNumber": 1, "ETag": one}, {"PartNumber": 2, "ETag": two}]))
    assert (code, status, error["MinSizeAllowed"]) == ("EntityTooSmall", 400, str(5 * MIB))
    code, _, _ = error_of(lambda: complete([{"PartNumber": 2, "ETag": two}, {"PartNumber": 1, "ETag": one}]))
    assert code == "InvalidPartOrder"
    code, _, _ = error_of(lambda: complete([{"PartNumber": 3, "ETag": two}]))
    assert code == "InvalidPart"
    code, _, _ = error_of(lambda: complete([{"PartNumber": 2, "ETag": one}]))
    assert code == "InvalidPart"
    assert complete([{"PartNumber": 2, "ETag": two}])  # a lone last part may be small
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"last"


def test_abort_and_unknown_uploads(s3: Any, upload: tuple[str, str, str]) -> None:
    bucket, key, upload_id = upload
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    code, status, error = error_of(lambda: s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=b"x"))
    assert (code, status, error["UploadId"]) == ("NoSuchUpload", 404, upload_id)
    code, _, _ = error_of(lambda: s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId="../../etc"))
    assert code == "NoSuchUpload"
    code, _, _ = error_of(lambda: s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=10001, Body=b"x"))
    assert code in ("InvalidArgument", "NoSuchUpload")


def test_uploads_stay_at_start_up_and_only_dead_writers_temporary_files_go(s3: Any, stack: Stack) -> None:
    bucket = stack.settings.input_bucket
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="left.bin")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="left.bin", UploadId=upload_id, PartNumber=1, Body=b"x")["ETag"]
    folder = stack.local.files.bucket_path(bucket) / ".sluiceway" / "uploads" / upload_id
    (folder / ".00002.part.deadbeef.tmp").write_bytes(b"half a part: its writer died")
    assert stack.local.files.clear_staging(bucket) == 1  # what a stack start does
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    parts = s3.list_parts(Bucket=bucket, Key="left.bin", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, etag)]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="left.bin", UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )
    assert s3.get_object(Bucket=bucket, Key="left.bin")["Body"].read() == b"x"


def test_a_multipart_object_is_read_part_by_part(s3: Any, upload: tuple[str, str, str]) -> None:
    bucket, key, upload_id = upload
    sizes = [5 * MIB + 3, 5 * MIB, 7]
    etags = [
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=bytes([96 + n]) * size)["ETag"]
        for n, size in enumerate(sizes, 1)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]},
    )
    total = sum(sizes)
    head = s3.head_object(Bucket=bucket, Key=key, PartNumber=2)
    second = f"bytes {sizes[0]}-{sizes[0] + 5 * MIB - 1}/{total}"
    assert (head["ContentLength"], head["ContentRange"], head["PartsCount"]) == (5 * MIB, second, 3)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    got = s3.get_object(Bucket=bucket, Key=key, PartNumber=3)
    assert (got["ContentLength"], got["ContentRange"], got["PartsCount"]) == (7, f"bytes {total - 7}-{total - 1}/{total}", 3)
    assert got["Body"].read() == b"c" * 7
    assert "PartsCount" not in s3.head_object(Bucket=bucket, Key=key)  # only with a part number, as S3 does
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key=key, PartNumber=4))
    assert (code, status, error["ActualPartCount"]) == ("InvalidPartNumber", 416, "3")
    # A copy is one piece: its parts are not the source's.
    s3.copy_object(Bucket=bucket, Key="copied.bin", CopySource=f"{bucket}/{key}")
    assert s3.head_object(Bucket=bucket, Key="copied.bin", PartNumber=1)["ContentLength"] == total


def test_completing_on_a_condition(s3: Any, upload: tuple[str, str, str]) -> None:
    bucket, key, upload_id = upload
    s3.put_object(Bucket=bucket, Key=key, Body=b"already here")
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"new")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    code, status, error = error_of(
        lambda: s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=parts, IfNoneMatch="*")
    )
    assert (code, status, error["Condition"]) == ("PreconditionFailed", 412, "If-None-Match")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"already here"
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]] == [1]
    current = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=parts, IfMatch=current)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"new"


def _two_parts(s3: Any, bucket: str, key: str) -> tuple[str, dict[str, Any]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"a" * (5 * MIB))["ETag"]
    second = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=2, Body=b"b")["ETag"]
    return upload_id, {"Parts": [{"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": second}]}


def test_a_retried_completion_answers_the_same_and_writes_nothing_again(s3: Any, stack: Stack) -> None:
    bucket = stack.settings.output_bucket  # EventBridge is on for it: each write is an event
    upload_id, parts = _two_parts(s3, bucket, "mp/retried.bin")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp/retried.bin", UploadId=upload_id, MultipartUpload=parts)
    # The client's retry (its connection dropped before the answer): S3 answers with the same result.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="mp/retried.bin", UploadId=upload_id, MultipartUpload=parts)
    assert (again["ETag"], again["Key"]) == (done["ETag"], "mp/retried.bin")
    assert len(created_events(stack, bucket, "mp/retried.bin")) == 1
    # Completed: nothing else finds the upload.
    assert upload_id not in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    code, status, _ = error_of(lambda: s3.list_parts(Bucket=bucket, Key="mp/retried.bin", UploadId=upload_id))
    assert (code, status) == ("NoSuchUpload", 404)
    code, _, _ = error_of(lambda: s3.upload_part(Bucket=bucket, Key="mp/retried.bin", UploadId=upload_id, PartNumber=3, Body=b"c"))
    assert code == "NoSuchUpload"
    code, _, _ = error_of(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="mp/retried.bin", UploadId=upload_id))
    assert code == "NoSuchUpload"


def test_two_completions_of_one_upload_at_once_write_it_once(s3: Any, stack: Stack) -> None:
    bucket = stack.settings.output_bucket
    upload_id, parts = _two_parts(s3, bucket, "mp/twice.bin")
    start = threading.Barrier(2)
    answers: list[str] = []

    def complete() -> None:
        start.wait()
        try:
            answers.append(
                s3.complete_multipart_upload(Bucket=bucket, Key="mp/twice.bin", UploadId=upload_id, MultipartUpload=parts)["ETag"]
            )
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Whichever waited for the other answers with the other's result.
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0].endswith('-2"'), answers
    assert len(created_events(stack, bucket, "mp/twice.bin")) == 1
    assert s3.get_object(Bucket=bucket, Key="mp/twice.bin")["Body"].read() == b"a" * (5 * MIB) + b"b"
