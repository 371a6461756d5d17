"""Claims of a process that is gone are released at once; transactions nest; effects wait for the commit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.journal import SqliteTaskJournal
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import NewDelivery, Rule, Target

# A process that takes every due claim of both kinds and then waits to be killed.
CLAIMER = textwrap.dedent(
    """
    import sys
    from datetime import timedelta
    from sluiceway.backends.local._sqlite import Database
    from sluiceway.backends.local.events import SqliteEventBus
    from sluiceway.backends.local.topics import SqliteTopic
    from sluiceway.clock import SystemClock

    db = Database(sys.argv[1])
    clock = SystemClock()
    now = clock.now()
    bus = SqliteEventBus(db, clock)
    for row in bus.due(now):
        assert bus.claim(row.id, now, now + timedelta(minutes=5))
    topic = SqliteTopic(db, sys.argv[2], clock)
    for row in topic.due(now):
        assert topic.claim(row.id, now, now + timedelta(minutes=5))
    print("claimed", flush=True)
    sys.stdin.read()
    """
)


def claimed_by_a_process(db_path: Path, outbox: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(db_path), str(outbox)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "claimed"
    return proc


def test_claims_of_a_killed_process_are_released_at_once_and_a_living_ones_are_not(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    clock = SystemClock()
    bus = SqliteEventBus(db, clock)
    bus.put_rule(Rule("r", compile_pattern({"source": ["s"]}), (Target("t", "arn:aws:sqs:us-east-1:1:q"),)))
    bus.put_events([{"source": "s", "detail-type": "d", "detail": {}}])
    [event] = bus.unrouted()
    bus.route(event.seq, [NewDelivery("r", "t", "stored")])
    topic = SqliteTopic(db, tmp_path / "outbox.jsonl", clock)
    topic.create_topic("alerts", outbox=False)
    topic.subscribe("alerts", "http", "http://127.0.0.1:9/hook")
    topic.publish("alerts", "hello")
    proc = claimed_by_a_process(tmp_path / "state.db", tmp_path / "outbox.jsonl")
    try:
        assert bus.due(clock.now()) == [] and topic.due(clock.now()) == []  # claimed for five minutes
        assert bus.release_orphans() == 0 and topic.release_orphans() == 0  # by a process that lives
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()  # reaps it and closes its pipes
    assert bus.release_orphans() == 1 and topic.release_orphans() == 1
    assert len(bus.due(clock.now())) == 1 and len(topic.due(clock.now())) == 1
    db.close()


def test_nested_transactions_commit_together_and_roll_back_alone(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    conn = db.connection()
    conn.execute("CREATE TABLE t (x INTEGER)")
    ran: list[str] = []
    with db.transaction() as outer:
        outer.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError), db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (2)")
            raise ValueError("inner fails")
        with db.transaction() as inner:
            inner.execute("INSERT INTO t VALUES (3)")
            db.after_commit(lambda: ran.append("after"))
        assert ran == []  # not before the outer commit
    assert ran == ["after"]
    assert [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    with pytest.raises(RuntimeError), db.transaction() as outer:
        outer.execute("INSERT INTO t VALUES (4)")
        db.after_commit(lambda: ran.append("never"))
        raise RuntimeError("rolled back")
    assert ran == ["after"] and [r[0] for r in conn.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    db.close()


def test_a_journaled_publish_happens_once_whatever_runs_it_again(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    topic = SqliteTopic(db, tmp_path / "outbox.jsonl", FakeClock())
    journal = SqliteTaskJournal(db)
    ids = [journal.once("arn:exec#task-7", lambda: topic.publish("alerts", "once")) for _ in range(3)]
    assert len(set(ids)) == 1 and [m.message for m in topic.messages()] == ["once"]
    assert (tmp_path / "outbox.jsonl").read_text().count('"once"') == 1
    # An effect that fails records nothing: the task may run again.
    with pytest.raises(ValueError):
        journal.once("arn:exec#task-8", lambda: (topic.publish("alerts", "rolled back"), int("x"))[0])
    assert [m.message for m in topic.messages()] == ["once"]
    assert journal.once("arn:exec#task-8", lambda: topic.publish("alerts", "second try")) is not None
    assert [m.message for m in topic.messages()] == ["once", "second try"]
    db.close()


def test_an_executions_journal_goes_when_it_ends(tmp_path: Path) -> None:
    from dataclasses import replace

    from sluiceway.backends.local.executions import SqliteExecutionStore
    from sluiceway.ports import ExecutionRecord

    db = Database(tmp_path / "state.db")
    store, journal = SqliteExecutionStore(db), SqliteTaskJournal(db)
    record = ExecutionRecord("arn:x:exec:one", "one", "M", "RUNNING", {}, started_at=FakeClock().now(), state={})
    store.create(record, [])
    journal.once("arn:x:exec:one#task-1", lambda: {"n": 1})
    journal.once("arn:x:exec:two#task-1", lambda: {"n": 2})
    store.advance(replace(record, status="SUCCEEDED"), [])
    rows = [r[0] for r in db.connection().execute("SELECT task_key FROM task_effects")]
    assert rows == ["arn:x:exec:two#task-1"]
    db.close()


def test_effects_queued_in_a_rolled_back_savepoint_never_run(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    ran: list[str] = []
    with db.transaction():
        db.after_commit(lambda: ran.append("kept"))
        with pytest.raises(ValueError), db.transaction():
            db.after_commit(lambda: ran.append("ghost"))
            raise ValueError("the inner part fails")
    assert ran == ["kept"]
    db.close()


def test_lock_files_of_dead_owners_go_when_a_new_owner_starts(tmp_path: Path) -> None:
    folder = tmp_path / "owners"
    folder.mkdir()
    for name in ("123-dead.lock", "456-dead.lock"):
        (folder / name).write_text("")  # nobody holds them: their processes are gone
    db = Database(tmp_path / "state.db")
    mine = db.owner
    assert sorted(p.name for p in folder.iterdir()) == [f"{mine.id}.lock"]
    db.close()


def test_a_line_torn_by_a_crash_is_closed_off_and_its_message_written_whole(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    outbox = tmp_path / "outbox.jsonl"
    topic = SqliteTopic(db, outbox, FakeClock())
    topic.publish("alerts", "first")
    outbox.write_text(outbox.read_text() + '{"message_id": "torn-by-a-cr')  # the process died mid-line
    topic.publish("alerts", "second")
    lines = outbox.read_text().splitlines()
    assert lines[1].startswith('{"message_id": "torn') and json.loads(lines[2])["body"] == "second"
    db.close()


OWNER = textwrap.dedent(
    """
    import sys
    from sluiceway.backends.local._sqlite import Database

    print(Database(sys.argv[1]).owner.id, flush=True)
    sys.stdin.read()
    """
)


def an_owner(db_path: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_a_sweep_removes_only_the_files_of_processes_that_are_gone(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    owners = tmp_path / "owners"
    (living, living_id), (killed, _) = an_owner(tmp_path / "state.db"), an_owner(tmp_path / "state.db")
    try:
        killed.send_signal(signal.SIGKILL)  # no exit hook runs: its file stays behind
        killed.communicate()
        assert len(list(owners.glob("*.lock"))) == 2
        assert db.sweep_owners() == 1
        assert [p.stem for p in owners.glob("*.lock")] == [living_id]
    finally:
        living.communicate()  # its stdin closes and it ends normally: its exit hook takes its file
    assert list(owners.glob("*.lock")) == []
    db.close()


def test_a_sweep_removes_the_unnamed_file_of_a_process_killed_while_starting_but_never_a_fresh_one(tmp_path: Path) -> None:
    # A process killed between creating its "<id>.new" and renaming it to "<id>.lock" leaves the
    # .new behind; a sweep takes it once it is older than any start, and never one that new
    # (its process may be between the creation and the lock).
    owners = tmp_path / "owners"
    owners.mkdir()
    old, fresh = owners / "123-killed.new", owners / "456-starting.new"
    old.write_text("")
    fresh.write_text("")
    hour_ago = old.stat().st_mtime - 3600
    os.utime(old, (hour_ago, hour_ago))
    db = Database(tmp_path / "state.db")
    mine = db.owner  # a new owner sweeps as it starts
    assert sorted(p.name for p in owners.iterdir()) == sorted([f"{mine.id}.lock", fresh.name])
    os.utime(fresh, (hour_ago, hour_ago))
    assert db.sweep_owners() == 1
    assert [p.name for p in owners.iterdir()] == [f"{mine.id}.lock"]
    db.close()
