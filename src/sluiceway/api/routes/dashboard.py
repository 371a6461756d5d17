"""The home page's charts: executions per minute, dead-letter depths, alarm states, event lag.

A dead-letter queue is any SQS queue something sends its failures to (:mod:`._dead_letters`): a
queue's RedrivePolicy, an EventBridge target's DeadLetterConfig, a function's DeadLetterConfig.

Every series comes from CloudWatch's GetMetricData (period 60) over metrics found with
ListMetrics, summed here rather than with metric math: ``SUM(SEARCH(...))`` is a CloudWatch
function the local endpoint does not compute, and plain queries give the same sums on AWS.

Event lag is AWS/Events ``IngestionToInvocationStartLatency`` (no dimensions, the average per
minute): EventBridge reports it on AWS, and the local bus's deliveries feed it locally. Until an
event has reached a target, CloudWatch holds no such metric and ``eventLag`` is null.

Alarm states over time are no metric: CloudWatch keeps them as alarm history. ``alarmSeries`` is
rebuilt from DescribeAlarmHistory's ``StateUpdate`` items (each names the old and the new state)
and ``ConfigurationUpdate`` items (an alarm created or deleted within the window), walking back
from each alarm's state now (DescribeAlarms): see :func:`_alarm_series`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter

from ..aws import Aws
from ..schemas import Dashboard
from ._dead_letters import dead_letter_targets, name_of, queue_attributes, queue_urls
from ._deps import AwsApi, Viewer, errors
from ._paging import paged
from ._series import PERIOD_S, MetricQuery, Minutes, Window, aware, fetch, series, summed

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])

_EXECUTION_METRICS = {
    "ExecutionsStarted": "started",
    "ExecutionsSucceeded": "succeeded",
    "ExecutionsFailed": "failed",
    "ExecutionsTimedOut": "timedOut",
    "ExecutionsAborted": "aborted",
}
_ALARM_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
_ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]
#: DescribeAlarmHistory's largest page.
_HISTORY_PAGE: Final = 100
#: Pages of each history item type read per request at most: 1,000 state changes in the window.
#: A dashboard is polled; an account whose alarms changed state more often than that in the
#: window gets the older minutes as null rather than a request that grows with the history.
MAX_HISTORY_PAGES: Final = 10


def _metrics(aws: Aws, namespace: str, name: str) -> list[tuple[tuple[str, str], ...]]:
    """The dimension sets of a metric CloudWatch holds (ListMetrics)."""
    listed = paged(aws, "cloudwatch", "ListMetrics", {"Namespace": namespace, "MetricName": name}, "Metrics")
    return [tuple((str(d["Name"]), str(d["Value"])) for d in m.get("Dimensions", [])) for m in listed]


def _executions(aws: Aws, window: Window) -> dict[str, Any]:
    queries: list[MetricQuery] = []
    owners: list[str] = []
    for metric, member in _EXECUTION_METRICS.items():
        for dimensions in _metrics(aws, "AWS/States", metric):
            # Per state machine only: the same name by other dimensions would count executions twice.
            if [name for name, _ in dimensions] == ["StateMachineArn"]:
                queries.append(MetricQuery("AWS/States", metric, dimensions, "Sum"))
                owners.append(member)
    fetched = fetch(aws, queries, window)
    return {
        member: series(summed(p for p, o in zip(fetched, owners, strict=True) if o == member), window)
        for member in _EXECUTION_METRICS.values()
    }


def _dead_letter_queues(aws: Aws, window: Window) -> list[dict[str, Any]]:
    """Every queue something sends its failures to, with its depth now and per minute."""
    urls = queue_urls(aws)
    by_name = {name_of(url): url for url in urls}
    queues: list[dict[str, Any]] = []
    for arn, sources in sorted(dead_letter_targets(aws, urls).items()):
        name = name_of(arn)
        dlq_url = by_name.get(name)
        attributes = queue_attributes(aws, dlq_url, ["ApproximateNumberOfMessages"]) if dlq_url else None
        queues.append(
            {
                "name": name,
                "arn": arn,
                "url": dlq_url if attributes is not None else None,
                "messages": int(attributes.get("ApproximateNumberOfMessages", 0)) if attributes is not None else None,
                "sources": sources,
            }
        )
    # The peak of each minute: SQS samples once a minute, and a DLQ's alarm watches the highest depth.
    queries = [MetricQuery("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", q["name"]),), "Maximum") for q in queues]
    for queue, points in zip(queues, fetch(aws, queries, window), strict=True):
        queue["depth"] = series(points, window)
    return queues


def _alarms(aws: Aws) -> list[dict[str, Any]]:
    params = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 100}
    found: list[dict[str, Any]] = []
    while True:
        page = aws.call("cloudwatch", "DescribeAlarms", params)
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            found.append(
                {
                    "alarmName": alarm["AlarmName"],
                    "stateValue": alarm.get("StateValue", "INSUFFICIENT_DATA"),
                    "stateReason": alarm.get("StateReason"),
                    "stateUpdatedTimestamp": alarm.get("StateUpdatedTimestamp"),
                }
            )
        if not page.get("NextToken"):
            break
        params = {**params, "NextToken": page["NextToken"]}
    return sorted(found, key=lambda a: (_ALARM_ORDER.get(a["stateValue"], 3), a["alarmName"]))


@dataclass(frozen=True)
class _Change:
    """What an alarm history item says about an alarm's state (epoch seconds)."""

    alarm: str
    at: float
    kind: str
    """``state`` (``old`` -> ``new``), ``created`` or ``deleted``."""
    old: str | None = None
    new: str | None = None


