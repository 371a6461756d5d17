"""Cognito behaviours other AWS emulators' tests check, through boto3 against the endpoint: user
attributes after creation, password changes and resets with their codes, DeleteUser, custom
attributes and schema validation, ListUsers filters on missing attributes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

PASSWORD = "Corr3ct-Horse"
NEW_PASSWORD = "Batt3ry-Staple"


@pytest.fixture(scope="module")
def idp(aws: Callable[..., Any]) -> Any:
    return aws("cognito-idp")


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _pool(idp: Any, **config: Any) -> tuple[str, str]:
    pool_id = idp.create_user_pool(PoolName=f"p-{uuid.uuid4().hex[:8]}", **config)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="LEGACY",
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def _user(idp: Any, pool_id: str, name: str, *, verified_email: bool = True, **extra: str) -> None:
    attributes = [{"Name": "email", "Value": f"{name}@example.com"}]
    if verified_email:
        attributes.append({"Name": "email_verified", "Value": "True"})  # Cognito reads it without regard to case
    attributes += [{"Name": k, "Value": v} for k, v in extra.items()]
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS", UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True)


def _sign_in(idp: Any, client_id: str, name: str, password: str = PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": password}
    )["AuthenticationResult"]
    return result


def _attributes(idp: Any, pool_id: str, name: str) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=name)["UserAttributes"]}


def _last_code(caplog: pytest.LogCaptureFixture, purpose: str) -> str:
    return str([r.__dict__["code"] for r in caplog.records if r.__dict__.get("purpose") == purpose][-1])


# -- attributes -------------------------------------------------------------------------------


def test_admin_update_and_delete_user_attributes(idp: Any) -> None:
    pool_id, _ = _pool(idp, Schema=[{"Name": "tier", "AttributeDataType": "String"}])
    _user(idp, pool_id, "ann", given_name="Ann")
    before = idp.admin_get_user(UserPoolId=pool_id, Username="ann")["UserLastModifiedDate"]
    idp.admin_update_user_attributes(
        UserPoolId=pool_id,
        Username="ann",
        UserAttributes=[{"Name": "given_name", "Value": "Anna"}, {"Name": "custom:tier", "Value": "gold"}],
    )
    after = idp.admin_get_user(UserPoolId=pool_id, Username="ann")
    assert after["UserLastModifiedDate"] >= before
    assert _attributes(idp, pool_id, "ann")["given_name"] == "Anna" and _attributes(idp, pool_id, "ann")["custom:tier"] == "gold"

    # A changed email is unverified unless the same call verifies it.
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username="ann", UserAttributes=[{"Name": "email", "Value": "a2@example.com"}])
    assert _attributes(idp, pool_id, "ann")["email_verified"] == "false"

    idp.admin_delete_user_attributes(UserPoolId=pool_id, Username="ann", UserAttributeNames=["given_name", "custom:tier"])
    assert {"given_name", "custom:tier"}.isdisjoint(_attributes(idp, pool_id, "ann"))

    code, message = _error(
        lambda: idp.admin_delete_user_attributes(UserPoolId=pool_id, Username="ann", UserAttributeNames=["custom:nope", "custom:gone"])
    )
    assert code == "InvalidParameterException"
    assert message == (
        "Invalid user attributes: user.custom:nope: Attribute does not exist in the schema.\n"
        "user.custom:gone: Attribute does not exist in the schema.\n"
    )
    assert _error(lambda: idp.admin_delete_user_attributes(UserPoolId=pool_id, Username="bob", UserAttributeNames=["name"])) == (
        "UserNotFoundException",
        "User does not exist.",
    )
    missing = "us-east-1_aaaaaaaaa"
    assert _error(lambda: idp.admin_update_user_attributes(UserPoolId=missing, Username="ann", UserAttributes=[])) == (
        "ResourceNotFoundException",
        f"User pool {missing} does not exist.",
    )


def test_immutable_attributes_cannot_be_updated(idp: Any) -> None:
    pool_id, _ = _pool(idp, Schema=[{"Name": "org", "AttributeDataType": "String", "Mutable": False}])
    _user(idp, pool_id, "ivy", **{"custom:org": "acme"})
    code, message = _error(
        lambda: idp.admin_update_user_attributes(UserPoolId=pool_id, Username="ivy", UserAttributes=[{"Name": "custom:org", "Value": "x"}])
    )
    assert (code, message) == (
        "InvalidParameterException",
        "Invalid user attributes: user.custom:org: Attribute cannot be updated. (changing an immutable attribute)",
    )


def test_users_update_their_own_attributes_and_verify_a_changed_email(idp: Any, caplog: pytest.LogCaptureFixture) -> None:
    pool_id, client_id = _pool(idp, AutoVerifiedAttributes=["email"])
    _user(idp, pool_id, "uma")
    token = _sign_in(idp, client_id, "uma")["AccessToken"]
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        result = idp.update_user_attributes(
            AccessToken=token, UserAttributes=[{"Name": "family_name", "Value": "Doe"}, {"Name": "email", "Value": "uma@new.org"}]
        )
    assert result["CodeDeliveryDetailsList"] == [{"Destination": "u***@n***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}]
    assert _attributes(idp, pool_id, "uma")["email_verified"] == "false"
    # A user cannot verify an address by saying so: only a code does.
    assert _error(lambda: idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email_verified", "Value": "true"}]))[
        0
    ] == ("NotAuthorizedException")
    # Nor write a developer-only attribute: those are for administrators' calls.
    dev = [{"Name": "dev:custom:plan", "Value": "gold"}]
    assert _error(lambda: idp.update_user_attributes(AccessToken=token, UserAttributes=dev))[0] == "NotAuthorizedException"
    assert _error(lambda: idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code="x"))[0] == "CodeMismatchException"
    idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=_last_code(caplog, "verify_email"))
    assert _attributes(idp, pool_id, "uma")["email_verified"] == "true"
    idp.delete_user_attributes(AccessToken=token, UserAttributeNames=["family_name"])
    assert "family_name" not in _attributes(idp, pool_id, "uma")
    assert _error(lambda: idp.update_user_attributes(AccessToken="n/a", UserAttributes=[]))[0] == "NotAuthorizedException"


# -- passwords --------------------------------------------------------------------------------


def test_change_password_needs_the_current_one(idp: Any) -> None:
    pool_id, client_id = _pool(idp)
    _user(idp, pool_id, "cy")
    token = _sign_in(idp, client_id, "cy")["AccessToken"]
    assert _error(lambda: idp.change_password(AccessToken=token, PreviousPassword="Wr0ng-pass!", ProposedPassword=NEW_PASSWORD)) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )
    assert _error(lambda: idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="short"))[0] == (
        "InvalidPasswordException"
    )
    idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword=NEW_PASSWORD)
    assert _sign_in(idp, client_id, "cy", NEW_PASSWORD)["AccessToken"]
    assert _error(lambda: _sign_in(idp, client_id, "cy"))[1] == "Incorrect username or password."
    assert _error(lambda: idp.change_password(AccessToken="n/a", PreviousPassword=PASSWORD, ProposedPassword=NEW_PASSWORD))[0] == (
        "NotAuthorizedException"
    )


def test_forgot_password_sends_a_code_to_a_verified_channel(idp: Any, caplog: pytest.LogCaptureFixture) -> None:
    pool_id, client_id = _pool(idp, AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]})
    _user(idp, pool_id, "fay")
    _user(idp, pool_id, "gil", verified_email=False)
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        delivery = idp.forgot_password(ClientId=client_id, Username="fay")["CodeDeliveryDetails"]
    assert delivery == {"Destination": "f***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    code = _last_code(caplog, "forgot_password")
    assert _error(lambda: idp.forgot_password(ClientId=client_id, Username="gil")) == (
        "InvalidParameterException",
        "Cannot reset password for the user as there is no registered/verified email or phone_number",
    )
    assert _error(lambda: idp.forgot_password(ClientId=client_id, Username="nobody")) == (
        "UserNotFoundException",
        "Username/client id combination not found.",
    )
    wrong = "000000" if code != "000000" else "111111"
    assert _error(
        lambda: idp.confirm_forgot_password(ClientId=client_id, Username="fay", ConfirmationCode=wrong, Password=NEW_PASSWORD)
    ) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    idp.confirm_forgot_password(ClientId=client_id, Username="fay", ConfirmationCode=code, Password=NEW_PASSWORD)
    assert _sign_in(idp, client_id, "fay", NEW_PASSWORD)["AccessToken"]
    # A code works once.
    assert _error(lambda: idp.confirm_forgot_password(ClientId=client_id, Username="fay", ConfirmationCode=code, Password=PASSWORD)) == (
        "ExpiredCodeException",
        "Invalid code provided, please request a code again.",
    )


def test_forgot_password_follows_the_pools_recovery_setting(idp: Any) -> None:
    admin_only, admin_client = _pool(idp, AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]})
    _user(idp, admin_only, "hal")
    assert _error(lambda: idp.forgot_password(ClientId=admin_client, Username="hal")) == (
        "NotAuthorizedException",
        "Contact administrator to reset password.",
    )
    # Without a setting, a verified phone number comes before a verified email.
    legacy, legacy_client = _pool(idp)
    _user(idp, legacy, "ida", phone_number="+15555550123", phone_number_verified="true")
    assert idp.forgot_password(ClientId=legacy_client, Username="ida")["CodeDeliveryDetails"] == {
        "Destination": "+*******0123",
        "DeliveryMedium": "SMS",
        "AttributeName": "phone_number",
    }
    # An app client that prevents user-existence errors answers alike for users who do not exist.
    hidden = idp.create_user_pool_client(UserPoolId=legacy, ClientName="hidden", PreventUserExistenceErrors="ENABLED")
    answer = idp.forgot_password(ClientId=hidden["UserPoolClient"]["ClientId"], Username="nobody")["CodeDeliveryDetails"]
    assert answer["DeliveryMedium"] == "SMS" and answer["Destination"].startswith("+*******")


def test_admin_reset_user_password(idp: Any, caplog: pytest.LogCaptureFixture) -> None:
    pool_id, client_id = _pool(idp)
    _user(idp, pool_id, "jo")
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        idp.admin_reset_user_password(UserPoolId=pool_id, Username="jo")
    assert idp.admin_get_user(UserPoolId=pool_id, Username="jo")["UserStatus"] == "RESET_REQUIRED"
    assert _error(lambda: _sign_in(idp, client_id, "jo"))[0] == "PasswordResetRequiredException"
    idp.confirm_forgot_password(
        ClientId=client_id, Username="jo", ConfirmationCode=_last_code(caplog, "forgot_password"), Password=NEW_PASSWORD
    )
    assert idp.admin_get_user(UserPoolId=pool_id, Username="jo")["UserStatus"] == "CONFIRMED"

    idp.admin_create_user(UserPoolId=pool_id, Username="kim", MessageAction="SUPPRESS", TemporaryPassword=PASSWORD)
    assert _error(lambda: idp.admin_reset_user_password(UserPoolId=pool_id, Username="kim")) == (
        "NotAuthorizedException",
        "User password cannot be reset in the current state.",
    )
    _user(idp, pool_id, "lou", verified_email=False)
    assert _error(lambda: idp.admin_reset_user_password(UserPoolId=pool_id, Username="lou"))[0] == "InvalidParameterException"
    idp.admin_disable_user(UserPoolId=pool_id, Username="jo")
    assert _error(lambda: idp.admin_reset_user_password(UserPoolId=pool_id, Username="jo")) == (
        "NotAuthorizedException",
        "User is disabled",
    )


def test_delete_user_removes_the_signed_in_user(idp: Any) -> None:
    pool_id, client_id = _pool(idp)
    _user(idp, pool_id, "max")
    tokens = _sign_in(idp, client_id, "max")
    idp.delete_user(AccessToken=tokens["AccessToken"])
    assert _error(lambda: idp.admin_get_user(UserPoolId=pool_id, Username="max"))[0] == "UserNotFoundException"
    # The sign-in went with the user: its refresh token no longer works, even for a namesake.
    _user(idp, pool_id, "max")
    code, _ = _error(
        lambda: idp.initiate_auth(
            ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
        )
    )
    assert code == "NotAuthorizedException"


# -- pools ------------------------------------------------------------------------------------


def test_custom_attributes_and_schema_validation(idp: Any) -> None:
    created = idp.create_user_pool(
        PoolName="schema",
        Schema=[
            {"Name": "count", "AttributeDataType": "Number"},
            {"Name": "secret", "AttributeDataType": "String", "DeveloperOnlyAttribute": True},
            {"Name": "email", "AttributeDataType": "String", "StringAttributeConstraints": {"MinLength": "5", "MaxLength": "64"}},
        ],
    )["UserPool"]
    schema = {a["Name"]: a for a in created["SchemaAttributes"]}
    assert "NumberAttributeConstraints" not in schema["custom:count"] and schema["custom:count"]["Mutable"] is True
    assert schema["dev:custom:secret"]["DeveloperOnlyAttribute"] is True
    assert schema["email"]["StringAttributeConstraints"] == {"MinLength": "5", "MaxLength": "64"}

    idp.add_custom_attributes(UserPoolId=created["Id"], CustomAttributes=[{"Name": "plan", "AttributeDataType": "String"}])
    names = {a["Name"] for a in idp.describe_user_pool(UserPoolId=created["Id"])["UserPool"]["SchemaAttributes"]}
    assert "custom:plan" in names
    assert _error(
        lambda: idp.add_custom_attributes(
            UserPoolId=created["Id"], CustomAttributes=[{"Name": "secret", "AttributeDataType": "String", "DeveloperOnlyAttribute": True}]
        )
    ) == ("InvalidParameterException", "custom:secret: Existing attribute already has name dev:custom:secret.")

    refused = {
        "Invalid AttributeDataType input, consider using the provided AttributeDataType enum.": {"Name": "x"},
        "Validation error detected: Value 'Banana' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Boolean, Number, String, DateTime]": {"Name": "x", "AttributeDataType": "Banana"},
        "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute email": {
            "Name": "email",
            "AttributeDataType": "Number",
        },
        "Invalid StringAttributeConstraints for schema attribute email": {
            "Name": "email",
            "AttributeDataType": "String",
            "StringAttributeConstraints": {"MinLength": "many"},
        },
        "user.email: String attributes cannot have a length of more than 2048": {
            "Name": "email",
            "AttributeDataType": "String",
            "StringAttributeConstraints": {"MaxLength": "2049"},
        },
        "user.email: Max length cannot be less than min length.": {
            "Name": "email",
            "AttributeDataType": "String",
            "StringAttributeConstraints": {"MinLength": "2", "MaxLength": "1"},
        },
        "user.updated_at: Max value cannot be less than min value.": {
            "Name": "updated_at",
            "AttributeDataType": "Number",
            "NumberAttributeConstraints": {"MinValue": "2", "MaxValue": "1"},
        },
    }
    for message, attribute in refused.items():
        assert _error(lambda a=attribute: idp.create_user_pool(PoolName="bad", Schema=[a])) == ("InvalidParameterException", message)


def test_verification_template_and_its_older_fields_agree(idp: Any) -> None:
    pool = idp.create_user_pool(
        PoolName="messages",
        VerificationMessageTemplate={"DefaultEmailOption": "CONFIRM_WITH_CODE", "SmsMessage": "{####} code", "EmailSubject": "Code"},
    )["UserPool"]
    assert pool["SmsVerificationMessage"] == "{####} code" and pool["EmailVerificationSubject"] == "Code"


def test_list_users_filter_never_matches_a_missing_attribute(idp: Any) -> None:
    pool_id, _ = _pool(idp)
    _user(idp, pool_id, "nia", family_name="")
    _user(idp, pool_id, "oz")
    found = idp.list_users(UserPoolId=pool_id, Filter='family_name = ""')["Users"]
    assert [u["Username"] for u in found] == ["nia"]
    assert idp.list_users(UserPoolId=pool_id, Filter='given_name ^= ""')["Users"] == []


def test_username_attributes_message_names_both_kinds(idp: Any) -> None:
    pool_id = idp.create_user_pool(PoolName="both", UsernameAttributes=["email", "phone_number"])["UserPool"]["Id"]
    assert _error(lambda: idp.admin_create_user(UserPoolId=pool_id, Username="plain-name", MessageAction="SUPPRESS")) == (
        "InvalidParameterException",
        "Username should be either an email or a phone number.",
    )


def test_every_unknown_attribute_is_named(idp: Any) -> None:
    pool_id, _ = _pool(idp)
    code, message = _error(
        lambda: idp.admin_create_user(
            UserPoolId=pool_id,
            Username="pat",
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "custom:a", "Value": "1"}, {"Name": "nickname", "Value": "p"}, {"Name": "custom:b", "Value": "2"}],
        )
    )
    assert code == "InvalidParameterException"
    assert message == (
        "Attributes did not conform to the schema: custom:a: Attribute does not exist in the schema.\n"
        "custom:b: Attribute does not exist in the schema.\n"
    )


def test_an_unknown_auth_flow_is_a_validation_error(idp: Any) -> None:
    pool_id, client_id = _pool(idp)
    expected = (
        "InvalidParameterException",
        "1 validation error detected: Value 'NO_SUCH_FLOW' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: "
        "[USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, CUSTOM_AUTH, ADMIN_NO_SRP_AUTH, USER_PASSWORD_AUTH, "
        "ADMIN_USER_PASSWORD_AUTH, USER_AUTH]",
    )
    assert _error(lambda: idp.initiate_auth(ClientId=client_id, AuthFlow="NO_SUCH_FLOW", AuthParameters={})) == expected
    assert (
        _error(lambda: idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="NO_SUCH_FLOW", AuthParameters={}))
        == expected
    )
    # A real flow that only the other operation takes is Cognito's own refusal.
    assert _error(
        lambda: idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={})
    ) == ("InvalidParameterException", "Initiate Auth method not supported")
