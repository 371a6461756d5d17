"""Secrets Manager through boto3 against the endpoint: secrets, versions and staging labels, tags,
listing and its filters, random passwords, rotation through a function, and AWS's errors."""

from __future__ import annotations

import json
import logging
import re
import string
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint

Aws = Callable[..., Any]

ARN = re.compile(r"^arn:aws:secretsmanager:us-east-1:111111111111:secret:(?P<name>.+)-[A-Za-z0-9]{6}$")
NOT_FOUND = ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")


@pytest.fixture(scope="module")
def sm(aws: Aws) -> Any:
    return aws("secretsmanager")


@pytest.fixture(scope="module")
def unchecked(aws: Aws) -> Any:
    """A client that sends what botocore would refuse, for the endpoint's own checks."""
    return aws("secretsmanager", parameter_validation=False)


def _name(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _stages(sm: Any, secret: str, **extra: Any) -> dict[str, list[str]]:
    return {v["VersionId"]: v.get("VersionStages", []) for v in sm.list_secret_version_ids(SecretId=secret, **extra)["Versions"]}


# -- create, read, describe ---------------------------------------------------------------------


def test_a_secret_is_read_back_by_name_full_arn_and_partial_arn(sm: Any) -> None:
    name = _name("app/db")
    token = str(uuid.uuid4())
    made = sm.create_secret(Name=name, SecretString='{"user": "u"}', Description="db", ClientRequestToken=token)
    assert set(made) - {"ResponseMetadata"} == {"ARN", "Name", "VersionId"}
    match = ARN.match(made["ARN"])
    assert match and match["name"] == name and made["VersionId"] == token
    for secret_id in (name, made["ARN"], made["ARN"][:-7]):
        got = sm.get_secret_value(SecretId=secret_id)
        assert (got["ARN"], got["Name"], got["SecretString"], got["VersionId"], got["VersionStages"]) == (
            made["ARN"],
            name,
            '{"user": "u"}',
            token,
            ["AWSCURRENT"],
        )
        assert "SecretBinary" not in got and got["CreatedDate"]
    described = sm.describe_secret(SecretId=name)
    assert set(described) - {"ResponseMetadata"} == {
        "ARN",
        "Name",
        "Description",
        "LastChangedDate",
        "LastAccessedDate",
        "VersionIdsToStages",
        "CreatedDate",
    }
    assert described["VersionIdsToStages"] == {token: ["AWSCURRENT"]}


def test_last_accessed_date_is_left_out_until_the_value_is_read_and_kept_to_the_day(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretString="v")
    assert "LastAccessedDate" not in sm.describe_secret(SecretId=name)
    sm.get_secret_value(SecretId=name)
    accessed = sm.describe_secret(SecretId=name)["LastAccessedDate"]
    assert accessed.timestamp() % 86400 == 0


def test_a_partial_arn_of_a_name_ending_like_a_suffix_finds_nothing(sm: Any) -> None:
    name = f"{_name()}-a1b2c3"
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    assert sm.get_secret_value(SecretId=arn)["Name"] == name
    assert _error(lambda: sm.get_secret_value(SecretId=arn[:-7])) == NOT_FOUND


def test_binary_secrets_round_trip(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretBinary=b"\x00\x01\xff")
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == b"\x00\x01\xff" and "SecretString" not in got
    sm.put_secret_value(SecretId=name, SecretBinary=b"\xfe")
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == b"\xfe"


def test_unknown_and_invalid_names_are_refused_in_aws_words(sm: Any) -> None:
    assert _error(lambda: sm.get_secret_value(SecretId="no-such-secret")) == NOT_FOUND
    assert _error(lambda: sm.describe_secret(SecretId="no-such-secret")) == NOT_FOUND
    invalid = (
        "ValidationException",
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
    )
    assert _error(lambda: sm.create_secret(Name="Inv Name", SecretString="v")) == invalid
    assert _error(lambda: sm.get_secret_value(SecretId="Inv*Name?")) == invalid
    code, message = _error(lambda: sm.create_secret(Name="x", SecretString="v", SecretBinary=b"v"))
    assert code == "InvalidParameterException" and "both" in message


def test_an_empty_secret_answers_no_value_until_one_is_put(sm: Any) -> None:
    name = _name()
    made = sm.create_secret(Name=name, Description="")
    assert "VersionId" not in made
    described = sm.describe_secret(SecretId=name)
    assert "VersionIdsToStages" not in described
    assert _error(lambda: sm.get_secret_value(SecretId=name)) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
    )
    put = sm.put_secret_value(SecretId=name, SecretString="first", VersionStages=["AWSPENDING"])
    assert put["VersionStages"] == ["AWSCURRENT", "AWSPENDING"]  # a first version is always current


