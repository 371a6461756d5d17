"""Lambda functions: their configuration, AWS/Lambda metrics over a window, and their recent log lines.

Metrics come from CloudWatch GetMetricData by ``FunctionName`` at a period of 60 s. The average
duration is Duration's Sum over its SampleCount, minute by minute and over the window, rather than
an average of per-minute averages (which would weigh a quiet minute like a busy one).
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..aws import Aws, AwsCallError
from ..schemas import FunctionDetail, FunctionList
from ._deps import AwsApi, Viewer, errors
from ._series import MetricQuery, Minutes, Points, Window, fetch, series

__all__ = ["router"]

router = APIRouter(tags=["functions"])

#: Lambda's function names: 1 to 64 letters, digits, hyphens and underscores.
FunctionName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
#: Looked back over in turn for the newest log lines: the latest minute is usually enough, and
#: paging a whole day of a busy function's log for 50 lines is not.
_LOG_SPANS_MIN = (1, 5, 60)
_STATS = (
    ("Invocations", "Sum"),
    ("Errors", "Sum"),
    ("Throttles", "Sum"),
    ("Duration", "Sum"),
    ("Duration", "SampleCount"),
    ("Duration", "Maximum"),
)


def _queries(name: str) -> list[MetricQuery]:
    return [MetricQuery("AWS/Lambda", metric, (("FunctionName", name),), stat) for metric, stat in _STATS]


def _totals(
    invocations: Points, errors_: Points, throttles: Points, duration_sum: Points, samples: Points, maximum: Points
) -> dict[str, Any]:
    count = sum(samples.values())
    return {
        "invocations": sum(invocations.values()),
        "errors": sum(errors_.values()),
        "throttles": sum(throttles.values()),
        "durationAverage": sum(duration_sum.values()) / count if count else None,
        "durationMaximum": max(maximum.values()) if maximum else None,
    }


def _summary(configuration: dict[str, Any], totals: dict[str, Any]) -> dict[str, Any]:
    return {
        "functionName": configuration["FunctionName"],
        "functionArn": configuration["FunctionArn"],
        "runtime": configuration.get("Runtime"),
        "handler": configuration.get("Handler"),
        "memorySize": configuration.get("MemorySize"),
        "timeout": configuration.get("Timeout"),
        "lastModified": configuration.get("LastModified"),
        "metrics": totals,
    }


@router.get("/functions", response_model=FunctionList, responses=errors())
def list_functions(
    aws: AwsApi,
    _: Viewer,
    minutes: Minutes = 60,
    nextToken: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    maxResults: Annotated[int, Query(ge=1, le=50, description="Lambda answers at most 50 a page")] = 50,
) -> dict[str, Any]:
    """A page of functions (ListFunctions) with their totals over the last ``minutes`` minutes."""
    params: dict[str, Any] = {"MaxItems": maxResults}
    if nextToken:
        params["Marker"] = nextToken
    page = aws.call("lambda", "ListFunctions", params)
    configurations = page.get("Functions", [])
    window = Window.last(minutes)
    queries = [q for c in configurations for q in _queries(c["FunctionName"])]
    fetched = fetch(aws, queries, window)
    functions = []
    for n, configuration in enumerate(configurations):
        points = fetched[n * len(_STATS) : (n + 1) * len(_STATS)]
        functions.append(_summary(configuration, _totals(*points)))
    return {"functions": functions, "window": window.to_schema(), "nextToken": page.get("NextMarker")}


@router.get("/functions/{name}", response_model=FunctionDetail, responses=errors(404))
def get_function(
    aws: AwsApi,
    _: Viewer,
    name: FunctionName,
    minutes: Minutes = 60,
    limit: Annotated[int, Query(ge=1, le=500, description="How many of the newest log lines")] = 50,
) -> dict[str, Any]:
    """One function: its totals and per-minute series over the last ``minutes`` minutes, and its newest log lines."""
    configuration = aws.call("lambda", "GetFunctionConfiguration", {"FunctionName": name})
    window = Window.last(minutes)
    invocations, errors_, throttles, duration_sum, samples, maximum = fetch(aws, _queries(name), window)
    average = {stamp: duration_sum.get(stamp, 0.0) / count for stamp, count in samples.items() if count}
    # A function may log elsewhere (LoggingConfig.LogGroup); Lambda's default is /aws/lambda/<name>.
    group = str((configuration.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}")
    return {
        **_summary(configuration, _totals(invocations, errors_, throttles, duration_sum, samples, maximum)),
        "window": window.to_schema(),
        "series": {
            "invocations": series(invocations, window),
            "errors": series(errors_, window),
            "throttles": series(throttles, window),
            # No invocation, no duration: null, not a zero that charts as a fast minute.
            "durationAverage": series(average, window, fill=None),
            "durationMaximum": series(maximum, window, fill=None),
        },
        "logGroupName": group,
        "logEvents": _newest_lines(aws, group, window, limit),
    }


def _newest_lines(aws: Aws, group: str, window: Window, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` lines of the window (FilterLogEvents), newest last; none when the group does not exist yet."""
    end_ms = int(window.now.timestamp() * 1000) + 1
    spans = [m for m in _LOG_SPANS_MIN if m < window.minutes] + [window.minutes]
    lines: list[dict[str, Any]] = []
    for span in spans:
        start = max(window.start, window.now - timedelta(minutes=span))
        lines = []
        params: dict[str, Any] = {"logGroupName": group, "startTime": int(start.timestamp() * 1000), "endTime": end_ms, "limit": 10000}
        try:
            while True:
                page = aws.call("logs", "FilterLogEvents", params)
                # The newest so far, whatever order the pages interleave the streams in.
                lines = heapq.nlargest(limit, [*lines, *page.get("events", [])], key=_order)
                if not page.get("nextToken"):
                    break
                params = {**params, "nextToken": page["nextToken"]}
        except AwsCallError as error:
            if error.code == "ResourceNotFoundException":
                return []  # a function never invoked has no log group yet
            raise
        if len(lines) >= limit:
            break
    return [
        {
            "timestamp": datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC),
            "message": str(event.get("message", "")),
            "logStreamName": event.get("logStreamName"),
        }
        for event in sorted(lines, key=_order)
    ]


def _order(event: dict[str, Any]) -> tuple[int, str]:
    return int(event["timestamp"]), str(event.get("eventId", ""))
