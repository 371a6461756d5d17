"""What an alarm's state change sends: the SNS notification and the EventBridge event, as CloudWatch writes them.

Pure: the alarm, its old and new state and the time are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "alarm_event",
    "cloudwatch_time",
    "composite_event",
    "composite_notification",
    "notification",
    "region_name",
    "subject",
    "transition_reason",
]

#: The Region names CloudWatch's notifications carry (``"Region": "US East (N. Virginia)"``).
_REGION_NAMES: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ca-central-1": "Canada (Central)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-central-2": "EU (Zurich)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "eu-south-2": "EU (Spain)",
    "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)",
    "sa-east-1": "South America (Sao Paulo)",
}

_SUBJECT_LIMIT = 100
"""SNS's limit on a subject; CloudWatch's subject names the alarm, which can be longer."""


def region_name(region: str) -> str:
    """The Region's name as CloudWatch's notifications write it (its code for one not listed)."""
    return _REGION_NAMES.get(region, region)


def cloudwatch_time(moment: datetime) -> str:
    """``2026-05-12T01:02:03.456+0000``: how CloudWatch's notifications and reason data write times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def subject(state: str, alarm_name: str, region: str) -> str:
    """``ALARM: "errors" in US East (N. Virginia)``, cut to SNS's 100 characters."""
    text = f'{state}: "{alarm_name}" in {region_name(region)}'
    return text if len(text) <= _SUBJECT_LIMIT else text[: _SUBJECT_LIMIT - 3] + "..."


def notification(
    definition: Mapping[str, Any],
    *,
    arn: str,
    account_id: str,
    region: str,
    old_state: str,
    new_state: str,
    reason: str,
    changed_at: datetime,
    configuration_updated_at: datetime,
) -> str:
    """The JSON message CloudWatch publishes to an alarm's SNS actions."""
    body: dict[str, Any] = {
        "AlarmName": definition["AlarmName"],
        "AlarmDescription": definition.get("AlarmDescription"),
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": cloudwatch_time(configuration_updated_at),
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": cloudwatch_time(changed_at),
        "Region": region_name(region),
        "AlarmArn": arn,
        "OldStateValue": old_state,
        "OKActions": list(definition.get("OKActions", [])),
        "AlarmActions": list(definition.get("AlarmActions", [])),
        "InsufficientDataActions": list(definition.get("InsufficientDataActions", [])),
        "Trigger": _trigger(definition),
    }
    return json.dumps(body, separators=(",", ":"))


def _trigger(definition: Mapping[str, Any]) -> dict[str, Any]:
    trigger: dict[str, Any] = {}
    if "Metrics" in definition:
        trigger["Metrics"] = [_query(query) for query in definition["Metrics"]]
    else:
        trigger["MetricName"] = definition.get("MetricName")
        trigger["Namespace"] = definition.get("Namespace")
        if "ExtendedStatistic" in definition:
            trigger["StatisticType"] = "ExtendedStatistic"
            trigger["ExtendedStatistic"] = definition["ExtendedStatistic"]
        else:
            trigger["StatisticType"] = "Statistic"
            # The notification spells statistics in capitals with underscores: SAMPLE_COUNT.
            trigger["Statistic"] = _upper_snake(str(definition.get("Statistic", "")))
        trigger["Unit"] = definition.get("Unit")
        trigger["Dimensions"] = [{"value": d["Value"], "name": d["Name"]} for d in definition.get("Dimensions", [])]
        trigger["Period"] = definition.get("Period")
    trigger["EvaluationPeriods"] = definition["EvaluationPeriods"]
    if "DatapointsToAlarm" in definition:
        trigger["DatapointsToAlarm"] = definition["DatapointsToAlarm"]
    trigger["ComparisonOperator"] = definition["ComparisonOperator"]
    if "ThresholdMetricId" in definition:  # an anomaly-detection band alarm: its threshold is the band's query
        trigger["ThresholdMetricId"] = definition["ThresholdMetricId"]
    else:
        trigger["Threshold"] = definition.get("Threshold")
    trigger["TreatMissingData"] = definition.get("TreatMissingData", "missing")
    trigger["EvaluateLowSampleCountPercentile"] = definition.get("EvaluateLowSampleCountPercentile", "")
    return trigger


def _query(query: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"Id": query["Id"]}
    if "Expression" in query:
        found["Expression"] = query["Expression"]
    if "Label" in query:
        found["Label"] = query["Label"]
    if "MetricStat" in query:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        found["MetricStat"] = {
            "Metric": {
                "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in metric.get("Dimensions", [])],
                "MetricName": metric.get("MetricName"),
                "Namespace": metric.get("Namespace"),
            },
            "Period": stat["Period"],
            "Stat": stat["Stat"],
        }
        if "Unit" in stat:
            found["MetricStat"]["Unit"] = stat["Unit"]
    found["ReturnData"] = query.get("ReturnData", True)
    return found


