"""The ``cognito-idp`` API on the endpoint through boto3, Cognito's routes beside it, and the data dir's durability."""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.clock import SystemClock
from sluiceway.cognito import jwt
from sluiceway.cognito.tokens import secret_hash
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

PASSWORD = "Corr3ct-Horse"


@pytest.fixture(scope="module")
def idp(aws: Callable[..., Any]) -> Any:
    return aws("cognito-idp")


@pytest.fixture(scope="module")
def pool(idp: Any) -> dict[str, Any]:
    pool_id = idp.create_user_pool(PoolName="app-users", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier="orders",
        Name="Orders",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}],
    )
    web = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    machine = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="machine",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["orders/read", "orders/write"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    for name, precedence in (("admins", 1), ("readers", 5)):
        idp.create_group(UserPoolId=pool_id, GroupName=name, Precedence=precedence)
    return {"id": pool_id, "web": web["ClientId"], "machine": machine["ClientId"], "secret": machine["ClientSecret"]}


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _user(idp: Any, pool: dict[str, Any], name: str, *groups: str) -> None:
    idp.admin_create_user(
        UserPoolId=pool["id"],
        Username=name,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    idp.admin_set_user_password(UserPoolId=pool["id"], Username=name, Password=PASSWORD, Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool["id"], Username=name, GroupName=group)


def _sign_in(idp: Any, pool: dict[str, Any], name: str, password: str = PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = idp.initiate_auth(
        ClientId=pool["web"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": password}
    )
    return result


# -- configuration ----------------------------------------------------------------------------


def test_pools_clients_groups_and_resource_servers_are_described_as_cognito_does(idp: Any, pool: dict[str, Any]) -> None:
    described = idp.describe_user_pool(UserPoolId=pool["id"])["UserPool"]
    assert described["Id"] == pool["id"] and pool["id"].startswith("us-east-1_") and len(pool["id"].split("_")[1]) == 9
    assert described["Arn"] == f"arn:aws:cognito-idp:us-east-1:{described['Arn'].split(':')[4]}:userpool/{pool['id']}"
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 8 and described["MfaConfiguration"] == "OFF"
    assert any(p["Id"] == pool["id"] for p in idp.list_user_pools(MaxResults=60)["UserPools"])
    client = idp.describe_user_pool_client(UserPoolId=pool["id"], ClientId=pool["machine"])["UserPoolClient"]
    assert len(client["ClientId"]) == 26 and client["ClientId"].isalnum() and client["ClientId"].islower()
    # A client made through the API without the setting is LEGACY (only the console selects ENABLED).
    assert len(client["ClientSecret"]) == 51 and client["PreventUserExistenceErrors"] == "LEGACY"
    assert {c["ClientName"] for c in idp.list_user_pool_clients(UserPoolId=pool["id"], MaxResults=60)["UserPoolClients"]} == {
        "web",
        "machine",
    }
    assert [g["GroupName"] for g in idp.list_groups(UserPoolId=pool["id"])["Groups"]] == ["admins", "readers"]
    assert idp.get_group(UserPoolId=pool["id"], GroupName="admins")["Group"]["Precedence"] == 1
    server = idp.describe_resource_server(UserPoolId=pool["id"], Identifier="orders")["ResourceServer"]
    assert [s["ScopeName"] for s in server["Scopes"]] == ["read", "write"]
    assert len(idp.list_resource_servers(UserPoolId=pool["id"], MaxResults=50)["ResourceServers"]) == 1


def test_configuration_lifecycle_and_errors(idp: Any) -> None:
    pool_id = idp.create_user_pool(PoolName="short-lived")["UserPool"]["Id"]
    idp.update_user_pool(UserPoolId=pool_id, Policies={"PasswordPolicy": {"MinimumLength": 12}})
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    updated = idp.update_user_pool_client(
        UserPoolId=pool_id, ClientId=client_id, ClientName="c2", AccessTokenValidity=5, TokenValidityUnits={"AccessToken": "minutes"}
    )["UserPoolClient"]
    assert (updated["ClientName"], updated["AccessTokenValidity"]) == ("c2", 5)
    idp.create_group(UserPoolId=pool_id, GroupName="g")
    assert _error(lambda: idp.create_group(UserPoolId=pool_id, GroupName="g"))[0] == "GroupExistsException"
    assert idp.update_group(UserPoolId=pool_id, GroupName="g", Description="d")["Group"]["Description"] == "d"
    idp.delete_group(UserPoolId=pool_id, GroupName="g")
    assert _error(lambda: idp.get_group(UserPoolId=pool_id, GroupName="g")) == ("ResourceNotFoundException", "Group not found.")
    idp.create_resource_server(UserPoolId=pool_id, Identifier="api", Name="Api")
    idp.update_resource_server(UserPoolId=pool_id, Identifier="api", Name="Api", Scopes=[{"ScopeName": "x", "ScopeDescription": "x"}])
    assert (
        _error(
            lambda: idp.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName="m",
                GenerateSecret=True,
                AllowedOAuthFlows=["client_credentials"],
                AllowedOAuthScopes=["api/nope"],
                AllowedOAuthFlowsUserPoolClient=True,
            )
        )[0]
        == "ScopeDoesNotExistException"
    )
    assert (
        _error(
            lambda: idp.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName="m",
                AllowedOAuthFlows=["client_credentials"],
                AllowedOAuthScopes=["api/x"],
                AllowedOAuthFlowsUserPoolClient=True,
            )
        )[0]
        == "InvalidOAuthFlowException"
    )
    idp.delete_resource_server(UserPoolId=pool_id, Identifier="api")
    assert _error(lambda: idp.describe_resource_server(UserPoolId=pool_id, Identifier="api"))[0] == "ResourceNotFoundException"
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain="my-local-app")
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"] == "my-local-app"
    assert idp.describe_user_pool_domain(Domain="my-local-app")["DomainDescription"]["UserPoolId"] == pool_id
    idp.delete_user_pool_domain(UserPoolId=pool_id, Domain="my-local-app")
    idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    assert _error(lambda: idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)) == (
        "ResourceNotFoundException",
        f"User pool client {client_id} does not exist.",
    )
    idp.delete_user_pool(UserPoolId=pool_id)
    assert _error(lambda: idp.describe_user_pool(UserPoolId=pool_id)) == (
        "ResourceNotFoundException",
        f"User pool {pool_id} does not exist.",
    )
    assert _error(lambda: idp.list_user_pools(MaxResults=61))[0] == "InvalidParameterException"


