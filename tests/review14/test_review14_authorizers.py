"""Review 14: authorizer bugs (scratch)."""

from __future__ import annotations

import base64
import json

from sluiceway.cognito import jwt
from sluiceway.endpoint.apigateway.cognito_authorizer import authorize_user_pool
from sluiceway.endpoint.apigateway.grants import Refusal
from sluiceway.endpoint.apigateway.model import Authorizer, Integration, Route
from sluiceway.endpoint.apigateway.policies import evaluate, method_arn
from sluiceway.endpoint.apigateway.routes import match_route

POOL = "us-east-1_AbC123xYz"
POOL_AUTH = Authorizer(
    "Pool", "COGNITO_USER_POOLS", identity_source=("method.request.header.Authorization",),
    provider_arns=(f"arn:aws:cognito-idp:us-east-1:111111111111:userpool/{POOL}",),
)  # fmt: skip


class NoKeys:
    def jwks_for_issuer(self, issuer: str) -> None:
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_user_pool_authorizer_unsigned_token_with_a_list_iss_is_401_not_a_crash() -> None:
    token = f"{_b64(b'{}')}.{_b64(json.dumps({'iss': ['x']}).encode())}.c2ln"
    outcome = authorize_user_pool(POOL_AUTH, (), token, NoKeys(), 0)  # raised TypeError: unhashable type: 'list'
    assert isinstance(outcome, Refusal) and outcome.response.status == 401


ADMIN = Route("GET", "/admin", Integration("lambda", function_arn="arn:aws:lambda:us-east-1:111111111111:function:F"))
DENY_ADMIN = {"Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/*"},
    {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/GET/admin"},
]}  # fmt: skip


def test_a_path_that_routes_to_admin_is_evaluated_as_admin() -> None:
    for path in ("/admin", "/admin/", "//admin", "/admin//"):
        found = match_route((ADMIN,), "GET", path)
        assert found is not None and found.route is ADMIN, path  # the request reaches GET /admin
        arn = method_arn("us-east-1", "111111111111", "api1", "Prod", "GET", path)
        assert evaluate(DENY_ADMIN, arn) == "deny", (path, arn)


def test_a_conditional_deny_on_another_resource_does_not_deny_this_one() -> None:
    document = {"Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api1/Prod/DELETE/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ]}  # fmt: skip
    assert evaluate(document, "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/GET/items") == "allow"


def test_a_requirement_naming_an_undefined_scheme_does_not_open_the_route() -> None:
    from sluiceway.endpoint.apigateway.definitions import guard_of

    schemes = {"MyAuth": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authorizer": {
        "type": "token", "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-1:111111111111:function:Auth/invocations"}}}  # fmt: skip
    assert guard_of([{"MyAuht": []}], schemes, "paths./admin.get") is not None  # a typo: refuse, don't open
