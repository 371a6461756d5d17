"""Cognito account operations that must not let a user verify an address they do not hold, skip a
reset or a temporary password, or learn who exists (PreventUserExistenceErrors), through boto3
against the endpoint."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.userpools import SqliteUserPools
from sluiceway.clock import FakeClock
from sluiceway.cognito.errors import CognitoError
from sluiceway.cognito.passwords import Cost

PASSWORD = "Corr3ct-Horse"
NEW_PASSWORD = "Batt3ry-Staple"
MISMATCH = ("CodeMismatchException", "Invalid verification code provided, please try again.")


@pytest.fixture(scope="module")
def idp(aws: Callable[..., Any]) -> Any:
    return aws("cognito-idp")


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _pool(idp: Any, prevent: str = "ENABLED", **config: Any) -> tuple[str, str]:
    pool_id = idp.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:8]}", **config)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors=prevent,
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def _user(idp: Any, pool_id: str, name: str, *, verified: bool = True, permanent: bool = True) -> None:
    attributes = [{"Name": "email", "Value": f"{name}@example.com"}, {"Name": "email_verified", "Value": str(verified).lower()}]
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS", UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=permanent)


def _token(idp: Any, client_id: str, name: str) -> str:
    return str(
        idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})[
            "AuthenticationResult"
        ]["AccessToken"]
    )


def _attributes(idp: Any, pool_id: str, name: str) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=name)["UserAttributes"]}


def _codes(caplog: pytest.LogCaptureFixture, purpose: str) -> list[str]:
    return [str(r.__dict__["code"]) for r in caplog.records if r.__dict__.get("purpose") == purpose]


@pytest.mark.parametrize("admin", [False, True])
def test_a_verification_code_verifies_only_the_address_it_was_sent_to(idp: Any, caplog: pytest.LogCaptureFixture, admin: bool) -> None:
    pool_id, client_id = _pool(idp)
    _user(idp, pool_id, "ann")
    token = _token(idp, client_id, "ann")
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    code = _codes(caplog, "verify_email")[-1]
    victim = [{"Name": "email", "Value": "victim@corp.example"}]
    if admin:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username="ann", UserAttributes=victim)
    else:
        idp.update_user_attributes(AccessToken=token, UserAttributes=victim)
    assert _error(lambda: idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code))[0] == "ExpiredCodeException"
    assert _attributes(idp, pool_id, "ann")["email_verified"] == "false"
    # Changing back does not revive the code either: it was dropped when the address changed.
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username="ann", UserAttributes=[{"Name": "email", "Value": "ann@example.com"}])
    assert _error(lambda: idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code))[0] == "ExpiredCodeException"
    # A code for the address the user holds still works.
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=_codes(caplog, "verify_email")[-1])
    assert _attributes(idp, pool_id, "ann")["email_verified"] == "true"


def test_confirm_forgot_password_answers_alike_for_users_who_exist_or_not(idp: Any) -> None:
    _pool_id, client_id = _pool(idp)
    _user(idp, _pool_id, "ann")

    def confirm(name: str, password: str = NEW_PASSWORD) -> tuple[str, str]:
        return _error(lambda: idp.confirm_forgot_password(ClientId=client_id, Username=name, ConfirmationCode="123456", Password=password))

    assert confirm("ann") == confirm("ghost") == MISMATCH  # no code outstanding
    assert confirm("ann", "x") == confirm("ghost", "x") == MISMATCH  # the code before the policy


def test_confirm_forgot_password_keeps_the_code_when_the_password_is_refused(idp: Any, caplog: pytest.LogCaptureFixture) -> None:
    _pool_id, client_id = _pool(idp)
    _user(idp, _pool_id, "bea")
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        idp.forgot_password(ClientId=client_id, Username="bea")
    code = _codes(caplog, "forgot_password")[-1]
    assert _error(lambda: idp.confirm_forgot_password(ClientId=client_id, Username="bea", ConfirmationCode=code, Password="x"))[0] == (
        "InvalidPasswordException"
    )
    idp.confirm_forgot_password(ClientId=client_id, Username="bea", ConfirmationCode=code, Password=NEW_PASSWORD)


def test_forgot_password_simulates_a_channel_the_pool_can_use(idp: Any) -> None:
    pool_id, client_id = _pool(idp, AutoVerifiedAttributes=["email"])
    _user(idp, pool_id, "cal")
    _user(idp, pool_id, "dee", verified=False)
    idp.admin_create_user(UserPoolId=pool_id, Username="eve", MessageAction="SUPPRESS")
    _user(idp, pool_id, "fox")
    idp.admin_disable_user(UserPoolId=pool_id, Username="fox")
    real = idp.forgot_password(ClientId=client_id, Username="cal")["CodeDeliveryDetails"]
    assert real == {"Destination": "c***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    for name in ("ghost", "dee", "fox", "0ghost"):
        fake = idp.forgot_password(ClientId=client_id, Username=name)["CodeDeliveryDetails"]
        assert fake["DeliveryMedium"] == "EMAIL" and fake["AttributeName"] == "email"
        assert fake["Destination"][0].isalpha() and fake["Destination"][1:5] == "***@" and fake["Destination"][5].isalpha()
        assert fake == idp.forgot_password(ClientId=client_id, Username=name)["CodeDeliveryDetails"]  # the same each time
    # A user who never replaced the temporary password answers its challenge, never a reset.
    assert _error(lambda: idp.forgot_password(ClientId=client_id, Username="eve")) == (
        "NotAuthorizedException",
        "User password cannot be reset in the current state.",
    )
    # A disabled user's code, if any, sets no password: as for a user who does not exist.
    assert (
        _error(lambda: idp.confirm_forgot_password(ClientId=client_id, Username="fox", ConfirmationCode="123456", Password=NEW_PASSWORD))
        == MISMATCH
    )


def test_forgot_password_refuses_disabled_and_temporary_password_users(idp: Any, caplog: pytest.LogCaptureFixture) -> None:
    pool_id, client_id = _pool(idp, prevent="LEGACY")
    _user(idp, pool_id, "gus")
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        idp.forgot_password(ClientId=client_id, Username="gus")
    code = _codes(caplog, "forgot_password")[-1]
    idp.admin_disable_user(UserPoolId=pool_id, Username="gus")
    assert _error(lambda: idp.forgot_password(ClientId=client_id, Username="gus")) == ("NotAuthorizedException", "User is disabled.")
    assert _error(
        lambda: idp.confirm_forgot_password(ClientId=client_id, Username="gus", ConfirmationCode=code, Password=NEW_PASSWORD)
    ) == ("NotAuthorizedException", "User is disabled.")
    # A code made while CONFIRMED does not skip a temporary password set since.
    _user(idp, pool_id, "hal")
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        idp.forgot_password(ClientId=client_id, Username="hal")
    code = _codes(caplog, "forgot_password")[-1]
    idp.admin_set_user_password(UserPoolId=pool_id, Username="hal", Password=PASSWORD, Permanent=False)
    assert _error(lambda: idp.forgot_password(ClientId=client_id, Username="hal")) == (
        "NotAuthorizedException",
        "User password cannot be reset in the current state.",
    )
    assert _error(
        lambda: idp.confirm_forgot_password(ClientId=client_id, Username="hal", ConfirmationCode=code, Password=NEW_PASSWORD)
    ) == ("NotAuthorizedException", "User password cannot be reset in the current state.")
    assert idp.admin_get_user(UserPoolId=pool_id, Username="hal")["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_a_reset_user_cannot_change_the_password_without_the_code(idp: Any) -> None:
    pool_id, client_id = _pool(idp)
    _user(idp, pool_id, "ivy")
    token = _token(idp, client_id, "ivy")
    idp.admin_reset_user_password(UserPoolId=pool_id, Username="ivy")
    assert _error(lambda: idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword=NEW_PASSWORD)) == (
        "NotAuthorizedException",
        "Access Token has been revoked",
    )
    assert idp.admin_get_user(UserPoolId=pool_id, Username="ivy")["UserStatus"] == "RESET_REQUIRED"
    # A temporary password set since a sign-in is replaced through its challenge, not ChangePassword.
    _user(idp, pool_id, "jay")
    token = _token(idp, client_id, "jay")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="jay", Password=PASSWORD, Permanent=False)
    assert _error(lambda: idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword=NEW_PASSWORD))[0] == (
        "NotAuthorizedException"
    )
    assert idp.admin_get_user(UserPoolId=pool_id, Username="jay")["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_unknown_users_are_locked_out_as_real_ones(tmp_path: Path) -> None:
    clock = FakeClock()
    pools = SqliteUserPools(Database(tmp_path / "db.sqlite"), clock, region="us-east-1", account_id="111111111111")
    pools.password_cost = Cost(n=2**4, r=1, p=1)
    pool_id = pools.create_user_pool("p")["Id"]
    client_id = pools.create_user_pool_client(pool_id, "app", PreventUserExistenceErrors="ENABLED")["ClientId"]
    pools.admin_create_user(pool_id, "ann", attributes={"email": "ann@example.com", "email_verified": "true"}, message_action="SUPPRESS")
    pools.admin_set_user_password(pool_id, "ann", PASSWORD, permanent=True)

    def confirm(name: str) -> tuple[str, str]:
        with pytest.raises(CognitoError) as raised:
            pools.confirm_forgot_password(client_id, name, "123456", NEW_PASSWORD)
        return raised.value.code, raised.value.message

    for _ in range(5):
        assert confirm("ann") == confirm("ghost") == MISMATCH
    assert confirm("ann") == confirm("ghost") == ("LimitExceededException", "Attempt limit exceeded, please try after some time.")
    clock.advance(3600)
    assert confirm("ann") == confirm("ghost") == MISMATCH


def _temporary(idp: Any, pool_id: str, client_id: str, name: str, email: str) -> str:
    """A user made by an administrator, still on the temporary password: the challenge's session."""
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    idp.admin_create_user(
        UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS", UserAttributes=attributes, TemporaryPassword=PASSWORD
    )
    started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})
    assert started["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    return str(started["Session"])


def test_the_new_password_challenge_writes_attributes_as_update_user_attributes_does(idp: Any) -> None:
    pool_id = idp.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:8]}", AliasAttributes=["email"], AutoVerifiedAttributes=["email"])[
        "UserPool"
    ]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"], WriteAttributes=["email", "name"]
    )["UserPoolClient"]["ClientId"]
    _user(idp, pool_id, "bob")
    session = _temporary(idp, pool_id, client_id, "eve", "eve@example.com")

    def respond(**attributes: str) -> Any:
        responses = {"USERNAME": "eve", "NEW_PASSWORD": NEW_PASSWORD, **{f"userAttributes.{k}": v for k, v in attributes.items()}}
        return idp.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=session, ChallengeResponses=responses
        )

    unauthorized = ("NotAuthorizedException", "A client attempted to write unauthorized attribute")
    # Another user's alias is theirs: taking it would sign in as them.
    assert _error(lambda: respond(email="bob@example.com")) == ("AliasExistsException", "An account with the given email already exists.")
    # A verified flag is refused in this challenge whatever the client may write (Cognito: the flag
    # is "non-mutable" here); attributes the app client may not write are refused as UpdateUserAttributes
    # refuses them.
    assert _error(lambda: respond(email="ceo@corp.example", email_verified="true")) == (
        "InvalidParameterException",
        "Cannot modify the non-mutable attribute email_verified",
    )
    assert _error(lambda: respond(locale="fr")) == unauthorized
    # Nothing was written by the refused answers: the same session still answers the challenge.
    assert idp.admin_get_user(UserPoolId=pool_id, Username="eve")["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert "AuthenticationResult" in respond(email="eve@new.example", name="Eve")
    attributes = _attributes(idp, pool_id, "eve")
    assert (attributes["email"], attributes["email_verified"], attributes["name"]) == ("eve@new.example", "false", "Eve")
    assert _attributes(idp, pool_id, "bob")["email"] == "bob@example.com"


def test_the_new_password_challenge_cannot_change_a_required_attribute_already_given(idp: Any) -> None:
    schema = [{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}]
    pool_id = idp.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:8]}", Schema=schema)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])[
        "UserPoolClient"
    ]["ClientId"]
    session = _temporary(idp, pool_id, client_id, "fay", "fay@example.com")
    responses = {"USERNAME": "fay", "NEW_PASSWORD": NEW_PASSWORD, "userAttributes.email": "boss@corp.example"}
    assert _error(
        lambda: idp.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=session, ChallengeResponses=responses
        )
    ) == ("NotAuthorizedException", "Cannot modify an already provided email")
    assert _attributes(idp, pool_id, "fay")["email"] == "fay@example.com"


