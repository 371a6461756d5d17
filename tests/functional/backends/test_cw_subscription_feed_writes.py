"""The subscription feed's writes: none while no filter exists; a filter put later still gets only the events after it."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluiceway.backends.local._cw_subscription_feed import SubscriptionFeed
from sluiceway.backends.local.subscription_filters import SubscriptionFilter
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ACCOUNT = "111111111111"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sink"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    built = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1), invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None  # the test pulls the feed itself
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


def _feed(stack: Stack) -> SubscriptionFeed:
    local, kinesis = stack.local, stack.kinesis
    assert kinesis is not None
    return SubscriptionFeed(local.cloudwatch, local.logs.path, local.async_invocations, kinesis, account_id=ACCOUNT)


def _put(stack: Stack, *messages: str) -> None:
    now = int(time.time() * 1000)
    stack.local.logs.put("/g", "s", [(now, m) for m in messages], create=True)


def _last_event(stack: Stack) -> int:
    with contextlib.closing(sqlite3.connect(stack.local.logs.path)) as logs:
        return int(logs.execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0])


def _queued(stack: Stack) -> int:
    return int(stack.local.db.connection().execute("SELECT count(*) FROM lambda_async_invocations").fetchone()[0])


def test_a_pull_without_filters_writes_nothing(stack: Stack) -> None:
    feed = _feed(stack)
    try:
        _put(stack, "one", "two")
        statements: list[str] = []
        connection = stack.local.db.connection()
        connection.set_trace_callback(statements.append)
        try:
            assert feed.pull() == 0
        finally:
            connection.set_trace_callback(None)
        writes = [s for s in statements if s.split(None, 1)[0].upper() in ("BEGIN", "INSERT", "UPDATE", "DELETE", "REPLACE")]
        assert writes == []
    finally:
        feed.close()


def test_a_filter_put_after_idle_pulls_delivers_only_the_events_after_it(stack: Stack) -> None:
    feed = _feed(stack)
    try:
        _put(stack, "before-1", "before-2")
        assert feed.pull() == 0  # no filter: the cursor is not moved
        last = _last_event(stack)
        feed.filters.put(
            SubscriptionFilter("/g", "f", "", FUNCTION, None, "ByLogStream", False, None, None, 0, 0),
            after_event=last,
        )
        _put(stack, "after-1")
        assert feed.pull() == 1
        [payload] = [row[0] for row in stack.local.db.connection().execute("SELECT payload FROM lambda_async_invocations")]
        assert _queued(stack) == 1
        document = json.loads(gzip.decompress(base64.b64decode(json.loads(payload)["awslogs"]["data"])))
        assert [e["message"] for e in document["logEvents"]] == ["after-1"]
        assert feed.pull() == 0
    finally:
        feed.close()
