"""Secrets Manager's secrets on SQLite: versions, staging labels, tags and deletion windows.

The rules AWS applies when labels move live here, in one transaction each: a value written
without labels takes ``AWSCURRENT``; the version ``AWSCURRENT`` leaves takes ``AWSPREVIOUS``;
a label is on one version at a time; a version left without labels is deprecated. A secret
deleted with a recovery window keeps its name (and answers reads with an error) until the
window ends; it is purged at the first operation after that.

Secret values are kept in the state database as given (a local data dir is the developer's
own); they never reach a log line, an error message or a ``repr``.
"""

from __future__ import annotations

import json
import secrets as _random
import sqlite3
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ...errors import BackendError
from ...ports import Clock
from ._sqlite import Database

__all__ = [
    "AWSCURRENT",
    "AWSPENDING",
    "AWSPREVIOUS",
    "MAX_TAGS",
    "NOT_FOUND",
    "NewValue",
    "ROTATION_INCOMPLETE",
    "Rotation",
    "Secret",
    "SecretValue",
    "SecretsError",
    "SqliteSecrets",
    "Version",
]

AWSCURRENT: Final = "AWSCURRENT"
AWSPREVIOUS: Final = "AWSPREVIOUS"
AWSPENDING: Final = "AWSPENDING"

NOT_FOUND: Final = "Secrets Manager can't find the specified secret."
MARKED_FOR_DELETION: Final = "You can't perform this operation on the secret because it was marked for deletion."
ROTATION_INCOMPLETE: Final = "A previous rotation isn't complete. That rotation will be reattempted."
ALREADY_DELETED: Final = "You tried to perform the operation on a secret that's currently marked deleted."

#: Tags a secret holds at most (Secrets Manager's quota).
MAX_TAGS: Final = 50
_SUFFIX_ALPHABET: Final = string.ascii_letters + string.digits
_DAY_MS: Final = 86_400_000
#: Secrets Manager keeps the 100 most recent versions, and every version made in the last 24 hours.
_KEPT_VERSIONS: Final = 100
_COLUMNS: Final = (
    "id, region, name, arn, description, kms_key_id, tags, created_ms, changed_ms, accessed_day_ms, deleted_ms,"
    " purge_ms, rotation_lambda_arn, rotation_rules, rotation_enabled, rotated_ms"
)


class SecretsError(BackendError):
    """A request Secrets Manager refuses: its error code and AWS's message (never a secret value)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NewValue:
    """A secret value to store: text or bytes, exactly one of them."""

    string: str | None = field(default=None, repr=False)
    binary: bytes | None = field(default=None, repr=False)

    def same_as(self, string: str | None, binary: bytes | None) -> bool:
        return self.string == string and self.binary == binary


@dataclass(frozen=True)
class Version:
    version_id: str
    stages: tuple[str, ...]
    """Sorted, as AWS lists them; empty: the version is deprecated."""
    created_ms: int
    accessed_day_ms: int | None


@dataclass(frozen=True)
class Secret:
    """A secret's metadata and its versions, oldest first (never its values)."""

    id: int
    region: str
    name: str
    arn: str
    description: str | None
    kms_key_id: str | None
    tags: tuple[tuple[str, str], ...] | None
    """None: never tagged (DescribeSecret then leaves Tags out)."""
    created_ms: int
    changed_ms: int
    accessed_day_ms: int | None
    deleted_ms: int | None
    purge_ms: int | None
    rotation_lambda_arn: str | None
    rotation_rules: Mapping[str, Any] | None
    rotation_enabled: bool | None
    rotated_ms: int | None
    versions: tuple[Version, ...] = ()

    @property
    def deleted(self) -> bool:
        return self.deleted_ms is not None

    def version(self, version_id: str) -> Version | None:
        return next((v for v in self.versions if v.version_id == version_id), None)

    def holder(self, stage: str) -> Version | None:
        return next((v for v in self.versions if stage in v.stages), None)


@dataclass(frozen=True)
class Rotation:
    """What :meth:`SqliteSecrets.begin_rotation` decided."""

    outcome: str
    """``start`` (run the steps), ``repeat`` (already running under this token) or ``reattempt``
    (an unfinished rotation runs again under its own token; the new request is refused)."""
    token: str
    """The token the steps run under."""


@dataclass(frozen=True)
class SecretValue:
    secret: Secret
    version: Version
    string: str | None = field(default=None, repr=False)
    binary: bytes | None = field(default=None, repr=False)


