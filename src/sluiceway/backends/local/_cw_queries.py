"""Metric data queries (GetMetricData's ``MetricDataQueries``, an alarm's ``Metrics``) over the stored data points.

A ``MetricStat`` query gathers its metric into periods and takes the statistic of each; an
``Expression`` query computes metric math (``_cw_math``) over the other queries' series, after the
expressions it reads. An expression giving an array of series answers one result per series, each
with the expression's Id. A result that dropped values that are not numbers (a division by zero)
carries CloudWatch's ``ArithmeticError`` message.

``ANOMALY_DETECTION_BAND(m1, k)`` is a query of its own (the whole expression, as AWS uses it): the
query it names is computed again over the two weeks before each training end of the range, the
local model (``_cw_anomaly_model``) trains on that history with the configuration of the metric's
anomaly detector (models trained lately are found in the detectors' cache instead), and the band
answers two results with the query's Id, its lower bound then its upper bound, labelled
``<label> Lower`` and ``<label> Upper``. (That a band answers as two results with
its bounds is what "Using CloudWatch anomaly detection" says of GetMetricData; the labels' words
are not verified against AWS.)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from . import _cw_anomaly_model as model
from ._cw_math import Expression, MathError, Run, TimeSeries, Value, parse
from ._cw_model_cache import ModelCache
from ._cw_values import Bucket, MetricKey, canonical_dimensions, statistic

__all__ = [
    "BandCall",
    "BucketSource",
    "TrainingSource",
    "band_alarm_series",
    "band_call",
    "band_series",
    "check_band_alarm",
    "Computed",
    "QueryResult",
    "aligned_start",
    "compute",
    "metric_key",
    "returned_series",
    "returns_array",
    "run_queries",
    "stat_series",
]

_MINUTE_MS = 60_000
_DAY_MS = 24 * 3600 * 1000


class BucketSource(Protocol):
    """Where the data points are (``SqliteCloudWatch``)."""

    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        """The metric's data points in ``[start_ms, end_ms)`` gathered into periods from ``start_ms``."""
        ...


class TrainingSource(Protocol):
    """Where the anomaly detectors' configurations and trained models are (``SqliteAnomalyDetectors``)."""

    @property
    def models(self) -> ModelCache:
        """The models trained lately."""
        ...

    def training(self, metric: Mapping[str, Any], stat: str) -> model.Training:
        """How the model of the metric's statistic trains: its detector's configuration, or the default."""
        ...

    def data_version(self, keys: Sequence[MetricKey], start_ms: int, end_ms: int) -> tuple[int, int]:
        """What changes when data points of the metrics are put in ``[start_ms, end_ms)``."""
        ...


_BAND: Final = re.compile(
    r"\s*ANOMALY_DETECTION_BAND\s*\(\s*(?P<id>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:,\s*(?P<width>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*)?\)\s*"
)


@dataclass(frozen=True)
class BandCall:
    """``ANOMALY_DETECTION_BAND(input_id, width)``."""

    input_id: str
    width: float


def band_call(expression: str) -> BandCall | None:
    """The band an expression computes; None for an expression without ``ANOMALY_DETECTION_BAND``.

    Raises:
        MathError: the function used otherwise than as the whole expression, over a query's Id
            and a positive number.
    """
    if "ANOMALY_DETECTION_BAND" not in expression:
        return None
    found = _BAND.fullmatch(expression)
    if found is None:
        raise MathError(
            f"ANOMALY_DETECTION_BAND must be the whole expression, over the Id of one query and a band width:"
            f" ANOMALY_DETECTION_BAND(m1) or ANOMALY_DETECTION_BAND(m1, 2), not {expression!r}"
        )
    width = float(found["width"]) if found["width"] is not None else model.DEFAULT_WIDTH
    if not (math.isfinite(width) and width > 0):
        raise MathError(f"The band width of ANOMALY_DETECTION_BAND must be a positive number, not {found['width']}")
    return BandCall(found["id"], width)


ARITHMETIC_ERROR: Final = (
    "ArithmeticError",
    "One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)",
)
"""The message (Code, Value) CloudWatch gives a result whose math dropped values."""