# -- users ------------------------------------------------------------------------------------


def test_sign_up_confirm_and_sign_in(idp: Any, pool: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):  # codes are logged at DEBUG only
        signed = idp.sign_up(
            ClientId=pool["web"], Username="sam", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": "sam@example.com"}]
        )
    assert signed["UserConfirmed"] is False and len(signed["UserSub"]) == 36
    assert signed["CodeDeliveryDetails"] == {"Destination": "s***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    code = next(r.__dict__["code"] for r in caplog.records if "code" in r.__dict__)
    assert _error(lambda: idp.sign_up(ClientId=pool["web"], Username="sam", Password=PASSWORD)) == (
        "UsernameExistsException",
        "User already exists",
    )
    assert _error(lambda: _sign_in(idp, pool, "sam")) == ("UserNotConfirmedException", "User is not confirmed.")
    wrong = "000000" if code != "000000" else "111111"
    assert _error(lambda: idp.confirm_sign_up(ClientId=pool["web"], Username="sam", ConfirmationCode=wrong))[0] == "CodeMismatchException"
    idp.confirm_sign_up(ClientId=pool["web"], Username="sam", ConfirmationCode=code)
    assert _error(lambda: idp.admin_confirm_sign_up(UserPoolId=pool["id"], Username="sam")) == (
        "NotAuthorizedException",
        "User cannot be confirmed. Current status is CONFIRMED",
    )
    assert "AccessToken" in _sign_in(idp, pool, "sam")["AuthenticationResult"]


def test_sign_up_enforces_the_password_policy(idp: Any, pool: dict[str, Any]) -> None:
    assert _error(lambda: idp.sign_up(ClientId=pool["web"], Username="weak", Password="short")) == (
        "InvalidPasswordException",
        "Password did not conform with policy: Password not long enough",
    )
    assert _error(lambda: idp.sign_up(ClientId=pool["web"], Username="weak", Password="nouppercase1!")) == (
        "InvalidPasswordException",
        "Password did not conform with policy: Password must have uppercase characters",
    )


def test_admin_confirm_sign_up(idp: Any, pool: dict[str, Any]) -> None:
    idp.sign_up(ClientId=pool["web"], Username="tom", Password=PASSWORD)
    assert idp.admin_get_user(UserPoolId=pool["id"], Username="tom")["UserStatus"] == "UNCONFIRMED"
    idp.admin_confirm_sign_up(UserPoolId=pool["id"], Username="tom")
    assert idp.admin_get_user(UserPoolId=pool["id"], Username="tom")["UserStatus"] == "CONFIRMED"


def test_a_client_with_a_secret_needs_the_secret_hash(idp: Any, pool: dict[str, Any]) -> None:
    client = pool["machine"]
    assert _error(lambda: idp.sign_up(ClientId=client, Username="hash", Password=PASSWORD)) == (
        "NotAuthorizedException",
        f"Client {client} is configured for secret but secret was not received",
    )
    assert _error(lambda: idp.sign_up(ClientId=client, Username="hash", Password=PASSWORD, SecretHash="d3Jvbmc=")) == (
        "NotAuthorizedException",
        f"Unable to verify secret hash for client {client}",
    )
    idp.sign_up(ClientId=client, Username="hash", Password=PASSWORD, SecretHash=secret_hash("hash", client, pool["secret"]))


def test_admin_create_user_forces_a_new_password(idp: Any, pool: dict[str, Any]) -> None:
    created = idp.admin_create_user(
        UserPoolId=pool["id"],
        Username="newbie",
        TemporaryPassword="Tempor4ry!pw",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "newbie@example.com"}],
    )["User"]
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD" and created["Enabled"] is True
    assert {a["Name"] for a in created["Attributes"]} == {"sub", "email"}
    assert _error(lambda: idp.admin_create_user(UserPoolId=pool["id"], Username="newbie", MessageAction="SUPPRESS")) == (
        "UsernameExistsException",
        "User account already exists",
    )
    challenge = _sign_in(idp, pool, "newbie", "Tempor4ry!pw")
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED" and "AuthenticationResult" not in challenge
    assert challenge["ChallengeParameters"]["USER_ID_FOR_SRP"] == "newbie"

    def respond(session: str, password: str) -> dict[str, Any]:
        answer: dict[str, Any] = idp.respond_to_auth_challenge(
            ClientId=pool["web"],
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=session,
            ChallengeResponses={"USERNAME": "newbie", "NEW_PASSWORD": password},
        )
        return answer

    assert _error(lambda: respond("x" * 40, PASSWORD)) == ("NotAuthorizedException", "Invalid session for the user.")
    assert _error(lambda: respond(challenge["Session"], "weak"))[0] == "InvalidPasswordException"
    tokens = respond(challenge["Session"], PASSWORD)["AuthenticationResult"]
    assert tokens["TokenType"] == "Bearer" and tokens["ExpiresIn"] == 3600 and tokens["RefreshToken"]
    assert idp.admin_get_user(UserPoolId=pool["id"], Username="newbie")["UserStatus"] == "CONFIRMED"
    # The admin flavour, through AdminInitiateAuth.
    idp.admin_set_user_password(UserPoolId=pool["id"], Username="newbie", Password="Tempor4ry!pw2", Permanent=False)
    again = idp.admin_initiate_auth(
        UserPoolId=pool["id"],
        ClientId=pool["web"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "newbie", "PASSWORD": "Tempor4ry!pw2"},
    )
    done = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool["id"],
        ClientId=pool["web"],
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=again["Session"],
        ChallengeResponses={"USERNAME": "newbie", "NEW_PASSWORD": PASSWORD},
    )
    assert "IdToken" in done["AuthenticationResult"]


