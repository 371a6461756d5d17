"""Amazon API Gateway's control plane (rest-json), read-only: the REST APIs and stages the endpoint serves,
and the API keys and usage plans of the stack.

The keys and plans come from the template (``AWS::ApiGateway::ApiKey``, ``UsagePlan``,
``UsagePlanKey``, or SAM's ``Auth: UsagePlan``) and are the ones the gateway checks requests
against (:mod:`sluiceway.endpoint.apigateway.api_keys`): ``get-api-key --include-value`` is how a
client learns a generated key's value, as on AWS. Usage is what the gateway counted.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar

from ..apigateway.api_keys import ApiKeys, ServedKey, quota_start, served_keys
from ..apigateway.gateway import ApiGateway
from ..apigateway.model import Api, Stage
from ..apigateway.usage_plans import UsagePlan
from ..context import Context, Operations
from ..errors import AwsError

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("apigateway")

T = TypeVar("T")

DEFAULT_LIMIT: Final = 25
"""A page's size when the request sets no ``limit``."""
MAX_LIMIT: Final = 500
"""The largest page API Gateway serves (a larger limit is served as this)."""
MAX_USAGE_DAYS: Final = 366
"""The longest GetUsage interval served locally (a bound on the work of one call)."""


def _keys(ctx: Context) -> ApiKeys:
    return served_keys(ctx.shared, ctx.stack)


def _bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message, 400)


def _not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message, 404)


def _page(items: Sequence[T], key: Callable[[T], str], params: dict[str, Any]) -> dict[str, Any]:
    """``{"items": [...], "position": ...}`` from ``position`` on, ``limit`` at most (items sorted by ``key``)."""
    limit = params.get("limit")
    # API Gateway answers a limit out of range with a page, not an error (a recorded limit=-1 is a 200).
    limit = DEFAULT_LIMIT if limit is None or int(limit) < 1 else min(int(limit), MAX_LIMIT)
    rest = list(items)
    position = params.get("position")
    if position:
        after = _cursor(str(position))
        rest = [item for item in rest if key(item) > after]
    out: dict[str, Any] = {"items": rest[:limit]}
    if len(rest) > limit:
        out["position"] = base64.urlsafe_b64encode(key(rest[limit - 1]).encode()).decode("ascii")
    return out


_CURSOR = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
"""What a position stands for: the id of a page's last item."""