# -- idempotency ------------------------------------------------------------------------------


def test_client_request_tokens_repeat_a_request_and_never_change_a_version(sm: Any, unchecked: Any) -> None:
    name = _name()
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretString="a", ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretString="a", ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    assert _error(lambda: sm.create_secret(Name=name, SecretString="other", ClientRequestToken=token)) == (
        "ResourceExistsException",
        f"You can't use ClientRequestToken {token} because that value is already in use for a version of secret {first['ARN']}.",
    )
    assert _error(lambda: sm.create_secret(Name=name, SecretString="a")) == (
        "ResourceExistsException",
        f"The operation failed because the secret {name} already exists.",
    )
    second = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=second)
    repeated = sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=second)
    assert repeated["VersionId"] == second and len(_stages(sm, name)) == 2
    assert _error(lambda: sm.put_secret_value(SecretId=name, SecretString="c", ClientRequestToken=second))[0] == "ResourceExistsException"
    assert sm.update_secret(SecretId=name, SecretString="b", ClientRequestToken=second)["VersionId"] == second
    assert _error(lambda: sm.update_secret(SecretId=name, SecretString="z", ClientRequestToken=second))[0] == "ResourceExistsException"
    code, message = _error(lambda: unchecked.put_secret_value(SecretId=name, SecretString="v", ClientRequestToken="short"))
    assert code == "ValidationException" and "clientRequestToken" in message


def _raw(endpoint: Endpoint, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A signed request without the ClientRequestToken an SDK would add."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        "POST",
        endpoint.url + "/",
        data=json.dumps(body).encode(),
        headers={"X-Amz-Target": f"secretsmanager.{operation}", "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials("test", "test"), "secretsmanager", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(request.url, data=request.body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(prepared, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_raw_request_without_a_client_request_token_is_refused(endpoint: Endpoint) -> None:
    for operation, body in (("CreateSecret", {"Name": _name()}), ("PutSecretValue", {"SecretId": _name()})):
        status, answer = _raw(endpoint, operation, {**body, "SecretString": "v"})
        assert status == 400
        assert answer["__type"] == "InvalidRequestException"
        assert answer["Message"] == "You must provide a ClientRequestToken value. We recommend a UUID-type value."
    # RotateSecret alone calls it an invalid parameter (recorded answers of AWS); UpdateSecret with a value does not.
    for operation, code in (("RotateSecret", "InvalidParameterException"), ("UpdateSecret", "InvalidRequestException")):
        status, answer = _raw(
            endpoint, operation, {"SecretId": _name(), "SecretString": "v"} if operation == "UpdateSecret" else {"SecretId": _name()}
        )
        assert (status, answer["__type"]) == (400, code)
        assert answer["Message"] == "You must provide a ClientRequestToken value. We recommend a UUID-type value."


# -- versions and staging labels ----------------------------------------------------------------


def test_put_moves_awscurrent_and_awsprevious_and_labels_move_between_versions(sm: Any) -> None:
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSPENDING"])["VersionId"]
    assert _stages(sm, name) == {v1: ["AWSCURRENT"], v2: ["AWSPENDING"]}
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "S2"
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1)
    assert _stages(sm, name) == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT", "AWSPENDING"]}
    # A new current value takes AWSCURRENT; the version it leaves keeps AWSPREVIOUS only, and the
    # version that had AWSPREVIOUS is deprecated (listed with IncludeDeprecated only).
    v3 = sm.put_secret_value(SecretId=name, SecretString="S3")["VersionId"]
    assert _stages(sm, name) == {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    assert _stages(sm, name, IncludeDeprecated=True) == {v1: [], v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "S2"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "S1"  # deprecated, still there
    assert "VersionStages" not in sm.get_secret_value(SecretId=name, VersionId=v1)


def test_custom_labels_move_alone_and_are_listed_sorted(sm: Any) -> None:
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="S0")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="S1", VersionStages=["one", "two", "three"])
    assert v2["VersionStages"] == ["one", "three", "two"]
    v3 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["one", "two", "four"])
    assert _stages(sm, name) == {v1: ["AWSCURRENT"], v2["VersionId"]: ["three"], v3["VersionId"]: ["four", "one", "two"]}


