"""The EventPublisher contract, on the SQLite bus and on EventBridge (a rule targeting SQS)."""

from __future__ import annotations

from typing import Any

from .conftest import EVENT_SOURCE, EventsCase


def event(n: int, **detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "source": EVENT_SOURCE,
        "detail-type": "Run Finished",
        "time": f"2026-03-01T12:00:{n:02d}Z",
        "resources": [
            f"arn:aws:states:us-east-1:111111111111:execution:DataProcessingWorkflow:run-{n}"
        ],
        "detail": {
            "run": n,
            "ratio": 0.5,
            "tags": ["a", "b"],
            "nested": {"ok": True, "none": None},
            **detail,
        },
    }


def test_put_events_returns_one_id_per_event(events: EventsCase) -> None:
    ids = events.publisher.put_events([event(1), event(2), event(3)])

    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert all(isinstance(i, str) and i for i in ids)


def test_put_events_of_nothing_returns_nothing(events: EventsCase) -> None:
    assert events.publisher.put_events([]) == []
    assert events.delivered() == []


def test_events_are_delivered_in_eventbridges_envelope(events: EventsCase) -> None:
    sent = event(7, region="eu", amount=1234.56)
    [event_id] = events.publisher.put_events([sent])

    [delivered] = events.delivered()

    assert delivered["id"] == event_id
    assert delivered["source"] == EVENT_SOURCE
    assert delivered["detail-type"] == "Run Finished"
    assert delivered["detail"] == sent["detail"]
    assert delivered["resources"] == sent["resources"]
    assert delivered["time"] == "2026-03-01T12:00:07Z"


def test_more_events_than_one_batch_are_all_put(events: EventsCase) -> None:
    ids = events.publisher.put_events([event(n) for n in range(25)])

    delivered = events.delivered()

    assert len(ids) == 25
    assert len(set(ids)) == 25
    assert {e["id"] for e in delivered} == set(ids)
    assert sorted(e["detail"]["run"] for e in delivered) == list(range(25))
