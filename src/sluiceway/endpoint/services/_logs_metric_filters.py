"""CloudWatch Logs' metric filter operations: PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter, TestMetricFilter.

Filters are kept in the data dir (``backends/local/metric_filters.py``); the local CloudWatch's
metric filter feed (``backends/local/_cw_metric_filter_feed.py``) applies them to the events put
into their log groups from then on, so an alarm on a filter's metric sees its data. Validation
follows AWS: the members' constraints reported together ("N validation errors detected: ..."),
one metric transformation a filter, a MetricValue that is a number or a field the pattern names,
at most three dimensions and only with a JSON or space-delimited pattern, never with a
DefaultValue, 100 filters a log group, of which at most five with a ``%regex%``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from ...backends.local.metric_filters import MAX_FILTERS_PER_GROUP, MetricFilter, SqliteMetricFilters, TooManyMetricFiltersError
from ...errors import NotFoundError
from ...observability.log_patterns import LogPattern, is_selector
from ..context import Context
from ..errors import AwsError
from ._logs_common import OPERATIONS, _decode, _encode, _group_name, _invalid, _limit, _no_group, _store
from ._logs_filter import FilterPatternError, compile_pattern

__all__ = ["OPERATIONS", "metric_filters"]

UNITS: Final = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
)  # fmt: skip
"""StandardUnit, in the model's order (AWS's enum message lists them so)."""
MAX_DIMENSIONS: Final = 3
MAX_TEST_MESSAGES: Final = 50
MAX_REGEX_FILTERS: Final = 5
"""CloudWatch Logs' quota of metric filters with a ``%regex%`` in their pattern, per log group."""
_FILTER_NAME: Final = re.compile(r"^[^:*]*$")
_METRIC_NAME: Final = re.compile(r"^[^:*$]*$")
"""The model's pattern for metricName. metricNamespace has the same one, yet AWS takes a namespace
with ``:`` (recorded: ``A.B-c_d/1#2:metricNamespace``; AWS matches such model patterns partially):
a namespace is checked for its length only."""
_DELIMITED_REFERENCE: Final = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")


def metric_filters(ctx: Context) -> SqliteMetricFilters:
    """The data dir's metric filters, in its state database."""
    local = ctx.stack.local
    return ctx.shared.get("logs-metric-filters", lambda: SqliteMetricFilters(local.db, local.clock))


# -- member constraints, reported together as AWS does -------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def length(self, value: str | None, path: str, most: int, *, least: int = 0) -> None:
        if value is None:
            return
        if len(value) > most:
            self.failed(value, path, f"Member must have length less than or equal to {most}")
        elif len(value) < least:
            self.failed(value, path, f"Member must have length greater than or equal to {least}")

    def pattern(self, value: str | None, path: str, regex: re.Pattern[str], shown: str) -> None:
        if value is not None and not regex.match(value):
            self.failed(value, path, f"Member must satisfy regular expression pattern: {shown}")

    def failed(self, value: str, path: str, constraint: str) -> None:
        self.found.append(f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}")

    def add(self, message: str) -> None:
        self.found.append(message)

    def raise_any(self) -> None:
        if self.found:
            count = len(self.found)
            noun = "error" if count == 1 else "errors"
            raise _invalid(f"{count} validation {noun} detected: {'; '.join(self.found)}")


def _java(value: object) -> str:
    """A member's value as AWS's messages print it (Java's toString)."""
    if value is None:
        return "null"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return repr(float(value))
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return str(value)


def _transformations_shown(transformations: list[Mapping[str, Any]]) -> str:
    return (
        "["
        + ", ".join(
            "MetricTransformation("
            + ", ".join(
                f"{member}={_java(t.get(member))}"
                for member in ("metricName", "metricNamespace", "metricValue", "defaultValue", "unit", "dimensions")
            )
            + ")"
            for t in transformations
        )
        + "]"
    )


# -- PutMetricFilter -----------------------------------------------------------------------


