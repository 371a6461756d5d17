"""CloudFormation's intrinsic functions and conditions, resolved as CloudFormation resolves them."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.intrinsics import Resolver, references


def resolver(**parameters: Any) -> Resolver:
    made = Resolver(
        pseudo={"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::StackName": "s", "AWS::URLSuffix": "amazonaws.com"},
        parameters={"Env": "dev", "Names": ["a", "b"], **parameters},
        mappings={"Sizes": {"dev": {"Batch": 5}}},
        refs={"Queue": "https://q/url", "Api": "abc1234567"},
        attributes={"Queue": {"Arn": "arn:aws:sqs:eu-west-1:123456789012:q"}, "Fn": {"Arn": "arn:fn"}},
        imports={"shared-bus": "bus-1"},
    )
    made.evaluate_conditions(
        {
            "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
            "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["x", "x"]}]},
            "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [1, "1"]}]},
        }
    )
    return made


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Env"}, "dev"),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "Queue"}, "https://q/url"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:q"),
        ({"Fn::GetAtt": "Queue.Arn"}, "arn:aws:sqs:eu-west-1:123456789012:q"),
        ({"Fn::Sub": "${AWS::StackName}-${Env}-${Queue.Arn}"}, "s-dev-arn:aws:sqs:eu-west-1:123456789012:q"),
        ({"Fn::Sub": ["${X}/${Env}", {"X": {"Ref": "Queue"}}]}, "https://q/url/dev"),
        ({"Fn::Sub": "${!Literal} ${ Env }"}, "${Literal} dev"),
        ({"Fn::Join": [",", [{"Ref": "Env"}, "b", 3]]}, "dev,b,3"),
        ({"Fn::Select": ["1", {"Ref": "Names"}]}, "b"),
        ({"Fn::Split": ["|", "a|b|"]}, ["a", "b", ""]),
        ({"Fn::If": ["IsDev", "yes", "no"]}, "yes"),
        ({"Fn::If": ["IsProd", "yes", {"Ref": "Env"}]}, "dev"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Batch"]}, 5),
        ({"Fn::FindInMap": ["Sizes", "prod", "Batch", {"DefaultValue": 1}]}, 1),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::ImportValue": "shared-bus"}, "bus-1"),
        ({"Fn::Length": [1, 2, 3]}, 3),
        ({"Fn::ToJsonString": {"a": [1, {"Ref": "Env"}]}}, '{"a":[1,"dev"]}'),
        ({"Condition": "Both"}, True),
        ({"k": {"Ref": "AWS::NoValue"}, "j": 1}, {"j": 1}),
        ([1, {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}, 3], [1, 3]),
    ],
)
def test_functions(value: Any, expected: Any) -> None:
    assert resolver().resolve(value, "Resources.X.Properties") == expected


def test_conditions() -> None:
    assert resolver().conditions == {"IsDev": True, "IsProd": False, "Both": True, "Either": True}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Ref": "Nope"}, r"Resources.X.Properties.Ref: Ref to 'Nope'"),
        ({"Fn::GetAtt": ["Queue", "Url"]}, r"Queue has no attribute 'Url' locally \(it has: Arn\)"),
        ({"Fn::GetAtt": ["Nope", "Arn"]}, "no resource made so far"),
        ({"Fn::Select": [5, ["a"]]}, "out of the list's bounds"),
        ({"Fn::If": ["Unknown", 1, 2]}, "unknown condition 'Unknown'"),
        ({"Fn::FindInMap": ["Sizes", "prod", "Batch"]}, "Mappings has no Sizes.prod.Batch"),
        ({"Fn::ImportValue": "missing"}, "no stack in this data dir exports 'missing'"),
        ({"Fn::Join": [",", "notalist"]}, "must be a list"),
        ({"Fn::Sub": "${Names}"}, "a list or object where text is needed"),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "no VPCs"),
    ],
)
def test_refusals_name_the_place(value: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        resolver().resolve(value, "Resources.X.Properties")


def test_a_condition_that_refers_to_itself() -> None:
    with pytest.raises(TemplateError, match="refers to itself"):
        Resolver(pseudo={}, parameters={}).evaluate_conditions({"A": {"Fn::Not": [{"Condition": "A"}]}})


def test_rewrite_applies_to_what_sub_and_join_make() -> None:
    made = resolver()
    made.rewrite = lambda text: text.replace("https://abc1234567.execute-api.eu-west-1.amazonaws.com", "http://local/api")
    assert (
        made.resolve({"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod"}, "Outputs.U")
        == "http://local/api/Prod"
    )


def test_references_find_ref_getatt_and_sub_names() -> None:
    value = {
        "A": {"Ref": "Queue"},
        "B": {"Fn::GetAtt": ["Topic", "Arn"]},
        "C": {"Fn::Sub": "${Table.Arn}/${AWS::Region}/${!Skip}/${Local}"},
        "D": {"Fn::Sub": ["${Local}", {"Local": {"Ref": "Bucket"}}]},
        "E": {"Fn::GetAtt": "Fn.Arn"},
    }
    assert references(value) == {"Queue", "Topic", "Table", "Local", "Bucket", "Fn"}
