"""JWT (HTTP API) and user pool (REST) authorizers: every bad token refused, claims rendered as AWS does.

Tokens are minted with ``cognito.jwt`` and keys come from a fake key source (the authorizer takes
any :class:`KeySource`; the gateway's is the stack's local user pools).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from sluiceway.cognito import jwt
from sluiceway.endpoint.apigateway.cognito_authorizer import authorize_user_pool
from sluiceway.endpoint.apigateway.grants import Grant, Refusal
from sluiceway.endpoint.apigateway.jwt_authorizer import authorize_jwt
from sluiceway.endpoint.apigateway.model import Authorizer

NOW = 1_700_000_000
POOL = "us-east-1_AbC123xYz"
OTHER_POOL = "us-east-1_Zz9Zz9Zz9"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
OTHER_ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{OTHER_POOL}"
CLIENT = "abcdefghijklmnopqrstuvwxyz"
KEY = jwt.generate_key()
OTHER_KEY = jwt.generate_key()
JWT_AUTH = Authorizer("Jwt", "JWT", identity_source=("$request.header.Authorization",), issuer=ISSUER, audience=(CLIENT,))
POOL_AUTH = Authorizer(
    "Pool", "COGNITO_USER_POOLS", identity_source=("method.request.header.Authorization",),
    provider_arns=(f"arn:aws:cognito-idp:us-east-1:111111111111:userpool/{POOL}",),
)  # fmt: skip


class Keys:
    """A key source: each pool's JWKS by issuer."""

    def __init__(self, sets: dict[str, dict[str, Any]]) -> None:
        self.sets = sets

    def jwks_for_issuer(self, issuer: str) -> dict[str, Any] | None:
        return self.sets.get(issuer)


KEYS = Keys({ISSUER: {"keys": [jwt.jwk_of(KEY, "k1")]}, OTHER_ISSUER: {"keys": [jwt.jwk_of(OTHER_KEY, "k2")]}})


def access_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "sub": "5f0c2b7e-0000-4000-8000-000000000001", "cognito:groups": ["viewer", "operator"], "iss": ISSUER,
        "client_id": CLIENT, "origin_jti": "o", "token_use": "access", "scope": "aws.cognito.signin.user.admin sluiceway/read",
        "auth_time": NOW - 10, "exp": NOW + 3600, "iat": NOW - 10, "jti": "j", "username": "ada",
    }  # fmt: skip
    return {**claims, **overrides}


def id_claims(**overrides: Any) -> dict[str, Any]:
    claims = {
        "sub": "s", "cognito:groups": ["viewer"], "email_verified": True, "iss": ISSUER, "cognito:username": "ada",
        "aud": CLIENT, "token_use": "id", "auth_time": NOW - 10, "exp": NOW + 3600, "iat": NOW - 10, "jti": "j",
    }  # fmt: skip
    return {**claims, **overrides}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims: dict[str, Any], secret: bytes) -> str:
    head = b64(json.dumps({"kid": "k1", "alg": "HS256"}).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(hmac.new(secret, f'{head}.{body}'.encode(), hashlib.sha256).digest())}"


def tampered() -> str:
    head, _, sig = jwt.sign(access_claims(), KEY, "k1").split(".")
    return f"{head}.{b64(json.dumps(access_claims(username='root')).encode())}.{sig}"


def unsigned() -> str:
    return f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(access_claims()).encode())}."


PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
N_BYTES = base64.urlsafe_b64decode(jwt.jwk_of(KEY, "k1")["n"] + "==")

