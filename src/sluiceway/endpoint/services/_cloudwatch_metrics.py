"""CloudWatch's metric operations: PutMetricData, GetMetricStatistics, GetMetricData, ListMetrics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ...backends.local._cw_math import MathError, parse
from ...backends.local._cw_queries import aligned_start, band_call, run_queries
from ...backends.local._cw_values import BASIC_STATISTICS, Bucket, Datum, MetricKey, canonical_dimensions, statistic, valid_statistic
from ..context import Context
from ..errors import AwsError
from ._cloudwatch_common import (
    OPERATIONS,
    combination,
    decode_token,
    dimension_pairs,
    dimensions_out,
    encode_token,
    fresh_store,
    invalid,
    missing,
    ms,
    now_ms,
    store,
    to_time,
    validation,
)

__all__ = ["check_period", "check_queries", "check_query_limits", "check_stat"]

MAX_METRIC_DATA: Final = 1000
"""Metrics in one PutMetricData call."""
MAX_VALUES: Final = 150
"""Values (and Counts) in one MetricDatum."""
MAX_DATAPOINTS: Final = 1440
"""Data points one GetMetricStatistics call may ask for."""
MAX_QUERIES: Final = 500
"""MetricDataQueries in one GetMetricData call."""
MAX_EXPRESSION: Final = 2048
"""Characters in a query's Expression (the model's MetricExpression)."""
_LENGTHS: Final = {"Id": 255, "Expression": MAX_EXPRESSION, "AccountId": 255}
"""The model's length limits on a MetricDataQuery's strings (each at least 1 character)."""
LIST_PAGE: Final = 500
"""ListMetrics' page."""
# CloudWatch refuses values it cannot store: outside [-2^360, 2^360], or nearer zero than 2^-360.
_LARGEST: Final = 2.0**360
_SMALLEST: Final = 2.0**-360
_TWO_WEEKS_MS: Final = 14 * 24 * 3600 * 1000
_TWO_HOURS_MS: Final = 2 * 3600 * 1000


def check_period(parameter: str, period: int) -> None:
    """Periods CloudWatch takes: 1, 5, 10, 20, 30 seconds (high resolution) or a multiple of 60."""
    if period < 1 or (period % 60 and period not in (1, 5, 10, 20, 30)):
        raise invalid(parameter, period, "The parameter Period must be 1, 5, 10, 20, 30, or any multiple of 60.")


def check_stat(parameter: str, stat: str) -> None:
    if not valid_statistic(stat):
        raise invalid(parameter, stat, "Locally the statistics are SampleCount, Average, Sum, Minimum, Maximum and percentiles p0 to p100.")


# -- PutMetricData -----------------------------------------------------------------------------


@OPERATIONS("PutMetricData")
def put_metric_data(ctx: Context, params: dict[str, Any]) -> None:
    namespace = params["Namespace"]
    if namespace.startswith("AWS/"):
        raise invalid("Namespace", namespace, "The namespace AWS/ is reserved for use by Amazon Web Services products.")
    items = params.get("MetricData") or []
    if params.get("EntityMetricData"):
        for entity in params["EntityMetricData"]:
            items = [*items, *entity.get("MetricData", [])]
    if not items:
        raise missing("MetricData")
    if len(items) > MAX_METRIC_DATA:
        raise invalid(
            "MetricData", f"[{len(items)} metrics]", f"The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."
        )
    now = now_ms(ctx)
    data = [_datum(namespace, item, f"MetricData.member.{index}", now) for index, item in enumerate(items, start=1)]
    store(ctx).put(data)


