"""Parameter Store's checks of what a caller sends: version numbers in selectors, labels and tokens
(ASCII digits, 64 bits), names of a wrong form on reads, and the model's member constraints."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Aws = Callable[..., Any]

_SUB_PATHS = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths'
    " divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_"
)


@pytest.fixture(scope="module")
def ssm(aws: Aws) -> Any:
    return aws("ssm")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_a_selector_is_a_version_only_in_ascii_digits_within_64_bits(ssm: Any) -> None:
    ssm.put_parameter(Name="/digits/p", Value="one", Type="String")
    ssm.put_parameter(Name="/digits/p", Value="two", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/digits/p", Value="three", Type="String", Overwrite=True)
    # '²' and '٣' are digits to Python, labels to Parameter Store: no such label.
    for name in ("/digits/p:²", "/digits/p:٣"):
        with pytest.raises(ClientError) as excinfo:
            ssm.get_parameter(Name=name)
        assert _error(excinfo) == ("ParameterNotFound", ""), name
    huge = "9" * 30
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter(Name=f"/digits/p:{huge}")
    assert _error(excinfo) == (
        "ParameterVersionNotFound",
        f"Systems Manager could not find version {huge} of /digits/p. Verify the version and try again.",
    )
    got = ssm.get_parameters(Names=[f"/digits/p:{huge}", "/digits/p:3"])
    assert [p["Value"] for p in got["Parameters"]] == ["three"] and got["InvalidParameters"] == [f"/digits/p:{huge}"]


@pytest.mark.parametrize("version", [2**63, 2**70, 10**30])
def test_labels_on_a_version_beyond_64_bits_find_no_version(ssm: Any, version: int) -> None:
    ssm.put_parameter(Name="/digits/labelled", Value="v", Type="String", Overwrite=True)
    for operation in (ssm.label_parameter_version, ssm.unlabel_parameter_version):
        with pytest.raises(ClientError) as excinfo:
            operation(Name="/digits/labelled", ParameterVersion=version, Labels=["prod"])
        assert _error(excinfo) == (
            "ParameterVersionNotFound",
            f"Systems Manager could not find version {version} of /digits/labelled. Verify the version and try again.",
        )


@pytest.mark.parametrize("cursor", ["²", "٣", "9" * 30, "-1", ""])
def test_history_refuses_tokens_that_are_no_version_number(ssm: Any, cursor: str) -> None:
    ssm.put_parameter(Name="/digits/history", Value="v", Type="String", Overwrite=True)
    token = _token(cursor) if cursor else "IA=="  # a space: not empty, no number
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter_history(Name="/digits/history", NextToken=token)
    assert _error(excinfo) == ("InvalidNextToken", "The specified token isn't valid.")
    assert ssm.get_parameter_history(Name="/digits/history", NextToken=_token("0"))["Parameters"][0]["Value"] == "v"


@pytest.mark.parametrize("pattern", ["/{}//b//c", "{}/b/c", "/{}/b/", "/{}/b c"])
def test_reads_refuse_names_of_a_wrong_form_before_looking(ssm: Any, pattern: str) -> None:
    ssm.put_parameter(Name="/form/b/c", Value="123", Type="String", Overwrite=True)
    name = pattern.format("form")
    for read in (
        lambda: ssm.get_parameter(Name=name),
        lambda: ssm.get_parameters(Names=[name, "/form/b/c"]),
        lambda: ssm.get_parameter_history(Name=name),
    ):
        with pytest.raises(ClientError) as excinfo:
            read()
        assert _error(excinfo) == ("ValidationException", _SUB_PATHS)
    # AWS's public parameters live under /aws/: reading there is no error of form.
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
    assert _error(excinfo) == ("ParameterNotFound", "")


def test_put_checks_the_lengths_of_description_and_allowed_pattern(ssm: Any) -> None:
    assert ssm.put_parameter(Name="/limits/ok", Value="x", Type="String", Description="d" * 1024, AllowedPattern="x*" * 512)
    long_description, long_pattern = "d" * 1025, "x" * 1025
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="/limits/d", Value="x", Type="String", Description=long_description)
    assert _error(excinfo) == (
        "ValidationException",
        f"1 validation error detected: Value '{long_description}' at 'description' failed to satisfy constraint:"
        " Member must have length less than or equal to 1024",
    )
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="/limits/p", Value="x", Type="String", Description=long_description, AllowedPattern=long_pattern)
    assert _error(excinfo) == (
        "ValidationException",
        f"2 validation errors detected: Value '{long_description}' at 'description' failed to satisfy constraint:"
        " Member must have length less than or equal to 1024;"
        f" Value '{long_pattern}' at 'allowedPattern' failed to satisfy constraint: Member must have length less than or equal to 1024",
    )
    assert ssm.get_parameters(Names=["/limits/d", "/limits/p"])["InvalidParameters"] == ["/limits/d", "/limits/p"]


@pytest.mark.parametrize("policies", ["notjson", '{"Type":"Expiration","Version":"1.0"}', "[", "null"])
def test_policies_must_be_a_json_array(ssm: Any, policies: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="/policies/bad", Value="x", Type="String", Tier="Advanced", Policies=policies)
    assert _error(excinfo) == ("ValidationException", f"Invalid policies input: {policies}.")
    assert ssm.get_parameters(Names=["/policies/bad"])["InvalidParameters"] == ["/policies/bad"]


def test_policies_in_an_array_are_kept(ssm: Any) -> None:
    policy = {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}}
    ssm.put_parameter(Name="/policies/good", Value="x", Type="String", Tier="Advanced", Policies=json.dumps([policy]))
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/policies/good"]}])["Parameters"]
    assert [p["PolicyType"] for p in described[0]["Policies"]] == ["Expiration"]


def test_legacy_filters_take_only_name_type_and_key_id(ssm: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ssm.describe_parameters(Filters=[{"Key": "Name", "Values": ["/x"]}, {"Key": "Tier", "Values": ["Standard"]}])
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value 'Tier' at 'filters.2.member.key' failed to satisfy constraint:"
        " Member must satisfy enum value set: [Name, Type, KeyId]",
    )
    ssm.put_parameter(Name="/legacy/kept", Value="x", Type="String", Overwrite=True)
    found = ssm.describe_parameters(Filters=[{"Key": "Name", "Values": ["/legacy/"]}, {"Key": "Type", "Values": ["String"]}])
    assert [p["Name"] for p in found["Parameters"]] == ["/legacy/kept"]
