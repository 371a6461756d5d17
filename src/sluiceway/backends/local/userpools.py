"""Cognito-compatible user pools, kept in the data dir's SQLite: :class:`SqliteUserPools`.

One class over five modules, each one idea: ``_userpool_catalog.py`` (pools and their RS256
keys, app clients, groups, resource servers, domains), ``_userpool_users.py`` (users, sign-up,
the Admin* operations), ``_userpool_auth.py`` (sign-in, tokens, revocation), ``_userpool_codes.py``
(the one-time codes Cognito would mail) and ``_userpool_account.py`` (attributes, password changes
and resets, DeleteUser). This module adds
Sluiceway's own pool, the one the management API trusts.

Several processes may open the data dir at once (a running ``up`` and a CLI command): every
write is one ``BEGIN IMMEDIATE`` transaction, so they never see half a change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...cognito import jwt
from ...cognito.pools import DEFAULT_PASSWORD_POLICY
from ...cognito.roles import GROUPS, RESOURCE_SERVER, SCOPES
from ._userpool_account import UserPoolAccount
from ._userpool_users import User

__all__ = ["DEFAULT_POOL_NAME", "DefaultPool", "SqliteUserPools", "User"]

DEFAULT_POOL_NAME = "sluiceway"
#: The default pool's configuration. Users are made by admins (``sluiceway users add``, the API's
#: ``POST /users``), never by signing up: SignUp is unsigned, and anyone who could sign up to the
#: pool that guards the management API would hold one of its tokens. The deployed template's pool
#: says the same. (Migration 0072 sets it on default pools made before.)
_DEFAULT_POOL_CONFIG = {
    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
    "Policies": {"PasswordPolicy": dict(DEFAULT_PASSWORD_POLICY)},
}


@dataclass(frozen=True)
class DefaultPool:
    """Sluiceway's own user pool and its public app client."""

    pool_id: str
    client_id: str


class SqliteUserPools(UserPoolAccount):
    """User pools as Cognito keeps them: the ``cognito-idp`` API's state, and the keys that sign their tokens."""

    def default_pool(self) -> DefaultPool:
        """Sluiceway's pool (``sluiceway``), made on first use: groups admin/operator/viewer, the public
        client ``sluiceway`` (USER_PASSWORD_AUTH and refresh), the resource server ``sluiceway``;
        only admins make users (SignUp is refused), with Cognito's default password policy.

        Idempotent across processes: the check and the making are one write transaction.
        """
        found = self._default()
        if found is not None:
            return found
        key = jwt.generate_key()  # outside the transaction: it takes a while, and may go unused
        with self.db.transaction() as conn:
            found = self._default()
            if found is not None:
                return found
            pool = self._insert_pool(conn, DEFAULT_POOL_NAME, _DEFAULT_POOL_CONFIG, key)
            client = self.create_user_pool_client(
                pool["Id"],
                DEFAULT_POOL_NAME,
                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                PreventUserExistenceErrors="ENABLED",  # sign-ins never tell who has an account (the API's default is LEGACY)
            )
            for precedence, (role, description) in enumerate(GROUPS, start=1):
                self.create_group(pool["Id"], role, description=description, precedence=precedence)
            self.create_resource_server(
                pool["Id"], RESOURCE_SERVER, "Sluiceway management API", [{"ScopeName": n, "ScopeDescription": d} for n, d in SCOPES]
            )
            conn.execute(
                "INSERT INTO cognito_defaults (name, pool_id, client_id) VALUES (?, ?, ?)",
                (DEFAULT_POOL_NAME, pool["Id"], client["ClientId"]),
            )
            return DefaultPool(pool["Id"], client["ClientId"])

    def _default(self) -> DefaultPool | None:
        row = self.db.connection().execute("SELECT pool_id, client_id FROM cognito_defaults WHERE name=?", (DEFAULT_POOL_NAME,)).fetchone()
        return None if row is None else DefaultPool(row["pool_id"], row["client_id"])