def test_list_users_filters_and_pages(idp: Any, pool: dict[str, Any]) -> None:
    for name in ("lu-a", "lu-b", "lu-c"):
        idp.admin_create_user(
            UserPoolId=pool["id"],
            Username=name,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": f"{name}@list.example"}],
        )
    found = idp.list_users(UserPoolId=pool["id"], Filter='username ^= "lu-"')["Users"]
    assert [u["Username"] for u in found] == ["lu-a", "lu-b", "lu-c"]
    assert [u["Username"] for u in idp.list_users(UserPoolId=pool["id"], Filter='email = "lu-b@list.example"')["Users"]] == ["lu-b"]
    sub = found[0]["Attributes"][0]["Value"]
    assert [u["Username"] for u in idp.list_users(UserPoolId=pool["id"], Filter=f'sub = "{sub}"')["Users"]] == ["lu-a"]
    first = idp.list_users(UserPoolId=pool["id"], Filter='username ^= "lu-"', Limit=2)
    rest = idp.list_users(UserPoolId=pool["id"], Filter='username ^= "lu-"', Limit=2, PaginationToken=first["PaginationToken"])
    assert [u["Username"] for u in first["Users"] + rest["Users"]] == ["lu-a", "lu-b", "lu-c"] and "PaginationToken" not in rest
    assert _error(lambda: idp.list_users(UserPoolId=pool["id"], Filter="username = bob"))[0] == "InvalidParameterException"
    assert _error(lambda: idp.list_users(UserPoolId=pool["id"], Limit=61))[0] == "InvalidParameterException"