def test_version_and_stage_errors_name_what_was_asked(sm: Any) -> None:
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    missing = str(uuid.uuid4())
    assert _error(lambda: sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")) == (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
    )
    assert _error(lambda: sm.get_secret_value(SecretId=name, VersionId=missing)) == (
        "ResourceNotFoundException",
        f"Secrets Manager can't find the specified secret value for VersionId: {missing}",
    )
    assert _error(lambda: sm.get_secret_value(SecretId=name, VersionId=v1, VersionStage="AWSPENDING")) == (
        "InvalidRequestException",
        "You provided a VersionStage that is not associated to the provided VersionId.",
    )
    v2 = sm.put_secret_value(SecretId=name, SecretString="S2", VersionStages=["AWSPENDING"])["VersionId"]
    assert _error(lambda: sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2)) == (
        "InvalidParameterException",
        f"The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version {v1},"
        " so you must explicitly reference that version in RemoveFromVersionId.",
    )
    # Removing a label from its version without moving it leaves the version without it.
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=v2)
    assert _stages(sm, name) == {v1: ["AWSCURRENT"]}


def test_update_secret_changes_metadata_without_a_version_and_values_with_one(sm: Any) -> None:
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="S1")["VersionId"]
    updated = sm.update_secret(SecretId=name, Description="MyDescription")
    assert set(updated) - {"ResponseMetadata"} == {"ARN", "Name"}
    assert sm.describe_secret(SecretId=name)["Description"] == "MyDescription"
    v2 = sm.update_secret(SecretId=name, SecretString="S2", KmsKeyId="alias/mine")["VersionId"]
    described = sm.describe_secret(SecretId=name)
    assert described["VersionIdsToStages"] == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    assert described["KmsKeyId"] == "alias/mine" and described["Description"] == "MyDescription"
    assert {v["KmsKeyIds"][0] for v in sm.list_secret_version_ids(SecretId=name)["Versions"]} == {"alias/mine"}
    sm.update_secret(SecretId=name, KmsKeyId="")
    assert "KmsKeyId" not in sm.describe_secret(SecretId=name)
    assert sm.list_secret_version_ids(SecretId=name)["Versions"][0]["KmsKeyIds"] == ["DefaultEncryptionKey"]


# -- deletion, tags ---------------------------------------------------------------------------


