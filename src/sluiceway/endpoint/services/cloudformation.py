"""CloudFormation on the endpoint: the stacks ``sluiceway up --template`` made, read the AWS way.

DescribeStacks (outputs resolved, API Gateway URLs pointing at the endpoint),
DescribeStackResources, DescribeStackResource, ListStackResources, ListStacks and
ListExports over the data dir's stack records (``backends/local/stacks.py``). Stacks
are made and changed by ``up --template``, not through this API: CreateStack and its
kin answer with the modelled-but-not-served error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..context import Context, Operations
from ..errors import AwsError

OPERATIONS = Operations("cloudformation")

_PAGE = 100


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stack(ctx: Context, name: str | None) -> dict[str, Any]:
    if not name:
        raise AwsError("ValidationError", "Stack name is required")
    document = ctx.stack.local.stacks.get(name)
    if document is None:
        raise AwsError("ValidationError", f"Stack with id {name} does not exist")
    return document


def _summary(document: Mapping[str, Any]) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackId": document["StackId"],
        "StackName": document["StackName"],
        "Description": document.get("Description") or None,
        "Parameters": document.get("Parameters", []),
        "CreationTime": _time(document.get("CreationTime")),
        "StackStatus": document["StackStatus"],
        "Outputs": document.get("Outputs", []),
        "DisableRollback": False,
        "NotificationARNs": [],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        "Tags": [],
        "EnableTerminationProtection": False,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }
    if document.get("LastUpdatedTime"):
        stack["LastUpdatedTime"] = _time(document["LastUpdatedTime"])
    if document.get("StackStatusReason"):
        stack["StackStatusReason"] = document["StackStatusReason"]
    return {key: value for key, value in stack.items() if value is not None}


@OPERATIONS("DescribeStacks")
def describe_stacks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("StackName")
    if name:
        return {"Stacks": [_summary(_stack(ctx, name))]}
    return {"Stacks": [_summary(d) for d in ctx.stack.local.stacks.list()]}


def _resource(document: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "StackName": document["StackName"],
        "StackId": document["StackId"],
        "LogicalResourceId": row["LogicalResourceId"],
        "PhysicalResourceId": row["PhysicalResourceId"],
        "ResourceType": row["ResourceType"],
        "Timestamp": _time(row.get("Timestamp")),
        "ResourceStatus": row["ResourceStatus"],
        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
    }


@OPERATIONS("DescribeStackResources")
def describe_stack_resources(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("StackName")
    physical = params.get("PhysicalResourceId")
    if not name and not physical:
        raise AwsError("ValidationError", "Either StackName or PhysicalResourceId must be specified")
    if name:
        documents = [_stack(ctx, name)]
    else:  # the whole stack that holds the resource, as CloudFormation answers
        documents = [d for d in ctx.stack.local.stacks.list() if any(r["PhysicalResourceId"] == physical for r in d.get("Resources", []))]
        if not documents:
            raise AwsError("ValidationError", f"Stack for {physical} does not exist")
    rows = []
    for document in documents:
        for row in document.get("Resources", []):
            if params.get("LogicalResourceId") and row["LogicalResourceId"] != params["LogicalResourceId"]:
                continue
            rows.append(_resource(document, row))
    return {"StackResources": rows}


@OPERATIONS("DescribeStackResource")
def describe_stack_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    document = _stack(ctx, params.get("StackName"))
    for row in document.get("Resources", []):
        if row["LogicalResourceId"] == params.get("LogicalResourceId"):
            detail = _resource(document, row)
            detail["LastUpdatedTimestamp"] = detail.pop("Timestamp")
            detail["Metadata"] = "{}"
            return {"StackResourceDetail": detail}
    raise AwsError("ValidationError", f"Resource {params.get('LogicalResourceId')} does not exist for stack {document['StackName']}")


@OPERATIONS("ListStackResources")
def list_stack_resources(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    document = _stack(ctx, params.get("StackName"))
    rows = document.get("Resources", [])
    start = int(params["NextToken"]) if str(params.get("NextToken") or "").isdigit() else 0
    page = rows[start : start + _PAGE]
    summaries = [
        {
            "LogicalResourceId": row["LogicalResourceId"],
            "PhysicalResourceId": row["PhysicalResourceId"],
            "ResourceType": row["ResourceType"],
            "LastUpdatedTimestamp": _time(row.get("Timestamp")),
            "ResourceStatus": row["ResourceStatus"],
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
        }
        for row in page
    ]
    result: dict[str, Any] = {"StackResourceSummaries": summaries}
    if start + _PAGE < len(rows):
        result["NextToken"] = str(start + _PAGE)
    return result


@OPERATIONS("ListStacks")
def list_stacks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    wanted = set(params.get("StackStatusFilter") or [])
    summaries = []
    for document in ctx.stack.local.stacks.list():
        if wanted and document["StackStatus"] not in wanted:
            continue
        summary = {
            "StackId": document["StackId"],
            "StackName": document["StackName"],
            "CreationTime": _time(document.get("CreationTime")),
            "StackStatus": document["StackStatus"],
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        }
        if document.get("Description"):
            summary["TemplateDescription"] = document["Description"]
        if document.get("LastUpdatedTime"):
            summary["LastUpdatedTime"] = _time(document["LastUpdatedTime"])
        summaries.append(summary)
    return {"StackSummaries": summaries}


@OPERATIONS("ListExports")
def list_exports(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    exports = [
        {"ExportingStackId": document["StackId"], "Name": output["ExportName"], "Value": output["OutputValue"]}
        for document in ctx.stack.local.stacks.list()
        for output in document.get("Outputs", [])
        if output.get("ExportName")
    ]
    return {"Exports": exports}