@dataclass(frozen=True)
class QueryResult:
    id: str
    label: str
    points: list[tuple[int, float]]
    """``(timestamp ms, value)``, oldest first."""
    return_data: bool
    messages: tuple[tuple[str, str], ...] = ()
    """``(Code, Value)`` of the result's messages (GetMetricData's ``MetricDataResult.Messages``)."""


def aligned_start(start_ms: int, now_ms: int, period_s: int) -> int:
    """The start CloudWatch rounds a query's StartTime down to: the minute (the period, for a
    high-resolution period) within 15 days, 5 minutes within 63 days, the hour beyond."""
    age = now_ms - start_ms
    if age > 63 * _DAY_MS:
        step = 3600_000
    elif age > 15 * _DAY_MS:
        step = 5 * _MINUTE_MS
    elif period_s < 60:
        step = period_s * 1000
    else:
        step = _MINUTE_MS
    return start_ms - start_ms % step


def metric_key(metric: Mapping[str, Any]) -> MetricKey:
    """The stored identity of a ``Metric`` structure (Namespace, MetricName, Dimensions)."""
    pairs = canonical_dimensions((str(d["Name"]), str(d["Value"])) for d in metric.get("Dimensions", []))
    return MetricKey(str(metric["Namespace"]), str(metric["MetricName"]), pairs)


def stat_series(
    store: BucketSource,
    key: MetricKey,
    stat: str,
    start_ms: int,
    end_ms: int,
    period_s: int,
    *,
    unit: str | None = None,
) -> list[tuple[int, float, float]]:
    """``(period start, value, sample count)`` of each period with data, oldest first."""
    found: list[tuple[int, float, float]] = []
    for bucket in store.buckets(key, start_ms, end_ms, period_s, unit=unit):
        value = statistic(bucket, stat)
        if value is not None:
            found.append((bucket.timestamp_ms, value, bucket.samples))
    return found


MAX_GRID: Final = 100_800
"""Periods a non-sparse series (``FILL``, ``TIME_SERIES``) may span: as many data points as GetMetricData returns."""


@dataclass(frozen=True)
class Computed:
    """Every query's value by Id, and the expressions whose result dropped values that are not numbers."""

    values: dict[str, Value]
    dropped: frozenset[str]