def test_a_deleted_secret_answers_reads_with_an_error_until_restored(sm: Any) -> None:
    name = _name()
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert deleted["ARN"] == arn and deleted["Name"] == name
    marked = ("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
    assert _error(lambda: sm.get_secret_value(SecretId=name)) == marked
    assert _error(lambda: sm.put_secret_value(SecretId=name, SecretString="w")) == marked
    assert _error(lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v"}])) == marked
    assert _error(lambda: sm.untag_resource(SecretId=name, TagKeys=["k"])) == marked
    assert _error(lambda: sm.create_secret(Name=name, SecretString="v")) == (
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
    )
    assert _error(lambda: sm.delete_secret(SecretId=name)) == (
        "InvalidRequestException",
        "You tried to perform the operation on a secret that's currently marked deleted.",
    )
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    assert name not in {s["Name"] for s in sm.list_secrets()["SecretList"]}
    assert name in {s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]}
    restored = sm.restore_secret(SecretId=name)
    assert (restored["ARN"], restored["Name"]) == (arn, name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    forced = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert forced["ARN"] == arn
    assert _error(lambda: sm.describe_secret(SecretId=name)) == NOT_FOUND
    assert sm.create_secret(Name=name, SecretString="again")["ARN"] != arn  # a new suffix


def test_delete_options_are_checked(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretString="v")
    assert _error(lambda: sm.delete_secret(SecretId=name, RecoveryWindowInDays=6)) == (
        "InvalidParameterException",
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
    )
    assert _error(lambda: sm.delete_secret(SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)) == (
        "InvalidParameterException",
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    )
    assert _error(lambda: sm.delete_secret(SecretId="never-made")) == NOT_FOUND
    assert sm.delete_secret(SecretId="never-made", ForceDeleteWithoutRecovery=True)["Name"] == "never-made"


def test_tags_are_added_replaced_removed_and_shown_once_set(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretString="v")
    assert "Tags" not in sm.describe_secret(SecretId=name)
    sm.tag_resource(SecretId=name, Tags=[{"Key": "tag1", "Value": "value1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "tag2", "Value": "value2"}, {"Key": "tag1", "Value": "new"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "tag1", "Value": "new"}, {"Key": "tag2", "Value": "value2"}]
    sm.untag_resource(SecretId=name, TagKeys=["tag1", "tag2"])
    assert sm.describe_secret(SecretId=name)["Tags"] == []


# -- listing ----------------------------------------------------------------------------------


def test_list_secrets_filters_pages_and_sorts(sm: Any) -> None:
    run = uuid.uuid4().hex[:6]
    names = [f"list{run}/prod/AppBeta", f"list{run}/dev/AppGamma", f"list{run}-other"]
    sm.create_secret(Name=names[0], SecretString="v", Description="one two", Tags=[{"Key": "team", "Value": "data"}])
    sm.create_secret(Name=names[1], SecretString="v", Description="one")
    sm.create_secret(Name=names[2], SecretString="v", Description="Two words")

    def listed(*filters: dict[str, Any], **extra: Any) -> list[str]:
        answer = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"list{run}"]}, *filters], **extra)
        return [s["Name"] for s in answer["SecretList"]]

    assert listed() == names
    assert listed(SortOrder="desc") == names[::-1]
    assert listed(SortBy="name") == sorted(names)
    assert listed({"Key": "description", "Values": ["one two"]}) == [names[0]]
    assert listed({"Key": "description", "Values": ["t"]}) == [names[0], names[2]]
    assert listed({"Key": "tag-key", "Values": ["te"]}) == [names[0]]
    assert listed({"Key": "tag-value", "Values": ["!data"]}) == names[1:]
    assert listed({"Key": "all", "Values": ["beta"]}) == [names[0]]
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [names[0]]}])["SecretList"][0]
    assert set(entry) == {"ARN", "Name", "Description", "Tags", "LastChangedDate", "SecretVersionsToStages", "CreatedDate"}
    first = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"list{run}"]}], MaxResults=2)
    rest = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"list{run}"]}], MaxResults=2, NextToken=first["NextToken"])
    assert [s["Name"] for s in first["SecretList"] + rest["SecretList"]] == names and "NextToken" not in rest
    code, message = _error(lambda: sm.list_secrets(Filters=[{"Key": "invalid", "Values": ["x"]}]))
    assert code == "ValidationException" and "'filters.1.member.key'" in message