def test_groups_of_users_disable_enable_delete(idp: Any, pool: dict[str, Any]) -> None:
    _user(idp, pool, "gina", "readers", "admins")
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool["id"], Username="gina")["Groups"]] == [
        "admins",
        "readers",
    ]
    assert "gina" in [u["Username"] for u in idp.list_users_in_group(UserPoolId=pool["id"], GroupName="admins")["Users"]]
    idp.admin_remove_user_from_group(UserPoolId=pool["id"], Username="gina", GroupName="admins")
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool["id"], Username="gina")["Groups"]] == ["readers"]
    idp.admin_disable_user(UserPoolId=pool["id"], Username="gina")
    assert _error(lambda: _sign_in(idp, pool, "gina")) == ("NotAuthorizedException", "User is disabled.")
    idp.admin_enable_user(UserPoolId=pool["id"], Username="gina")
    _sign_in(idp, pool, "gina")
    idp.admin_delete_user(UserPoolId=pool["id"], Username="gina")
    assert _error(lambda: idp.admin_get_user(UserPoolId=pool["id"], Username="gina")) == ("UserNotFoundException", "User does not exist.")
    assert (
        _error(lambda: idp.admin_add_user_to_group(UserPoolId=pool["id"], Username="gina", GroupName="readers"))[0]
        == "UserNotFoundException"
    )


# -- sign-in and tokens -----------------------------------------------------------------------


def test_wrong_password_and_unknown_user_are_the_same_error(idp: Any, pool: dict[str, Any]) -> None:
    _user(idp, pool, "wendy")
    expected = ("NotAuthorizedException", "Incorrect username or password.")
    assert _error(lambda: _sign_in(idp, pool, "wendy", "Wrong-Passw0rd")) == expected
    assert _error(lambda: _sign_in(idp, pool, "nobody-at-all")) == expected


def test_a_client_made_without_the_setting_tells_an_unknown_user_apart(idp: Any, pool: dict[str, Any]) -> None:
    client = idp.create_user_pool_client(UserPoolId=pool["id"], ClientName="legacy", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    client_id = client["UserPoolClient"]["ClientId"]
    assert client["UserPoolClient"]["PreventUserExistenceErrors"] == "LEGACY"
    sign_in = {"USERNAME": "nobody-at-all", "PASSWORD": "Any-Passw0rd"}
    assert _error(lambda: idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=sign_in)) == (
        "UserNotFoundException",
        "User does not exist.",
    )


def test_a_flow_the_client_does_not_allow_is_refused(idp: Any, pool: dict[str, Any]) -> None:
    client = idp.create_user_pool_client(UserPoolId=pool["id"], ClientName="srp-only")["UserPoolClient"]["ClientId"]
    assert _error(
        lambda: idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "x", "PASSWORD": "y"})
    ) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
    assert (
        _error(
            lambda: idp.admin_initiate_auth(
                UserPoolId=pool["id"],
                ClientId=client,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "x", "PASSWORD": "y"},
            )
        )[0]
        == "InvalidParameterException"
    )