def compute(
    store: BucketSource,
    queries: Sequence[Mapping[str, Any]],
    start_ms: int,
    end_ms: int,
    *,
    now_ms: int,
    detectors: TrainingSource | None = None,
) -> Computed:
    """Every query's series (or an expression's array of series; a band's two series).

    Raises:
        MathError: an expression this stack does not compute, one naming an unknown id, or
            expressions that read each other in a circle.
    """
    ids = {str(q["Id"]) for q in queries}
    calls = {str(q["Id"]): call for q in queries if "MetricStat" not in q and (call := band_call(str(q["Expression"]))) is not None}
    if calls:
        for query_id, call in calls.items():
            if call.input_id not in ids:
                raise MathError(f"Unrecognized id {call.input_id!r} in expression {_expression(queries, query_id)!r}")
            if call.input_id in calls:
                raise MathError(f"ANOMALY_DETECTION_BAND takes a metric or an expression, not the band {call.input_id!r}")
        rest = [q for q in queries if str(q["Id"]) not in calls]
        for q in rest:
            if "MetricStat" not in q and (parse(str(q["Expression"])).ids & calls.keys()):
                raise MathError(f"The band of an ANOMALY_DETECTION_BAND is not an input of other expressions: {q['Expression']!r}")
        computed = compute(store, rest, start_ms, end_ms, now_ms=now_ms, detectors=detectors)
        with_bands = dict(computed.values)
        for query_id, call in calls.items():
            with_bands[query_id] = band_series(store, rest, call, start_ms, end_ms, now_ms=now_ms, detectors=detectors)
        return Computed(with_bands, computed.dropped)
    values: dict[str, Value] = {}
    metric_ids: list[str] = []
    for query in queries:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            period = int(stat["Period"])
            start = aligned_start(start_ms, now_ms, period)
            points = stat_series(store, metric_key(stat["Metric"]), str(stat["Stat"]), start, end_ms, period, unit=stat.get("Unit"))
            label = str(query.get("Label") or stat["Metric"]["MetricName"])
            values[str(query["Id"])] = TimeSeries(label, {ts: value for ts, value, _ in points}, period, from_metric=True)
            metric_ids.append(str(query["Id"]))
    pending = {str(q["Id"]): q for q in queries if "MetricStat" not in q}
    parsed = {query_id: parse(str(q["Expression"])) for query_id, q in pending.items()}
    for expression in parsed.values():
        unknown = sorted(expression.ids - ids)
        if unknown:
            raise MathError(f"Unrecognized id {unknown[0]!r} in expression {expression.text!r}")
    default_period = min((int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q), default=60)

    def grid(period_s: int) -> range:
        start = aligned_start(start_ms, now_ms, period_s)
        stamps = range(start, end_ms, period_s * 1000)
        if len(stamps) > MAX_GRID:
            raise MathError(f"The time range holds more than {MAX_GRID:,} periods of {period_s} seconds")
        return stamps

    dropped: set[str] = set()
    # Expressions may read other expressions: compute them in an order that has their inputs first.
    while parsed:
        ready = [i for i, e in parsed.items() if not (e.ids & parsed.keys())]
        if not ready:
            raise MathError(f"Circular reference among expressions {sorted(parsed)}")
        for query_id in ready:
            ready_expression: Expression = parsed.pop(query_id)
            run = Run(grid, int(pending[query_id].get("Period") or default_period))
            values[query_id] = ready_expression.evaluate(values, metric_ids=metric_ids, run=run)
            if run.dropped:
                dropped.add(query_id)
    return Computed(values, frozenset(dropped))


def _expression(queries: Sequence[Mapping[str, Any]], query_id: str) -> str:
    return next(str(q.get("Expression")) for q in queries if str(q["Id"]) == query_id)


def band_series(
    store: BucketSource,
    queries: Sequence[Mapping[str, Any]],
    call: BandCall,
    start_ms: int,
    end_ms: int,
    *,
    now_ms: int,
    detectors: TrainingSource | None = None,
) -> tuple[TimeSeries, TimeSeries]:
    """The band's lower and upper series over the range's periods (those the model can band).

    ``queries`` are the request's queries but the bands. Raises MathError as :func:`compute`, and
    for a band over an expression that computes an array of series.
    """
    source = next(q for q in queries if str(q["Id"]) == call.input_id)
    period = _query_period(source) if "MetricStat" in source else int(source.get("Period") or _query_period(_first_stat(queries)))
    stamps = range(aligned_start(start_ms, now_ms, period), end_ms, period * 1000)
    if len(stamps) > MAX_GRID:
        raise MathError(f"The time range holds more than {MAX_GRID:,} periods of {period} seconds")
    training = model.Training()
    if detectors is not None and "MetricStat" in source:
        training = detectors.training(source["MetricStat"]["Metric"], str(source["MetricStat"]["Stat"]))
    ends = model.training_ends(stamps)
    models = _models(store, _inputs(queries, call.input_id), call.input_id, period, sorted(set(ends.values())), training, now_ms, detectors)
    lower: dict[int, float] = {}
    upper: dict[int, float] = {}
    for ts in stamps:
        fitted = models[ends[ts]]
        if fitted is not None:
            band = fitted.band(ts, call.width)
            lower[ts], upper[ts] = band.lower, band.upper
    return TimeSeries("Lower", lower, period), TimeSeries("Upper", upper, period)


_HISTORY_MARGIN_MS: Final = 3_600_000
"""How far :func:`aligned_start` may move a history's start back (to the hour, for old data)."""


