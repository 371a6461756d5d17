"""CloudWatch's dashboard operations: PutDashboard, GetDashboard, ListDashboards, DeleteDashboards.

Dashboards are kept in the data dir (``backends/local/dashboards.py``) and are global, as on
AWS: their ARN has no Region (``arn:aws:cloudwatch::<account>:dashboard/<name>``). Nothing
renders them locally; they are there to be read back, by the SDKs and by templates' stacks.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any, Final

from ...backends.local.dashboards import DashboardRecord, SqliteDashboards
from ..context import Context
from ..errors import AwsError
from ._cloudwatch_common import OPERATIONS, missing, to_time, validation
from ._cloudwatch_dashboard_body import Finding, check_body

__all__ = ["dashboard_arn", "dashboards"]

MAX_NAME: Final = 255
"""Characters in a DashboardName (and in a DashboardNamePrefix)."""
MAX_DELETE: Final = 100
"""Dashboards one DeleteDashboards call may name."""
LIST_PAGE: Final = 1000
"""ListDashboards' page."""
_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_PREFIX: Final = re.compile(r"[A-Za-z0-9._-]*")
"""A prefix may hold ".", which no name holds (the model's documentation says so of both)."""


def dashboards(ctx: Context) -> SqliteDashboards:
    """The data dir's dashboards, in its state database."""
    local = ctx.stack.local
    return ctx.shared.get("cloudwatch-dashboards", lambda: SqliteDashboards(local.db, local.clock))


def dashboard_arn(account_id: str, name: str) -> str:
    # No Region: a dashboard is global, and CloudWatch's dashboard ARNs say so.
    return f"arn:aws:cloudwatch::{account_id}:dashboard/{name}"


def _invalid_value(message: str) -> AwsError:
    # CloudWatch's dashboard messages end with a newline (recorded answers of real AWS).
    return AwsError("InvalidParameterValue", f"{message}\n", 400)


def _check_name(name: str) -> None:
    # Every operation that takes a name checks it: a name no dashboard can have (a lone surrogate
    # among them) is refused before it reaches the store.
    if len(name) > MAX_NAME:
        raise _invalid_value(f"The value for field DashboardName must be at most {MAX_NAME} characters long.")
    if not _NAME.fullmatch(name):
        raise _invalid_value(
            "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_)."
        )


def _invalid_body(errors: Iterable[Finding]) -> AwsError:
    found = list(errors)
    listed = json.dumps([{"dataPath": f.data_path, "message": f.message} for f in found], indent=2)
    messages = [{"DataPath": f.data_path, "Message": f.message} for f in found]
    return AwsError(
        "InvalidParameterInput",
        f"The dashboard body is invalid, there are {len(found)} validation errors:\n{listed}",
        400,
        # The error shape's dashboardValidationMessages: a list, where AwsError's fields are
        # mostly strings; the JSON protocol writes it as it is.
        fields={"dashboardValidationMessages": messages},
    )


@OPERATIONS("PutDashboard")
def put_dashboard(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params["DashboardName"])
    _check_name(name)
    body = str(params["DashboardBody"])
    checked = check_body(body)
    if checked.document is None:
        raise AwsError("InvalidParameterInput", "The field DashboardBody must be a valid JSON object", 400)
    if checked.errors:
        raise _invalid_body(checked.errors)
    dashboards(ctx).put(name, body, tags=params.get("Tags") or ())
    return {"DashboardValidationMessages": [{"DataPath": w.data_path, "Message": w.message} for w in checked.warnings]}


@OPERATIONS("GetDashboard")
def get_dashboard(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params["DashboardName"])
    _check_name(name)
    found = dashboards(ctx).get(name)
    if found is None:
        # AWS's words exactly: no period at the end.
        raise AwsError("ResourceNotFound", f"Dashboard {name} does not exist", 404)
    return {"DashboardArn": dashboard_arn(ctx.account_id, found.name), "DashboardBody": found.body, "DashboardName": found.name}


@OPERATIONS("ListDashboards")
def list_dashboards(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = str(params.get("DashboardNamePrefix") or "")
    if len(prefix) > MAX_NAME:
        raise _invalid_value(f"The value for field DashboardNamePrefix must be at most {MAX_NAME} characters long.")
    if not _PREFIX.fullmatch(prefix):
        raise _invalid_value(
            "The value for field DashboardNamePrefix contains invalid characters."
            " It can only contain alphanumerics, dot (.), dash (-) and underscore (_)."
        )
    token = params.get("NextToken")
    after = None if token is None else _after(str(token), prefix)
    found = dashboards(ctx).page(prefix=prefix, after=after, limit=LIST_PAGE + 1)
    answer: dict[str, Any] = {"DashboardEntries": [_entry(ctx, record) for record in found[:LIST_PAGE]]}
    if len(found) > LIST_PAGE:
        answer["NextToken"] = _token(prefix, found[LIST_PAGE - 1].name)
    return answer


def _token(prefix: str, after: str) -> str:
    """A NextToken: the page's last name, and the prefix it was listed under (only that listing goes on)."""
    return base64.urlsafe_b64encode(json.dumps([prefix, after]).encode()).decode()


def _after(token: str, prefix: str) -> str:
    """The name a NextToken goes on after; InvalidParameterValue (what the model lists for
    ListDashboards) for a token this endpoint did not make, or made for another prefix."""
    try:
        made = json.loads(base64.b64decode(token.encode(), altchars=b"-_", validate=True))
    except (binascii.Error, ValueError, RecursionError):
        made = None
    if not (
        isinstance(made, list)
        and len(made) == 2
        and made[0] == prefix
        and isinstance(made[1], str)
        and made[1].startswith(prefix)
        and _NAME.fullmatch(made[1])
    ):
        raise _invalid_value("The value for parameter NextToken is not valid.")
    return made[1]


def _entry(ctx: Context, record: DashboardRecord) -> dict[str, Any]:
    return {
        "DashboardName": record.name,
        "DashboardArn": dashboard_arn(ctx.account_id, record.name),
        "LastModified": to_time(record.last_modified_ms),
        "Size": record.size,
    }


@OPERATIONS("DeleteDashboards")
def delete_dashboards(ctx: Context, params: dict[str, Any]) -> None:
    names = [str(name) for name in params.get("DashboardNames") or []]
    if not names:
        raise missing("DashboardNames")
    if len(names) > MAX_DELETE:
        raise validation(f"The collection DashboardNames must not have a size greater than {MAX_DELETE}.")
    for name in names:
        _check_name(name)
    # CloudWatch's API reference once said a missing name deletes none; its current model says the
    # call "attempts to delete as many dashboards as possible" (and no longer lists
    # DashboardNotFoundError for it). The model is followed: the others go, then the missing are named.
    not_there = dashboards(ctx).delete(names)
    if not_there:
        raise AwsError("ResourceNotFound", f"The specified dashboard does not exist. [{', '.join(not_there)}]", 404)