def _change(item: Mapping[str, Any]) -> _Change | None:
    """The state change an item records; None for an item that changes no alarm's state or existence."""
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    name, at = str(item["AlarmName"]), aware(item["Timestamp"]).timestamp()
    if item.get("HistoryItemType") == "StateUpdate":
        old, new = data.get("oldState"), data.get("newState")
        if isinstance(old, dict) and isinstance(new, dict) and "stateValue" in new:
            return _Change(name, at, "state", old.get("stateValue"), new["stateValue"])
        return None
    # ConfigurationUpdate: "Update" changes no state.
    kinds = {"Create": "created", "Delete": "deleted"}
    return _Change(name, at, kinds[data["type"]]) if data.get("type") in kinds else None


def _history(aws: Aws, item_type: str, window: Window) -> tuple[list[_Change], float | None]:
    """The window's items of one type, newest first, and the moment before which they are incomplete.

    At most :data:`MAX_HISTORY_PAGES` pages are read; when more remain, the moment is the oldest
    item read (items at that very moment may be among those unread), else None.
    """
    params: dict[str, Any] = {
        "AlarmTypes": _ALARM_TYPES,
        "HistoryItemType": item_type,
        "StartDate": window.start,
        "ScanBy": "TimestampDescending",
        "MaxRecords": _HISTORY_PAGE,
    }
    items: list[Mapping[str, Any]] = []
    for _ in range(MAX_HISTORY_PAGES):
        page = aws.call("cloudwatch", "DescribeAlarmHistory", params)
        items.extend(page.get("AlarmHistoryItems", []))
        if not page.get("NextToken"):
            return [c for c in map(_change, items) if c is not None], None
        params = {**params, "NextToken": page["NextToken"]}
    changes = [c for c in map(_change, items) if c is not None]
    oldest = min((aware(item["Timestamp"]).timestamp() for item in items), default=window.now.timestamp())
    return changes, oldest


def _spans(changes: Sequence[_Change], now_state: str | None, since: float, until: float) -> Iterable[tuple[float, float, str]]:
    """One alarm's states over ``[since, until)`` as ``(from, to, state)``, from its changes in time order.

    ``now_state`` is its state now (None: the alarm no longer exists). Before its first change the
    alarm was in that change's old state (or did not exist yet, if it was created); before a
    deletion with no state change of the window ahead of it, its state is unknown and not counted.
    """
    if not changes:
        state = now_state
    elif changes[0].kind == "state":
        state = changes[0].old
    else:
        state = None
    cursor = since
    for n, change in enumerate(changes):
        if state is not None:
            yield cursor, change.at, state
        cursor = change.at
        if change.kind == "state":
            state = change.new
        elif change.kind == "deleted":
            state = None
        else:  # created: in the state its next change leaves, else the state it is in now
            ahead = changes[n + 1] if n + 1 < len(changes) else None
            state = now_state if ahead is None else ahead.old if ahead.kind == "state" else None
    if state is not None:
        yield cursor, until, state


