"""``cognito-idp``: a user's account after sign-up: attributes, password changes and resets, DeleteUser.

ChangePassword, ForgotPassword, ConfirmForgotPassword, UpdateUserAttributes, DeleteUserAttributes,
GetUserAttributeVerificationCode, VerifyUserAttribute and DeleteUser are unsigned in Cognito's model
(an access token or the app client authorizes them). Codes are not mailed locally: see
``backends/local/_userpool_codes.py`` for where they go.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ._cognito_common import operation, pools

__all__: list[str] = []


@operation("AdminUpdateUserAttributes")
def admin_update_user_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_update_user_attributes(params["UserPoolId"], params["Username"], params["UserAttributes"])
    return {}


@operation("AdminDeleteUserAttributes")
def admin_delete_user_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_delete_user_attributes(params["UserPoolId"], params["Username"], params["UserAttributeNames"])
    return {}


@operation("UpdateUserAttributes")
def update_user_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    deliveries = pools(ctx).update_user_attributes(params["AccessToken"], params["UserAttributes"])
    return {"CodeDeliveryDetailsList": deliveries} if deliveries else {}


@operation("DeleteUserAttributes")
def delete_user_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).delete_user_attributes(params["AccessToken"], params["UserAttributeNames"])
    return {}


@operation("GetUserAttributeVerificationCode")
def get_user_attribute_verification_code(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"CodeDeliveryDetails": pools(ctx).get_user_attribute_verification_code(params["AccessToken"], params["AttributeName"])}


@operation("VerifyUserAttribute")
def verify_user_attribute(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).verify_user_attribute(params["AccessToken"], params["AttributeName"], params["Code"])
    return {}


@operation("ChangePassword")
def change_password(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).change_password(params["AccessToken"], params.get("PreviousPassword"), params["ProposedPassword"])
    return {}


@operation("ForgotPassword")
def forgot_password(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    delivery = pools(ctx).forgot_password(params["ClientId"], params["Username"], secret_hash=params.get("SecretHash"))
    return {"CodeDeliveryDetails": delivery}


@operation("ConfirmForgotPassword")
def confirm_forgot_password(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).confirm_forgot_password(
        params["ClientId"],
        params["Username"],
        params["ConfirmationCode"],
        params["Password"],
        secret_hash=params.get("SecretHash"),
    )
    return {}


@operation("AdminResetUserPassword")
def admin_reset_user_password(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_reset_user_password(params["UserPoolId"], params["Username"])
    return {}


@operation("DeleteUser")
def delete_user(ctx: Context, params: dict[str, Any]) -> None:
    pools(ctx).delete_user(params["AccessToken"])
    return None
