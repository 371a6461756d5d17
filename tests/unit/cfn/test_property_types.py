"""CloudFormation's schema check of property types, with its conversions of a parameter's text."""

from __future__ import annotations

import pytest

from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.resources.property_types import check_types, has_type, type_name


@pytest.mark.parametrize(
    ("value", "expected", "passes"),
    [
        (10, "Integer", True),
        ("10", "Integer", True),
        ("-3", "Integer", True),
        ("abc", "Integer", False),
        ("٣", "Integer", False),
        (True, "Integer", False),
        (1.5, "Integer", False),
        ("true", "Boolean", True),
        ("TRUE", "Boolean", True),
        ("maybe", "Boolean", False),
        (12345, "String", True),
        (True, "String", False),
        ([], "String", False),
        ({}, "JSONObject", True),
        ("{}", "JSONObject", False),
        ([1], "JSONArray", True),
    ],
)
def test_a_parameters_text_passes_as_cloudformation_converts_it(value: object, expected: str, passes: bool) -> None:
    assert has_type(value, expected) is passes


def test_the_first_wrong_type_fails_the_resource_in_cloudformations_words() -> None:
    assert [type_name(v) for v in (True, 1, 1.5, [], {}, "x")] == ["Boolean", "Integer", "Number", "JSONArray", "JSONObject", "String"]
    check_types("Fine", [("#/BatchSize", "10", "Integer"), ("#/Missing", None, "Integer")])
    with pytest.raises(TemplateError) as refused:
        check_types("Wire", [("#/BatchSize", "abc", "Integer"), ("#/Enabled", "maybe", "Boolean")])
    assert str(refused.value) == (
        "Properties validation failed for resource Wire with message: #/BatchSize: expected type: Integer, found: String"
    )
