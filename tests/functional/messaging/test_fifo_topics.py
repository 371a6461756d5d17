"""FIFO topics on SQLite: group and deduplication ids, the five-minute window (durable), and
delivery to FIFO queues keeping both ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.errors import NotFoundError
from sluiceway.messaging.errors import InvalidParameterError
from sluiceway.runtime.messaging.delivery import QueueSender

REGION = "us-east-1"
ACCOUNT = "111111111111"

FIFO = {"FifoTopic": "true"}


def _deliver_all(topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock) -> None:
    """Hand every due ``sqs`` delivery to its queue, as the stack's deliverer does."""
    sender = QueueSender(queues)
    for record in topics.due(clock.now()):
        if record.subscription.protocol == "sqs":
            sender(record)
            topics.record(record.id, status="delivered", attempts=1)


def test_fifo_topic_attributes(topics: SqliteTopic) -> None:
    topics.create_topic("orders.fifo", attributes={"FifoTopic": "True"})
    attributes = topics.topic_attributes("orders.fifo")
    assert (attributes["FifoTopic"], attributes["ContentBasedDeduplication"]) == ("true", "false")
    topics.set_topic_attribute("orders.fifo", "ContentBasedDeduplication", "true")
    assert topics.topic_attributes("orders.fifo")["ContentBasedDeduplication"] == "true"
    with pytest.raises(InvalidParameterError, match="AttributeName"):
        topics.set_topic_attribute("orders.fifo", "FifoTopic", "false")  # a topic's kind is fixed
    topics.create_topic("plain")
    assert "FifoTopic" not in topics.topic_attributes("plain")
    with pytest.raises(InvalidParameterError, match="ContentBasedDeduplication"):
        topics.set_topic_attribute("plain", "ContentBasedDeduplication", "true")
    with pytest.raises(InvalidParameterError, match="Topic Name"):
        topics.create_topic("plain-name", attributes=FIFO)


