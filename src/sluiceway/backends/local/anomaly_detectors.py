"""CloudWatch anomaly detectors in the state database: one model per metric and statistic.

A detector holds how its model trains (``Configuration``: ``ExcludedTimeRanges``, ``MetricTimezone``)
and answers its training state from the metric's data: ``PENDING_TRAINING`` until two weeks of
history hold enough values for the local model (``_cw_anomaly_model``), ``TRAINED`` then, and
``TRAINED_INSUFFICIENT_DATA`` once a trained model's data has aged out of the two weeks. The
bands themselves are computed when asked (GetMetricData, alarms) and never stored; the models
trained lately are kept in memory (``_cw_model_cache``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ...errors import NotFoundError
from ...ports import Clock
from . import _cw_anomaly_model as model
from ._cw_model_cache import ModelCache
from ._cw_queries import BucketSource
from ._cw_values import Dimensions, MetricKey, canonical_dimensions, dimensions_json
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["STATES", "DetectorRecord", "SqliteAnomalyDetectors"]

STATES: Final = ("PENDING_TRAINING", "TRAINED_INSUFFICIENT_DATA", "TRAINED")
_STATE_PERIOD_MS: Final = 60_000
"""The period the training state counts values in (a detector, like AWS's, has none of its own)."""


@dataclass(frozen=True)
class DetectorRecord:
    id: str
    key: MetricKey
    stat: str
    configuration: Mapping[str, Any] = field(default_factory=dict)
    """``ExcludedTimeRanges`` (``[{"StartTime", "EndTime"}]`` in epoch ms), ``MetricTimezone``, and the
    tuning settings, as put."""
    characteristics: Mapping[str, Any] | None = None
    created_ms: int = 0


def _identity(key: MetricKey, stat: str) -> str:
    return json.dumps([key.namespace, key.name, [list(p) for p in key.dimensions], stat], separators=(",", ":"))


class SqliteAnomalyDetectors:
    """The detectors, over the metrics of ``metrics`` (the CloudWatch store)."""

    def __init__(self, db: Database, clock: Clock, metrics: BucketSource) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.models = ModelCache()
        """The models trained lately (``_cw_queries`` keys them)."""

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def put(
        self, key: MetricKey, stat: str, configuration: Mapping[str, Any] | None = None, characteristics: Mapping[str, Any] | None = None
    ) -> DetectorRecord:
        """Create the metric's detector, or replace the configuration of the one it has (its id stays)."""
        config = json.dumps(dict(configuration or {}), separators=(",", ":"), sort_keys=True)
        traits = None if characteristics is None else json.dumps(dict(characteristics), separators=(",", ":"), sort_keys=True)
        identity = _identity(key, stat)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cw_anomaly_detectors (id, identity, namespace, metric_name, dimensions, stat, configuration,"
                " characteristics, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (identity) DO UPDATE SET configuration=excluded.configuration, characteristics=excluded.characteristics",
                (
                    str(uuid.uuid4()),
                    identity,
                    key.namespace,
                    key.name,
                    dimensions_json(key.dimensions),
                    stat,
                    config,
                    traits,
                    self._now_ms(),
                ),
            )
        return self.must_get(key, stat)

    def ensure(self, key: MetricKey, stat: str) -> DetectorRecord:
        """The metric's detector, created with the default configuration if it has none (as a band alarm does)."""
        found = self.get(key, stat)
        return found if found is not None else self.put(key, stat)

    def get(self, key: MetricKey, stat: str) -> DetectorRecord | None:
        row = self.db.connection().execute("SELECT * FROM cw_anomaly_detectors WHERE identity=?", (_identity(key, stat),)).fetchone()
        return None if row is None else _record(row)

    def must_get(self, key: MetricKey, stat: str) -> DetectorRecord:
        found = self.get(key, stat)
        if found is None:
            raise NotFoundError(f"no anomaly detector for {key.namespace} {key.name} {stat}")
        return found

    def by_id(self, detector_id: str) -> DetectorRecord | None:
        row = self.db.connection().execute("SELECT * FROM cw_anomaly_detectors WHERE id=?", (detector_id,)).fetchone()
        return None if row is None else _record(row)

    def delete(self, detector_id: str) -> None:
        """Raises NotFoundError when there is no such detector."""
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM cw_anomaly_detectors WHERE id=?", (detector_id,)).rowcount == 0:
                raise NotFoundError(f"no anomaly detector {detector_id}")

    def list(
        self,
        *,
        ids: Sequence[str] | None = None,
        namespace: str | None = None,
        metric_name: str | None = None,
        dimensions: Sequence[tuple[str, str]] = (),
        after: str | None = None,
        limit: int = 100,
    ) -> list[DetectorRecord]:
        """The detectors matching every filter given (a detector matches ``dimensions`` when it has
        each of them), in identity order after the identity ``after``."""
        where: list[str] = ["1=1"]
        args: list[Any] = []
        if ids is not None:
            where.append(f"id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        if namespace is not None:
            where.append("namespace=?")
            args.append(namespace)
        if metric_name is not None:
            where.append("metric_name=?")
            args.append(metric_name)
        if after is not None:
            where.append("identity > ?")
            args.append(after)
        rows = self.db.connection().execute(
            f"SELECT * FROM cw_anomaly_detectors WHERE {' AND '.join(where)} ORDER BY identity",  # noqa: S608 - placeholders only
            args,
        )
        wanted = set(dimensions)
        found: list[DetectorRecord] = []
        for row in rows:
            record = _record(row)
            if wanted <= set(record.key.dimensions):
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    @staticmethod
    def identity(record: DetectorRecord) -> str:
        """Where a page of :meth:`list` ends (for the next page's ``after``)."""
        return _identity(record.key, record.stat)

    def state(self, record: DetectorRecord) -> str:
        """The detector's training state now, from the metric's data alone (a read writes nothing).

        ``TRAINED`` when the two weeks before now hold :data:`~._cw_anomaly_model.MIN_TRAINING_POINTS`
        minutes with a value (less the excluded ranges); ``TRAINED_INSUFFICIENT_DATA`` when they do
        not but some earlier two weeks of the data kept did (the model trained, then its data aged
        out); ``PENDING_TRAINING`` otherwise.
        """
        now = self._now_ms()
        where, args = self._state_filter(record, now)
        conn = self.db.connection()
        recent = conn.execute(
            f"SELECT COUNT(DISTINCT d.ts_ms / {_STATE_PERIOD_MS}) FROM cw_datapoints d JOIN cw_metrics m ON m.id = d.metric"  # noqa: S608
            f" WHERE {where} AND d.ts_ms >= ?",
            [*args, now - model.TRAINING_MS],
        ).fetchone()[0]
        if recent >= model.MIN_TRAINING_POINTS:
            return "TRAINED"
        # Whether any ten minutes with a value ever fell within two weeks of each other.
        earlier = conn.execute(
            "SELECT 1 FROM (SELECT minute, LEAD(minute, ?) OVER (ORDER BY minute) AS last FROM ("  # noqa: S608
            f"SELECT DISTINCT d.ts_ms / {_STATE_PERIOD_MS} AS minute FROM cw_datapoints d JOIN cw_metrics m ON m.id = d.metric"
            f" WHERE {where})) WHERE last - minute < ? LIMIT 1",
            [model.MIN_TRAINING_POINTS - 1, *args, model.TRAINING_MS // _STATE_PERIOD_MS],
        ).fetchone()
        return "PENDING_TRAINING" if earlier is None else "TRAINED_INSUFFICIENT_DATA"

    @staticmethod
    def _state_filter(record: DetectorRecord, now: int) -> tuple[str, Sequence[Any]]:
        """The data points that count towards a detector's training: its metric's before now, those
        its statistic has a value for, outside the excluded ranges."""
        where = ["m.namespace=?", "m.name=?", "m.dimensions=?", "d.ts_ms < ?"]
        args: list[Any] = [record.key.namespace, record.key.name, dimensions_json(record.key.dimensions), now]
        if record.stat.startswith("p"):
            where.append("d.vals IS NOT NULL")  # a statistic set has no percentiles
        for low, high in _training(record.configuration).excluded:
            where.append("NOT (d.ts_ms BETWEEN ? AND ?)")
            args.extend((low, high))
        return " AND ".join(where), args

    def data_version(self, keys: Sequence[MetricKey], start_ms: int, end_ms: int) -> tuple[int, int]:
        """The count and the newest row of the metrics' data points in ``[start_ms, end_ms)``: what
        changes when data is put there (the key of a model trained on them)."""
        count = newest = 0
        conn = self.db.connection()
        for key in keys:
            found = conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(d.id), 0) FROM cw_datapoints d JOIN cw_metrics m ON m.id = d.metric"
                " WHERE m.namespace=? AND m.name=? AND m.dimensions=? AND d.ts_ms >= ? AND d.ts_ms < ?",
                (key.namespace, key.name, dimensions_json(key.dimensions), start_ms, end_ms),
            ).fetchone()
            count, newest = count + int(found[0]), max(newest, int(found[1]))
        return count, newest

    def training(self, metric: Mapping[str, Any], stat: str) -> model.Training:
        """How the model of a ``Metric`` structure's statistic trains (the default without a detector)."""
        pairs = canonical_dimensions((str(d["Name"]), str(d["Value"])) for d in metric.get("Dimensions", []))
        found = self.get(MetricKey(str(metric["Namespace"]), str(metric["MetricName"]), pairs), stat)
        return model.Training() if found is None else _training(found.configuration)


def _training(configuration: Mapping[str, Any]) -> model.Training:
    excluded = [(int(r["StartTime"]), int(r["EndTime"])) for r in configuration.get("ExcludedTimeRanges", [])]
    try:
        zone = model.time_zone(configuration.get("MetricTimezone"))
    except ValueError:  # checked when put; a zone the system's tz database lost since trains in UTC
        logger.warning("unknown anomaly detector time zone", extra={"zone": configuration.get("MetricTimezone")})
        zone = model.time_zone(None)
    return model.Training(excluded, zone)


def _record(row: sqlite3.Row) -> DetectorRecord:
    pairs: Dimensions = tuple((str(n), str(v)) for n, v in json.loads(row["dimensions"]))
    return DetectorRecord(
        id=row["id"],
        key=MetricKey(row["namespace"], row["metric_name"], pairs),
        stat=row["stat"],
        configuration=json.loads(row["configuration"]),
        characteristics=None if row["characteristics"] is None else json.loads(row["characteristics"]),
        created_ms=int(row["created_ms"]),
    )
