"""API keys checked as API Gateway checks them, for REST methods with ``apiKeyRequired``.

A request passes when the key it presents (the ``x-api-key`` header, or a Lambda authorizer's
``usageIdentifierKey`` when the API's key source is ``AUTHORIZER``) is an enabled key of a usage
plan that lists the request's API and stage; then the plan's throttle (429 ``Too Many
Requests``) and quota (429 ``Limit Exceeded``) apply. Anything else is 403 ``Forbidden``, the same
answer whether the key is unknown, disabled or of another plan: nothing tells a caller which.

Keys are compared through their SHA-256 digests with :func:`hmac.compare_digest`, against every
candidate without stopping at a match, so the time taken does not tell how close a guess was. A
key value is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from .throttle import TokenBuckets
from .usage_plans import ApiKey, ApiStage, KeyCatalog, Quota, UsagePlan
from .usage_store import SqliteApiKeys

if TYPE_CHECKING:
    from ..context import Shared

logger = logging.getLogger(__name__)

__all__ = ["ApiKeys", "KeyUse", "ServedKey", "generate_value", "presented_key", "quota_start", "served_keys"]

GENERATED_LENGTH = 40
"""The length of the values API Gateway generates (letters and digits)."""
_ALPHABET = string.ascii_letters + string.digits


def served_keys(shared: Shared, stack: Any) -> ApiKeys:
    """The endpoint's :class:`ApiKeys` (one per endpoint: the gateway serves them, the ``apigateway`` service reads them).

    ``stack`` is the running :class:`~sluiceway.runtime.stack.Stack`: its state database and clock.
    """
    local = stack.local

    def now_ms() -> int:
        return int(local.clock.now().timestamp() * 1000)

    return shared.get("apigateway-keys", lambda: ApiKeys(lambda: SqliteApiKeys(local.db, now_ms), now_ms))


def presented_key(key_source: str, header: str | None, usage_identifier_key: str | None) -> str | None:
    """The key a request presents: its ``x-api-key`` header (``HEADER``), or its Lambda authorizer's
    ``usageIdentifierKey`` (``AUTHORIZER``, where the header counts for nothing)."""
    return usage_identifier_key if key_source == "AUTHORIZER" else header


def generate_value() -> str:
    """A key value as API Gateway generates one: 40 random letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))


def quota_start(period: str, today: date) -> date:
    """The first day of the quota period holding ``today``: UTC days, weeks from Sunday, months from the 1st."""
    if period == "WEEK":
        return today - timedelta(days=(today.weekday() + 1) % 7)
    if period == "MONTH":
        return today.replace(day=1)
    return today


@dataclass(frozen=True)
class ServedKey:
    """A key with its value (the template's or generated) and when it was first made."""

    key: ApiKey
    value: str = field(repr=False)
    created_ms: int
    digest: bytes = field(repr=False)


@dataclass(frozen=True)
class KeyUse:
    """The key a request was let through with (``$context.identity.apiKey``, ``apiKeyId``)."""

    key_id: str
    value: str = field(repr=False)


Problem = Literal["api_key", "throttled", "quota"]


@dataclass(frozen=True)
class _Door:
    """One API stage opened by one plan to its keys."""

    plan: UsagePlan
    stage: ApiStage
    keys: tuple[ServedKey, ...]


