"""``cognito-idp``: users, sign-up, sign-in and sign-out.

SignUp, ConfirmSignUp, InitiateAuth, RespondToAuthChallenge, GetUser, GlobalSignOut and
RevokeToken are the operations Cognito serves without a SigV4 signature (their model says
``authtype: none``): the endpoint accepts them unsigned even with ``--require-auth``. Local
confirmation codes are not mailed but logged at DEBUG (logger ``sluiceway.cognito.messages``):
AdminConfirmSignUp confirms without one.
"""

from __future__ import annotations

from typing import Any

from ...backends.local.userpools import User
from ..context import Context
from ._cognito_common import operation, page, pools

__all__: list[str] = []


def _user_type(user: User, attributes_to_get: list[str] | None = None) -> dict[str, Any]:
    shown = user.to_aws("Attributes")
    if attributes_to_get is not None:
        shown["Attributes"] = [a for a in shown["Attributes"] if a["Name"] in attributes_to_get]
    return shown


# -- sign-up ----------------------------------------------------------------------------------


@operation("SignUp")
def sign_up(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    user, delivery = pools(ctx).sign_up(
        params["ClientId"],
        params["Username"],
        params.get("Password"),
        attributes=params.get("UserAttributes"),
        secret_hash=params.get("SecretHash"),
    )
    return {"UserConfirmed": False, "UserSub": user.sub, **({"CodeDeliveryDetails": delivery} if delivery else {})}


@operation("ConfirmSignUp")
def confirm_sign_up(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).confirm_sign_up(params["ClientId"], params["Username"], params["ConfirmationCode"], secret_hash=params.get("SecretHash"))
    return {}


@operation("AdminConfirmSignUp")
def admin_confirm_sign_up(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_confirm_sign_up(params["UserPoolId"], params["Username"])
    return {}


# -- admin ------------------------------------------------------------------------------------


@operation("AdminCreateUser")
def admin_create_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    user = pools(ctx).admin_create_user(
        params["UserPoolId"],
        params["Username"],
        attributes=params.get("UserAttributes"),
        temporary_password=params.get("TemporaryPassword"),
        message_action=params.get("MessageAction"),
    )
    return {"User": _user_type(user)}


@operation("AdminSetUserPassword")
def admin_set_user_password(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_set_user_password(
        params["UserPoolId"], params["Username"], params["Password"], permanent=bool(params.get("Permanent"))
    )
    return {}


@operation("AdminGetUser")
def admin_get_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return pools(ctx).admin_get_user(params["UserPoolId"], params["Username"]).to_aws("UserAttributes")


@operation("ListUsers")
def list_users(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    users = pools(ctx).list_users(params["UserPoolId"], filter=params.get("Filter"))
    shown, token = page(users, lambda u: u.key, params, limit_name="Limit", token_name="PaginationToken", maximum=60)
    wanted = params.get("AttributesToGet")
    return {"Users": [_user_type(u, wanted) for u in shown], **({"PaginationToken": token} if token else {})}


@operation("AdminDisableUser")
def admin_disable_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_disable_user(params["UserPoolId"], params["Username"])
    return {}


@operation("AdminEnableUser")
def admin_enable_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_enable_user(params["UserPoolId"], params["Username"])
    return {}


@operation("AdminDeleteUser")
def admin_delete_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_delete_user(params["UserPoolId"], params["Username"])
    return {}


@operation("AdminAddUserToGroup")
def admin_add_user_to_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_add_user_to_group(params["UserPoolId"], params["Username"], params["GroupName"])
    return {}


@operation("AdminRemoveUserFromGroup")
def admin_remove_user_from_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_remove_user_from_group(params["UserPoolId"], params["Username"], params["GroupName"])
    return {}


@operation("AdminListGroupsForUser")
def admin_list_groups_for_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    groups = pools(ctx).admin_list_groups_for_user(params["UserPoolId"], params["Username"])
    # Paged by position in precedence order (the order Cognito lists them in).
    numbered = [(f"{i:08d}", g) for i, g in enumerate(groups)]
    shown, token = page(numbered, lambda n: n[0], params, limit_name="Limit", token_name="NextToken", maximum=60)
    return {"Groups": [g for _, g in shown], **({"NextToken": token} if token else {})}


@operation("ListUsersInGroup")
def list_users_in_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    users = pools(ctx).list_users_in_group(params["UserPoolId"], params["GroupName"])
    shown, token = page(users, lambda u: u.key, params, limit_name="Limit", token_name="NextToken", maximum=60)
    return {"Users": [_user_type(u) for u in shown], **({"NextToken": token} if token else {})}


@operation("AdminUserGlobalSignOut")
def admin_user_global_sign_out(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).admin_user_global_sign_out(params["UserPoolId"], params["Username"])
    return {}


# -- sign-in ----------------------------------------------------------------------------------


@operation("InitiateAuth")
def initiate_auth(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return pools(ctx).initiate_auth(params["ClientId"], params["AuthFlow"], params.get("AuthParameters") or {})


@operation("AdminInitiateAuth")
def admin_initiate_auth(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return pools(ctx).initiate_auth(
        params["ClientId"], params["AuthFlow"], params.get("AuthParameters") or {}, pool_id=params["UserPoolId"]
    )


@operation("RespondToAuthChallenge")
def respond_to_auth_challenge(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return pools(ctx).respond_to_auth_challenge(
        params["ClientId"], params["ChallengeName"], params.get("Session"), params.get("ChallengeResponses") or {}
    )


@operation("AdminRespondToAuthChallenge")
def admin_respond_to_auth_challenge(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return pools(ctx).respond_to_auth_challenge(
        params["ClientId"],
        params["ChallengeName"],
        params.get("Session"),
        params.get("ChallengeResponses") or {},
        pool_id=params["UserPoolId"],
    )


@operation("GetUser")
def get_user(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    user = pools(ctx).get_user(params["AccessToken"])
    return {"Username": user.username, "UserAttributes": user.attribute_list()}


@operation("GlobalSignOut")
def global_sign_out(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).global_sign_out(params["AccessToken"])
    return {}


@operation("RevokeToken")
def revoke_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).revoke_token(params["ClientId"], params["Token"], params.get("ClientSecret"))
    return {}