def test_publish_checks_the_ids_against_the_topic_kind(topics: SqliteTopic) -> None:
    topics.create_topic("orders.fifo", attributes=FIFO)
    topics.create_topic("plain")
    with pytest.raises(InvalidParameterError, match="The MessageGroupId parameter is required for FIFO topics"):
        topics.publish_message("orders.fifo", "m", dedup_id="d")
    with pytest.raises(InvalidParameterError, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        topics.publish_message("orders.fifo", "m", group_id="g")
    with pytest.raises(InvalidParameterError, match="not valid for this topic type"):
        topics.publish_message("plain", "m", dedup_id="d")
    assert topics.publish_message("plain", "m").sequence_number is None


def test_a_duplicate_within_five_minutes_is_accepted_but_not_delivered(topics: SqliteTopic, clock: FakeClock) -> None:
    topics.create_topic("orders.fifo", attributes=FIFO)
    topics.subscribe("orders.fifo", "sqs", "arn:aws:sqs:us-east-1:111111111111:sink.fifo")
    first = topics.publish_message("orders.fifo", "one", group_id="g", dedup_id="d-1")
    again = topics.publish_message("orders.fifo", "other text", group_id="g2", dedup_id="d-1")
    assert again == first and first.sequence_number is not None
    clock.advance(299)
    assert topics.publish_message("orders.fifo", "x", group_id="g", dedup_id="d-1") == first
    clock.advance(2)  # five minutes after the first: the id is free again
    later = topics.publish_message("orders.fifo", "x", group_id="g", dedup_id="d-1")
    assert later.message_id != first.message_id
    assert later.sequence_number is not None and later.sequence_number > first.sequence_number
    published = [m.message_id for m in topics.published("orders.fifo")]
    assert published == [first.message_id, later.message_id]


def test_content_based_deduplication_hashes_the_message(topics: SqliteTopic) -> None:
    topics.create_topic("cbd.fifo", attributes={**FIFO, "ContentBasedDeduplication": "true"})
    first = topics.publish_message("cbd.fifo", "same", group_id="a")
    assert topics.publish_message("cbd.fifo", "same", group_id="b") == first  # deduplicated across groups
    assert topics.publish_message("cbd.fifo", "same", group_id="a", attributes={"k": "v"}) == first
    message = topics.published("cbd.fifo")[0]
    assert message.dedup_id == hashlib.sha256(b"same").hexdigest()
    # An explicit id replaces the hash.
    assert topics.publish_message("cbd.fifo", "same", group_id="a", dedup_id="explicit") != first


def test_message_group_scope_deduplicates_within_each_group(topics: SqliteTopic) -> None:
    topics.create_topic("scoped.fifo", attributes={**FIFO, "FifoThroughputScope": "MessageGroup"})
    a = topics.publish_message("scoped.fifo", "m", group_id="a", dedup_id="d")
    b = topics.publish_message("scoped.fifo", "m", group_id="b", dedup_id="d")
    assert a.message_id != b.message_id
    assert topics.publish_message("scoped.fifo", "m", group_id="a", dedup_id="d") == a


def test_the_deduplication_window_survives_a_restart(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    first_process = SqliteTopic(db, tmp_path / "o.jsonl", clock, region=REGION, account_id=ACCOUNT)
    first_process.create_topic("orders.fifo", attributes=FIFO)
    first = first_process.publish_message("orders.fifo", "m", group_id="g", dedup_id="d")
    restarted = SqliteTopic(db, tmp_path / "o.jsonl", clock, region=REGION, account_id=ACCOUNT)
    assert restarted.publish_message("orders.fifo", "m", group_id="g", dedup_id="d") == first


def test_fifo_queues_get_the_group_and_deduplication_ids(topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock) -> None:
    queues.create_queue("sink.fifo", fifo=True)
    queues.create_queue("plain-sink")
    topics.create_topic("orders.fifo", attributes=FIFO)
    topics.subscribe("orders.fifo", "sqs", "sink.fifo")
    topics.subscribe("orders.fifo", "sqs", "plain-sink")
    sent = topics.publish_message("orders.fifo", "hello", group_id="g-1", dedup_id="d-1")
    _deliver_all(topics, queues, clock)

    [stored] = queues.peek("sink.fifo")
    assert (stored.group_id, stored.dedup_id) == ("g-1", "d-1")
    envelope = json.loads(stored.body)
    assert list(envelope)[:3] == ["Type", "MessageId", "SequenceNumber"]
    assert envelope["SequenceNumber"] == sent.sequence_number and envelope["Message"] == "hello"
    assert "Signature" not in envelope and "SigningCertURL" not in envelope  # SNS signs no FIFO envelope
    [plain] = queues.peek("plain-sink")
    assert (plain.group_id, plain.dedup_id) == (None, None)  # a standard queue gets neither


def test_subscriptions_must_suit_the_topic_kind(topics: SqliteTopic) -> None:
    topics.create_topic("plain")
    with pytest.raises(InvalidParameterError, match="FIFO SQS Queues can not be subscribed to standard SNS topics"):
        topics.subscribe("plain", "sqs", "arn:aws:sqs:us-east-1:111111111111:sink.fifo")
    topics.create_topic("orders.fifo", attributes=FIFO)
    topics.subscribe("orders.fifo", "sqs", "arn:aws:sqs:us-east-1:111111111111:plain-sink")  # allowed since 2023
    sub = topics.subscribe("orders.fifo", "sqs", "arn:aws:sqs:us-east-1:111111111111:sink.fifo")
    standard_dlq = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:111111111111:dlq"})
    with pytest.raises(InvalidParameterError, match="must use a FIFO queue as DLQ"):
        topics.set_subscription_attribute(sub.arn, "RedrivePolicy", standard_dlq)
    fifo_dlq = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:111111111111:dlq.fifo"})
    topics.set_subscription_attribute(sub.arn, "RedrivePolicy", fifo_dlq)


def test_publishing_never_makes_a_fifo_topic(topics: SqliteTopic) -> None:
    with pytest.raises(NotFoundError):
        topics.publish_message("missing.fifo", "m", group_id="g", dedup_id="d")
    topics.publish("made-on-publish", "m")  # a standard topic still is, as before
    assert "made-on-publish" in [t.name for t in topics.list_topics()]
