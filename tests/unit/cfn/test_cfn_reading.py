"""Templates read as CloudFormation reads them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.graph import creation_order
from sluiceway.cfn.parameters import parameter_values
from sluiceway.cfn.reading import load_template, parse_text


def test_short_forms_and_text_that_yaml_would_convert() -> None:
    data = parse_text(
        "Version: 2012-10-17\nOn: yes\nA: !Ref X\nB: !GetAtt T.Arn.Deep\nC: !Sub ['${a}', {a: !Ref Y}]\nD: !If [C, 1, 2]\n", "t.yaml"
    )
    assert data["Version"] == "2012-10-17" and data["On"] == "yes"
    assert data["A"] == {"Ref": "X"}
    assert data["B"] == {"Fn::GetAtt": ["T", "Arn.Deep"]}
    assert data["C"] == {"Fn::Sub": ["${a}", {"a": {"Ref": "Y"}}]}
    assert data["D"] == {"Fn::If": ["C", 1, 2]}


def test_json_templates() -> None:
    assert parse_text('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}', "t.json")["Resources"]["Q"]["Type"] == "AWS::SQS::Queue"


def test_errors_name_the_file_and_line() -> None:
    with pytest.raises(TemplateError, match=r"t.yaml \(line 2, column 7\): not valid YAML"):
        parse_text("Resources:\n  a: b: c\n", "t.yaml")


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    with pytest.raises(TemplateError, match="aliases expand"):
        parse_text(bomb, "t.yaml")


def test_includes_are_read_from_beside_the_template(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text("openapi: 3.0.1\npaths: {}\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      DefinitionBody:\n"
        "        'Fn::Transform': {Name: 'AWS::Include', Parameters: {Location: api.yaml}}\n"
    )
    template = load_template(tmp_path / "template.yaml")
    assert template["Resources"]["Api"]["Properties"]["DefinitionBody"] == {"openapi": "3.0.1", "paths": {}}


@pytest.mark.parametrize("location", ["../outside.yaml", "/etc/passwd", "s3://bucket/api.yaml", "link.yaml"])
def test_includes_stay_in_the_templates_folder(tmp_path: Path, location: str) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "outside.yaml").write_text("secret: 1\n")
    os.symlink(tmp_path / "outside.yaml", app / "link.yaml")
    (app / "template.yaml").write_text(
        "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      DefinitionBody:\n"
        f"        'Fn::Transform': {{Name: 'AWS::Include', Parameters: {{Location: '{location}'}}}}\n"
    )
    with pytest.raises(TemplateError, match="AWS::Include location"):
        load_template(app / "template.yaml")


def test_a_file_without_resources_is_no_template(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("hello: world\n")
    with pytest.raises(TemplateError, match="no Resources section"):
        load_template(tmp_path / "t.yaml")
    with pytest.raises(TemplateError, match="no such file"):
        load_template(tmp_path / "missing.yaml")


def test_creation_order_follows_references_and_depends_on() -> None:
    resources = {
        "Rule": {"Type": "R", "Properties": {"Targets": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}},
        "Fn": {"Type": "F", "Properties": {"Env": {"Fn::Sub": "${Table}"}}},
        "Table": {"Type": "T"},
        "Late": {"Type": "Q", "DependsOn": "Rule"},
    }
    assert creation_order(resources) == ["Table", "Fn", "Rule", "Late"]
    with pytest.raises(TemplateError, match="DependsOn: no resource 'Nope'"):
        creation_order({"A": {"Type": "Q", "DependsOn": ["Nope"]}})


def test_parameters() -> None:
    declared = {
        "Name": {"Type": "String", "AllowedPattern": "[a-z]+", "ConstraintDescription": "must be lowercase letters"},
        "Count": {"Type": "Number", "Default": 3, "MinValue": 1, "MaxValue": 5},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
    }
    assert parameter_values(declared, {"Name": "abc"}, "t") == {"Name": "abc", "Count": "3", "Zones": ["a", "b"]}
    with pytest.raises(TemplateError, match="must be lowercase letters"):
        parameter_values(declared, {"Name": "ABC"}, "t")
    with pytest.raises(TemplateError, match="above MaxValue 5"):
        parameter_values(declared, {"Name": "a", "Count": "9"}, "t")
    with pytest.raises(TemplateError, match="Parameters.Name: no value"):
        parameter_values(declared, {}, "t")
