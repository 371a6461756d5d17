"""User pools under attack: text no secret compare chokes on, guessing codes and passwords, self sign-up
to the management API's pool, secrets kept out of INFO logs, discovery that trusts no Host header,
and a bug in Cognito's routes that still gets an answer."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.userpools import SqliteUserPools
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.cognito.errors import CognitoError, OAuthError
from sluiceway.cognito.passwords import Cost
from sluiceway.endpoint.server import Endpoint

PASSWORD = "Corr3ct-Horse"
TOKEN_PATH = "/_sluiceway/cognito/oauth2/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_11 = {"Content-Type": "application/x-amz-json-1.1"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pools(tmp_path: Path, clock: FakeClock) -> SqliteUserPools:
    store = SqliteUserPools(Database(tmp_path / "db.sqlite"), clock, region="us-east-1", account_id="111111111111")
    store.password_cost = Cost(n=2**4, r=1, p=1)  # the lockout is under test, not scrypt
    return store


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(CognitoError) as raised:
        call()
    return raised.value.code, raised.value.message


def _post(endpoint: Endpoint, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """A request as sent, header bytes and all (latin-1: what http.server reads them as)."""
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        conn.putrequest("POST", path)
        for name, value in headers.items():
            conn.putheader(name, value.encode("latin-1"))
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _get(endpoint: Endpoint, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _call(endpoint: Endpoint, operation: str, params: dict[str, Any]) -> tuple[int, Any]:
    """An unsigned cognito-idp call, its JSON written by hand (``\\ud800`` stays an escape)."""
    headers = {**JSON_11, "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}"}
    return _post(endpoint, "/", json.dumps(params).encode(), headers)


def _machine_client(pools: SqliteUserPools, name: str) -> tuple[str, str]:
    pool = pools.create_user_pool(name)
    pools.create_resource_server(pool["Id"], "api", "api", [{"ScopeName": "read", "ScopeDescription": "r"}])
    client = pools.create_user_pool_client(
        pool["Id"], "m", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["api/read"],
        AllowedOAuthFlowsUserPoolClient=True,
    )  # fmt: skip
    return client["ClientId"], client["ClientSecret"]


# -- secrets in text a byte compare handles --------------------------------------------------------


def test_a_non_ascii_secret_hash_is_refused_as_a_wrong_one(pools: SqliteUserPools) -> None:
    pool = pools.create_user_pool("p")
    client = pools.create_user_pool_client(pool["Id"], "c", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    for given in ("é", "\ud800"):
        with pytest.raises(CognitoError) as raised:
            pools.initiate_auth(client["ClientId"], "USER_PASSWORD_AUTH", {"USERNAME": "ann", "PASSWORD": "x", "SECRET_HASH": given})
        assert (raised.value.code, raised.value.message) == (
            "NotAuthorizedException",
            f"Unable to verify secret hash for client {client['ClientId']}",
        )


def test_a_non_ascii_client_secret_is_a_wrong_one_at_the_token_endpoint_and_in_revoke_token(pools: SqliteUserPools) -> None:
    client_id, _ = _machine_client(pools, "p")
    with pytest.raises(OAuthError) as raised:
        pools.client_credentials(client_id, "sécret", None)
    assert raised.value.error == "invalid_client"
    assert _refusal(lambda: pools.revoke_token(client_id, "abc", "sécret")) == ("UnauthorizedException", "Invalid client secret")


def test_unsigned_initiate_auth_with_a_non_ascii_secret_hash_is_400(endpoint: Endpoint) -> None:
    pools = endpoint.stack.local.user_pools
    pool = pools.create_user_pool("hardening-hash")
    client = pools.create_user_pool_client(pool["Id"], "c", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    for given in ("é", "\ud800"):
        status, answer = _call(
            endpoint,
            "InitiateAuth",
            {"ClientId": client["ClientId"], "AuthFlow": "USER_PASSWORD_AUTH",
             "AuthParameters": {"USERNAME": given, "PASSWORD": given, "SECRET_HASH": given}},
        )  # fmt: skip
        assert (status, answer["__type"]) == (400, "NotAuthorizedException"), answer


def test_lone_surrogates_in_a_password_and_a_code_are_refused_not_a_500(endpoint: Endpoint) -> None:
    pools = endpoint.stack.local.user_pools
    pool = pools.create_user_pool("hardening-surrogates")
    client_id = pools.create_user_pool_client(pool["Id"], "c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["ClientId"]
    pools.sign_up(client_id, "sue", PASSWORD)
    status, answer = _call(endpoint, "ConfirmSignUp", {"ClientId": client_id, "Username": "sue", "ConfirmationCode": "\ud800"})
    assert (status, answer["__type"]) == (400, "CodeMismatchException")
    # Confirmed first: an unconfirmed user is told so before any password is looked at.
    pools.admin_confirm_sign_up(pool["Id"], "sue")
    sign_in = {"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "sue", "PASSWORD": "\ud800"}}
    status, answer = _call(endpoint, "InitiateAuth", sign_in)
    assert (status, answer["__type"]) == (400, "NotAuthorizedException")


def test_the_token_endpoint_answers_invalid_client_for_non_ascii_credentials(endpoint: Endpoint) -> None:
    status, body = _post(endpoint, TOKEN_PATH, b"grant_type=client_credentials", {**FORM, "Authorization": "Basic \xe9\xe9"})
    assert (status, body) == (400, {"error": "invalid_client"})  # b64decode's ValueError escaped: no answer at all
    client_id, _ = _machine_client(endpoint.stack.local.user_pools, "hardening-token")
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret=%C3%A9".encode()
    assert _post(endpoint, TOKEN_PATH, form, FORM) == (400, {"error": "invalid_client"})
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret=%ED%A0%80".encode()  # UTF-8 of a surrogate
    assert _post(endpoint, TOKEN_PATH, form, FORM) == (400, {"error": "invalid_client"})


# -- the management API's pool ------------------------------------------------------------------


def test_nobody_signs_up_to_the_default_pool(pools: SqliteUserPools) -> None:
    default = pools.default_pool()
    described = pools.describe_user_pool(default.pool_id)
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 7,
    }  # fmt: skip
    assert _refusal(lambda: pools.sign_up(default.client_id, "mallory", PASSWORD)) == (
        "NotAuthorizedException",
        "SignUp is not permitted for this user pool",
    )
    assert pools.list_users(default.pool_id) == []


def test_the_default_pools_sign_in_never_tells_who_has_an_account(pools: SqliteUserPools) -> None:
    default = pools.default_pool()
    client = pools.describe_user_pool_client(default.pool_id, default.client_id)
    assert client["PreventUserExistenceErrors"] == "ENABLED"  # set: the API's default is LEGACY
    assert _refusal(lambda: pools.initiate_auth(default.client_id, "USER_PASSWORD_AUTH", {"USERNAME": "nobody", "PASSWORD": PASSWORD})) == (
        "NotAuthorizedException",
        "Incorrect username or password.",
    )


def test_a_default_pool_made_before_is_closed_to_sign_up_on_upgrade(tmp_path: Path) -> None:
    from sluiceway.backends.local._sqlite import migrate

    db = Database(tmp_path / "db.sqlite")
    pools = SqliteUserPools(db, SystemClock(), region="us-east-1", account_id="111111111111")
    default = pools.default_pool()
    other = pools.create_user_pool("apps")
    conn = db.connection()
    # As migration 0071's pools were: open to anyone who signs up.
    conn.execute(
        "UPDATE cognito_pools SET document = json_set(document, '$.AdminCreateUserConfig.AllowAdminCreateUserOnly', json('false'))"
    )
    conn.execute("DELETE FROM schema_version WHERE version >= 72")
    migrate(conn)
    assert pools.describe_user_pool(default.pool_id)["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pools.describe_user_pool(other["Id"])["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False  # not ours: untouched
    assert _refusal(lambda: pools.sign_up(default.client_id, "mallory", PASSWORD))[0] == "NotAuthorizedException"


# -- guessing confirmation codes and passwords ----------------------------------------------------


def _unconfirmed(pools: SqliteUserPools, caplog: pytest.LogCaptureFixture) -> tuple[str, str]:
    pool = pools.create_user_pool("p")
    client_id = pools.create_user_pool_client(pool["Id"], "c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["ClientId"]
    with caplog.at_level(logging.DEBUG, logger="sluiceway.cognito.messages"):
        pools.sign_up(client_id, "eve", PASSWORD)
    code = next(r.__dict__["code"] for r in caplog.records if "code" in r.__dict__)
    return client_id, str(code)


def test_after_five_wrong_codes_confirm_sign_up_waits_longer_each_time(
    pools: SqliteUserPools, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    client_id, code = _unconfirmed(pools, caplog)
    wrong = "000000" if code != "000000" else "111111"
    mismatch = ("CodeMismatchException", "Invalid verification code provided, please try again.")
    limited = ("LimitExceededException", "Attempt limit exceeded, please try after some time.")
    for _ in range(5):
        assert _refusal(lambda: pools.confirm_sign_up(client_id, "eve", wrong)) == mismatch
    assert _refusal(lambda: pools.confirm_sign_up(client_id, "eve", code)) == limited  # the right code too, while it lasts
    clock.advance(1)
    assert _refusal(lambda: pools.confirm_sign_up(client_id, "eve", wrong)) == mismatch
    clock.advance(1)
    assert _refusal(lambda: pools.confirm_sign_up(client_id, "eve", code)) == limited  # the sixth wrong code: two seconds
    clock.advance(1)
    pools.confirm_sign_up(client_id, "eve", code)
    assert pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", {"USERNAME": "eve", "PASSWORD": PASSWORD})["AuthenticationResult"]


def test_admin_confirm_sign_up_clears_the_wrong_codes(pools: SqliteUserPools, caplog: pytest.LogCaptureFixture) -> None:
    client_id, _ = _unconfirmed(pools, caplog)
    for _ in range(5):
        _refusal(lambda: pools.confirm_sign_up(client_id, "eve", "999999x"))
    pool_id = pools.must_client(client_id)["UserPoolId"]
    pools.admin_confirm_sign_up(pool_id, "eve")
    rows = pools.db.connection().execute("SELECT COUNT(*) FROM cognito_attempts WHERE pool_id=?", (pool_id,)).fetchone()[0]
    assert rows == 0


def _signed_in_user(pools: SqliteUserPools) -> tuple[str, str]:
    pool = pools.create_user_pool("p")
    client_id = pools.create_user_pool_client(
        pool["Id"],
        "c",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["ClientId"]
    pools.admin_create_user(pool["Id"], "ann", message_action="SUPPRESS")
    pools.admin_set_user_password(pool["Id"], "ann", PASSWORD, permanent=True)
    return pool["Id"], client_id


def test_five_wrong_passwords_lock_the_user_out_with_a_doubling_wait(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _signed_in_user(pools)

    def sign_in(password: str) -> dict[str, Any]:
        return pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", {"USERNAME": "ann", "PASSWORD": password})

    incorrect = ("NotAuthorizedException", "Incorrect username or password.")
    exceeded = ("NotAuthorizedException", "Password attempts exceeded")
    for _ in range(5):
        assert _refusal(lambda: sign_in("Wr0ng-passw0rd")) == incorrect
    assert _refusal(lambda: sign_in(PASSWORD)) == exceeded  # refused unheard, the right password too
    admin = {"USERNAME": "ann", "PASSWORD": PASSWORD}
    assert _refusal(lambda: pools.initiate_auth(client_id, "ADMIN_USER_PASSWORD_AUTH", admin, pool_id=pool_id)) == exceeded
    clock.advance(1)
    assert _refusal(lambda: sign_in("Wr0ng-passw0rd")) == incorrect
    clock.advance(1.5)
    assert _refusal(lambda: sign_in(PASSWORD)) == exceeded  # the sixth failure: two seconds
    clock.advance(0.5)
    assert sign_in(PASSWORD)["AuthenticationResult"]["AccessToken"]
    for _ in range(4):  # a successful sign-in forgot the failures: four more are free again
        assert _refusal(lambda: sign_in("Wr0ng-passw0rd")) == incorrect
    assert sign_in(PASSWORD)["AuthenticationResult"]


def test_unknown_users_are_never_locked_out(pools: SqliteUserPools) -> None:
    _, client_id = _signed_in_user(pools)
    for _ in range(7):
        assert _refusal(lambda: pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", {"USERNAME": "nobody", "PASSWORD": PASSWORD})) == (
            "NotAuthorizedException",
            "Incorrect username or password.",
        )


def test_the_lockout_answers_over_the_api(endpoint: Endpoint, aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # The pools' clock stands still: the sixth attempt comes within the first lockout's second however slow the machine.
    monkeypatch.setattr(endpoint.stack.local.user_pools, "clock", FakeClock())
    idp = aws("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="hardening-lockout")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])[
        "UserPoolClient"
    ]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="zed", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="zed", Password=PASSWORD, Permanent=True)
    messages = []
    for _ in range(6):
        with pytest.raises(ClientError) as raised:
            idp.initiate_auth(
                ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "zed", "PASSWORD": "Wr0ng-pw!"}
            )
        messages.append((raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]))
    assert messages == [("NotAuthorizedException", "Incorrect username or password.")] * 5 + [
        ("NotAuthorizedException", "Password attempts exceeded")
    ]


# -- secrets out of INFO logs ---------------------------------------------------------------------


def test_codes_and_temporary_passwords_are_logged_at_debug_only(pools: SqliteUserPools, caplog: pytest.LogCaptureFixture) -> None:
    pool = pools.create_user_pool("p")
    client_id = pools.create_user_pool_client(pool["Id"], "c")["ClientId"]
    with caplog.at_level(logging.DEBUG, logger="sluiceway"):
        pools.sign_up(client_id, "sam", PASSWORD)
        pools.admin_create_user(pool["Id"], "tim")
    secrets = [r for r in caplog.records if {"code", "temporary_password"} & set(r.__dict__)]
    assert {r.name for r in secrets} == {"sluiceway.cognito.messages"} and {r.levelno for r in secrets} == {logging.DEBUG}
    assert len(secrets) == 2
    shown = {r.getMessage() + json.dumps({k: str(v) for k, v in r.__dict__.items()}) for r in caplog.records if r.levelno >= logging.INFO}
    for record in secrets:
        secret = str(record.__dict__.get("code") or record.__dict__.get("temporary_password"))
        assert not any(secret in line for line in shown)
    assert any("confirmation code made" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


# -- discovery and the routes' own failures -----------------------------------------------------


def test_discovery_names_the_endpoint_not_the_host_header(endpoint: Endpoint) -> None:
    pool_id = endpoint.stack.local.user_pools.create_user_pool("hardening-discovery")["Id"]
    status, document = _get(endpoint, f"/{pool_id}/.well-known/openid-configuration", {"Host": "evil.example:443"})
    assert status == 200
    assert document["jwks_uri"] == f"{endpoint.url}/{pool_id}/.well-known/jwks.json"
    assert document["token_endpoint"] == f"{endpoint.url}{TOKEN_PATH}"


def test_a_bug_behind_cognitos_routes_answers_a_json_500(endpoint: Endpoint, caplog: pytest.LogCaptureFixture) -> None:
    pools = endpoint.stack.local.user_pools
    pool_id = pools.create_user_pool("hardening-broken")["Id"]
    # A key that does not load: not a CognitoError the route expects, a bug it must still answer.
    pools.db.connection().execute("UPDATE cognito_pools SET key_pem=?, kid='broken' WHERE pool_id=?", (b"not a key", pool_id))
    with caplog.at_level(logging.ERROR, logger="sluiceway.endpoint.server"):
        status, body = _get(endpoint, f"/{pool_id}/.well-known/jwks.json")
    assert (status, body["__type"]) == (500, "InternalFailure")
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