def test_tokens_carry_cognitos_claims_and_verify_with_the_pools_jwks(idp: Any, pool: dict[str, Any], endpoint: Endpoint) -> None:
    _user(idp, pool, "carla", "readers", "admins")
    result = _sign_in(idp, pool, "carla")["AuthenticationResult"]
    with urllib.request.urlopen(f"{endpoint.url}/{pool['id']}/.well-known/jwks.json") as response:
        jwks = json.load(response)
    access = jwt.verify_signature(result["AccessToken"], jwks)
    identity = jwt.verify_signature(result["IdToken"], jwks)
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool['id']}"
    assert access["iss"] == identity["iss"] == issuer
    assert access["token_use"] == "access" and access["client_id"] == pool["web"] and access["username"] == "carla"
    assert access["scope"] == "aws.cognito.signin.user.admin" and access["cognito:groups"] == ["admins", "readers"]
    assert identity["token_use"] == "id" and identity["aud"] == pool["web"] and identity["cognito:username"] == "carla"
    assert identity["email"] == "carla@example.com" and identity["email_verified"] is True
    assert access["sub"] == identity["sub"] and access["origin_jti"] == identity["origin_jti"] and access["jti"] != identity["jti"]
    assert access["exp"] - access["iat"] == 3600 and abs(access["auth_time"] - time.time()) < 60
    assert jwt.unverified_header(result["AccessToken"])["kid"] == jwks["keys"][0]["kid"]
    user = idp.get_user(AccessToken=result["AccessToken"])
    assert user["Username"] == "carla" and {"Name": "email", "Value": "carla@example.com"} in user["UserAttributes"]
    # Refreshing keeps the sign-in (origin_jti, auth_time) and returns no new refresh token.
    refreshed = idp.initiate_auth(
        ClientId=pool["web"], AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]}
    )
    assert "RefreshToken" not in refreshed["AuthenticationResult"]
    claims = jwt.verify_signature(refreshed["AuthenticationResult"]["AccessToken"], jwks)
    assert (claims["origin_jti"], claims["auth_time"]) == (access["origin_jti"], access["auth_time"])
    # The store checks tokens as Cognito does.
    pools = endpoint.stack.local.user_pools
    assert pools.verify_token(result["IdToken"], pool_id=pool["id"], token_use="id", now=SystemClock().now())["cognito:username"] == "carla"
    with pytest.raises(Exception, match="Invalid Access Token"):
        pools.verify_token(result["IdToken"], pool_id=pool["id"], token_use="access", now=SystemClock().now())
    assert pools.jwks_for_issuer(issuer) == jwks and pools.jwks_for_issuer(issuer.replace("us-east-1.", "eu-west-1.")) is None


def test_a_tampered_or_foreign_token_is_refused_by_get_user(idp: Any, pool: dict[str, Any]) -> None:
    _user(idp, pool, "tina")
    token = _sign_in(idp, pool, "tina")["AuthenticationResult"]["AccessToken"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = jwt.b64url_encode(json.dumps({**claims, "username": "carla"}).encode())
    assert _error(lambda: idp.get_user(AccessToken=f"{header}.{forged}.{signature}")) == ("NotAuthorizedException", "Invalid Access Token")
    other = jwt.sign(claims, jwt.generate_key(), jwt.unverified_header(token)["kid"])
    assert _error(lambda: idp.get_user(AccessToken=other)) == ("NotAuthorizedException", "Invalid Access Token")
    assert _error(lambda: idp.get_user(AccessToken="not-a-token"))[0] == "NotAuthorizedException"


def test_global_sign_out_revokes_the_users_tokens(idp: Any, pool: dict[str, Any]) -> None:
    _user(idp, pool, "otto")
    first = _sign_in(idp, pool, "otto")["AuthenticationResult"]
    second = _sign_in(idp, pool, "otto")["AuthenticationResult"]
    idp.global_sign_out(AccessToken=first["AccessToken"])
    for tokens in (first, second):
        access, refresh = tokens["AccessToken"], tokens["RefreshToken"]
        assert _error(lambda: idp.get_user(AccessToken=access)) == ("NotAuthorizedException", "Access Token has been revoked")  # noqa: B023
        assert _error(
            lambda: idp.initiate_auth(ClientId=pool["web"], AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh})  # noqa: B023
        ) == ("NotAuthorizedException", "Refresh Token has been revoked")
    fresh = _sign_in(idp, pool, "otto")["AuthenticationResult"]
    assert idp.get_user(AccessToken=fresh["AccessToken"])["Username"] == "otto"
    idp.admin_user_global_sign_out(UserPoolId=pool["id"], Username="otto")
    assert _error(lambda: idp.get_user(AccessToken=fresh["AccessToken"]))[1] == "Access Token has been revoked"


