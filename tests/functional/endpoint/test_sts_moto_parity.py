"""STS temporary credentials through boto3: their shapes, and who a request signed with them is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint

ROLE = "arn:aws:iam::111111111111:role/service/etl-role"


def _client_with(endpoint: Endpoint, credentials: dict[str, Any]) -> Any:
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    ).client("sts", endpoint_url=endpoint.url)


def test_assume_role_issues_credentials_that_act_as_the_role_session(aws: Callable[..., Any], endpoint: Endpoint) -> None:
    answer = aws("sts").assume_role(RoleArn=ROLE, RoleSessionName="nightly", DurationSeconds=900)
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert len(credentials["AccessKeyId"]) == 20
    assert len(credentials["SecretAccessKey"]) == 40
    assert timedelta(seconds=800) < credentials["Expiration"] - datetime.now(UTC) <= timedelta(seconds=900)
    user = answer["AssumedRoleUser"]
    assert user["Arn"] == "arn:aws:sts::111111111111:assumed-role/etl-role/nightly"
    role_id, _, session = user["AssumedRoleId"].partition(":")
    assert role_id.startswith("AROA")
    assert len(role_id) == 21
    assert session == "nightly"
    identity = _client_with(endpoint, credentials).get_caller_identity()
    assert identity["Arn"] == user["Arn"]
    assert identity["UserId"] == user["AssumedRoleId"]
    assert identity["Account"] == "111111111111"
    # The same role always has the same id.
    again = aws("sts").assume_role(RoleArn=ROLE, RoleSessionName="other")
    assert again["AssumedRoleUser"]["AssumedRoleId"] == f"{role_id}:other"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("nothing-valid-in-here", "nothing-valid-in-here is invalid"),
        ("arn::b:::something/test-role", "arn::b:::something/test-role is invalid"),
        ("arn:a:a::aaaaaaaaaa:", "arn:a:a::aaaaaaaaaa: is invalid"),
    ],
)
def test_assume_role_refuses_a_malformed_arn(aws: Callable[..., Any], arn: str, message: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws("sts").assume_role(RoleArn=arn, RoleSessionName="s1")
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"
    assert excinfo.value.response["Error"]["Message"] == message


def test_assume_role_checks_the_session_name(aws: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws("sts").assume_role(RoleArn=ROLE, RoleSessionName="Session1:2")
    assert excinfo.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint:"
        r" Member must satisfy regular expression pattern: [\w+=,.@-]*"
    )
    with pytest.raises(ClientError) as excinfo:
        aws("sts").assume_role(RoleArn=ROLE, RoleSessionName="s" * 65)
    assert "Member must have length less than or equal to 64" in excinfo.value.response["Error"]["Message"]


def test_federation_and_session_tokens(aws: Callable[..., Any], endpoint: Endpoint) -> None:
    federated = aws("sts").get_federation_token(Name="Bob", DurationSeconds=900)
    assert federated["FederatedUser"] == {
        "FederatedUserId": "111111111111:Bob",
        "Arn": "arn:aws:sts::111111111111:federated-user/Bob",
    }
    assert federated["PackedPolicySize"] == 0
    assert _client_with(endpoint, federated["Credentials"]).get_caller_identity()["Arn"] == federated["FederatedUser"]["Arn"]
    session = aws("sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert session["AccessKeyId"].startswith("ASIA")
    # A session token acts as whoever asked for it: here the account's root.
    assert _client_with(endpoint, session).get_caller_identity()["Arn"] == "arn:aws:iam::111111111111:root"
    assert aws("sts").get_access_key_info(AccessKeyId=session["AccessKeyId"])["Account"] == "111111111111"


@pytest.mark.parametrize(
    ("call", "operation"),
    [
        (lambda sts: sts.get_session_token(), "GetSessionToken"),
        (lambda sts: sts.get_federation_token(Name="Bob"), "GetFederationToken"),
    ],
)
def test_session_credentials_cannot_ask_for_more(aws: Callable[..., Any], endpoint: Endpoint, call: Any, operation: str) -> None:
    session = _client_with(endpoint, aws("sts").assume_role(RoleArn=ROLE, RoleSessionName="chained")["Credentials"])
    with pytest.raises(ClientError) as excinfo:
        call(session)
    assert excinfo.value.response["Error"]["Code"] == "AccessDenied"
    assert excinfo.value.response["Error"]["Message"] == f"Cannot call {operation} with session credentials"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_root_session_tokens_last_an_hour_at_most(aws: Callable[..., Any]) -> None:
    def lasts(credentials: dict[str, Any]) -> timedelta:
        return credentials["Expiration"] - datetime.now(UTC)

    # The callers here are the account's root: one hour by default and at most, as AWS rules for root.
    for answer in (
        aws("sts").get_session_token(),
        aws("sts").get_session_token(DurationSeconds=7200),
        aws("sts").get_federation_token(Name="Carol"),
        aws("sts").get_federation_token(Name="Carol", DurationSeconds=7200),
    ):
        assert timedelta(seconds=3500) < lasts(answer["Credentials"]) <= timedelta(seconds=3600)
    assert lasts(aws("sts").get_session_token(DurationSeconds=1800)["Credentials"]) <= timedelta(seconds=1800)


def test_role_chaining_is_limited_to_an_hour(aws: Callable[..., Any], endpoint: Endpoint) -> None:
    first = aws("sts").assume_role(RoleArn=ROLE, RoleSessionName="first", DurationSeconds=7200)["Credentials"]
    chained = _client_with(endpoint, first)
    with pytest.raises(ClientError) as excinfo:
        chained.assume_role(RoleArn=ROLE, RoleSessionName="second", DurationSeconds=3601)
    assert excinfo.value.response["Error"] == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    }
    assert chained.assume_role(RoleArn=ROLE, RoleSessionName="second", DurationSeconds=3600)["AssumedRoleUser"]["Arn"].endswith("/second")
