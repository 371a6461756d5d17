"""User pools' users in SQLite: sign-up and confirmation, the Admin* operations, groups of a user.

There is no mail locally. Where Cognito would send a confirmation code or a generated temporary
password, an INFO record says one was made, without it: a secret in INFO logs reaches every log
collector. The secret itself goes to the logger ``sluiceway.cognito.messages`` at DEBUG only
(``SLUICEWAY_LOG_LEVEL=DEBUG`` shows it). The local ways need neither: AdminConfirmSignUp confirms
a user, AdminSetUserPassword (or ``sluiceway users add``) gives a permanent password.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import sqlite3
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...cognito.errors import CognitoError
from ...cognito.lockout import Attempts
from ...cognito.passwords import DEFAULT_COST, Cost, check_policy, hash_password
from ...cognito.pools import check_attributes, check_username
from ...cognito.tokens import secret_hash, secrets_match
from ...ports import Clock
from ._sqlite import Database
from ._userpool_catalog import UserPoolCatalog
from ._userpool_srp import store_verifier

logger = logging.getLogger(__name__)
#: What Cognito would have mailed: DEBUG only, on a logger of its own (see the module's docstring).
messages = logging.getLogger("sluiceway.cognito.messages")

__all__ = ["User", "UserPoolUsers", "attributes_of"]

_FILTER = re.compile(r'^\s*(?P<name>[\w:]+)\s*(?P<op>\^?=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*$')
_SEARCHABLE = frozenset(
    {"username", "email", "phone_number", "name", "given_name", "family_name", "preferred_username", "cognito:user_status", "status", "sub"}
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class User:
    """A user of a pool, as AdminGetUser describes them."""

    pool_id: str
    username: str
    key: str
    """The username as lookups match it (lower-cased in a case-insensitive pool)."""
    sub: str
    status: str
    """UNCONFIRMED, CONFIRMED, FORCE_CHANGE_PASSWORD or RESET_REQUIRED."""
    enabled: bool
    attributes: dict[str, str]
    """Every attribute but ``sub``, by name."""
    created_at: float
    updated_at: float
    password_hash: str | None = None

    def attribute_list(self) -> list[dict[str, str]]:
        return [{"Name": "sub", "Value": self.sub}] + [{"Name": k, "Value": v} for k, v in self.attributes.items()]

    def to_aws(self, attributes_key: str = "Attributes") -> dict[str, Any]:
        """The UserType of ListUsers (``Attributes``) or AdminCreateUser/AdminGetUser (``UserAttributes``)."""
        return {
            "Username": self.username,
            attributes_key: self.attribute_list(),
            "UserCreateDate": self.created_at,
            "UserLastModifiedDate": self.updated_at,
            "Enabled": self.enabled,
            "UserStatus": self.status,
        }


def attributes_of(given: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """Attributes as a dict, from a dict or from AWS's ``[{"Name": ..., "Value": ...}]``."""
    if given is None:
        return {}
    if isinstance(given, Mapping):
        return {str(k): str(v) for k, v in given.items()}
    return {str(a["Name"]): str(a.get("Value", "")) for a in given}


_CONFIRM = "confirm_sign_up"
"""The action ConfirmSignUp's wrong codes count against."""


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def _sent_temporary_password(pool_id: str, username: str, password: str) -> None:
    logger.info(
        "user pool temporary password made (no invitation is sent locally: AdminSetUserPassword sets a known one)",
        extra={"user_pool": pool_id, "username": username},
    )
    messages.debug("user pool temporary password", extra={"user_pool": pool_id, "username": username, "temporary_password": password})


