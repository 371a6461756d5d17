"""SNS filter policies: every operator on attributes and bodies, and the policies SNS refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluiceway.messaging.errors import InvalidParameterError
from sluiceway.messaging.filter_policy import compile_filter_policy
from sluiceway.messaging.sns import MessageAttribute

S = "MessageAttributes"
B = "MessageBody"


def attrs(**values: Any) -> dict[str, MessageAttribute]:
    """String for str, Number for int/float, String.Array for lists."""
    out = {}
    for name, value in values.items():
        if isinstance(value, MessageAttribute):
            out[name] = value
        elif isinstance(value, str):
            out[name] = MessageAttribute("String", value)
        elif isinstance(value, list):
            out[name] = MessageAttribute("String.Array", json.dumps(value))
        else:
            out[name] = MessageAttribute("Number", str(value))
    return out


def on_attributes(policy: dict[str, Any], **values: Any) -> bool:
    return compile_filter_policy(policy, S).matches("ignored", attrs(**values))


def on_body(policy: dict[str, Any], body: Any) -> bool:
    return compile_filter_policy(policy, B).matches(json.dumps(body))


# ------------------------------------------------------------------ exact values


def test_exact_strings_match_one_of_the_values() -> None:
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert on_attributes(policy, customer_interests="rugby")
    assert on_attributes(policy, customer_interests="tennis")
    assert not on_attributes(policy, customer_interests="baseball")
    assert not on_attributes(policy, customer_interests="Rugby")  # case-sensitive
    assert not on_attributes(policy)  # absent


def test_string_array_attributes_match_element_by_element() -> None:
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert on_attributes(policy, customer_interests=["rugby", "tennis"])
    assert on_attributes(policy, customer_interests=["baseball", "tennis"])
    assert not on_attributes(policy, customer_interests=["baseball"])


def test_numbers_match_by_value_with_five_decimals() -> None:
    policy = {"price_usd": [301.5]}
    assert on_attributes(policy, price_usd=MessageAttribute("Number", "3.015e2"))
    assert on_attributes(policy, price_usd=301.500001)
    assert not on_attributes(policy, price_usd=301.50001)
    assert not on_attributes(policy, price_usd="301.5")  # a String attribute is not a number


def test_strings_do_not_match_number_attributes() -> None:
    assert not on_attributes({"code": ["100"]}, code=100)


def test_booleans_and_null_match_inside_string_arrays_and_bodies() -> None:
    assert on_attributes({"flags": [True]}, flags=[False, True])
    assert not on_attributes({"flags": [True]}, flags=["true"])
    assert on_body({"done": [True]}, {"done": True})
    assert on_body({"gone": [None]}, {"gone": None})
    assert not on_body({"gone": [None]}, {"gone": "null"})


def test_several_properties_must_all_match() -> None:
    policy = {"store": ["example_corp"], "event": ["order_placed"]}
    assert on_attributes(policy, store="example_corp", event="order_placed")
    assert not on_attributes(policy, store="example_corp", event="order_cancelled")
    assert not on_attributes(policy, store="example_corp")


def test_properties_the_policy_does_not_name_are_ignored() -> None:
    assert on_attributes({"store": ["a"]}, store="a", other="anything")


# ----------------------------------------------------------- string operators


def test_prefix() -> None:
    policy = {"customer_interests": [{"prefix": "bas"}]}
    assert on_attributes(policy, customer_interests="baseball")
    assert on_attributes(policy, customer_interests="basketball")
    assert not on_attributes(policy, customer_interests="rugby")
    assert on_body(policy, {"customer_interests": "baseball"})


def test_suffix() -> None:
    policy = {"customer_interests": [{"suffix": "ball"}]}
    assert on_attributes(policy, customer_interests="baseball")
    assert not on_attributes(policy, customer_interests="rugby")
    assert on_body(policy, {"customer_interests": ["rugby", "football"]})


def test_equals_ignore_case() -> None:
    policy = {"customer_interests": [{"equals-ignore-case": "tennis"}]}
    assert on_attributes(policy, customer_interests="TENNIS")
    assert on_attributes(policy, customer_interests="Tennis")
    assert not on_attributes(policy, customer_interests="tennis!")


def test_prefix_does_not_match_numbers() -> None:
    assert not on_attributes({"code": [{"prefix": "1"}]}, code=100)


def test_cidr_matches_addresses_in_the_block() -> None:
    policy = {"source_ip": [{"cidr": "10.0.0.0/24"}]}
    assert on_attributes(policy, source_ip="10.0.0.255")
    assert not on_attributes(policy, source_ip="10.0.1.0")
    assert not on_attributes(policy, source_ip="not an address")


# ---------------------------------------------------------------- anything-but


def test_anything_but_strings() -> None:
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert on_attributes(policy, customer_interests="baseball")
    assert not on_attributes(policy, customer_interests="rugby")
    # An array passes when one element is not excluded (SNS's documented example).
    assert on_attributes(policy, customer_interests=["rugby", "baseball"])
    assert not on_attributes(policy, customer_interests=["rugby", "tennis"])
    assert not on_attributes(policy)  # anything-but needs the property


def test_anything_but_a_single_value() -> None:
    assert on_attributes({"status": [{"anything-but": "FAILED"}]}, status="SUCCEEDED")
    assert not on_attributes({"status": [{"anything-but": "FAILED"}]}, status="FAILED")


def test_anything_but_numbers() -> None:
    policy = {"price": [{"anything-but": [100, 500]}]}
    assert on_attributes(policy, price=101)
    assert on_attributes(policy, price=100.1)
    assert not on_attributes(policy, price=100)
    assert on_body(policy, {"price": [100, 50]})
    assert not on_body(policy, {"price": 100})


def test_anything_but_lets_values_of_another_kind_pass() -> None:
    assert on_attributes({"code": [{"anything-but": ["100"]}]}, code=100)


def test_anything_but_prefix() -> None:
    policy = {"event": [{"anything-but": {"prefix": "order-"}}]}
    assert on_attributes(policy, event="data-ready")
    assert not on_attributes(policy, event="order-cancelled")


def test_anything_but_combined_with_exists_false_also_takes_absent_properties() -> None:
    policy = {"status": [{"anything-but": ["FAILED"]}, {"exists": False}]}
    assert on_attributes(policy)
    assert on_attributes(policy, status="OK")
    assert not on_attributes(policy, status="FAILED")


# -------------------------------------------------------------------- numeric


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        (["=", 301.5], 301.5, True),
        (["=", 301.5], 301.6, False),
        (["<", 0], -1, True),
        (["<", 0], 0, False),
        (["<=", 0], 0, True),
        ([">", 0, "<=", 150], 150, True),
        ([">", 0, "<=", 150], 0, False),
        ([">=", 0, "<", 150], 0, True),
        ([">=", 0, "<", 150], 150, False),
    ],
)
def test_numeric_ranges(condition: list[Any], value: float, expected: bool) -> None:
    policy = {"price_usd": [{"numeric": condition}]}
    assert on_attributes(policy, price_usd=value) is expected
    assert on_body(policy, {"price_usd": value}) is expected


def test_numbers_too_large_for_five_decimals_still_compare() -> None:
    huge = MessageAttribute("Number", "1e30")
    assert on_attributes({"n": [{"numeric": [">", 0]}]}, n=huge)
    assert on_attributes({"n": [1e30]}, n=huge)
    assert not on_attributes({"n": [{"anything-but": [1e30]}]}, n=huge)
    assert on_body({"n": [{"numeric": ["<", 1e30]}]}, {"n": 5})


def test_numeric_ranges_need_numbers() -> None:
    policy = {"price_usd": [{"numeric": [">", 0]}]}
    assert not on_attributes(policy, price_usd="5")
    assert not on_body(policy, {"price_usd": "5"})
    assert on_attributes(policy, price_usd=["x", 5])


# --------------------------------------------------------------------- exists


def test_exists_true_and_false() -> None:
    assert on_attributes({"store": [{"exists": True}]}, store="x")
    assert not on_attributes({"store": [{"exists": True}]})
    assert on_attributes({"store": [{"exists": False}]})
    assert not on_attributes({"store": [{"exists": False}]}, store="x")


def test_binary_attributes_are_not_compared() -> None:
    binary = MessageAttribute("Binary", "AAEC")
    assert not on_attributes({"blob": [{"exists": True}]}, blob=binary)
    assert on_attributes({"blob": [{"exists": False}]}, blob=binary)


def test_exists_in_bodies_sees_leaves_only() -> None:
    assert on_body({"a": [{"exists": True}]}, {"a": None})
    assert not on_body({"a": [{"exists": True}]}, {"a": {"b": 1}})
    assert not on_body({"a": [{"exists": True}]}, {"a": []})
    assert on_body({"a": [{"exists": False}]}, {"b": 1})


# ------------------------------------------------------------------------- $or


def test_or_matches_when_one_branch_matches() -> None:
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }
    assert on_attributes(policy, source="aws.cloudwatch", metricName="CPUUtilization")
    assert on_attributes(policy, source="aws.cloudwatch", namespace="AWS/EC2")
    assert not on_attributes(policy, source="aws.cloudwatch", namespace="AWS/S3")
    assert not on_attributes(policy, source="other", namespace="AWS/EC2")


def test_nested_or_in_bodies() -> None:
    policy = {"detail": {"$or": [{"state": ["FAILED"]}, {"rows": [{"numeric": [">", 1000]}]}]}}
    assert on_body(policy, {"detail": {"state": "FAILED"}})
    assert on_body(policy, {"detail": {"rows": 5000}})
    assert not on_body(policy, {"detail": {"state": "OK", "rows": 10}})


def test_an_or_with_one_branch_is_a_property_named_or() -> None:
    with pytest.raises(InvalidParameterError, match="Unrecognized match type a$"):
        compile_filter_policy({"$or": [{"a": ["x"]}]})


# ---------------------------------------------------------------------- bodies


def test_body_policies_nest() -> None:
    policy = {"store": ["example_corp"], "customer": {"interests": ["rugby"]}}
    assert on_body(
        policy, {"store": "example_corp", "customer": {"interests": ["baseball", "rugby"]}}
    )
    assert not on_body(policy, {"store": "example_corp", "customer": {"interests": ["baseball"]}})
    assert not on_body(policy, {"store": "example_corp", "customer": "rugby"})


def test_body_policies_reach_into_arrays_of_objects() -> None:
    policy = {"Records": {"eventName": [{"prefix": "ObjectCreated:"}]}}
    body = {"Records": [{"eventName": "ObjectRemoved:Delete"}, {"eventName": "ObjectCreated:Put"}]}
    assert on_body(policy, body)
    assert not on_body(policy, {"Records": [{"eventName": "ObjectRemoved:Delete"}]})


def test_dotted_keys_and_nested_keys_name_the_same_property() -> None:
    assert on_body({"a.b": ["x"]}, {"a": {"b": "x"}})
    assert on_body({"a": {"b": ["x"]}}, {"a.b": "x"})


def test_a_body_that_is_not_a_json_object_never_matches() -> None:
    policy = compile_filter_policy({"a": ["x"]}, B)
    assert not policy.matches("plain text")
    assert not policy.matches('["a"]')
    assert compile_filter_policy({}, B).matches("plain text")  # an empty policy takes everything


def test_body_scope_ignores_attributes_and_attribute_scope_ignores_the_body() -> None:
    assert not compile_filter_policy({"a": ["x"]}, B).matches('{"b": 1}', attrs(a="x"))
    assert not compile_filter_policy({"a": ["x"]}, S).matches('{"a": "x"}', {})


# -------------------------------------------------------------- invalid policies

P = "Invalid parameter: Attributes Reason: FilterPolicy: "


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({f"k{i}": ["x"] for i in range(6)}, P + "Filter policy can not have more than 5 keys"),
        ({"a": []}, P + "Empty arrays are not allowed"),
        ({"a": "x"}, P + '"a" must be an object or an array'),
        ({"a": [["x"]]}, P + "Match value must be String, number, true, false, or null"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, P + "Only one key allowed in match expression"),
        ({"a": [{"prefixx": "x"}]}, P + "Unrecognized match type prefixx"),
        ({"a": [{"prefix": 1}]}, P + "prefix match pattern must be a string"),
        ({"a": [{"suffix": None}]}, P + "suffix match pattern must be a string"),
        (
            {"a": [{"equals-ignore-case": ["x"]}]},
            P + "equals-ignore-case match pattern must be a string",
        ),
        ({"a": [{"exists": "true"}]}, P + "exists match pattern must be either true or false."),
        (
            {"a": [{"anything-but": {"suffix": "x"}}]},
            P + "Unsupported anything-but pattern: suffix",
        ),
        ({"a": [{"anything-but": {"prefix": 1}}]}, P + "prefix match pattern must be a string"),
        (
            {"a": [{"anything-but": [{"prefix": "x"}]}]},
            P + "Match value must be String, number, true, false, or null",
        ),
        ({"a": [{"numeric": []}]}, P + "Invalid member in numeric match: ]"),
        ({"a": [{"numeric": [1, 2]}]}, P + "Invalid member in numeric match: 1"),
        ({"a": [{"numeric": ["!=", 2]}]}, P + "Unrecognized numeric range operator: !="),
        ({"a": [{"numeric": ["=", "2"]}]}, P + "Value of equals must be numeric"),
        ({"a": [{"numeric": ["<"]}]}, P + "Value of < must be numeric"),
        ({"a": [{"numeric": ["<", 1, ">", 0]}]}, P + "Too many elements in numeric expression"),
        ({"a": [{"numeric": [">", 0, 5, 1]}]}, P + "Bad value in numeric range: 5"),
        ({"a": [{"numeric": [">", 0, ">", 1]}]}, P + "Bad numeric range operator: >"),
        ({"a": [{"numeric": [">", 0, "<", "1"]}]}, P + "Value of < must be numeric"),
        ({"a": [{"numeric": [">", 5, "<", 5]}]}, P + "Bottom must be less than top"),
        (
            {"a": [{"numeric": [">", 0, "<", 5, 1]}]},
            P + "Too many terms in numeric range expression",
        ),
        ({"a": [{"cidr": "10.0.0.0"}]}, P + "Malformed CIDR, one '/' required"),
        ({"a": [{"cidr": "10.0.0.0/x"}]}, P + "Malformed CIDR, mask bits must be an integer"),
        ({"a": [{"cidr": "10.0.0.300/8"}]}, P + "Nonstandard IP address: 10.0.0.300"),
    ],
)
def test_invalid_policies_get_sns_messages(policy: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        compile_filter_policy(policy, B)
    assert str(caught.value) == message


def test_nesting_is_refused_for_attribute_policies() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        compile_filter_policy({"a": {"b": ["x"]}}, S)
    assert str(caught.value) == (
        "Invalid parameter: Attributes Reason: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    compile_filter_policy({"a": {"b": ["x"]}}, B)


def test_more_than_150_combinations_is_too_complex() -> None:
    fine = {"a": [str(i) for i in range(10)], "b": [str(i) for i in range(15)]}
    compile_filter_policy(fine)
    too_many = {"a": [str(i) for i in range(10)], "b": [str(i) for i in range(16)]}
    with pytest.raises(InvalidParameterError, match="Filter policy is too complex$"):
        compile_filter_policy(too_many)


def test_nested_values_count_once_per_level_of_depth() -> None:
    # SNS's documented example: 4 values three levels deep, 3 values two levels deep: 72.
    compile_filter_policy({"a": {"b": {"c": ["1", "2", "3", "4"]}}, "d": {"e": ["1", "2", "3"]}}, B)
    with pytest.raises(InvalidParameterError, match="too complex"):
        compile_filter_policy(
            {"a": {"b": {"c": [str(i) for i in range(8)]}}, "d": {"e": ["1", "2", "3", "4"]}}, B
        )


def test_or_branches_add_their_combinations() -> None:
    branch = {"a": [str(i) for i in range(75)]}
    compile_filter_policy({"$or": [branch, {"b": [str(i) for i in range(75)]}]})
    with pytest.raises(InvalidParameterError, match="too complex"):
        compile_filter_policy({"$or": [branch, {"b": [str(i) for i in range(76)]}]})


def test_errors_are_worded_for_set_subscription_attributes_too() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        compile_filter_policy({"a": []}, subscribe=False)
    assert str(caught.value) == "Invalid parameter: FilterPolicy: Empty arrays are not allowed"


def test_policies_that_are_not_json_objects() -> None:
    with pytest.raises(InvalidParameterError, match="failed to parse JSON"):
        compile_filter_policy("{not json")
    with pytest.raises(InvalidParameterError, match="must be a JSON object"):
        compile_filter_policy('["a"]')
    with pytest.raises(InvalidParameterError, match="FilterPolicyScope: Invalid value \\[Body\\]"):
        compile_filter_policy({"a": ["x"]}, "Body")


def test_structure_errors_come_before_match_expression_errors() -> None:
    with pytest.raises(InvalidParameterError, match="Empty arrays"):
        compile_filter_policy({"a": [{"prefixx": "x"}], "b": []})
