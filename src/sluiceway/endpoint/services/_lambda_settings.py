"""Settings of API-made Lambda functions: tags, reserved concurrency, aliases and the resource policy.

Each is kept with the function (``backends/local/lambda_functions.py``). Reserved concurrency
is enforced by the invoker (a function at its limit is throttled, as on Lambda); aliases name
the function like its versions do (locally every qualifier runs the current code); the
resource policy is kept and answered as Lambda writes it, but not enforced: the local stack
has no IAM, and every caller may invoke.

A template's function changes with its template, not through these operations; the reads
(GetAlias, ListAliases) answer for it too, from what its template made
(``_lambda_template_versions.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from ...errors import NotFoundError
from ..context import Context, Operations
from ..errors import AwsError
from ._lambda_catalog import catalog, spec_of, stored
from ._lambda_code import kept_function, user_error
from ._lambda_describe import must_function
from ._lambda_mappings import is_mapping_arn, mapping_tags, set_mapping_tags
from ._lambda_routing import checked_weights
from ._lambda_template_versions import aliases_of
from ._lambda_url_store import kept_urls

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("lambda")

ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100
"""Lambda keeps this many of the account's concurrent executions unreserved."""
_ALIAS = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")
_STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_.]{1,100}$")


def _save(ctx: Context, function: Any, **changes: Any) -> Any:
    updated = dataclasses.replace(function, **changes)
    catalog(ctx).replace(updated)
    return updated


def _function_arn(ctx: Context, name: str) -> str:
    return ctx.stack.settings.arn("lambda", f"function:{name}")


# -- tags ---------------------------------------------------------------------------------


def _tagged(ctx: Context, resource: str) -> Any:
    # A qualified ARN is refused before the function is looked up.
    if resource.startswith("arn:") and resource.count(":") > 6:
        raise user_error(
            "InvalidParameterValueException", "Tags on function aliases and versions are not supported. Please specify a function ARN."
        )
    spec = must_function(ctx, resource)
    return kept_function(ctx, {"FunctionName": spec.name})


@OPERATIONS("ListTags")
def list_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if is_mapping_arn(params["Resource"]):
        return {"Tags": mapping_tags(ctx, params["Resource"])}
    spec = must_function(ctx, params["Resource"])
    function = stored(ctx, spec.name)
    return {"Tags": dict(function.tags) if function is not None else {}}


