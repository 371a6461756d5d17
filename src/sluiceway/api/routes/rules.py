"""EventBridge: event buses, and each bus's rules with their targets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..aws import Aws
from ..schemas import EventBusList, RuleList
from ._deps import AwsApi, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["rules"])

Token = Annotated[str | None, Query(min_length=1, max_length=2048)]
#: EventBridge's bus names (or ARNs, 1600 at most).
BusName = Annotated[
    str, Query(min_length=1, max_length=1600, pattern=r"^(arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[/\.\-_A-Za-z0-9]+$")
]


@router.get("/event-buses", response_model=EventBusList, responses=errors())
def list_event_buses(aws: AwsApi, _: Viewer, nextToken: Token = None) -> dict[str, Any]:
    page = aws.call("events", "ListEventBuses", {"NextToken": nextToken} if nextToken else {})
    return {"eventBuses": [{"name": b["Name"], "arn": b["Arn"]} for b in page.get("EventBuses", [])], "nextToken": page.get("NextToken")}


def _targets(aws: Aws, rule: str, bus: str) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    params: dict[str, Any] = {"Rule": rule, "EventBusName": bus}
    while True:
        page = aws.call("events", "ListTargetsByRule", params)
        targets.extend(
            {
                "id": t["Id"],
                "arn": t["Arn"],
                "input": t.get("Input"),
                "inputPath": t.get("InputPath"),
                "deadLetterArn": (t.get("DeadLetterConfig") or {}).get("Arn"),
            }
            for t in page.get("Targets", [])
        )
        if not page.get("NextToken"):
            return targets
        params["NextToken"] = page["NextToken"]


@router.get("/rules", response_model=RuleList, responses=errors(404))
def list_rules(
    aws: AwsApi,
    _: Viewer,
    eventBusName: BusName = "default",
    namePrefix: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    nextToken: Token = None,
    maxResults: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    params: dict[str, Any] = {"EventBusName": eventBusName, "Limit": maxResults}
    if namePrefix:
        params["NamePrefix"] = namePrefix
    if nextToken:
        params["NextToken"] = nextToken
    page = aws.call("events", "ListRules", params)
    rules = [
        {
            "name": r["Name"],
            "arn": r["Arn"],
            "eventBusName": r.get("EventBusName", eventBusName),
            "state": r.get("State"),
            "eventPattern": r.get("EventPattern"),
            "scheduleExpression": r.get("ScheduleExpression"),
            "description": r.get("Description"),
            "targets": _targets(aws, r["Name"], eventBusName),
        }
        for r in page.get("Rules", [])
    ]
    return {"rules": rules, "nextToken": page.get("NextToken")}