def _models(
    store: BucketSource,
    inputs: Sequence[Mapping[str, Any]],
    input_id: str,
    period: int,
    ends: Sequence[int],
    training: model.Training,
    now_ms: int,
    detectors: TrainingSource | None,
) -> dict[int, model.Model | None]:
    """The model trained at each of ``ends`` (oldest first): from the detectors' cache, or trained on
    the input's history, computed once for the ends that fall together.

    A cached model is keyed by what it was trained on: the input's queries, the training, its end,
    and the count and newest row of the data points in its window, so that data put late into the
    window (a backfill) trains it again, while the data of the current hour, after every training
    end, does not.
    """
    window = model.window_ms(period)
    found: dict[int, model.Model | None] = {}
    keys: dict[int, Hashable] = {}
    todo: list[int] = []
    if detectors is None:
        todo = list(ends)
    else:
        identity = json.dumps(
            [[{k: v for k, v in q.items() if k not in ("Label", "ReturnData")} for q in inputs], input_id, period, training.key()],
            sort_keys=True,
            default=str,
        )
        metrics = [metric_key(q["MetricStat"]["Metric"]) for q in inputs if "MetricStat" in q]
        for end in ends:
            keys[end] = (identity, end, detectors.data_version(metrics, end - window, end))
            cached, fitted = detectors.models.get(keys[end])
            if cached:
                found[end] = fitted
            else:
                todo.append(end)
    # The history of ends that fall together is computed once, as long as it stays within the
    # periods metric math may span (FILL makes a value of every period).
    room = (MAX_GRID * period * 1000) - window - _HISTORY_MARGIN_MS
    while todo:
        chunk = [end for end in todo if end - todo[0] <= room]
        todo = todo[len(chunk) :]
        history_start = chunk[0] - window
        history_start -= history_start % (period * 1000)
        history = compute(store, inputs, history_start, chunk[-1], now_ms=now_ms).values[input_id]
        if not isinstance(history, TimeSeries):
            raise MathError(f"ANOMALY_DETECTION_BAND takes a single time series: {input_id!r} computes an array of time series")
        points = model.History.of(list(history.points.items()))
        for end in chunk:
            found[end] = model.train(points, end, period, training)
            if detectors is not None:
                detectors.models.put(keys[end], found[end])
    return found


def _inputs(queries: Sequence[Mapping[str, Any]], input_id: str) -> list[Mapping[str, Any]]:
    """The queries ``input_id`` is computed from (itself included), in the request's order.

    An expression without a Period gets the request's default one, which the whole request decides.
    """
    by_id = {str(q["Id"]): q for q in queries}
    metric_ids = [i for i, q in by_id.items() if "MetricStat" in q]
    default_period = min((int(q["MetricStat"]["Period"]) for q in queries if "MetricStat" in q), default=60)
    wanted: set[str] = set()
    todo = [input_id]
    while todo:
        query_id = todo.pop()
        if query_id in wanted or query_id not in by_id:
            continue
        wanted.add(query_id)
        query = by_id[query_id]
        if "MetricStat" not in query:
            text = str(query["Expression"])
            todo.extend(parse(text).ids)
            if "METRICS" in text:  # METRICS() reads every metric query
                todo.extend(metric_ids)
    return [q if "MetricStat" in q or "Period" in q else {**q, "Period": default_period} for q in queries if str(q["Id"]) in wanted]


