"""User pools' configuration in SQLite: pools (with their signing keys), app clients, groups,
resource servers and domains, kept as the documents Cognito's Describe operations show.

The user-facing parts (users, sign-in) build on this: see ``_userpool_users.py`` and
``_userpool_auth.py``; ``userpools.py`` puts them together.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sqlite3
import string
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ...cognito import jwt
from ...cognito.errors import CognitoError
from ...cognito.pools import check_name, check_username, client_document, custom_attribute, custom_name, pool_document
from ...cognito.tokens import issuer_url
from ...ports import Clock
from ._sqlite import Database

__all__ = ["UserPoolCatalog", "new_id"]

_ISSUER = re.compile(r"^https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[\w-]+_[0-9a-zA-Z]+)$")
_POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")
_IDENTIFIER = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
_SCOPE_NAME = re.compile(r"[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+")
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$")


def new_id(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _not_found(message: str) -> CognitoError:
    return CognitoError("ResourceNotFoundException", message)


class UserPoolCatalog:
    """Pools, app clients, groups, resource servers and domains (see :class:`~.userpools.SqliteUserPools`)."""

    def __init__(self, db: Database, clock: Clock, *, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._keys_lock = threading.Lock()

    # -------------------------------------------------------------- pools

    def create_user_pool(self, pool_name: str, **config: Any) -> dict[str, Any]:
        """CreateUserPool: a new pool (and its RS256 key) as DescribeUserPool shows it."""
        key = jwt.generate_key()  # before the transaction: a second of CPU must not hold the write lock
        with self.db.transaction() as conn:
            return self._insert_pool(conn, pool_name, config, key)

    def _insert_pool(self, conn: sqlite3.Connection, pool_name: str, config: Mapping[str, Any], key: rsa.RSAPrivateKey) -> dict[str, Any]:
        pool_id = f"{self.region}_{new_id(string.ascii_letters + string.digits, 9)}"
        arn = f"arn:aws:cognito-idp:{self.region}:{self.account_id}:userpool/{pool_id}"
        document = pool_document(pool_id, arn, {**config, "PoolName": pool_name}, now=self.clock.now())
        conn.execute(
            "INSERT INTO cognito_pools (pool_id, name, document, key_pem, kid, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (pool_id, document["Name"], json.dumps(document), jwt.private_pem(key), _kid_of(key), self.clock.now().isoformat()),
        )
        return self._described(conn, document)

    def update_user_pool(self, pool_id: str, **config: Any) -> None:
        """UpdateUserPool: what it is not given goes back to Cognito's defaults, as in AWS."""
        with self.db.transaction() as conn:
            existing = self._pool(conn, pool_id)
            document = pool_document(pool_id, existing["Arn"], config, now=self.clock.now(), existing=existing)
            conn.execute("UPDATE cognito_pools SET name=?, document=? WHERE pool_id=?", (document["Name"], json.dumps(document), pool_id))

    def add_custom_attributes(self, pool_id: str, attributes: list[dict[str, Any]]) -> None:
        """AddCustomAttributes: new custom attributes at the end of the pool's schema (never renamed or removed)."""
        with self.db.transaction() as conn:
            document = self._pool(conn, pool_id)
            schema = list(document["SchemaAttributes"])
            for spec in attributes:
                entry = custom_attribute(spec)
                plain = custom_name(str(spec.get("Name") or ""))
                for existing in schema:
                    if existing["Name"] in (plain, f"dev:{plain}"):
                        raise CognitoError("InvalidParameterException", f"{plain}: Existing attribute already has name {existing['Name']}.")
                schema.append(entry)
            document["SchemaAttributes"] = schema
            document["LastModifiedDate"] = self.clock.now().timestamp()
            conn.execute("UPDATE cognito_pools SET document=? WHERE pool_id=?", (json.dumps(document), pool_id))

    def delete_user_pool(self, pool_id: str) -> None:
        with self.db.transaction() as conn:
            document = self._pool(conn, pool_id)
            if document.get("DeletionProtection") == "ACTIVE":
                raise CognitoError(
                    "InvalidParameterException", f"The user pool {pool_id} cannot be deleted because deletion protection is activated."
                )
            conn.execute("DELETE FROM cognito_pools WHERE pool_id=?", (pool_id,))

    def describe_user_pool(self, pool_id: str) -> dict[str, Any]:
        conn = self.db.connection()
        return self._described(conn, self._pool(conn, pool_id))

    def list_user_pools(self) -> list[dict[str, Any]]:
        """ListUserPools' descriptions (Id, Name, LambdaConfig, dates), by id."""
        rows = self.db.connection().execute("SELECT document FROM cognito_pools ORDER BY pool_id").fetchall()
        keys = ("Id", "Name", "LambdaConfig", "LastModifiedDate", "CreationDate")
        return [{k: d[k] for k in keys if k in d} for d in (json.loads(r["document"]) for r in rows)]

    def must_pool(self, pool_id: str) -> dict[str, Any]:
        """The pool's document; raises ResourceNotFoundException as Cognito does."""
        return self._pool(self.db.connection(), pool_id)

    def _pool(self, conn: sqlite3.Connection, pool_id: str) -> dict[str, Any]:
        row = conn.execute("SELECT document FROM cognito_pools WHERE pool_id=?", (pool_id,)).fetchone() if _POOL_ID.match(pool_id) else None
        if row is None:
            raise _not_found(f"User pool {pool_id} does not exist.")
        document: dict[str, Any] = json.loads(row["document"])
        return document

    def _described(self, conn: sqlite3.Connection, document: dict[str, Any]) -> dict[str, Any]:
        pool_id = document["Id"]
        users = conn.execute("SELECT COUNT(*) FROM cognito_users WHERE pool_id=?", (pool_id,)).fetchone()[0]
        domain = conn.execute("SELECT domain FROM cognito_domains WHERE pool_id=?", (pool_id,)).fetchone()
        described = {**document, "EstimatedNumberOfUsers": int(users)}
        if domain is not None:
            described["Domain"] = domain["domain"]
        return described

    # -------------------------------------------------------------- keys and issuers

    def issuer(self, pool_id: str) -> str:
        """The pool's ``iss`` (AWS's URL for it); raises ResourceNotFoundException for an unknown pool."""
        self.must_pool(pool_id)
        return issuer_url(_region_of(pool_id), pool_id)

    def jwks(self, pool_id: str) -> dict[str, Any]:
        """The pool's ``jwks.json``: its one public key, as Cognito serves it."""
        row = (
            self.db.connection().execute("SELECT key_pem, kid FROM cognito_pools WHERE pool_id=?", (pool_id,)).fetchone()
            if _POOL_ID.match(pool_id)
            else None
        )
        if row is None:
            raise _not_found(f"User pool {pool_id} does not exist.")
        return {"keys": [jwt.jwk_of(self._private_key(row["kid"], row["key_pem"]), row["kid"])]}

    def pool_for_issuer(self, issuer: str) -> str | None:
        """The id of the local pool whose tokens carry ``iss`` = ``issuer``, or None (no network, ever)."""
        found = _ISSUER.match(issuer)
        if found is None or _region_of(found.group("pool")) != found.group("region"):
            return None
        pool_id = found.group("pool")
        row = self.db.connection().execute("SELECT 1 FROM cognito_pools WHERE pool_id=?", (pool_id,)).fetchone()
        return pool_id if row is not None else None

    def jwks_for_issuer(self, issuer: str) -> dict[str, Any] | None:
        """The key set of the local pool that issues ``issuer``'s tokens, or None if no local pool does."""
        pool_id = self.pool_for_issuer(issuer)
        if pool_id is None:
            return None
        try:
            return self.jwks(pool_id)
        except CognitoError:
            return None  # deleted in between

    def signing_key(self, pool_id: str) -> tuple[rsa.RSAPrivateKey, str]:
        """The pool's private key and its kid."""
        row = self.db.connection().execute("SELECT key_pem, kid FROM cognito_pools WHERE pool_id=?", (pool_id,)).fetchone()
        if row is None:
            raise _not_found(f"User pool {pool_id} does not exist.")
        return self._private_key(row["kid"], row["key_pem"]), row["kid"]

    def _private_key(self, kid: str, pem: bytes) -> rsa.RSAPrivateKey:
        with self._keys_lock:
            key = self._keys.get(kid)
            if key is None:
                key = self._keys[kid] = jwt.load_private_pem(bytes(pem))
            return key

    # -------------------------------------------------------------- app clients

    def create_user_pool_client(self, pool_id: str, client_name: str, **config: Any) -> dict[str, Any]:
        """CreateUserPoolClient (``config``: its other members, AWS's names) -> the client as described."""
        with self.db.transaction() as conn:
            self._pool(conn, pool_id)
            client_id = new_id(string.ascii_lowercase + string.digits, 26)
            secret = config.get("ClientSecret") or (
                new_id(string.ascii_lowercase + string.digits, 51) if config.get("GenerateSecret") else None
            )
            document = client_document(
                pool_id,
                client_id,
                {**config, "ClientName": client_name},
                secret=secret,
                now=self.clock.now(),
                known_scopes=self._scopes(conn, pool_id),
            )
            conn.execute(
                "INSERT INTO cognito_clients (client_id, pool_id, document) VALUES (?, ?, ?)", (client_id, pool_id, json.dumps(document))
            )
            return document

    def update_user_pool_client(self, pool_id: str, client_id: str, **config: Any) -> dict[str, Any]:
        """UpdateUserPoolClient: like UpdateUserPool, what it is not given returns to the defaults."""
        with self.db.transaction() as conn:
            existing = self._client(conn, pool_id, client_id)
            document = client_document(
                pool_id, client_id, config, secret=existing.get("ClientSecret"), now=self.clock.now(),
                known_scopes=self._scopes(conn, pool_id), existing=existing,
            )  # fmt: skip
            conn.execute("UPDATE cognito_clients SET document=? WHERE client_id=?", (json.dumps(document), client_id))
            return document

    def delete_user_pool_client(self, pool_id: str, client_id: str) -> None:
        with self.db.transaction() as conn:
            self._client(conn, pool_id, client_id)
            conn.execute("DELETE FROM cognito_clients WHERE client_id=?", (client_id,))

    def describe_user_pool_client(self, pool_id: str, client_id: str) -> dict[str, Any]:
        return self._client(self.db.connection(), pool_id, client_id)

    def list_user_pool_clients(self, pool_id: str) -> list[dict[str, Any]]:
        conn = self.db.connection()
        self._pool(conn, pool_id)
        rows = conn.execute("SELECT document FROM cognito_clients WHERE pool_id=? ORDER BY client_id", (pool_id,)).fetchall()
        return [json.loads(r["document"]) for r in rows]

    def must_client(self, client_id: str) -> dict[str, Any]:
        """The app client ``client_id`` of whichever pool; ResourceNotFoundException as Cognito words it."""
        row = self.db.connection().execute("SELECT document FROM cognito_clients WHERE client_id=?", (client_id,)).fetchone()
        if row is None:
            raise _not_found(f"User pool client {client_id} does not exist.")
        document: dict[str, Any] = json.loads(row["document"])
        return document

    def _client(self, conn: sqlite3.Connection, pool_id: str, client_id: str) -> dict[str, Any]:
        self._pool(conn, pool_id)
        row = conn.execute("SELECT document FROM cognito_clients WHERE client_id=? AND pool_id=?", (client_id, pool_id)).fetchone()
        if row is None:
            raise _not_found(f"User pool client {client_id} does not exist.")
        document: dict[str, Any] = json.loads(row["document"])
        return document

    # -------------------------------------------------------------- groups

    def create_group(
        self, pool_id: str, group_name: str, *, description: str | None = None, role_arn: str | None = None, precedence: int | None = None
    ) -> dict[str, Any]:
        check_username(group_name, "groupName")
        now = self.clock.now().timestamp()
        document: dict[str, Any] = {"GroupName": group_name, "UserPoolId": pool_id}
        for key, value in (("Description", description), ("RoleArn", role_arn), ("Precedence", precedence)):
            if value is not None:
                document[key] = value
        document.update({"LastModifiedDate": now, "CreationDate": now})
        with self.db.transaction() as conn:
            self._pool(conn, pool_id)
            try:
                conn.execute(
                    "INSERT INTO cognito_groups (pool_id, name, document) VALUES (?, ?, ?)", (pool_id, group_name, json.dumps(document))
                )
            except sqlite3.IntegrityError:
                raise CognitoError("GroupExistsException", "A group with the name already exists.") from None
        return document

    def update_group(
        self, pool_id: str, group_name: str, *, description: str | None = None, role_arn: str | None = None, precedence: int | None = None
    ) -> dict[str, Any]:
        """UpdateGroup: only what it is given changes (unlike UpdateUserPool)."""
        with self.db.transaction() as conn:
            document = self._group(conn, pool_id, group_name)
            for key, value in (("Description", description), ("RoleArn", role_arn), ("Precedence", precedence)):
                if value is not None:
                    document[key] = value
            document["LastModifiedDate"] = self.clock.now().timestamp()
            conn.execute("UPDATE cognito_groups SET document=? WHERE pool_id=? AND name=?", (json.dumps(document), pool_id, group_name))
            return document

    def delete_group(self, pool_id: str, group_name: str) -> None:
        with self.db.transaction() as conn:
            self._group(conn, pool_id, group_name)
            conn.execute("DELETE FROM cognito_groups WHERE pool_id=? AND name=?", (pool_id, group_name))

    def get_group(self, pool_id: str, group_name: str) -> dict[str, Any]:
        return self._group(self.db.connection(), pool_id, group_name)

    def list_groups(self, pool_id: str) -> list[dict[str, Any]]:
        conn = self.db.connection()
        self._pool(conn, pool_id)
        rows = conn.execute("SELECT document FROM cognito_groups WHERE pool_id=? ORDER BY name", (pool_id,)).fetchall()
        return [json.loads(r["document"]) for r in rows]

    def _group(self, conn: sqlite3.Connection, pool_id: str, group_name: str) -> dict[str, Any]:
        self._pool(conn, pool_id)
        row = conn.execute("SELECT document FROM cognito_groups WHERE pool_id=? AND name=?", (pool_id, group_name)).fetchone()
        if row is None:
            raise _not_found("Group not found.")
        document: dict[str, Any] = json.loads(row["document"])
        return document

    # -------------------------------------------------------------- resource servers

    def create_resource_server(
        self, pool_id: str, identifier: str, name: str, scopes: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        document = self._resource_server(pool_id, identifier, name, scopes)
        with self.db.transaction() as conn:
            self._pool(conn, pool_id)
            try:
                conn.execute(
                    "INSERT INTO cognito_resource_servers (pool_id, identifier, document) VALUES (?, ?, ?)",
                    (pool_id, identifier, json.dumps(document)),
                )
            except sqlite3.IntegrityError:
                raise CognitoError("InvalidParameterException", f"{identifier} already exists in user pool {pool_id}.") from None
        return document

    def update_resource_server(
        self, pool_id: str, identifier: str, name: str, scopes: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        document = self._resource_server(pool_id, identifier, name, scopes)
        with self.db.transaction() as conn:
            self.describe_resource_server(pool_id, identifier)
            conn.execute(
                "UPDATE cognito_resource_servers SET document=? WHERE pool_id=? AND identifier=?",
                (json.dumps(document), pool_id, identifier),
            )
        return document

    def delete_resource_server(self, pool_id: str, identifier: str) -> None:
        with self.db.transaction() as conn:
            self.describe_resource_server(pool_id, identifier)
            conn.execute("DELETE FROM cognito_resource_servers WHERE pool_id=? AND identifier=?", (pool_id, identifier))

    def describe_resource_server(self, pool_id: str, identifier: str) -> dict[str, Any]:
        conn = self.db.connection()
        self._pool(conn, pool_id)
        row = conn.execute(
            "SELECT document FROM cognito_resource_servers WHERE pool_id=? AND identifier=?", (pool_id, identifier)
        ).fetchone()
        if row is None:
            raise _not_found(f"Resource server {identifier} does not exist.")
        document: dict[str, Any] = json.loads(row["document"])
        return document

    def list_resource_servers(self, pool_id: str) -> list[dict[str, Any]]:
        conn = self.db.connection()
        self._pool(conn, pool_id)
        rows = conn.execute("SELECT document FROM cognito_resource_servers WHERE pool_id=? ORDER BY identifier", (pool_id,)).fetchall()
        return [json.loads(r["document"]) for r in rows]

    def _resource_server(self, pool_id: str, identifier: str, name: str, scopes: list[dict[str, str]] | None) -> dict[str, Any]:
        check_name(identifier, "identifier", pattern=_IDENTIFIER, pattern_text=r"[\x21\x23-\x5B\x5D-\x7E]+", max_len=256)
        check_name(name, "name", pattern=re.compile(r"[\w\s+=,.@-]+"), pattern_text=r"[\w\s+=,.@-]+", max_len=256)
        listed = [dict(s) for s in scopes or ()]
        if len(listed) > 100:
            raise CognitoError("LimitExceededException", "The number of scopes per resource server exceeds the limit of 100.")
        for scope in listed:
            check_name(
                str(scope.get("ScopeName") or ""),
                "scopeName",
                pattern=_SCOPE_NAME,
                pattern_text=r"[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+",
                max_len=256,
            )
        document: dict[str, Any] = {"UserPoolId": pool_id, "Identifier": identifier, "Name": name}
        if listed:
            document["Scopes"] = listed
        return document

    def _scopes(self, conn: sqlite3.Connection, pool_id: str) -> list[str]:
        rows = conn.execute("SELECT document FROM cognito_resource_servers WHERE pool_id=?", (pool_id,)).fetchall()
        found: list[str] = []
        for row in rows:
            server = json.loads(row["document"])
            found.extend(f"{server['Identifier']}/{s['ScopeName']}" for s in server.get("Scopes") or ())
        return found

    # -------------------------------------------------------------- domains

    def create_user_pool_domain(self, pool_id: str, domain: str) -> dict[str, Any]:
        """CreateUserPoolDomain (a prefix domain: nothing is served at it locally, the token endpoint is the endpoint's)."""
        check_name(domain, "domain", pattern=_DOMAIN, pattern_text=r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$", max_len=63)
        if "aws" in domain or "amazon" in domain or "cognito" in domain:
            # Cognito reserves these words in prefix domains.
            raise CognitoError("InvalidParameterException", "Domain cannot contain reserved word: aws")
        document = {
            "UserPoolId": pool_id, "AWSAccountId": self.account_id, "Domain": domain, "S3Bucket": "",
            "CloudFrontDistribution": f"{domain}.auth.{self.region}.amazoncognito.com", "Version": "1", "Status": "ACTIVE",
        }  # fmt: skip
        with self.db.transaction() as conn:
            self._pool(conn, pool_id)
            if conn.execute("SELECT 1 FROM cognito_domains WHERE pool_id=?", (pool_id,)).fetchone():
                raise CognitoError("InvalidParameterException", f"User pool {pool_id} already has a domain configured.")
            try:
                conn.execute(
                    "INSERT INTO cognito_domains (domain, pool_id, document) VALUES (?, ?, ?)", (domain, pool_id, json.dumps(document))
                )
            except sqlite3.IntegrityError:
                raise CognitoError("InvalidParameterException", "Domain already associated with another user pool.") from None
        return document

    def delete_user_pool_domain(self, pool_id: str, domain: str) -> None:
        with self.db.transaction() as conn:
            self._pool(conn, pool_id)
            row = conn.execute("SELECT 1 FROM cognito_domains WHERE domain=? AND pool_id=?", (domain, pool_id)).fetchone()
            if row is None:
                raise CognitoError("InvalidParameterException", "No such domain or user pool exists.")
            conn.execute("DELETE FROM cognito_domains WHERE domain=?", (domain,))

    def describe_user_pool_domain(self, domain: str) -> dict[str, Any]:
        """DescribeUserPoolDomain: the domain's description, or ``{}`` for a domain no pool has (as AWS answers)."""
        row = self.db.connection().execute("SELECT document FROM cognito_domains WHERE domain=?", (domain,)).fetchone()
        return {} if row is None else dict(json.loads(row["document"]))

    def now(self) -> datetime:
        return self.clock.now()


def _region_of(pool_id: str) -> str:
    return pool_id.rsplit("_", 1)[0]


def _kid_of(key: rsa.RSAPrivateKey) -> str:
    """A kid like Cognito's: base64 of a digest of the public key (stable for the key's life)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()
