"""CloudWatch Logs subscription filters' deliveries, from the log events of every log group, each event once.

For each log event put into a group after a subscription filter on that group was put, the
filter's pattern is tried; the events that match go to the filter's destination in CloudWatch
Logs' subscription format (:func:`data_message`): gzipped JSON, one message per log stream a pull
found events in, at most :data:`MAX_MESSAGE_EVENTS` events and about :data:`MAX_MESSAGE_BYTES`
of messages each. A Lambda function gets it as an asynchronous invocation with the event
``{"awslogs": {"data": base64(gzip(json))}}``; a Kinesis stream as one record whose data is the
gzipped JSON (Kinesis' own base64 is its wire format).

Exactly once, as the metric filter feed (:mod:`._cw_metric_filter_feed`): the log events after the
feed's cursor are read from ``logs.db`` and matched outside any transaction; the invocations
queued (``lambda_async_invocations``), the Kinesis records put and the cursor moved past them
commit in one transaction of the state database, only if the cursor and the filters are still
what the batch was read with (otherwise it is read and matched again). A crash before the commit
delivers nothing of the batch, and the next pull delivers it all.

Deliveries happen when the feed is pulled (each turn of the stack's CloudWatch alarm evaluator,
every few seconds), not as each event is put: CloudWatch Logs itself delivers within seconds,
in batches. A function subscribed to its own log group, whose every run writes lines the filter
may match, is invoked again for them: AWS does the same (its documentation warns of the loop
and of the bill); locally the loop turns at most once a pull per log stream, never faster.

An account-level subscription filter policy (:mod:`.account_policies`) is delivered the same
way, as a filter on each log group it selects (those made after it too), its messages marked
``"policyLevel": "ACCOUNT_LEVEL_POLICY"``. A policy whose destination function's own log group
is not excluded by its selection criteria loops so too (AWS's documentation asks for it to be
excluded; AWS does not exclude it itself).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ...observability.log_patterns import FilterPatternError, LogPattern, compile_pattern
from ._cw_log_events import CompiledFilters, LogEvents, SkippedEvents, applying
from .account_policies import LogGroupNames, SqliteAccountPolicies, SubscriptionPolicy, applied_filters
from .async_invocations import SqliteAsyncInvocations
from .cloudwatch import SqliteCloudWatch
from .kinesis import SqliteKinesis
from .kinesis.store import PutEntry
from .subscription_filters import SqliteSubscriptionFilters, SubscriptionFilter

logger = logging.getLogger(__name__)

__all__ = ["MAX_MESSAGE_BYTES", "MAX_MESSAGE_EVENTS", "SubscriptionFeed", "control_message", "data_message", "event_id"]

MAX_MESSAGE_EVENTS: Final = 10_000
"""Events in one delivery at most (PutLogEvents' own batch limit; AWS does not document its own)."""
MAX_MESSAGE_BYTES: Final = 256 * 1024
"""About how many bytes of messages one delivery carries at most: its gzipped, base64-encoded form
stays within Lambda's limit for an asynchronous invocation's event (256 KB). AWS's own batching
is not documented."""
_EVENT_OVERHEAD: Final = 26
_NAMESPACE: Final = uuid.UUID("6f1d2c0e-3b1a-4d5e-9c7f-5a0e8b2d4c61")
"""Request ids are derived from what is delivered: a delivery made twice queues one invocation."""

CONTROL_TEXT: Final = "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."


def event_id(timestamp_ms: int, position: int) -> str:
    """A log event's ``id`` as subscriptions (and FilterLogEvents) show it: 56 digits, in order."""
    return f"{timestamp_ms:020d}{position:036d}"


def data_message(
    *, owner: str, group: str, stream: str, filter_name: str, events: Sequence[Mapping[str, Any]], policy_level: str | None = None
) -> bytes:  # fmt: skip
    """A ``DATA_MESSAGE``, gzipped: the log events one filter delivers from one stream.

    ``policy_level``: ``ACCOUNT_LEVEL_POLICY`` for an account policy's delivery (``filter_name``
    then is the policy's name); a group's own filter's delivery has no ``policyLevel``."""
    document: dict[str, Any] = {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": [filter_name],
        "logEvents": list(events),
    }
    if policy_level is not None:
        document["policyLevel"] = policy_level  # last, as AWS's documentation lists it
    return gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)


def control_message(now_ms: int) -> bytes:
    """The ``CONTROL_MESSAGE`` CloudWatch Logs puts into a Kinesis stream when a filter on it is put
    (consumers are expected to skip it), gzipped."""
    document = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": now_ms, "message": CONTROL_TEXT}],
    }
    return gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)


