"""The API's users (admin): the user pool's users and their groups, through cognito-idp's Admin* operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from ..aws import Aws, AwsCallError
from ..schemas import CreateUserRequest, GroupList, RoleName, User, UserList
from ._deps import Admin, AwsApi, errors, pool_id

__all__ = ["router"]

router = APIRouter(tags=["users"])

PoolId = Annotated[str, Depends(pool_id)]
Username = Annotated[str, Path(min_length=1, max_length=128)]


def _user(found: dict[str, Any], *, attributes_key: str) -> dict[str, Any]:
    attributes = {a["Name"]: a.get("Value") for a in found.get(attributes_key, [])}
    return {
        "username": found["Username"],
        "status": found.get("UserStatus"),
        "enabled": found.get("Enabled"),
        "created": found.get("UserCreateDate"),
        "modified": found.get("UserLastModifiedDate"),
        "email": attributes.get("email"),
    }


def _groups_of(aws: Aws, pool: str, username: str) -> list[str]:
    groups: list[str] = []
    params: dict[str, Any] = {"UserPoolId": pool, "Username": username}
    while True:
        page = aws.call("cognito-idp", "AdminListGroupsForUser", params)
        groups.extend(g["GroupName"] for g in page.get("Groups", []))
        if not page.get("NextToken"):
            return sorted(groups)
        params["NextToken"] = page["NextToken"]


@router.get("/users", response_model=UserList, responses=errors())
def list_users(
    aws: AwsApi,
    _: Admin,
    pool: PoolId,
    nextToken: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    maxResults: Annotated[int, Query(ge=1, le=60)] = 60,
) -> dict[str, Any]:
    params: dict[str, Any] = {"UserPoolId": pool, "Limit": maxResults}
    if nextToken:
        params["PaginationToken"] = nextToken
    page = aws.call("cognito-idp", "ListUsers", params)
    return {"users": [_user(u, attributes_key="Attributes") for u in page.get("Users", [])], "nextToken": page.get("PaginationToken")}


@router.get("/users/{username}", response_model=User, responses=errors(404))
def get_user(aws: AwsApi, _: Admin, pool: PoolId, username: Username) -> dict[str, Any]:
    found = aws.call("cognito-idp", "AdminGetUser", {"UserPoolId": pool, "Username": username})
    return {**_user(found, attributes_key="UserAttributes"), "groups": _groups_of(aws, pool, username)}


@router.post("/users", status_code=201, response_model=User, responses=errors(409))
def create_user(aws: AwsApi, _: Admin, pool: PoolId, body: CreateUserRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"UserPoolId": pool, "Username": body.username, "MessageAction": "SUPPRESS"}
    if body.email:
        params["UserAttributes"] = [{"Name": "email", "Value": body.email}]
    created = aws.call("cognito-idp", "AdminCreateUser", params)["User"]
    try:
        if body.password is not None:
            aws.call(
                "cognito-idp",
                "AdminSetUserPassword",
                {"UserPoolId": pool, "Username": body.username, "Password": body.password, "Permanent": True},
            )
        for group in body.groups:
            aws.call("cognito-idp", "AdminAddUserToGroup", {"UserPoolId": pool, "Username": body.username, "GroupName": group})
    except AwsCallError:
        # A password the pool's policy refuses: no half-made user is left behind.
        aws.call("cognito-idp", "AdminDeleteUser", {"UserPoolId": pool, "Username": body.username})
        raise
    user = _user(created, attributes_key="Attributes")
    if body.password is not None:
        user["status"] = "CONFIRMED"
    return {**user, "groups": sorted(set(body.groups))}


@router.delete("/users/{username}", status_code=204, response_class=Response, responses=errors(404))
def delete_user(aws: AwsApi, _: Admin, pool: PoolId, username: Username) -> Response:
    aws.call("cognito-idp", "AdminDeleteUser", {"UserPoolId": pool, "Username": username})
    return Response(status_code=204)


@router.put("/users/{username}/groups/{group}", status_code=204, response_class=Response, responses=errors(404))
def add_to_group(aws: AwsApi, _: Admin, pool: PoolId, username: Username, group: RoleName) -> Response:
    aws.call("cognito-idp", "AdminAddUserToGroup", {"UserPoolId": pool, "Username": username, "GroupName": group})
    return Response(status_code=204)


@router.delete("/users/{username}/groups/{group}", status_code=204, response_class=Response, responses=errors(404))
def remove_from_group(aws: AwsApi, _: Admin, pool: PoolId, username: Username, group: RoleName) -> Response:
    aws.call("cognito-idp", "AdminRemoveUserFromGroup", {"UserPoolId": pool, "Username": username, "GroupName": group})
    return Response(status_code=204)


@router.get("/groups", response_model=GroupList, responses=errors())
def list_groups(aws: AwsApi, _: Admin, pool: PoolId) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    params: dict[str, Any] = {"UserPoolId": pool}
    while True:
        page = aws.call("cognito-idp", "ListGroups", params)
        groups.extend({"name": g["GroupName"], "description": g.get("Description")} for g in page.get("Groups", []))
        if not page.get("NextToken"):
            return {"groups": groups}
        params["NextToken"] = page["NextToken"]
