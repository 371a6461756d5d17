"""SqliteQueueService on a real SQLite file: SQS semantics on a FakeClock; kill -9 durability."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.errors import ConflictError, InvalidNameError, NotFoundError
from sluiceway.messaging import InvalidMessageError, ReceiptEntry, SendEntry, VisibilityEntry
from sluiceway.messaging.errors import MessageGoneError
from sluiceway.ports import QueueMessage

SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "queues.db")
    yield database
    database.close()


@pytest.fixture
def svc(db: Database, clock: FakeClock) -> SqliteQueueService:
    return SqliteQueueService(db, clock)


def receive_one(svc: SqliteQueueService, queue: str, **kwargs: int) -> QueueMessage:
    messages = svc.receive(queue, **kwargs)
    assert len(messages) == 1, messages
    return messages[0]


def bodies(messages: list[QueueMessage]) -> list[str]:
    return [m.body for m in messages]


# --------------------------------------------------------------------- queues


def test_create_queue_is_idempotent_for_the_same_attributes(svc: SqliteQueueService) -> None:
    first = svc.create_queue("orders", visibility_timeout_s=60)
    assert svc.create_queue("orders", visibility_timeout_s=60) == first
    with pytest.raises(ConflictError, match="different value"):
        svc.create_queue("orders", visibility_timeout_s=61)
    with pytest.raises(ConflictError):
        svc.create_queue("orders")
    assert svc.list_queues() == ["orders"]


def test_create_queue_checks_names_and_attributes(svc: SqliteQueueService) -> None:
    with pytest.raises(InvalidNameError):
        svc.create_queue("orders", fifo=True)
    with pytest.raises(InvalidNameError):
        svc.create_queue("orders.fifo")
    with pytest.raises(ValueError, match="only valid for FIFO"):
        svc.create_queue("orders", content_based_dedup=True)
    with pytest.raises(ValueError, match="DelaySeconds"):
        svc.create_queue("orders", delay_s=901)
    assert svc.list_queues() == []


def test_list_and_delete_queues(svc: SqliteQueueService) -> None:
    for name in ("b-jobs", "a-jobs", "other"):
        svc.create_queue(name)
    svc.send("a-jobs", "x")
    assert svc.list_queues() == ["a-jobs", "b-jobs", "other"]
    assert svc.list_queues("a-") == ["a-jobs"]
    svc.delete_queue("a-jobs")
    assert svc.list_queues() == ["b-jobs", "other"]
    with pytest.raises(NotFoundError):
        svc.delete_queue("a-jobs")
    for call in (
        lambda: svc.send("a-jobs", "x"),
        lambda: svc.receive("a-jobs"),
        lambda: svc.queue_attributes("a-jobs"),
    ):
        with pytest.raises(NotFoundError, match="does not exist"):
            call()
    # Recreated, the queue starts empty: the old queue's messages went with it.
    svc.create_queue("a-jobs")
    assert svc.receive("a-jobs") == []


def test_redrive_policy_needs_an_existing_dead_letter_queue_of_the_same_type(
    svc: SqliteQueueService,
) -> None:
    with pytest.raises(NotFoundError, match="Dead letter target does not exist"):
        svc.create_queue("jobs", redrive_policy={"deadLetterQueue": "jobs-dlq", "maxReceiveCount": 3})
    svc.create_queue("jobs-dlq")
    svc.create_queue("fifo-dlq.fifo", fifo=True)
    with pytest.raises(ValueError, match="same type"):
        svc.create_queue("jobs", redrive_policy={"deadLetterQueue": "fifo-dlq.fifo", "maxReceiveCount": 3})
    arn = svc.queue_arn("jobs-dlq")
    config = svc.create_queue("jobs", redrive_policy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"}))
    assert config.redrive_policy is not None and config.redrive_policy.dead_letter_queue == "jobs-dlq"
    # The same policy written another way is the same attributes.
    assert svc.create_queue("jobs", redrive_policy={"deadLetterQueue": "jobs-dlq", "maxReceiveCount": 3}) == config
    aws = svc.queue_attributes("jobs").to_aws(region=svc.region, account_id=svc.account_id)
    assert json.loads(aws["RedrivePolicy"]) == {"deadLetterTargetArn": arn, "maxReceiveCount": 3}


def test_queue_attributes_count_available_in_flight_and_delayed(svc: SqliteQueueService, clock: FakeClock) -> None:
    created = clock.now()
    svc.create_queue("jobs")
    empty = svc.queue_attributes("jobs")
    assert (empty.available, empty.in_flight, empty.delayed, empty.oldest_age_s) == (0, 0, 0, None)
    for i in range(4):
        svc.send("jobs", f"m{i}")
    svc.send("jobs", "later", delay_s=60)
    clock.advance(10)
    svc.receive("jobs", max_messages=3)
    attributes = svc.queue_attributes("jobs")
    assert (attributes.available, attributes.in_flight, attributes.delayed) == (1, 3, 1)
    assert attributes.oldest_age_s == 10
    assert attributes.arn == "arn:aws:sqs:us-east-1:000000000000:jobs"
    assert attributes.created_at == created
    aws = attributes.to_aws(region="us-east-1", account_id="000000000000")
    assert aws["ApproximateNumberOfMessagesNotVisible"] == "3" and aws["VisibilityTimeout"] == "30"


# ------------------------------------------------------------ send / receive


def test_send_and_receive_keep_body_attributes_and_send_time(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    message_id = svc.send("jobs", 'héllo {"json": true}', attributes={"kind": "test", "n": "1"})
    sent_at = clock.now()
    clock.advance(5)
    message = receive_one(svc, "jobs")
    assert message.message_id == message_id
    assert message.body == 'héllo {"json": true}'
    assert message.attributes == {"kind": "test", "n": "1"}
    assert message.receive_count == 1
    assert message.sent_at == sent_at
    assert message.group_id is None


def test_send_refuses_what_sqs_refuses(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    with pytest.raises(InvalidMessageError) as info:
        svc.send("jobs", "bad \x00")
    assert info.value.code == "InvalidMessageContents"
    with pytest.raises(InvalidMessageError, match="shorter than 1048576"):
        svc.send("jobs", "x" * (1_048_576 + 1))
    with pytest.raises(InvalidMessageError):
        svc.send("jobs", "x", dedup_id="d")
    with pytest.raises(InvalidMessageError, match="DelaySeconds"):
        svc.send("jobs", "x", delay_s=901)
    assert svc.queue_attributes("jobs").available == 0
    svc.send("jobs", "x" * 1_048_576)
    assert receive_one(svc, "jobs").body == "x" * 1_048_576


def test_receive_takes_up_to_ten(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    for i in range(12):
        svc.send("jobs", str(i))
    first = svc.receive("jobs", max_messages=10)
    assert len(first) == 10
    assert len(svc.receive("jobs", max_messages=10)) == 2
    assert svc.receive("jobs", max_messages=10) == []
    for bad in (0, 11):
        with pytest.raises(ValueError, match="MaxNumberOfMessages"):
            svc.receive("jobs", max_messages=bad)
    with pytest.raises(ValueError, match="WaitTimeSeconds"):
        svc.receive("jobs", wait_s=21)


def test_visibility_timeout_hides_then_returns_the_message(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs", visibility_timeout_s=30)
    svc.send("jobs", "work")
    first = receive_one(svc, "jobs")
    clock.advance(29.9)
    assert svc.receive("jobs") == []
    clock.advance(0.1)
    second = receive_one(svc, "jobs")
    assert second.message_id == first.message_id
    assert second.receive_count == 2
    assert second.receipt_handle != first.receipt_handle
    # A visibility timeout given to receive wins over the queue's.
    clock.advance(30)
    receive_one(svc, "jobs", visibility_s=100)
    clock.advance(99)
    assert svc.receive("jobs") == []
    clock.advance(1)
    assert receive_one(svc, "jobs").receive_count == 4


def test_change_visibility_extends_or_releases(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    svc.send("jobs", "work")
    message = receive_one(svc, "jobs")
    clock.advance(20)
    svc.change_visibility("jobs", message.receipt_handle, 60)
    clock.advance(59)
    assert svc.receive("jobs") == []
    svc.change_visibility("jobs", message.receipt_handle, 0)
    again = receive_one(svc, "jobs")
    assert again.receive_count == 2
    with pytest.raises(ValueError, match="VisibilityTimeout"):
        svc.change_visibility("jobs", again.receipt_handle, 43_201)


def test_visibility_cannot_reach_past_twelve_hours_from_the_receive(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    svc.send("jobs", "work")
    message = receive_one(svc, "jobs")
    clock.advance(3600)
    svc.change_visibility("jobs", message.receipt_handle, 43_200 - 3600)
    with pytest.raises(InvalidMessageError, match="beyond the limit"):
        svc.change_visibility("jobs", message.receipt_handle, 43_200 - 3599)


def test_a_stale_receipt_cannot_delete_a_message_received_again(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    svc.send("jobs", "work")
    old = receive_one(svc, "jobs")
    clock.advance(30)
    new = receive_one(svc, "jobs")
    with pytest.raises(NotFoundError, match="not a valid receipt handle"):
        svc.delete("jobs", old.receipt_handle)
    with pytest.raises(NotFoundError):
        svc.change_visibility("jobs", old.receipt_handle, 0)
    assert svc.queue_attributes("jobs").in_flight == 1
    svc.delete("jobs", new.receipt_handle)
    assert svc.queue_attributes("jobs").in_flight == 0
    # Deleting an already deleted message succeeds, as in SQS; its visibility cannot change, in
    # SQS's words (LocalStack's AWS-validated
    # test_change_visibility_on_deleted_message_raises_invalid_parameter_value).
    svc.delete("jobs", new.receipt_handle)
    with pytest.raises(MessageGoneError) as gone:
        svc.change_visibility("jobs", new.receipt_handle, 10)
    assert str(gone.value) == (
        f"Value {new.receipt_handle} for parameter ReceiptHandle is invalid."
        " Reason: Message does not exist or is not available for visibility timeout change."
    )


def test_receipts_that_name_nothing_or_another_queue_are_invalid(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    svc.create_queue("other")
    svc.send("other", "x")
    foreign = receive_one(svc, "other")
    for receipt in ("", "garbage", "1.2", "a.b.c", foreign.receipt_handle):
        with pytest.raises(NotFoundError):
            svc.delete("jobs", receipt)
    assert svc.queue_attributes("other").in_flight == 1


def test_a_receipt_still_deletes_after_its_visibility_ran_out(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    svc.send("jobs", "work")
    message = receive_one(svc, "jobs")
    clock.advance(300)
    svc.delete("jobs", message.receipt_handle)
    assert svc.receive("jobs") == []


def test_delay_from_the_queue_or_the_message(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs", delay_s=10)
    svc.send("jobs", "queue delay")
    svc.send("jobs", "own delay", delay_s=20)
    svc.send("jobs", "no delay", delay_s=0)
    assert bodies(svc.receive("jobs", max_messages=10)) == ["no delay"]
    assert svc.queue_attributes("jobs").delayed == 2
    clock.advance(10)
    assert bodies(svc.receive("jobs", max_messages=10)) == ["queue delay"]
    clock.advance(10)
    assert bodies(svc.receive("jobs", max_messages=10)) == ["own delay"]


def test_messages_past_retention_are_dropped(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs", retention_s=60)
    svc.send("jobs", "old")
    clock.advance(30)
    svc.send("jobs", "young")
    clock.advance(30)
    # The first message is exactly 60 s old: gone. The second is 30 s old.
    assert bodies(svc.receive("jobs", max_messages=10)) == ["young"]
    assert [m.body for m in svc.peek("jobs")] == ["young"]
    clock.advance(30)
    assert svc.receive("jobs", max_messages=10) == []
    attributes = svc.queue_attributes("jobs")
    assert (attributes.available, attributes.in_flight, attributes.oldest_age_s) == (0, 0, None)


def test_purge_deletes_everything_even_in_flight(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    for i in range(5):
        svc.send("jobs", str(i))
    in_flight = svc.receive("jobs", max_messages=2)
    svc.purge("jobs")
    attributes = svc.queue_attributes("jobs")
    assert (attributes.available, attributes.in_flight, attributes.delayed) == (0, 0, 0)
    assert svc.receive("jobs", max_messages=10) == []
    with pytest.raises(NotFoundError):
        svc.change_visibility("jobs", in_flight[0].receipt_handle, 0)
    with pytest.raises(NotFoundError):
        svc.purge("missing")


# ---------------------------------------------------------------------- batches


def test_send_batch_reports_each_entry(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    result = svc.send_batch(
        "jobs",
        [
            SendEntry("ok-1", "first", attributes={"a": "1"}),
            SendEntry("bad-body", "nul \x00"),
            SendEntry("ok-2", "second", delay_s=0),
            SendEntry("bad-attr", "x", attributes={"AWS.x": "1"}),
            SendEntry("bad-dedup", "x", dedup_id="d"),
            SendEntry("bad-value", "x", attributes={"n": 1}),  # type: ignore[dict-item]
        ],
    )
    assert [s.id for s in result.successful] == ["ok-1", "ok-2"]
    assert all(s.message_id and s.sequence_number is None for s in result.successful)
    assert {f.id: f.code for f in result.failed} == {
        "bad-body": "InvalidMessageContents",
        "bad-attr": "InvalidParameterValue",
        "bad-dedup": "InvalidParameterValue",
        "bad-value": "InvalidParameterValue",
    }
    received = svc.receive("jobs", max_messages=10)
    assert sorted(bodies(received)) == ["first", "second"]
    assert {m.message_id for m in received} == {s.message_id for s in result.successful}


def test_batch_requests_that_fail_whole(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    cases = {
        "TooManyEntriesInBatchRequest": [SendEntry(str(i), "x") for i in range(11)],
        "EmptyBatchRequest": [],
        "BatchEntryIdsNotDistinct": [SendEntry("a", "x"), SendEntry("a", "y")],
        "BatchRequestTooLong": [SendEntry(str(i), "x" * 200_000) for i in range(6)],
    }
    for code, entries in cases.items():
        with pytest.raises(InvalidMessageError) as info:
            svc.send_batch("jobs", entries)
        assert info.value.code == code
    assert svc.queue_attributes("jobs").available == 0
    with pytest.raises(InvalidMessageError):
        svc.delete_batch("jobs", [ReceiptEntry(str(i), "r") for i in range(11)])


def test_delete_and_visibility_batches_report_each_entry(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    svc.send_batch("jobs", [SendEntry(str(i), f"m{i}") for i in range(4)])
    first = svc.receive("jobs", max_messages=4)
    clock.advance(30)
    stale = first[0]
    current = svc.receive("jobs", max_messages=4)
    assert len(current) == 4
    by_body = {m.body: m for m in current}
    changed = svc.change_visibility_batch(
        "jobs",
        [
            VisibilityEntry("keep", by_body["m0"].receipt_handle, 120),
            VisibilityEntry("stale", stale.receipt_handle, 120),
            VisibilityEntry("too-long", by_body["m1"].receipt_handle, 50_000),
        ],
    )
    # A stale receipt is no failure to SQS ("the request will succeed, but the message might not
    # be deleted", DeleteMessage's documentation); the message stays with its latest receiver.
    assert [s.id for s in changed.successful] == ["keep", "stale"]
    assert {f.id: f.code for f in changed.failed} == {"too-long": "InvalidParameterValue"}
    deleted = svc.delete_batch(
        "jobs",
        [
            ReceiptEntry("a", by_body["m1"].receipt_handle),
            ReceiptEntry("b", stale.receipt_handle),
            ReceiptEntry("c", by_body["m2"].receipt_handle),
            ReceiptEntry("d", "nonsense"),
        ],
    )
    assert [s.id for s in deleted.successful] == ["a", "b", "c"]
    assert [(f.id, f.code) for f in deleted.failed] == [("d", "ReceiptHandleIsInvalid")]
    assert deleted.to_aws()["Failed"][0]["SenderFault"] is True
    clock.advance(30)
    # m0 was extended to 120 s; m3 (not deleted) is back.
    assert bodies(svc.receive("jobs", max_messages=10)) == ["m3"]


# ------------------------------------------------------------- dead letters


def make_redrive(svc: SqliteQueueService, max_receive_count: int = 2, retention_s: int = 345_600) -> None:
    svc.create_queue("jobs-dlq", retention_s=retention_s)
    svc.create_queue("jobs", redrive_policy={"deadLetterQueue": "jobs-dlq", "maxReceiveCount": max_receive_count})


def test_the_receive_after_max_receive_count_moves_the_message_to_the_dlq(svc: SqliteQueueService, clock: FakeClock) -> None:
    make_redrive(svc, max_receive_count=2)
    message_id = svc.send("jobs", "poison", attributes={"attempt": "x"})
    svc.send("jobs", "fine")
    clock.advance(1)
    receipts = []
    for expected_count in (1, 2):
        received = {m.body: m for m in svc.receive("jobs", max_messages=10)}
        assert received["poison"].receive_count == expected_count
        receipts.append(received["poison"].receipt_handle)
        if "fine" in received:
            svc.delete("jobs", received["fine"].receipt_handle)
        clock.advance(30)
    # Third receive: poison moves instead of coming back.
    assert svc.receive("jobs", max_messages=10) == []
    (dead,) = svc.peek("jobs-dlq")
    assert (dead.message_id, dead.body, dead.attributes, dead.receive_count) == (
        message_id,
        "poison",
        {"attempt": "x"},
        2,
    )
    assert dead.dead_letter_source == "jobs"
    assert dead.state == "available"
    # The move reports the age from arrival in the DLQ.
    assert svc.queue_attributes("jobs-dlq").oldest_age_s == 0
    with pytest.raises(NotFoundError):
        svc.delete("jobs", receipts[-1])
    again = receive_one(svc, "jobs-dlq")
    assert (again.message_id, again.receive_count) == (message_id, 3)


def test_a_standard_dlq_counts_retention_from_the_original_send(svc: SqliteQueueService, clock: FakeClock) -> None:
    make_redrive(svc, max_receive_count=1, retention_s=150)
    svc.send("jobs", "poison")
    receive_one(svc, "jobs", visibility_s=100)
    clock.advance(100)
    assert svc.receive("jobs") == []
    assert len(svc.peek("jobs-dlq")) == 1
    clock.advance(50)
    assert svc.receive("jobs-dlq") == []
    assert svc.queue_attributes("jobs-dlq").available == 0


def test_redrive_back_to_the_source_queue_as_new_messages(svc: SqliteQueueService, clock: FakeClock) -> None:
    make_redrive(svc, max_receive_count=1)
    svc.create_queue("elsewhere")
    ids = [svc.send("jobs", f"m{i}", attributes={"i": str(i)}) for i in range(3)]
    svc.receive("jobs", max_messages=10)
    clock.advance(30)
    assert svc.receive("jobs", max_messages=10) == []
    assert len(svc.peek("jobs-dlq")) == 3
    held = receive_one(svc, "jobs-dlq")  # in flight in the DLQ: stays there
    svc.send("jobs-dlq", "sent straight to the DLQ")
    clock.advance(5)
    assert svc.start_message_move_task(svc.queue_arn("jobs-dlq")) == 2
    back = svc.receive("jobs", max_messages=10)
    assert sorted(bodies(back)) == sorted({"m0", "m1", "m2"} - {held.body})
    assert all(m.receive_count == 1 for m in back)
    assert all(m.attributes == {"i": m.body[1:]} for m in back)
    assert not {m.message_id for m in back} & set(ids)
    assert all(m.sent_at == clock.now() for m in back)
    assert [m.body for m in svc.peek("jobs-dlq")] == [held.body, "sent straight to the DLQ"]
    # With a destination, every visible message moves, recorded source or not.
    clock.advance(30)
    assert svc.start_message_move_task("jobs-dlq", destination="elsewhere") == 2
    assert sorted(bodies(svc.receive("elsewhere", max_messages=10))) == sorted([held.body, "sent straight to the DLQ"])
    assert svc.peek("jobs-dlq") == []


def test_move_task_needs_a_dead_letter_queue_and_a_matching_destination(
    svc: SqliteQueueService,
) -> None:
    make_redrive(svc)
    svc.create_queue("other.fifo", fifo=True)
    with pytest.raises(ValueError, match="Dead Letter Queue"):
        svc.start_message_move_task("jobs")
    with pytest.raises(ValueError, match="same type"):
        svc.start_message_move_task("jobs-dlq", destination="other.fifo")
    with pytest.raises(NotFoundError):
        svc.start_message_move_task("jobs-dlq", destination="missing")
    with pytest.raises(NotFoundError):
        svc.start_message_move_task("missing")


def test_a_deleted_dlq_leaves_messages_deliverable(svc: SqliteQueueService, clock: FakeClock) -> None:
    make_redrive(svc, max_receive_count=1)
    svc.send("jobs", "x")
    receive_one(svc, "jobs")
    svc.delete_queue("jobs-dlq")
    clock.advance(30)
    assert receive_one(svc, "jobs").receive_count == 2


def test_concurrent_receivers_never_get_the_same_message(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    for i in range(40):
        svc.send_batch("jobs", [SendEntry(str(j), f"{i}-{j}") for j in range(10)])

    def drain() -> list[str]:
        got: list[str] = []
        while batch := svc.receive("jobs", max_messages=10):
            got.extend(m.message_id for m in batch)
        return got

    with ThreadPoolExecutor(4) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(drain) for _ in range(4)]]
    received = [message_id for result in results for message_id in result]
    assert len(received) == 400
    assert len(set(received)) == 400
    assert svc.queue_attributes("jobs").in_flight == 400


# ------------------------------------------------------------------------- FIFO


def make_fifo(svc: SqliteQueueService, **kwargs: object) -> str:
    svc.create_queue("jobs.fifo", fifo=True, **kwargs)  # type: ignore[arg-type]
    return "jobs.fifo"


def test_fifo_keeps_group_order_and_blocks_a_group_in_flight(svc: SqliteQueueService, clock: FakeClock) -> None:
    q = make_fifo(svc, content_based_dedup=True)
    for i in range(3):
        svc.send(q, f"a{i}", group_id="A")
        svc.send(q, f"b{i}", group_id="B")
    first = svc.receive(q, max_messages=2)
    assert bodies(first) == ["a0", "b0"]
    assert [m.group_id for m in first] == ["A", "B"]
    # Both groups have a message in flight: nothing more to give.
    assert svc.receive(q, max_messages=10) == []
    svc.delete(q, first[0].receipt_handle)
    # Group A is free again and comes in order; B is still held by b0.
    assert bodies(svc.receive(q, max_messages=10)) == ["a1", "a2"]
    clock.advance(30)
    # b0's visibility ran out: it comes again before b1, then the rest of B in the same receive.
    again = svc.receive(q, max_messages=10)
    assert bodies(again) == ["b0", "a1", "b1", "a2", "b2"]
    assert [m.receive_count for m in again] == [2, 2, 1, 2, 1]


def test_fifo_deduplicates_for_five_minutes(svc: SqliteQueueService, clock: FakeClock) -> None:
    q = make_fifo(svc)
    first = svc.send(q, "one", group_id="g", dedup_id="d-1")
    clock.advance(100)
    assert svc.send(q, "one again", group_id="g", dedup_id="d-1") == first
    assert svc.queue_attributes(q).available == 1
    # Deleting the message does not forget its deduplication id.
    svc.delete(q, receive_one(svc, q).receipt_handle)
    clock.advance(199)
    assert svc.send(q, "one more", group_id="g", dedup_id="d-1") == first
    assert svc.receive(q) == []
    clock.advance(1)
    later = svc.send(q, "after the window", group_id="g", dedup_id="d-1")
    assert later != first
    assert bodies(svc.receive(q)) == ["after the window"]


def test_fifo_content_based_dedup_hashes_the_body(svc: SqliteQueueService) -> None:
    q = make_fifo(svc, content_based_dedup=True)
    first = svc.send(q, "same", group_id="g1")
    assert svc.send(q, "same", group_id="g2", attributes={"other": "attrs"}) == first
    assert svc.send(q, "same", group_id="g1", dedup_id="explicit") != first
    # An entry without a group id fails the whole batch, as on AWS: nothing of it is sent.
    with pytest.raises(InvalidMessageError, match="MessageGroupId"):
        svc.send_batch(q, [SendEntry("1", "batch"), SendEntry("2", "batch", group_id="g")])
    result = svc.send_batch(q, [SendEntry("2", "batch", group_id="g"), SendEntry("3", "batch", group_id="g")])
    assert not result.failed
    assert result.successful[0].message_id == result.successful[1].message_id
    assert result.successful[0].sequence_number is not None
    assert sorted(bodies(svc.receive(q, max_messages=10))) == ["batch", "same", "same"]


def test_fifo_send_rules(svc: SqliteQueueService) -> None:
    q = make_fifo(svc)
    with pytest.raises(InvalidMessageError, match="MessageGroupId"):
        svc.send(q, "x", dedup_id="d")
    with pytest.raises(InvalidMessageError, match="ContentBasedDeduplication"):
        svc.send(q, "x", group_id="g")
    with pytest.raises(InvalidMessageError, match="DelaySeconds"):
        svc.send(q, "x", group_id="g", dedup_id="d", delay_s=5)


def test_fifo_queue_delay_applies_to_every_message(svc: SqliteQueueService, clock: FakeClock) -> None:
    q = make_fifo(svc, content_based_dedup=True, delay_s=10)
    svc.send(q, "x", group_id="g", delay_s=0)
    assert svc.receive(q) == []
    clock.advance(10)
    assert bodies(svc.receive(q)) == ["x"]


def test_fifo_poison_message_goes_to_a_fifo_dlq_and_unblocks_its_group(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("dlq.fifo", fifo=True, retention_s=60)
    svc.create_queue(
        "jobs.fifo",
        fifo=True,
        content_based_dedup=True,
        redrive_policy={"deadLetterQueue": "dlq.fifo", "maxReceiveCount": 1},
    )
    svc.send("jobs.fifo", "poison", group_id="g")
    svc.send("jobs.fifo", "next", group_id="g")
    assert bodies(svc.receive("jobs.fifo")) == ["poison"]
    clock.advance(30)
    (following,) = svc.receive("jobs.fifo")
    assert following.body == "next"
    svc.delete("jobs.fifo", following.receipt_handle)
    (dead,) = svc.peek("dlq.fifo")
    assert (dead.body, dead.group_id, dead.receive_count) == ("poison", "g", 1)
    # FIFO: the move resets the enqueue time and the dedup id becomes the message id.
    assert dead.dedup_id == dead.message_id
    clock.advance(59)
    assert svc.start_message_move_task("dlq.fifo") == 1
    back = receive_one(svc, "jobs.fifo")
    assert (back.body, back.group_id, back.receive_count) == ("poison", "g", 1)


# ----------------------------------------------------------------- long polls


def test_long_poll_returns_when_a_message_arrives_from_another_thread(db: Database, clock: FakeClock) -> None:
    # Re-checks of the table are far apart: only the send's notification can wake the receiver.
    svc = SqliteQueueService(db, clock, poll_interval_s=60)
    svc.create_queue("jobs")
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        future = pool.submit(svc.receive, "jobs", wait_s=20)
        assert svc.wait_for_receivers("jobs", timeout=10)
        svc.send("jobs", "wake up")
        messages = future.result(timeout=10)
    assert bodies(messages) == ["wake up"]
    # The FakeClock never moved: the send woke the receiver, well before 20 s.
    assert time.monotonic() - started < 10


def test_long_poll_uses_the_queue_wait_by_default(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs", receive_wait_s=20)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(svc.receive, "jobs")
        assert svc.wait_for_receivers("jobs", timeout=10)
        svc.send("jobs", "x")
        assert bodies(future.result(timeout=10)) == ["x"]
    # An explicit wait of 0 does not wait.
    assert svc.receive("jobs", wait_s=0) == []


def test_long_poll_ends_when_the_clock_passes_the_wait(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        future = pool.submit(svc.receive, "jobs", wait_s=20)
        assert svc.wait_for_receivers("jobs", timeout=10)
        clock.advance(20)
        assert future.result(timeout=10) == []
    assert time.monotonic() - started < 10


def test_long_poll_gets_a_message_whose_delay_runs_out(svc: SqliteQueueService, clock: FakeClock) -> None:
    svc.create_queue("jobs")
    svc.send("jobs", "delayed", delay_s=5)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(svc.receive, "jobs", wait_s=20)
        assert svc.wait_for_receivers("jobs", timeout=10)
        clock.advance(5)
        assert bodies(future.result(timeout=10)) == ["delayed"]


def test_long_poll_never_outlasts_its_wait_in_real_time(svc: SqliteQueueService) -> None:
    svc.create_queue("jobs")
    started = time.monotonic()
    assert svc.receive("jobs", wait_s=0.3) == []
    assert 0.25 < time.monotonic() - started < 5


def test_long_poll_sees_sends_from_another_connection(db: Database, svc: SqliteQueueService, clock: FakeClock) -> None:
    # Another service on the same file stands for another process: no notification, a re-check.
    svc.create_queue("jobs")
    other = SqliteQueueService(Database(db.path), clock)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(svc.receive, "jobs", wait_s=20)
        assert svc.wait_for_receivers("jobs", timeout=10)
        other.send("jobs", "from afar")
        assert bodies(future.result(timeout=10)) == ["from afar"]
    other.db.close()


# -------------------------------------------------------------------- crashes

CHILD = r"""
import sys
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.messaging import SendEntry
from sluiceway.clock import SystemClock

