"""CloudWatch alarms (DescribeAlarms).

Locally the endpoint's CloudWatch evaluates the alarms of the data dir (a template's, or
PutMetricAlarm's); on AWS this lists the account's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from ..schemas import AlarmList
from ._deps import AwsApi, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["alarms"])


@router.get("/alarms", response_model=AlarmList, responses=errors())
def list_alarms(
    aws: AwsApi,
    _: Viewer,
    stateValue: Literal["OK", "ALARM", "INSUFFICIENT_DATA"] | None = None,
    namePrefix: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    nextToken: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    maxResults: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    params: dict[str, Any] = {"MaxRecords": maxResults, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    if stateValue:
        params["StateValue"] = stateValue
    if namePrefix:
        params["AlarmNamePrefix"] = namePrefix
    if nextToken:
        params["NextToken"] = nextToken
    page = aws.call("cloudwatch", "DescribeAlarms", params)
    alarms = [
        {
            "alarmName": a["AlarmName"],
            "alarmArn": a.get("AlarmArn"),
            "stateValue": a.get("StateValue"),
            "stateReason": a.get("StateReason"),
            "namespace": a.get("Namespace"),
            "metricName": a.get("MetricName"),
            "stateUpdatedTimestamp": a.get("StateUpdatedTimestamp"),
            "alarmType": kind,
            "alarmRule": a.get("AlarmRule"),
        }
        for kind, listed in (("MetricAlarm", page.get("MetricAlarms", [])), ("CompositeAlarm", page.get("CompositeAlarms", [])))
        for a in listed
    ]
    return {"alarms": alarms, "nextToken": page.get("NextToken")}
