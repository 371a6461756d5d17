"""Benchmark: send + receive + delete, our SqliteQueueService against moto's SQS.

Both run in this process, the same loop, one message at a time and in batches
of ten (SendMessageBatch, ReceiveMessage with 10, DeleteMessageBatch):

* ours: ``SqliteQueueService`` on a SQLite file in a temporary directory, every
  call a committed transaction (WAL, ``synchronous=NORMAL``: survives kill -9);
* moto: ``mock_aws`` and a boto3 SQS client in us-east-1. Moto is much slower, so
  it runs fewer messages; its throughput is per message over that smaller run,
  and the output says so.

A third line runs our batched loop again with a backlog of messages already
waiting in the queue (the loop then receives and deletes older messages than it
sends, keeping the depth), to show that receives stay cheap when the queue is deep.

    .venv/bin/python bench/queue.py [--messages 20000] [--moto-messages 2000] [--backlog 50000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py: run as a script, its folder comes first on sys.path
# and it would stand in for the standard library's queue module (urllib3 needs it).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from sluiceway.backends.local._sqlite import Database  # noqa: E402
from sluiceway.backends.local.queues import SqliteQueueService  # noqa: E402
from sluiceway.clock import SystemClock  # noqa: E402
from sluiceway.messaging import ReceiptEntry, SendEntry  # noqa: E402

REGION = "us-east-1"
BATCH = 10


# ----------------------------------------------------------------------- ours


def ours_single(svc: SqliteQueueService, queue: str, n: int) -> None:
    for i in range(n):
        svc.send(queue, f"message {i}")
        (message,) = svc.receive(queue)
        svc.delete(queue, message.receipt_handle)


def ours_batched(svc: SqliteQueueService, queue: str, n: int) -> None:
    for i in range(n // BATCH):
        sent = svc.send_batch(queue, [SendEntry(str(j), f"message {i} {j}") for j in range(BATCH)])
        assert not sent.failed, sent.failed
        got = svc.receive(queue, max_messages=BATCH)
        assert len(got) == BATCH, len(got)
        deleted = svc.delete_batch(
            queue, [ReceiptEntry(str(j), m.receipt_handle) for j, m in enumerate(got)]
        )
        assert not deleted.failed, deleted.failed


def run_ours(n: int, batched: bool, backlog: int = 0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "queues.db")
        svc = SqliteQueueService(db, SystemClock())
        svc.create_queue("bench")
        for i in range(backlog // BATCH):
            svc.send_batch("bench", [SendEntry(str(j), f"backlog {i} {j}") for j in range(BATCH)])
        loop = ours_batched if batched else ours_single
        started = time.perf_counter()
        loop(svc, "bench", n)
        elapsed = time.perf_counter() - started
        attributes = svc.queue_attributes("bench")
        # Every loop deletes what it received, so the queue is as deep as it started.
        assert attributes.available == backlog // BATCH * BATCH and attributes.in_flight == 0, (
            attributes
        )
        db.close()
    return n / elapsed


# ----------------------------------------------------------------------- moto


def moto_single(client: Any, url: str, n: int) -> None:
    for i in range(n):
        client.send_message(QueueUrl=url, MessageBody=f"message {i}")
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        client.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])


def moto_batched(client: Any, url: str, n: int) -> None:
    for i in range(n // BATCH):
        entries = [{"Id": str(j), "MessageBody": f"message {i} {j}"} for j in range(BATCH)]
        assert not client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
        got: list[dict[str, Any]] = []
        while len(got) < BATCH:
            got += client.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH - len(got)).get(
                "Messages", []
            )
        receipts = [{"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(got)]
        assert not client.delete_message_batch(QueueUrl=url, Entries=receipts).get("Failed")


def run_moto(n: int, batched: bool) -> float:
    import boto3
    from moto import mock_aws

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(name, value)
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        url = client.create_queue(QueueName="bench")["QueueUrl"]
        loop: Callable[[Any, str, int], None] = moto_batched if batched else moto_single
        started = time.perf_counter()
        loop(client, url, n)
        elapsed = time.perf_counter() - started
    return n / elapsed


# ----------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages per loop for ours")
    parser.add_argument(
        "--moto-messages", type=int, default=2_000, help="messages per loop for moto"
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=50_000,
        help="messages waiting in the queue for the third run",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    print(
        f"send + receive + delete; ours: {args.messages:,} messages per loop,"
        f" moto: {args.moto_messages:,}"
    )
    print(f"{'loop':<28}{'ours msg/s':>12}{'moto msg/s':>12}{'ours/moto':>11}")
    for label, batched in (("single", False), (f"batched ({BATCH})", True)):
        ours = run_ours(args.messages, batched)
        moto = run_moto(args.moto_messages, batched)
        print(f"{label:<28}{ours:>12,.0f}{moto:>12,.0f}{ours / moto:>10.1f}x", flush=True)
    if args.backlog:
        deep = run_ours(args.messages, True, backlog=args.backlog)
        print(f"{f'batched, {args.backlog:,} waiting':<28}{deep:>12,.0f}{'-':>12}{'-':>11}")
    print(
        f"moto ran {args.moto_messages:,} messages per loop against our {args.messages:,}:"
        " its figure is its per-message rate over that shorter run."
        f" Total {time.perf_counter() - started:.1f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
