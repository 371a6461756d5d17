"""CloudWatch's Embedded Metric Format (EMF): metric data points read from a function's log line.

On AWS, CloudWatch Logs extracts metrics from log events shaped like this (what Powertools
Metrics' ``@metrics.log_metrics`` prints)::

    {"_aws": {"Timestamp": 1700000000000,
              "CloudWatchMetrics": [{"Namespace": "Shop",
                                     "Dimensions": [["service"]],
                                     "Metrics": [{"Name": "Orders", "Unit": "Count"}]}]},
     "service": "checkout", "Orders": [1, 2]}

:func:`parse_line` reads one such line into :class:`DataPoint` values, checked as the
specification says (``CloudWatch_Embedded_Metric_Format_Specification``): ``_aws`` holds a
numeric ``Timestamp`` (milliseconds) and a ``CloudWatchMetrics`` array of directives; a
directive names a ``Namespace``, ``Dimensions`` (an array of dimension sets of at most
:data:`MAX_DIMENSIONS` keys each, every key a root member with a string value of at most
1024 characters) and ``Metrics`` (at most :data:`MAX_METRICS` definitions: ``Name``, an optional
``Unit`` among CloudWatch's units, an optional ``StorageResolution`` of 1 or 60); each metric's
value is a root member holding a number or an array of at most :data:`MAX_VALUES` numbers (finite,
at most :data:`MAX_MAGNITUDE` in magnitude, as PutMetricData takes them).

A line that is not JSON, or is JSON without ``_aws.CloudWatchMetrics``, is an ordinary log
line: ``None``. A line that is EMF but breaks a rule yields no data point and says why
(:attr:`Extraction.problem`), as CloudWatch extracts nothing from it (and counts it in
``AWS/Logs`` ``EMFValidationErrors``); it still stays in the log. Nothing here raises.

Pure: the time a timestamp is checked against is passed in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CLOUDWATCH_UNITS",
    "MAX_DIMENSIONS",
    "MAX_MAGNITUDE",
    "MAX_METRICS",
    "MAX_VALUES",
    "DataPoint",
    "Extraction",
    "looks_like_emf",
    "parse_line",
]

MAX_METRICS: Final = 100
"""Metric definitions in one directive."""
MAX_DIMENSIONS: Final = 30
"""Dimension keys in one dimension set."""
MAX_VALUES: Final = 100
"""Values in one metric's array."""
MAX_DIMENSION_VALUE: Final = 1024
"""Characters in a dimension's value."""
MAX_NAME: Final = 1024
"""Characters in a namespace or a metric name."""
MAX_PAST_MS: Final = 14 * 24 * 3600 * 1000
"""CloudWatch extracts nothing from an event stamped more than two weeks ago..."""
MAX_FUTURE_MS: Final = 2 * 3600 * 1000
"""...or more than two hours ahead."""
MAX_MAGNITUDE: Final = 2.0**360
"""CloudWatch rejects a value whose magnitude is above 2^360 (PutMetricData's range); so does EMF here."""

CLOUDWATCH_UNITS: Final = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds",
        "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
        "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
        "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
        "Count/Second", "None",
    }
)  # fmt: skip
"""CloudWatch's ``StandardUnit`` values: the only ones a metric definition may name."""


@dataclass(frozen=True)
class DataPoint:
    """The values one metric got in one log line, under one dimension set."""

    namespace: str
    name: str
    unit: str
    """One of :data:`CLOUDWATCH_UNITS` (``"None"`` when the definition named none)."""
    dimensions: tuple[tuple[str, str], ...]
    """``(dimension, value)`` pairs in the dimension set's order; empty for a set without keys."""
    values: tuple[float, ...]
    timestamp_ms: int
    storage_resolution: int = 60


@dataclass(frozen=True)
class Extraction:
    """What an EMF line yields: its data points, or why it yields none."""

    points: tuple[DataPoint, ...] = ()
    problem: str | None = None
    """Why CloudWatch would extract nothing from the line (None: it is valid)."""


class _Invalid(Exception):
    """A rule the line breaks (caught in :func:`parse_line`, never raised to callers)."""


def looks_like_emf(line: str) -> bool:
    """A cheap first look (no JSON parse): could ``line`` be an EMF document?"""
    stripped = line.lstrip()
    return stripped.startswith("{") and '"_aws"' in line


def parse_line(line: str, *, now_ms: int | None = None) -> Extraction | None:
    """The metric data points of one log line.

    Args:
        line: the log event's message (one JSON object, possibly ending with a newline).
        now_ms: the time to check the ``Timestamp`` against; None checks nothing.

    Returns:
        None for an ordinary log line (not JSON, or no ``_aws.CloudWatchMetrics``); otherwise
        the data points, or the problem that makes CloudWatch extract none.
    """
    if not looks_like_emf(line):
        return None
    try:
        root = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(root, dict):
        return None
    metadata = root.get("_aws")
    if not isinstance(metadata, dict) or "CloudWatchMetrics" not in metadata:
        return None
    try:
        return Extraction(tuple(_points(root, metadata, now_ms)))
    except _Invalid as exc:
        return Extraction(problem=str(exc))
    except Exception as exc:  # a rule not foreseen above: the line is still only a log line to its caller
        return Extraction(problem=f"the metric directive could not be read: {type(exc).__name__}")


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259): the line is not a document at all.
    raise ValueError(f"{name} is not JSON")