def _first_stat(queries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return next((q for q in queries if "MetricStat" in q), {})


def run_queries(
    store: BucketSource,
    queries: Sequence[Mapping[str, Any]],
    start_ms: int,
    end_ms: int,
    *,
    now_ms: int,
    detectors: TrainingSource | None = None,
) -> list[QueryResult]:
    """Every query's results in the queries' order (an expression giving an array of series, one per series).

    Raises:
        MathError: as :func:`compute`.
    """
    computed = compute(store, queries, start_ms, end_ms, now_ms=now_ms, detectors=detectors)
    found: list[QueryResult] = []
    for query in queries:
        query_id = str(query["Id"])
        messages = (ARITHMETIC_ERROR,) if query_id in computed.dropped else ()
        for label, series in _labelled(query, computed.values[query_id]):
            found.append(QueryResult(query_id, label, sorted(series.points.items()), bool(query.get("ReturnData", True)), messages))
    return found


def returned_series(
    store: BucketSource, queries: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int, *, now_ms: int
) -> TimeSeries | None:
    """The series of the query that returns data (an alarm's ``Metrics``); None when no query
    returns data or it computes an array of series, which no alarm can watch.

    Raises:
        MathError: as :func:`compute`.
    """
    returning = [str(q["Id"]) for q in queries if q.get("ReturnData", True)]
    if len(returning) != 1:
        return None
    value = compute(store, queries, start_ms, end_ms, now_ms=now_ms).values[returning[0]]
    return value if isinstance(value, TimeSeries) else None


def band_alarm_series(
    store: BucketSource,
    queries: Sequence[Mapping[str, Any]],
    threshold_id: str,
    start_ms: int,
    end_ms: int,
    *,
    now_ms: int,
    detectors: TrainingSource | None = None,
) -> tuple[TimeSeries, TimeSeries, TimeSeries] | None:
    """An anomaly detection alarm's watched series and its band's lower and upper series; None when
    the queries do not make one (PutMetricAlarm refuses those).

    Raises:
        MathError: as :func:`compute`.
    """
    watched = [str(q["Id"]) for q in queries if q.get("ReturnData", True) and str(q["Id"]) != threshold_id]
    if len(watched) != 1:
        return None
    values = compute(store, queries, start_ms, end_ms, now_ms=now_ms, detectors=detectors).values
    series, band = values[watched[0]], values.get(threshold_id)
    if not isinstance(series, TimeSeries) or not isinstance(band, tuple) or len(band) != 2:
        return None
    return series, band[0], band[1]


class _OneValueEach:
    """Every metric with one data point: what a query computes is then a series or an array
    whatever the data (no function's result type depends on the values), and nothing is empty."""

    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        bucket = Bucket(start_ms, unit=unit or "None")
        bucket.add(1.0, 1.0, 1.0, 1.0, [(1.0, 1.0)])
        return [bucket]


def returns_array(queries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the query that returns data computes an array of series (``METRICS()``, ``SORT``,
    ``[m1, m2]``...), found by computing the queries over made-up data.

    An expression that does not compute is not called an array here: its own error shows when it runs.
    """
    returning = [str(q["Id"]) for q in queries if q.get("ReturnData", True)]
    if len(returning) != 1:
        return False
    period = max(_query_period(q) for q in queries)
    end_ms = 1_000_000 * period * 1000  # any whole number of periods
    try:
        computed = compute(_OneValueEach(), queries, end_ms - period * 1000, end_ms, now_ms=end_ms)
    except MathError:
        return False
    return isinstance(computed.values[returning[0]], tuple)


def check_band_alarm(queries: Sequence[Mapping[str, Any]], threshold_id: str) -> None:
    """Compute an anomaly detection alarm's queries over made-up data, history and band included, so
    that PutMetricAlarm refuses what its evaluation could not compute.

    Raises:
        MathError: as :func:`compute`.
    """
    period = max(_query_period(q) for q in queries)
    end_ms = 1_000_000 * period * 1000  # any whole number of periods
    band_alarm_series(_OneValueEach(), queries, threshold_id, end_ms - period * 1000, end_ms, now_ms=end_ms)


def _query_period(query: Mapping[str, Any]) -> int:
    return int((query.get("MetricStat") or {}).get("Period") or query.get("Period") or 60)


def _labelled(query: Mapping[str, Any], value: Value) -> list[tuple[str, TimeSeries]]:
    """Each result's label: a series' is the query's Label, else (an expression's) its Id; in an array,
    each series' own label after the expression's Label, if it has one (as the console's legend reads)."""
    query_id = str(query["Id"])
    if isinstance(value, TimeSeries):
        return [(value.label if "MetricStat" in query else str(query.get("Label") or query_id), value)]
    assert isinstance(value, tuple)
    if "MetricStat" not in query and band_call(str(query["Expression"])) is not None:
        return [(f"{query.get('Label') or query_id} {s.label}", s) for s in value]
    assert isinstance(value, tuple)
    given = str(query.get("Label") or "")
    return [(" ".join(part for part in (given, s.label) if part) or query_id, s) for s in value]
