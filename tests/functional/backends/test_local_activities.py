"""The activities' store: scheduled tasks queued once per task, handed out once (with what the caller
commits beside it, or not at all), long polls woken, and ended for good by close."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.activities import ActivityTask, SqliteActivities
from sluiceway.clock import SystemClock

ARN = "arn:aws:states:us-east-1:111111111111:activity:a"


def _activities(tmp_path: Path) -> SqliteActivities:
    activities = SqliteActivities(Database(tmp_path / "db.sqlite"), SystemClock())
    activities.create(ARN, "a", {"type": "AWS_OWNED_KEY"}, {})
    return activities


def test_a_task_is_queued_once_and_stays_when_its_activity_goes(tmp_path: Path) -> None:
    activities = _activities(tmp_path)
    assert activities.schedule(ARN, "exec-1", "task-1", "token-1", '{"a":1}') == "scheduled"
    activities.delete(ARN)
    # A restart queues it again: what was queued stays, though the activity is gone.
    assert activities.schedule(ARN, "exec-1", "task-1", "token-1", '{"a":1}') == "scheduled"
    assert [t.task_token for t in activities.waiting(ARN)] == ["token-1"]
    assert activities.schedule(ARN, "exec-1", "task-2", "token-2", "{}") == "missing"


def test_a_task_is_handed_out_once(tmp_path: Path) -> None:
    activities = _activities(tmp_path)
    activities.schedule(ARN, "exec-1", "task-1", "token-1", "{}")
    with activities.hand_out("exec-1", "task-1", "w1") as first:
        assert first is True
    with activities.hand_out("exec-1", "task-1", "w2") as second:
        assert second is False
    assert activities.waiting(ARN) == []
    activities.forget("exec-1")
    assert activities.schedule(ARN, "exec-1", "task-1", "token-1", "{}") == "scheduled"  # gone with its execution


def test_a_poll_with_nothing_scheduled_answers_nothing_when_its_wait_ends(tmp_path: Path) -> None:
    activities = _activities(tmp_path)
    began = time.monotonic()
    assert activities.poll(ARN, 0.2, lambda: None) is None
    assert 0.2 <= time.monotonic() - began < 2


def test_a_poll_is_woken_by_a_scheduled_task(tmp_path: Path) -> None:
    activities = _activities(tmp_path)

    def take() -> ActivityTask | None:
        for task in activities.waiting(ARN):
            with activities.hand_out(task.execution_arn, task.task, None) as claimed:
                if claimed:
                    return task
        return None

    got: list[ActivityTask | None] = []
    poller = threading.Thread(target=lambda: got.append(activities.poll(ARN, 30, take)))
    poller.start()
    assert activities.wait_for_pollers(ARN, timeout=10)
    began = time.monotonic()
    activities.schedule(ARN, "exec-1", "task-1", "token-1", "{}")
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert got[0] is not None and got[0].task_token == "token-1"
    assert time.monotonic() - began < POLL_SLACK_S


POLL_SLACK_S = 0.9
"""Below the store's one-second look-again interval: the poll was woken, it did not look by itself."""


def test_a_hand_out_whose_block_fails_leaves_the_task_queued(tmp_path: Path) -> None:
    activities = _activities(tmp_path)
    activities.schedule(ARN, "exec-1", "task-1", "token-1", "{}")
    with pytest.raises(RuntimeError), activities.hand_out("exec-1", "task-1", "w1") as claimed:
        assert claimed
        raise RuntimeError("the execution's ActivityStarted did not commit")
    assert [t.task_token for t in activities.waiting(ARN)] == ["token-1"]


def test_close_ends_a_waiting_poll_and_later_polls_never_take(tmp_path: Path) -> None:
    activities = _activities(tmp_path)
    looked: list[str] = []

    def take() -> ActivityTask | None:
        looked.append("look")
        return None

    ended: list[ActivityTask | None] = []
    poller = threading.Thread(target=lambda: ended.append(activities.poll(ARN, 600, take)))
    poller.start()
    assert activities.wait_for_pollers(ARN, timeout=10)
    activities.close()
    poller.join(timeout=10)  # a 600-second poll: only close can have ended it
    assert not poller.is_alive() and ended == [None]
    looks = len(looked)
    activities.schedule(ARN, "exec-1", "task-1", "token-1", "{}")
    assert activities.poll(ARN, 600, take) is None
    assert len(looked) == looks  # a poll after close does not even look
