"""Review 14: user pool store bugs (scratch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.userpools import SqliteUserPools
from sluiceway.clock import SystemClock
from sluiceway.cognito.errors import CognitoError, OAuthError
from sluiceway.cognito.passwords import Cost


@pytest.fixture
def pools(tmp_path: Path) -> SqliteUserPools:
    p = SqliteUserPools(Database(tmp_path / "db.sqlite"), SystemClock(), region="us-east-1", account_id="111111111111")
    p.password_cost = Cost(n=2**4, r=1, p=1)
    return p


def test_non_ascii_secret_hash_is_a_cognito_error_not_a_type_error(pools: SqliteUserPools) -> None:
    pool = pools.create_user_pool("p")
    client = pools.create_user_pool_client(pool["Id"], "c", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    with pytest.raises(CognitoError):
        pools.initiate_auth(client["ClientId"], "USER_PASSWORD_AUTH", {"USERNAME": "ann", "PASSWORD": "x", "SECRET_HASH": "é"})


def test_non_ascii_client_secret_at_the_token_endpoint_is_invalid_client(pools: SqliteUserPools) -> None:
    pool = pools.create_user_pool("p")
    pools.create_resource_server(pool["Id"], "api", "api", [{"ScopeName": "read", "ScopeDescription": "r"}])
    client = pools.create_user_pool_client(
        pool["Id"], "m", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["api/read"],
        AllowedOAuthFlowsUserPoolClient=True,
    )
    with pytest.raises(OAuthError):
        pools.client_credentials(client["ClientId"], "sécret", None)


def test_non_ascii_client_secret_in_revoke_token_is_a_cognito_error(pools: SqliteUserPools) -> None:
    pool = pools.create_user_pool("p")
    client = pools.create_user_pool_client(pool["Id"], "c", GenerateSecret=True)
    with pytest.raises(CognitoError):
        pools.revoke_token(client["ClientId"], "abc", "sécret")


def test_the_default_pool_does_not_allow_self_sign_up(pools: SqliteUserPools) -> None:
    default = pools.default_pool()
    # The management pool: the deployed template sets AllowAdminCreateUserOnly; locally anyone could SignUp (unsigned).
    with pytest.raises(CognitoError) as raised:
        pools.sign_up(default.client_id, "mallory", "Passw0rd!x")
    assert raised.value.code == "NotAuthorizedException"


def test_confirmation_codes_cannot_be_guessed_without_limit(pools: SqliteUserPools) -> None:
    pool = pools.create_user_pool("p")
    client = pools.create_user_pool_client(pool["Id"], "c")
    pools.sign_up(client["ClientId"], "eve", "Passw0rd!x")
    codes = []
    for guess in range(8):
        try:
            pools.confirm_sign_up(client["ClientId"], "eve", f"{guess:06d}")
        except CognitoError as exc:
            codes.append(exc.code)
    assert "LimitExceededException" in codes, codes  # Cognito: "Attempt limit exceeded, please try after some time."