def _upper_snake(name: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()


def alarm_event(
    definition: Mapping[str, Any],
    *,
    arn: str,
    account_id: str,
    region: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changed_at: datetime,
) -> dict[str, Any]:
    """The ``CloudWatch Alarm State Change`` event (source ``aws.cloudwatch``) for the default bus.

    ``old`` and ``new`` are ``{"value", "reason", "reasonData" (JSON text or None), "timestamp" (datetime)}``.
    """
    return {
        "version": "0",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account_id,
        "time": changed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [arn],
        "detail": {
            "alarmName": definition["AlarmName"],
            "state": _state(new),
            "previousState": _state(old),
            "configuration": _configuration(definition),
        },
    }


def _state(state: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"value": state["value"], "reason": state["reason"]}
    if state.get("reasonData"):
        found["reasonData"] = state["reasonData"]
    found["timestamp"] = cloudwatch_time(state["timestamp"])
    return found


def _configuration(definition: Mapping[str, Any]) -> dict[str, Any]:
    configuration: dict[str, Any] = {}
    if definition.get("AlarmDescription"):
        configuration["description"] = definition["AlarmDescription"]
    if "Metrics" in definition:
        queries = definition["Metrics"]
    else:
        stat = definition.get("ExtendedStatistic") or definition.get("Statistic")
        queries = [
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {k: definition[k] for k in ("Namespace", "MetricName", "Dimensions") if k in definition},
                    "Period": definition.get("Period"),
                    "Stat": stat,
                },
                "ReturnData": True,
            }
        ]
    metrics: list[dict[str, Any]] = []
    for query in queries:
        item: dict[str, Any] = {"id": query["Id"]}
        if "Expression" in query:
            item["expression"] = query["Expression"]
        if "Label" in query:
            item["label"] = query["Label"]
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            item["metricStat"] = {
                "metric": {
                    "namespace": metric.get("Namespace"),
                    "name": metric.get("MetricName"),
                    "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
                },
                "period": stat.get("Period"),
                "stat": stat.get("Stat"),
            }
        item["returnData"] = query.get("ReturnData", True)
        metrics.append(item)
    configuration["metrics"] = metrics
    return configuration


# -- composite alarms -----------------------------------------------------------------------------


def transition_reason(child_arn: str, state: str, moment: datetime) -> str:
    """A composite alarm's state reason: ``arn:... transitioned to ALARM at Friday 04 August, 2023 12:54:46 UTC``."""
    return f"{child_arn} transitioned to {state} at {moment.astimezone(UTC).strftime('%A %d %B, %Y %H:%M:%S')} UTC"


def composite_notification(
    definition: Mapping[str, Any],
    *,
    arn: str,
    account_id: str,
    region: str,
    old_state: str,
    new_state: str,
    reason: str,
    changed_at: datetime,
    configuration_updated_at: datetime,
    triggering: list[dict[str, Any]],
) -> str:
    """The JSON message a composite alarm publishes to its SNS actions: no ``Trigger``, but its
    rule and ``TriggeringChildren`` (``[{"Arn", "State": {"Value", "Timestamp"}}]``)."""
    body: dict[str, Any] = {
        "AlarmName": definition["AlarmName"],
        "AlarmDescription": definition.get("AlarmDescription"),
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": cloudwatch_time(configuration_updated_at),
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": cloudwatch_time(changed_at),
        "Region": region_name(region),
        "AlarmArn": arn,
        "OldStateValue": old_state,
        "OKActions": list(definition.get("OKActions", [])),
        "AlarmActions": list(definition.get("AlarmActions", [])),
        "InsufficientDataActions": list(definition.get("InsufficientDataActions", [])),
        "AlarmRule": definition["AlarmRule"],
        "TriggeringChildren": [
            {"Arn": child["arn"], "State": {"Value": child["state"]["value"], "Timestamp": child["state"]["timestamp"]}}
            for child in triggering
        ],
    }
    return json.dumps(body, separators=(",", ":"))


def composite_event(
    definition: Mapping[str, Any],
    *,
    arn: str,
    account_id: str,
    region: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    changed_at: datetime,
) -> dict[str, Any]:
    """A composite alarm's ``CloudWatch Alarm State Change`` event: its configuration is its rule
    (and actions suppressor) rather than metrics. ``old``/``new`` as for :func:`alarm_event`, plus
    ``actionsSuppressedBy``/``actionsSuppressedReason`` when the change's actions were held back."""
    configuration: dict[str, Any] = {}
    if definition.get("AlarmDescription"):
        configuration["description"] = definition["AlarmDescription"]
    configuration["alarmRule"] = definition["AlarmRule"]
    if definition.get("ActionsSuppressor"):
        configuration["actionsSuppressor"] = definition["ActionsSuppressor"]
        configuration["actionsSuppressorWaitPeriod"] = definition.get("ActionsSuppressorWaitPeriod")
        configuration["actionsSuppressorExtensionPeriod"] = definition.get("ActionsSuppressorExtensionPeriod")
    event = alarm_event(definition, arn=arn, account_id=account_id, region=region, old=old, new=new, changed_at=changed_at)
    for key, state in (("state", new), ("previousState", old)):
        for extra in ("actionsSuppressedBy", "actionsSuppressedReason"):
            if state.get(extra):
                event["detail"][key][extra] = state[extra]
    event["detail"]["configuration"] = configuration
    return event