@OPERATIONS("PutMetricFilter")
def put_metric_filter(ctx: Context, params: dict[str, Any]) -> None:
    group = _group_name(params["logGroupName"])
    name, pattern_text = params["filterName"], params["filterPattern"]
    transformations: list[Mapping[str, Any]] = list(params["metricTransformations"])
    problems = _Problems()
    problems.length(name, "filterName", 512, least=1)
    problems.pattern(name, "filterName", _FILTER_NAME, "[^:*]*")
    problems.length(pattern_text, "filterPattern", 1024)
    if len(transformations) != 1:
        shown = _transformations_shown(transformations)
        bound = "less than or equal to 1" if transformations else "greater than or equal to 1"
        problems.add(f"Value '{shown}' at 'metricTransformations' failed to satisfy constraint: Member must have length {bound}")
    for index, transformation in enumerate(transformations, 1):
        _check_members(problems, transformation, f"metricTransformations.{index}.member")
    problems.raise_any()
    try:
        pattern = compile_pattern(pattern_text)
    except FilterPatternError:
        raise _invalid("Invalid metric filter pattern") from None
    transformation = _valid_transformation(transformations[0], pattern)
    store = _store(ctx)
    if not store.has_group(group):
        raise _no_group()
    filters = metric_filters(ctx)
    if pattern.regexes and _regex_filters(filters, group, name) >= MAX_REGEX_FILTERS:
        # AWS's documented quota; its exact answer is unrecorded: the filters quota's is used.
        raise AwsError("LimitExceededException", "Resource limit exceeded.")
    try:
        filters.put(group, name, pattern_text, transformation, after_event=store.last_event_id())
    except TooManyMetricFiltersError:
        raise AwsError("LimitExceededException", "Resource limit exceeded.") from None


def _regex_filters(filters: SqliteMetricFilters, group: str, besides: str) -> int:
    """How many of the group's filters, other than ``besides`` (which is being put), have a ``%regex%``."""
    count = 0
    for record in filters.describe(group=group, limit=MAX_FILTERS_PER_GROUP + 1):
        if record.name == besides:
            continue
        try:
            count += compile_pattern(record.pattern).regexes > 0
        except FilterPatternError:
            continue  # put before today's checks: it counts as AWS's quota never saw it
    return count


def _check_members(problems: _Problems, transformation: Mapping[str, Any], path: str) -> None:
    for member in ("metricName", "metricNamespace"):
        problems.length(transformation.get(member), f"{path}.{member}", 255)
    problems.pattern(transformation.get("metricName"), f"{path}.metricName", _METRIC_NAME, "[^:*$]*")
    problems.length(transformation.get("metricValue"), f"{path}.metricValue", 100)
    unit = transformation.get("unit")
    if unit is not None and unit not in UNITS:
        problems.add(
            f"Value '{unit}' at '{path}.unit' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(UNITS)}]"
        )
    for key, value in (transformation.get("dimensions") or {}).items():
        problems.length(key, f"{path}.dimensions", 255)
        problems.length(value, f"{path}.dimensions", 255)


def _valid_transformation(transformation: Mapping[str, Any], pattern: LogPattern) -> dict[str, Any]:
    """The transformation as it is kept, after AWS's checks of its values against the pattern."""
    value = str(transformation["metricValue"]).strip()
    if not _usable_reference(value, pattern) and not _is_number(value):
        raise _invalid(f"Invalid metric value: {transformation['metricValue']}")
    dimensions: Mapping[str, str] = transformation.get("dimensions") or {}
    default = transformation.get("defaultValue")
    if dimensions:
        if pattern.kind not in ("json", "delimited"):
            raise _invalid("The specified filter pattern does not support dimensions")
        if default is not None:
            raise _invalid("Invalid metric transformation: dimensions and default value are mutually exclusive properties")
        if len(dimensions) > MAX_DIMENSIONS:
            raise _invalid(f"A metric filter can have at most {MAX_DIMENSIONS} dimensions")
        for key, reference in dimensions.items():
            if not _usable_reference(reference, pattern):
                raise _invalid(f"Invalid dimension value for {key}: {reference}")
    kept: dict[str, Any] = {
        "metricName": transformation["metricName"],
        "metricNamespace": transformation["metricNamespace"],
        "metricValue": transformation["metricValue"],
    }
    if default is not None:
        if not math.isfinite(float(default)):
            raise _invalid(f"Invalid default value: {default}")
        kept["defaultValue"] = float(default)
    if dimensions:
        kept["dimensions"] = dict(dimensions)
    if transformation.get("unit") is not None:
        kept["unit"] = transformation["unit"]
    return kept


