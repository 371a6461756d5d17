"""API keys and usage plans: reading them from resources, quota periods, token buckets."""

from __future__ import annotations

from datetime import date

import pytest

from sluiceway.endpoint.apigateway.api_keys import generate_value, quota_start
from sluiceway.endpoint.apigateway.throttle import TokenBuckets
from sluiceway.endpoint.apigateway.usage_plans import Quota, Throttle, catalog_from_resources

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


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Short": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Value": "too-short"}}}, "at least 20 characters"),
        ({"Bad": _link("nokey", "plan000001")},
         "names no AWS::ApiGateway::ApiKey"),
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
