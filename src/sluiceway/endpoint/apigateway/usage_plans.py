"""API keys and usage plans as a template declares them: ``AWS::ApiGateway::ApiKey``, ``UsagePlan``, ``UsagePlanKey``.

SAM's ``Auth: UsagePlan: CreateUsagePlan`` is expanded by the SAM translator into these same
resources (``<Api>ApiKey``, ``<Api>UsagePlan``, ``<Api>UsagePlanKey``), so one reader serves
both. Plain frozen values, read once per deployment; a key's generated value and its usage
live in the data dir (:mod:`.api_keys`).

Since usage plans exist (August 2016) a key opens an API stage only through a usage plan
that lists the stage: an ``ApiKey``'s ``StageKeys`` alone opens nothing (a warning says so).
"""

from __future__ import annotations

import math
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
_METHOD_PATH = re.compile(r"^(?P<path>/\S*)/(?P<method>ANY|GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS)$")

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
    value: str | None = field(repr=False)
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
            links.append(
                (logical, _text(props.get("UsagePlanId"), f"{logical}.UsagePlanId"), _text(props.get("KeyId"), f"{logical}.KeyId"))
            )
    members: dict[str, list[str]] = {}
    for logical, plan_id, key_id in links:
        # A plan or key of another stack (Fn::ImportValue, a hard-coded id) exists on AWS but has no
        # local value here: the link is left out, said, and the rest of the stack still serves.
        if plan_id not in plans:
            warnings.append(f"{logical}.UsagePlanId: usage plan {plan_id!r} is not in this stack: no local plan, it opens nothing")
            continue
        if key_id not in keys:
            warnings.append(f"{logical}.KeyId: key {key_id!r} is not in this stack: no local value, it opens nothing")
            continue
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
        value = _text(value, f"{logical}.Value")
        if len(value) < MIN_VALUE:
            raise ValueError(f"{logical}.Value: API Key value should be at least {MIN_VALUE} characters")
        if len(value) > MAX_VALUE or not _VALUE.match(value):
            raise ValueError(f"{logical}.Value: at most {MAX_VALUE} printable ASCII characters, no spaces")
    stage_keys: list[str] = []
    for index, stage_key in enumerate(_list(props.get("StageKeys"), f"{logical}.StageKeys")):
        if not isinstance(stage_key, Mapping):
            raise ValueError(f"{logical}.StageKeys[{index}]: must be a mapping of RestApiId and StageName")
        where = f"{logical}.StageKeys[{index}]"
        stage_keys.append(
            f"{_text(stage_key.get('RestApiId'), where + '.RestApiId')}/{_text(stage_key.get('StageName'), where + '.StageName')}"
        )
    return ApiKey(
        key_id=physical,
        logical_id=logical,
        # CloudFormation names a key it is not given a name for after its physical id.
        name=_text(props.get("Name"), f"{logical}.Name") or physical,
        value=value,
        enabled=_flag(props.get("Enabled", False), f"{logical}.Enabled"),
        description=_text(props.get("Description"), f"{logical}.Description"),
        customer_id=_text(props.get("CustomerId"), f"{logical}.CustomerId"),
        stage_keys=tuple(stage_keys),
        tags=_tags(props.get("Tags"), f"{logical}.Tags"),
    )


def _usage_plan(logical: str, physical: str, props: Mapping[str, Any]) -> UsagePlan:
    throttle = _throttle(props["Throttle"], f"{logical}.Throttle") if props.get("Throttle") is not None else None
    quota = _quota(props["Quota"], f"{logical}.Quota") if props.get("Quota") is not None else None
    stages: list[ApiStage] = []
    for index, raw in enumerate(_list(props.get("ApiStages"), f"{logical}.ApiStages")):
        where = f"{logical}.ApiStages[{index}]"
        if not isinstance(raw, Mapping) or not raw.get("ApiId") or not raw.get("Stage"):
            raise ValueError(f"{where}: needs ApiId and Stage")
        method_throttles = _method_throttles(raw.get("Throttle"), f"{where}.Throttle")
        if method_throttles and throttle is None:
            # API Gateway's own refusal: a method's throttle narrows the plan's, which must exist.
            raise ValueError(f"{where}.Throttle: Can not define fine grain throttling if usage plan throttle is not defined.")
        stages.append(ApiStage(_text(raw["ApiId"], f"{where}.ApiId"), _text(raw["Stage"], f"{where}.Stage"), method_throttles))
    return UsagePlan(
        plan_id=physical,
        logical_id=logical,
        name=_text(props.get("UsagePlanName"), f"{logical}.UsagePlanName") or physical,
        description=_text(props.get("Description"), f"{logical}.Description"),
        stages=tuple(stages),
        throttle=throttle,
        quota=quota,
        tags=_tags(props.get("Tags"), f"{logical}.Tags"),
    )