def test_unknown_names_attempts_are_forgotten_and_bounded(tmp_path: Path) -> None:
    clock = FakeClock()
    database = Database(tmp_path / "db.sqlite")
    pools = SqliteUserPools(database, clock, region="us-east-1", account_id="111111111111")
    pools.unknown_names_kept = 20
    pool_id = pools.create_user_pool("p")["Id"]
    client_id = pools.create_user_pool_client(pool_id, "app", PreventUserExistenceErrors="ENABLED")["ClientId"]

    def confirm(name: str) -> str:
        with pytest.raises(CognitoError) as raised:
            pools.confirm_forgot_password(client_id, name, "123456", NEW_PASSWORD)
        return raised.value.code

    def rows() -> int:
        return int(database.connection().execute("SELECT count(*) FROM cognito_unknown_attempts").fetchone()[0])

    for _ in range(60):
        assert confirm(uuid.uuid4().hex) == "CodeMismatchException"
        clock.advance(1)
    assert rows() == 20  # the oldest names went first
    clock.advance(16 * 60)  # the quiet quarter of an hour is over for all of them
    assert confirm("ghost") == "CodeMismatchException"
    assert rows() == 1
    # A name still counting keeps its count: the lockout works as before.
    for _ in range(4):
        assert confirm("ghost") == "CodeMismatchException"
    assert confirm("ghost") == "LimitExceededException"


