"""The Topic contract, on the SQLite outbox and on SNS (read through a subscribed SQS queue)."""

from __future__ import annotations

import json

from .conftest import TopicCase


def test_publish_returns_distinct_ids(topic: TopicCase) -> None:
    ids = [topic.topic.publish(topic.name, f"message {n}") for n in range(3)]

    assert len(set(ids)) == 3
    assert all(isinstance(i, str) and i for i in ids)


def test_published_messages_reach_the_subscriber(topic: TopicCase) -> None:
    body = json.dumps({"status": "SUCCEEDED", "rows": 1200, "ratio": 0.25})
    first = topic.topic.publish(
        topic.name,
        body,
        subject="Pipeline sales succeeded",
        attributes={"status": "SUCCEEDED", "pipeline": "sales"},
    )
    second = topic.topic.publish(topic.name, "plain text, no subject")

    delivered = {m.message_id: m for m in topic.delivered()}

    assert set(delivered) == {first, second}
    one, two = delivered[first], delivered[second]
    assert (one.topic, one.message, one.subject) == (topic.name, body, "Pipeline sales succeeded")
    assert dict(one.attributes) == {"status": "SUCCEEDED", "pipeline": "sales"}
    assert (two.message, two.subject, dict(two.attributes)) == ("plain text, no subject", None, {})
    assert one.timestamp.tzinfo is not None


def test_messages_keep_unicode_and_newlines(topic: TopicCase) -> None:
    body = "Zeilen: 1 200\nRégion: €uro ✓\n"
    message_id = topic.topic.publish(topic.name, body, subject="Résumé")

    [delivered] = topic.delivered()

    assert (delivered.message_id, delivered.message, delivered.subject) == (
        message_id,
        body,
        "Résumé",
    )