def _alarm_series(aws: Aws, window: Window, alarms: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How many alarms were in ALARM, and in INSUFFICIENT_DATA, at some moment of each minute.

    An alarm in ALARM for ten seconds counts for its minute: the chart must not hide a brief alarm.
    The work is bounded: two DescribeAlarmHistory listings (``StateUpdate``, ``ConfigurationUpdate``)
    of at most :data:`MAX_HISTORY_PAGES` pages each; when a listing has more, the minutes up to the
    oldest item read are null (unknown), never a guess.
    """
    start, now = window.start.timestamp(), window.now.timestamp()
    states, complete_after = _history(aws, "StateUpdate", window)
    configurations, configurations_after = _history(aws, "ConfigurationUpdate", window)
    known_after = max((t for t in (complete_after, configurations_after) if t is not None), default=None)
    since = start if known_after is None else max(start, known_after)
    by_alarm: dict[str, list[_Change]] = {str(a["alarmName"]): [] for a in alarms}
    for change in [*states, *configurations]:
        # A change after the window's now is kept: the state before it is the one the window ends in.
        if change.at >= since:
            by_alarm.setdefault(change.alarm, []).append(change)
    current = {str(a["alarmName"]): str(a["stateValue"]) for a in alarms}

    wanted = {"ALARM": "alarm", "INSUFFICIENT_DATA": "insufficientData"}
    minutes = window.minutes
    # Per state, +1 where an alarm's minutes in it begin and -1 past their end, summed in one pass.
    steps = {member: [0] * (minutes + 1) for member in wanted.values()}
    for name, changes in by_alarm.items():
        changes.sort(key=lambda c: c.at)  # stable: items of one moment stay in the order CloudWatch listed them
        covered = {member: -1 for member in wanted.values()}
        for begin, until, state in _spans(changes, current.get(name), since, now):
            member, end = wanted.get(state), min(until, now)
            if member is None or end <= begin:
                continue
            first = max(int((begin - start) // PERIOD_S), covered[member] + 1)
            last = min(int(-((start - end) // PERIOD_S)) - 1, minutes - 1)  # the minute holding the span's last instant
            if first <= last:
                steps[member][first] += 1
                steps[member][last + 1] -= 1
                covered[member] = last
    unknown_until = -1 if known_after is None else int((known_after - start) // PERIOD_S)
    stamps = series({}, window)["timestamps"]
    answer: dict[str, Any] = {}
    for member, deltas in steps.items():
        values: list[float | None] = []
        running = 0
        for index in range(minutes):
            running += deltas[index]
            values.append(None if index <= unknown_until else float(running))
        answer[member] = {"timestamps": stamps, "values": values}
    return answer


def _event_lag(aws: Aws, window: Window) -> dict[str, Any] | None:
    # The account-wide metric (no dimensions): EventBridge also reports it per bus and rule.
    if () not in _metrics(aws, "AWS/Events", "IngestionToInvocationStartLatency"):
        return None
    (points,) = fetch(aws, [MetricQuery("AWS/Events", "IngestionToInvocationStartLatency", (), "Average")], window)
    return series(points, window, fill=None)


@router.get("/dashboard", response_model=Dashboard, responses=errors())
def dashboard(aws: AwsApi, _: Viewer, minutes: Minutes = 60) -> dict[str, Any]:
    """What the home page charts over the last ``minutes`` minutes, one data point a minute."""
    window = Window.last(minutes)
    alarms = _alarms(aws)
    counts = {state: 0 for state in _ALARM_ORDER}
    for alarm in alarms:
        counts[alarm["stateValue"]] = counts.get(alarm["stateValue"], 0) + 1
    return {
        "window": window.to_schema(),
        "executions": _executions(aws, window),
        "deadLetterQueues": _dead_letter_queues(aws, window),
        "alarms": alarms,
        "alarmCounts": counts,
        "alarmSeries": _alarm_series(aws, window, alarms),
        "eventLag": _event_lag(aws, window),
    }