class UserPoolUsers(UserPoolCatalog):
    """Users of the pools (see :class:`~.userpools.SqliteUserPools`)."""

    def __init__(self, db: Database, clock: Clock, *, region: str, account_id: str, password_cost: Cost = DEFAULT_COST) -> None:
        super().__init__(db, clock, region=region, account_id=account_id)
        self.password_cost = password_cost

    # -------------------------------------------------------------- lookups

    def _username_key(self, pool: Mapping[str, Any], username: str) -> str:
        insensitive = (pool.get("UsernameConfiguration") or {}).get("CaseSensitive") is False
        return username.lower() if insensitive else username

    def _find(self, conn: sqlite3.Connection, pool: Mapping[str, Any], username: str) -> User | None:
        """The user ``username`` names: their username, or an email/phone that is their sign-in name."""
        row = conn.execute(
            "SELECT * FROM cognito_users WHERE pool_id=? AND username_key=?", (pool["Id"], self._username_key(pool, username))
        ).fetchone()
        if row is None:
            for attribute in (pool.get("UsernameAttributes") or []) + (pool.get("AliasAttributes") or []):
                verified = (
                    f"{attribute}_verified"
                    if attribute in ("email", "phone_number") and attribute in (pool.get("AliasAttributes") or [])
                    else None
                )
                for found in conn.execute(
                    "SELECT * FROM cognito_users WHERE pool_id=? AND json_extract(attributes, ?) = ?",
                    (pool["Id"], f'$."{attribute}"', username),
                ):
                    user = _user(found)
                    if verified is None or user.attributes.get(verified) == "true":
                        return user
        return None if row is None else _user(row)

    def _must_user(self, conn: sqlite3.Connection, pool_id: str, username: str) -> User:
        user = self._find(conn, self._pool(conn, pool_id), username)
        if user is None:
            raise CognitoError("UserNotFoundException", "User does not exist.")
        return user

    def admin_get_user(self, pool_id: str, username: str) -> User:
        return self._must_user(self.db.connection(), pool_id, username)

    def list_users(self, pool_id: str, *, filter: str | None = None) -> list[User]:  # noqa: A002 - ListUsers' own name
        """ListUsers: the pool's users by username, those matching ``filter`` (``email ^= "ann"``) only when given."""
        conn = self.db.connection()
        self._pool(conn, pool_id)
        users = [_user(r) for r in conn.execute("SELECT * FROM cognito_users WHERE pool_id=? ORDER BY username_key", (pool_id,))]
        if not filter:
            return users
        found = _FILTER.match(filter)
        if found is None:
            raise CognitoError("InvalidParameterException", "Error while parsing filter.")
        name, op, value = found.group("name"), found.group("op"), re.sub(r"\\(.)", r"\1", found.group("value"))
        if name not in _SEARCHABLE:
            raise CognitoError("InvalidParameterException", f"Invalid search attribute: {name}")
        return [u for u in users if _matches(_searched(u, name), op, value)]

    # -------------------------------------------------------------- creating users

    def admin_create_user(
        self,
        pool_id: str,
        username: str,
        *,
        attributes: Mapping[str, str] | Iterable[Mapping[str, str]] | None = None,
        temporary_password: str | None = None,
        message_action: str | None = None,
    ) -> User:
        """AdminCreateUser: a FORCE_CHANGE_PASSWORD user with a temporary password (generated and logged when not given).

        Raises:
            CognitoError: UsernameExistsException, InvalidPasswordException, InvalidParameterException, ResourceNotFoundException.
        """
        pool = self.must_pool(pool_id)
        given = attributes_of(attributes)
        if message_action == "RESEND":
            return self._resend(pool, username)
        if temporary_password is None:
            temporary_password = _generated_password(pool["Policies"]["PasswordPolicy"])
            if message_action != "SUPPRESS":
                _sent_temporary_password(pool_id, username, temporary_password)
        else:
            check_policy(temporary_password, pool["Policies"]["PasswordPolicy"])
        return self._insert(
            pool, username, given, temporary_password, status="FORCE_CHANGE_PASSWORD", exists_message="User account already exists"
        )

    def _resend(self, pool: Mapping[str, Any], username: str) -> User:
        with self.db.transaction() as conn:
            user = self._find(conn, pool, username)
            if user is None:
                raise CognitoError("UserNotFoundException", "User does not exist.")
            if user.status != "FORCE_CHANGE_PASSWORD":
                raise CognitoError(
                    "UnsupportedUserStateException", f"Resend not possible. {user.username} status is not FORCE_CHANGE_PASSWORD"
                )
            password = _generated_password(pool["Policies"]["PasswordPolicy"])
            self._set_password(conn, user, password, "FORCE_CHANGE_PASSWORD")
        _sent_temporary_password(pool["Id"], username, password)
        return self.admin_get_user(pool["Id"], username)

    def sign_up(
        self,
        client_id: str,
        username: str,
        password: str | None,
        *,
        attributes: Iterable[Mapping[str, str]] | Mapping[str, str] | None = None,
        secret_hash: str | None = None,
    ) -> tuple[User, dict[str, str] | None]:
        """SignUp: an UNCONFIRMED user, and where the confirmation code went (None: nowhere to send it).

        Nothing is mailed locally: the code is logged at DEBUG (see the module's docstring), and
        AdminConfirmSignUp confirms without it.
        """
        client = self.must_client(client_id)
        self.check_secret_hash(client, username, secret_hash)
        pool = self.must_pool(client["UserPoolId"])
        if (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
            raise CognitoError("NotAuthorizedException", "SignUp is not permitted for this user pool")
        if not password:
            raise CognitoError("InvalidParameterException", "Missing required parameter PASSWORD")
        check_policy(password, pool["Policies"]["PasswordPolicy"])
        given = attributes_of(attributes)
        code = f"{secrets.randbelow(10**6):06d}"
        user = self._insert(pool, username, given, password, status="UNCONFIRMED", exists_message="User already exists", code=code)
        logger.info(
            "user pool confirmation code made (nothing is sent locally: AdminConfirmSignUp confirms the user)",
            extra={"user_pool": pool["Id"], "username": user.username},
        )
        messages.debug("user pool confirmation code", extra={"user_pool": pool["Id"], "username": user.username, "code": code})
        delivery = _delivery(pool, user)
        return user, delivery

    def _insert(
        self,
        pool: Mapping[str, Any],
        username: str,
        attributes: dict[str, str],
        password: str,
        *,
        status: str,
        exists_message: str,
        code: str | None = None,
    ) -> User:
        check_username(username)
        by_attribute = pool.get("UsernameAttributes") or []
        if by_attribute:
            # The name given is an email or phone number: it becomes that attribute, and the
            # username proper is the sub (Cognito's behaviour for "email as username" pools).
            if "email" in by_attribute and _EMAIL.match(username):
                attributes.setdefault("email", username)
            elif "phone_number" in by_attribute and username.startswith("+"):
                attributes.setdefault("phone_number", username)
            else:
                raise CognitoError(
                    "InvalidParameterException",
                    "Username should be either an email or a phone number."
                    if {"email", "phone_number"} <= set(by_attribute)
                    else "Username should be an email."
                    if "email" in by_attribute
                    else "Username should be a phone number.",
                )
        check_attributes(attributes, pool["SchemaAttributes"], creating=True)
        sub = str(uuid.uuid4())
        name = sub if by_attribute else username
        now = self.clock.now().timestamp()
        digest = hash_password(password, secrets.token_bytes(16), self.password_cost)
        with self.db.transaction() as conn:
            if self._find(conn, pool, username) is not None:
                raise CognitoError(
                    "UsernameExistsException", exists_message if not by_attribute else "An account with the given email already exists."
                )
            conn.execute(
                "INSERT INTO cognito_users (pool_id, username_key, username, sub, status, enabled, password_hash, attributes,"
                " code_hash, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                (
                    pool["Id"],
                    self._username_key(pool, name),
                    name,
                    sub,
                    status,
                    digest,
                    json.dumps(attributes),
                    _hash_code(code) if code else None,
                    now,
                    now,
                ),
            )
            store_verifier(conn, pool["Id"], self._username_key(pool, name), name, password)
            return self._must_user(conn, pool["Id"], name)

    # -------------------------------------------------------------- confirming, passwords

    def confirm_sign_up(self, client_id: str, username: str, code: str, *, secret_hash: str | None = None) -> None:
        """ConfirmSignUp with the code SignUp made.

        Raises:
            CognitoError: CodeMismatchException for a wrong code; after five, LimitExceededException
                until a wait that doubles with each further wrong code (see cognito/lockout.py).
        """
        client = self.must_client(client_id)
        self.check_secret_hash(client, username, secret_hash)
        now = self.clock.now().timestamp()
        refused: CognitoError | None = None
        with self.db.transaction() as conn:
            user = self._find(conn, self._pool(conn, client["UserPoolId"]), username)
            if user is None:
                raise CognitoError("UserNotFoundException", "Username/client id combination not found.")
            if user.status != "UNCONFIRMED":
                raise CognitoError("NotAuthorizedException", f"User cannot be confirmed. Current status is {user.status}")
            attempts = self._attempts(conn, user, _CONFIRM, now)
            if attempts.locked(now):
                raise CognitoError("LimitExceededException", "Attempt limit exceeded, please try after some time.")
            row = conn.execute(
                "SELECT code_hash FROM cognito_users WHERE pool_id=? AND username_key=?", (user.pool_id, user.key)
            ).fetchone()
            if row["code_hash"] is None or not secrets_match(_hash_code(code), row["code_hash"]):
                # Kept (not rolled back with the refusal): the refusal is raised after the commit.
                self._record_attempts(conn, user, _CONFIRM, attempts.failed(now))
                refused = CognitoError("CodeMismatchException", "Invalid verification code provided, please try again.")
            else:
                self._confirm(conn, user)
        if refused is not None:
            raise refused

    def admin_confirm_sign_up(self, pool_id: str, username: str) -> None:
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            if user.status != "UNCONFIRMED":
                raise CognitoError("NotAuthorizedException", f"User cannot be confirmed. Current status is {user.status}")
            self._confirm(conn, user)

    def _confirm(self, conn: sqlite3.Connection, user: User) -> None:
        conn.execute(
            "UPDATE cognito_users SET status='CONFIRMED', code_hash=NULL, updated_at=? WHERE pool_id=? AND username_key=?",
            (self.clock.now().timestamp(), user.pool_id, user.key),
        )
        self._record_attempts(conn, user, _CONFIRM, Attempts())

    # -------------------------------------------------------------- failed attempts (cognito/lockout.py)

    def _attempts(self, conn: sqlite3.Connection, user: User, action: str, now: float) -> Attempts:
        """The user's failed attempts at ``action`` (``sign_in``, ``confirm_sign_up``) as they stand at ``now``."""
        row = conn.execute(
            "SELECT failures, last_failure_at, locked_until FROM cognito_attempts WHERE pool_id=? AND username_key=? AND action=?",
            (user.pool_id, user.key, action),
        ).fetchone()
        if row is None:
            return Attempts()
        return Attempts(int(row["failures"]), float(row["last_failure_at"]), float(row["locked_until"])).current(now)

    def _record_attempts(self, conn: sqlite3.Connection, user: User, action: str, attempts: Attempts) -> None:
        if attempts == Attempts():
            conn.execute("DELETE FROM cognito_attempts WHERE pool_id=? AND username_key=? AND action=?", (user.pool_id, user.key, action))
            return
        conn.execute(
            "INSERT INTO cognito_attempts (pool_id, username_key, action, failures, last_failure_at, locked_until)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pool_id, username_key, action) DO UPDATE SET"
            " failures=excluded.failures, last_failure_at=excluded.last_failure_at, locked_until=excluded.locked_until",
            (user.pool_id, user.key, action, attempts.failures, attempts.last_failure_at, attempts.locked_until),
        )

    def admin_set_user_password(self, pool_id: str, username: str, password: str, *, permanent: bool) -> None:
        """AdminSetUserPassword: CONFIRMED when ``permanent``, else FORCE_CHANGE_PASSWORD (a temporary password)."""
        pool = self.must_pool(pool_id)
        check_policy(password, pool["Policies"]["PasswordPolicy"])
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            self._set_password(conn, user, password, "CONFIRMED" if permanent else "FORCE_CHANGE_PASSWORD")

    def _set_password(self, conn: sqlite3.Connection, user: User, password: str, status: str) -> None:
        digest = hash_password(password, secrets.token_bytes(16), self.password_cost)
        conn.execute(
            "UPDATE cognito_users SET password_hash=?, status=?, updated_at=? WHERE pool_id=? AND username_key=?",
            (digest, status, self.clock.now().timestamp(), user.pool_id, user.key),
        )
        # SRP's verifier too: USER_ID_FOR_SRP is the username proper (the sub in email-as-username pools).
        store_verifier(conn, user.pool_id, user.key, user.username, password)

    def check_secret_hash(self, client: Mapping[str, Any], username: str, given: str | None, *, also: Iterable[str] = ()) -> None:
        """Refuse a missing or wrong SecretHash for a client with a secret (``also``: other names it may be over)."""
        secret = client.get("ClientSecret")
        if not secret:
            return
        client_id = client["ClientId"]
        if not given:
            raise CognitoError("NotAuthorizedException", f"Client {client_id} is configured for secret but secret was not received")
        if not any(secrets_match(given, secret_hash(name, client_id, secret)) for name in (username, *also)):
            raise CognitoError("NotAuthorizedException", f"Unable to verify secret hash for client {client_id}")

    # -------------------------------------------------------------- enabling, deleting

    def admin_disable_user(self, pool_id: str, username: str) -> None:
        """AdminDisableUser: the user can no longer sign in, and their tokens are revoked (as Cognito does)."""
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            conn.execute(
                "UPDATE cognito_users SET enabled=0, updated_at=? WHERE pool_id=? AND username_key=?",
                (self.clock.now().timestamp(), pool_id, user.key),
            )
            conn.execute("UPDATE cognito_sign_ins SET revoked=1 WHERE pool_id=? AND username_key=?", (pool_id, user.key))

    def admin_enable_user(self, pool_id: str, username: str) -> None:
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            conn.execute(
                "UPDATE cognito_users SET enabled=1, updated_at=? WHERE pool_id=? AND username_key=?",
                (self.clock.now().timestamp(), pool_id, user.key),
            )

    def admin_delete_user(self, pool_id: str, username: str) -> None:
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            conn.execute("DELETE FROM cognito_users WHERE pool_id=? AND username_key=?", (pool_id, user.key))

    # -------------------------------------------------------------- groups of users

    def admin_add_user_to_group(self, pool_id: str, username: str, group_name: str) -> None:
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            self._group(conn, pool_id, group_name)
            conn.execute(
                "INSERT OR IGNORE INTO cognito_memberships (pool_id, username_key, group_name) VALUES (?, ?, ?)",
                (pool_id, user.key, group_name),
            )

    def admin_remove_user_from_group(self, pool_id: str, username: str, group_name: str) -> None:
        with self.db.transaction() as conn:
            user = self._must_user(conn, pool_id, username)
            self._group(conn, pool_id, group_name)
            conn.execute(
                "DELETE FROM cognito_memberships WHERE pool_id=? AND username_key=? AND group_name=?", (pool_id, user.key, group_name)
            )

    def admin_list_groups_for_user(self, pool_id: str, username: str) -> list[dict[str, Any]]:
        """The user's groups (their documents), by precedence (lowest first, none last), then name."""
        conn = self.db.connection()
        user = self._must_user(conn, pool_id, username)
        rows = conn.execute(
            "SELECT g.document FROM cognito_memberships m JOIN cognito_groups g ON g.pool_id=m.pool_id AND g.name=m.group_name"
            " WHERE m.pool_id=? AND m.username_key=?",
            (pool_id, user.key),
        ).fetchall()
        groups = [json.loads(r["document"]) for r in rows]
        return sorted(groups, key=lambda g: (g.get("Precedence") is None, g.get("Precedence") or 0, g["GroupName"]))

    def list_users_in_group(self, pool_id: str, group_name: str) -> list[User]:
        conn = self.db.connection()
        self._group(conn, pool_id, group_name)
        rows = conn.execute(
            "SELECT u.* FROM cognito_memberships m JOIN cognito_users u ON u.pool_id=m.pool_id AND u.username_key=m.username_key"
            " WHERE m.pool_id=? AND m.group_name=? ORDER BY u.username_key",
            (pool_id, group_name),
        ).fetchall()
        return [_user(r) for r in rows]