def test_revoke_token_revokes_one_sign_in(idp: Any, pool: dict[str, Any]) -> None:
    _user(idp, pool, "rita")
    kept = _sign_in(idp, pool, "rita")["AuthenticationResult"]
    revoked = _sign_in(idp, pool, "rita")["AuthenticationResult"]
    idp.revoke_token(ClientId=pool["web"], Token=revoked["RefreshToken"])
    assert _error(lambda: idp.get_user(AccessToken=revoked["AccessToken"]))[1] == "Access Token has been revoked"
    assert idp.get_user(AccessToken=kept["AccessToken"])["Username"] == "rita"
    assert _error(lambda: idp.revoke_token(ClientId=pool["web"], Token=kept["AccessToken"]))[0] == "UnsupportedTokenTypeException"


# -- signatures ---------------------------------------------------------------------------------


def test_with_signatures_required_the_public_operations_stay_unsigned(stack: Stack, pool: dict[str, Any], idp: Any) -> None:
    _user(idp, pool, "una")
    served = Endpoint(stack, host="127.0.0.1", port=0, require_auth=True, access_keys={"AKIDCOGNITO": "cognito-secret"})
    served.start()
    try:
        anonymous = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=served.url,
            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
        )
        tokens = anonymous.initiate_auth(
            ClientId=pool["web"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "una", "PASSWORD": PASSWORD}
        )
        assert anonymous.get_user(AccessToken=tokens["AuthenticationResult"]["AccessToken"])["Username"] == "una"
        code, _ = _error(lambda: anonymous.admin_get_user(UserPoolId=pool["id"], Username="una"))
        assert code == "MissingAuthenticationTokenException"
        strangers = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=served.url,
            aws_access_key_id="AKIDX",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}),
        )
        assert _error(lambda: strangers.list_user_pools(MaxResults=1))[0] == "UnrecognizedClientException"
        signed = boto3.client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=served.url,
            aws_access_key_id="AKIDCOGNITO",
            aws_secret_access_key="cognito-secret",
            config=Config(retries={"max_attempts": 1}),
        )
        assert signed.admin_get_user(UserPoolId=pool["id"], Username="una")["Username"] == "una"
        with urllib.request.urlopen(f"{served.url}/{pool['id']}/.well-known/jwks.json") as response:
            assert json.load(response)["keys"]
    finally:
        served.close()