def test_batch_get_secret_value_reports_each_missing_secret(sm: Any) -> None:
    name = _name("batch")
    sm.create_secret(Name=name, SecretString="v")
    answer = sm.batch_get_secret_value(SecretIdList=[name, "batch-missing"])
    assert [v["SecretString"] for v in answer["SecretValues"]] == ["v"]
    assert answer["Errors"] == [
        {
            "SecretId": "batch-missing",
            "ErrorCode": "ResourceNotFoundException",
            "Message": "Secrets Manager can't find the specified secret.",
        }
    ]
    by_filter = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [name]}])
    assert [v["Name"] for v in by_filter["SecretValues"]] == [name]
    assert _error(lambda: sm.batch_get_secret_value(SecretIdList=[name], Filters=[{"Key": "name", "Values": [name]}]))[0] == (
        "InvalidParameterException"
    )


# -- random passwords -------------------------------------------------------------------------


def test_random_passwords_follow_aws_defaults_and_options(sm: Any, unchecked: Any) -> None:
    default = sm.get_random_password()["RandomPassword"]
    assert len(default) == 32 and set(default) <= set(string.ascii_letters + string.digits + string.punctuation)
    for kind in (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation):
        assert set(default) & set(kind)
    plain = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True, ExcludeCharacters="abcXYZ", ExcludeNumbers=True)
    assert len(plain["RandomPassword"]) == 64 and set(plain["RandomPassword"]) <= set(string.ascii_letters) - set("abcXYZ")
    assert set(sm.get_random_password(PasswordLength=4096, IncludeSpace=True)["RandomPassword"]) & {" "}
    assert _error(lambda: sm.get_random_password(PasswordLength=3)) == (
        "InvalidParameterException",
        "Password length is too short based on the required types.",
    )
    assert len(sm.get_random_password(PasswordLength=3, RequireEachIncludedType=False)["RandomPassword"]) == 3
    assert _error(lambda: unchecked.get_random_password(PasswordLength=5555)) == (
        "ValidationException",
        "1 validation error detected: Value '5555' at 'passwordLength' failed to satisfy constraint:"
        " Member must have value less than or equal to 4096",
    )


# -- secrecy ----------------------------------------------------------------------------------


def test_secret_values_never_reach_logs_or_error_messages(sm: Any, unchecked: Any, caplog: pytest.LogCaptureFixture) -> None:
    value = f"hunter2-{uuid.uuid4().hex}"
    name = _name()
    # The sluiceway logger's own level too: a CLI test's logs.configure() may have set it higher.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="sluiceway"):
        token = sm.create_secret(Name=name, SecretString=value)["VersionId"]
        sm.get_secret_value(SecretId=name)
        _, message = _error(lambda: sm.put_secret_value(SecretId=name, SecretString=value + "x", ClientRequestToken=token))
        code, too_long = _error(lambda: unchecked.put_secret_value(SecretId=name, SecretString=value * 2000))
    assert code == "ValidationException" and value not in too_long
    assert value not in message
    ours = [r for r in caplog.records if r.name.startswith("sluiceway")]
    assert ours  # the endpoint logged its requests
    assert not any(value in record.getMessage() or value in repr(record.__dict__) for record in ours)


