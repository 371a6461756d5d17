"""API keys and usage plans: reading them from resources, quota periods, token buckets, checking requests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import sluiceway.backends.local
from sluiceway.endpoint.apigateway.api_keys import ApiKeys, KeyUse, ServedKey, generate_value, presented_key, quota_start
from sluiceway.endpoint.apigateway.throttle import TokenBuckets
from sluiceway.endpoint.apigateway.usage_plans import ApiKey, Quota, Throttle, catalog_from_resources
from sluiceway.endpoint.apigateway.usage_store import SqliteApiKeys

IDS = {"Key": "key0000001", "Other": "key0000002", "Plan": "plan000001", "Plan2": "plan000002"}


def _link(key_id: str, plan_id: str, key_type: str = "API_KEY") -> dict[str, object]:
    return {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {"KeyId": key_id, "KeyType": key_type, "UsagePlanId": plan_id}}


def _resources(**extra: dict[str, object]) -> dict[str, dict[str, object]]:
    return {
        "Key": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": True}},
        "Plan": {
            "Type": "AWS::ApiGateway::UsagePlan",
            "Properties": {
                "ApiStages": [{"ApiId": "abcdefghij", "Stage": "Prod", "Throttle": {"/items/GET": {"RateLimit": 1, "BurstLimit": 2}}}],
                "Quota": {"Limit": 10, "Period": "WEEK", "Offset": 2},
                "Throttle": {"RateLimit": 5.5, "BurstLimit": 3},
            },
        },
        "Link": {
            "Type": "AWS::ApiGateway::UsagePlanKey",
            "Properties": {"KeyId": "key0000001", "KeyType": "API_KEY", "UsagePlanId": "plan000001"},
        },
        **extra,
    }


def test_a_catalog_reads_keys_plans_and_their_links() -> None:
    catalog = catalog_from_resources(_resources(), IDS)
    (key,) = catalog.keys
    (plan,) = catalog.plans
    assert key.key_id == "key0000001" and key.value is None and key.enabled
    assert plan.key_ids == ("key0000001",) and plan.quota == Quota(10, "WEEK", 2) and plan.throttle == Throttle(5.5, 3)
    assert plan.stages[0].method_throttles == {"/items/GET": Throttle(1.0, 2)}


def test_an_api_key_is_disabled_unless_enabled_as_cloudformation_defaults() -> None:
    catalog = catalog_from_resources({"Key": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {}}}, IDS)
    assert catalog.keys[0].enabled is False


def _plan(**props: object) -> dict[str, dict[str, object]]:
    return {"Plan2": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": props}}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (_plan(ApiStages=[{"ApiId": "a", "Stage": "s", "Throttle": [1]}]), r"Plan2.ApiStages\[0\].Throttle: must be a mapping .* not list"),
        (_plan(ApiStages=[{"ApiId": "a", "Stage": "s", "Throttle": "fast"}]), r"Plan2.ApiStages\[0\].Throttle: must be a mapping"),
        (_plan(ApiStages=[{"ApiId": "a", "Stage": "s", "Throttle": {"/x/GET": 5}}]), r"Throttle./x/GET: must be a mapping"),
        (_plan(ApiStages={"ApiId": "a", "Stage": "s"}), r"Plan2.ApiStages: must be a list, not dict"),
        (_plan(ApiStages=[{"ApiId": {"Ref": "Api"}, "Stage": "s"}]), r"Plan2.ApiStages\[0\].ApiId: must be a string"),
        (_plan(Throttle={"RateLimit": 1}, ApiStages=[{"ApiId": "a", "Stage": "s", "Throttle": {"/*/*": {"RateLimit": 1}}}]),
         "'/\\*/\\*': a usage plan throttles named methods"),
        (_plan(Throttle={"RateLimit": 1}, ApiStages=[{"ApiId": "a", "Stage": "s", "Throttle": {"/x/*": {"RateLimit": 1}}}]),
         "'\\*' is not a method"),
        (_plan(ApiStages=[{"ApiId": "a", "Stage": "s", "Throttle": {"/x/GET": {"RateLimit": 1}}}]),
         "Can not define fine grain throttling if usage plan throttle is not defined."),
        (_plan(Quota=[3]), r"Plan2.Quota: must be a mapping of Limit, Period and Offset, not list"),
        (_plan(Quota={"Limit": "many", "Period": "DAY"}), r"Plan2.Quota.Limit: 'many' is not a whole number"),
        (_plan(Quota={"Limit": 2.5, "Period": "DAY"}), r"Plan2.Quota.Limit: 2.5 is not a whole number"),
        (_plan(Quota={"Limit": 3, "Period": ["DAY"]}), r"Plan2.Quota.Period: \['DAY'\] is not DAY, WEEK or MONTH"),
        (_plan(Quota={"Limit": 2**31, "Period": "DAY"}), r"Plan2.Quota.Limit: must be a number from 0 to 2147483647"),
        (_plan(Throttle={"RateLimit": "nan"}), r"Plan2.Throttle.RateLimit: must be a finite number"),
        (_plan(Throttle={"RateLimit": True}), r"Plan2.Throttle.RateLimit: True is not a number"),
        (_plan(Throttle={"BurstLimit": "1.5"}), r"Plan2.Throttle.BurstLimit: '1.5' is not a whole number"),
        (_plan(Throttle="fast"), r"Plan2.Throttle: must be a mapping of RateLimit and BurstLimit, not str"),
        (_plan(UsagePlanName={"Fn::Sub": "x"}), r"Plan2.UsagePlanName: must be a string, not dict"),
        ({"K": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"StageKeys": "abc/Prod"}}}, r"K.StageKeys: must be a list, not str"),
        ({"K": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Value": ["x" * 30]}}}, r"K.Value: must be a string, not list"),
        ({"L": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {"KeyId": {"Ref": "X"}, "KeyType": "API_KEY", "UsagePlanId": "p"}}},
         r"L.KeyId: must be a string, not dict"),
    ],
)  # fmt: skip
def test_template_shapes_api_gateway_cannot_read_are_refused_by_place(extra: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalog_from_resources(_resources(**extra), IDS)


def test_numbers_may_come_as_text_as_a_parameter_ref_gives_them() -> None:
    extra = _plan(Quota={"Limit": "10", "Period": "MONTH", "Offset": 1.0}, Throttle={"RateLimit": "2.5", "BurstLimit": "4"})
    plan = next(p for p in catalog_from_resources(_resources(**extra), IDS).plans if p.plan_id == "plan000002")
    assert (plan.quota, plan.throttle) == (Quota(10, "MONTH", 1), Throttle(2.5, 4))


def test_a_link_to_a_key_or_plan_of_another_stack_is_left_out_with_a_warning() -> None:
    catalog = catalog_from_resources(_resources(Imported=_link("abcdefghij", "plan000001"), Far=_link("key0000001", "elsewhere1")), IDS)
    assert catalog.plans[0].key_ids == ("key0000001",)
    assert "Imported.KeyId: key 'abcdefghij' is not in this stack: no local value, it opens nothing" in catalog.warnings
    assert any(w.startswith("Far.UsagePlanId: usage plan 'elsewhere1' is not in this stack") for w in catalog.warnings)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Short": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Value": "too-short"}}}, "at least 20 characters"),
        ({"Bad": _link("key0000001", "plan000001", "X")},
         "is not API_KEY"),
        ({"Plan2": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"ApiStages": [{"ApiId": "abcdefghij", "Stage": "Prod"}]}},
          "Link2": _link("key0000001", "plan000002")},
         "cannot reference multiple Usage Plans with the same API Stage"),
    ],
)  # fmt: skip
def test_what_api_gateway_refuses_is_refused(extra: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        catalog_from_resources(_resources(**extra), IDS)


def test_quota_periods_are_utc_days_weeks_from_sunday_and_months() -> None:
    wednesday = date(2024, 5, 15)
    assert quota_start("DAY", wednesday) == wednesday
    assert quota_start("WEEK", wednesday) == date(2024, 5, 12)
    assert quota_start("WEEK", date(2024, 5, 12)) == date(2024, 5, 12)
    assert quota_start("MONTH", wednesday) == date(2024, 5, 1)


def test_a_token_bucket_allows_its_burst_then_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    throttle = Throttle(rate=2.0, burst=3)
    assert [buckets.take("k", throttle) for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back at 2 a second
    assert [buckets.take("k", throttle) for _ in range(2)] == [True, False]
    assert buckets.take("other", throttle)  # buckets are per key
    assert not TokenBuckets(clock=lambda: 0.0).take("k", Throttle(rate=1.0, burst=0))


def test_generated_values_are_40_letters_and_digits() -> None:
    values = {generate_value() for _ in range(5)}
    assert len(values) == 5 and all(len(v) == 40 and v.isalnum() and v.isascii() for v in values)


# ---------------------------------------------------------------------------- ApiKeys.check

MIGRATION = Path(sluiceway.backends.local.__file__).parent / "migrations" / "0089_api_key_usage.sql"
VALUE = "a-key-value-of-thirty-characters"
DISABLED = "disabled-key-value-0123456789"
MAY_15 = datetime(2024, 5, 15, 12, tzinfo=UTC)  # a Wednesday


class MemoryDatabase:
    """The state database's key tables, in memory."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.conn.executescript(MIGRATION.read_text(encoding="utf-8"))

    def connection(self) -> sqlite3.Connection:
        return self.conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


