"""What only the AWS adapters do: error translation, batching, name resolution, wiring.

The shared behaviour is in the per-port contract suites; these tests pin the
AWS-side details those suites cannot see (request shapes, retries' inputs,
what boto3 raises).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from sluiceway.backends.aws import build, build_event_publisher
from sluiceway.backends.aws._errors import translate, translated
from sluiceway.backends.aws.events import EventBridgePublisher, to_entry
from sluiceway.backends.aws.objects import S3ObjectStore
from sluiceway.backends.aws.tables import DynamoTable, from_dynamo, to_dynamo
from sluiceway.backends.aws.topics import SnsTopic
from sluiceway.errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    InvalidNameError,
    NotFoundError,
    PreconditionFailedError,
)
from sluiceway.settings import Settings

from .conftest import BUCKET, REGION, Moto


def client_error(code: str, status: int = 400, message: str = "boom") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "SomeOperation",
    )


# ------------------------------------------------------------------ translation


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, NotFoundError),
        ("NoSuchBucket", 404, NotFoundError),
        ("404", 404, NotFoundError),
        ("ResourceNotFoundException", 400, NotFoundError),
        ("NotFound", 404, NotFoundError),
        ("ConditionalCheckFailedException", 400, ConflictError),
        ("PreconditionFailed", 412, PreconditionFailedError),
        ("ThrottlingException", 400, BackendUnavailableError),
        ("ProvisionedThroughputExceededException", 400, BackendUnavailableError),
        ("SlowDown", 503, BackendUnavailableError),
        ("InternalError", 500, BackendUnavailableError),
        ("SomethingNew", 502, BackendUnavailableError),
        ("TooManyRequests", 429, BackendUnavailableError),
        ("InvalidBucketName", 400, InvalidNameError),
        ("AccessDenied", 403, BackendError),
        ("ValidationException", 400, BackendError),
    ],
)
def test_client_errors_become_ours(code: str, status: int, expected: type[Exception]) -> None:
    error = translate(client_error(code, status), "doing it")

    assert type(error) is expected
    assert code in str(error) and "doing it" in str(error)


def test_translated_raises_from_the_original() -> None:
    original = client_error("ConditionalCheckFailedException")

    with pytest.raises(ConflictError) as caught, translated("put item"):
        raise original

    assert caught.value.__cause__ is original


def test_connection_errors_are_unavailable_and_bad_parameters_are_value_errors() -> None:
    unreachable = translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "get")
    bad = translate(ParamValidationError(report="Invalid type for parameter Message"), "publish")

    assert isinstance(unreachable, BackendUnavailableError)
    assert isinstance(bad, ValueError)


def test_a_refused_connection_is_backend_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2),
    )
    try:
        with pytest.raises(BackendUnavailableError):
            S3ObjectStore(s3).get(BUCKET, "k")
    finally:
        s3.close()


# ------------------------------------------------------------------------- S3


@pytest.fixture
def s3_case(moto: Moto) -> tuple[Any, S3ObjectStore]:
    s3 = moto.client("s3", s3={"addressing_style": "path"})
    s3.create_bucket(Bucket=BUCKET)
    return s3, S3ObjectStore(s3, list_page_size=2)


def test_conditional_put_keeps_the_dynamodb_error_as_cause(moto: Moto) -> None:
    dynamodb = moto.client("dynamodb")
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "ExecutionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ExecutionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = DynamoTable("t", dynamodb)
    table.put({"ExecutionId": "e"})

    with pytest.raises(ConflictError) as caught:
        table.put({"ExecutionId": "e"}, if_absent=True)

    assert isinstance(caught.value.__cause__, ClientError)


def test_missing_table_is_not_found(moto: Moto) -> None:
    with pytest.raises(NotFoundError):
        DynamoTable("absent", moto.client("dynamodb")).get({"ExecutionId": "e"})


def test_upload_to_a_missing_bucket_is_not_found(
    s3_case: tuple[Any, S3ObjectStore], tmp_path: Path
) -> None:
    _, store = s3_case
    source = tmp_path / "f"
    source.write_bytes(b"x")

    with pytest.raises(NotFoundError):
        store.put_file("no-such-bucket", "k", str(source))


def test_big_uploads_are_multipart(moto: Moto, tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    s3 = moto.client("s3", s3={"addressing_style": "path"})
    s3.create_bucket(Bucket=BUCKET)
    part = 5 * 1024 * 1024
    store = S3ObjectStore(
        s3, transfer_config=TransferConfig(multipart_threshold=part, multipart_chunksize=part)
    )
    source = tmp_path / "big"
    source.write_bytes(b"z" * (part + 1))

    info = store.put_file(BUCKET, "big", str(source))

    assert info.etag.endswith("-2")
    assert '"' not in info.etag


def test_listing_skips_keys_no_other_method_could_address(
    s3_case: tuple[Any, S3ObjectStore],
) -> None:
    s3, store = s3_case
    for key in ["folder/", "a//b", "ok/1", "ok/2", "ok/3"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    assert [i.key for i in store.list(BUCKET)] == ["ok/1", "ok/2", "ok/3"]


def test_listing_a_missing_bucket_is_not_found(s3_case: tuple[Any, S3ObjectStore]) -> None:
    _, store = s3_case

    with pytest.raises(NotFoundError):
        list(store.list("no-such-bucket"))


def test_ranges_are_sent_as_http_ranges(s3_case: tuple[Any, S3ObjectStore]) -> None:
    s3, store = s3_case
    sent: list[bytes | None] = []
    s3.meta.events.register(
        "before-send.s3.GetObject", lambda request, **_: sent.append(request.headers.get("Range"))
    )
    store.put(BUCKET, "k", b"0123456789")

    store.get(BUCKET, "k", start=2, end=5)
    store.get(BUCKET, "k", start=4)
    store.get(BUCKET, "k", end=3)
    store.get(BUCKET, "k")

    assert sent == [b"bytes=2-4", b"bytes=4-", b"bytes=0-2", None]


# ---------------------------------------------------------------------- tables


@pytest.mark.parametrize(
    ("value", "attribute"),
    [
        (0.1, {"N": "0.1"}),
        (3, {"N": "3"}),
        (True, {"BOOL": True}),
        (None, {"NULL": True}),
        ("", {"S": ""}),
        ([1.5, "a"], {"L": [{"N": "1.5"}, {"S": "a"}]}),
        ({"x": {"y": 2.25}}, {"M": {"x": {"M": {"y": {"N": "2.25"}}}}}),
    ],
)
def test_values_convert_to_dynamodb_and_back(value: Any, attribute: Mapping[str, Any]) -> None:
    assert to_dynamo(value) == attribute
    assert from_dynamo(attribute) == value


def test_numbers_dynamodb_cannot_hold_are_refused() -> None:
    for bad in (float("nan"), float("inf"), 10**40 + 1):
        with pytest.raises(ValueError):
            to_dynamo(bad)


def test_items_written_by_other_programs_read_as_json() -> None:
    assert from_dynamo({"NS": ["2.5", "1"]}) == [1, 2.5]
    assert from_dynamo({"SS": ["b", "a"]}) == ["a", "b"]
    assert from_dynamo({"B": b"bytes"}) == "bytes"


# ---------------------------------------------------------------------- topics


class FakeSns:
    """Records SNS calls; CreateTopic answers like SNS (the same ARN for the same name)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_topic(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("create_topic", kwargs))
        return {"TopicArn": f"arn:aws:sns:{REGION}:123456789012:{kwargs['Name']}"}

    def publish(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("publish", kwargs))
        return {"MessageId": f"m{len(self.calls)}"}


