"""Amazon CloudWatch (json, and query for older SDKs): metrics, metric alarms and composite alarms over the local store.

Metric operations are in ``_cloudwatch_metrics``; this module holds the alarms': PutMetricAlarm,
PutCompositeAlarm, DescribeAlarms, DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
DescribeAlarmHistory, EnableAlarmActions and DisableAlarmActions. The stack evaluates the metric
alarms (``runtime/alarms.py``); a composite alarm's rule is evaluated when it is put and whenever
an alarm it references changes state. A state change, SetAlarmState's included, publishes to the
state's SNS actions and puts ``CloudWatch Alarm State Change`` on the default bus. An alarm on an
anomaly detection band (``ThresholdMetricId`` naming an ``ANOMALY_DETECTION_BAND`` query of its
``Metrics``) is evaluated against the local model's band, and creates the metric's anomaly detector
if it has none, as CloudWatch does (the detectors' operations are in ``_cloudwatch_anomaly``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ...backends.local._cw_alarm_rule import MAX_RULE_LENGTH, RuleError
from ...backends.local._cw_alarm_rule import parse as parse_rule
from ...backends.local._cw_math import MathError
from ...backends.local._cw_queries import band_call, check_band_alarm, metric_key, returns_array
from ...backends.local.cloudwatch import STATES, AlarmRecord, CompositeRecord
from ...errors import ConflictError, NotFoundError
from ..context import Context
from ..errors import AwsError
from ..json_nesting import MAX_JSON_NESTING, nesting
from . import (
    _cloudwatch_anomaly,  # noqa: F401 - registers the anomaly detector operations
    _cloudwatch_dashboards,  # noqa: F401 - registers the dashboard operations
    _cloudwatch_metrics,  # noqa: F401 - registers the metric operations
)
from ._cloudwatch_common import (
    OPERATIONS,
    combination,
    decode_token,
    dimension_pairs,
    encode_token,
    invalid,
    ms,
    store,
    to_time,
    validation,
)
from ._cloudwatch_metrics import check_period, check_queries, check_query_limits, check_stat

__all__ = ["OPERATIONS"]

MAX_ALARMS: Final = 10_000
"""Metric alarms per Region and account (CloudWatch's quota)."""
MAX_ACTIONS: Final = 5
"""Actions per state."""
MAX_ALARM_METRICS: Final = 10
"""Metrics a metric math alarm may read."""
MAX_EVALUATION_SECONDS: Final = 7 * 24 * 3600
"""EvaluationPeriods x Period: at most seven days."""

_STATIC: Final = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold")
_BANDS: Final = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
_TREATMENTS: Final = ("missing", "notBreaching", "breaching", "ignore")
_ACTION_KEYS: Final = ("AlarmActions", "OKActions", "InsufficientDataActions")
_DEFINITION_KEYS: Final = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    *_ACTION_KEYS,
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


# -- PutMetricAlarm ----------------------------------------------------------------------------


@OPERATIONS("PutMetricAlarm")
def put_metric_alarm(ctx: Context, params: dict[str, Any]) -> None:
    check_query_limits(params.get("Metrics") or [], "metrics")
    definition: dict[str, Any] = {key: params[key] for key in _DEFINITION_KEYS if key in params}
    definition.pop("ActionsEnabled", None)
    _check_alarm(definition)
    cloudwatch = store(ctx)
    if cloudwatch.alarm(definition["AlarmName"]) is None and len(cloudwatch.alarms(limit=MAX_ALARMS)) >= MAX_ALARMS:
        raise AwsError("LimitExceeded", "The maximum number of alarms for this account has been reached.", 400)
    try:
        cloudwatch.put_alarm(definition, actions_enabled=bool(params.get("ActionsEnabled", True)))
    except ConflictError as exc:
        raise validation(str(exc)) from None
    source = _band_source(definition)
    if source is not None:
        # CloudWatch creates the model a band alarm reads when the metric has none.
        cloudwatch.detectors.ensure(metric_key(source["Metric"]), str(source["Stat"]))


def _band_source(definition: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The MetricStat a band alarm's band is computed over; None for other alarms, and for a band over an expression."""
    threshold_id = definition.get("ThresholdMetricId")
    if threshold_id is None:
        return None
    queries = {q["Id"]: q for q in definition["Metrics"]}
    call = band_call(str(queries[threshold_id]["Expression"]))
    assert call is not None  # _check_alarm made sure
    found: Mapping[str, Any] | None = queries[call.input_id].get("MetricStat")
    return found


def _check_alarm(definition: dict[str, Any]) -> None:
    comparison = definition["ComparisonOperator"]
    if comparison not in _STATIC and comparison not in _BANDS:
        raise invalid("ComparisonOperator", comparison)
    if comparison in _BANDS:
        _check_band(definition)
    elif "ThresholdMetricId" in definition:
        # The messages of these two checks are ours: AWS's words for them are not recorded.
        raise validation(f"ThresholdMetricId can be used only with the anomaly detection comparisons ({', '.join(_BANDS)}).")
    elif "Threshold" not in definition:
        raise validation("Threshold must be specified for a static threshold alarm.")
    elif not _finite(definition["Threshold"]):
        # NaN or Infinity (the SDKs send them as strings) compares with nothing: no alarm could move.
        raise invalid("Threshold", definition["Threshold"])
    treatment = definition.get("TreatMissingData", "missing")
    if treatment not in _TREATMENTS:
        raise invalid("TreatMissingData", treatment, f"Valid values are {', '.join(_TREATMENTS)}.")
    periods = int(definition["EvaluationPeriods"])
    if periods < 1:
        raise invalid("EvaluationPeriods", periods)
    datapoints = definition.get("DatapointsToAlarm")
    if datapoints is not None and not 1 <= int(datapoints) <= periods:
        raise validation(f"DatapointsToAlarm ({datapoints}) must be between 1 and EvaluationPeriods ({periods}).")
    period = _check_math(definition) if "Metrics" in definition else _check_single(definition)
    if comparison in _BANDS:
        try:
            # What the evaluator computes (the band's two weeks of history included), over made-up
            # data: an alarm it could not compute would never leave INSUFFICIENT_DATA.
            check_band_alarm(definition["Metrics"], str(definition["ThresholdMetricId"]))
        except MathError as exc:
            raise validation(str(exc)) from None
    if period * periods > MAX_EVALUATION_SECONDS:
        raise validation(
            f"The evaluation periods ({periods}) multiplied by the period ({period}) must not exceed {MAX_EVALUATION_SECONDS} seconds."
        )
    low_samples = definition.get("EvaluateLowSampleCountPercentile")
    if low_samples is not None:
        if low_samples not in ("evaluate", "ignore"):
            raise invalid("EvaluateLowSampleCountPercentile", low_samples, "Valid values are evaluate and ignore.")
        if "ExtendedStatistic" not in definition:
            raise combination("EvaluateLowSampleCountPercentile applies only to an alarm on a percentile (ExtendedStatistic).")
    _check_actions(definition)


def _check_actions(definition: Mapping[str, Any]) -> None:
    for key in _ACTION_KEYS:
        actions = definition.get(key, [])
        if len(actions) > MAX_ACTIONS:
            raise validation(f"The collection {key} must not have a size greater than {MAX_ACTIONS}.")
        for action in actions:
            if not action.startswith("arn:") or action.count(":") < 5:
                raise invalid(key, action, "An action must be an ARN.")


def _finite(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and math.isfinite(float(value))
    except (OverflowError, TypeError, ValueError):
        return False


def _check_single(definition: Mapping[str, Any]) -> int:
    for name in ("MetricName", "Namespace", "Period"):
        if name not in definition:
            raise validation(f"{name} must be specified for an alarm on a metric (or use Metrics).")
    has_stat, has_extended = "Statistic" in definition, "ExtendedStatistic" in definition
    if has_stat == has_extended:
        raise combination("Exactly one of Statistic and ExtendedStatistic must be specified.")
    if has_extended:
        stat = str(definition["ExtendedStatistic"])
        check_stat("ExtendedStatistic", stat)
        if not stat.startswith("p"):
            raise invalid("ExtendedStatistic", stat)
    period = int(definition["Period"])
    check_period("Period", period)
    if period < 60 and period not in (10, 30):
        raise invalid("Period", period, "An alarm's period must be 10, 30 or a multiple of 60 seconds.")
    dimension_pairs(definition.get("Dimensions"), "Dimensions")
    return period


def _check_math(definition: Mapping[str, Any]) -> int:
    conflicting = [
        k for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit") if k in definition
    ]
    if conflicting:
        raise combination(f"{conflicting[0]} cannot be specified with Metrics.")
    queries: Sequence[Mapping[str, Any]] = definition["Metrics"]
    check_queries(queries, "Metrics", require_period=True)
    if "ThresholdMetricId" not in definition and sum(1 for q in queries if q.get("ReturnData", True)) != 1:
        raise validation("Exactly one element of the metrics list should return data.")  # AWS's words
    if "ThresholdMetricId" not in definition and returns_array(queries):
        index = next(i for i, q in enumerate(queries, start=1) if q.get("ReturnData", True))
        raise validation(
            f"Metrics.member.{index}.Expression returns an array of time series:"
            " the expression an alarm watches must return a single time series."
        )
    stats = [q for q in queries if "MetricStat" in q]
    if len(stats) > MAX_ALARM_METRICS:
        raise validation(f"An alarm on metric math may read at most {MAX_ALARM_METRICS} metrics.")
    periods = {int(q["MetricStat"]["Period"]) for q in stats} | {int(q["Period"]) for q in queries if "Period" in q}
    if len(periods) > 1:
        raise validation("All metrics in an alarm must have the same period.")
    if not periods:
        raise validation("The Metrics of an alarm must read at least one metric (MetricStat).")
    return periods.pop()


def _check_band(definition: Mapping[str, Any]) -> None:
    """An alarm on an anomaly detection band: ThresholdMetricId names the ANOMALY_DETECTION_BAND query of
    its Metrics, over the one other query that returns data (the series the alarm watches).

    The messages are ours, in CloudWatch's manner, but the first: AWS's own words for the others are not recorded.
    """
    threshold_id = definition.get("ThresholdMetricId")
    if threshold_id is None:
        # AWS's words (recorded in aws/aws-cdk#10540 and terraform-aws-modules/terraform-aws-cloudwatch#13).
        raise validation("ComparisonOperators for ranges require ThresholdMetricId to be set")
    if "Threshold" in definition:
        raise combination("Threshold cannot be specified with ThresholdMetricId: the band is the threshold.")
    if "Metrics" not in definition:
        raise validation("An alarm with ThresholdMetricId must specify Metrics, with the ANOMALY_DETECTION_BAND expression.")
    queries = {str(q.get("Id")): q for q in definition["Metrics"]}
    band = queries.get(str(threshold_id))
    try:
        call = None if band is None or "Expression" not in band else band_call(str(band["Expression"]))
    except MathError as exc:
        raise validation(str(exc)) from None
    if call is None or band is None:
        raise validation(f"ThresholdMetricId {threshold_id} must be the Id of an ANOMALY_DETECTION_BAND expression in Metrics.")
    if not band.get("ReturnData", True):
        raise validation(f"The ANOMALY_DETECTION_BAND expression {threshold_id} must return data (ReturnData true).")
    watched = [i for i, q in queries.items() if q.get("ReturnData", True) and i != threshold_id]
    if len(watched) != 1:
        raise validation("Exactly one element of the metrics list besides the ThresholdMetricId should return data.")
    if call.input_id != watched[0]:
        raise validation(
            f"The ANOMALY_DETECTION_BAND expression {threshold_id} must be computed over {watched[0]}, the metric the alarm watches."
        )


# -- PutCompositeAlarm -------------------------------------------------------------------------

_COMPOSITE_KEYS: Final = (
    "AlarmName",
    "AlarmRule",
    "AlarmDescription",
    *_ACTION_KEYS,
    "ActionsSuppressor",
    "ActionsSuppressorWaitPeriod",
    "ActionsSuppressorExtensionPeriod",
)
_LENGTHS: Final = {"AlarmName": 255, "AlarmRule": MAX_RULE_LENGTH, "AlarmDescription": 1024, "ActionsSuppressor": 1600}
"""The model's length limits on PutCompositeAlarm's strings."""


@OPERATIONS("PutCompositeAlarm")
def put_composite_alarm(ctx: Context, params: dict[str, Any]) -> None:
    definition: dict[str, Any] = {key: params[key] for key in _COMPOSITE_KEYS if key in params}
    for key, most in _LENGTHS.items():
        value = definition.get(key)
        if isinstance(value, str) and len(value) > most:
            raise validation(
                f"1 validation error detected: Value '{value}' at '{key[0].lower()}{key[1:]}' failed to satisfy constraint:"
                f" Member must have length less than or equal to {most}"
            )
    try:
        parse_rule(definition["AlarmRule"])
    except RuleError as exc:
        raise validation(str(exc)) from None
    _check_actions(definition)
    if definition.get("ActionsSuppressor"):
        if "ActionsSuppressorWaitPeriod" not in definition or "ActionsSuppressorExtensionPeriod" not in definition:
            raise validation(
                "ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod are required when ActionsSuppressor is specified."
            )
        for key in ("ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod"):
            if int(definition[key]) < 0:
                raise invalid(key, definition[key])
    else:
        # The periods mean nothing without a suppressor; DescribeAlarms does not show them then.
        definition.pop("ActionsSuppressor", None)
        definition.pop("ActionsSuppressorWaitPeriod", None)
        definition.pop("ActionsSuppressorExtensionPeriod", None)
    try:
        store(ctx).put_composite_alarm(definition, actions_enabled=bool(params.get("ActionsEnabled", True)))
    except (NotFoundError, ConflictError) as exc:
        raise validation(str(exc)) from None


# -- DescribeAlarms ----------------------------------------------------------------------------


_COMPOSITE_PAGE: Final = "\x00"
"""Marks a NextToken that continues into the composite alarms (no alarm name holds a NUL)."""


@OPERATIONS("DescribeAlarms")
def describe_alarms(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    names = params.get("AlarmNames")
    if names is not None and len(names) > 100:
        raise invalid("AlarmNames", f"[{len(names)} names]", "The collection AlarmNames must not have a size greater than 100.")
    if names and params.get("AlarmNamePrefix"):
        raise combination("AlarmNames and AlarmNamePrefix cannot be specified together.")
    state = params.get("StateValue")
    if state is not None and state not in STATES:
        raise invalid("StateValue", state)
    limit = int(params.get("MaxRecords", 50))
    if not 1 <= limit <= 100:
        raise invalid("MaxRecords", limit)
    token = decode_token(params.get("NextToken"))
    answer: dict[str, Any] = {"MetricAlarms": [], "CompositeAlarms": [], "LogAlarms": []}
    if params.get("ChildrenOfAlarmName") or params.get("ParentsOfAlarmName"):
        return _family(ctx, params, answer)
    types = params.get("AlarmTypes") or ["MetricAlarm"]
    filters = {
        "names": names or None,
        "prefix": params.get("AlarmNamePrefix"),
        "state": state,
        "action_prefix": params.get("ActionPrefix"),
    }
    cloudwatch = store(ctx)
    # One list, metric alarms first, paged by MaxRecords across both kinds.
    in_composites = token is not None and token.startswith(_COMPOSITE_PAGE)
    room = limit
    if "MetricAlarm" in types and not in_composites:
        found = cloudwatch.alarms(**filters, after=token, limit=limit + 1)
        answer["MetricAlarms"] = [metric_alarm(a) for a in found[:limit]]
        if len(found) > limit:
            answer["NextToken"] = encode_token(found[limit - 1].name)
            return answer
        room -= len(found)
    if "CompositeAlarm" in types:
        cloudwatch.release_suppressions()  # a period that ended since the last turn shows as ended
        after = token[len(_COMPOSITE_PAGE) :] if token is not None and in_composites else None
        composites = cloudwatch.composites(**filters, after=after, limit=room + 1)
        answer["CompositeAlarms"] = [composite_alarm(a) for a in composites[:room]]
        if len(composites) > room:
            answer["NextToken"] = encode_token(_COMPOSITE_PAGE + (composites[room - 1].name if room else ""))
    return answer


def _family(ctx: Context, params: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """ChildrenOfAlarmName / ParentsOfAlarmName: the alarms a composite alarm's rule references, or
    the composite alarms referencing an alarm, each with only the fields CloudWatch returns then."""
    if params.get("ChildrenOfAlarmName") and params.get("ParentsOfAlarmName"):
        raise combination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be specified together.")
    others = [k for k in ("AlarmNames", "AlarmNamePrefix", "AlarmTypes", "StateValue", "ActionPrefix") if params.get(k)]
    if others:
        raise combination(f"ChildrenOfAlarmName and ParentsOfAlarmName cannot be specified with {others[0]}.")
    cloudwatch = store(ctx)
    if params.get("ChildrenOfAlarmName"):
        for record in cloudwatch.children(params["ChildrenOfAlarmName"]):
            key = "CompositeAlarms" if isinstance(record, CompositeRecord) else "MetricAlarms"
            answer[key].append(
                {
                    "AlarmName": record.name,
                    "AlarmArn": record.arn,
                    "StateValue": record.state,
                    "StateUpdatedTimestamp": to_time(record.state_updated_ms),
                }
            )
    else:
        answer["CompositeAlarms"] = [{"AlarmName": r.name, "AlarmArn": r.arn} for r in cloudwatch.parents(params["ParentsOfAlarmName"])]
    return answer


def composite_alarm(record: CompositeRecord) -> dict[str, Any]:
    """A composite alarm as DescribeAlarms' ``CompositeAlarm`` shows it."""
    found: dict[str, Any] = dict(record.definition)
    for key in _ACTION_KEYS:
        found.setdefault(key, [])
    found.update(
        {
            "AlarmArn": record.arn,
            "AlarmConfigurationUpdatedTimestamp": to_time(record.configuration_ms),
            "ActionsEnabled": record.actions_enabled,
            "StateValue": record.state,
            "StateReason": record.reason,
            "StateUpdatedTimestamp": to_time(record.state_updated_ms),
            "StateTransitionedTimestamp": to_time(record.state_transitioned_ms),
        }
    )
    if record.reason_data:
        found["StateReasonData"] = record.reason_data
    if record.suppressed_by:
        found["ActionsSuppressedBy"] = record.suppressed_by
        found["ActionsSuppressedReason"] = record.suppressed_reason
    return found


def metric_alarm(record: AlarmRecord) -> dict[str, Any]:
    """An alarm as DescribeAlarms' ``MetricAlarm`` shows it."""
    found: dict[str, Any] = {key: value for key, value in record.definition.items() if key not in ("Tags",)}
    for key in _ACTION_KEYS:
        found.setdefault(key, [])
    found.update(
        {
            "AlarmArn": record.arn,
            "AlarmConfigurationUpdatedTimestamp": to_time(record.configuration_ms),
            "ActionsEnabled": record.actions_enabled,
            "StateValue": record.state,
            "StateReason": record.reason,
            "StateUpdatedTimestamp": to_time(record.state_updated_ms),
            "StateTransitionedTimestamp": to_time(record.state_transitioned_ms),
        }
    )
    if record.reason_data:
        found["StateReasonData"] = record.reason_data
    found.setdefault("Dimensions", [] if "Metrics" not in found else None)
    if found["Dimensions"] is None:
        del found["Dimensions"]
    found.setdefault("TreatMissingData", "missing")
    return found


@OPERATIONS("DescribeAlarmsForMetric")
def describe_alarms_for_metric(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    wanted = sorted(dimension_pairs(params.get("Dimensions"), "Dimensions"))
    found = []
    for record in store(ctx).alarms():
        definition = record.definition
        metrics = (
            [definition] if "Metrics" not in definition else [q["MetricStat"]["Metric"] for q in definition["Metrics"] if "MetricStat" in q]
        )
        if not any(
            m.get("Namespace") == params["Namespace"]
            and m.get("MetricName") == params["MetricName"]
            and sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", [])) == wanted
            for m in metrics
        ):
            continue
        filters = {k: params[k] for k in ("Statistic", "ExtendedStatistic", "Period", "Unit") if k in params}
        if any(definition.get(k) != v for k, v in filters.items()):
            continue
        found.append(metric_alarm(record))
    return {"MetricAlarms": found}


# -- DeleteAlarms, SetAlarmState, actions ------------------------------------------------------


@OPERATIONS("DeleteAlarms")
def delete_alarms(ctx: Context, params: dict[str, Any]) -> None:
    names = params["AlarmNames"]
    if len(names) > 100:
        raise invalid("AlarmNames", f"[{len(names)} names]", "The collection AlarmNames must not have a size greater than 100.")
    try:
        store(ctx).delete_alarms(names)
    except NotFoundError as exc:
        raise AwsError("ResourceNotFound", str(exc), 404) from None
    except ConflictError as exc:  # more than one composite alarm, or one a composite alarm depends on
        raise validation(str(exc)) from None


@OPERATIONS("SetAlarmState")
def set_alarm_state(ctx: Context, params: dict[str, Any]) -> None:
    state = params["StateValue"]
    if state not in STATES:
        raise invalid("StateValue", state)
    data = params.get("StateReasonData")
    if data is not None:
        try:
            if nesting(data) > MAX_JSON_NESTING:
                raise ValueError("nested too deep")
            json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
            raise AwsError("InvalidFormat", f"Data was not syntactically valid JSON: {data}", 400) from None
    try:
        store(ctx).transition(params["AlarmName"], state, params["StateReason"], data)
    except NotFoundError:
        raise AwsError("ResourceNotFound", f"Alarm {params['AlarmName']} not found", 404) from None


@OPERATIONS("EnableAlarmActions")
def enable_alarm_actions(ctx: Context, params: dict[str, Any]) -> None:
    store(ctx).set_actions_enabled(params["AlarmNames"], True)


@OPERATIONS("DisableAlarmActions")
def disable_alarm_actions(ctx: Context, params: dict[str, Any]) -> None:
    store(ctx).set_actions_enabled(params["AlarmNames"], False)


# -- DescribeAlarmHistory ----------------------------------------------------------------------


@OPERATIONS("DescribeAlarmHistory")
def describe_alarm_history(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = int(params.get("MaxRecords", 100))
    if not 1 <= limit <= 100:
        raise invalid("MaxRecords", limit)
    item_type = params.get("HistoryItemType")
    if item_type is not None and item_type not in (
        "ConfigurationUpdate",
        "StateUpdate",
        "Action",
        "AlarmContributorStateUpdate",
        "AlarmContributorAction",
    ):
        raise invalid("HistoryItemType", item_type)
    types = params.get("AlarmTypes") or ["MetricAlarm"]
    token = decode_token(params.get("NextToken"))
    if token is not None and not token.isdigit():
        raise AwsError("InvalidNextToken", "The service couldn't process your request because the NextToken is not valid.", 400)
    items = store(ctx).history(
        alarm=params.get("AlarmName"),
        item_type=item_type,
        alarm_types=[t for t in types if t in ("MetricAlarm", "CompositeAlarm")],
        start_ms=ms(params["StartDate"]) if "StartDate" in params else None,
        end_ms=ms(params["EndDate"]) if "EndDate" in params else None,
        newest_first=params.get("ScanBy", "TimestampDescending") == "TimestampDescending",
        after_id=int(token) if token is not None else None,
        limit=limit + 1,
    )
    answer: dict[str, Any] = {
        "AlarmHistoryItems": [
            {
                "AlarmName": item.alarm,
                "AlarmType": item.alarm_type,
                "Timestamp": to_time(item.timestamp_ms),
                "HistoryItemType": item.item_type,
                "HistorySummary": item.summary,
                "HistoryData": item.data,
            }
            for item in items[:limit]
        ]
    }
    if len(items) > limit:
        answer["NextToken"] = encode_token(str(items[limit - 1].id))
    return answer