# -- the well-known documents and the token endpoint ----------------------------------------------


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_openid_configuration_and_an_unknown_pool(endpoint: Endpoint, pool: dict[str, Any]) -> None:
    status, document = _get(f"{endpoint.url}/{pool['id']}/.well-known/openid-configuration")
    assert status == 200 and document["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool['id']}"
    assert document["jwks_uri"] == f"{endpoint.url}/{pool['id']}/.well-known/jwks.json"
    assert document["token_endpoint"] == f"{endpoint.url}/_sluiceway/cognito/oauth2/token"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    status, missing = _get(f"{endpoint.url}/us-east-1_NoSuchPoo/.well-known/jwks.json")
    assert status == 404 and missing["message"] == "User pool us-east-1_NoSuchPoo does not exist."


def _token(endpoint: Endpoint, form: dict[str, str], *, basic: tuple[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    request = urllib.request.Request(
        f"{endpoint.url}/_sluiceway/cognito/oauth2/token", urllib.parse.urlencode(form).encode(), headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_client_credentials_grants_resource_server_scopes(endpoint: Endpoint, pool: dict[str, Any]) -> None:
    credentials = (pool["machine"], pool["secret"])
    status, body = _token(endpoint, {"grant_type": "client_credentials"}, basic=credentials)
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    _, jwks = _get(f"{endpoint.url}/{pool['id']}/.well-known/jwks.json")
    claims = jwt.verify_signature(body["access_token"], jwks)
    assert (
        claims["scope"] == "orders/read orders/write" and claims["sub"] == claims["client_id"] == pool["machine"] and claims["version"] == 2
    )
    status, body = _token(
        endpoint,
        {"grant_type": "client_credentials", "scope": "orders/read", "client_id": pool["machine"], "client_secret": pool["secret"]},
    )
    assert status == 200 and jwt.unverified_claims(body["access_token"])["scope"] == "orders/read"


@pytest.mark.parametrize(
    ("form", "basic", "error"),
    [
        ({"grant_type": "client_credentials"}, ("machine", "wrong"), "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "nosuchclient"}, None, "invalid_client"),
        ({"grant_type": "client_credentials", "scope": "orders/delete"}, ("machine", "secret"), "invalid_scope"),
        ({"grant_type": "password"}, ("machine", "secret"), "unsupported_grant_type"),
        ({}, ("machine", "secret"), "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, ("machine", "secret"), "invalid_grant"),
        ({"grant_type": "client_credentials", "client_id": "web"}, None, "unauthorized_client"),
    ],
)
def test_the_token_endpoints_errors(
    endpoint: Endpoint, pool: dict[str, Any], form: dict[str, str], basic: tuple[str, str] | None, error: str
) -> None:
    names = {"machine": pool["machine"], "secret": pool["secret"], "web": pool["web"]}
    form = {k: names.get(v, v) for k, v in form.items()}
    given = None if basic is None else (names.get(basic[0], basic[0]), names.get(basic[1], basic[1]))
    assert _token(endpoint, form, basic=given) == (400, {"error": error})


def test_the_refresh_token_grant(endpoint: Endpoint, idp: Any, pool: dict[str, Any]) -> None:
    _user(idp, pool, "ray")
    refresh = _sign_in(idp, pool, "ray")["AuthenticationResult"]["RefreshToken"]
    status, body = _token(endpoint, {"grant_type": "refresh_token", "client_id": pool["web"], "refresh_token": refresh})
    assert status == 200 and jwt.unverified_claims(body["id_token"])["cognito:username"] == "ray" and "refresh_token" not in body


# -- the default pool and durability --------------------------------------------------------------


def test_the_default_pool_is_made_once(stack: Stack) -> None:
    pools = stack.local.user_pools
    first = pools.default_pool()
    assert pools.default_pool() == first
    assert [g["GroupName"] for g in pools.list_groups(first.pool_id)] == ["admin", "operator", "viewer"]
    client = pools.describe_user_pool_client(first.pool_id, first.client_id)
    assert "ClientSecret" not in client and "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert [s["ScopeName"] for s in pools.describe_resource_server(first.pool_id, "sluiceway")["Scopes"]] == ["read", "operate", "admin"]


def test_a_reopened_data_dir_keeps_keys_and_users(tmp_path: Any) -> None:
    from sluiceway.backends.local.datadir import open_data_dir
    from sluiceway.settings import Settings

    settings = Settings.load(data_dir=tmp_path / "data")
    local = open_data_dir(settings, SystemClock())
    try:
        pools = local.user_pools
        default = pools.default_pool()
        pools.admin_create_user(default.pool_id, "durable", attributes={"email": "d@example.com"})
        pools.admin_set_user_password(default.pool_id, "durable", PASSWORD, permanent=True)
        pools.admin_add_user_to_group(default.pool_id, "durable", "operator")
        jwks = pools.jwks(default.pool_id)
    finally:
        local.close()
    reopened = open_data_dir(settings, SystemClock())
    try:
        pools = reopened.user_pools
        assert pools.default_pool() == default and pools.jwks(default.pool_id) == jwks
        result = pools.initiate_auth(default.client_id, "USER_PASSWORD_AUTH", {"USERNAME": "durable", "PASSWORD": PASSWORD})
        claims = jwt.verify_signature(result["AuthenticationResult"]["AccessToken"], jwks)
        assert claims["cognito:groups"] == ["operator"]
        assert [u.username for u in pools.list_users(default.pool_id)] == ["durable"]
    finally:
        reopened.close()


def test_concurrent_first_calls_make_one_default_pool(tmp_path: Any) -> None:
    import threading

    from sluiceway.backends.local.datadir import open_data_dir
    from sluiceway.settings import Settings

    settings = Settings.load(data_dir=tmp_path / "data")
    dirs = [open_data_dir(settings, SystemClock()) for _ in range(3)]  # as separate processes would: a connection each
    found: list[Any] = []
    barrier = threading.Barrier(len(dirs))

    def first_call(local: Any) -> None:
        barrier.wait()
        found.append(local.user_pools.default_pool())

    threads = [threading.Thread(target=first_call, args=(local,)) for local in dirs]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(found) == 3 and len(set(found)) == 1
        assert [p["Name"] for p in dirs[0].user_pools.list_user_pools()] == ["sluiceway"]
    finally:
        for local in dirs:
            local.close()