def test_a_topic_name_is_resolved_once() -> None:
    sns = FakeSns()
    topic = SnsTopic(sns)  # type: ignore[arg-type]

    topic.publish("Alerts", "one")
    topic.publish("Alerts", "two", subject="s", attributes={"k": "v"})

    assert [name for name, _ in sns.calls] == ["create_topic", "publish", "publish"]
    arn = f"arn:aws:sns:{REGION}:123456789012:Alerts"
    assert sns.calls[2][1] == {
        "TopicArn": arn,
        "Message": "two",
        "Subject": "s",
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
    }


def test_a_topic_arn_is_used_as_is_and_known_arns_skip_resolution() -> None:
    sns = FakeSns()
    known = f"arn:aws:sns:{REGION}:123456789012:Known"
    topic = SnsTopic(sns, topic_arns={"Known": known})  # type: ignore[arg-type]

    topic.publish(f"arn:aws:sns:{REGION}:123456789012:Other", "x")
    topic.publish("Known", "y")

    assert [(name, kw["TopicArn"]) for name, kw in sns.calls] == [
        ("publish", f"arn:aws:sns:{REGION}:123456789012:Other"),
        ("publish", known),
    ]


@pytest.mark.parametrize("name", ["has space", "", "x" * 81, "arn:aws:sns:nowhere", "a/b"])
def test_invalid_topic_names_never_reach_sns(name: str) -> None:
    sns = FakeSns()

    with pytest.raises(InvalidNameError):
        SnsTopic(sns).publish(name, "x")  # type: ignore[arg-type]
    assert sns.calls == []


def test_name_and_arn_reach_the_same_topic(moto: Moto) -> None:
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic = SnsTopic(sns)
    arn = topic.topic_arn("Alerts")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    topic.publish("Alerts", "by name")
    topic.publish(arn, "by arn")

    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    ]
    assert sorted(bodies) == ["by arn", "by name"]


