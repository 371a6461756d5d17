"""S3 across stack restarts and crashes: multipart uploads kept, each write notified once, a killed writer's write announced.

Each test runs its own stacks on a data dir of its own (stopped and started again), so
these do not use the module's shared stack.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.bus.watcher import BucketWatcher
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running(data_dir: Path) -> Iterator[tuple[Stack, Any, Any]]:
    """A started stack on ``data_dir`` with its endpoint, and S3 and SQS clients of it."""
    settings = Settings.load(data_dir=data_dir, workers=1, endpoint_port=free_port())
    stack = build_stack(settings, invoker_mode="thread")
    stack.start("restart tests")
    endpoint = Endpoint(stack, host="127.0.0.1", port=settings.endpoint_port)
    try:
        endpoint.start()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
        s3 = session.client("s3", endpoint_url=endpoint.url, config=config)
        yield stack, s3, session.client("sqs", endpoint_url=endpoint.url, config=config)
    finally:
        endpoint.close()
        stack.close()


def notify_queue(s3: Any, sqs: Any, bucket: str, queue: str) -> str:
    """Have ``bucket`` notify ``queue`` of created and removed objects (EventBridge on too); return the queue's URL."""
    url = str(sqs.create_queue(QueueName=queue)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}],
            "EventBridgeConfiguration": {},
        },
    )
    drained(sqs, url)  # S3's test event
    return url


