"""The app's resources as CloudFormation knows them: each stack not deleted, its outputs and its resources.

ListStacks names the stacks (the deleted ones filtered out by status, as CloudFormation keeps
them listed for 90 days), DescribeStacks gives each one's outputs, ListStackResources its resources.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..aws import Aws, AwsCallError
from ..schemas import AppResources
from ._deps import AwsApi, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["resources"])

#: Every StackStatus but DELETE_COMPLETE (CloudFormation's StackStatus enum).
LIVE_STATUSES = [
    "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS", "DELETE_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE",
    "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
]  # fmt: skip


def _pages(aws: Aws, operation: str, params: dict[str, Any], items: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = aws.call("cloudformation", operation, params)
        found.extend(page.get(items, []))
        if not page.get("NextToken"):
            return found
        params = {**params, "NextToken": page["NextToken"]}


def _stack(aws: Aws, summary: dict[str, Any]) -> dict[str, Any] | None:
    stack_id = str(summary["StackId"])
    try:
        (described,) = aws.call("cloudformation", "DescribeStacks", {"StackName": stack_id}).get("Stacks", [])
        resources = _pages(aws, "ListStackResources", {"StackName": stack_id}, "StackResourceSummaries")
    except AwsCallError as error:
        if error.code == "ValidationError" and "does not exist" in error.message:
            return None  # deleted since it was listed
        raise
    return {
        "stackName": described["StackName"],
        "stackId": stack_id,
        "stackStatus": described["StackStatus"],
        "stackStatusReason": described.get("StackStatusReason"),
        "description": described.get("Description"),
        "creationTime": described.get("CreationTime"),
        "lastUpdatedTime": described.get("LastUpdatedTime"),
        "outputs": [
            {
                "outputKey": o["OutputKey"],
                "outputValue": o.get("OutputValue"),
                "description": o.get("Description"),
                "exportName": o.get("ExportName"),
            }
            for o in described.get("Outputs", [])
        ],
        "resources": [
            {
                "logicalResourceId": r["LogicalResourceId"],
                "physicalResourceId": r.get("PhysicalResourceId"),
                "resourceType": r["ResourceType"],
                "resourceStatus": r["ResourceStatus"],
                "resourceStatusReason": r.get("ResourceStatusReason"),
                "lastUpdatedTimestamp": r.get("LastUpdatedTimestamp"),
            }
            for r in resources
        ],
    }


@router.get("/resources", response_model=AppResources, responses=errors())
def list_resources(aws: AwsApi, _: Viewer) -> dict[str, Any]:
    summaries = _pages(aws, "ListStacks", {"StackStatusFilter": LIVE_STATUSES}, "StackSummaries")
    stacks = [found for summary in summaries if (found := _stack(aws, summary)) is not None]
    return {"stacks": sorted(stacks, key=lambda s: s["stackName"])}
