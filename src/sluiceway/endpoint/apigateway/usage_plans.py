"""API keys and usage plans as a template declares them: ``AWS::ApiGateway::ApiKey``, ``UsagePlan``, ``UsagePlanKey``.

SAM's ``Auth: UsagePlan: CreateUsagePlan`` is expanded by the SAM translator into these same
resources (``<Api>ApiKey``, ``<Api>UsagePlan``, ``<Api>UsagePlanKey``), so one reader serves
both. Plain frozen values, read once per deployment; a key's generated value and its usage
live in the data dir (:mod:`.api_keys`).

Since usage plans exist (August 2016) a key opens an API stage only through a usage plan
that lists the stage: an ``ApiKey``'s ``StageKeys`` alone opens nothing (a warning says so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ApiKey", "ApiStage", "KeyCatalog", "Quota", "Throttle", "UsagePlan", "catalog_from_resources"]

API_KEY = "AWS::ApiGateway::ApiKey"
USAGE_PLAN = "AWS::ApiGateway::UsagePlan"
USAGE_PLAN_KEY = "AWS::ApiGateway::UsagePlanKey"

MIN_VALUE = 20
"""API Gateway refuses a key value shorter than this (``API Key value should be at least 20 characters``)."""
MAX_VALUE = 128
"""... and one longer than this."""
_VALUE = re.compile(r"^[\x21-\x7e]+$")
"""A key value travels in the ``x-api-key`` header: printable ASCII without spaces."""
_METHOD_PATH = re.compile(r"^(?P<path>/\S*)/(?P<method>\*|ANY|GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS)$")

QuotaPeriod = Literal["DAY", "WEEK", "MONTH"]


@dataclass(frozen=True)
class Throttle:
    """A usage plan's (or one method's) throttle: a token bucket filled at ``rate`` a second, holding ``burst``."""

    rate: float | None = None
    burst: int | None = None

    def to_output(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.burst is not None:
            out["burstLimit"] = self.burst
        if self.rate is not None:
            out["rateLimit"] = self.rate
        return out


@dataclass(frozen=True)
class Quota:
    """At most ``limit`` requests a ``period`` (UTC calendar periods), ``offset`` fewer in the plan's first period."""

    limit: int
    period: QuotaPeriod
    offset: int = 0

    def to_output(self) -> dict[str, Any]:
        return {"limit": self.limit, "offset": self.offset, "period": self.period}


@dataclass(frozen=True)
class ApiStage:
    """A stage a usage plan opens to its keys, with per-method throttles (``/items/GET`` -> throttle)."""

    api_id: str
    stage: str
    method_throttles: Mapping[str, Throttle] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    """The physical id (``Ref``): 10 lowercase letters and digits."""
    logical_id: str
    name: str
    value: str | None
    """The template's ``Value``; None: API Gateway generates one (kept in the data dir across restarts)."""
    enabled: bool = True
    description: str = ""
    customer_id: str = ""
    stage_keys: tuple[str, ...] = ()
    """``{restApiId}/{stageName}``: kept for ``GetApiKey``'s ``stageKeys``; they open nothing by themselves."""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UsagePlan:
    plan_id: str
    logical_id: str
    name: str
    description: str = ""
    stages: tuple[ApiStage, ...] = ()
    throttle: Throttle | None = None
    quota: Quota | None = None
    key_ids: tuple[str, ...] = ()
    """The plan's keys, by ``UsagePlanKey``."""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyCatalog:
    """Every API key and usage plan of a stack."""

    keys: tuple[ApiKey, ...] = ()
    plans: tuple[UsagePlan, ...] = ()
    warnings: tuple[str, ...] = ()


Resources = Mapping[str, Mapping[str, Any]]


def catalog_from_resources(resources: Resources, physical_ids: Mapping[str, str]) -> KeyCatalog:
    """The stack's keys and plans (``resources`` transformed and resolved; ``physical_ids`` by logical id).

    Raises:
        ValueError: a property API Gateway would refuse, named as ``Resource.Property``.
    """
    keys: dict[str, ApiKey] = {}
    plans: dict[str, UsagePlan] = {}
    links: list[tuple[str, str, str]] = []
    warnings: list[str] = []
    for logical, resource in resources.items():
        kind = resource.get("Type")
        props = resource.get("Properties") or {}
        if not isinstance(props, Mapping):
            raise ValueError(f"{logical}.Properties: must be a mapping")
        physical = str(physical_ids.get(logical, logical))
        if kind == API_KEY:
            keys[physical] = _api_key(logical, physical, props)
        elif kind == USAGE_PLAN:
            plans[physical] = _usage_plan(logical, physical, props)
        elif kind == USAGE_PLAN_KEY:
            key_type = str(props.get("KeyType") or "")
            if key_type != "API_KEY":
                raise ValueError(f"{logical}.KeyType: {key_type!r} is not API_KEY (the only key type)")
            links.append((logical, str(props.get("UsagePlanId") or ""), str(props.get("KeyId") or "")))
    members: dict[str, list[str]] = {}
    for logical, plan_id, key_id in links:
        if plan_id not in plans:
            raise ValueError(f"{logical}.UsagePlanId: {plan_id!r} names no AWS::ApiGateway::UsagePlan of the stack")
        if key_id not in keys:
            raise ValueError(f"{logical}.KeyId: {key_id!r} names no AWS::ApiGateway::ApiKey of the stack")
        if key_id in members.setdefault(plan_id, []):
            raise ValueError(f"{logical}: the key {key_id} is already in usage plan {plan_id}")
        members[plan_id].append(key_id)
    done = {plan_id: _with_keys(plan, tuple(members.get(plan_id, ()))) for plan_id, plan in plans.items()}
    planned = {key_id for ids in members.values() for key_id in ids}
    for key in keys.values():
        if key.stage_keys and key.key_id not in planned:
            warnings.append(
                f"{key.logical_id}.StageKeys: a key opens a stage only through a usage plan (AWS::ApiGateway::UsagePlan"
                " + UsagePlanKey); StageKeys alone let no request through"
            )
    _check_one_plan_a_stage(done.values())
    return KeyCatalog(tuple(keys.values()), tuple(done.values()), tuple(warnings))


