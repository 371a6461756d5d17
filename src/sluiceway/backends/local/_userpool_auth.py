"""Signing in to user pools: InitiateAuth's password, SRP (USER_SRP_AUTH) and refresh flows, the
PASSWORD_VERIFIER and NEW_PASSWORD_REQUIRED challenges, the OAuth2 client_credentials and
refresh_token grants, token checks and revocation.

SRP never shows the server the password: InitiateAuth answers the client's A with the user's salt,
B and a SECRET_BLOCK; the client's PASSWORD_VERIFIER answer signs the block and a TIMESTAMP with the
key both sides derive (the math is cognito/srp.py's, the rows _userpool_srp.py's). A wrong proof is a
wrong password: same message, counted towards the same lockout, but only a proof checked against a
live challenge of the user's is counted: an answer to a challenge that expired, was pushed out by
later ones or was never issued tested no password, and counting it would let anyone who knows a name
lock its user out. An unconfirmed user is told so whatever the password, before any is checked, as
Cognito does.

Wrong passwords count towards Cognito's lockout (cognito/lockout.py): after five, the user's
sign-ins are refused with "Password attempts exceeded" for a wait that doubles with each further
failure, up to 15 minutes; the store's clock decides, so tests move time rather than sleep.

Every sign-in is a row (``cognito_sign_ins``) keyed by the ``origin_jti`` its tokens carry and
holding its refresh token's hash: RevokeToken, GlobalSignOut and AdminDisableUser revoke rows, and
a token whose row is revoked fails GetUser with "Access Token has been revoked", as in Cognito.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from ...cognito import jwt, srp
from ...cognito.errors import CognitoError, OAuthError
from ...cognito.lockout import Attempts
from ...cognito.passwords import DEFAULT_COST, check_policy, hash_password, verify_password
from ...cognito.tokens import (
    USER_ADMIN_SCOPE,
    Session,
    UserClaims,
    access_claims,
    client_credentials_claims,
    id_claims,
    secrets_match,
    validity_of,
)
from ._userpool_srp import Challenge, decoy_secret, issue_challenge, rehearse_challenge, store_verifier, take_challenge, verifier_of
from ._userpool_users import User, UserPoolUsers

__all__ = ["UserPoolAuth"]

logger = logging.getLogger(__name__)

#: Verified against when the user does not exist, so that an unknown user costs what a wrong password costs.
_DUMMY_HASH = hash_password("not a password", b"sluiceway-dummy-salt", DEFAULT_COST)
_REFRESH_HEADER = jwt.b64url_encode(json.dumps({"cty": "JWT", "enc": "A256GCM", "alg": "RSA-OAEP"}, separators=(",", ":")).encode())
_PASSWORD_FLOWS = {
    # flow -> (ExplicitAuthFlows that allow it, the message when none does)
    "USER_PASSWORD_AUTH": ({"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"}, "USER_PASSWORD_AUTH flow not enabled for this client"),
    "ADMIN_USER_PASSWORD_AUTH": ({"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"}, "Auth flow not enabled for this client"),
    "ADMIN_NO_SRP_AUTH": ({"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"}, "Auth flow not enabled for this client"),
}
_ADMIN_FLOWS = frozenset({"ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "USER_SRP_AUTH"})
_USER_FLOWS = frozenset({"USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "USER_SRP_AUTH"})
_INCORRECT = "Incorrect username or password."
#: How far a PASSWORD_VERIFIER's TIMESTAMP may be from the server's clock. Cognito does not document
#: its tolerance (clients more than about five minutes off are reported to fail): five minutes.
_TIMESTAMP_SKEW_S = 5 * 60
_TIMESTAMP_FORMAT = "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."


#: AuthFlowType's values, in the model's order (the order Cognito's validation message lists them in).
_AUTH_FLOW_TYPES = (
    "USER_SRP_AUTH", "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN", "CUSTOM_AUTH", "ADMIN_NO_SRP_AUTH", "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH", "USER_AUTH",
)  # fmt: skip


_SIGN_IN = "sign_in"
"""The action wrong passwords count against (cognito_attempts)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _as_costly_as_a_proof() -> None:
    """Spend what checking a proof spends (:meth:`Challenge.issued_for`, then the key), when there is
    none to check (no such user, no such challenge), so that the time an answer takes does not tell which."""
    srp.server_public(secrets.randbits(3071), secrets.randbits(256))
    srp.session_key(secrets.randbits(3071), secrets.randbits(3071), secrets.randbits(256), secrets.randbits(3071))


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def _password_verifier(user_id: str, salt: str, b_public: int, block: str) -> dict[str, Any]:
    """InitiateAuth's PASSWORD_VERIFIER challenge, as Cognito words it (USERNAME is the username
    proper too, which a client answers with)."""
    return {
        "ChallengeName": "PASSWORD_VERIFIER",
        "ChallengeParameters": {"SALT": salt, "SECRET_BLOCK": block, "SRP_B": format(b_public, "x"), "USERNAME": user_id,
                                "USER_ID_FOR_SRP": user_id},
    }  # fmt: skip


