"""EventBridge connections and API destinations on SQLite, their credentials in Secrets Manager.

A connection's credentials (and its parameters, secret values included) are the value of a
secret named ``events!connection/<name>/<uuid>`` in the data dir's Secrets Manager, as AWS makes
one: the secret is made before the connection's row and deleted after it, so a process that
dies in between leaves at worst a secret no connection names, never a connection without one.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, cast

from ...errors import ConflictError, NotFoundError
from ...events.api_destinations import (
    ApiDestinationRecord,
    AuthorizationType,
    ConnectionRecord,
    api_destination_arn,
    connection_arn,
    public_auth_parameters,
    secret_value,
)
from ...ports import Clock
from ._sqlite import Database
from .secrets import NewValue, SecretsError, SqliteSecrets

__all__ = ["SqliteApiDestinations"]

_CONNECTION_COLUMNS: Final = (
    "name, arn, auth_type, auth_parameters, secret_arn, state, created_at, modified_at, authorized_at, description, state_reason"
)
_DESTINATION_COLUMNS: Final = "name, arn, connection_arn, endpoint, http_method, rate_limit, created_at, modified_at, description"


def _iso(when: datetime) -> str:
    return when.isoformat()


def _connection(row: sqlite3.Row | tuple[Any, ...]) -> ConnectionRecord:
    return ConnectionRecord(
        name=row[0],
        arn=row[1],
        authorization_type=cast(AuthorizationType, row[2]),
        auth_parameters=json.loads(row[3]),
        secret_arn=row[4],
        state=row[5],
        created_at=datetime.fromisoformat(row[6]),
        modified_at=datetime.fromisoformat(row[7]),
        authorized_at=datetime.fromisoformat(row[8]) if row[8] else None,
        description=row[9],
        state_reason=row[10],
    )


def _destination(row: sqlite3.Row | tuple[Any, ...]) -> ApiDestinationRecord:
    return ApiDestinationRecord(
        name=row[0],
        arn=row[1],
        connection_arn=row[2],
        endpoint=row[3],
        http_method=row[4],
        rate_limit=int(row[5]),
        created_at=datetime.fromisoformat(row[6]),
        modified_at=datetime.fromisoformat(row[7]),
        description=row[8],
    )


class SqliteApiDestinations:
    """Connections and API destinations of the local stack's one account and Region."""

    def __init__(self, db: Database, clock: Clock, secrets: SqliteSecrets, *, region: str, account: str) -> None:
        self.db = db
        self.clock = clock
        self.secrets = secrets
        self.region = region
        self.account = account

    # -- connections ------------------------------------------------------------------------------

    def create_connection(
        self, name: str, authorization_type: AuthorizationType, auth_parameters: Mapping[str, Any], *, description: str | None = None
    ) -> ConnectionRecord:
        """Make the connection and its secret.

        Raises:
            ConflictError: a connection has that name.
            RuleValidationError: the auth parameters do not fit ``authorization_type``.
        """
        value, public = secret_value(authorization_type, auth_parameters), public_auth_parameters(authorization_type, auth_parameters)
        if self._find_connection(name) is not None:
            raise ConflictError(f"Connection {name} already exists.")
        resource_id = str(uuid.uuid4())
        secret, _ = self.secrets.create(
            self.region, f"events!connection/{name}/{resource_id}", token=str(uuid.uuid4()), value=NewValue(string=json.dumps(value))
        )
        now = self.clock.now()
        # BASIC and API_KEY are authorized at once; OAuth once its first token is fetched (AWS
        # fetches one right away; here the first delivery does).
        oauth = authorization_type == "OAUTH_CLIENT_CREDENTIALS"
        state, authorized = ("AUTHORIZING", None) if oauth else ("AUTHORIZED", now)
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO events_connections ({_CONNECTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        connection_arn(name, resource_id, region=self.region, account=self.account),
                        authorization_type,
                        json.dumps(public),
                        secret.arn,
                        state,
                        _iso(now),
                        _iso(now),
                        _iso(authorized) if authorized else None,
                        description,
                        None,
                    ),
                )
        except sqlite3.IntegrityError:
            self._drop_secret(secret.arn)
            raise ConflictError(f"Connection {name} already exists.") from None
        return self.get_connection(name)

    def update_connection(
        self,
        name: str,
        *,
        authorization_type: AuthorizationType | None = None,
        auth_parameters: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ConnectionRecord:
        """Change what is given; new auth parameters are merged into the current ones and written to the secret.

        Raises:
            NotFoundError: no such connection.
            RuleValidationError: the merged auth parameters do not fit the authorization type.
        """
        current = self.get_connection(name)
        kind = authorization_type or current.authorization_type
        now = self.clock.now()
        public = current.auth_parameters
        if auth_parameters is not None or kind != current.authorization_type:
            merged = self._merged(current, kind, auth_parameters or {})
            value, public = secret_value(kind, merged), public_auth_parameters(kind, merged)
            self.secrets.put_value(
                self.region, current.secret_arn, token=str(uuid.uuid4()), value=NewValue(string=json.dumps(value)), stages=None
            )
        # An update authorizes the connection again (the way out of DEAUTHORIZED, EventBridge's guide
        # says); an OAuth one once its next token is fetched.
        oauth = kind == "OAUTH_CLIENT_CREDENTIALS"
        state, authorized = ("AUTHORIZING", current.authorized_at) if oauth else ("AUTHORIZED", now)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE events_connections SET auth_type=?, auth_parameters=?, state=?, state_reason=NULL, description=?, modified_at=?,"
                " authorized_at=? WHERE name=?",
                (
                    kind,
                    json.dumps(public),
                    state,
                    description if description is not None else current.description,
                    _iso(now),
                    _iso(authorized) if authorized else None,
                    name,
                ),
            )
        return self.get_connection(name)

    def _merged(self, current: ConnectionRecord, kind: str, given: Mapping[str, Any]) -> dict[str, Any]:
        """UpdateConnection's parameters over the current ones (the secret's, for what is secret)."""
        stored = self.credentials(current)
        base: dict[str, Any] = {}
        if kind == current.authorization_type:
            if kind == "BASIC":
                base["BasicAuthParameters"] = {"Username": stored["username"], "Password": stored["password"]}
            elif kind == "API_KEY":
                base["ApiKeyAuthParameters"] = {"ApiKeyName": stored["api_key_name"], "ApiKeyValue": stored["api_key_value"]}
            else:
                oauth = dict(current.auth_parameters.get("OAuthParameters") or {})
                oauth["ClientParameters"] = {"ClientID": stored["client_id"], "ClientSecret": stored["client_secret"]}
                base["OAuthParameters"] = oauth
        if "invocation_http_parameters" in stored:
            base["InvocationHttpParameters"] = _aws_parameters(stored["invocation_http_parameters"])
        for key, value in given.items():
            if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
                merged = {**base[key], **value}
                if key == "OAuthParameters" and isinstance(value.get("ClientParameters"), Mapping):
                    merged["ClientParameters"] = {**base[key].get("ClientParameters", {}), **value["ClientParameters"]}
                base[key] = merged
            else:
                base[key] = value
        return base

    def set_connection_state(self, name: str, state: str, *, reason: str | None = None, authorized: bool = False) -> None:
        """Record a connection's new state (AUTHORIZED once an OAuth token was fetched, DEAUTHORIZED...)."""
        now = _iso(self.clock.now())
        with self.db.transaction() as conn:
            if authorized:
                conn.execute(
                    "UPDATE events_connections SET state=?, state_reason=?, authorized_at=? WHERE name=?", (state, reason, now, name)
                )
            else:
                conn.execute("UPDATE events_connections SET state=?, state_reason=? WHERE name=?", (state, reason, name))

    def delete_connection(self, name: str) -> ConnectionRecord:
        """Delete the connection, then its secret; returns it as it was.

        Raises:
            NotFoundError: no such connection.
        """
        current = self.get_connection(name)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM events_connections WHERE name=?", (name,))
        self._drop_secret(current.secret_arn)
        return current

    def _drop_secret(self, arn: str) -> None:
        # SecretsError: gone already (deleted through Secrets Manager by hand).
        with contextlib.suppress(SecretsError):
            self.secrets.delete(self.region, arn, window_days=None, force=True)

    def get_connection(self, name: str) -> ConnectionRecord:
        """Raises NotFoundError (AWS's message) when there is no such connection."""
        found = self._find_connection(name)
        if found is None:
            raise NotFoundError(f"Failed to describe the connection(s). Connection '{name}' does not exist.")
        return found

    def _find_connection(self, name: str) -> ConnectionRecord | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_CONNECTION_COLUMNS} FROM events_connections WHERE name=?", (name,)).fetchone()
        return _connection(row) if row else None

    def list_connections(self) -> list[ConnectionRecord]:
        with self.db.transaction() as conn:
            rows = conn.execute(f"SELECT {_CONNECTION_COLUMNS} FROM events_connections ORDER BY name").fetchall()
        return [_connection(r) for r in rows]

    def credentials(self, connection: ConnectionRecord) -> dict[str, Any]:
        """The connection's secret value (its credentials and parameters).

        Raises:
            NotFoundError: the secret was deleted.
        """
        try:
            value = self.secrets.get_value(self.region, connection.secret_arn, version_id=None, stage=None)
        except SecretsError as exc:
            raise NotFoundError(f"The secret of connection {connection.name} is not available: {exc.code}") from None
        loaded = json.loads(value.string or "{}")
        return loaded if isinstance(loaded, dict) else {}

    # -- API destinations -----------------------------------------------------------------------

    def create_api_destination(
        self, name: str, connection: str, endpoint: str, method: str, rate_limit: int, *, description: str | None = None
    ) -> ApiDestinationRecord:
        """Raises ConflictError (the name is taken) or NotFoundError (no such connection)."""
        target = self.get_connection(connection)
        now = _iso(self.clock.now())
        arn = api_destination_arn(name, str(uuid.uuid4()), region=self.region, account=self.account)
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO events_api_destinations ({_DESTINATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, arn, target.arn, endpoint, method, rate_limit, now, now, description),
                )
        except sqlite3.IntegrityError:
            raise ConflictError(f"An api-destination '{name}' already exists.") from None
        return self.get_api_destination(name)

    def update_api_destination(self, name: str, changes: Mapping[str, Any]) -> ApiDestinationRecord:
        """Set the given columns (``connection_arn``, ``endpoint``, ``http_method``, ``rate_limit``, ``description``)."""
        current = self.get_api_destination(name)
        allowed = {"connection_arn", "endpoint", "http_method", "rate_limit", "description"}
        columns = {k: v for k, v in changes.items() if k in allowed}
        values = {**{k: getattr(current, k) for k in allowed}, **columns}
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE events_api_destinations SET connection_arn=?, endpoint=?, http_method=?, rate_limit=?, description=?, modified_at=?"
                " WHERE name=?",
                (
                    values["connection_arn"],
                    values["endpoint"],
                    values["http_method"],
                    values["rate_limit"],
                    values["description"],
                    _iso(self.clock.now()),
                    name,
                ),
            )
        return self.get_api_destination(name)

    def delete_api_destination(self, name: str) -> None:
        self.get_api_destination(name)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM events_api_destinations WHERE name=?", (name,))

    def get_api_destination(self, name: str) -> ApiDestinationRecord:
        """Raises NotFoundError (AWS's message) when there is no such API destination."""
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_DESTINATION_COLUMNS} FROM events_api_destinations WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.")
        return _destination(row)

    def list_api_destinations(self) -> list[ApiDestinationRecord]:
        with self.db.transaction() as conn:
            rows = conn.execute(f"SELECT {_DESTINATION_COLUMNS} FROM events_api_destinations ORDER BY name").fetchall()
        return [_destination(r) for r in rows]

    def connection_by_arn(self, arn: str) -> ConnectionRecord:
        """Raises NotFoundError when no connection has that ARN (deleted, or made again under a new id)."""
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_CONNECTION_COLUMNS} FROM events_connections WHERE arn=?", (arn,)).fetchone()
        if row is None:
            raise NotFoundError(f"Connection {arn} does not exist.")
        return _connection(row)


def _aws_parameters(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A secret's parameters back in AWS's shape (for UpdateConnection's merge)."""
    out: dict[str, Any] = {}
    for ours, theirs in (
        ("header_parameters", "HeaderParameters"),
        ("query_string_parameters", "QueryStringParameters"),
        ("body_parameters", "BodyParameters"),
    ):
        if stored.get(ours):
            out[theirs] = [{"Key": p["key"], "Value": p["value"], "IsValueSecret": bool(p.get("is_value_secret"))} for p in stored[ours]]
    return out
