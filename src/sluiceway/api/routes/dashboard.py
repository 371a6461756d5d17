"""The home page's charts: executions per minute, dead-letter depths, alarm states, event lag.

A dead-letter queue is any SQS queue something sends its failures to: a queue's RedrivePolicy, an
EventBridge target's DeadLetterConfig, a function's DeadLetterConfig (asynchronous invocations).

Every series comes from CloudWatch's GetMetricData (period 60) over metrics found with
ListMetrics, summed here rather than with metric math: ``SUM(SEARCH(...))`` is a CloudWatch
function the local endpoint does not compute, and plain queries give the same sums on AWS.

Event lag is AWS/Events ``IngestionToInvocationStartLatency`` (no dimensions, the average per
minute): EventBridge reports it on AWS, and the local bus's deliveries feed it locally. Until an
event has reached a target, CloudWatch holds no such metric and ``eventLag`` is null.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter

from ..aws import Aws, AwsCallError
from ..schemas import Dashboard
from ._deps import AwsApi, Viewer, errors
from ._series import MetricQuery, Minutes, Window, fetch, series, summed

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])

_NOT_FOUND = ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
_EXECUTION_METRICS = {
    "ExecutionsStarted": "started",
    "ExecutionsSucceeded": "succeeded",
    "ExecutionsFailed": "failed",
    "ExecutionsTimedOut": "timedOut",
    "ExecutionsAborted": "aborted",
}
_ALARM_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def _paged(
    aws: Aws, service: str, operation: str, params: dict[str, Any], items: str, token: str = "NextToken", request_token: str | None = None
) -> list[dict[str, Any]]:
    """Every item of a listing; ``request_token`` names the token in the request when it differs (Lambda's Marker)."""
    found: list[dict[str, Any]] = []
    while True:
        page = aws.call(service, operation, params)
        found.extend(page.get(items, []))
        if not page.get(token):
            return found
        params = {**params, request_token or token: page[token]}


def _metrics(aws: Aws, namespace: str, name: str) -> list[tuple[tuple[str, str], ...]]:
    """The dimension sets of a metric CloudWatch holds (ListMetrics)."""
    listed = _paged(aws, "cloudwatch", "ListMetrics", {"Namespace": namespace, "MetricName": name}, "Metrics")
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


def _queue_attributes(aws: Aws, url: str, names: list[str]) -> dict[str, str] | None:
    try:
        found: dict[str, str] = aws.call("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": names}).get("Attributes", {})
    except AwsCallError as error:
        if error.code in _NOT_FOUND:
            return None  # deleted since it was listed
        raise
    return found


def _name_of(url_or_arn: str) -> str:
    return url_or_arn.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def _dead_letter_targets(aws: Aws, urls: list[str]) -> dict[str, list[dict[str, str]]]:
    """Dead-letter queue ARN -> what sends to it: queues (RedrivePolicy), rules' targets, functions (DeadLetterConfig)."""
    targets: dict[str, list[dict[str, str]]] = {}

    def add(arn: Any, kind: str, name: str) -> None:
        # Only SQS queues have a depth; a function's dead-letter target may also be an SNS topic.
        if isinstance(arn, str) and arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]:
            targets.setdefault(arn, []).append({"type": kind, "name": name})

    for url in urls:
        attributes = _queue_attributes(aws, url, ["RedrivePolicy"])
        policy = json.loads(attributes["RedrivePolicy"]) if attributes and attributes.get("RedrivePolicy") else None
        if isinstance(policy, dict):
            add(policy.get("deadLetterTargetArn"), "AWS::SQS::Queue", _name_of(url))
    for bus in _paged(aws, "events", "ListEventBuses", {}, "EventBuses"):
        for rule in _paged(aws, "events", "ListRules", {"EventBusName": bus["Name"]}, "Rules"):
            for target in _paged(aws, "events", "ListTargetsByRule", {"Rule": rule["Name"], "EventBusName": bus["Name"]}, "Targets"):
                add((target.get("DeadLetterConfig") or {}).get("Arn"), "AWS::Events::Rule", f"{bus['Name']}/{rule['Name']}")
    for function in _paged(aws, "lambda", "ListFunctions", {}, "Functions", "NextMarker", "Marker"):
        add((function.get("DeadLetterConfig") or {}).get("TargetArn"), "AWS::Lambda::Function", str(function["FunctionName"]))
    return targets


def _dead_letter_queues(aws: Aws, window: Window) -> list[dict[str, Any]]:
    """Every queue something sends its failures to, with its depth now and per minute."""
    urls = _queue_urls(aws)
    by_name = {_name_of(url): url for url in urls}
    queues: list[dict[str, Any]] = []
    for arn, sources in sorted(_dead_letter_targets(aws, urls).items()):
        name = _name_of(arn)
        dlq_url = by_name.get(name)
        attributes = _queue_attributes(aws, dlq_url, ["ApproximateNumberOfMessages"]) if dlq_url else None
        queues.append(
            {
                "name": name,
                "arn": arn,
                "url": dlq_url if attributes is not None else None,
                "messages": int(attributes.get("ApproximateNumberOfMessages", 0)) if attributes is not None else None,
                "sources": sorted(sources, key=lambda s: (s["type"], s["name"])),
            }
        )
    # The peak of each minute: SQS samples once a minute, and a DLQ's alarm watches the highest depth.
    queries = [MetricQuery("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", q["name"]),), "Maximum") for q in queues]
    for queue, points in zip(queues, fetch(aws, queries, window), strict=True):
        queue["depth"] = series(points, window)
    return queues


def _queue_urls(aws: Aws) -> list[str]:
    urls: list[str] = []
    params: dict[str, Any] = {"MaxResults": 1000}
    while True:
        page = aws.call("sqs", "ListQueues", params)
        urls.extend(str(u) for u in page.get("QueueUrls", []))
        if not page.get("NextToken"):
            return urls
        params = {"MaxResults": 1000, "NextToken": page["NextToken"]}


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
