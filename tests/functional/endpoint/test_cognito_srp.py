"""USER_SRP_AUTH as Amplify, pycognito and the SDKs' helpers sign in: InitiateAuth's PASSWORD_VERIFIER
challenge and its answer, through boto3 against the endpoint, and under a moving clock against the
store (lockout, expiry, clock skew). The client is ``srp_client.py``'s, written from the published
algorithm apart from the server's."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from srp_client import BIG_N, SrpClient, secret_hash, timestamp

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.userpools import SqliteUserPools
from sluiceway.clock import FakeClock
from sluiceway.cognito.errors import CognitoError
from sluiceway.cognito.passwords import Cost

PASSWORD = "Corr3ct-Horse!"
INCORRECT = ("NotAuthorizedException", "Incorrect username or password.")


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def idp(aws: Callable[..., Any]) -> Any:
    return aws("cognito-idp")


def _pool(idp: Any, name: str, **config: Any) -> str:
    return str(idp.create_user_pool(PoolName=name, **config)["UserPool"]["Id"])


def _client(idp: Any, pool_id: str, **config: Any) -> dict[str, Any]:
    config.setdefault("ExplicitAuthFlows", ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"])
    return dict(idp.create_user_pool_client(UserPoolId=pool_id, ClientName="web", **config)["UserPoolClient"])


def _user(idp: Any, pool_id: str, username: str, password: str = PASSWORD, **attributes: str) -> None:
    idp.admin_create_user(
        UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
    )  # fmt: skip
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)


# -- signing in --------------------------------------------------------------------------------------


def test_a_user_signs_in_with_srp_and_the_tokens_are_theirs(idp: Any) -> None:
    pool_id = _pool(idp, "srp-basic")
    client_id = _client(idp, pool_id)["ClientId"]
    _user(idp, pool_id, "ann")
    srp = SrpClient("ann", PASSWORD, pool_id, client_id)
    started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
    assert started["ChallengeName"] == "PASSWORD_VERIFIER"
    assert "Session" not in started  # as Cognito: the SECRET_BLOCK is what the answer presents
    challenge = started["ChallengeParameters"]
    assert set(challenge) == {"SALT", "SECRET_BLOCK", "SRP_B", "USERNAME", "USER_ID_FOR_SRP"}
    assert challenge["USERNAME"] == challenge["USER_ID_FOR_SRP"] == "ann"
    assert re.fullmatch(r"[0-9a-f]{32}", challenge["SALT"])
    assert 0 < int(challenge["SRP_B"], 16) < BIG_N
    answered = idp.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=srp.answer(challenge, _now())
    )
    result = answered["AuthenticationResult"]
    assert result["TokenType"] == "Bearer" and result["RefreshToken"]
    assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == "ann"
    # The salt is the user's, the same on each sign-in; B is new each time.
    again = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
    assert again["ChallengeParameters"]["SALT"] == challenge["SALT"]
    assert again["ChallengeParameters"]["SRP_B"] != challenge["SRP_B"]


def test_admin_srp_sign_in_to_an_email_pool_with_a_secret_uses_the_sub(idp: Any) -> None:
    pool_id = _pool(idp, "srp-email", UsernameAttributes=["email"])
    client = _client(idp, pool_id, GenerateSecret=True)
    _user(idp, pool_id, "bea@example.com")
    sub = idp.admin_get_user(UserPoolId=pool_id, Username="bea@example.com")["Username"]
    srp = SrpClient("bea@example.com", PASSWORD, pool_id, client["ClientId"], client["ClientSecret"])
    started = idp.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters()
    )
    challenge = started["ChallengeParameters"]
    # USER_ID_FOR_SRP is the username proper, never the email signed in with (the API reference says so).
    assert challenge["USER_ID_FOR_SRP"] == challenge["USERNAME"] == sub
    answered = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool_id, ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=srp.answer(challenge, _now()),
    )  # fmt: skip
    assert answered["AuthenticationResult"]["AccessToken"]


def test_a_temporary_password_leads_to_new_password_required_then_srp_with_the_new_one(idp: Any) -> None:
    pool_id = _pool(idp, "srp-force")
    client_id = _client(idp, pool_id)["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="cy", TemporaryPassword="Tempor4ry-Pass", MessageAction="SUPPRESS")
    srp = SrpClient("cy", "Tempor4ry-Pass", pool_id, client_id)
    started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
    answered = idp.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=srp.answer(started["ChallengeParameters"], _now())
    )
    assert answered["ChallengeName"] == "NEW_PASSWORD_REQUIRED" and answered["Session"]
    assert answered["ChallengeParameters"]["USER_ID_FOR_SRP"] == "cy"
    idp.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=answered["Session"],
        ChallengeResponses={"USERNAME": "cy", "NEW_PASSWORD": PASSWORD},
    )  # fmt: skip
    # The answer set a verifier for the new password; the temporary one no longer proves anything.
    for password, expected in (("Tempor4ry-Pass", False), (PASSWORD, True)):
        srp = SrpClient("cy", password, pool_id, client_id)
        started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
        respond = lambda s=srp, c=started["ChallengeParameters"]: idp.respond_to_auth_challenge(  # noqa: E731
            ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=s.answer(c, _now())
        )
        if expected:
            assert respond()["AuthenticationResult"]["AccessToken"]
        else:
            assert _error(respond) == INCORRECT


# -- refusals ------------------------------------------------------------------------------------------


def test_a_wrong_password_a_replayed_block_and_a_forged_block_are_incorrect_passwords(idp: Any) -> None:
    pool_id = _pool(idp, "srp-wrong")
    client_id = _client(idp, pool_id)["ClientId"]
    _user(idp, pool_id, "dee")
    srp = SrpClient("dee", PASSWORD, pool_id, client_id)

    def challenge() -> dict[str, str]:
        started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
        return dict(started["ChallengeParameters"])

    def respond(responses: dict[str, str]) -> Any:
        return idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)

    assert _error(lambda: respond(srp.answer(challenge(), _now(), password="Wr0ng-Horse!"))) == INCORRECT
    good = srp.answer(challenge(), _now())
    assert respond(good)["AuthenticationResult"]
    assert _error(lambda: respond(good)) == INCORRECT  # a SECRET_BLOCK serves once
    forged = srp.answer({**challenge(), "SECRET_BLOCK": "Zm9yZ2VkIGJsb2Nr"}, _now())
    assert _error(lambda: respond(forged)) == INCORRECT


def test_the_flow_must_be_allowed_and_srp_a_must_be_a_real_public_value(idp: Any) -> None:
    pool_id = _pool(idp, "srp-refusals")
    password_only = _client(idp, pool_id, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["ClientId"]
    client_id = _client(idp, pool_id)["ClientId"]
    _user(idp, pool_id, "eve")
    srp = SrpClient("eve", PASSWORD, pool_id, password_only)
    assert _error(lambda: idp.initiate_auth(ClientId=password_only, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())) == (
        "InvalidParameterException",
        "USER_SRP_AUTH is not enabled for the client.",
    )
    # A client made without ExplicitAuthFlows allows SRP, as Cognito's default does.
    default = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="default")["UserPoolClient"]["ClientId"]
    assert idp.initiate_auth(ClientId=default, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())["ChallengeName"]
    # A multiple of N would make the shared secret 0 whatever the password (RFC 5054 2.5.4).
    for bad in (f"{BIG_N:x}", f"{2 * BIG_N:x}", "0", "0x12", "zz", "1" * 2000):
        code, _ = _error(
            lambda a=bad: idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters={"USERNAME": "eve", "SRP_A": a})
        )
        assert code == "InvalidParameterException"
    assert _error(lambda: idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters={"USERNAME": "eve"})) == (
        "InvalidParameterException",
        "Missing required parameter SRP_A",
    )


def test_a_secret_client_needs_the_secret_hash_on_both_steps(idp: Any) -> None:
    pool_id = _pool(idp, "srp-secret")
    client = _client(idp, pool_id, GenerateSecret=True)
    _user(idp, pool_id, "fay")
    client_id = client["ClientId"]
    bare = SrpClient("fay", PASSWORD, pool_id, client_id)
    assert _error(lambda: idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=bare.auth_parameters())) == (
        "NotAuthorizedException",
        f"Client {client_id} is configured for secret but secret was not received",
    )
    srp = SrpClient("fay", PASSWORD, pool_id, client_id, client["ClientSecret"])
    started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
    responses = srp.answer(started["ChallengeParameters"], _now())
    responses["SECRET_HASH"] = secret_hash("fay", client_id, "not-the-secret")
    code, message = _error(
        lambda: idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)
    )
    assert (code, message) == ("NotAuthorizedException", f"Unable to verify secret hash for client {client_id}")


def test_timestamps_in_another_format_are_refused(idp: Any) -> None:
    pool_id = _pool(idp, "srp-timestamp")
    client_id = _client(idp, pool_id)["ClientId"]
    _user(idp, pool_id, "gus")
    srp = SrpClient("gus", PASSWORD, pool_id, client_id)

    def attempt(stamp: str) -> tuple[str, str]:
        started = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
        responses = srp.answer(started["ChallengeParameters"], _now(), stamp=stamp)
        return _error(
            lambda: idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses)
        )

    now = _now()
    for stamp in (now.isoformat(), now.strftime("%A %B %d %H:%M:%S UTC %Y"), timestamp(now).replace(":", ".", 1)):
        assert attempt(stamp) == ("InvalidParameterException", "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english.")


def test_an_unknown_user_is_told_apart_only_when_the_client_is_legacy(idp: Any) -> None:
    pool_id = _pool(idp, "srp-unknown")
    hidden = _client(idp, pool_id, PreventUserExistenceErrors="ENABLED")["ClientId"]
    legacy = _client(idp, pool_id, PreventUserExistenceErrors="LEGACY")["ClientId"]
    srp = SrpClient("nobody", PASSWORD, pool_id, hidden)
    assert _error(lambda: idp.initiate_auth(ClientId=legacy, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())) == (
        "UserNotFoundException",
        "User does not exist.",
    )
    first = idp.initiate_auth(ClientId=hidden, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
    second = idp.initiate_auth(ClientId=hidden, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.auth_parameters())
    decoy, again = first["ChallengeParameters"], second["ChallengeParameters"]
    assert first["ChallengeName"] == "PASSWORD_VERIFIER"
    # Cognito's simulated answer: the same salt and a UUID user id for the same name, every time.
    assert decoy["SALT"] == again["SALT"] and decoy["USER_ID_FOR_SRP"] == again["USER_ID_FOR_SRP"]
    assert uuid.UUID(decoy["USER_ID_FOR_SRP"])
    assert re.fullmatch(r"[0-9a-f]{32}", decoy["SALT"])
    other = idp.initiate_auth(ClientId=hidden, AuthFlow="USER_SRP_AUTH", AuthParameters={**srp.auth_parameters(), "USERNAME": "somebody"})
    assert other["ChallengeParameters"]["SALT"] != decoy["SALT"]
    responses = srp.answer(decoy, _now())
    assert (
        _error(lambda: idp.respond_to_auth_challenge(ClientId=hidden, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses))
        == INCORRECT
    )


# -- under a clock the test moves ------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 5, 9, 30, tzinfo=UTC))


@pytest.fixture
def pools(tmp_path: Path, clock: FakeClock) -> SqliteUserPools:
    store = SqliteUserPools(Database(tmp_path / "db.sqlite"), clock, region="us-east-1", account_id="111111111111")
    store.password_cost = Cost(n=2**4, r=1, p=1)  # SRP is under test, not scrypt
    return store


def _store_setup(pools: SqliteUserPools, **client_config: Any) -> tuple[str, str]:
    pool_id = pools.create_user_pool("srp")["Id"]
    client = pools.create_user_pool_client(
        pool_id, "web", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], **client_config
    )
    pools.admin_create_user(pool_id, "hal", temporary_password="Tempor4ry-Pass", message_action="SUPPRESS")
    pools.admin_set_user_password(pool_id, "hal", PASSWORD, permanent=True)
    return pool_id, client["ClientId"]


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(CognitoError) as raised:
        call()
    return raised.value.code, raised.value.message


def _sign_in(pools: SqliteUserPools, clock: FakeClock, pool_id: str, client_id: str, *, password: str = PASSWORD, **answer: Any) -> Any:
    srp = SrpClient("hal", password, pool_id, client_id)
    started = pools.initiate_auth(client_id, "USER_SRP_AUTH", srp.auth_parameters())
    responses = srp.answer(started["ChallengeParameters"], answer.pop("at", clock.now()), **answer)
    return lambda: pools.respond_to_auth_challenge(client_id, "PASSWORD_VERIFIER", None, responses)


def test_the_documented_timestamp_signs_in(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    assert timestamp(clock.now()) == "Sat Dec 5 09:30:00 UTC 2026"
    assert _sign_in(pools, clock, pool_id, client_id)()["AuthenticationResult"]["AccessToken"]


def test_wrong_proofs_count_towards_the_lockout_the_password_flow_shares(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    for _ in range(5):
        assert _refusal(_sign_in(pools, clock, pool_id, client_id, password="Wr0ng-Horse!")) == INCORRECT
    srp = SrpClient("hal", PASSWORD, pool_id, client_id)
    locked = ("NotAuthorizedException", "Password attempts exceeded")
    assert _refusal(lambda: pools.initiate_auth(client_id, "USER_SRP_AUTH", srp.auth_parameters())) == locked
    assert _refusal(lambda: pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", {"USERNAME": "hal", "PASSWORD": PASSWORD})) == locked
    clock.advance(15 * 60)
    assert _sign_in(pools, clock, pool_id, client_id)()["AuthenticationResult"]


def test_a_padded_day_is_parsed_but_fails_the_signature(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    # Cognito signs the canonical form of the moment: a zero-padded day (old warrant) is a wrong proof.
    assert _refusal(_sign_in(pools, clock, pool_id, client_id, stamp="Sat Dec 05 09:30:00 UTC 2026")) == INCORRECT
    assert _sign_in(pools, clock, pool_id, client_id, stamp="Sat Dec 5 09:30:00 UTC 2026")()["AuthenticationResult"]


def test_a_challenge_must_be_answered_within_seconds_whatever_the_auth_session_validity(pools: SqliteUserPools, clock: FakeClock) -> None:
    # Cognito: "respond to this challenge within a few seconds" (RespondToAuthChallenge's PASSWORD_VERIFIER).
    pool_id, client_id = _store_setup(pools, AuthSessionValidity=15)
    late = _sign_in(pools, clock, pool_id, client_id)
    clock.advance(30)
    assert _refusal(late) == INCORRECT
    in_time = _sign_in(pools, clock, pool_id, client_id)
    clock.advance(29)
    assert in_time()["AuthenticationResult"]
    assert _attempts(pools) == []  # a block that expired tested no password: not counted


def _attempts(pools: SqliteUserPools) -> list[tuple[str, int]]:
    rows = pools.db.connection().execute("SELECT action, failures FROM cognito_attempts").fetchall()
    return [(r["action"], r["failures"]) for r in rows]


def test_only_a_wrong_proof_against_a_live_challenge_counts(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    srp = SrpClient("hal", PASSWORD, pool_id, client_id)
    # Anyone who knows the name can push the user's challenge out with five InitiateAuth calls; the
    # user's right answer then fails, but is no failed attempt: it tested no password.
    for _ in range(6):
        started = pools.initiate_auth(client_id, "USER_SRP_AUTH", srp.auth_parameters())
        for _ in range(5):
            pools.initiate_auth(client_id, "USER_SRP_AUTH", {"USERNAME": "hal", "SRP_A": "1f"})
        responses = srp.answer(started["ChallengeParameters"], clock.now())
        assert _refusal(lambda r=responses: pools.respond_to_auth_challenge(client_id, "PASSWORD_VERIFIER", None, r)) == INCORRECT
    # A forged block, and a challenge whose password changed since, neither.
    forged = srp.answer({**started["ChallengeParameters"], "SECRET_BLOCK": "Zm9yZ2VkIGJsb2Nr"}, clock.now())
    assert _refusal(lambda: pools.respond_to_auth_challenge(client_id, "PASSWORD_VERIFIER", None, forged)) == INCORRECT
    stale = _sign_in(pools, clock, pool_id, client_id)
    pools.admin_set_user_password(pool_id, "hal", PASSWORD, permanent=True)  # a new salt and verifier
    assert _refusal(stale) == INCORRECT
    assert _attempts(pools) == []
    assert _refusal(_sign_in(pools, clock, pool_id, client_id, password="Wr0ng-Horse!")) == INCORRECT
    assert _attempts(pools) == [("sign_in", 1)]
    assert _sign_in(pools, clock, pool_id, client_id)()["AuthenticationResult"]


def test_a_timestamp_more_than_five_minutes_off_is_refused(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    for offset, works in ((timedelta(minutes=-5), True), (timedelta(minutes=4, seconds=59), True), (timedelta(minutes=6), False),
                          (timedelta(minutes=-6), False)):  # fmt: skip
        respond = _sign_in(pools, clock, pool_id, client_id, at=clock.now() + offset)
        if works:
            assert respond()["AuthenticationResult"]
        else:
            assert _refusal(respond) == INCORRECT


def test_a_challenge_is_bound_to_its_client_and_user(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    other = pools.create_user_pool_client(pool_id, "other", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])["ClientId"]
    srp = SrpClient("hal", PASSWORD, pool_id, client_id)
    started = pools.initiate_auth(client_id, "USER_SRP_AUTH", srp.auth_parameters())
    responses = srp.answer(started["ChallengeParameters"], clock.now())
    assert _refusal(lambda: pools.respond_to_auth_challenge(other, "PASSWORD_VERIFIER", None, responses)) == INCORRECT
    pools.admin_create_user(pool_id, "ida", temporary_password="Tempor4ry-Pass", message_action="SUPPRESS")
    started = pools.initiate_auth(client_id, "USER_SRP_AUTH", srp.auth_parameters())
    responses = {**srp.answer(started["ChallengeParameters"], clock.now()), "USERNAME": "ida"}
    assert _refusal(lambda: pools.respond_to_auth_challenge(client_id, "PASSWORD_VERIFIER", None, responses)) == INCORRECT


def test_outstanding_challenges_are_bounded_per_user_and_pruned_when_expired(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    srp = SrpClient("hal", PASSWORD, pool_id, client_id)
    challenges = [pools.initiate_auth(client_id, "USER_SRP_AUTH", srp.auth_parameters())["ChallengeParameters"] for _ in range(12)]
    conn = pools.db.connection()
    assert conn.execute("SELECT count(*) FROM cognito_srp_challenges").fetchone()[0] == 5
    # The latest still work; the oldest were dropped.
    assert pools.respond_to_auth_challenge(client_id, "PASSWORD_VERIFIER", None, srp.answer(challenges[-1], clock.now()))
    assert (
        _refusal(lambda: pools.respond_to_auth_challenge(client_id, "PASSWORD_VERIFIER", None, srp.answer(challenges[0], clock.now())))
        == INCORRECT
    )
    clock.advance(3 * 60)
    pools.admin_create_user(pool_id, "jo", temporary_password="Tempor4ry-Pass", message_action="SUPPRESS")
    pools.initiate_auth(client_id, "USER_SRP_AUTH", {"USERNAME": "jo", "SRP_A": srp.auth_parameters()["SRP_A"]})
    assert conn.execute("SELECT count(*) FROM cognito_srp_challenges").fetchone()[0] == 1


def test_a_user_without_a_verifier_is_refused_uncounted_until_a_password_sign_in_makes_one(
    pools: SqliteUserPools, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    pool_id, client_id = _store_setup(pools)
    with pools.db.transaction() as conn:  # as a password set before Sluiceway kept verifiers
        conn.execute("DELETE FROM cognito_srp_verifiers")
    # The right password, again and again: refused, but never counted, so the password sign-in
    # that makes the verifier is not locked out.
    with caplog.at_level(logging.WARNING, logger="sluiceway.backends.local._userpool_auth"):
        for _ in range(6):
            assert _refusal(_sign_in(pools, clock, pool_id, client_id)) == INCORRECT
    assert _attempts(pools) == []
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 6
    assert warned[0].__dict__["pool"] == pool_id and warned[0].__dict__["user"] == "hal"
    assert "USER_PASSWORD_AUTH" in warned[0].getMessage() and "AdminSetUserPassword" in warned[0].getMessage()
    assert not any(PASSWORD in str(r.__dict__) for r in caplog.records)
    assert pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", {"USERNAME": "hal", "PASSWORD": PASSWORD})["AuthenticationResult"]
    assert _sign_in(pools, clock, pool_id, client_id)()["AuthenticationResult"]


@pytest.mark.parametrize("prevent", ["ENABLED", "LEGACY"])
def test_an_unconfirmed_user_is_told_so_whatever_the_password_and_it_is_not_counted(
    pools: SqliteUserPools, clock: FakeClock, prevent: str
) -> None:
    pool_id, client_id = _store_setup(pools, PreventUserExistenceErrors=prevent)
    pools.sign_up(client_id, "una", PASSWORD)
    unconfirmed = ("UserNotConfirmedException", "User is not confirmed.")
    for password in ("Wr0ng-Horse!", PASSWORD) * 3:
        params = {"USERNAME": "una", "PASSWORD": password}
        assert _refusal(lambda p=params: pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", p)) == unconfirmed
        # SRP says so at InitiateAuth, before any proof (the password is never seen there).
        srp = SrpClient("una", password, pool_id, client_id)
        assert _refusal(lambda s=srp: pools.initiate_auth(client_id, "USER_SRP_AUTH", s.auth_parameters())) == unconfirmed
    assert _attempts(pools) == []
    pools.admin_confirm_sign_up(pool_id, "una")
    params = {"USERNAME": "una", "PASSWORD": PASSWORD}
    assert pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", params)["AuthenticationResult"]


def test_a_decoy_challenge_costs_the_writes_a_real_one_costs(pools: SqliteUserPools) -> None:
    """The time of InitiateAuth must not tell a user who exists from one who does not: both write
    (and prune) a challenge row; the decoy's is rolled back, as its name has no user to hold it."""
    pool_id, client_id = _store_setup(pools, PreventUserExistenceErrors="ENABLED")
    srp = SrpClient("hal", PASSWORD, pool_id, client_id)
    conn = pools.db.connection()

    def writes(username: str) -> list[str]:
        seen: list[str] = []
        conn.set_trace_callback(seen.append)
        try:
            pools.initiate_auth(client_id, "USER_SRP_AUTH", {**srp.auth_parameters(), "USERNAME": username})
        finally:
            conn.set_trace_callback(None)
        return [" ".join(q.split()[:3]) for q in seen if q.split()[0] in ("INSERT", "DELETE", "BEGIN", "COMMIT")]

    real, decoy = writes("hal"), writes("nobody")
    assert real == decoy and any(q.startswith("INSERT INTO cognito_srp_challenges") for q in decoy)
    assert conn.execute("SELECT count(*) FROM cognito_srp_challenges").fetchone()[0] == 1  # the decoy's did not stay


def test_every_way_a_password_is_set_keeps_srp_in_step(pools: SqliteUserPools, clock: FakeClock) -> None:
    pool_id, client_id = _store_setup(pools)
    tokens = _sign_in(pools, clock, pool_id, client_id)()["AuthenticationResult"]
    pools.change_password(tokens["AccessToken"], PASSWORD, "Ch4nged-Horse!")
    assert _refusal(_sign_in(pools, clock, pool_id, client_id)) == INCORRECT
    assert _sign_in(pools, clock, pool_id, client_id, password="Ch4nged-Horse!")()["AuthenticationResult"]
    # A disabled user's right proof is refused as the password flow refuses them.
    pools.admin_disable_user(pool_id, "hal")
    assert _refusal(_sign_in(pools, clock, pool_id, client_id, password="Ch4nged-Horse!")) == (
        "NotAuthorizedException",
        "User is disabled.",
    )