def _points(root: Mapping[str, Any], metadata: Mapping[str, Any], now_ms: int | None) -> list[DataPoint]:
    timestamp = metadata.get("Timestamp")
    if not isinstance(timestamp, int | float) or not _is_number(timestamp):
        raise _Invalid("_aws.Timestamp must be a number of milliseconds")
    stamp = int(timestamp)
    if now_ms is not None and not (now_ms - MAX_PAST_MS <= stamp <= now_ms + MAX_FUTURE_MS):
        raise _Invalid("_aws.Timestamp is more than two weeks ago or more than two hours ahead")
    directives = metadata["CloudWatchMetrics"]
    if not isinstance(directives, list):
        raise _Invalid("_aws.CloudWatchMetrics must be an array of metric directives")
    points: list[DataPoint] = []
    for index, directive in enumerate(directives):
        points.extend(_directive(root, directive, stamp, f"CloudWatchMetrics[{index}]"))
    return points


def _directive(root: Mapping[str, Any], directive: Any, stamp: int, where: str) -> list[DataPoint]:
    if not isinstance(directive, dict):
        raise _Invalid(f"{where} must be an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace.strip() or len(namespace) > MAX_NAME:
        raise _Invalid(f"{where}.Namespace must be a non-empty string of at most {MAX_NAME} characters")
    dimension_sets = _dimension_sets(root, directive.get("Dimensions"), where)
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list):
        raise _Invalid(f"{where}.Metrics must be an array of metric definitions")
    if len(metrics) > MAX_METRICS:
        raise _Invalid(f"{where}.Metrics has {len(metrics)} definitions; at most {MAX_METRICS} are allowed")
    points: list[DataPoint] = []
    for index, definition in enumerate(metrics):
        name, unit, resolution = _definition(definition, f"{where}.Metrics[{index}]")
        values = _values(root, name)
        # Each dimension set makes a metric of its own, as in CloudWatch.
        points.extend(DataPoint(namespace, name, unit, dims, values, stamp, resolution) for dims in dimension_sets)
    return points


def _dimension_sets(root: Mapping[str, Any], sets: Any, where: str) -> list[tuple[tuple[str, str], ...]]:
    if not isinstance(sets, list):
        raise _Invalid(f"{where}.Dimensions must be an array of dimension sets")
    found: list[tuple[tuple[str, str], ...]] = []
    for index, keys in enumerate(sets):
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise _Invalid(f"{where}.Dimensions[{index}] must be an array of dimension names")
        if len(keys) > MAX_DIMENSIONS:
            raise _Invalid(f"{where}.Dimensions[{index}] has {len(keys)} dimensions; at most {MAX_DIMENSIONS} are allowed")
        pairs = []
        for key in keys:
            value = root.get(key)
            if not isinstance(value, str):
                raise _Invalid(f"dimension {key!r} must be a member of the root holding a string")
            if not value or len(value) > MAX_DIMENSION_VALUE:
                raise _Invalid(f"dimension {key!r} must have 1 to {MAX_DIMENSION_VALUE} characters")
            pairs.append((key, value))
        found.append(tuple(pairs))
    # No dimension set at all: the metrics are published without dimensions.
    return found or [()]


def _definition(definition: Any, where: str) -> tuple[str, str, int]:
    if not isinstance(definition, dict):
        raise _Invalid(f"{where} must be an object")
    name = definition.get("Name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise _Invalid(f"{where}.Name must be a non-empty string of at most {MAX_NAME} characters")
    unit = definition.get("Unit", "None")
    if unit not in CLOUDWATCH_UNITS:
        raise _Invalid(f"{where}.Unit {unit!r} is not a CloudWatch unit")
    resolution = definition.get("StorageResolution", 60)
    if isinstance(resolution, bool) or resolution not in (1, 60):
        raise _Invalid(f"{where}.StorageResolution must be 1 or 60")
    return name, str(unit), int(resolution)


def _values(root: Mapping[str, Any], name: str) -> tuple[float, ...]:
    if name not in root:
        raise _Invalid(f"metric {name!r} has no value: it must be a member of the root")
    value = root[name]
    if _is_number(value):
        return (float(value),)
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        if len(value) > MAX_VALUES:
            raise _Invalid(f"metric {name!r} has {len(value)} values; at most {MAX_VALUES} are allowed")
        return tuple(float(v) for v in value)
    raise _Invalid(f"metric {name!r} must hold a number or an array of numbers")


def _is_number(value: Any) -> bool:
    """A JSON number CloudWatch takes: finite and within ±2^360.

    JSON integers are Python ints of any size; one beyond a float's range makes ``math.isfinite``
    raise OverflowError: it is no number CloudWatch takes.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and abs(float(value)) <= MAX_MAGNITUDE
    except OverflowError:
        return False
