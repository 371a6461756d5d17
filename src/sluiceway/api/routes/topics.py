"""SNS: topics and their subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..schemas import SubscriptionList, TopicList
from ._deps import AwsApi, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["topics"])

Token = Annotated[str | None, Query(min_length=1, max_length=4096)]


@router.get("/topics", response_model=TopicList, responses=errors())
def list_topics(aws: AwsApi, _: Viewer, nextToken: Token = None) -> dict[str, Any]:
    page = aws.call("sns", "ListTopics", {"NextToken": nextToken} if nextToken else {})
    topics = [{"topicArn": t["TopicArn"], "name": t["TopicArn"].rsplit(":", 1)[-1]} for t in page.get("Topics", [])]
    return {"topics": topics, "nextToken": page.get("NextToken")}


@router.get("/topics/{topicArn}/subscriptions", response_model=SubscriptionList, responses=errors(404))
def list_subscriptions(
    aws: AwsApi, _: Viewer, topicArn: Annotated[str, Path(min_length=1, max_length=1024)], nextToken: Token = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"TopicArn": topicArn}
    if nextToken:
        params["NextToken"] = nextToken
    page = aws.call("sns", "ListSubscriptionsByTopic", params)
    subscriptions = [
        {"subscriptionArn": s["SubscriptionArn"], "protocol": s["Protocol"], "endpoint": s.get("Endpoint"), "topicArn": s["TopicArn"]}
        for s in page.get("Subscriptions", [])
    ]
    return {"subscriptions": subscriptions, "nextToken": page.get("NextToken")}
