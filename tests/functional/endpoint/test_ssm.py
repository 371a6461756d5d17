"""SSM Parameter Store through boto3 against the endpoint: writes, versions, selectors, labels, paths,
filters, tags, and AWS's errors."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.settings import Settings

Aws = Callable[..., Any]
ACCOUNT = Settings.load().account_id


@pytest.fixture(scope="module")
def ssm(aws: Aws) -> Any:
    return aws("ssm")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def test_a_parameter_is_put_got_overwritten_and_deleted(ssm: Any) -> None:
    put = ssm.put_parameter(Name="/app/db/url", Value="postgres://one", Type="String", Description="the db")
    assert put["Version"] == 1 and put["Tier"] == "Standard"
    got = ssm.get_parameter(Name="/app/db/url")["Parameter"]
    assert got["Name"] == "/app/db/url" and got["Value"] == "postgres://one" and got["Type"] == "String"
    assert got["Version"] == 1 and got["DataType"] == "text"
    assert got["ARN"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/db/url"
    assert "Selector" not in got
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="/app/db/url", Value="postgres://two", Type="String")
    assert _error(excinfo) == (
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    )
    # An overwrite without a Type keeps the type, the description and the rest.
    assert ssm.put_parameter(Name="/app/db/url", Value="postgres://two", Overwrite=True)["Version"] == 2
    got = ssm.get_parameter(Name="/app/db/url")["Parameter"]
    assert got["Value"] == "postgres://two" and got["Version"] == 2 and got["Type"] == "String"
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/app/db/url"]}])["Parameters"]
    assert [d["Description"] for d in described] == ["the db"]
    ssm.delete_parameter(Name="/app/db/url")
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter(Name="/app/db/url")
    assert _error(excinfo) == ("ParameterNotFound", "")
    with pytest.raises(ClientError) as excinfo:
        ssm.delete_parameter(Name="/app/db/url")
    assert _error(excinfo)[0] == "ParameterNotFound"


def test_a_name_of_one_level_is_the_same_parameter_with_or_without_its_slash(ssm: Any) -> None:
    ssm.put_parameter(Name="/with-slash", Value="a", Type="String")
    ssm.put_parameter(Name="without-slash", Value="b", Type="String")
    first = ssm.get_parameter(Name="with-slash")["Parameter"]
    assert first["Name"] == "/with-slash" and first["ARN"].endswith(":parameter/with-slash")
    second = ssm.get_parameter(Name="/without-slash")["Parameter"]
    assert second["Name"] == "without-slash" and second["ARN"].endswith(":parameter/without-slash")
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="/without-slash", Value="c", Type="String")
    assert _error(excinfo)[0] == "ParameterAlreadyExists"
    assert ssm.get_parameter(Name=first["ARN"])["Parameter"]["Value"] == "a"
    ssm.delete_parameters(Names=["with-slash", "/without-slash"])
    assert ssm.get_parameters(Names=["/with-slash", "without-slash"])["Parameters"] == []


def test_versions_and_labels_are_selected_by_name_suffix(ssm: Any) -> None:
    for value in ("v1", "v2", "v3"):
        ssm.put_parameter(Name="/sel/p", Value=value, Type="String", Overwrite=True)
    labelled = ssm.label_parameter_version(Name="/sel/p", ParameterVersion=2, Labels=["prod", "9bad", "awsy"])
    assert (labelled["InvalidLabels"], labelled["ParameterVersion"]) == (["9bad", "awsy"], 2)
    by_version = ssm.get_parameter(Name="/sel/p:1")["Parameter"]
    assert by_version["Value"] == "v1" and by_version["Selector"] == ":1" and by_version["Name"] == "/sel/p"
    by_label = ssm.get_parameter(Name="/sel/p:prod")["Parameter"]
    assert by_label["Value"] == "v2" and by_label["Selector"] == ":prod"
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter(Name="/sel/p:7")
    assert _error(excinfo) == (
        "ParameterVersionNotFound",
        "Systems Manager could not find version 7 of /sel/p. Verify the version and try again.",
    )
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter(Name="/sel/p:1:2")
    assert _error(excinfo)[0] == "ParameterNotFound"
    got = ssm.get_parameters(Names=["/sel/p:prod", "/sel/p:nolabel", "/sel/p:9", "/sel/p", "/sel/p"])
    assert [p["Value"] for p in got["Parameters"]] == ["v2", "v3"]
    assert got["InvalidParameters"] == ["/sel/p:nolabel", "/sel/p:9"]
    # Moving the label: version 3 has it now, version 2 no more.
    ssm.label_parameter_version(Name="/sel/p", Labels=["prod"])
    history = ssm.get_parameter_history(Name="/sel/p")["Parameters"]
    assert [(h["Version"], h["Value"], h["Labels"]) for h in history] == [(1, "v1", []), (2, "v2", []), (3, "v3", ["prod"])]
    removed = ssm.unlabel_parameter_version(Name="/sel/p", ParameterVersion=3, Labels=["prod", "other"])
    assert removed["RemovedLabels"] == ["prod"] and removed["InvalidLabels"] == ["other"]


def test_a_version_holds_ten_labels_at_most(ssm: Any) -> None:
    ssm.put_parameter(Name="labels-ten", Value="x", Type="String")
    ssm.label_parameter_version(Name="labels-ten", Labels=[f"l{i}" for i in range(10)])
    with pytest.raises(ClientError) as excinfo:
        ssm.label_parameter_version(Name="labels-ten", Labels=["one-more"])
    assert _error(excinfo)[0] == "ParameterVersionLabelLimitExceeded"
    with pytest.raises(ClientError) as excinfo:
        ssm.label_parameter_version(Name="labels-ten", ParameterVersion=4, Labels=["x"])
    assert _error(excinfo)[0] == "ParameterVersionNotFound"
    with pytest.raises(ClientError) as excinfo:
        ssm.label_parameter_version(Name="no-such-parameter", Labels=["x"])
    assert _error(excinfo)[0] == "ParameterNotFound"


def test_secure_strings_are_shown_only_when_decrypted(ssm: Any) -> None:
    ssm.put_parameter(Name="/sec/token", Value="s3cr3t", Type="SecureString")
    hidden = ssm.get_parameter(Name="/sec/token")["Parameter"]
    assert hidden["Type"] == "SecureString" and hidden["Value"] != "s3cr3t"
    base64.b64decode(hidden["Value"])  # stands where AWS sends the KMS ciphertext
    assert ssm.get_parameter(Name="/sec/token", WithDecryption=True)["Parameter"]["Value"] == "s3cr3t"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/sec/token"]}])["Parameters"][0]
    assert meta["KeyId"] == "alias/aws/ssm"
    ssm.put_parameter(Name="/sec/custom", Value="v", Type="SecureString", KeyId="alias/mine")
    keyed = ssm.describe_parameters(ParameterFilters=[{"Key": "KeyId", "Values": ["alias/mine"]}])["Parameters"]
    assert [p["Name"] for p in keyed] == ["/sec/custom"]


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("ssm_test", "ValidationException", 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'),
        ("AWS_test", "ValidationException", 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).'),
        ("/aws/x/y", "AccessDeniedException", "No access to reserved parameter name: /aws/x/y."),
        ("/SSM/x", "ValidationException", 'Parameter name: can\'t be prefixed with "ssm" (case-insensitive).'),
        ("has space", "ValidationException", "If formed as a path"),
        ("a/b", "ValidationException", "Parameter name must be a fully qualified name."),
        ("/" + "/".join("l" * 16), "HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels."),
    ],
)
def test_names_are_checked_as_parameter_store_checks_them(ssm: Any, name: str, code: str, message: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name=name, Value="v", Type="String")
    got_code, got_message = _error(excinfo)
    assert got_code == code and message in got_message


def test_a_name_may_take_1011_characters_with_its_arn(ssm: Any) -> None:
    prefix = len(f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/")
    longest = "n" * (1011 - prefix)
    assert ssm.put_parameter(Name=longest, Value="v", Type="String")["Version"] == 1
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name=longest + "n", Value="v", Type="String")
    assert _error(excinfo)[0] == "ValidationException"
    ssm.delete_parameter(Name=longest)


def test_put_refusals(ssm: Any) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Name": "no-type", "Value": "v"}, "ValidationException", "A parameter type is required when you create a parameter."),
        ({"Name": "bad-type", "Value": "v", "Type": "str"}, "ValidationException", "Member must satisfy enum value set"),
        ({"Name": "empty", "Value": "", "Type": "String"}, "ValidationException", "Member must have length greater than or equal to 1"),
        (
            {"Name": "bad-data", "Value": "v", "Type": "String", "DataType": "Text"},
            "ValidationException",
            "The following data type is not supported: Text (Data type names are all lowercase.)",
        ),
        ({"Name": "nested", "Value": "{{resolve:ssm:x}}", "Type": "String"}, "ValidationException", "can't nest another parameter"),
        (
            {"Name": "pattern", "Value": "abc", "Type": "String", "AllowedPattern": r"^\d+$"},
            "ParameterPatternMismatchException",
            r"Parameter value, cannot be validated against allowedPattern: ^\d+$",
        ),
        ({"Name": "big", "Value": "x" * 4097, "Type": "String"}, "ValidationException", "Standard tier parameters support a maximum"),
        ({"Name": "huge", "Value": "x" * 8193, "Type": "String", "Tier": "Advanced"}, "ValidationException", "8192"),
        (
            {"Name": "tags-and-overwrite", "Value": "v", "Type": "String", "Overwrite": True, "Tags": [{"Key": "k", "Value": "v"}]},
            "ValidationException",
            "tags and overwrite can't be used together",
        ),
    ]
    for request, code, message in cases:
        with pytest.raises(ClientError) as excinfo:
            ssm.put_parameter(**request)
        got_code, got_message = _error(excinfo)
        assert (got_code, message in got_message) == (code, True), (request["Name"], got_message)
    assert ssm.get_parameters(Names=[c[0]["Name"] for c in cases])["Parameters"] == []


def test_an_image_id_that_is_not_one_is_answered_but_not_kept(ssm: Any) -> None:
    # AWS checks aws:ec2:image values after answering: the call succeeds, the parameter stays as it was.
    assert ssm.put_parameter(Name="/ami/bad", Value="not-an-ami", Type="String", DataType="aws:ec2:image")["Version"] == 1
    assert ssm.get_parameters(Names=["/ami/bad"])["InvalidParameters"] == ["/ami/bad"]
    ssm.put_parameter(Name="/ami/good", Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image")
    assert ssm.get_parameter(Name="/ami/good")["Parameter"]["DataType"] == "aws:ec2:image"


def test_tiers_and_their_value_limits(ssm: Any) -> None:
    assert ssm.put_parameter(Name="tier-big", Value="x" * 5000, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name="tier-smart", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name="tier-smart-small", Value="x", Type="String", Tier="Intelligent-Tiering")["Tier"] == "Standard"
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="tier-big", Value="x", Overwrite=True, Tier="Standard")
    assert "can't downgrade" in _error(excinfo)[1]
    # Without a Tier an advanced parameter stays advanced.
    assert ssm.put_parameter(Name="tier-big", Value="y", Overwrite=True)["Tier"] == "Advanced"


def test_parameters_by_path_one_level_recursive_filters_and_pages(ssm: Any) -> None:
    for name, value, kind in [
        ("/tree/a", "1", "String"),
        ("/tree/b", "2", "StringList"),
        ("/tree/sub/c", "3", "String"),
        ("/tree/sub/deeper/d", "4", "SecureString"),
        ("/treeish/e", "5", "String"),
    ]:
        ssm.put_parameter(Name=name, Value=value, Type=kind)
    one_level = ssm.get_parameters_by_path(Path="/tree")["Parameters"]
    assert [p["Name"] for p in one_level] == ["/tree/a", "/tree/b"]
    everything = ssm.get_parameters_by_path(Path="/tree/", Recursive=True, WithDecryption=True)["Parameters"]
    assert [p["Value"] for p in everything] == ["1", "2", "3", "4"]
    lists = ssm.get_parameters_by_path(Path="/tree", Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["StringList"]}])
    assert [p["Name"] for p in lists["Parameters"]] == ["/tree/b"]
    names: list[str] = []
    token: dict[str, str] = {}
    pages = 0
    while True:
        page = ssm.get_parameters_by_path(Path="/tree", Recursive=True, MaxResults=3, **token)
        names += [p["Name"] for p in page["Parameters"]]
        pages += 1
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert (names, pages) == (["/tree/a", "/tree/b", "/tree/sub/c", "/tree/sub/deeper/d"], 2)
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameters_by_path(Path="/tree", MaxResults=11)
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value '11' at 'maxResults' failed to satisfy constraint:"
        " Member must have value less than or equal to 10",
    )
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameters_by_path(Path="/tree", ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert _error(excinfo) == ("InvalidFilterKey", "The following filter key is not valid: Name. Valid filter keys include: [Type, KeyId].")
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameters_by_path(Path="tree")
    assert _error(excinfo)[0] == "ValidationException"
    ssm.label_parameter_version(Name="/tree/a", Labels=["live"])
    labelled = ssm.get_parameters_by_path(Path="/tree", ParameterFilters=[{"Key": "Label", "Values": ["live"]}])["Parameters"]
    assert [p["Name"] for p in labelled] == ["/tree/a"]


def test_describe_parameters_filters(ssm: Any) -> None:
    ssm.put_parameter(Name="/desc/x/one", Value="1", Type="String", Tags=[{"Key": "team", "Value": "data"}])
    ssm.put_parameter(Name="/desc/x/two", Value="2", Type="String", Tags=[{"Key": "team", "Value": "web"}])
    ssm.put_parameter(Name="/desc/y", Value="3", Type="StringList")

    def names(filters: list[dict[str, Any]]) -> list[str]:
        return [p["Name"] for p in ssm.describe_parameters(ParameterFilters=filters, MaxResults=50)["Parameters"]]

    assert names([{"Key": "Path", "Values": ["/desc"]}]) == ["/desc/y"]
    assert names([{"Key": "Path", "Option": "Recursive", "Values": ["/desc"]}]) == ["/desc/x/one", "/desc/x/two", "/desc/y"]
    assert names([{"Key": "tag:team", "Values": ["data"]}]) == ["/desc/x/one"]
    assert names([{"Key": "tag:team"}, {"Key": "Path", "Option": "Recursive", "Values": ["/desc"]}]) == ["/desc/x/one", "/desc/x/two"]
    assert names([{"Key": "Name", "Option": "BeginsWith", "Values": ["/desc/x"]}]) == ["/desc/x/one", "/desc/x/two"]
    assert names([{"Key": "Type", "Values": ["StringList"]}, {"Key": "Name", "Option": "Contains", "Values": ["desc"]}]) == ["/desc/y"]
    ssm.put_parameter(Name="desc-top", Value="t", Type="String")
    ssm.put_parameter(Name="undesc-top", Value="t", Type="String")
    # A name of one level compares with its leading slash: "desc-top" is "/desc-top"; Contains looks for the text as given.
    assert names([{"Key": "Name", "Values": ["/desc-top"]}]) == ["desc-top"]
    assert names([{"Key": "Name", "Option": "BeginsWith", "Values": ["desc-"]}]) == ["desc-top"]
    assert names([{"Key": "Name", "Option": "Contains", "Values": ["/desc-"]}]) == ["desc-top"]
    refusals: list[tuple[list[dict[str, Any]], str, str]] = [
        ([{"Key": "Label", "Values": ["x"]}], "InvalidFilterKey", "Valid filter keys include: [Path, Name, Type, KeyId, Tier]."),
        ([{"Key": "Name"}], "InvalidFilterValue", "The following filter values are missing : null for filter key Name."),
        ([{"Key": "Type", "Values": ["Text"]}], "InvalidFilterValue", "The following filter value is not valid: Text."),
        ([{"Key": "Path", "Option": "Equals", "Values": ["/x"]}], "InvalidFilterOption", "Valid options include: [Recursive, OneLevel]."),
        ([{"Key": "Path", "Values": ["/aws/x"]}], "ValidationException", "Filters for common parameters can't be prefixed"),
        ([{"Key": "Path", "Values": ["nope"]}], "ValidationException", "The parameter name must begin with a forward slash"),
        ([{"Key": "Name", "Values": ["a"]}, {"Key": "Name", "Values": ["b"]}], "InvalidFilterKey", "duplicated in the request: Name."),
        (
            [{"Key": "bogus", "Values": ["a"]}],
            "ValidationException",
            "1 validation error detected: Value 'bogus' at 'parameterFilters.1.member.key'",
        ),
    ]
    for filters, code, message in refusals:
        with pytest.raises(ClientError) as excinfo:
            ssm.describe_parameters(ParameterFilters=filters)
        got_code, got_message = _error(excinfo)
        assert (got_code, message in got_message) == (code, True), (filters, got_message)
    with pytest.raises(ClientError) as excinfo:
        ssm.describe_parameters(Filters=[{"Key": "Name", "Values": ["x"]}], ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    assert _error(excinfo) == ("ValidationException", "You can use either Filters or ParameterFilters in a single request.")
    legacy = ssm.describe_parameters(Filters=[{"Key": "Name", "Values": ["/desc/x"]}])["Parameters"]
    assert [p["Name"] for p in legacy] == ["/desc/x/one", "/desc/x/two"]


def test_describe_parameters_pages_by_ten(ssm: Any) -> None:
    for index in range(12):
        ssm.put_parameter(Name=f"/paging/p{index:02d}", Value="v", Type="String")
    first = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": ["/paging"]}])
    assert len(first["Parameters"]) == 10 and "NextToken" in first
    second = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": ["/paging"]}], NextToken=first["NextToken"])
    assert [p["Name"] for p in second["Parameters"]] == ["/paging/p10", "/paging/p11"] and "NextToken" not in second


def test_history_pages_and_keeps_the_hundred_latest_versions(ssm: Any) -> None:
    for index in range(101):
        ssm.put_parameter(Name="history-hundred", Value=f"v{index + 1}", Type="String", Overwrite=True)
    history: list[dict[str, Any]] = []
    for page in ssm.get_paginator("get_parameter_history").paginate(Name="history-hundred"):
        history += page["Parameters"]
    assert len(history) == 100 and history[0]["Value"] == "v2" and history[-1]["Version"] == 101
    ssm.label_parameter_version(Name="history-hundred", ParameterVersion=2, Labels=["keep"])
    with pytest.raises(ClientError) as excinfo:
        ssm.put_parameter(Name="history-hundred", Value="next", Type="String", Overwrite=True)
    code, message = _error(excinfo)
    assert code == "ParameterMaxVersionLimitExceeded" and "Version 2, the oldest version, can't be deleted" in message
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter_history(Name="history-hundred", MaxResults=51)
    assert _error(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter_history(Name="no-such-history")
    assert _error(excinfo)[0] == "ParameterNotFound"


def test_tags_on_parameters(ssm: Any) -> None:
    ssm.put_parameter(Name="/tagged/p", Value="v", Type="String", Tags=[{"Key": "a", "Value": "1"}])
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/tagged/p", Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}]
    )
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tagged/p")["TagList"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "3"), ("b", "2")]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/tagged/p", TagKeys=["a", "absent"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tagged/p")["TagList"] == [{"Key": "b", "Value": "2"}]
    ssm.delete_parameter(Name="/tagged/p")
    with pytest.raises(ClientError) as excinfo:
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/tagged/p")
    assert _error(excinfo)[0] == "InvalidResourceId"
    with pytest.raises(ClientError) as excinfo:
        ssm.list_tags_for_resource(ResourceType="Document", ResourceId="x")
    assert _error(excinfo)[0] == "InvalidResourceId"
