"""``cognito-idp``: user pools, app clients, groups, resource servers and domains (the configuration
CloudFormation's AWS::Cognito::* resources make)."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ._cognito_common import operation, page, pools

__all__: list[str] = []

_READ_ONLY_POOL = ("UserPoolId",)


@operation("CreateUserPool")
def create_user_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in params.items() if k != "PoolName"}
    return {"UserPool": pools(ctx).create_user_pool(params["PoolName"], **config)}


@operation("UpdateUserPool")
def update_user_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).update_user_pool(params["UserPoolId"], **{k: v for k, v in params.items() if k not in _READ_ONLY_POOL})
    return {}


@operation("AddCustomAttributes")
def add_custom_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).add_custom_attributes(params["UserPoolId"], params["CustomAttributes"])
    return {}


@operation("DeleteUserPool")
def delete_user_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).delete_user_pool(params["UserPoolId"])
    return {}


@operation("DescribeUserPool")
def describe_user_pool(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"UserPool": pools(ctx).describe_user_pool(params["UserPoolId"])}


@operation("ListUserPools")
def list_user_pools(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    shown, token = page(
        pools(ctx).list_user_pools(), lambda p: p["Id"], params, limit_name="MaxResults", token_name="NextToken", maximum=60
    )
    return {"UserPools": shown, **({"NextToken": token} if token else {})}


# -- app clients ------------------------------------------------------------------------------


@operation("CreateUserPoolClient")
def create_user_pool_client(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in params.items() if k not in ("UserPoolId", "ClientName")}
    return {"UserPoolClient": pools(ctx).create_user_pool_client(params["UserPoolId"], params["ClientName"], **config)}


@operation("UpdateUserPoolClient")
def update_user_pool_client(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in params.items() if k not in ("UserPoolId", "ClientId")}
    return {"UserPoolClient": pools(ctx).update_user_pool_client(params["UserPoolId"], params["ClientId"], **config)}


@operation("DeleteUserPoolClient")
def delete_user_pool_client(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).delete_user_pool_client(params["UserPoolId"], params["ClientId"])
    return {}


@operation("DescribeUserPoolClient")
def describe_user_pool_client(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"UserPoolClient": pools(ctx).describe_user_pool_client(params["UserPoolId"], params["ClientId"])}


@operation("ListUserPoolClients")
def list_user_pool_clients(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    clients = [
        {"ClientId": c["ClientId"], "UserPoolId": c["UserPoolId"], "ClientName": c["ClientName"]}
        for c in pools(ctx).list_user_pool_clients(params["UserPoolId"])
    ]
    shown, token = page(clients, lambda c: c["ClientId"], params, limit_name="MaxResults", token_name="NextToken", maximum=60)
    return {"UserPoolClients": shown, **({"NextToken": token} if token else {})}


# -- groups -----------------------------------------------------------------------------------


def _group_fields(params: dict[str, Any]) -> dict[str, Any]:
    return {"description": params.get("Description"), "role_arn": params.get("RoleArn"), "precedence": params.get("Precedence")}


@operation("CreateGroup")
def create_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Group": pools(ctx).create_group(params["UserPoolId"], params["GroupName"], **_group_fields(params))}


@operation("UpdateGroup")
def update_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Group": pools(ctx).update_group(params["UserPoolId"], params["GroupName"], **_group_fields(params))}


@operation("DeleteGroup")
def delete_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).delete_group(params["UserPoolId"], params["GroupName"])
    return {}


@operation("GetGroup")
def get_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Group": pools(ctx).get_group(params["UserPoolId"], params["GroupName"])}


@operation("ListGroups")
def list_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    shown, token = page(
        pools(ctx).list_groups(params["UserPoolId"]),
        lambda g: g["GroupName"],
        params,
        limit_name="Limit",
        token_name="NextToken",
        maximum=60,
    )
    return {"Groups": shown, **({"NextToken": token} if token else {})}


# -- resource servers -------------------------------------------------------------------------


@operation("CreateResourceServer")
def create_resource_server(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    server = pools(ctx).create_resource_server(params["UserPoolId"], params["Identifier"], params["Name"], params.get("Scopes"))
    return {"ResourceServer": server}


@operation("UpdateResourceServer")
def update_resource_server(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    server = pools(ctx).update_resource_server(params["UserPoolId"], params["Identifier"], params["Name"], params.get("Scopes"))
    return {"ResourceServer": server}


@operation("DeleteResourceServer")
def delete_resource_server(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).delete_resource_server(params["UserPoolId"], params["Identifier"])
    return {}


@operation("DescribeResourceServer")
def describe_resource_server(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"ResourceServer": pools(ctx).describe_resource_server(params["UserPoolId"], params["Identifier"])}


@operation("ListResourceServers")
def list_resource_servers(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    servers = pools(ctx).list_resource_servers(params["UserPoolId"])
    shown, token = page(servers, lambda s: s["Identifier"], params, limit_name="MaxResults", token_name="NextToken", maximum=50)
    return {"ResourceServers": shown, **({"NextToken": token} if token else {})}


# -- domains ----------------------------------------------------------------------------------


@operation("CreateUserPoolDomain")
def create_user_pool_domain(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).create_user_pool_domain(params["UserPoolId"], params["Domain"])
    return {}


@operation("DeleteUserPoolDomain")
def delete_user_pool_domain(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    pools(ctx).delete_user_pool_domain(params["UserPoolId"], params["Domain"])
    return {}


@operation("DescribeUserPoolDomain")
def describe_user_pool_domain(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"DomainDescription": pools(ctx).describe_user_pool_domain(params["Domain"])}