def _day(ms: int) -> int:
    """The start of ``ms``'s UTC day: AWS keeps last-accessed dates to the day."""
    return ms - ms % _DAY_MS


class SqliteSecrets:
    """The data dir's secrets, in the state database, one namespace per Region."""

    def __init__(self, db: Database, clock: Clock, *, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.account_id = account_id

    def _now(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def arn_prefix(self, region: str) -> str:
        return f"arn:aws:secretsmanager:{region}:{self.account_id}:secret:"

    # -- reading ------------------------------------------------------------------------------

    def _purge(self, conn: sqlite3.Connection, now: int) -> None:
        conn.execute("DELETE FROM sm_secrets WHERE purge_ms IS NOT NULL AND purge_ms <= ?", (now,))

    def _load(self, conn: sqlite3.Connection, row: Sequence[Any]) -> Secret:
        stages: dict[str, list[str]] = {}
        for stage, version_id in conn.execute("SELECT stage, version_id FROM sm_stages WHERE secret_id = ?", (row[0],)):
            stages.setdefault(version_id, []).append(stage)
        versions = tuple(
            Version(version_id, tuple(sorted(stages.get(version_id, ()))), created, accessed)
            for version_id, created, accessed in conn.execute(
                "SELECT version_id, created_ms, accessed_day_ms FROM sm_versions WHERE secret_id = ? ORDER BY seq", (row[0],)
            )
        )
        tags = None if row[6] is None else tuple((str(k), str(v)) for k, v in json.loads(row[6]))
        rules = None if row[13] is None else json.loads(row[13])
        enabled = None if row[14] is None else bool(row[14])
        return Secret(
            id=row[0],
            region=row[1],
            name=row[2],
            arn=row[3],
            description=row[4],
            kms_key_id=row[5],
            tags=tags,
            created_ms=row[7],
            changed_ms=row[8],
            accessed_day_ms=row[9],
            deleted_ms=row[10],
            purge_ms=row[11],
            rotation_lambda_arn=row[12],
            rotation_rules=rules,
            rotation_enabled=enabled,
            rotated_ms=row[15],
            versions=versions,
        )

    def _find(self, conn: sqlite3.Connection, region: str, secret_id: str) -> Secret | None:
        """The secret ``secret_id`` names: its name, its full ARN, or its ARN without the suffix.

        An ARN whose last part ends in ``-`` and six characters is taken as a full ARN only, so
        the partial ARN of a secret whose own name ends that way finds nothing, as on AWS.
        """
        prefix = self.arn_prefix(region)
        args: tuple[str, ...]
        if secret_id.startswith("arn:"):
            if secret_id.startswith(prefix):
                rest = secret_id[len(prefix) :]
                if len(rest) > 7 and rest[-7] == "-" and rest[-6:].isalnum():
                    where, args = "region = ? AND arn = ?", (region, secret_id)
                else:
                    where, args = "region = ? AND name = ?", (region, rest)
            else:
                # Secrets are regional: another Region's (or account's) ARN names nothing here, as on AWS.
                where, args = "region = ? AND arn = ?", (region, secret_id)
        else:
            where, args = "region = ? AND name = ?", (region, secret_id)
        row = conn.execute(f"SELECT {_COLUMNS} FROM sm_secrets WHERE {where}", args).fetchone()
        return None if row is None else self._load(conn, row)

    def _must(self, conn: sqlite3.Connection, region: str, secret_id: str, *, live: str | None = None) -> Secret:
        secret = self._find(conn, region, secret_id)
        if secret is None:
            raise SecretsError("ResourceNotFoundException", NOT_FOUND)
        if live is not None and secret.deleted:
            raise SecretsError("InvalidRequestException", live)
        return secret

    def describe(self, region: str, secret_id: str) -> Secret:
        """Raises SecretsError (ResourceNotFoundException) when there is no such secret."""
        with self.db.transaction() as conn:
            self._purge(conn, self._now())
            return self._must(conn, region, secret_id)

    def list(self, region: str, *, include_deleted: bool) -> list[Secret]:
        """The Region's secrets, oldest first."""
        with self.db.transaction() as conn:
            self._purge(conn, self._now())
            rows = conn.execute(f"SELECT {_COLUMNS} FROM sm_secrets WHERE region = ? ORDER BY created_ms, id", (region,)).fetchall()
            found = [self._load(conn, row) for row in rows]
        return [s for s in found if include_deleted or not s.deleted]

    def get_value(self, region: str, secret_id: str, *, version_id: str | None, stage: str | None) -> SecretValue:
        """The version asked for (by id, label, or AWSCURRENT), marked accessed today."""
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            version = self._pick(secret, version_id, stage)
            today = _day(now)
            conn.execute("UPDATE sm_secrets SET accessed_day_ms = ? WHERE id = ?", (today, secret.id))
            conn.execute(
                "UPDATE sm_versions SET accessed_day_ms = ? WHERE secret_id = ? AND version_id = ?", (today, secret.id, version.version_id)
            )
            text, blob = conn.execute(
                "SELECT secret_string, secret_binary FROM sm_versions WHERE secret_id = ? AND version_id = ?",
                (secret.id, version.version_id),
            ).fetchone()
            secret = self._must(conn, region, secret.arn)
        return SecretValue(secret, secret.version(version.version_id) or version, text, None if blob is None else bytes(blob))

    @staticmethod
    def _pick(secret: Secret, version_id: str | None, stage: str | None) -> Version:
        if version_id is not None:
            version = secret.version(version_id)
            if version is None:
                raise SecretsError(
                    "ResourceNotFoundException", f"Secrets Manager can't find the specified secret value for VersionId: {version_id}"
                )
            if stage is not None and stage not in version.stages:
                raise SecretsError(
                    "InvalidRequestException", "You provided a VersionStage that is not associated to the provided VersionId."
                )
            return version
        label = stage or AWSCURRENT
        holder = secret.holder(label)
        if holder is None:
            raise SecretsError(
                "ResourceNotFoundException", f"Secrets Manager can't find the specified secret value for staging label: {label}"
            )
        return holder

    # -- writing ------------------------------------------------------------------------------

    def create(
        self,
        region: str,
        name: str,
        *,
        token: str,
        value: NewValue | None,
        description: str | None = None,
        kms_key_id: str | None = None,
        tags: Sequence[tuple[str, str]] | None = None,
    ) -> tuple[Secret, str | None]:
        """Make the secret, with its first version when a value is given; returns it and that version's id.

        The same request again (same name, token and value) answers what the first made.
        """
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            existing = self._find(conn, region, name)
            if existing is not None:
                if existing.deleted:
                    raise SecretsError(
                        "InvalidRequestException",
                        "You can't create this secret because a secret with this name is already scheduled for deletion.",
                    )
                if existing.version(token) is not None:
                    self._check_same(conn, existing, token, value)
                    return existing, token
                raise SecretsError("ResourceExistsException", f"The operation failed because the secret {name} already exists.")
            arn = self.arn_prefix(region) + name + "-" + "".join(_random.choice(_SUFFIX_ALPHABET) for _ in range(6))
            cursor = conn.execute(
                "INSERT INTO sm_secrets (region, name, arn, description, kms_key_id, tags, created_ms, changed_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    region,
                    name,
                    arn,
                    description,
                    kms_key_id or None,
                    None if tags is None else json.dumps([list(t) for t in tags]),
                    now,
                    now,
                ),
            )
            secret_id = int(cursor.lastrowid or 0)
            if value is not None:
                self._add_version(conn, secret_id, token, value, (AWSCURRENT,), now, value_write=True)
            return self._must(conn, region, arn), token if value is not None else None

    def _check_same(self, conn: sqlite3.Connection, secret: Secret, token: str, value: NewValue | None) -> None:
        """A token already used for a version repeats that request, or fails: a version never changes."""
        text, blob = conn.execute(
            "SELECT secret_string, secret_binary FROM sm_versions WHERE secret_id = ? AND version_id = ?", (secret.id, token)
        ).fetchone()
        if value is None or not value.same_as(text, None if blob is None else bytes(blob)):
            raise SecretsError(
                "ResourceExistsException",
                f"You can't use ClientRequestToken {token} because that value is already in use for a version of secret {secret.arn}.",
            )

    def put_value(self, region: str, secret_id: str, *, token: str, value: NewValue, stages: Sequence[str] | None) -> tuple[Secret, str]:
        """Add a version (AWSCURRENT unless ``stages`` says otherwise); a repeated token with the same value changes nothing."""
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            if secret.version(token) is not None:
                self._check_same(conn, secret, token, value)
                return secret, token
            wanted = tuple(dict.fromkeys(stages)) if stages is not None else (AWSCURRENT,)
            if not secret.versions and AWSCURRENT not in wanted:
                wanted = (*wanted, AWSCURRENT)  # a secret's first version is always its current one
            self._add_version(conn, secret.id, token, value, wanted, now, value_write=True)
            conn.execute("UPDATE sm_secrets SET changed_ms = ? WHERE id = ?", (now, secret.id))
            return self._must(conn, region, secret.arn), token

    def update(
        self,
        region: str,
        secret_id: str,
        *,
        token: str,
        value: NewValue | None,
        description: str | None,
        kms_key_id: str | None,
    ) -> tuple[Secret, str | None]:
        """Change the description or key (None: unchanged; ``""`` key: the default one), and add a current version when a value is given."""
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            if value is not None and secret.version(token) is not None:
                # The same request again changes nothing; another value under a used token is an error.
                self._check_same(conn, secret, token, value)
                return secret, token
            if description is not None:
                conn.execute("UPDATE sm_secrets SET description = ? WHERE id = ?", (description, secret.id))
            if kms_key_id is not None:
                conn.execute("UPDATE sm_secrets SET kms_key_id = ? WHERE id = ?", (kms_key_id or None, secret.id))
            if value is not None:
                self._add_version(conn, secret.id, token, value, (AWSCURRENT,), now, value_write=True)
            conn.execute("UPDATE sm_secrets SET changed_ms = ? WHERE id = ?", (now, secret.id))
            return self._must(conn, region, secret.arn), token if value is not None else None

    def _add_version(
        self,
        conn: sqlite3.Connection,
        secret_id: int,
        version_id: str,
        value: NewValue,
        stages: Sequence[str],
        now: int,
        *,
        value_write: bool,
    ) -> None:
        seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM sm_versions WHERE secret_id = ?", (secret_id,)).fetchone()[0]
        conn.execute(
            "INSERT INTO sm_versions (secret_id, version_id, seq, secret_string, secret_binary, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (secret_id, version_id, seq, value.string, value.binary, now),
        )
        for stage in stages:
            self._attach(conn, secret_id, version_id, stage, value_write=value_write)
        self._prune(conn, secret_id, now)

    @staticmethod
    def _holder(conn: sqlite3.Connection, secret_id: int, stage: str) -> str | None:
        row = conn.execute("SELECT version_id FROM sm_stages WHERE secret_id = ? AND stage = ?", (secret_id, stage)).fetchone()
        return None if row is None else str(row[0])

    def _attach(self, conn: sqlite3.Connection, secret_id: int, version_id: str, stage: str, *, value_write: bool) -> None:
        holder = self._holder(conn, secret_id, stage)
        if holder == version_id:
            return
        if stage == AWSCURRENT and holder is not None:
            self._put_stage(conn, secret_id, AWSPREVIOUS, holder)
            if value_write:
                # A new current value ends the rotation the old one was part of: recorded answers of
                # AWS show the version AWSCURRENT leaves losing AWSPENDING along with it.
                conn.execute("DELETE FROM sm_stages WHERE secret_id = ? AND stage = ? AND version_id = ?", (secret_id, AWSPENDING, holder))
        self._put_stage(conn, secret_id, stage, version_id)

    @staticmethod
    def _put_stage(conn: sqlite3.Connection, secret_id: int, stage: str, version_id: str) -> None:
        conn.execute(
            "INSERT INTO sm_stages (secret_id, stage, version_id) VALUES (?, ?, ?)"
            " ON CONFLICT (secret_id, stage) DO UPDATE SET version_id = excluded.version_id",
            (secret_id, stage, version_id),
        )

    @staticmethod
    def _prune(conn: sqlite3.Connection, secret_id: int, now: int) -> None:
        """Drop deprecated versions beyond the 100 kept, oldest first, sparing those under a day old."""
        count = conn.execute("SELECT count(*) FROM sm_versions WHERE secret_id = ?", (secret_id,)).fetchone()[0]
        if count <= _KEPT_VERSIONS:
            return
        conn.execute(
            "DELETE FROM sm_versions WHERE rowid IN (SELECT v.rowid FROM sm_versions v WHERE v.secret_id = ? AND v.created_ms <= ?"
            " AND NOT EXISTS (SELECT 1 FROM sm_stages s WHERE s.secret_id = v.secret_id AND s.version_id = v.version_id)"
            " ORDER BY v.seq LIMIT ?)",
            (secret_id, now - _DAY_MS, count - _KEPT_VERSIONS),
        )

    def update_stage(self, region: str, secret_id: str, stage: str, *, remove_from: str | None, move_to: str | None) -> Secret:
        """Move (or remove) one staging label, as UpdateSecretVersionStage does."""
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            holder = secret.holder(stage)
            for given in (remove_from, move_to):
                if given is not None and secret.version(given) is None:
                    raise SecretsError("InvalidParameterException", f"Not a valid version: {given}")
            if remove_from is not None and (holder is None or holder.version_id != remove_from):
                raise SecretsError("InvalidParameterException", f"Version stage {stage} not found in version {remove_from}")
            if holder is not None and remove_from is None and holder.version_id != move_to:
                raise SecretsError(
                    "InvalidParameterException",
                    f"The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version "
                    f"{holder.version_id}, so you must explicitly reference that version in RemoveFromVersionId.",
                )
            if move_to is not None:
                self._attach(conn, secret.id, move_to, stage, value_write=False)
            elif remove_from is not None:
                conn.execute("DELETE FROM sm_stages WHERE secret_id = ? AND stage = ?", (secret.id, stage))
            conn.execute("UPDATE sm_secrets SET changed_ms = ? WHERE id = ?", (now, secret.id))
            return self._must(conn, region, secret.arn)

    def delete(self, region: str, secret_id: str, *, window_days: int | None, force: bool) -> tuple[str, str, int]:
        """Schedule the secret's deletion (or delete it now with ``force``); returns its ARN, name and deletion date (ms)."""
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._find(conn, region, secret_id)
            if secret is None:
                if not force:
                    raise SecretsError("ResourceNotFoundException", NOT_FOUND)
                # Forcing the deletion of a secret that is not there succeeds (AWS's DeleteSecret says so).
                name = secret_id.rsplit(":", 1)[-1] if secret_id.startswith("arn:") else secret_id
                arn = secret_id if secret_id.startswith("arn:") else self.arn_prefix(region) + name
                return arn, name, now
            if force:
                conn.execute("DELETE FROM sm_secrets WHERE id = ?", (secret.id,))
                return secret.arn, secret.name, now
            if secret.deleted:
                raise SecretsError("InvalidRequestException", ALREADY_DELETED)
            purge = int((datetime.fromtimestamp(now / 1000, UTC) + timedelta(days=window_days or 30)).timestamp() * 1000)
            conn.execute("UPDATE sm_secrets SET deleted_ms = ?, purge_ms = ?, changed_ms = ? WHERE id = ?", (now, purge, now, secret.id))
            return secret.arn, secret.name, purge

    def restore(self, region: str, secret_id: str) -> Secret:
        """Cancel the secret's scheduled deletion (a secret not scheduled stays as it is)."""
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id)
            if secret.deleted:
                conn.execute("UPDATE sm_secrets SET deleted_ms = NULL, purge_ms = NULL, changed_ms = ? WHERE id = ?", (now, secret.id))
            return self._must(conn, region, secret.arn)

    def tag(self, region: str, secret_id: str, tags: Sequence[tuple[str, str]]) -> None:
        """Add the tags (a key already there takes the new value)."""
        self._retag(region, secret_id, lambda held: {**held, **dict(tags)})

    def untag(self, region: str, secret_id: str, keys: Sequence[str]) -> None:
        gone = set(keys)
        self._retag(region, secret_id, lambda held: {k: v for k, v in held.items() if k not in gone})

    def _retag(self, region: str, secret_id: str, change: Any) -> None:
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            tags: dict[str, str] = change(dict(secret.tags or ()))
            if len(tags) > MAX_TAGS:
                raise SecretsError("InvalidParameterException", f"A secret can have at most {MAX_TAGS} tags.")
            conn.execute(
                "UPDATE sm_secrets SET tags = ?, changed_ms = ? WHERE id = ?", (json.dumps([list(t) for t in tags.items()]), now, secret.id)
            )

    def begin_rotation(
        self, region: str, secret_id: str, token: str, *, lambda_arn: str | None, rules: Mapping[str, Any] | None
    ) -> tuple[Secret, Rotation]:
        """Record the rotation configuration and that a rotation under ``token`` is under way, in one transaction.

        AWS's rules: a rotation already under way with this token is the same request again
        (``repeat``); one under way with another token, or an ``AWSPENDING`` label on a version that is
        neither ``AWSCURRENT``'s nor this token's (a rotation that stopped part way), refuses the new
        one; the latter is then run again under its own token (``reattempt``).
        """
        now = self._now()
        with self.db.transaction() as conn:
            self._purge(conn, now)
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            if not (lambda_arn or secret.rotation_lambda_arn):
                raise SecretsError("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
            row = conn.execute("SELECT token FROM sm_rotations WHERE secret_id = ?", (secret.id,)).fetchone()
            if row is not None:
                if row[0] == token:
                    return secret, Rotation("repeat", token)
                raise SecretsError("InvalidRequestException", ROTATION_INCOMPLETE)
            pending, current = secret.holder(AWSPENDING), secret.holder(AWSCURRENT)
            outcome = Rotation("start", token)
            if pending is not None and pending.version_id not in (token, current.version_id if current else None):
                outcome = Rotation("reattempt", pending.version_id)
            else:
                self._configure(conn, secret.id, lambda_arn=lambda_arn, rules=rules, enabled=True, rotated_ms=None)
            conn.execute("INSERT INTO sm_rotations (secret_id, token, started_ms) VALUES (?, ?, ?)", (secret.id, outcome.token, now))
            return self._must(conn, region, secret.arn), outcome

    def end_rotation(self, arn: str, token: str, *, rotated: bool) -> None:
        """The rotation under ``token`` is over (``rotated``: all its steps ran, so the secret rotated now)."""
        now = self._now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id FROM sm_secrets WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                return  # deleted meanwhile
            conn.execute("DELETE FROM sm_rotations WHERE secret_id = ? AND token = ?", (row[0], token))
            if rotated:
                conn.execute("UPDATE sm_secrets SET rotated_ms = ? WHERE id = ?", (now, row[0]))

    def stage_pending_copy(self, arn: str, token: str) -> bool:
        """Put the current value again as version ``token`` labelled AWSPENDING (a rotation test's); False: no current value."""
        now = self._now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id FROM sm_secrets WHERE arn = ?", (arn,)).fetchone()
            current = None if row is None else self._holder(conn, row[0], AWSCURRENT)
            if row is None or current is None:
                return False
            if conn.execute("SELECT 1 FROM sm_versions WHERE secret_id = ? AND version_id = ?", (row[0], token)).fetchone() is None:
                text, blob = conn.execute(
                    "SELECT secret_string, secret_binary FROM sm_versions WHERE secret_id = ? AND version_id = ?", (row[0], current)
                ).fetchone()
                value = NewValue(string=text, binary=None if blob is None else bytes(blob))
                self._add_version(conn, row[0], token, value, (AWSPENDING,), now, value_write=False)
            return True

    def drop_pending(self, arn: str, token: str) -> None:
        """Take AWSPENDING off version ``token`` (when it is there)."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM sm_stages WHERE stage = ? AND version_id = ? AND secret_id = (SELECT id FROM sm_secrets WHERE arn = ?)",
                (AWSPENDING, token, arn),
            )

    def forget_rotations(self) -> None:
        """Clear the rotations a stopped process left recorded: none of them runs any more."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sm_rotations")

    def rotation_token(self, arn: str) -> str | None:
        """The token of the rotation under way on the secret, if one is."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT r.token FROM sm_rotations r JOIN sm_secrets s ON s.id = r.secret_id WHERE s.arn = ?", (arn,)
            ).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _configure(
        conn: sqlite3.Connection,
        secret_id: int,
        *,
        lambda_arn: str | None,
        rules: Mapping[str, Any] | None,
        enabled: bool,
        rotated_ms: int | None,
    ) -> None:
        conn.execute(
            "UPDATE sm_secrets SET rotation_lambda_arn = coalesce(?, rotation_lambda_arn),"
            " rotation_rules = coalesce(?, rotation_rules), rotation_enabled = ?, rotated_ms = coalesce(?, rotated_ms)"
            " WHERE id = ?",
            (lambda_arn, None if rules is None else json.dumps(dict(rules)), int(enabled), rotated_ms, secret_id),
        )

    def set_rotation(
        self, region: str, secret_id: str, *, lambda_arn: str | None, rules: Mapping[str, Any] | None, enabled: bool, rotated: bool
    ) -> Secret:
        """Record the secret's rotation configuration (and, with ``rotated``, that it rotated now)."""
        now = self._now()
        with self.db.transaction() as conn:
            secret = self._must(conn, region, secret_id, live=MARKED_FOR_DELETION)
            conn.execute(
                "UPDATE sm_secrets SET rotation_lambda_arn = coalesce(?, rotation_lambda_arn),"
                " rotation_rules = coalesce(?, rotation_rules), rotation_enabled = ?, rotated_ms = CASE WHEN ? THEN ? ELSE rotated_ms END"
                " WHERE id = ?",
                (lambda_arn, None if rules is None else json.dumps(dict(rules)), int(enabled), int(rotated), now, secret.id),
            )
            return self._must(conn, region, secret.arn)