class Served:
    """An :class:`ApiKeys` over a catalog, a wall clock and a token clock that move only when told."""

    def __init__(self, plan: dict[str, Any], *, now: datetime = MAY_15) -> None:
        self.now = now
        self.seconds = 0.0
        resources: dict[str, dict[str, Any]] = {
            "Key": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": True, "Value": VALUE}},
            "Off": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": False, "Value": DISABLED}},
            "Plan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"ApiStages": [{"ApiId": "api0000001", "Stage": "Prod"}], **plan}},
            "Link": _link("key0000001", "plan000001"),
            "OffLink": _link("key0000003", "plan000001"),
        }
        ids = {**IDS, "Off": "key0000003"}
        db = MemoryDatabase()
        self.keys = ApiKeys(lambda: SqliteApiKeys(db, self.ms), self.ms, TokenBuckets(clock=lambda: self.seconds))
        self.keys.deploy(catalog_from_resources(resources, ids))

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def check(self, path: str = "/items", route: str = "GET", method: str = "GET", key: str | None = VALUE) -> object:
        found = self.keys.check("api0000001", "Prod", path, route, method, key)
        return "ok" if isinstance(found, KeyUse) else found


def test_a_key_passes_only_when_enabled_and_in_a_plan_of_the_stage() -> None:
    served = Served({})
    assert served.check() == "ok"
    assert served.check(key=DISABLED) == "api_key"
    assert served.check(key=None) == "api_key" and served.check(key="") == "api_key"
    assert served.check(key=VALUE + "x") == "api_key"
    assert served.keys.check("api0000001", "Beta", "/items", "GET", "GET", VALUE) == "api_key"  # a stage no plan lists
    use = served.keys.check("api0000001", "Prod", "/items", "GET", "GET", VALUE)
    assert use == KeyUse("key0000001", VALUE)