def _method_throttles(raw: Any, where: str) -> dict[str, Throttle]:
    """``{"/resource/path/METHOD": {RateLimit, BurstLimit}}``: one method each, as API Gateway keys them.

    The stage's ``MethodSettings`` wildcard (``/*/*``) has no place here: a usage plan throttles the
    methods it names, and API Gateway refuses a key that names no method of the API.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping of '/resource/path/METHOD' to RateLimit and BurstLimit, not {type(raw).__name__}")
    throttles: dict[str, Throttle] = {}
    for method_path, throttle in raw.items():
        key = str(method_path)
        if "*" in key:
            raise ValueError(f"{where}: {key!r}: a usage plan throttles named methods ('/resource/path/METHOD'); '*' is not a method")
        if not _METHOD_PATH.match(key):
            raise ValueError(f"{where}: {key!r} is not a '/resource/path/METHOD' key")
        throttles[key] = _throttle(throttle, f"{where}.{key}")
    return throttles


def _throttle(raw: Any, where: str) -> Throttle:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping of RateLimit and BurstLimit, not {type(raw).__name__}")
    return Throttle(_rate(raw.get("RateLimit"), f"{where}.RateLimit"), _whole(raw.get("BurstLimit"), f"{where}.BurstLimit"))


def _quota(raw: Any, where: str) -> Quota:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping of Limit, Period and Offset, not {type(raw).__name__}")
    limit = _whole(raw.get("Limit"), f"{where}.Limit")
    if limit is None:
        raise ValueError(f"{where}.Limit: required")
    period = raw.get("Period")
    if not isinstance(period, str) or period.upper() not in ("DAY", "WEEK", "MONTH"):
        raise ValueError(f"{where}.Period: {period!r} is not DAY, WEEK or MONTH")
    offset = _whole(raw.get("Offset"), f"{where}.Offset") or 0
    return Quota(limit, period.upper(), offset)  # type: ignore[arg-type]  # checked above


_MAX_INTEGER = 2**31 - 1
"""API Gateway's ``Integer`` fields (limits, bursts, offsets) are 32-bit."""
_WHOLE = re.compile(r"^\s*[0-9]+\s*$")


def _whole(value: Any, where: str) -> int | None:
    """A whole number of at least 0: an int, an integral float, or its digits as text (a parameter's ``Ref``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer() or isinstance(value, str) and _WHOLE.match(value):
        number = int(value)
    else:
        raise ValueError(f"{where}: {value!r} is not a whole number")
    if not 0 <= number <= _MAX_INTEGER:
        raise ValueError(f"{where}: must be a number from 0 to {_MAX_INTEGER}")
    return number


def _rate(value: Any, where: str) -> float | None:
    """A rate of at least 0 (requests a second): a number, or its text (a parameter's ``Ref``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{where}: {value!r} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: must be a finite number of at least 0")
    return number


def _text(value: Any, where: str) -> str:
    """A string property ("" when absent); a number is its text, as CloudFormation passes it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{where}: must be a string, not {type(value).__name__}")


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be a list, not {type(value).__name__}")
    return value


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(f"{where}: {value!r} is not a boolean")


def _tags(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) and isinstance(t.get("Key"), str) for t in raw):
        raise ValueError(f"{where}: must be a list of {{Key, Value}}")
    return {str(t["Key"]): _text(t.get("Value"), f"{where}.{t['Key']}") for t in raw}