def test_a_locked_out_made_up_name_outlasts_a_flood_of_others(tmp_path: Path) -> None:
    # Were a flood to push a locked-out made-up name out of the counts, it would answer again where
    # a real user still locked out does not: that would tell made-up names from real ones.
    clock = FakeClock()
    database = Database(tmp_path / "db.sqlite")
    pools = SqliteUserPools(database, clock, region="us-east-1", account_id="111111111111")
    pools.unknown_names_kept = 20
    pool_id = pools.create_user_pool("p")["Id"]
    client_id = pools.create_user_pool_client(pool_id, "app", PreventUserExistenceErrors="ENABLED")["ClientId"]

    def confirm(name: str) -> str:
        with pytest.raises(CognitoError) as raised:
            pools.confirm_forgot_password(client_id, name, "123456", NEW_PASSWORD)
        return raised.value.code

    for _ in range(5):
        confirm("ghost")
    assert confirm("ghost") == "LimitExceededException"
    for _ in range(100):  # the cap is 20: a flood of new names
        assert confirm(uuid.uuid4().hex) == "CodeMismatchException"
    assert confirm("ghost") == "LimitExceededException"
    count = database.connection().execute("SELECT count(*) FROM cognito_unknown_attempts").fetchone()[0]
    assert count <= 20


def test_a_client_that_may_write_verified_flags_still_cannot_in_the_new_password_challenge(idp: Any) -> None:
    pool_id = idp.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"], WriteAttributes=["email", "email_verified"]
    )["UserPoolClient"]["ClientId"]
    session = _temporary(idp, pool_id, client_id, "mal", "mal@example.com")
    responses = {
        "USERNAME": "mal",
        "NEW_PASSWORD": NEW_PASSWORD,
        "userAttributes.email": "ceo@corp.example",
        "userAttributes.email_verified": "true",
    }
    assert _error(
        lambda: idp.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=session, ChallengeResponses=responses
        )
    ) == ("InvalidParameterException", "Cannot modify the non-mutable attribute email_verified")
