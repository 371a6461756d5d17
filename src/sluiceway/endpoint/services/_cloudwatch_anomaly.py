"""CloudWatch's anomaly detectors: PutAnomalyDetector, DescribeAnomalyDetectors, DeleteAnomalyDetector.

A detector names a metric and statistic, in the flat parameters of the first API (``Namespace``,
``MetricName``, ``Dimensions``, ``Stat``) or in ``SingleMetricAnomalyDetector``, and holds the
``Configuration`` its model trains with (``ExcludedTimeRanges``, ``MetricTimezone``), which the local
model uses (``backends/local/_cw_anomaly_model.py``; ``AdaptationSpeed`` and
``OutlierFilteringStrength`` are kept and shown but do not tune it). ``MetricMathAnomalyDetector``
is refused: a band over a metric math expression is computed for alarms and GetMetricData with the
default configuration, but such detectors are not stored locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ...backends.local._cw_anomaly_model import time_zone
from ...backends.local._cw_values import MetricKey, canonical_dimensions
from ...backends.local.anomaly_detectors import DetectorRecord, SqliteAnomalyDetectors
from ...errors import NotFoundError
from ..context import Context
from ..errors import AwsError
from ._cloudwatch_common import (
    OPERATIONS,
    combination,
    decode_token,
    dimension_pairs,
    dimensions_out,
    encode_token,
    invalid,
    missing,
    ms,
    store,
    to_time,
)
from ._cloudwatch_metrics import check_stat

__all__: list[str] = []

MAX_EXCLUDED_RANGES: Final = 10
"""Time ranges a configuration may exclude (PutAnomalyDetector's documentation)."""
MAX_IDS: Final = 50
"""AnomalyDetectorIds one DescribeAnomalyDetectors may name."""
_FLAT: Final = ("Namespace", "MetricName", "Dimensions", "Stat")
_TUNING: Final = {"AdaptationSpeed": ("FAST", "NORMAL", "SLOW"), "OutlierFilteringStrength": ("MINIMAL", "MODERATE", "STRICT")}


def _detectors(ctx: Context) -> SqliteAnomalyDetectors:
    found: SqliteAnomalyDetectors = store(ctx).detectors
    return found


def _single(params: Mapping[str, Any]) -> tuple[MetricKey, str]:
    """The metric and statistic a request names, flat or in SingleMetricAnomalyDetector."""
    if "MetricMathAnomalyDetector" in params:
        if "SingleMetricAnomalyDetector" in params or any(k in params for k in _FLAT):
            raise combination(
                "MetricMathAnomalyDetector cannot be specified with SingleMetricAnomalyDetector, Namespace, MetricName, Dimensions or Stat."
            )
        raise invalid(
            "MetricMathAnomalyDetector",
            "[metric math]",
            "Metric math anomaly detectors are not trained locally:"
            " use SingleMetricAnomalyDetector, or ANOMALY_DETECTION_BAND over the expression.",
        )
    single = params.get("SingleMetricAnomalyDetector")
    if single is not None:
        flat = [k for k in _FLAT if k in params]
        if flat:
            raise combination(f"{flat[0]} cannot be specified with SingleMetricAnomalyDetector.")
        where, source = "SingleMetricAnomalyDetector.", single
    else:
        where, source = "", params
    for name in ("Namespace", "MetricName", "Stat"):
        if not source.get(name):
            raise missing(f"{where}{name}")
    stat = str(source["Stat"])
    check_stat(f"{where}Stat", stat)
    pairs = canonical_dimensions(dimension_pairs(source.get("Dimensions"), f"{where}Dimensions"))
    return MetricKey(str(source["Namespace"]), str(source["MetricName"]), pairs), stat


def _configuration(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The configuration as stored: the excluded ranges in epoch ms, checked."""
    found: dict[str, Any] = {}
    if not config:
        return found
    ranges = config.get("ExcludedTimeRanges") or []
    if len(ranges) > MAX_EXCLUDED_RANGES:
        raise invalid(
            "Configuration.ExcludedTimeRanges", f"[{len(ranges)} ranges]", f"You can specify as many as {MAX_EXCLUDED_RANGES} time ranges."
        )
    if not isinstance(ranges, list):
        raise invalid("Configuration.ExcludedTimeRanges", ranges, "ExcludedTimeRanges is a list of ranges.")
    excluded = []
    for index, item in enumerate(ranges, start=1):
        # The SDKs check these shapes before sending; a template's properties reach here unchecked.
        where = f"Configuration.ExcludedTimeRanges.member.{index}"
        if not isinstance(item, Mapping):
            raise invalid(where, item, "A range has a StartTime and an EndTime.")
        for name in ("StartTime", "EndTime"):
            if item.get(name) is None:
                raise missing(f"{where}.{name}")
        start, end = _ms(item["StartTime"]), _ms(item["EndTime"])
        if start >= end:
            raise invalid(where, "range", "The StartTime must be before the EndTime.")
        excluded.append({"StartTime": start, "EndTime": end})
    if excluded:
        found["ExcludedTimeRanges"] = excluded
    zone = config.get("MetricTimezone")
    if zone is not None:
        try:
            time_zone(str(zone))
        except ValueError:
            raise invalid("Configuration.MetricTimezone", zone, "Use the name of a time zone of the tz database.") from None
        found["MetricTimezone"] = str(zone)
    for key, allowed in _TUNING.items():
        if key in config:
            if config[key] not in allowed:
                raise invalid(f"Configuration.{key}", config[key], f"Valid values are {', '.join(allowed)}.")
            found[key] = config[key]
    return found


def _ms(value: Any) -> int:
    """A Range's time: a timestamp, epoch seconds, or (from a template) ``yyyy-MM-dd'T'HH:mm:ss`` in UTC."""
    if isinstance(value, datetime):
        return ms(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("Configuration.ExcludedTimeRanges", value, "Times are written yyyy-MM-dd'T'HH:mm:ss.")
    try:
        return int(float(value) * 1000)
    except (OverflowError, ValueError):
        pass
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise invalid("Configuration.ExcludedTimeRanges", value, "Times are written yyyy-MM-dd'T'HH:mm:ss.") from None
    return ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@OPERATIONS("PutAnomalyDetector")
def put_anomaly_detector(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key, stat = _single(params)
    configuration = _configuration(params.get("Configuration"))
    record = _detectors(ctx).put(key, stat, configuration, params.get("MetricCharacteristics"))
    return {"AnomalyDetectorId": record.id}


@OPERATIONS("DescribeAnomalyDetectors")
def describe_anomaly_detectors(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = int(params.get("MaxResults", 100))
    if not 1 <= limit <= 100:
        raise invalid("MaxResults", limit, "The maximum value that you can specify is 100.")
    ids = params.get("AnomalyDetectorIds")
    filters = [k for k in ("Namespace", "MetricName", "Dimensions", "AnomalyDetectorTypes") if params.get(k)]
    if ids and filters:
        raise combination(f"AnomalyDetectorIds cannot be specified with {filters[0]}.")
    if ids is not None and len(ids) > MAX_IDS:
        raise invalid("AnomalyDetectorIds", f"[{len(ids)} ids]", f"You can specify up to {MAX_IDS} identifiers.")
    types = params.get("AnomalyDetectorTypes") or ["SINGLE_METRIC"]
    for kind in types:
        if kind not in ("SINGLE_METRIC", "METRIC_MATH"):
            raise invalid("AnomalyDetectorTypes", kind, "Valid values are SINGLE_METRIC and METRIC_MATH.")
    answer: dict[str, Any] = {"AnomalyDetectors": []}
    if "SINGLE_METRIC" not in types:
        return answer  # no metric math detectors are stored locally
    detectors = _detectors(ctx)
    found = detectors.list(
        ids=ids or None,
        namespace=params.get("Namespace"),
        metric_name=params.get("MetricName"),
        dimensions=dimension_pairs(params.get("Dimensions"), "Dimensions"),
        after=decode_token(params.get("NextToken")),
        limit=limit + 1,
    )
    answer["AnomalyDetectors"] = [_shown(detectors, record, ctx.account_id) for record in found[:limit]]
    if len(found) > limit:
        answer["NextToken"] = encode_token(detectors.identity(found[limit - 1]))
    return answer


def _shown(detectors: SqliteAnomalyDetectors, record: DetectorRecord, account_id: str) -> dict[str, Any]:
    """A detector as DescribeAnomalyDetectors answers it: the deprecated flat fields too, and the
    account in SingleMetricAnomalyDetector, as CloudWatch does (LocalStack's snapshot of AWS's answer)."""
    dimensions = dimensions_out(record.key.dimensions)
    configuration: dict[str, Any] = {
        "ExcludedTimeRanges": [
            {"StartTime": to_time(r["StartTime"]), "EndTime": to_time(r["EndTime"])}
            for r in record.configuration.get("ExcludedTimeRanges", [])
        ]
    }
    for key in ("MetricTimezone", *_TUNING):
        if key in record.configuration:
            configuration[key] = record.configuration[key]
    shown: dict[str, Any] = {
        "AnomalyDetectorId": record.id,
        "Namespace": record.key.namespace,
        "MetricName": record.key.name,
        "Dimensions": dimensions,
        "Stat": record.stat,
        "Configuration": configuration,
        "StateValue": detectors.state(record),
        "SingleMetricAnomalyDetector": {
            "AccountId": account_id,
            "Namespace": record.key.namespace,
            "MetricName": record.key.name,
            "Dimensions": dimensions,
            "Stat": record.stat,
        },
    }
    if record.characteristics is not None:
        shown["MetricCharacteristics"] = dict(record.characteristics)
    return shown


@OPERATIONS("DeleteAnomalyDetector")
def delete_anomaly_detector(ctx: Context, params: dict[str, Any]) -> None:
    detectors = _detectors(ctx)
    detector_id = params.get("AnomalyDetectorId")
    if detector_id is not None:
        named = [k for k in (*_FLAT, "SingleMetricAnomalyDetector", "MetricMathAnomalyDetector") if k in params]
        if named:
            raise combination(f"AnomalyDetectorId cannot be specified with {named[0]}.")
        record = detectors.by_id(str(detector_id))
    else:
        key, stat = _single(params)
        record = detectors.get(key, stat)
    try:
        if record is None:
            raise NotFoundError("no such detector")
        detectors.delete(record.id)
    except NotFoundError:
        # The message is ours: AWS's words for a missing detector are not recorded.
        raise AwsError("ResourceNotFoundException", "The anomaly detector was not found.", 404) from None
