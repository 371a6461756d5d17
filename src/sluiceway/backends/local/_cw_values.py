"""CloudWatch's metric values: data points, the buckets a period gathers, and their statistics.

Pure: what :class:`~.cloudwatch.SqliteCloudWatch` stores and what the endpoint and the alarm
evaluator compute from it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BASIC_STATISTICS",
    "Bucket",
    "Datum",
    "Dimensions",
    "MetricKey",
    "canonical_dimensions",
    "dimensions_json",
    "percentile_of",
    "statistic",
    "valid_statistic",
]

Dimensions = tuple[tuple[str, str], ...]
"""``(name, value)`` pairs sorted by name: a metric's identity besides namespace and name."""

BASIC_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
"""GetMetricStatistics' ``Statistics`` and PutMetricAlarm's ``Statistic``."""

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100)$")


def canonical_dimensions(pairs: Iterable[tuple[str, str]]) -> Dimensions:
    """The dimension set in CloudWatch's identity order (by name): ``B=1, A=2`` is ``A=2, B=1``."""
    return tuple(sorted(pairs))


def dimensions_json(dimensions: Dimensions) -> str:
    return json.dumps([list(pair) for pair in dimensions], separators=(",", ":"))


@dataclass(frozen=True)
class MetricKey:
    """One metric: namespace, name and dimension set."""

    namespace: str
    name: str
    dimensions: Dimensions = ()


@dataclass(frozen=True)
class Datum:
    """One published data point: a value, a set of values with counts, or a statistic set."""

    key: MetricKey
    timestamp_ms: int
    samples: float
    total: float
    minimum: float
    maximum: float
    values: tuple[tuple[float, float], ...] | None = None
    """``(value, count)`` pairs, when the values are known (not for a statistic set)."""
    unit: str = "None"
    resolution: int = 60
    """StorageResolution: 1 (high resolution) or 60."""

    @classmethod
    def of_value(cls, key: MetricKey, timestamp_ms: int, value: float, *, unit: str = "None", resolution: int = 60) -> Datum:
        return cls(key, timestamp_ms, 1.0, value, value, value, ((value, 1.0),), unit, resolution)

    @classmethod
    def of_values(
        cls,
        key: MetricKey,
        timestamp_ms: int,
        values: Sequence[float],
        counts: Sequence[float] | None = None,
        *,
        unit: str = "None",
        resolution: int = 60,
    ) -> Datum:
        """PutMetricData's ``Values`` with their ``Counts`` (each 1 when there are none)."""
        weights = list(counts) if counts is not None else [1.0] * len(values)
        pairs = tuple((float(v), float(c)) for v, c in zip(values, weights, strict=True))
        return cls(
            key,
            timestamp_ms,
            sum(c for _, c in pairs),
            sum(v * c for v, c in pairs),
            min(v for v, _ in pairs),
            max(v for v, _ in pairs),
            pairs,
            unit,
            resolution,
        )


@dataclass
class Bucket:
    """The data points of one metric in one period, gathered."""

    timestamp_ms: int
    """The period's start."""
    samples: float = 0.0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    values: list[tuple[float, float]] | None = field(default_factory=list)
    """Every ``(value, count)``; None once a statistic set (values unknown) joined the bucket."""
    unit: str = "None"

    def add(self, samples: float, total: float, minimum: float, maximum: float, values: Sequence[tuple[float, float]] | None) -> None:
        self.samples += samples
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)
        if values is None:
            self.values = None
        elif self.values is not None:
            self.values.extend(values)


def valid_statistic(stat: str) -> bool:
    """Whether ``stat`` is a statistic computed locally: the five basic ones and percentiles ``p0``-``p100``."""
    return stat in BASIC_STATISTICS or _PERCENTILE.match(stat) is not None


def statistic(bucket: Bucket, stat: str) -> float | None:
    """``stat`` of the bucket (None: a percentile of a bucket whose values are unknown)."""
    if stat == "SampleCount":
        return bucket.samples
    if stat == "Sum":
        return bucket.total
    if stat == "Average":
        return bucket.total / bucket.samples if bucket.samples else 0.0
    if stat == "Minimum":
        return bucket.minimum
    if stat == "Maximum":
        return bucket.maximum
    found = _PERCENTILE.match(stat)
    if found is None:
        raise ValueError(f"unknown statistic {stat!r}")
    if bucket.values is None or not bucket.values:
        return None
    return percentile_of(bucket.values, float(found.group(1)))


def percentile_of(values: Sequence[tuple[float, float]], percent: float) -> float:
    """The weighted nearest-rank percentile: the least value at or above ``percent`` of the samples."""
    ordered = sorted(values)
    total = sum(count for _, count in ordered)
    rank = percent / 100.0 * total
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= rank and seen > 0:
            return value
    return ordered[-1][0]