def partition_key(record: SubscriptionFilter, stream: str) -> str:
    """The Kinesis partition key of a delivery: by log stream (``ByLogStream``), the same key for a
    stream's deliveries, so they keep their order in one shard; ``Random``, any key. AWS does not
    document its keys (records it puts carry 32 hex digits): an MD5 in hex is that shape."""
    if record.distribution == "Random":
        return uuid.uuid4().hex
    return hashlib.md5(f"{record.log_group}\n{stream}".encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Applied:
    filter: SubscriptionFilter
    pattern: LogPattern


@dataclass(frozen=True)
class _Delivery:
    filter: SubscriptionFilter
    stream: str
    events: tuple[dict[str, Any], ...]
    first: int
    last: int
    """The positions (in logs.db) of its first and last event: what makes it this delivery."""


class SubscriptionFeed:
    """Subscription filters' deliveries, from the log store's file (read-only here) to their destinations.

    Args:
        store: the CloudWatch store, whose feed cursors keep how far this feed has read.
        logs_path: the log store's database (``logs.db``).
        invocations: the stack's asynchronous invocation queue (Lambda destinations).
        kinesis: the stack's Kinesis streams (Kinesis destinations).
        account_id: the ``owner`` of what is delivered.
        batch: log events read per transaction.
    """

    name = "logs-subscription-filters"

    def __init__(
        self,
        store: SqliteCloudWatch,
        logs_path: Path,
        invocations: SqliteAsyncInvocations,
        kinesis: SqliteKinesis,
        *,
        account_id: str,
        batch: int = 5000,
    ) -> None:
        if invocations.db is not store.db or kinesis.db is not store.db:
            raise ValueError("the subscription feed commits its cursor with its deliveries: one database")
        self.store = store
        self.filters = SqliteSubscriptionFilters(store.db, store.clock)
        self.policies = SqliteAccountPolicies(store.db, store.clock)
        self.invocations = invocations
        self.kinesis = kinesis
        self.account_id = account_id
        self.batch = batch
        self._events = LogEvents(logs_path)
        self._groups = LogGroupNames(logs_path)
        self._compiled: CompiledFilters[SubscriptionFilter, LogPattern] = CompiledFilters(
            lambda record: compile_pattern(record.pattern),
            lambda record: (record.log_group, record.name, record.pattern),
            # PutSubscriptionFilter checks patterns: only a hand-edited row fails.
            errors=(FilterPatternError,),
            warning="a subscription filter cannot be applied; skipped",
            log=logger,
        )
        self._skipped = SkippedEvents(self.name, "a log event could not be read for a subscription filter; skipped", logger)
        store.start_cursor(self.name, self._events.end())

    def close(self) -> None:
        self._events.close()
        self._groups.close()

    def pull(self) -> int:
        """Deliver every matching log event after the cursor; how many deliveries were made."""
        sent = 0
        while True:
            end, (stored, records, applied) = self._events.window(self._applied)
            after = self.store.cursor(self.name)
            if end <= after or not records:
                # Without a filter there is nothing to deliver nor to record: no write at all. The
                # cursor stays; a filter put later delivers only the events after it (applies_after),
                # so the read then starts there rather than at the cursor.
                return sent
            start = max(after, min(r.applies_after for r in records))
            read = self._events.after(start, end, (a.filter.log_group for a in applied), batch=self.batch)
            # Compressed before the write transaction: it holds the state database's lock only to queue and put.
            prepared = [(delivery, self._message(delivery)) for delivery in self._match(read.rows, applied)]
            with self.store.db.transaction():
                if self.store.cursor(self.name) != after or self._stored() != stored:
                    continue  # another feeder delivered this range first, or a filter or policy changed: read again
                for delivery, data in prepared:
                    self._deliver(delivery, data)
                self.store.set_cursor(self.name, read.position)
            sent += len(prepared)
            if read.last:
                return sent

    def _stored(self) -> tuple[list[SubscriptionFilter], list[SubscriptionPolicy]]:
        """The groups' filters and the account's subscription filter policies, as stored."""
        return self.filters.all(), self.policies.subscription_policies()

    def _applied(
        self,
    ) -> tuple[tuple[list[SubscriptionFilter], list[SubscriptionPolicy]], list[SubscriptionFilter], list[_Applied]]:
        """What is stored; every filter it makes (the account policies' on each group they select);
        and those whose pattern compiles.

        The groups are read after the end of the events (:meth:`LogEvents.window`): an event up to
        the end is of a group that exists by then. Groups made later change nothing the batch
        delivers, so they are not among what the feed's transaction checks again.
        """
        stored = self._stored()
        filters, policies = stored
        records = filters + applied_filters(policies, self._groups.names()) if policies else filters
        return stored, records, [_Applied(record, pattern) for record, pattern in self._compiled.applied(records)]

    def _match(self, rows: list[sqlite3.Row], applied: list[_Applied]) -> list[_Delivery]:
        """The deliveries the batch makes: per filter and log stream, its matching events in order."""
        pending: dict[tuple[str, str | None, str, str], list[tuple[int, dict[str, Any]]]] = {}
        for row, item in applying(rows, applied):
            try:
                matched = item.pattern.match(row["message"])
            except Exception:
                self._skipped.skip(row, item.filter)
                continue
            if matched is None:
                continue
            event: dict[str, Any] = {
                "id": event_id(int(row["ts_ms"]), int(row["id"])),
                "timestamp": int(row["ts_ms"]),
                "message": row["message"],
            }
            if matched.fields:
                # A space-delimited pattern's named fields, as AWS adds them to each event.
                event["extractedFields"] = {name.removeprefix("$"): value for name, value in matched.fields.items()}
            # The level too: a group's filter and the account policy may share a name.
            key = (item.filter.log_group, item.filter.policy_level, item.filter.name, row["stream"])
            pending.setdefault(key, []).append((int(row["id"]), event))
        by_name = {(a.filter.log_group, a.filter.policy_level, a.filter.name): a.filter for a in applied}
        deliveries: list[_Delivery] = []
        for (group, level, name, stream), events in pending.items():
            deliveries.extend(_split(by_name[(group, level, name)], stream, events))
        return deliveries

    def _message(self, delivery: _Delivery) -> bytes:
        """The delivery's ``DATA_MESSAGE``, gzipped."""
        record = delivery.filter
        return data_message(
            owner=self.account_id,
            group=record.log_group,
            stream=delivery.stream,
            filter_name=record.name,
            events=delivery.events,
            policy_level=record.policy_level,
        )

    def _deliver(self, delivery: _Delivery, data: bytes) -> None:
        """Queue or put one delivery (``data``: its message), inside the feed's transaction."""
        record = delivery.filter
        arn = record.destination_arn
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        if service == "lambda":
            level = "" if record.policy_level is None else f"{record.policy_level}\n"  # a group filter's ids are as before
            request_id = str(uuid.uuid5(_NAMESPACE, f"{level}{record.log_group}\n{record.name}\n{delivery.first}\n{delivery.last}\n{arn}"))
            self.invocations.enqueue(arn, {"awslogs": {"data": base64.b64encode(data).decode()}}, request_id=request_id)
        elif service == "kinesis":
            stream_arn = self.kinesis.stream_arn(arn)
            if stream_arn is None:
                # CloudWatch Logs cannot deliver to a stream that is gone: the events are dropped.
                logger.warning(
                    "a subscription's Kinesis stream does not exist; events dropped", extra={"filter": record.name, "stream": arn}
                )
                return
            self.kinesis.put(stream_arn, [PutEntry(partition_key(record, delivery.stream), data)])
        else:  # PutSubscriptionFilter takes no other destination
            logger.warning("a subscription's destination is not served; events dropped", extra={"filter": record.name, "destination": arn})


def _split(record: SubscriptionFilter, stream: str, events: list[tuple[int, dict[str, Any]]]) -> list[_Delivery]:
    """One stream's events for one filter, in deliveries of at most :data:`MAX_MESSAGE_EVENTS` events
    and about :data:`MAX_MESSAGE_BYTES` (a single larger event goes alone)."""
    deliveries: list[_Delivery] = []
    current: list[tuple[int, dict[str, Any]]] = []
    size = 0
    for position, event in events:
        cost = len(str(event["message"]).encode()) + _EVENT_OVERHEAD
        if current and (len(current) >= MAX_MESSAGE_EVENTS or size + cost > MAX_MESSAGE_BYTES):
            deliveries.append(_Delivery(record, stream, tuple(e for _, e in current), current[0][0], current[-1][0]))
            current, size = [], 0
        current.append((position, event))
        size += cost
    if current:
        deliveries.append(_Delivery(record, stream, tuple(e for _, e in current), current[0][0], current[-1][0]))
    return deliveries