class UserPoolAuth(UserPoolUsers):
    """Sign-in, tokens and sign-out (see :class:`~.userpools.SqliteUserPools`)."""

    # -------------------------------------------------------------- InitiateAuth

    def initiate_auth(
        self, client_id: str, auth_flow: str, auth_parameters: Mapping[str, str], *, pool_id: str | None = None
    ) -> dict[str, Any]:
        """InitiateAuth (``pool_id`` None) or AdminInitiateAuth: AuthenticationResult, or a challenge.

        Returns:
            ``{"AuthenticationResult": {AccessToken, ExpiresIn, TokenType, RefreshToken, IdToken}}``, or
            ``{"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": ..., "ChallengeParameters": {...}}``, or
            for USER_SRP_AUTH ``{"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": {...}}``.

        Raises:
            CognitoError: as Cognito: InvalidParameterException for a flow the client does not allow,
                NotAuthorizedException "Incorrect username or password.", UserNotConfirmedException...
        """
        if auth_flow not in _AUTH_FLOW_TYPES:
            raise CognitoError(
                "InvalidParameterException",
                f"1 validation error detected: Value '{auth_flow}' at 'authFlow' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(_AUTH_FLOW_TYPES)}]",
            )
        client = self.must_client(client_id) if pool_id is None else self.describe_user_pool_client(pool_id, client_id)
        allowed = _ADMIN_FLOWS if pool_id is not None else _USER_FLOWS
        if auth_flow not in allowed:
            if auth_flow in ("CUSTOM_AUTH", "USER_AUTH"):
                # Real flows of Cognito that Sluiceway does not serve (Lambda triggers, passwordless): said, never faked.
                raise CognitoError("UnsupportedOperationException", f"{auth_flow} is not served by the Sluiceway endpoint")
            raise CognitoError("InvalidParameterException", "Initiate Auth method not supported")
        params = dict(auth_parameters or {})
        if auth_flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return self._refresh(client, params)
        if auth_flow == "USER_SRP_AUTH":
            return self._srp_challenge(client, params)
        flows, message = _PASSWORD_FLOWS[auth_flow]
        if not flows & set(client["ExplicitAuthFlows"]):
            raise CognitoError("InvalidParameterException", message)
        for name in ("USERNAME", "PASSWORD"):
            if not params.get(name):
                raise CognitoError("InvalidParameterException", f"Missing required parameter {name}")
        username = params["USERNAME"]
        self.check_secret_hash(client, username, params.get("SECRET_HASH"))
        pool = self.must_pool(client["UserPoolId"])
        user = self._find(self.db.connection(), pool, username)
        now = self.clock.now().timestamp()
        if user is not None and self._attempts(self.db.connection(), user, _SIGN_IN, now).locked(now):
            # Refused unheard, the right password too, and not counted (Cognito's lockout).
            raise CognitoError("NotAuthorizedException", "Password attempts exceeded")
        if user is not None:
            self._refuse_unconfirmed(user)
        if not verify_password(params["PASSWORD"], (user.password_hash if user else None) or _DUMMY_HASH) or user is None:
            if user is not None:
                self._sign_in_failed(user, now)
            if user is None and client.get("PreventUserExistenceErrors") == "LEGACY":
                raise CognitoError("UserNotFoundException", "User does not exist.")
            raise CognitoError("NotAuthorizedException", _INCORRECT)
        self._sign_in_succeeded(user)
        self._keep_verifier(user, params["PASSWORD"])
        return self._password_proven(client, user)

    @staticmethod
    def _refuse_unconfirmed(user: User) -> None:
        """UserNotConfirmedException for an unconfirmed user, whatever the password, and not counted.

        Cognito answers so before it looks at the password (AWS calls it intended: apps send such a
        user to ConfirmSignUp; amazon-cognito-identity-js #288, amplify-js #11209), with
        PreventUserExistenceErrors too, which hides only users who do not exist. A disabled user is
        left to :meth:`_password_proven`, which refuses them as disabled first, as before.
        """
        if user.enabled and user.status == "UNCONFIRMED":
            raise CognitoError("UserNotConfirmedException", "User is not confirmed.")

    def _password_proven(self, client: Mapping[str, Any], user: User) -> dict[str, Any]:
        """What follows a right password, however it was proven (PASSWORD or SRP's PASSWORD_VERIFIER)."""
        if not user.enabled:
            raise CognitoError("NotAuthorizedException", "User is disabled.")
        if user.status == "UNCONFIRMED":
            raise CognitoError("UserNotConfirmedException", "User is not confirmed.")
        if user.status == "RESET_REQUIRED":
            raise CognitoError("PasswordResetRequiredException", "Password reset required for the user")
        if user.status == "FORCE_CHANGE_PASSWORD":
            return self._challenge(client, user)
        return {"ChallengeParameters": {}, "AuthenticationResult": self._sign_in(client, user)}

    # -------------------------------------------------------------- USER_SRP_AUTH

    def _srp_challenge(self, client: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        """USER_SRP_AUTH's first step: the PASSWORD_VERIFIER challenge (SALT, SRP_B, SECRET_BLOCK).

        As Cognito answers it, with no Session: the SECRET_BLOCK is what the answer presents. For a
        user who does not exist, a LEGACY client is told so; otherwise the challenge is a decoy that
        no answer can meet, its SALT and USER_ID_FOR_SRP the same for the same name every time, so
        that it tells nothing (Cognito's "Managing user existence error responses"). An unconfirmed
        user is told so here, before any proof. A user with no verifier yet (a password set before
        Sluiceway kept them) gets the decoy too: their answer is refused as a wrong password, but not
        counted, until a password sign-in or AdminSetUserPassword makes their verifier.
        """
        flows = set(client["ExplicitAuthFlows"])
        # Clients with the legacy flow names allowed SRP unless limited to custom authentication.
        if "ALLOW_USER_SRP_AUTH" not in flows and not (flows <= _LEGACY and "CUSTOM_AUTH_FLOW_ONLY" not in flows):
            raise CognitoError("InvalidParameterException", "USER_SRP_AUTH is not enabled for the client.")
        for name in ("USERNAME", "SRP_A"):
            if not params.get(name):
                raise CognitoError("InvalidParameterException", f"Missing required parameter {name}")
        username = params["USERNAME"]
        self.check_secret_hash(client, username, params.get("SECRET_HASH"))
        a_public = srp.parse_public(params["SRP_A"])
        if a_public is None:
            raise CognitoError("InvalidParameterException", "SRP_A is not valid.")
        # DEVICE_KEY is ignored: Sluiceway tracks no devices, so it never hands one out (ConfirmDevice).
        pool = self.must_pool(client["UserPoolId"])
        conn = self.db.connection()
        user = self._find(conn, pool, username)
        now = self.clock.now().timestamp()
        if user is None:
            if client.get("PreventUserExistenceErrors") == "LEGACY":
                raise CognitoError("UserNotFoundException", "User does not exist.")
            name_key = self._username_key(pool, username)
        else:
            if self._attempts(conn, user, _SIGN_IN, now).locked(now):
                raise CognitoError("NotAuthorizedException", "Password attempts exceeded")
            self._refuse_unconfirmed(user)
            name_key = user.key
        kept = verifier_of(conn, pool["Id"], name_key)  # None for a name with no user: read all the same
        if kept is None:
            # A decoy: a salt and id the same for the same name every time, and a challenge row made
            # as a real one is (verifier 0: no password answers it), so that neither what comes back
            # nor the work behind it tells it apart.
            salt, decoy_id = srp.decoy(decoy_secret(conn, pool["Id"]), name_key)
            verifier = 0
        else:
            (salt, verifier), decoy_id = kept, ""
        with self.db.transaction() as write:
            issue = issue_challenge if user is not None else rehearse_challenge
            b_public, block = issue(
                write, pool_id=pool["Id"], client_id=client["ClientId"], username_key=name_key, a_public=a_public,
                verifier=verifier, now=int(now),
            )  # fmt: skip
        return _password_verifier(user.username if user is not None else decoy_id, salt, b_public, base64.b64encode(block).decode())

    def _srp_answer(self, client: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        """RespondToAuthChallenge's PASSWORD_VERIFIER: the proof checked, then as a right password goes on.

        The block is taken (a write transaction) and a proof's worth of work spent whatever the user
        and the block, so that the time of the answer tells little: only a block that stands for a row
        costs the row's delete (a decoy of a name with no user never had one), a difference far smaller
        than the exponentiations'. Only a wrong proof against a live challenge of this user, this
        client and their current verifier counts towards the lockout.
        """
        for name in ("PASSWORD_CLAIM_SIGNATURE", "PASSWORD_CLAIM_SECRET_BLOCK", "TIMESTAMP", "USERNAME"):
            if not params.get(name):
                raise CognitoError("InvalidParameterException", f"Missing required parameter {name}")
        self.check_secret_hash(client, params["USERNAME"], params.get("SECRET_HASH"))
        moment = srp.parse_timestamp(params["TIMESTAMP"])
        if moment is None:
            raise CognitoError("InvalidParameterException", _TIMESTAMP_FORMAT)
        pool = self.must_pool(client["UserPoolId"])
        user = self._find(self.db.connection(), pool, params["USERNAME"])
        now = self.clock.now().timestamp()
        if user is not None and self._attempts(self.db.connection(), user, _SIGN_IN, now).locked(now):
            raise CognitoError("NotAuthorizedException", "Password attempts exceeded")
        block = _b64decode(params["PASSWORD_CLAIM_SECRET_BLOCK"])
        with self.db.transaction() as conn:
            challenge = take_challenge(conn, block) if block else None
            # Read for a name with no user too (finding none), so that the work is the same.
            kept = verifier_of(conn, pool["Id"], user.key if user is not None else self._username_key(pool, params["USERNAME"]))
        expected, live = None, False
        if user is not None and kept is not None and challenge is not None and self._live(challenge, client, user, kept[1], now):
            live = True
            key = srp.session_key(challenge.a_public, challenge.b_public, challenge.b, kept[1])
            if key is not None:
                # Over the canonical form of the moment, not the text sent (see srp.format_timestamp).
                expected = srp.claim_signature(key, user.pool_id, user.username, block or b"", srp.format_timestamp(moment))
        else:
            _as_costly_as_a_proof()
        if user is None:
            if client.get("PreventUserExistenceErrors") == "LEGACY":
                raise CognitoError("UserNotFoundException", "User does not exist.")
            raise CognitoError("NotAuthorizedException", _INCORRECT)
        self._refuse_unconfirmed(user)
        if kept is None:
            logger.warning(
                "SRP sign-in refused: the user has no SRP verifier yet; a USER_PASSWORD_AUTH sign-in or AdminSetUserPassword makes one",
                extra={"pool": user.pool_id, "user": user.username},
            )
            raise CognitoError("NotAuthorizedException", _INCORRECT)
        given = _b64decode(params["PASSWORD_CLAIM_SIGNATURE"]) or b""
        if expected is None or not srp.signatures_match(given, expected):
            if live:  # a proof that tested a password; any other tested nothing and is not counted
                self._sign_in_failed(user, now)
            raise CognitoError("NotAuthorizedException", _INCORRECT)
        if abs(moment.timestamp() - now) > _TIMESTAMP_SKEW_S:
            # The password was right, the client's clock is not: refused, but no failed attempt.
            raise CognitoError("NotAuthorizedException", _INCORRECT)
        self._sign_in_succeeded(user)
        return self._password_proven(client, user)

    @staticmethod
    def _live(challenge: Challenge, client: Mapping[str, Any], user: User, verifier: int, now: float) -> bool:
        """Whether ``challenge`` is one a proof of ``user``'s password can be checked against."""
        return (
            challenge.pool_id == user.pool_id
            and challenge.client_id == client["ClientId"]
            and challenge.username_key == user.key
            and challenge.expires_at > now
            and challenge.issued_for(verifier)
        )

    def _keep_verifier(self, user: User, password: str) -> None:
        """Make the SRP verifier of a user who has none, now that their password is known to be right."""
        if verifier_of(self.db.connection(), user.pool_id, user.key) is not None:
            return
        with self.db.transaction() as conn:
            if verifier_of(conn, user.pool_id, user.key) is None:
                store_verifier(conn, user.pool_id, user.key, user.username, password)

    def _sign_in_failed(self, user: User, now: float) -> None:
        with self.db.transaction() as conn:
            # Read again under the write lock: a failure counted meanwhile by another request
            # counts once, and one that arrives during the lockout it started is not counted.
            attempts = self._attempts(conn, user, _SIGN_IN, now)
            if not attempts.locked(now):
                self._record_attempts(conn, user, _SIGN_IN, attempts.failed(now))

    def _sign_in_succeeded(self, user: User) -> None:
        row = (
            self.db.connection()
            .execute("SELECT 1 FROM cognito_attempts WHERE pool_id=? AND username_key=? AND action=?", (user.pool_id, user.key, _SIGN_IN))
            .fetchone()
        )
        if row is not None:  # most sign-ins have nothing to forget: no write for them
            with self.db.transaction() as conn:
                self._record_attempts(conn, user, _SIGN_IN, Attempts())

    def _challenge(self, client: Mapping[str, Any], user: User) -> dict[str, Any]:
        session = base64.urlsafe_b64encode(secrets.token_bytes(96)).decode()
        expires = _epoch(self.clock.now()) + 60 * int(client.get("AuthSessionValidity") or 3)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cognito_sessions (session_hash, pool_id, client_id, username_key, challenge, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_digest(session), user.pool_id, client["ClientId"], user.key, "NEW_PASSWORD_REQUIRED", expires),
            )
        attributes = {k: v for k, v in user.attributes.items() if not k.endswith("_verified")}
        return {
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": session,
            "ChallengeParameters": {"USER_ID_FOR_SRP": user.username, "requiredAttributes": "[]", "userAttributes": json.dumps(attributes)},
        }

    def respond_to_auth_challenge(
        self, client_id: str, challenge_name: str, session: str | None, responses: Mapping[str, str], *, pool_id: str | None = None
    ) -> dict[str, Any]:
        """RespondToAuthChallenge / AdminRespondToAuthChallenge for PASSWORD_VERIFIER and NEW_PASSWORD_REQUIRED."""
        client = self.must_client(client_id) if pool_id is None else self.describe_user_pool_client(pool_id, client_id)
        params = dict(responses or {})
        if challenge_name == "PASSWORD_VERIFIER":
            return self._srp_answer(client, params)  # no Session: the SECRET_BLOCK stands for it
        if challenge_name != "NEW_PASSWORD_REQUIRED":
            raise CognitoError("InvalidParameterException", f"{challenge_name} challenges are not served by the Sluiceway endpoint")
        for name in ("USERNAME", "NEW_PASSWORD"):
            if not params.get(name):
                raise CognitoError("InvalidParameterException", f"Missing required parameter {name}")
        self.check_secret_hash(client, params["USERNAME"], params.get("SECRET_HASH"))
        pool = self.must_pool(client["UserPoolId"])
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM cognito_sessions WHERE session_hash=?", (_digest(session or ""),)).fetchone()
            user = self._find(conn, pool, params["USERNAME"])
            if row is None or user is None or row["client_id"] != client["ClientId"] or row["username_key"] != user.key:
                raise CognitoError("NotAuthorizedException", "Invalid session for the user.")
            if row["expires_at"] <= _epoch(self.clock.now()):
                conn.execute("DELETE FROM cognito_sessions WHERE session_hash=?", (row["session_hash"],))
                raise CognitoError("NotAuthorizedException", "Invalid session for the user, session is expired.")
            check_policy(params["NEW_PASSWORD"], pool["Policies"]["PasswordPolicy"])
            changes = {k.removeprefix("userAttributes."): v for k, v in params.items() if k.startswith("userAttributes.")}
            if changes:
                self._challenge_attributes(conn, pool, client, user, changes)
            self._set_password(conn, user, params["NEW_PASSWORD"], "CONFIRMED")
            conn.execute("DELETE FROM cognito_sessions WHERE session_hash=?", (row["session_hash"],))
            user = self._must_user(conn, user.pool_id, user.username)
        return {"ChallengeParameters": {}, "AuthenticationResult": self._sign_in(client, user)}

    def _challenge_attributes(
        self, conn: sqlite3.Connection, pool: Mapping[str, Any], client: Mapping[str, Any], user: User, changes: dict[str, str]
    ) -> None:
        """Write the attributes a NEW_PASSWORD_REQUIRED answer sets, with UpdateUserAttributes's checks
        (the account layer, which owns them, provides this)."""
        raise NotImplementedError

    # -------------------------------------------------------------- tokens

    def _claims_of(self, conn: sqlite3.Connection, user: User) -> UserClaims:
        groups = self.admin_list_groups_for_user(user.pool_id, user.username)
        return UserClaims(
            sub=user.sub,
            username=user.username,
            attributes=user.attributes,
            groups=[g["GroupName"] for g in groups],
            roles=[g["RoleArn"] for g in groups if g.get("RoleArn")],
        )

    def _sign_in(self, client: Mapping[str, Any], user: User) -> dict[str, Any]:
        """A new sign-in's tokens (and its row, which its refresh token and revocation use)."""
        now = self.clock.now()
        validity = validity_of(client)
        session = Session(origin_jti=str(uuid.uuid4()), event_id=str(uuid.uuid4()), auth_time=_epoch(now))
        refresh = ".".join([_REFRESH_HEADER] + [jwt.b64url_encode(secrets.token_bytes(n)) for n in (256, 12, 1024, 16)])
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cognito_sign_ins (origin_jti, token_hash, pool_id, client_id, username_key, event_id, auth_time, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session.origin_jti, _digest(refresh), user.pool_id, client["ClientId"], user.key, session.event_id, session.auth_time,
                 session.auth_time + validity.refresh_s),
            )  # fmt: skip
            tokens = self._tokens(conn, client, user, session, now)
        return {**tokens, "RefreshToken": refresh}

    def _tokens(self, conn: sqlite3.Connection, client: Mapping[str, Any], user: User, session: Session, now: datetime) -> dict[str, Any]:
        validity = validity_of(client)
        key, kid = self.signing_key(user.pool_id)
        claims = self._claims_of(conn, user)
        issuer = self.issuer(user.pool_id)
        common = {"issuer": issuer, "client_id": client["ClientId"], "session": session, "now": now}
        access = access_claims(claims, **common, jti=str(uuid.uuid4()), lifetime_s=validity.access_s)
        identity = id_claims(claims, **common, jti=str(uuid.uuid4()), lifetime_s=validity.id_s)
        return {
            "AccessToken": jwt.sign(access, key, kid),
            "ExpiresIn": validity.access_s,
            "TokenType": "Bearer",
            "IdToken": jwt.sign(identity, key, kid),
        }

    def _refresh(self, client: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        if not ({"ALLOW_REFRESH_TOKEN_AUTH"} | _LEGACY) & set(client["ExplicitAuthFlows"]):
            raise CognitoError("InvalidParameterException", "REFRESH_TOKEN_AUTH flow not enabled for this client")
        token = params.get("REFRESH_TOKEN")
        if not token:
            raise CognitoError("InvalidParameterException", "Missing required parameter REFRESH_TOKEN")
        return {
            "ChallengeParameters": {},
            "AuthenticationResult": self.refresh(client, token, secret_hash_=params.get("SECRET_HASH"), username=params.get("USERNAME")),
        }

    def refresh(
        self,
        client: Mapping[str, Any],
        token: str,
        *,
        secret_hash_: str | None = None,
        username: str | None = None,
        check_secret: bool = True,
    ) -> dict[str, Any]:
        """New access and ID tokens for a refresh token of ``client`` (no new refresh token: Cognito keeps the one)."""
        now = self.clock.now()
        conn = self.db.connection()
        row = conn.execute("SELECT * FROM cognito_sign_ins WHERE token_hash=?", (_digest(token),)).fetchone()
        if row is None or row["client_id"] != client["ClientId"]:
            raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
        user_row = conn.execute(
            "SELECT username FROM cognito_users WHERE pool_id=? AND username_key=?", (row["pool_id"], row["username_key"])
        ).fetchone()
        if check_secret and user_row is not None:
            # Cognito computes the SecretHash of a refresh over the username (or, for email-as-username pools, the sub).
            self.check_secret_hash(client, username or user_row["username"], secret_hash_, also=[user_row["username"]])
        if row["revoked"]:
            raise CognitoError("NotAuthorizedException", "Refresh Token has been revoked")
        if row["expires_at"] <= _epoch(now):
            raise CognitoError("NotAuthorizedException", "Refresh Token has expired")
        if user_row is None:
            raise CognitoError("NotAuthorizedException", "Invalid Refresh Token")
        user = self._must_user(conn, row["pool_id"], user_row["username"])
        if not user.enabled:
            raise CognitoError("NotAuthorizedException", "User is disabled.")
        session = Session(origin_jti=row["origin_jti"], event_id=row["event_id"], auth_time=int(row["auth_time"]))
        return self._tokens(conn, client, user, session, now)

    def verify_token(self, token: str, *, pool_id: str, token_use: Literal["access", "id"], now: datetime) -> dict[str, Any]:
        """The claims of ``token`` once Cognito would accept it for ``pool_id``.

        Checks the RS256 signature with the pool's key, ``iss``, ``token_use``, ``exp``, that the
        client (``client_id`` or ``aud``) is one of the pool's, and that the sign-in it came from
        is not revoked.

        Raises:
            CognitoError: NotAuthorizedException "Invalid Access Token", "Access Token has expired",
                "Access Token has been revoked" (``Id Token`` for ID tokens).
        """
        label = "Access Token" if token_use == "access" else "Id Token"
        invalid = CognitoError("NotAuthorizedException", f"Invalid {label}")
        try:
            claims = jwt.verify_signature(token, self.jwks(pool_id))
        except (jwt.TokenError, CognitoError):
            raise invalid from None
        if claims.get("iss") != self.issuer(pool_id) or claims.get("token_use") != token_use:
            raise invalid
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise invalid
        if exp <= _epoch(now):
            raise CognitoError("NotAuthorizedException", f"{label} has expired")
        client_id = claims.get("client_id" if token_use == "access" else "aud")
        conn = self.db.connection()
        if (
            not isinstance(client_id, str)
            or conn.execute("SELECT 1 FROM cognito_clients WHERE client_id=? AND pool_id=?", (client_id, pool_id)).fetchone() is None
        ):
            raise invalid
        origin = claims.get("origin_jti")
        if origin is not None:
            row = conn.execute("SELECT revoked FROM cognito_sign_ins WHERE origin_jti=? AND pool_id=?", (origin, pool_id)).fetchone()
            if row is None or row["revoked"]:
                raise CognitoError("NotAuthorizedException", f"{label} has been revoked")
        return claims

    def _access(self, access_token: str) -> tuple[dict[str, Any], User]:
        """The claims and user of an access token GetUser or GlobalSignOut is given."""
        try:
            issuer = jwt.unverified_claims(access_token).get("iss")
        except jwt.TokenError:
            raise CognitoError("NotAuthorizedException", "Invalid Access Token") from None
        pool_id = self.pool_for_issuer(issuer) if isinstance(issuer, str) else None
        if pool_id is None:
            raise CognitoError("NotAuthorizedException", "Invalid Access Token")
        claims = self.verify_token(access_token, pool_id=pool_id, token_use="access", now=self.clock.now())
        if USER_ADMIN_SCOPE not in str(claims.get("scope", "")).split():
            raise CognitoError("NotAuthorizedException", "Access Token does not have required scopes")
        user = self._find(self.db.connection(), self.must_pool(pool_id), str(claims.get("username", "")))
        if user is None or user.sub != claims.get("sub"):
            raise CognitoError("UserNotFoundException", "User does not exist.")
        return claims, user

    def get_user(self, access_token: str) -> User:
        """GetUser: the user an access token is for."""
        return self._access(access_token)[1]

    def global_sign_out(self, access_token: str) -> None:
        """GlobalSignOut: every refresh token of the user is revoked, and the access tokens of those sign-ins."""
        _, user = self._access(access_token)
        self._sign_out(user)

    def admin_user_global_sign_out(self, pool_id: str, username: str) -> None:
        self._sign_out(self.admin_get_user(pool_id, username))

    def _sign_out(self, user: User) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE cognito_sign_ins SET revoked=1 WHERE pool_id=? AND username_key=?", (user.pool_id, user.key))

    def revoke_token(self, client_id: str, token: str, client_secret: str | None = None) -> None:
        """RevokeToken: a refresh token, and the access tokens issued with it. An unknown token is no error (RFC 7009)."""
        try:
            client = self.must_client(client_id)
        except CognitoError:
            raise CognitoError("UnauthorizedException", "Invalid client") from None
        secret = client.get("ClientSecret")
        if secret and not (client_secret and secrets_match(client_secret, secret)):
            raise CognitoError("UnauthorizedException", "Invalid client secret")
        if not client.get("EnableTokenRevocation", True):
            raise CognitoError("UnsupportedOperationException", "Token revocation is not enabled for this client")
        if token.count(".") == 2:
            raise CognitoError("UnsupportedTokenTypeException", "Unsupported token type, only refresh tokens can be revoked")
        with self.db.transaction() as conn:
            conn.execute("UPDATE cognito_sign_ins SET revoked=1 WHERE token_hash=? AND client_id=?", (_digest(token), client_id))

    # -------------------------------------------------------------- the OAuth2 token endpoint

    def client_credentials(self, client_id: str, client_secret: str | None, scope: str | None) -> dict[str, Any]:
        """The client_credentials grant: ``{"access_token", "expires_in", "token_type"}``.

        Raises:
            OAuthError: invalid_client (unknown client, no or wrong secret), unauthorized_client (the
                grant is not allowed to the client), invalid_scope (a scope it is not allowed).
        """
        client = self._oauth_client(client_id, client_secret)
        if "client_credentials" not in (client.get("AllowedOAuthFlows") or []) or not client.get("AllowedOAuthFlowsUserPoolClient"):
            raise OAuthError("unauthorized_client")
        allowed = list(client.get("AllowedOAuthScopes") or [])
        wanted = scope.split() if scope else allowed
        if not wanted or any(s not in allowed for s in wanted):
            raise OAuthError("invalid_scope")
        now = self.clock.now()
        validity = validity_of(client)
        key, kid = self.signing_key(client["UserPoolId"])
        claims = client_credentials_claims(
            issuer=self.issuer(client["UserPoolId"]),
            client_id=client_id,
            scopes=wanted,
            now=now,
            jti=str(uuid.uuid4()),
            lifetime_s=validity.access_s,
        )
        return {"access_token": jwt.sign(claims, key, kid), "expires_in": validity.access_s, "token_type": "Bearer"}

    def refresh_grant(self, client_id: str, client_secret: str | None, refresh_token: str) -> dict[str, Any]:
        """The refresh_token grant: ``{"id_token", "access_token", "expires_in", "token_type"}``."""
        client = self._oauth_client(client_id, client_secret)
        try:
            tokens = self.refresh(client, refresh_token, check_secret=False)
        except CognitoError:
            raise OAuthError("invalid_grant") from None
        return {
            "id_token": tokens["IdToken"],
            "access_token": tokens["AccessToken"],
            "expires_in": tokens["ExpiresIn"],
            "token_type": "Bearer",
        }

    def _oauth_client(self, client_id: str, client_secret: str | None) -> dict[str, Any]:
        try:
            client = self.must_client(client_id)
        except CognitoError:
            raise OAuthError("invalid_client") from None
        secret = client.get("ClientSecret")
        if secret and not (client_secret and secrets_match(client_secret, secret)):
            raise OAuthError("invalid_client")
        if not secret and client_secret:
            raise OAuthError("invalid_client")
        return client


_LEGACY = frozenset({"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"})