def _user(row: sqlite3.Row) -> User:
    return User(
        pool_id=row["pool_id"], username=row["username"], key=row["username_key"], sub=row["sub"], status=row["status"],
        enabled=bool(row["enabled"]), attributes=json.loads(row["attributes"]), created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]), password_hash=row["password_hash"],
    )  # fmt: skip


def _searched(user: User, name: str) -> str | None:
    """The value ListUsers' filter compares, or None: a user without the attribute matches no filter
    on it, not even ``family_name = ""``."""
    if name == "username":
        return user.username
    if name == "sub":
        return user.sub
    if name == "cognito:user_status":
        return user.status
    if name == "status":
        return "Enabled" if user.enabled else "Disabled"
    return user.attributes.get(name)


def _matches(actual: str | None, op: str, value: str) -> bool:
    if actual is None:
        return False
    return actual == value if op == "=" else actual.startswith(value)


def _generated_password(policy: Mapping[str, Any]) -> str:
    """A temporary password that satisfies ``policy`` (one of each kind, then random letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    length = max(int(policy.get("MinimumLength", 8)), 12)
    chars = [
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.digits),
        secrets.choice("!#%&*+-=?^_"),
    ]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _delivery(pool: Mapping[str, Any], user: User) -> dict[str, str] | None:
    """CodeDeliveryDetails as SignUp reports them: the masked address Cognito would have used."""
    verified = pool.get("AutoVerifiedAttributes") or []
    email = user.attributes.get("email")
    if "email" in verified and email:
        local, _, domain = email.partition("@")
        return {"Destination": f"{local[:1]}***@{domain[:1]}***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    phone = user.attributes.get("phone_number")
    if "phone_number" in verified and phone:
        return {"Destination": f"+*******{phone[-4:]}", "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    return None