@OPERATIONS("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    if is_mapping_arn(params["Resource"]):
        tags = {**mapping_tags(ctx, params["Resource"]), **params["Tags"]}
        if len(tags) > 50:
            raise user_error("InvalidParameterValueException", "Number of tags exceeds resource tag limit.")
        set_mapping_tags(ctx, params["Resource"], tags)
        return
    function = _tagged(ctx, params["Resource"])
    tags = {**function.tags, **params["Tags"]}
    if len(tags) > 50:
        raise user_error("InvalidParameterValueException", "Number of tags exceeds resource tag limit.")
    _save(ctx, function, tags=tags)


@OPERATIONS("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    if is_mapping_arn(params["Resource"]):
        kept = mapping_tags(ctx, params["Resource"])
        set_mapping_tags(ctx, params["Resource"], {k: v for k, v in kept.items() if k not in params["TagKeys"]})
        return
    function = _tagged(ctx, params["Resource"])
    _save(ctx, function, tags={k: v for k, v in function.tags.items() if k not in params["TagKeys"]})


# -- reserved concurrency ------------------------------------------------------------------


def _apply_concurrency(ctx: Context, function: Any) -> None:
    ctx.stack.invoker.register(spec_of(ctx, catalog(ctx), function))


@OPERATIONS("PutFunctionConcurrency")
def put_function_concurrency(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    function = kept_function(ctx, {"FunctionName": params["FunctionName"]})
    wanted = params["ReservedConcurrentExecutions"]
    others = sum(f.reserved_concurrency or 0 for f in catalog(ctx).all() if f.name != function.name)
    if ACCOUNT_CONCURRENCY - others - wanted < MIN_UNRESERVED:
        raise user_error(
            "InvalidParameterValueException",
            "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution"
            f" below its minimum value of [{MIN_UNRESERVED}].",
        )
    _apply_concurrency(ctx, _save(ctx, function, reserved_concurrency=wanted))
    return {"ReservedConcurrentExecutions": wanted}


@OPERATIONS("GetFunctionConcurrency")
def get_function_concurrency(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = must_function(ctx, params["FunctionName"])
    limit = spec.reserved_concurrency
    return {} if limit is None else {"ReservedConcurrentExecutions": limit}


@OPERATIONS("DeleteFunctionConcurrency")
def delete_function_concurrency(ctx: Context, params: dict[str, Any]) -> None:
    function = kept_function(ctx, {"FunctionName": params["FunctionName"]})
    _apply_concurrency(ctx, _save(ctx, function, reserved_concurrency=None))


# -- aliases ------------------------------------------------------------------------------


def _alias_out(ctx: Context, name: str, alias: str, settings: Any) -> dict[str, Any]:
    return {
        "AliasArn": f"{_function_arn(ctx, name)}:{alias}",
        "Name": alias,
        "FunctionVersion": settings["FunctionVersion"],
        "Description": settings.get("Description", ""),
        "RevisionId": settings["RevisionId"],
        # Kept and answered; locally every qualifier runs the current code, so weights change nothing.
        **({"RoutingConfig": settings["RoutingConfig"]} if settings.get("RoutingConfig") else {}),
    }


def _check_version(ctx: Context, function: Any, version: str) -> None:
    if version != "$LATEST" and function.published_version(version) is None:
        raise user_error("ResourceNotFoundException", f"Function not found: {_function_arn(ctx, function.name)}:{version}", 404)


def _alias(ctx: Context, name: str, aliases: Mapping[str, Any], alias: str) -> Any:
    settings = aliases.get(alias)
    if settings is None:
        raise user_error("ResourceNotFoundException", f"Cannot find alias arn: {_function_arn(ctx, name)}:{alias}", 404)
    return settings


def _routing(ctx: Context, function: Any, target: str, routing: dict[str, Any] | None) -> dict[str, Any] | None:
    weights = (routing or {}).get("AdditionalVersionWeights") or {}
    checked = checked_weights(
        target, weights, lambda version: function.published_version(version) is not None, _function_arn(ctx, function.name)
    )
    return {"AdditionalVersionWeights": checked} if checked else None


@OPERATIONS("CreateAlias")
def create_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    function = kept_function(ctx, {"FunctionName": params["FunctionName"]})
    alias = params["Name"]
    if not _ALIAS.match(alias):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{alias}' at 'name' failed to satisfy constraint:"
            " Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        )
    if alias in function.aliases:
        raise user_error("ResourceConflictException", f"Alias already exists: {_function_arn(ctx, function.name)}:{alias}", 409)
    _check_version(ctx, function, params["FunctionVersion"])
    settings = {
        "FunctionVersion": params["FunctionVersion"],
        "Description": params.get("Description") or "",
        "RevisionId": str(uuid.uuid4()),
        "RoutingConfig": _routing(ctx, function, params["FunctionVersion"], params.get("RoutingConfig")),
    }
    _save(ctx, function, aliases={**function.aliases, alias: settings})
    ctx.stack.invoker.add_qualifier(function.name, alias)
    return _alias_out(ctx, function.name, alias, settings)


@OPERATIONS("GetAlias")
def get_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # A read: a template's function answers with the aliases its template made.
    name = must_function(ctx, params["FunctionName"]).name
    return _alias_out(ctx, name, params["Name"], _alias(ctx, name, aliases_of(ctx, name), params["Name"]))


@OPERATIONS("UpdateAlias")
def update_alias(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    function = kept_function(ctx, {"FunctionName": params["FunctionName"]})
    alias = params["Name"]
    current = _alias(ctx, function.name, function.aliases, alias)
    if params.get("RevisionId") is not None and params["RevisionId"] != current["RevisionId"]:
        raise user_error(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id."
            " Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            412,
        )
    if params.get("FunctionVersion") is not None:
        _check_version(ctx, function, params["FunctionVersion"])
    target = params.get("FunctionVersion") or current["FunctionVersion"]
    settings = {
        "FunctionVersion": target,
        "Description": current.get("Description", "") if params.get("Description") is None else params["Description"],
        "RevisionId": str(uuid.uuid4()),
        "RoutingConfig": current.get("RoutingConfig")
        if params.get("RoutingConfig") is None
        else _routing(ctx, function, target, params["RoutingConfig"]),
    }
    _save(ctx, function, aliases={**function.aliases, alias: settings})
    return _alias_out(ctx, function.name, alias, settings)


@OPERATIONS("DeleteAlias")
def delete_alias(ctx: Context, params: dict[str, Any]) -> None:
    function = kept_function(ctx, {"FunctionName": params["FunctionName"]})
    # Deleting an alias that is not there succeeds, as on Lambda.
    _save(ctx, function, aliases={k: v for k, v in function.aliases.items() if k != params["Name"]})
    # The alias's URL goes with it, as on Lambda.
    with contextlib.suppress(NotFoundError):
        kept_urls(ctx.stack, ctx.shared).delete(function.name, params["Name"])


@OPERATIONS("ListAliases")
def list_aliases(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # A read: a template's function answers with the aliases its template made.
    name = must_function(ctx, params["FunctionName"]).name
    version = params.get("FunctionVersion")
    aliases = [
        _alias_out(ctx, name, alias, settings)
        for alias, settings in sorted(aliases_of(ctx, name).items())
        if version is None or settings["FunctionVersion"] == version
    ]
    limit = params.get("MaxItems") or 50
    start = int(params["Marker"]) if str(params.get("Marker") or "").isdigit() else 0
    out: dict[str, Any] = {"Aliases": aliases[start : start + limit]}
    if start + limit < len(aliases):
        out["NextMarker"] = str(start + limit)
    return out


# -- resource policy ----------------------------------------------------------------------


def _principal(principal: str) -> dict[str, str] | str:
    if principal == "*":
        return "*"
    if principal.endswith(".amazonaws.com") or principal.endswith(".amazon.com"):
        return {"Service": principal}
    if re.fullmatch(r"\d{12}", principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    raise user_error("InvalidParameterValueException", "The provided principal was invalid. Please check the principal and try again.")


@OPERATIONS("AddPermission")
def add_permission(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    qualifier = params.get("Qualifier")
    if qualifier == "$LATEST":
        raise user_error("InvalidParameterValueException", "We currently do not support adding policies for $LATEST.")
    function = kept_function(ctx, {"FunctionName": params["FunctionName"], "Qualifier": qualifier})
    sid = params["StatementId"]
    if not _STATEMENT_ID.match(sid):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{sid}' at 'statementId' failed to satisfy constraint:"
            " Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
        )
    if any(statement["Sid"] == sid for statement in function.policy):
        raise user_error(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement.",
            409,
        )
    resource = _function_arn(ctx, function.name) + (f":{qualifier}" if qualifier else "")
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": _principal(params["Principal"]),
        "Action": params["Action"],
        "Resource": resource,
    }
    condition: dict[str, dict[str, str]] = {}
    if params.get("SourceAccount"):
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if params.get("EventSourceToken"):
        condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = params["EventSourceToken"]
    if params.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
    if condition:
        statement["Condition"] = condition
    _save(ctx, function, policy=(*function.policy, statement), revision_id=str(uuid.uuid4()))
    return {"Statement": json.dumps(statement, separators=(",", ":"))}


def _no_policy() -> AwsError:
    return user_error("ResourceNotFoundException", "No policy is associated with the given resource.", 404)


def _no_resource() -> AwsError:
    return user_error("ResourceNotFoundException", "The resource you requested does not exist.", 404)


@OPERATIONS("GetPolicy")
def get_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # GetPolicy has one answer for a missing function, version or policy (recorded from AWS).
    try:
        spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        raise _no_resource() from None
    function = stored(ctx, spec.name)
    if function is None or not function.policy:
        raise _no_resource()
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": list(function.policy)}
    return {"Policy": json.dumps(policy, separators=(",", ":")), "RevisionId": function.revision_id}


@OPERATIONS("RemovePermission")
def remove_permission(ctx: Context, params: dict[str, Any]) -> None:
    try:
        spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        arn = ctx.stack.invoker.arn_of(params["FunctionName"]) or params["FunctionName"]
        raise user_error("ResourceNotFoundException", f"No policy found for: {arn}", 404) from None
    function = stored(ctx, spec.name)
    if function is None or not function.policy:
        raise _no_policy()
    sid = params["StatementId"]
    kept = tuple(statement for statement in function.policy if statement["Sid"] != sid)
    if len(kept) == len(function.policy):
        raise user_error("ResourceNotFoundException", f"Statement {sid} is not found in resource policy.", 404)
    _save(ctx, function, policy=kept, revision_id=str(uuid.uuid4()))
