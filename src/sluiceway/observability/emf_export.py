"""EMF data points (functions' Powertools Metrics) exported as Prometheus metrics.

The same handler code feeds CloudWatch on AWS and Prometheus here. The mapping:

* **Name**: ``<Namespace>_<Name>`` with every character outside ``[a-zA-Z0-9_]`` made ``_``
  (a leading digit gets a ``_`` before it), then the unit's suffix unless the name already
  ends with it. Colons are not kept: Prometheus reserves them for recording rules.
* **Type and unit**: CloudWatch keeps statistics (SampleCount, Sum, Minimum, Maximum) of
  the values it gets, whatever the unit. Here:

  - ``Count`` becomes a **counter** ``..._total`` that adds up the values: CloudWatch's
    Sum statistic, and what a Powertools ``add_metric(..., unit=Count, value=1)`` means.
    A negative value cannot be added to a counter: that line's value is dropped, with one warning.
  - every other unit becomes a **summary** without quantiles (``_count`` and ``_sum``):
    CloudWatch's SampleCount and Sum, so ``rate(x_sum[5m]) / rate(x_count[5m])`` is its
    Average. Values are converted to Prometheus's base units: time to ``_seconds``
    (Milliseconds / 1000, Microseconds / 1e6), sizes to ``_bytes`` (Kilobytes x 1024 ...,
    Bits / 8), rates to ``_bytes_per_second`` or ``_per_second``, ``Percent`` to a
    ``_ratio`` (/ 100); ``None`` gets no suffix.

  The first line that exports a name decides its type; a later one with another type
  (``Count`` after ``Milliseconds``) is dropped, with one warning.
* **Labels**: the dimensions of the dimension set, names made ``[a-zA-Z_][a-zA-Z0-9_]*``.
  As in CloudWatch each dimension set is a series of its own, so the series of a metric
  emitted with ``[["service"], ["service", "route"]]`` count each value twice: aggregate
  over one dimension set at a time.
* **Bounds**: at most ``max_series`` label sets per metric, ``max_metrics`` metrics and
  ``max_total_series`` label sets over all of them; beyond, new ones are dropped with one warning
  each. Names starting with ``sluiceway_`` are Sluiceway's own and are never exported from EMF.
* **Clashes**: a metric's samples are named with its type's suffixes (a counter ``X`` is
  ``X_total`` and ``X_created``, a summary ``X``, ``X_count``, ``X_sum`` and ``X_created``), and
  OpenMetrics forbids two families sharing one of those names: EMF metrics ``Orders`` and
  ``Orders_created`` (both ``Count``), or a summary ``Latency`` beside a ``Latency_count``, would
  make the whole scrape unparseable. The first one exported keeps its name; a later one whose
  names clash is not exported, with one warning.
* ``StorageResolution`` and ``Timestamp`` are not exported: Prometheus samples at scrape time.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from .emf import DataPoint

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_METRICS", "DEFAULT_MAX_SERIES", "DEFAULT_MAX_TOTAL_SERIES", "EmfExport", "ExportedName", "exported_name"]

DEFAULT_MAX_SERIES: Final = 1000
"""Label sets one EMF metric may have before new ones are dropped."""
DEFAULT_MAX_METRICS: Final = 1000
"""EMF metrics exported before new ones are dropped."""
DEFAULT_MAX_TOTAL_SERIES: Final = 10_000
"""Label sets of all EMF metrics together before new ones are dropped (each metric also has its own bound)."""
RESERVED_PREFIX: Final = "sluiceway_"

_KIB = 1024.0
# unit -> (kind, suffix, factor to the base unit)
_UNITS: Final[dict[str, tuple[str, str, float]]] = {
    "Count": ("counter", "", 1.0),
    "None": ("summary", "", 1.0),
    "Seconds": ("summary", "_seconds", 1.0),
    "Milliseconds": ("summary", "_seconds", 1e-3),
    "Microseconds": ("summary", "_seconds", 1e-6),
    "Bytes": ("summary", "_bytes", 1.0),
    "Kilobytes": ("summary", "_bytes", _KIB),
    "Megabytes": ("summary", "_bytes", _KIB**2),
    "Gigabytes": ("summary", "_bytes", _KIB**3),
    "Terabytes": ("summary", "_bytes", _KIB**4),
    "Bits": ("summary", "_bytes", 1 / 8),
    "Kilobits": ("summary", "_bytes", _KIB / 8),
    "Megabits": ("summary", "_bytes", _KIB**2 / 8),
    "Gigabits": ("summary", "_bytes", _KIB**3 / 8),
    "Terabits": ("summary", "_bytes", _KIB**4 / 8),
    "Percent": ("summary", "_ratio", 1e-2),
    "Bytes/Second": ("summary", "_bytes_per_second", 1.0),
    "Kilobytes/Second": ("summary", "_bytes_per_second", _KIB),
    "Megabytes/Second": ("summary", "_bytes_per_second", _KIB**2),
    "Gigabytes/Second": ("summary", "_bytes_per_second", _KIB**3),
    "Terabytes/Second": ("summary", "_bytes_per_second", _KIB**4),
    "Bits/Second": ("summary", "_bytes_per_second", 1 / 8),
    "Kilobits/Second": ("summary", "_bytes_per_second", _KIB / 8),
    "Megabits/Second": ("summary", "_bytes_per_second", _KIB**2 / 8),
    "Gigabits/Second": ("summary", "_bytes_per_second", _KIB**3 / 8),
    "Terabits/Second": ("summary", "_bytes_per_second", _KIB**4 / 8),
    "Count/Second": ("summary", "_per_second", 1.0),
}
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
# The names a family of each type takes in OpenMetrics (its own, and its samples'), as
# prometheus_client's OpenMetrics parser reserves them; "" is the family's name itself.
_FAMILY_NAMES: Final = {"counter": ("", "_total", "_created"), "summary": ("", "_count", "_sum", "_created")}


@dataclass(frozen=True)
class ExportedName:
    """How an EMF metric is exported: its Prometheus name (without ``_total``), type and unit factor."""

    name: str
    kind: str
    """``counter`` or ``summary``."""
    factor: float
    """What a value is multiplied by to be in the base unit."""


def _sanitize(text: str) -> str:
    cleaned = _INVALID.sub("_", text)
    return "_" + cleaned if cleaned[:1].isdigit() else cleaned


def exported_name(namespace: str, name: str, unit: str) -> ExportedName:
    """The Prometheus name, type and unit factor of EMF metric ``name`` of ``namespace`` in ``unit``."""
    kind, suffix, factor = _UNITS.get(unit, _UNITS["None"])
    base = _sanitize(f"{namespace}_{name}")
    if kind == "counter":
        base = base.removesuffix("_total")
    elif suffix and not base.endswith(suffix):
        base += suffix
    return ExportedName(base, kind, factor)


def label_name(dimension: str) -> str:
    """A dimension's name as a Prometheus label name (``__`` starts names Prometheus keeps for itself)."""
    cleaned = _sanitize(dimension)
    return "_" + cleaned.lstrip("_") if cleaned.startswith("__") else cleaned