def _datum(namespace: str, item: Mapping[str, Any], where: str, now: int) -> Datum:
    key = MetricKey(namespace, item["MetricName"], canonical_dimensions(dimension_pairs(item.get("Dimensions"), f"{where}.Dimensions")))
    stamp = ms(item["Timestamp"]) if "Timestamp" in item else now
    if stamp < now - _TWO_WEEKS_MS or stamp > now + _TWO_HOURS_MS:
        raise invalid(
            f"{where}.Timestamp", to_time(stamp).isoformat(), "The timestamp must be within the past two weeks and the next two hours."
        )
    unit = item.get("Unit", "None")
    resolution = int(item.get("StorageResolution", 60))
    if resolution not in (1, 60):
        raise invalid(f"{where}.StorageResolution", resolution, "The storage resolution must be 1 or 60.")
    given = [name for name in ("Value", "StatisticValues", "Values") if name in item]
    if len(given) > 1:
        raise combination(f"The parameters {where}.{given[0]} and {where}.{given[1]} are mutually exclusive and you have specified both.")
    if "StatisticValues" in item:
        stats = item["StatisticValues"]
        for name in ("SampleCount", "Sum", "Minimum", "Maximum"):
            _check_value(f"{where}.StatisticValues.{name}", stats[name])
        if stats["SampleCount"] <= 0 or stats["Minimum"] > stats["Maximum"]:
            raise invalid(f"{where}.StatisticValues", stats, "SampleCount must be positive and Minimum at most Maximum.")
        return Datum(key, stamp, stats["SampleCount"], stats["Sum"], stats["Minimum"], stats["Maximum"], None, unit, resolution)
    if "Values" in item:
        values = item["Values"]
        counts = item.get("Counts")
        if len(values) > MAX_VALUES:
            raise invalid(f"{where}.Values", f"[{len(values)} values]", f"The collection must not have a size greater than {MAX_VALUES}.")
        if counts is not None and len(counts) != len(values):
            raise combination(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
        for index, value in enumerate(values, start=1):
            _check_value(f"{where}.Values.member.{index}", value)
        for index, count in enumerate(counts or [], start=1):
            if not math.isfinite(_double(f"{where}.Counts.member.{index}", count)) or count < 0:
                raise invalid(f"{where}.Counts.member.{index}", count)
        if not values:
            raise missing(f"{where}.Value")
        return Datum.of_values(key, stamp, values, counts, unit=unit, resolution=resolution)
    if "Value" not in item:
        raise missing(f"{where}.Value")
    _check_value(f"{where}.Value", item["Value"])
    return Datum.of_value(key, stamp, float(item["Value"]), unit=unit, resolution=resolution)


def _check_value(parameter: str, value: float) -> None:
    number = _double(parameter, value)
    if not math.isfinite(number) or abs(number) > _LARGEST or (number != 0 and abs(number) < _SMALLEST):
        raise invalid(parameter, value)


def _double(parameter: str, value: float) -> float:
    """``value`` as a double; an integer beyond a double's range is an invalid value, not a server error."""
    try:
        return float(value)
    except (OverflowError, TypeError, ValueError):
        raise invalid(parameter, "<a number beyond a double's range>") from None


# -- GetMetricStatistics -----------------------------------------------------------------------


@OPERATIONS("GetMetricStatistics")
def get_metric_statistics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    statistics: list[str] = params.get("Statistics") or []
    extended: list[str] = params.get("ExtendedStatistics") or []
    if bool(statistics) == bool(extended):
        raise combination("Must specify either Statistics or ExtendedStatistics, but not both.")
    for stat in statistics:
        if stat not in BASIC_STATISTICS:
            raise invalid("Statistics", stat)
    for stat in extended:
        if stat in BASIC_STATISTICS:
            raise invalid("ExtendedStatistics", stat)
        check_stat("ExtendedStatistics", stat)
    period = int(params["Period"])
    check_period("Period", period)
    start, end = ms(params["StartTime"]), ms(params["EndTime"])
    if start >= end:
        raise invalid("StartTime", params["StartTime"].isoformat(), "The parameter StartTime must be less than the parameter EndTime.")
    start = aligned_start(start, now_ms(ctx), period)
    requested = math.ceil((end - start) / (period * 1000))
    if requested > MAX_DATAPOINTS:
        raise combination(
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of {MAX_DATAPOINTS:,}. You may reduce"
            " the datapoints requested by increasing Period, or decreasing the time range."
        )
    key = MetricKey(
        params["Namespace"], params["MetricName"], canonical_dimensions(dimension_pairs(params.get("Dimensions"), "Dimensions"))
    )
    datapoints: list[dict[str, Any]] = []
    for bucket in fresh_store(ctx).buckets(key, start, end, period, unit=params.get("Unit")):
        point: dict[str, Any] = {"Timestamp": to_time(bucket.timestamp_ms), "Unit": bucket.unit}
        for stat in statistics:
            point[stat] = _basic(bucket, stat)
        if extended:
            found = {stat: statistic(bucket, stat) for stat in extended}
            point["ExtendedStatistics"] = {k: v for k, v in found.items() if v is not None}
        datapoints.append(point)
    return {"Label": params["MetricName"], "Datapoints": datapoints}


def _basic(bucket: Bucket, stat: str) -> float:
    value = statistic(bucket, stat)
    return 0.0 if value is None else value


# -- GetMetricData -----------------------------------------------------------------------------


@OPERATIONS("GetMetricData")
def get_metric_data(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    queries: list[dict[str, Any]] = params["MetricDataQueries"]
    check_query_limits(queries, "metricDataQueries")
    check_queries(queries, "MetricDataQueries", require_period=False)
    start, end = ms(params["StartTime"]), ms(params["EndTime"])
    if start >= end:
        raise validation("The parameter StartTime must be less than the parameter EndTime.")
    decode_token(params.get("NextToken"))  # every result is complete in one page locally
    try:
        cloudwatch = fresh_store(ctx)
        results = run_queries(cloudwatch, queries, start, end, now_ms=now_ms(ctx), detectors=cloudwatch.detectors)
    except MathError as exc:
        raise validation(str(exc)) from None
    newest_first = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    limit = int(params.get("MaxDatapoints", 100_800))
    shown: list[dict[str, Any]] = []
    budget = limit
    for result in results:
        if not result.return_data:
            continue
        points = list(reversed(result.points)) if newest_first else result.points
        status = "Complete"
        if len(points) > budget:
            points, status = points[:budget], "PartialData"
        budget -= len(points)
        shown.append(
            {
                "Id": result.id,
                "Label": result.label,
                "Timestamps": [to_time(ts) for ts, _ in points],
                "Values": [value for _, value in points],
                "StatusCode": status,
                "Messages": [{"Code": code, "Value": value} for code, value in result.messages],
            }
        )
    return {"MetricDataResults": shown, "Messages": []}


def check_query_limits(queries: Sequence[Mapping[str, Any]], member: str) -> None:
    """The model's constraints on each query's members, checked (as AWS's request validation checks
    them) before anything else, every violation named in one ValidationError.

    ``member`` is the list's name as AWS's messages write it: ``metricDataQueries`` or ``metrics``.
    """
    problems: list[str] = []

    def violates(value: Any, at: str, constraint: str) -> None:
        problems.append(f"Value '{value}' at '{at}' failed to satisfy constraint: Member must {constraint}")

    for index, query in enumerate(queries, start=1):
        at = f"{member}.{index}.member"
        for key, most in _LENGTHS.items():
            value = query.get(key)
            if isinstance(value, str) and not 1 <= len(value) <= most:
                bound = f"less than or equal to {most}" if value else "greater than or equal to 1"
                violates(value, f"{at}.{key[0].lower()}{key[1:]}", f"have length {bound}")
        for field, period in (("period", query.get("Period")), ("metricStat.period", (query.get("MetricStat") or {}).get("Period"))):
            if isinstance(period, int) and period < 1:
                violates(period, f"{at}.{field}", "have value greater than or equal to 1")
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
        raise validation(f"{count}: {'; '.join(problems)}")


def check_queries(queries: Sequence[Mapping[str, Any]], where: str, *, require_period: bool) -> None:
    """Ids, exactly one of MetricStat and Expression each, the statistics and periods CloudWatch takes."""
    if not queries:
        raise missing(where)
    if len(queries) > MAX_QUERIES:
        raise validation(f"The collection {where} must not have a size greater than {MAX_QUERIES}.")
    seen: set[str] = set()
    for index, query in enumerate(queries, start=1):
        at = f"{where}.member.{index}"
        query_id = str(query["Id"])
        if not query_id[:1].islower() or not query_id.replace("_", "a").isalnum():
            raise validation(
                f"The value {query_id} for parameter {at}.Id is invalid."
                " It must start with a lowercase letter and hold letters, digits and underscores."
            )
        if query_id in seen:
            raise validation(f"The value {query_id} for parameter {at}.Id is invalid. Ids must be unique.")
        seen.add(query_id)
        has_stat, has_expression = "MetricStat" in query, "Expression" in query
        if has_stat == has_expression:
            raise validation(f"Exactly one of {at}.MetricStat and {at}.Expression must be specified.")
        if has_stat:
            stat = query["MetricStat"]
            check_period(f"{at}.MetricStat.Period", int(stat["Period"]))
            check_stat(f"{at}.MetricStat.Stat", str(stat["Stat"]))
            dimension_pairs(stat["Metric"].get("Dimensions"), f"{at}.MetricStat.Metric.Dimensions")
            if "MetricName" not in stat["Metric"] or "Namespace" not in stat["Metric"]:
                raise missing(f"{at}.MetricStat.Metric.MetricName")
        else:
            try:
                if band_call(str(query["Expression"])) is None:
                    parse(str(query["Expression"]))
            except MathError as exc:
                raise validation(f"{at}.Expression: {exc}") from None
            if require_period and "Period" in query:
                check_period(f"{at}.Period", int(query["Period"]))


# -- ListMetrics -------------------------------------------------------------------------------


@OPERATIONS("ListMetrics")
def list_metrics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    after = decode_token(params.get("NextToken"))
    after_id = int(after) if after is not None and after.isdigit() else 0
    if after is not None and not after.isdigit():
        raise AwsError("InvalidNextToken", "The service couldn't process your request because the NextToken is not valid.", 400)
    filters = [(str(f["Name"]), None if f.get("Value") is None else str(f["Value"])) for f in params.get("Dimensions") or []]
    if len(filters) > 10:
        raise invalid("Dimensions", f"[{len(filters)} filters]", "The collection Dimensions must not have a size greater than 10.")
    active = None
    if "RecentlyActive" in params:
        if params["RecentlyActive"] != "PT3H":
            raise invalid("RecentlyActive", params["RecentlyActive"])
        active = now_ms(ctx) - 3 * 3600 * 1000
    found = fresh_store(ctx).metrics(
        namespace=params.get("Namespace"),
        name=params.get("MetricName"),
        dimensions=filters,
        active_since_ms=active,
        after_id=after_id,
        limit=LIST_PAGE + 1,
    )
    page = found[:LIST_PAGE]
    answer: dict[str, Any] = {
        "Metrics": [{"Namespace": m.key.namespace, "MetricName": m.key.name, "Dimensions": dimensions_out(m.key.dimensions)} for m in page]
    }
    if len(found) > LIST_PAGE:
        answer["NextToken"] = encode_token(str(page[-1].id))
    return answer