class ApiKeys:
    """The stack's keys and plans as the gateway serves them (shared with the ``apigateway`` service).

    Args:
        store: the data dir's key state; made on first use (the endpoint's database is open by then).
        clock_ms: the wall clock, in milliseconds since the epoch (quota days are UTC days of it).
        buckets: the throttles' token buckets.
    """

    def __init__(self, store: Callable[[], SqliteApiKeys], clock_ms: Callable[[], int], buckets: TokenBuckets | None = None) -> None:
        self._store_factory = store
        self._store: SqliteApiKeys | None = None
        self._clock_ms = clock_ms
        self._buckets = buckets if buckets is not None else TokenBuckets()
        self._lock = threading.Lock()
        self._keys: dict[str, ServedKey] = {}
        self._plans: dict[str, UsagePlan] = {}
        self._plan_created: dict[str, int] = {}
        self._doors: dict[tuple[str, str], tuple[_Door, ...]] = {}

    @property
    def store(self) -> SqliteApiKeys:
        if self._store is None:
            self._store = self._store_factory()
        return self._store

    def deploy(self, catalog: KeyCatalog) -> None:
        """Serve exactly ``catalog``'s keys and plans from now on; a key without a value gets its generated one."""
        keys: dict[str, ServedKey] = {}
        for key in catalog.keys:
            record = self.store.key(key.key_id, generate=generate_value if key.value is None else None)
            value = key.value if key.value is not None else str(record.generated_value)
            keys[key.key_id] = ServedKey(key, value, record.created_ms, hashlib.sha256(value.encode()).digest())
        plans = {plan.plan_id: plan for plan in catalog.plans}
        created = {plan_id: self.store.plan_created_ms(plan_id) for plan_id in plans}
        doors: dict[tuple[str, str], list[_Door]] = {}
        for plan in plans.values():
            members = tuple(keys[k] for k in plan.key_ids if k in keys)
            for stage in plan.stages:
                doors.setdefault((stage.api_id, stage.stage), []).append(_Door(plan, stage, members))
        with self._lock:
            self._keys, self._plans, self._plan_created = keys, plans, created
            self._doors = {where: tuple(found) for where, found in doors.items()}
        self._buckets.clear()

    def check(
        self, api_id: str, stage: str, resource_path: str, route_method: str, request_method: str, presented: str | None
    ) -> KeyUse | Problem:
        """Let a request with key ``presented`` through to a method of the API stage, or say why not.

        ``resource_path`` and ``route_method`` name the method as API Gateway does (``/items/{id}``,
        ``ANY``); ``request_method`` is the request's own.
        """
        doors = self._doors.get((api_id, stage), ())
        if not presented:
            return "api_key"
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: tuple[_Door, ServedKey] | None = None
        for door in doors:
            for served in door.keys:
                # Every candidate is compared (no early exit): the time does not depend on which matched.
                if hmac.compare_digest(served.digest, digest) and found is None:
                    found = (door, served)
        if found is None or not found[1].key.enabled:
            return "api_key"
        door, served = found
        # A method throttle is keyed by the method as API Gateway names it (``/any/ANY`` for an ANY
        # method); a throttle keyed by the request's method of an ANY resource is honoured too.
        method_key = next(
            (k for k in (f"{resource_path}/{route_method}", f"{resource_path}/{request_method}") if k in door.stage.method_throttles), ""
        )
        bucket = (door.plan.plan_id, served.key.key_id, api_id, stage, method_key)
        throttle = door.stage.method_throttles[method_key] if method_key else door.plan.throttle
        if throttle is not None and not self._buckets.take(bucket, throttle):
            return "throttled"
        if not self._count(door.plan, served.key.key_id):
            return "quota"
        return KeyUse(served.key.key_id, served.value)

    def _count(self, plan: UsagePlan, key_id: str) -> bool:
        today = datetime.fromtimestamp(self._clock_ms() / 1000, UTC).date()
        quota = plan.quota
        if quota is None:
            return self.store.consume(plan.plan_id, key_id, day=today.isoformat(), since=today.isoformat(), limit=None)
        since = quota_start(quota.period, today)
        return self.store.consume(
            plan.plan_id, key_id, day=today.isoformat(), since=since.isoformat(), limit=self.limit(plan.plan_id, quota, since)
        )

    def limit(self, plan_id: str, quota: Quota, period_start: date) -> int:
        """The quota's limit in the period from ``period_start``: ``offset`` fewer in the plan's first period."""
        created = self._plan_created.get(plan_id)
        if created is None:
            return quota.limit
        first = quota_start(quota.period, datetime.fromtimestamp(created / 1000, UTC).date())
        return max(0, quota.limit - quota.offset) if first == period_start else quota.limit

    # ------------------------------------------------------------------ reads (the apigateway service)

    def keys(self) -> list[ServedKey]:
        """Every key, by id."""
        return sorted(self._keys.values(), key=lambda k: k.key.key_id)

    def key(self, key_id: str) -> ServedKey | None:
        return self._keys.get(key_id)

    def plans(self) -> list[UsagePlan]:
        """Every usage plan, by id."""
        return sorted(self._plans.values(), key=lambda p: p.plan_id)

    def plan(self, plan_id: str) -> UsagePlan | None:
        return self._plans.get(plan_id)