@dataclass
class _Family:
    kind: str
    help: str
    series: dict[tuple[tuple[str, str], ...], list[float]] = field(default_factory=dict)
    """labels -> [count, sum] (a counter uses the sum only)."""
    warned: bool = False


class EmfExport(Collector):
    """The EMF metrics seen so far, as a collector (register it on a registry).

    Thread-safe: invocations end on many threads.
    """

    def __init__(
        self,
        *,
        max_series: int = DEFAULT_MAX_SERIES,
        max_metrics: int = DEFAULT_MAX_METRICS,
        max_total_series: int = DEFAULT_MAX_TOTAL_SERIES,
    ) -> None:
        self.max_series = max_series
        self.max_metrics = max_metrics
        self.max_total_series = max_total_series
        self._families: dict[str, _Family] = {}
        self._taken: dict[str, str] = {}
        """Every name the families take (:data:`_FAMILY_NAMES`) -> the family taking it."""
        self._total_series = 0
        self._lock = threading.Lock()
        self._warned: set[str] = set()

    def add(self, points: Iterable[DataPoint]) -> int:
        """Count ``points`` in; return how many were exported (the others were dropped, with a warning)."""
        exported = 0
        with self._lock:
            for point in points:
                exported += self._add(point)
        return exported

    def _add(self, point: DataPoint) -> int:
        target = exported_name(point.namespace, point.name, point.unit)
        if target.name.startswith(RESERVED_PREFIX):
            self._warn_once(target.name, "an EMF metric named like Sluiceway's own metrics is not exported")
            return 0
        labels = tuple((label_name(key), value) for key, value in point.dimensions)
        if len({key for key, _ in labels}) != len(labels):
            self._warn_once(target.name, "an EMF metric whose dimensions have the same label name is not exported")
            return 0
        family = self._families.get(target.name)
        if family is None:
            if len(self._families) >= self.max_metrics:
                self._warn_once("", "too many EMF metrics: new ones are not exported", limit=self.max_metrics)
                return 0
            names = [target.name + suffix for suffix in _FAMILY_NAMES[target.kind]]
            clash = next((self._taken[name] for name in names if name in self._taken), None)
            if clash is not None:
                self._warn_once(
                    target.name, "an EMF metric whose Prometheus names clash with another's is not exported", clashes_with=clash
                )
                return 0
            family = _Family(target.kind, f"{point.namespace} {point.name} ({point.unit}), from functions' embedded metric format logs")
            self._families[target.name] = family
            self._taken.update(dict.fromkeys(names, target.name))
        if family.kind != target.kind:
            self._warn_once(target.name, "an EMF metric seen with another kind of unit is not exported", unit=point.unit)
            return 0
        series = family.series.get(labels)
        if series is None:
            if self._total_series >= self.max_total_series:
                self._warn_once("", "too many EMF label sets in all: new ones are not exported", limit=self.max_total_series)
                return 0
            if len(family.series) >= self.max_series:
                if not family.warned:
                    family.warned = True
                    logger.warning(
                        "too many label sets for an EMF metric: new ones are not exported",
                        extra={"metric": target.name, "limit": self.max_series},
                    )
                return 0
            series = family.series[labels] = [0.0, 0.0]
            self._total_series += 1
        values = [value * target.factor for value in point.values]
        if family.kind == "counter" and any(value < 0 for value in values):
            self._warn_once(target.name, "a negative Count cannot be added to a counter: the value is not exported")
            return 0
        series[0] += len(values)
        series[1] += sum(values)
        return 1

    def _warn_once(self, name: str, message: str, **extra: object) -> None:
        key = f"{name}\0{message}"
        if key in self._warned:
            return
        # What is remembered is bounded too: names come from functions' output.
        if len(self._warned) < self.max_metrics:
            self._warned.add(key)
            logger.warning(message, extra={"metric": name, **extra})
        else:
            logger.debug(message, extra={"metric": name, **extra})

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = [(name, family.kind, family.help, list(family.series.items())) for name, family in self._families.items()]
        for name, kind, help_text, series in snapshot:
            metric = Metric(name, help_text, kind)
            for labels, (count, total) in series:
                names = dict(labels)
                if kind == "counter":
                    metric.add_sample(name + "_total", names, total)
                else:
                    metric.add_sample(name + "_count", names, count)
                    metric.add_sample(name + "_sum", names, total)
            yield metric