def test_a_method_throttle_is_found_by_the_method_api_gateway_names_any_included() -> None:
    served = Served(
        {
            "Throttle": {"RateLimit": 100, "BurstLimit": 100},
            "ApiStages": [
                {
                    "ApiId": "api0000001",
                    "Stage": "Prod",
                    "Throttle": {
                        "/any/ANY": {"RateLimit": 0.001, "BurstLimit": 1},
                        "/things/DELETE": {"RateLimit": 0.001, "BurstLimit": 1},
                    },
                }
            ],
        }
    )
    assert [served.check("/any", "ANY", "POST"), served.check("/any", "ANY", "GET")] == ["ok", "throttled"]  # one bucket: the method's
    assert served.check("/things", "ANY", "GET") == "ok"  # the plan's throttle
    assert [served.check("/things", "ANY", "DELETE"), served.check("/things", "ANY", "DELETE")] == ["ok", "throttled"]
    assert [served.check() for _ in range(3)] == ["ok"] * 3  # another method: the plan's bucket, not the method's
    served.seconds = 1000.0  # a token back at 0.001 a second
    assert served.check("/any", "ANY", "PUT") == "ok"


def test_a_quota_offset_takes_from_the_plan_s_first_period_only() -> None:
    served = Served({"Quota": {"Limit": 3, "Period": "DAY", "Offset": 2}})
    assert [served.check() for _ in range(2)] == ["ok", "quota"]  # 3 - 2 on the day the plan was made
    served.now += timedelta(days=1)
    assert [served.check() for _ in range(4)] == ["ok", "ok", "ok", "quota"]


def test_the_presented_key_is_the_authorizer_s_when_the_key_source_is_authorizer() -> None:
    assert presented_key("HEADER", "from-header", "from-authorizer") == "from-header"
    assert presented_key("AUTHORIZER", "from-header", "from-authorizer") == "from-authorizer"
    assert presented_key("AUTHORIZER", "from-header", None) is None  # the header counts for nothing there


def test_key_values_stay_out_of_reprs() -> None:
    from sluiceway.endpoint.apigateway.grants import Grant

    template_key = ApiKey("key0000001", "Key", "k", VALUE)
    held = [template_key, ServedKey(template_key, VALUE, 0, b"digest-bytes"), KeyUse("key0000001", VALUE)]
    held.append(Grant("lambda", usage_identifier_key=VALUE))
    for holder in held:
        assert VALUE not in repr(holder) and "digest-bytes" not in repr(holder), holder