def drained(sqs: Any, url: str) -> list[tuple[str, str, str]]:
    """The S3 records waiting in the queue (event name, key, sequencer), deleted."""
    records: list[tuple[str, str, str]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
        for message in messages:
            for record in json.loads(message["Body"]).get("Records", []):
                records.append((record["eventName"], record["s3"]["object"]["key"], record["s3"]["object"]["sequencer"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return records


def bus_events(stack: Stack, bucket: str) -> list[tuple[str, str]]:
    since = datetime.now(UTC) - timedelta(hours=1)
    return [
        (e.event["detail-type"], e.event["detail"]["object"]["key"])
        for e in stack.bus.archived(since)
        if e.event.get("source") == "aws.s3" and e.event["detail"]["bucket"]["name"] == bucket
    ]


def test_a_multipart_upload_and_its_parts_survive_a_restart(tmp_path: Path) -> None:
    with running(tmp_path / "data") as (_, s3, _):
        s3.create_bucket(Bucket="big")
        upload_id = s3.create_multipart_upload(Bucket="big", Key="f.bin")["UploadId"]
        first = s3.upload_part(Bucket="big", Key="f.bin", UploadId=upload_id, PartNumber=1, Body=b"a" * (5 * MIB))["ETag"]
    with running(tmp_path / "data") as (_, s3, _):
        assert [p["ETag"] for p in s3.list_parts(Bucket="big", Key="f.bin", UploadId=upload_id)["Parts"]] == [first]
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="big")["Uploads"]] == [upload_id]
        second = s3.upload_part(Bucket="big", Key="f.bin", UploadId=upload_id, PartNumber=2, Body=b"b")["ETag"]
        s3.complete_multipart_upload(
            Bucket="big",
            Key="f.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first}, {"PartNumber": 2, "ETag": second}]},
        )
        assert s3.get_object(Bucket="big", Key="f.bin")["Body"].read() == b"a" * (5 * MIB) + b"b"


def test_a_write_seen_again_by_the_watcher_and_every_restart_is_notified_once(tmp_path: Path) -> None:
    with running(tmp_path / "data") as (stack, s3, sqs):
        bucket = stack.settings.input_bucket  # the bucket `sluiceway up` watches
        url = notify_queue(s3, sqs, bucket, "notes")
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
        # What the watch does once the file has settled, and what every start's reconciliation does.
        stack.local.objects.emit_created(stack.local.files.observe(bucket, "a.txt"))
        assert BucketWatcher(stack.local.files, bucket, stack.local.objects.emit_created, settle_s=0).reconcile() == 1
        [(name, key, sequencer)] = drained(sqs, url)
        assert (name, key) == ("ObjectCreated:Put", "a.txt")
        assert bus_events(stack, bucket).count(("Object Created", "a.txt")) == 1
    with running(tmp_path / "data") as (stack, s3, sqs):
        assert BucketWatcher(stack.local.files, bucket, stack.local.objects.emit_created, settle_s=0).reconcile() == 1
        assert drained(sqs, url) == []
        # A new write of the same bytes is a new write: notified, once.
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
        BucketWatcher(stack.local.files, bucket, stack.local.objects.emit_created, settle_s=0).reconcile()
        [(_, _, later)] = drained(sqs, url)
        assert later > sequencer


# A writer that is killed (SIGKILL: nothing of it runs after) once its object's file is
# renamed into place and before the transaction that commits the write's event and
# notifications: the point no later code of the writer can repair.
_KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from sluiceway.backends.local.bucket_notifications import S3Notifier
    from sluiceway.backends.local.datadir import open_data_dir
    from sluiceway.backends.local.notifying import EventingObjectStore
    from sluiceway.clock import SystemClock
    from sluiceway.settings import Settings

    class KilledBeforeAnnouncing(S3Notifier):
        def transaction(self):  # the one that commits the write's event and notifications
            os.kill(os.getpid(), signal.SIGKILL)

    settings = Settings.load(data_dir=Path(sys.argv[1]))
    local = open_data_dir(settings, SystemClock())
    n = local.notifier
    dying = KilledBeforeAnnouncing(
        n.db, n.configs, n.queues, n.topics, n.clock, invocations=n.invocations, region=n.region, account=n.account
    )
    store = EventingObjectStore(local.files, local.bus, local.clock, region=n.region, account=n.account, notifier=dying)
    if sys.argv[3] == "put":
        store.put(sys.argv[2], "landed.txt", b"stored, never announced by its writer")
    else:
        store.delete(sys.argv[2], "landed.txt")
    """
)


def kill_a_writer(data_dir: Path, bucket: str, operation: str) -> None:
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(data_dir), bucket, operation], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


def wait_for(check: Any, *, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_write_whose_writer_was_killed_before_announcing_it_is_announced_once_at_the_next_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running(data_dir) as (_, s3, sqs):
        s3.create_bucket(Bucket="crashy")
        url = notify_queue(s3, sqs, "crashy", "crash-notes")
    kill_a_writer(data_dir, "crashy", "put")
    with running(data_dir) as (stack, s3, sqs):
        assert s3.get_object(Bucket="crashy", Key="landed.txt")["Body"].read() == b"stored, never announced by its writer"
        records = wait_for(lambda: drained(sqs, url))
        assert [(name, key) for name, key, _ in records] == [("ObjectCreated:Put", "landed.txt")]
        assert bus_events(stack, "crashy") == [("Object Created", "landed.txt")]
        assert stack.local.notifier.pending_writes() == []
    kill_a_writer(data_dir, "crashy", "delete")
    with running(data_dir) as (stack, s3, sqs):
        records = wait_for(lambda: drained(sqs, url))
        assert [(name, key) for name, key, _ in records] == [("ObjectRemoved:Delete", "landed.txt")]
        assert bus_events(stack, "crashy") == [("Object Created", "landed.txt"), ("Object Deleted", "landed.txt")]
        assert stack.local.objects.recover() == 0  # announced once: nothing left to recover
        assert drained(sqs, url) == []


# An endpoint whose completions of multipart uploads are killed (SIGKILL) once the object is
# written and announced: before its completion's result is recorded ("written"), or after,
# before the parts are removed ("recorded").
_KILLED_COMPLETER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from sluiceway.backends.local.multipart import MultipartUploads
    from sluiceway.endpoint.server import Endpoint
    from sluiceway.runtime.wiring import build_stack
    from sluiceway.settings import Settings

    record = MultipartUploads.record

    def killed_once_written(self, folder, completion):
        if completion is not None and completion.done:
            os.kill(os.getpid(), signal.SIGKILL)
        record(self, folder, completion)

    def killed(self, folder):
        os.kill(os.getpid(), signal.SIGKILL)

    if sys.argv[3] == "written":
        MultipartUploads.record = killed_once_written
    else:
        MultipartUploads.retire = killed
    stack = build_stack(Settings.load(data_dir=Path(sys.argv[1]), workers=1, endpoint_port=int(sys.argv[2])), invoker_mode="thread")
    stack.start("killed completer")
    Endpoint(stack, host="127.0.0.1", port=int(sys.argv[2])).start()
    print("ready", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("killed", ["written", "recorded"])
def test_a_completion_killed_after_its_write_is_answered_by_the_retry_and_written_once(tmp_path: Path, killed: str) -> None:
    data_dir = tmp_path / "data"
    with running(data_dir) as (_, s3, sqs):
        s3.create_bucket(Bucket="whole")
        url = notify_queue(s3, sqs, "whole", "whole-notes")
        upload_id = s3.create_multipart_upload(Bucket="whole", Key="f.bin")["UploadId"]
        etag = s3.upload_part(Bucket="whole", Key="f.bin", UploadId=upload_id, PartNumber=1, Body=b"x" * 100)["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    port = free_port()
    completer = subprocess.Popen([sys.executable, "-c", _KILLED_COMPLETER, str(data_dir), str(port), killed], stdout=subprocess.PIPE)
    try:
        assert completer.stdout is not None and completer.stdout.readline().strip() == b"ready"
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        # One attempt, never retried: the request reaches the completer, which dies while handling
        # it, so the connection closes unanswered. (A retry, as botocore's legacy mode makes on a
        # closed connection, may reach the dying process's listening socket before the kernel
        # closes it, or find the port closed: which error it ends with is a race.)
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
        doomed = session.client("s3", endpoint_url=f"http://127.0.0.1:{port}", config=config)
        with pytest.raises(ConnectionClosedError):
            doomed.complete_multipart_upload(Bucket="whole", Key="f.bin", UploadId=upload_id, MultipartUpload=parts)
        assert completer.wait(timeout=30) == -signal.SIGKILL
    finally:
        completer.kill()
        completer.wait()
        if completer.stdout is not None:
            completer.stdout.close()
    with running(data_dir) as (stack, s3, sqs):
        assert s3.list_multipart_uploads(Bucket="whole").get("Uploads", []) == []
        again = s3.complete_multipart_upload(Bucket="whole", Key="f.bin", UploadId=upload_id, MultipartUpload=parts)
        assert again["ETag"] == s3.head_object(Bucket="whole", Key="f.bin")["ETag"]
        assert again["ETag"].endswith('-1"')
        records = wait_for(lambda: drained(sqs, url))
        assert [(name, key) for name, key, _ in records] == [("ObjectCreated:CompleteMultipartUpload", "f.bin")]
        assert bus_events(stack, "whole") == [("Object Created", "f.bin")]
        assert stack.local.objects.recover() == 0
        assert drained(sqs, url) == []
