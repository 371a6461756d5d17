"""SNS: topics and their subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ..aws import Aws, AwsCallError
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
    subscriptions = [{**_delivery(aws, s["SubscriptionArn"]), **_summary(s)} for s in page.get("Subscriptions", [])]
    return {"subscriptions": subscriptions, "nextToken": page.get("NextToken")}


def _summary(subscription: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscriptionArn": subscription["SubscriptionArn"],
        "protocol": subscription["Protocol"],
        "endpoint": subscription.get("Endpoint"),
        "topicArn": subscription["TopicArn"],
    }


def _delivery(aws: Aws, arn: str) -> dict[str, Any]:
    """What a subscription gets and how (GetSubscriptionAttributes); nothing for one not confirmed yet.

    ListSubscriptionsByTopic names an unconfirmed subscription ``PendingConfirmation`` in place of
    its ARN, and has none of these attributes; a subscription deleted since the listing has none either.
    """
    if not arn.startswith("arn:"):
        return {}
    try:
        attributes = aws.call("sns", "GetSubscriptionAttributes", {"SubscriptionArn": arn}).get("Attributes", {})
    except AwsCallError as error:
        if error.code == "NotFound":
            return {}
        raise
    raw = attributes.get("RawMessageDelivery")
    return {
        "filterPolicy": attributes.get("FilterPolicy") or None,
        # SNS's default scope when a policy has none set.
        "filterPolicyScope": attributes.get("FilterPolicyScope") or ("MessageAttributes" if attributes.get("FilterPolicy") else None),
        "rawMessageDelivery": raw.lower() == "true" if isinstance(raw, str) else None,
    }