def test_model_constraints_are_checked_as_aws_checks_them(endpoint: Endpoint, sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretString="v")
    enum = "Member must satisfy enum value set"
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("ListSecrets", {"SortBy": "bogus"}, f"at 'sortBy' failed to satisfy constraint: {enum}: [created-date, last-accessed-date,"),
        ("ListSecrets", {"SortOrder": "up"}, f"Value 'up' at 'sortOrder' failed to satisfy constraint: {enum}: [asc, desc]"),
        ("ListSecrets", {"Filters": [{"Key": "name", "Values": ["a%"]}]}, "at 'filters.1.member.values.1.member' failed to satisfy"),
        ("ListSecrets", {"Filters": [{"Key": "name", "Values": ["x" * 513]}]}, "Member must have length less than or equal to 512"),
        ("CreateSecret", {"Name": _name(), "Description": "d" * 2049}, "at 'description' failed to satisfy constraint"),
        ("CreateSecret", {"Name": _name(), "KmsKeyId": "k" * 2049}, "at 'kmsKeyId' failed to satisfy constraint"),
        ("CreateSecret", {"Name": _name(), "Tags": [{"Key": "k" * 129, "Value": "v"}]}, "at 'tags.1.member.key' failed"),
        ("CreateSecret", {"Name": _name(), "ClientRequestToken": "short"}, "at 'clientRequestToken' failed to satisfy constraint"),
        (
            "PutSecretValue",
            {"SecretId": name, "SecretString": "x", "ClientRequestToken": "q" * 36, "VersionStages": ["s" * 257]},
            "at 'versionStages.1.member' failed to satisfy constraint: Member must have length less than or equal to 256",
        ),
        ("GetRandomPassword", {"ExcludeCharacters": "x" * 4097}, "at 'excludeCharacters' failed to satisfy constraint"),
        ("BatchGetSecretValue", {"SecretIdList": []}, "at 'secretIdList' failed to satisfy constraint: Member must have length greater"),
        ("BatchGetSecretValue", {"SecretIdList": [name] * 21}, "Member must have length less than or equal to 20"),
    ]
    for operation, body, expected in cases:
        status, answer = _raw(endpoint, operation, body)
        assert (status, answer["__type"]) == (400, "ValidationException"), (operation, body)
        message = answer.get("Message") or answer.get("message") or ""
        assert message.startswith("1 validation error detected: Value ") and expected in message, answer
    # A sensitive member is named without its value.
    status, answer = _raw(endpoint, "CreateSecret", {"Name": _name(), "SecretString": "", "ClientRequestToken": "t" * 36})
    assert (answer.get("Message") or answer.get("message")) == (
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint:"
        " Member must have length greater than or equal to 1"
    )


def test_tags_reserved_prefix_and_count_are_refused(sm: Any) -> None:
    reserved = _error(lambda: sm.create_secret(Name=_name(), Tags=[{"Key": "aws:owner", "Value": "v"}]))
    assert reserved[0] == "InvalidParameterException"
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert _error(lambda: sm.create_secret(Name=_name(), Tags=many))[0] == "InvalidParameterException"
    name = _name()
    sm.create_secret(Name=name, Tags=many[:50])
    assert _error(lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": "one-more", "Value": "v"}]))[0] == "InvalidParameterException"


def test_a_secret_string_is_measured_in_utf8_bytes(sm: Any) -> None:
    name = _name()
    sm.create_secret(Name=name, SecretString="x" * 65536)
    code, message = _error(lambda: sm.put_secret_value(SecretId=name, SecretString="é" * 32769))
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint:"
        " Member must have length less than or equal to 65536",
    )
    sm.put_secret_value(SecretId=name, SecretString="é" * 32768)


def test_list_secrets_refuses_a_forged_next_token(sm: Any) -> None:
    import base64

    for start in (b"1e400", b"-1", b"true", b'"3"', b"99999999999999999999"):
        token = base64.b64encode(b'{"start": ' + start + b"}").decode()
        assert _error(lambda token=token: sm.list_secrets(NextToken=token)) == (
            "InvalidNextTokenException",
            "The NextToken value is invalid.",
        )


def test_another_regions_arn_names_nothing(sm: Any) -> None:
    import boto3

    arn = sm.create_secret(Name=_name(), SecretString="east")["ARN"]
    west = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-west-2").client(
        "secretsmanager", endpoint_url=sm.meta.endpoint_url
    )
    assert _error(lambda: west.get_secret_value(SecretId=arn))[0] == "ResourceNotFoundException"
    assert _error(lambda: west.get_secret_value(SecretId=arn[:-7]))[0] == "ResourceNotFoundException"