def _usable_reference(reference: str, pattern: LogPattern) -> bool:
    """Whether ``reference`` names a value a match of ``pattern`` yields (``$.field`` of a JSON
    pattern, ``$name`` of a field a space-delimited pattern names)."""
    if pattern.kind == "json":
        return is_selector(reference)
    match = _DELIMITED_REFERENCE.match(reference)
    return pattern.kind == "delimited" and match is not None and match.group(1) in pattern.names


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


# -- DescribeMetricFilters / DeleteMetricFilter ----------------------------------------------


@OPERATIONS("DescribeMetricFilters")
def describe_metric_filters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group_param = params.get("logGroupName")
    prefix = params.get("filterNamePrefix") or ""
    metric_name, namespace = params.get("metricName"), params.get("metricNamespace")
    problems = _Problems()
    problems.length(prefix, "filterNamePrefix", 512)
    problems.pattern(prefix, "filterNamePrefix", _FILTER_NAME, "[^:*]*")
    for member, value in (("metricName", metric_name), ("metricNamespace", namespace)):
        problems.length(value, member, 255)
    problems.pattern(metric_name, "metricName", _METRIC_NAME, "[^:*$]*")
    problems.raise_any()
    group = _group_name(group_param) if group_param else None
    if (metric_name is None) != (namespace is None):
        raise _invalid("metricName and metricNamespace must be specified together")
    limit = _limit(params.get("limit"), 50, 50)
    after = _after(params.get("nextToken"))
    if group is not None and not _store(ctx).has_group(group):
        raise _no_group()
    metric = (namespace, metric_name) if namespace is not None and metric_name is not None else None
    found = metric_filters(ctx).describe(group=group, prefix=prefix, metric=metric, after=after, limit=limit + 1)
    page = found[:limit]
    out: dict[str, Any] = {"metricFilters": [_described(f) for f in page]}
    if len(found) > limit:
        out["nextToken"] = _encode(f"{page[-1].name}\n{page[-1].log_group}")
    return out


def _after(token: str | None) -> tuple[str, str] | None:
    cursor = _decode(token)
    if cursor is None:
        return None
    name, separator, group = cursor.partition("\n")
    if not separator:
        raise _invalid("The specified nextToken is invalid.")
    return name, group


def _described(record: MetricFilter) -> dict[str, Any]:
    return {
        "filterName": record.name,
        "filterPattern": record.pattern,
        "metricTransformations": [dict(record.transformation)],
        "creationTime": record.created_ms,
        "logGroupName": record.log_group,
        # No log transformers locally: a filter reads the events as they were put.
        "applyOnTransformedLogs": False,
    }


@OPERATIONS("DeleteMetricFilter")
def delete_metric_filter(ctx: Context, params: dict[str, Any]) -> None:
    name = params["filterName"]
    problems = _Problems()
    problems.length(name, "filterName", 512, least=1)
    problems.pattern(name, "filterName", _FILTER_NAME, "[^:*]*")
    problems.raise_any()
    group = _group_name(params["logGroupName"])
    if not _store(ctx).has_group(group):
        raise _no_group()
    try:
        metric_filters(ctx).delete(group, name)
    except NotFoundError:
        raise AwsError("ResourceNotFoundException", "The specified metric filter does not exist.") from None


# -- TestMetricFilter ------------------------------------------------------------------------


@OPERATIONS("TestMetricFilter")
def test_metric_filter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pattern_text = params["filterPattern"]
    messages: list[str] = list(params["logEventMessages"])
    problems = _Problems()
    problems.length(pattern_text, "filterPattern", 1024)
    if not 1 <= len(messages) <= MAX_TEST_MESSAGES:
        bound = f"less than or equal to {MAX_TEST_MESSAGES}" if messages else "greater than or equal to 1"
        problems.add(f"Value '[{', '.join(messages)}]' at 'logEventMessages' failed to satisfy constraint: Member must have length {bound}")
    problems.raise_any()
    try:
        pattern = compile_pattern(pattern_text)
    except FilterPatternError:
        raise _invalid("Invalid metric filter pattern") from None
    matches: list[dict[str, Any]] = []
    for number, message in enumerate(messages, 1):
        matched = pattern.match(message)
        if matched is not None:
            # The values a space-delimited pattern's named fields took; other patterns name none.
            matches.append({"eventNumber": number, "eventMessage": message, "extractedValues": dict(matched.fields)})
    return {"matches": matches}
