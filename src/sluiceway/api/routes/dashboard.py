"""The home page's charts: executions per minute, dead-letter depths, alarm states, event lag.

A dead-letter queue is any SQS queue something sends its failures to (:mod:`._dead_letters`): a
queue's RedrivePolicy, an EventBridge target's DeadLetterConfig, a function's DeadLetterConfig.

Every series comes from CloudWatch's GetMetricData (period 60) over metrics found with
ListMetrics, summed here rather than with metric math: ``SUM(SEARCH(...))`` is a CloudWatch
function the local endpoint does not compute, and plain queries give the same sums on AWS.

Event lag is AWS/Events ``IngestionToInvocationStartLatency`` (no dimensions, the average per
minute): EventBridge reports it on AWS, and the local bus's deliveries feed it locally. Until an
event has reached a target, CloudWatch holds no such metric and ``eventLag`` is null.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..aws import Aws
from ..schemas import Dashboard
from ._dead_letters import dead_letter_targets, name_of, queue_attributes, queue_urls
from ._deps import AwsApi, Viewer, errors
from ._paging import paged
from ._series import MetricQuery, Minutes, Window, fetch, series, summed

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
        "eventLag": _event_lag(aws, window),
    }