def _with_keys(plan: UsagePlan, key_ids: tuple[str, ...]) -> UsagePlan:
    return UsagePlan(plan.plan_id, plan.logical_id, plan.name, plan.description, plan.stages, plan.throttle, plan.quota, key_ids, plan.tags)


def _check_one_plan_a_stage(plans: Any) -> None:
    """API Gateway refuses a key in two plans that share an API stage: a request must meet one plan's limits."""
    seen: dict[tuple[str, str, str], str] = {}
    for plan in plans:
        for stage in plan.stages:
            for key_id in plan.key_ids:
                other = seen.setdefault((key_id, stage.api_id, stage.stage), plan.plan_id)
                if other != plan.plan_id:
                    raise ValueError(
                        f"{plan.logical_id}: Usage Plan {plan.plan_id} cannot be added because API Key {key_id} cannot reference"
                        f" multiple Usage Plans with the same API Stage: {stage.api_id}:{stage.stage}"
                    )


def _api_key(logical: str, physical: str, props: Mapping[str, Any]) -> ApiKey:
    value = props.get("Value")
    if value is not None:
        value = str(value)
        if len(value) < MIN_VALUE:
            raise ValueError(f"{logical}.Value: API Key value should be at least {MIN_VALUE} characters")
        if len(value) > MAX_VALUE or not _VALUE.match(value):
            raise ValueError(f"{logical}.Value: at most {MAX_VALUE} printable ASCII characters, no spaces")
    stage_keys: list[str] = []
    for index, stage_key in enumerate(props.get("StageKeys") or []):
        if not isinstance(stage_key, Mapping):
            raise ValueError(f"{logical}.StageKeys[{index}]: must be a mapping of RestApiId and StageName")
        stage_keys.append(f"{stage_key.get('RestApiId', '')}/{stage_key.get('StageName', '')}")
    return ApiKey(
        key_id=physical,
        logical_id=logical,
        # CloudFormation names a key it is not given a name for after its physical id.
        name=str(props.get("Name") or physical),
        value=value,
        enabled=_flag(props.get("Enabled", False), f"{logical}.Enabled"),
        description=str(props.get("Description") or ""),
        customer_id=str(props.get("CustomerId") or ""),
        stage_keys=tuple(stage_keys),
        tags=_tags(props.get("Tags"), f"{logical}.Tags"),
    )


def _usage_plan(logical: str, physical: str, props: Mapping[str, Any]) -> UsagePlan:
    stages: list[ApiStage] = []
    for index, raw in enumerate(props.get("ApiStages") or []):
        where = f"{logical}.ApiStages[{index}]"
        if not isinstance(raw, Mapping) or not raw.get("ApiId") or not raw.get("Stage"):
            raise ValueError(f"{where}: needs ApiId and Stage")
        throttles: dict[str, Throttle] = {}
        for method_path, throttle in (raw.get("Throttle") or {}).items():
            if not _METHOD_PATH.match(str(method_path)):
                raise ValueError(f"{where}.Throttle: {method_path!r} is not a '/resource/path/METHOD' key")
            throttles[str(method_path)] = _throttle(throttle, f"{where}.Throttle.{method_path}")
        stages.append(ApiStage(str(raw["ApiId"]), str(raw["Stage"]), throttles))
    throttle = _throttle(props["Throttle"], f"{logical}.Throttle") if props.get("Throttle") is not None else None
    quota = _quota(props["Quota"], f"{logical}.Quota") if props.get("Quota") is not None else None
    return UsagePlan(
        plan_id=physical,
        logical_id=logical,
        name=str(props.get("UsagePlanName") or physical),
        description=str(props.get("Description") or ""),
        stages=tuple(stages),
        throttle=throttle,
        quota=quota,
        tags=_tags(props.get("Tags"), f"{logical}.Tags"),
    )


def _throttle(raw: Any, where: str) -> Throttle:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping of RateLimit and BurstLimit")
    rate = _number(raw.get("RateLimit"), f"{where}.RateLimit", float)
    burst = _number(raw.get("BurstLimit"), f"{where}.BurstLimit", int)
    return Throttle(rate, int(burst) if burst is not None else None)


def _quota(raw: Any, where: str) -> Quota:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping of Limit, Period and Offset")
    limit = _number(raw.get("Limit"), f"{where}.Limit", int)
    period = str(raw.get("Period") or "").upper()
    if limit is None:
        raise ValueError(f"{where}.Limit: required")
    if period not in ("DAY", "WEEK", "MONTH"):
        raise ValueError(f"{where}.Period: {raw.get('Period')!r} is not DAY, WEEK or MONTH")
    offset = _number(raw.get("Offset"), f"{where}.Offset", int) or 0
    return Quota(int(limit), period, int(offset))  # type: ignore[arg-type]  # checked above


def _number(value: Any, where: str, kind: type[int] | type[float]) -> float | None:
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if isinstance(value, bool) or number < 0:
        raise ValueError(f"{where}: must be a number of at least 0")
    return number


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(f"{where}: {value!r} is not a boolean")


def _tags(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) and "Key" in t for t in raw):
        raise ValueError(f"{where}: must be a list of {{Key, Value}}")
    return {str(t["Key"]): str(t.get("Value", "")) for t in raw}