def _cursor(position: str) -> str:
    """The id a ``position`` this service gave stands for; anything else is refused, never read as "from the start"."""
    try:
        # validate=True: a character outside the alphabet is an error, where the default drops it.
        after = base64.b64decode(position.encode("ascii"), altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise _bad_request("Invalid position parameter") from None
    if not _CURSOR.match(after):
        raise _bad_request("Invalid position parameter")
    return after


def _api_key(served: ServedKey, *, include_value: bool, single: bool) -> dict[str, Any]:
    """A key as GetApiKey (``single``: ``tags`` always, ``{}`` when none) or a GetApiKeys item (``tags`` only when some) shows it."""
    key = served.key
    created = datetime.fromtimestamp(served.created_ms / 1000, UTC)
    out: dict[str, Any] = {"id": key.key_id}
    if include_value:
        out["value"] = served.value
    out["name"] = key.name
    if key.customer_id:
        out["customerId"] = key.customer_id
    if key.description:
        out["description"] = key.description
    out.update({"enabled": key.enabled, "createdDate": created, "lastUpdatedDate": created, "stageKeys": list(key.stage_keys)})
    if key.tags or single:
        out["tags"] = dict(key.tags)
    return out


def _usage_plan(plan: UsagePlan, *, single: bool) -> dict[str, Any]:
    """A plan as GetUsagePlan (``single``: ``tags`` always) or a GetUsagePlans item (``tags`` only when some) shows it."""
    out: dict[str, Any] = {"id": plan.plan_id, "name": plan.name}
    if plan.description:
        out["description"] = plan.description
    stages = []
    for stage in plan.stages:
        entry: dict[str, Any] = {"apiId": stage.api_id, "stage": stage.stage}
        if stage.method_throttles:
            entry["throttle"] = {path: throttle.to_output() for path, throttle in stage.method_throttles.items()}
        stages.append(entry)
    out["apiStages"] = stages
    if plan.throttle is not None:
        out["throttle"] = plan.throttle.to_output()
    if plan.quota is not None:
        out["quota"] = plan.quota.to_output()
    if plan.tags or single:
        out["tags"] = dict(plan.tags)
    return out


def _must_plan(ctx: Context, plan_id: str) -> UsagePlan:
    plan = _keys(ctx).plan(plan_id)
    if plan is None:
        raise _not_found("Invalid Usage Plan ID specified")
    return plan


@OPERATIONS("GetApiKey")
def get_api_key(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    served = _keys(ctx).key(str(params["apiKey"]))
    if served is None:
        raise _not_found("Invalid API Key identifier specified")
    return _api_key(served, include_value=bool(params.get("includeValue")), single=True)


@OPERATIONS("GetApiKeys")
def get_api_keys(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = _keys(ctx).keys()
    name = params.get("nameQuery")
    if name:
        found = [k for k in found if k.key.name.startswith(str(name))]
    customer = params.get("customerId")
    if customer:
        found = [k for k in found if k.key.customer_id == customer]
    page = _page(found, lambda k: k.key.key_id, params)
    include = bool(params.get("includeValues"))
    page["items"] = [_api_key(k, include_value=include, single=False) for k in page["items"]]
    return page


@OPERATIONS("GetUsagePlans")
def get_usage_plans(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    plans = _keys(ctx).plans()
    key_id = params.get("keyId")
    if key_id:
        plans = [p for p in plans if key_id in p.key_ids]
    page = _page(plans, lambda p: p.plan_id, params)
    page["items"] = [_usage_plan(p, single=False) for p in page["items"]]
    return page


@OPERATIONS("GetUsagePlan")
def get_usage_plan(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _usage_plan(_must_plan(ctx, str(params["usagePlanId"])), single=True)


def _plan_key(served: ServedKey) -> dict[str, Any]:
    return {"id": served.key.key_id, "type": "API_KEY", "value": served.value, "name": served.key.name}


@OPERATIONS("GetUsagePlanKeys")
def get_usage_plan_keys(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    keys = _keys(ctx)
    plan = keys.plan(str(params["usagePlanId"]))
    # API Gateway lists no keys of an unknown plan rather than refusing (recorded: a 200 with no items).
    key_ids = plan.key_ids if plan is not None else ()
    found = sorted((k for k in (keys.key(i) for i in key_ids) if k is not None), key=lambda k: k.key.key_id)
    name = params.get("nameQuery")
    if name:
        found = [k for k in found if k.key.name.startswith(str(name))]
    page = _page(found, lambda k: k.key.key_id, params)
    page["items"] = [_plan_key(k) for k in page["items"]]
    return page


@OPERATIONS("GetUsagePlanKey")
def get_usage_plan_key(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    keys = _keys(ctx)
    # API Gateway looks the key up first; a key that exists but is not in the plan (or the plan is
    # unknown) is answered as an unknown plan.
    served = keys.key(str(params["keyId"]))
    if served is None:
        raise _not_found("Invalid API Key identifier specified")
    plan = keys.plan(str(params["usagePlanId"]))
    if plan is None or served.key.key_id not in plan.key_ids:
        raise _not_found("Invalid Usage Plan ID specified")
    return _plan_key(served)


def _day(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _bad_request(f"Invalid {name}: {value} (expected YYYY-MM-DD)") from None


@OPERATIONS("GetUsage")
def get_usage(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    keys = _keys(ctx)
    plan = _must_plan(ctx, str(params["usagePlanId"]))
    start, end = _day(params["startDate"], "startDate"), _day(params["endDate"], "endDate")
    if end < start:
        raise _bad_request("The end date must not be before the start date")
    if (end - start).days >= MAX_USAGE_DAYS:
        raise _bad_request(f"The usage interval must not exceed {MAX_USAGE_DAYS} days")
    key_ids = sorted(plan.key_ids)
    wanted = params.get("keyId")
    if wanted:
        if wanted not in key_ids:
            raise _not_found("Invalid API Key identifier specified")
        key_ids = [str(wanted)]
    quota = plan.quota
    # A quota's first period may start before startDate: its days before count towards "remaining".
    since = quota_start(quota.period, start) if quota is not None else start
    daily = keys.store.daily(plan.plan_id, since=since.isoformat(), until=end.isoformat())
    page = _page(key_ids, lambda k: k, params)
    values: dict[str, list[list[int]]] = {}
    for key_id in page["items"]:
        counts = daily.get(key_id, {})
        logs: list[list[int]] = []
        day = start
        while day <= end:
            used = counts.get(day.isoformat(), 0)
            if quota is None:
                logs.append([used, 0])
            else:
                period = quota_start(quota.period, day)
                so_far = sum(n for d, n in counts.items() if period.isoformat() <= d <= day.isoformat())
                logs.append([used, max(0, keys.limit(plan.plan_id, quota, period) - so_far)])
            day += timedelta(days=1)
        values[key_id] = logs
    out: dict[str, Any] = {"usagePlanId": plan.plan_id, "startDate": start.isoformat(), "endDate": end.isoformat(), "items": values}
    if "position" in page:
        out["position"] = page["position"]
    return out


# -- REST APIs and their stages ---------------------------------------------------------------
# What a template made and the endpoint serves; HTTP APIs are apigatewayv2's, not listed here.
# Only what is known locally is answered: no createdDate, endpoint configuration or policy.


def _rest_apis(ctx: Context) -> list[Api]:
    gateway: ApiGateway | None = ctx.extra.get("apis")
    served = gateway.apis.values() if gateway is not None else ()
    return sorted((api for api in served if api.kind == "REST"), key=lambda api: api.api_id)


def _must_rest_api(ctx: Context, api_id: str) -> Api:
    api = next((a for a in _rest_apis(ctx) if a.api_id == api_id), None)
    if api is None:
        raise _not_found(f"Invalid API identifier specified {ctx.account_id}:{api_id}")
    return api


def _rest_api(api: Api) -> dict[str, Any]:
    out: dict[str, Any] = {"id": api.api_id, "name": api.name, "apiKeySource": api.key_source, "disableExecuteApiEndpoint": False}
    if api.binary_media_types:
        out["binaryMediaTypes"] = list(api.binary_media_types)
    return out


def _stage(stage: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {"stageName": stage.name, "tracingEnabled": False, "cacheClusterEnabled": False}
    if stage.variables:
        out["variables"] = dict(stage.variables)
    return out


@OPERATIONS("GetRestApis")
def get_rest_apis(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _page([_rest_api(api) for api in _rest_apis(ctx)], lambda item: str(item["id"]), params)


@OPERATIONS("GetRestApi")
def get_rest_api(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _rest_api(_must_rest_api(ctx, params["restApiId"]))


@OPERATIONS("GetStages")
def get_stages(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # A list under "item", as API Gateway answers GetStages (not "items").
    return {"item": [_stage(stage) for stage in _must_rest_api(ctx, params["restApiId"]).stages]}


@OPERATIONS("GetStage")
def get_stage(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stage = _must_rest_api(ctx, params["restApiId"]).stage(params["stageName"])
    if stage is None:
        raise _not_found("Invalid Stage identifier specified")
    return _stage(stage)
