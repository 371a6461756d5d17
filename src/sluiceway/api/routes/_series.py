"""CloudWatch series for the console's charts: whole minutes of a window, read with GetMetricData.

Shared by the home page's dashboard and the functions' pages: every chart is per minute
(period 60), a passed minute without a data point is 0 and the current one is null.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Query

from ..aws import Aws

__all__ = ["PERIOD_S", "MetricQuery", "Minutes", "Points", "Window", "aware", "fetch", "series", "summed"]

#: How far back a chart looks: 5 minutes to a day (CloudWatch keeps 1-minute data 15 days).
Minutes = Annotated[int, Query(ge=5, le=1440, description="The window: this many minutes up to now")]

PERIOD_S = 60
#: GetMetricData's limits per call: 500 queries, 100,800 data points.
_MAX_QUERIES = 500
_MAX_DATAPOINTS = 100_800
Points = dict[int, float]
"""Minute start (epoch seconds) -> value."""


@dataclass(frozen=True)
class Window:
    """Whole minutes up to and including the current one: ``[start, end)``."""

    start: datetime
    end: datetime
    now: datetime

    @classmethod
    def last(cls, minutes: int, now: datetime | None = None) -> Window:
        moment = now or datetime.now(UTC)
        end = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(end - timedelta(minutes=minutes), end, moment)

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds()) // PERIOD_S

    def minute_starts(self) -> list[int]:
        first = int(self.start.timestamp())
        return [first + n * PERIOD_S for n in range(self.minutes)]

    def to_schema(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "minutes": self.minutes, "period": PERIOD_S}


@dataclass(frozen=True)
class MetricQuery:
    """One metric's statistic per minute."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str

    def to_request(self, query_id: str) -> dict[str, Any]:
        metric = {"Namespace": self.namespace, "MetricName": self.name, "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions]}
        return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": PERIOD_S, "Stat": self.stat}, "ReturnData": True}


def fetch(aws: Aws, queries: Sequence[MetricQuery], window: Window) -> list[Points]:
    """Each query's data points over the window, in the queries' order (GetMetricData, as many calls as its limits need)."""
    found: list[Points] = [{} for _ in queries]
    per_call = max(1, min(_MAX_QUERIES, _MAX_DATAPOINTS // max(1, window.minutes)))
    for first in range(0, len(queries), per_call):
        batch = {f"m{first + n}": first + n for n in range(min(per_call, len(queries) - first))}
        params: dict[str, Any] = {
            "MetricDataQueries": [queries[index].to_request(query_id) for query_id, index in batch.items()],
            "StartTime": window.start,
            "EndTime": window.end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            page = aws.call("cloudwatch", "GetMetricData", params)
            for result in page.get("MetricDataResults", []):
                points = found[batch[result["Id"]]]
                for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    points[int(aware(stamp).timestamp())] = float(value)
            if not page.get("NextToken"):
                break
            params = {**params, "NextToken": page["NextToken"]}
    return found


def series(points: Points, window: Window, *, fill: float | None = 0.0) -> dict[str, Any]:
    """A chart's series: every minute of the window, ``fill`` for a passed minute without a data point.

    The current minute stays null until it has one: zero would claim a quiet minute not yet over.
    """
    now = window.now.timestamp()
    stamps = window.minute_starts()
    values = [points.get(stamp, fill if stamp + PERIOD_S <= now else None) for stamp in stamps]
    return {"timestamps": [datetime.fromtimestamp(s, UTC) for s in stamps], "values": values}


def summed(all_points: Iterable[Points]) -> Points:
    total: Points = {}
    for points in all_points:
        for stamp, value in points.items():
            total[stamp] = total.get(stamp, 0.0) + value
    return total


def aware(moment: Any) -> datetime:
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
