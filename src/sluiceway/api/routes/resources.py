"""The app's resources as CloudFormation knows them: its stacks, their outputs and their resources.

Which stacks are the app's is the app's to say (``create_app(stacks=...)``): on AWS the management
API's own stack, named to its Lambda by the template, so that the API reads no other stack of the
account and its role is allowed this one only; locally every stack the endpoint holds, which are
the app's. DescribeStacks gives each one's outputs (every stack when no name is given: the deleted
ones are then left out, as CloudFormation leaves them out), ListStackResources its resources.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..aws import Aws, AwsCallError
from ..schemas import AppResources
from ._deps import AwsApi, StackNames, Viewer, errors
from ._paging import paged

__all__ = ["router"]

router = APIRouter(tags=["resources"])


def _missing(error: AwsCallError) -> bool:
    # CloudFormation has no not-found code: a stack that does not exist is a ValidationError.
    return error.code == "ValidationError" and "does not exist" in error.message


def _described(aws: Aws, names: list[str] | None) -> list[dict[str, Any]]:
    if names is None:
        stacks = paged(aws, "cloudformation", "DescribeStacks", {}, "Stacks")
        return [s for s in stacks if s.get("StackStatus") != "DELETE_COMPLETE"]
    found: list[dict[str, Any]] = []
    for name in names:
        try:
            found.extend(aws.call("cloudformation", "DescribeStacks", {"StackName": name}).get("Stacks", []))
        except AwsCallError as error:
            if not _missing(error):
                raise
    return found


def _stack(aws: Aws, described: dict[str, Any]) -> dict[str, Any] | None:
    stack_id = str(described["StackId"])
    try:
        resources = paged(aws, "cloudformation", "ListStackResources", {"StackName": stack_id}, "StackResourceSummaries")
    except AwsCallError as error:
        if _missing(error):
            return None  # deleted since it was described
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
def list_resources(aws: AwsApi, _: Viewer, names: StackNames) -> dict[str, Any]:
    stacks = [found for described in _described(aws, names) if (found := _stack(aws, described)) is not None]
    return {"stacks": sorted(stacks, key=lambda s: s["stackName"])}