BAD_TOKENS = {
    "alg none": unsigned(),
    "alg none with a signature": unsigned() + "c2ln",
    "HS256 keyed with the public PEM": hs256(access_claims(), PUBLIC_PEM),
    "HS256 keyed with the JWK modulus": hs256(access_claims(), N_BYTES),
    "another pool": jwt.sign(access_claims(iss=OTHER_ISSUER), OTHER_KEY, "k2"),
    "another pool's key, our iss": jwt.sign(access_claims(), OTHER_KEY, "k1"),
    "another client (client_id)": jwt.sign(access_claims(client_id="zzzzzzzzzzzzzzzzzzzzzzzzzz"), KEY, "k1"),
    "another client (aud)": jwt.sign(id_claims(aud="zzzzzzzzzzzzzzzzzzzzzzzzzz"), KEY, "k1"),
    "aud wins over client_id": jwt.sign(access_claims(aud="zzzzzzzzzzzzzzzzzzzzzzzzzz"), KEY, "k1"),
    "expired": jwt.sign(access_claims(exp=NOW - 1), KEY, "k1"),
    "expiring now": jwt.sign(access_claims(exp=NOW), KEY, "k1"),
    "no exp": jwt.sign({k: v for k, v in access_claims().items() if k != "exp"}, KEY, "k1"),
    "exp not a number": jwt.sign(access_claims(exp="tomorrow"), KEY, "k1"),
    "not yet valid (nbf)": jwt.sign(access_claims(nbf=NOW + 60), KEY, "k1"),
    "issued in the future (iat)": jwt.sign(access_claims(iat=NOW + 60), KEY, "k1"),
    "tampered payload": tampered(),
    "unknown kid": jwt.sign(access_claims(), KEY, "k9"),
    "garbage": "not-a-token",
    "two parts": "a.b",
    "empty signature": jwt.sign(access_claims(), KEY, "k1").rsplit(".", 1)[0] + ".",
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_jwt_authorizer_refuses_every_bad_token_with_401(name: str) -> None:
    outcome = authorize_jwt(JWT_AUTH, (), "Bearer " + BAD_TOKENS[name], KEYS, NOW)
    assert isinstance(outcome, Refusal), name
    assert outcome.response.status == 401 and json.loads(outcome.response.body) == {"message": "Unauthorized"}  # type: ignore[arg-type]
    challenge = outcome.response.headers["www-authenticate"]
    assert challenge.startswith('Bearer scope="" error="invalid_token" error_description="')


def test_jwt_authorizer_describes_audience_and_expiry_as_aws_does() -> None:
    def header(token: str) -> str:
        outcome = authorize_jwt(JWT_AUTH, (), token, KEYS, NOW)
        assert isinstance(outcome, Refusal)
        return outcome.response.headers["www-authenticate"]

    assert header(BAD_TOKENS["another client (client_id)"]) == (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )
    assert header(BAD_TOKENS["expired"]).endswith('error_description="the token has expired"')


def test_jwt_authorizer_grants_verified_claims_as_strings() -> None:
    token = jwt.sign(access_claims(), KEY, "k1")
    for identity in (token, "Bearer " + token, "bearer " + token, "BEARER " + token):
        outcome = authorize_jwt(JWT_AUTH, ("sluiceway/read",), identity, KEYS, NOW)
        assert isinstance(outcome, Grant), identity[:8]
    assert isinstance(outcome, Grant)
    assert outcome.claims["cognito:groups"] == "[viewer operator]"
    assert outcome.claims["exp"] == str(NOW + 3600) and outcome.claims["username"] == "ada"
    assert outcome.scopes == ("aws.cognito.signin.user.admin", "sluiceway/read")
    assert outcome.for_event("HTTP", "2.0")["jwt"]["claims"]["client_id"] == CLIENT
    assert outcome.for_event("HTTP", "1.0")["scopes"] == ["aws.cognito.signin.user.admin", "sluiceway/read"]
    id_token = authorize_jwt(JWT_AUTH, (), jwt.sign(id_claims(), KEY, "k1"), KEYS, NOW)
    assert isinstance(id_token, Grant) and id_token.scopes is None and id_token.claims["email_verified"] == "true"
    assert id_token.for_event("HTTP", "2.0") == {"jwt": {"claims": dict(id_token.claims), "scopes": None}}


def test_jwt_authorizer_scopes_are_403_and_unknown_issuer_is_401() -> None:
    token = jwt.sign(access_claims(), KEY, "k1")
    forbidden = authorize_jwt(JWT_AUTH, ("sluiceway/admin", "other"), token, KEYS, NOW)
    assert isinstance(forbidden, Refusal) and forbidden.response.status == 403
    assert json.loads(forbidden.response.body) == {"message": "Forbidden"}  # type: ignore[arg-type]
    id_token = authorize_jwt(JWT_AUTH, ("sluiceway/read",), jwt.sign(id_claims(), KEY, "k1"), KEYS, NOW)
    assert isinstance(id_token, Refusal) and id_token.response.status == 403
    nobody = authorize_jwt(JWT_AUTH, (), token, Keys({}), NOW)
    assert isinstance(nobody, Refusal) and nobody.response.status == 401


# ---------------------------------------------------------------------------- REST user pools


def test_user_pool_authorizer_takes_id_tokens_raw_and_renders_claims_as_rest_does() -> None:
    token = jwt.sign(id_claims(), KEY, "k1")
    outcome = authorize_user_pool(POOL_AUTH, (), token, KEYS, NOW)
    assert isinstance(outcome, Grant)
    claims = outcome.for_event("REST", "1.0")["claims"]
    assert claims["exp"] == "Tue Nov 14 23:13:20 UTC 2023" and claims["iat"] == "Tue Nov 14 22:13:10 UTC 2023"
    assert claims["auth_time"] == str(NOW - 10) and claims["email_verified"] == "true" and claims["cognito:groups"] == "viewer"
    # The header holds the token itself: "Bearer <token>" is not a token.
    assert isinstance(authorize_user_pool(POOL_AUTH, (), "Bearer " + token, KEYS, NOW), Refusal)


def test_user_pool_authorizer_needs_an_access_token_with_a_scope_when_the_method_has_scopes() -> None:
    access = jwt.sign(access_claims(), KEY, "k1")
    assert isinstance(authorize_user_pool(POOL_AUTH, (), access, KEYS, NOW), Refusal)  # no scopes: ID tokens only
    assert isinstance(authorize_user_pool(POOL_AUTH, ("sluiceway/read",), access, KEYS, NOW), Grant)
    wrong = authorize_user_pool(POOL_AUTH, ("sluiceway/admin",), access, KEYS, NOW)
    assert isinstance(wrong, Refusal) and wrong.response.status == 401
    id_token = jwt.sign(id_claims(), KEY, "k1")
    assert isinstance(authorize_user_pool(POOL_AUTH, ("sluiceway/read",), id_token, KEYS, NOW), Refusal)


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_user_pool_authorizer_refuses_every_bad_token_with_401(name: str) -> None:
    token = BAD_TOKENS[name]
    outcome = authorize_user_pool(POOL_AUTH, ("sluiceway/read",), token, KEYS, NOW)
    if name in ("another client (client_id)", "aud wins over client_id"):
        # A user pool authorizer has no audience: any app client of its pools is accepted.
        assert isinstance(outcome, Grant), name
        return
    assert isinstance(outcome, Refusal), name
    assert (outcome.response.status, json.loads(outcome.response.body)) == (401, {"message": "Unauthorized"})  # type: ignore[arg-type]
    assert outcome.response.headers["x-amzn-ErrorType"] == "UnauthorizedException"


def test_user_pool_authorizer_identity_validation_expression() -> None:
    strict = Authorizer(**{**POOL_AUTH.__dict__, "validation_expression": r"^nope$"})
    assert isinstance(authorize_user_pool(strict, (), jwt.sign(id_claims(), KEY, "k1"), KEYS, NOW), Refusal)


# ---------------------------------------------------------------------------- claims of unexpected types


def unsigned_with(payload: bytes, header: bytes = b'{"kid":"k1","alg":"RS256"}') -> str:
    return f"{b64(header)}.{b64(payload)}.c2ln"


def signed_raw(payload: bytes, kid: Any = "k1") -> str:
    """A token whose payload is exactly ``payload`` (JSON ``sign`` would not write), signed by the pool's key."""
    head = b64(json.dumps({"kid": kid, "alg": "RS256"}).encode())
    signing_input = f"{head}.{b64(payload)}"
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return f"{signing_input}.{b64(KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def with_claims(claims: dict[str, Any], text: str) -> bytes:
    """``claims`` as JSON with ``text`` spliced in as the value of ``"x"`` (numbers and nesting JSON cannot spell)."""
    return json.dumps({**claims, "x": 0}).replace('"x": 0', f'"x": {text}').encode()


DEEP = "[" * 3000 + "]" * 3000
HUGE = "9" * 5000  # more digits than Python converts to an int

#: Tokens whose claims (or header) are of a type or size no claim check expects: each must be a 401.
ODD_TOKENS = {
    "unverified iss a list": unsigned_with(json.dumps({"iss": [ISSUER]}).encode()),
    "unverified iss an object": unsigned_with(json.dumps({"iss": {"a": ISSUER}}).encode()),
    "unverified iss a number": unsigned_with(json.dumps({"iss": 7}).encode()),
    "unverified payload nested too deeply": unsigned_with(with_claims({"iss": ISSUER}, DEEP)),
    "unverified payload with a huge integer": unsigned_with(with_claims({"iss": ISSUER}, HUGE)),
    "payload a list": unsigned_with(b"[1]"),
    "kid a number": signed_raw(json.dumps(id_claims()).encode(), kid=7),
    "kid a list": signed_raw(json.dumps(id_claims()).encode(), kid=["k1"]),
    "signed payload nested too deeply": signed_raw(with_claims(id_claims(), DEEP)),
    "signed payload with a huge integer": signed_raw(with_claims(id_claims(), HUGE)),
    "exp a huge integer": signed_raw(json.dumps(id_claims(exp=10**400)).encode()),
    "exp Infinity": signed_raw(json.dumps(id_claims(exp=float("inf"))).encode()),
    "exp NaN": signed_raw(json.dumps(id_claims(exp=float("nan"))).encode()),
    "exp a list": signed_raw(json.dumps(id_claims(exp=[NOW + 3600])).encode()),
    "nbf -Infinity": signed_raw(json.dumps(id_claims(nbf=float("-inf"))).encode()),
    "iat a huge integer": signed_raw(json.dumps(id_claims(iat=10**400)).encode()),
    "aud a list of non-strings": signed_raw(json.dumps(id_claims(aud=[1, {"a": CLIENT}, None, [CLIENT]])).encode()),
    "aud an object": signed_raw(json.dumps(id_claims(aud={CLIENT: CLIENT})).encode()),
    "token_use a list": signed_raw(json.dumps(id_claims(token_use=["id"])).encode()),
}


@pytest.fixture
def python_recursion_limit() -> Iterator[None]:
    """Python's default recursion limit, which the nested tokens exceed (an imported library may have raised it)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@pytest.mark.usefixtures("python_recursion_limit")
@pytest.mark.parametrize("name", list(ODD_TOKENS))
def test_claims_of_unexpected_types_are_401_never_a_crash(name: str) -> None:
    token = ODD_TOKENS[name]
    user_pool = authorize_user_pool(POOL_AUTH, (), token, KEYS, NOW)
    if name.startswith("aud"):
        # A user pool authorizer does not read aud: an otherwise good ID token is taken.
        assert isinstance(user_pool, Grant), name
    else:
        assert isinstance(user_pool, Refusal) and user_pool.response.status == 401, name
    outcome = authorize_jwt(JWT_AUTH, (), token, KEYS, NOW)
    if name.startswith("token_use"):
        assert isinstance(outcome, Grant), name  # a JWT authorizer does not read token_use
    else:
        assert isinstance(outcome, Refusal) and outcome.response.status == 401, name
        assert outcome.response.headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token"')


def test_scope_claims_of_unexpected_types_grant_nothing() -> None:
    listed = jwt.sign(access_claims(scope=["sluiceway/read", 7]), KEY, "k1")
    assert isinstance(authorize_user_pool(POOL_AUTH, ("sluiceway/read",), listed, KEYS, NOW), Grant)  # a list, as scp is read
    granted = authorize_jwt(JWT_AUTH, ("sluiceway/read",), listed, KEYS, NOW)
    assert isinstance(granted, Grant) and granted.scopes == ("sluiceway/read",)
    for scope in ({"sluiceway/read": True}, 7, None, [["sluiceway/read"]]):
        token = jwt.sign(access_claims(scope=scope), KEY, "k1")
        refused = authorize_user_pool(POOL_AUTH, ("sluiceway/read",), token, KEYS, NOW)
        assert isinstance(refused, Refusal) and refused.response.status == 401, scope
        forbidden = authorize_jwt(JWT_AUTH, ("sluiceway/read",), token, KEYS, NOW)
        assert isinstance(forbidden, Refusal) and forbidden.response.status == 403, scope


def test_user_pool_dates_the_platform_cannot_represent_are_rendered_as_numbers() -> None:
    far = authorize_user_pool(POOL_AUTH, (), jwt.sign(id_claims(exp=10**17, iat=-(10**300)), KEY, "k1"), KEYS, NOW)
    assert isinstance(far, Grant)
    assert (far.claims["exp"], far.claims["iat"]) == (str(10**17), str(-(10**300)))


class BrokenKeys:
    """A key source whose key set is not a list of keys: no token can be verified with it."""

    def jwks_for_issuer(self, issuer: str) -> dict[str, Any] | None:
        return {"keys": 5}


def test_a_token_authorizer_that_fails_unexpectedly_refuses_with_401() -> None:
    from sluiceway.endpoint.apigateway.authorizers import Authorization
    from sluiceway.endpoint.apigateway.events import RequestView
    from sluiceway.endpoint.apigateway.lambda_authorizer import LambdaAuthorizers
    from sluiceway.endpoint.apigateway.model import Api, Guard, Integration, Route, Stage

    for authorizer, kind, stage in ((JWT_AUTH, "HTTP", "$default"), (POOL_AUTH, "REST", "Prod")):
        route = Route("GET", "/me", Integration("lambda", function_arn="arn:aws:lambda:us-east-1:111111111111:function:F"),
                      Guard("authorizer", authorizer.name, authorizer))  # fmt: skip
        api = Api("api0000001", "Api", kind, "a", "us-east-1", "111111111111", (route,), (Stage(stage),))  # type: ignore[arg-type]
        request = RequestView(
            api=api, stage=api.stages[0], route=route, path_parameters={}, method="GET", path="/me", stage_path="/me", query="",
            headers={"authorization": jwt.sign(id_claims(), KEY, "k1")}, body=b"", source_ip="127.0.0.1", request_id="r",
            extended_request_id="e", time_ms=0, domain_name="localhost", domain_prefix="api0000001",
        )  # fmt: skip
        outcome = Authorization(BrokenKeys(), LambdaAuthorizers(invoker=None), clock=lambda: NOW).authorize(request)  # type: ignore[arg-type]
        assert isinstance(outcome, Refusal) and outcome.response.status == 401, kind
