"""Token claims exactly as Cognito writes them, their lifetimes, and SecretHash."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from sluiceway.cognito import jwt
from sluiceway.cognito.tokens import (
    Session,
    UserClaims,
    access_claims,
    client_credentials_claims,
    id_claims,
    issuer_url,
    secret_hash,
    secrets_match,
    validity_of,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ISS = issuer_url("us-east-1", "us-east-1_AbC123xYz")
SESSION = Session(origin_jti="o-1", event_id="e-1", auth_time=int(NOW.timestamp()) - 100)
USER = UserClaims(
    sub="s-1",
    username="ann",
    attributes={"email": "ann@example.com", "email_verified": "true", "custom:tier": "gold", "updated_at": "1700000000"},
    groups=["admin", "viewer"],
    roles=["arn:aws:iam::123456789012:role/admins"],
)


def test_the_issuer_is_awss_url() -> None:
    assert ISS == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xYz"


def test_id_token_claims() -> None:
    claims = id_claims(USER, issuer=ISS, client_id="c1", session=SESSION, now=NOW, jti="j-1", lifetime_s=3600)
    iat = int(NOW.timestamp())
    assert claims == {
        "sub": "s-1",
        "cognito:groups": ["admin", "viewer"],
        "cognito:preferred_role": "arn:aws:iam::123456789012:role/admins",
        "cognito:roles": ["arn:aws:iam::123456789012:role/admins"],
        "email_verified": True,
        "iss": ISS,
        "cognito:username": "ann",
        "origin_jti": "o-1",
        "aud": "c1",
        "event_id": "e-1",
        "token_use": "id",
        "auth_time": SESSION.auth_time,
        "email": "ann@example.com",
        "custom:tier": "gold",
        "updated_at": 1700000000,
        "exp": iat + 3600,
        "iat": iat,
        "jti": "j-1",
    }
    assert list(claims)[:2] == ["sub", "cognito:groups"]


def test_access_token_claims() -> None:
    claims = access_claims(USER, issuer=ISS, client_id="c1", session=SESSION, now=NOW, jti="j-2", lifetime_s=300)
    iat = int(NOW.timestamp())
    assert list(claims) == [
        "sub",
        "cognito:groups",
        "iss",
        "client_id",
        "origin_jti",
        "event_id",
        "token_use",
        "scope",
        "auth_time",
        "exp",
        "iat",
        "jti",
        "username",
    ]
    assert claims["token_use"] == "access" and claims["scope"] == "aws.cognito.signin.user.admin"
    assert (claims["exp"], claims["iat"], claims["username"], claims["client_id"]) == (iat + 300, iat, "ann", "c1")
    assert "aud" not in claims and "email" not in claims


def test_a_user_in_no_group_has_no_groups_claim() -> None:
    alone = UserClaims(sub="s", username="u", attributes={})
    assert "cognito:groups" not in access_claims(alone, issuer=ISS, client_id="c", session=SESSION, now=NOW, jti="j", lifetime_s=60)
    assert "cognito:groups" not in id_claims(alone, issuer=ISS, client_id="c", session=SESSION, now=NOW, jti="j", lifetime_s=60)


def test_client_credentials_claims() -> None:
    claims = client_credentials_claims(issuer=ISS, client_id="m1", scopes=["api/read", "api/write"], now=NOW, jti="j", lifetime_s=3600)
    iat = int(NOW.timestamp())
    assert claims == {
        "sub": "m1",
        "token_use": "access",
        "scope": "api/read api/write",
        "auth_time": iat,
        "iss": ISS,
        "exp": iat + 3600,
        "iat": iat,
        "version": 2,
        "jti": "j",
        "client_id": "m1",
    }


def test_validity_defaults_and_units() -> None:
    assert validity_of({}) == validity_of({"RefreshTokenValidity": 30})
    default = validity_of({})
    assert (default.access_s, default.id_s, default.refresh_s) == (3600, 3600, 30 * 86400)
    legacy = validity_of({"AccessTokenValidity": 2, "IdTokenValidity": 1, "RefreshTokenValidity": 1})  # hours, hours, days
    assert (legacy.access_s, legacy.id_s, legacy.refresh_s) == (7200, 3600, 86400)
    units = {"AccessToken": "minutes", "IdToken": "seconds", "RefreshToken": "hours"}
    given = validity_of({"AccessTokenValidity": 5, "IdTokenValidity": 900, "RefreshTokenValidity": 2, "TokenValidityUnits": units})
    assert (given.access_s, given.id_s, given.refresh_s) == (300, 900, 7200)


def test_secret_hash_is_hmac_sha256_of_username_and_client() -> None:
    expected = base64.b64encode(hmac.new(b"sekret", b"annc1", hashlib.sha256).digest()).decode()
    assert secret_hash("ann", "c1", "sekret") == expected


def test_secrets_compare_whatever_text_the_caller_sends() -> None:
    # hmac.compare_digest raises TypeError for str holding non-ASCII text: a caller's "é" was a 500.
    assert secrets_match("sekret", "sekret") and not secrets_match("sékret", "sekret") and not secrets_match("\ud800", "sekret")
    assert secrets_match("sékret", "sékret") and not secrets_match("", "sekret")
    assert not secrets_match(secret_hash("\ud800", "c1", "sekret"), secret_hash("ann", "c1", "sekret"))  # a lone surrogate hashes


def test_signed_claims_verify_with_the_jwk() -> None:
    key = jwt.generate_key()
    token = jwt.sign(access_claims(USER, issuer=ISS, client_id="c", session=SESSION, now=NOW, jti="j", lifetime_s=60), key, "k1")
    assert jwt.verify_signature(token, {"keys": [jwt.jwk_of(key, "k1")]})["username"] == "ann"