svc = SqliteQueueService(Database(sys.argv[1]), SystemClock())
print("ready", flush=True)
i = 0
while True:
    if i % 2:
        result = svc.send_batch("jobs", [SendEntry(str(j), f"batch {i} {j}") for j in range(5)])
        ids = [s.message_id for s in result.successful]
    else:
        ids = [svc.send("jobs", f"single {i}")]
    print(" ".join(ids), flush=True)
    i += 1
"""


def test_every_send_reported_before_a_kill_9_survives(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    setup = Database(path)
    SqliteQueueService(setup, FakeClock()).create_queue("jobs")
    setup.close()
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    reported: list[str] = []
    with subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env) as child:
        assert child.stdout is not None
        try:
            assert child.stdout.readline().strip() == "ready"
            while len(reported) < 600:
                line = child.stdout.readline()
                assert line, "the child stopped sending"
                reported.extend(line.split())
            child.send_signal(signal.SIGKILL)
            # Lines already written when the kill landed were sent too.
            reported.extend(child.stdout.read().split())
        finally:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    reopened = Database(path)
    try:
        stored = {m.message_id for m in SqliteQueueService(reopened, SystemClock()).peek("jobs", limit=1_000_000)}
    finally:
        reopened.close()
    assert set(reported) <= stored
    assert len(stored) >= 600
