"""Users, sign-ins and machine tokens of a running endpoint's user pools, for the management API's tests."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sluiceway.endpoint.server import Endpoint

PASSWORD = "Correct-horse-9-battery"
API = "/_sluiceway/api"


@dataclass(frozen=True)
class Pool:
    pool_id: str
    client_id: str


def make_user(aws: Callable[..., Any], pool_id: str, *groups: str) -> str:
    idp = aws("cognito-idp")
    name = f"u-{uuid.uuid4().hex[:10]}"
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=group)
    return name


def sign_in(aws: Callable[..., Any], client_id: str, username: str) -> dict[str, str]:
    """The tokens InitiateAuth (USER_PASSWORD_AUTH) gives, as boto3 gets them."""
    result = aws("cognito-idp").initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD}
    )
    tokens: dict[str, str] = result["AuthenticationResult"]
    return tokens


def machine_token(endpoint: Endpoint, aws: Callable[..., Any], pool_id: str, scope: str) -> str:
    """An access token of a client_credentials client allowed ``scope``, from the OAuth2 token endpoint."""
    client = aws("cognito-idp").create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"machine-{scope.replace('/', '-')}",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=[scope],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    basic = base64.b64encode(f"{client['ClientId']}:{client['ClientSecret']}".encode()).decode()
    answer = httpx.post(
        f"{endpoint.url}/_sluiceway/cognito/oauth2/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token