# ---------------------------------------------------------------------- events


class FakeEventBridge:
    """Records PutEvents batches; entries whose Source is in ``fail`` fail with that code."""

    def __init__(self, fail: Mapping[str, str] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.fail = dict(fail or {})

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        self.batches.append(Entries)
        results: list[dict[str, Any]] = []
        for n, entry in enumerate(Entries):
            code = self.fail.get(entry["Source"])
            if code:
                results.append({"ErrorCode": code, "ErrorMessage": f"{code} happened"})
            else:
                results.append({"EventId": f"{len(self.batches)}-{n}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def envelope(source: str = "sluiceway.test", detail: Any = None) -> dict[str, Any]:
    return {"source": source, "detail-type": "T", "detail": {"n": 1} if detail is None else detail}


def test_events_map_to_put_events_entries() -> None:
    entry = to_entry(
        {
            "id": "ignored",
            "source": "sluiceway.pipeline",
            "detail-type": "Run Finished",
            "detail": {"b": 1.5, "a": [None]},
            "resources": ["arn:aws:s3:::bucket"],
            "time": "2026-03-01T12:00:07Z",
        },
        "pipeline-bus",
    )

    assert entry == {
        "Source": "sluiceway.pipeline",
        "DetailType": "Run Finished",
        "Detail": '{"b":1.5,"a":[null]}',
        "Resources": ["arn:aws:s3:::bucket"],
        "Time": datetime(2026, 3, 1, 12, 0, 7, tzinfo=UTC),
        "EventBusName": "pipeline-bus",
    }
    assert json.loads(to_entry(envelope(detail='{"already": "text"}'))["Detail"]) == {
        "already": "text"
    }


def test_an_event_without_source_or_detail_type_is_refused() -> None:
    with pytest.raises(ValueError):
        to_entry({"detail-type": "T", "detail": {}})
    with pytest.raises(ValueError):
        to_entry({"source": "s", "detail": {}})


def test_events_go_in_batches_of_ten_in_order() -> None:
    fake = FakeEventBridge()

    ids = EventBridgePublisher(fake).put_events([envelope() for _ in range(23)])  # type: ignore[arg-type]

    assert [len(b) for b in fake.batches] == [10, 10, 3]
    assert ids == [f"{b}-{n}" for b, size in ((1, 10), (2, 10), (3, 3)) for n in range(size)]


def test_batches_stay_under_256_kib() -> None:
    fake = FakeEventBridge()
    big = {"blob": "x" * 100_000}

    EventBridgePublisher(fake).put_events([envelope(detail=big) for _ in range(5)])  # type: ignore[arg-type]

    assert [len(b) for b in fake.batches] == [2, 2, 1]


def test_failed_entries_are_listed_after_every_batch_is_sent() -> None:
    fake = FakeEventBridge(fail={"bad": "InvalidArgument"})
    entries = [envelope() for _ in range(12)]
    entries[3] = envelope("bad")
    entries[11] = envelope("bad")

    with pytest.raises(BackendError) as caught:
        EventBridgePublisher(fake).put_events(entries)  # type: ignore[arg-type]

    assert not isinstance(caught.value, BackendUnavailableError)
    assert len(fake.batches) == 2
    message = str(caught.value)
    assert (
        "2 of 12" in message
        and "entry 3: InvalidArgument" in message
        and "entry 11: InvalidArgument" in message
    )


def test_throttled_entries_are_retryable() -> None:
    fake = FakeEventBridge(fail={"hot": "ThrottlingException"})

    with pytest.raises(BackendUnavailableError):
        EventBridgePublisher(fake).put_events([envelope(), envelope("hot")])  # type: ignore[arg-type]


# ---------------------------------------------------------------------- wiring


def test_build_wires_working_adapters(moto: Moto, tmp_path: Path) -> None:
    settings = Settings(region=REGION, table_name="Meta", data_dir=tmp_path)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    moto.client("s3").create_bucket(Bucket=BUCKET)
    moto.client("dynamodb").create_table(
        TableName="Meta",
        KeySchema=[{"AttributeName": "ExecutionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ExecutionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    objects, table, topic = build(settings, endpoint_url=moto.endpoint, session=session)
    publisher = build_event_publisher(settings, endpoint_url=moto.endpoint, session=session)

    objects.put(BUCKET, "k", b"v")
    assert objects.get(BUCKET, "k") == b"v"
    table.put({"ExecutionId": "e", "Ratio": 0.5})
    assert table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Ratio": 0.5}
    assert topic.publish("Alerts", "hello")
    assert len(publisher.put_events([envelope()])) == 1
