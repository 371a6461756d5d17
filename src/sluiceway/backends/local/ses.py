"""Amazon SES's catalog on SQLite: verified identities, email templates and configuration sets.

All three are regional (and so are v2's tags on them), as on AWS, and shared by SES's two APIs (a template made with v1's
CreateTemplate is v2's email template too). Locally an identity is verified the moment it is
added: no mail goes out asking anyone to click a link, and no DNS record is looked up.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Final, Literal

from ...errors import ConflictError, NotFoundError
from ._sqlite import Database

__all__ = ["ConfigurationSet", "EmailTemplate", "Identity", "IdentityKind", "SqliteSes"]

IdentityKind = Literal["EmailAddress", "Domain"]
_TEMPLATE_COLUMNS: Final = "name, subject, text_part, html_part, created_ms"
_IDENTITY_COLUMNS: Final = "identity, kind, token, created_ms, dkim_tokens"


@dataclass(frozen=True)
class Identity:
    """A verified email address or domain."""

    identity: str
    kind: IdentityKind
    token: str | None
    """A domain's verification token (the TXT record AWS would look for); None for an address."""
    created_ms: int
    dkim_tokens: tuple[str, ...] = ()
    """A domain's three Easy DKIM tokens (CNAME names ``<token>._domainkey.<domain>``); none for an address."""


@dataclass(frozen=True)
class EmailTemplate:
    """A template's parts as given: ``{{name}}`` placeholders are rendered at send time."""

    name: str
    subject: str | None
    text: str | None
    html: str | None
    created_ms: int = 0


@dataclass(frozen=True)
class ConfigurationSet:
    """A configuration set, kept as it was given (its options are stored, not acted on)."""

    name: str
    body: dict[str, Any]
    created_ms: int


class SqliteSes:
    """The catalog in the state database (tables of migration 0095)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- identities -----------------------------------------------------------------------------

    def add_identity(
        self,
        region: str,
        identity: str,
        kind: IdentityKind,
        *,
        token: str | None,
        now_ms: int,
        dkim_tokens: tuple[str, ...] = (),
    ) -> Identity:
        """Add ``identity`` (verified at once); adding it again keeps it as it was, as AWS does."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO ses_identities (region, identity, kind, token, created_ms, dkim_tokens) VALUES (?, ?, ?, ?, ?, ?)",
                (region, identity, kind, token, now_ms, json.dumps(list(dkim_tokens))),
            )
            found = self._identity(conn, region, identity)
        assert found is not None
        return found

    def identity(self, region: str, identity: str) -> Identity | None:
        return self._identity(self.db.connection(), region, identity)

    def identities(self, region: str, kind: IdentityKind | None = None) -> list[Identity]:
        """The region's identities in the order they were added."""
        sql = f"SELECT {_IDENTITY_COLUMNS} FROM ses_identities WHERE region = ?"
        args: tuple[Any, ...] = (region,)
        if kind is not None:
            sql, args = sql + " AND kind = ?", (region, kind)
        rows = self.db.connection().execute(sql + " ORDER BY created_ms, rowid", args).fetchall()
        return [_identity(r) for r in rows]

    def set_dkim_tokens(self, region: str, identity: str, tokens: tuple[str, ...]) -> None:
        """Give an identity made without them (by v1's VerifyDomainIdentity) its DKIM tokens."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE ses_identities SET dkim_tokens = ? WHERE region = ? AND identity = ?", (json.dumps(list(tokens)), region, identity)
            )

    def delete_identity(self, region: str, identity: str) -> bool:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM ses_tags WHERE region = ? AND resource = ?", (region, f"identity/{identity}"))
            return conn.execute("DELETE FROM ses_identities WHERE region = ? AND identity = ?", (region, identity)).rowcount == 1

    @staticmethod
    def _identity(conn: sqlite3.Connection, region: str, identity: str) -> Identity | None:
        row = conn.execute(
            f"SELECT {_IDENTITY_COLUMNS} FROM ses_identities WHERE region = ? AND identity = ?", (region, identity)
        ).fetchone()
        return _identity(row) if row else None

    # -- tags (v2) ------------------------------------------------------------------------------

    def set_tags(self, region: str, resource: str, tags: list[dict[str, str]]) -> None:
        """Keep ``tags`` (``[{Key, Value}]``) of ``resource`` (``identity/<name>``, ``template/<name>``...)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO ses_tags (region, resource, tags) VALUES (?, ?, ?)"
                " ON CONFLICT (region, resource) DO UPDATE SET tags = excluded.tags",
                (region, resource, json.dumps(tags)),
            )

    def tags(self, region: str, resource: str) -> list[dict[str, str]]:
        row = self.db.connection().execute("SELECT tags FROM ses_tags WHERE region = ? AND resource = ?", (region, resource)).fetchone()
        return list(json.loads(row[0])) if row else []

    # -- templates ------------------------------------------------------------------------------

    def create_template(self, region: str, template: EmailTemplate) -> None:
        """Raises ConflictError if the region has a template of that name."""
        with self.db.transaction() as conn:
            try:
                conn.execute(
                    f"INSERT INTO ses_templates (region, {_TEMPLATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (region, template.name, template.subject, template.text, template.html, template.created_ms),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(template.name) from None

    def update_template(self, region: str, template: EmailTemplate) -> None:
        """Replace the parts (the creation time stays); raises NotFoundError if there is no such template."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE ses_templates SET subject = ?, text_part = ?, html_part = ? WHERE region = ? AND name = ?",
                (template.subject, template.text, template.html, region, template.name),
            ).rowcount
        if not changed:
            raise NotFoundError(template.name)

    def template(self, region: str, name: str) -> EmailTemplate | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_TEMPLATE_COLUMNS} FROM ses_templates WHERE region = ? AND name = ?", (region, name))
            .fetchone()
        )
        return EmailTemplate(*row) if row else None

    def templates(self, region: str) -> list[EmailTemplate]:
        """The region's templates, oldest first (the order AWS lists them in)."""
        rows = (
            self.db.connection()
            .execute(f"SELECT {_TEMPLATE_COLUMNS} FROM ses_templates WHERE region = ? ORDER BY created_ms, name", (region,))
            .fetchall()
        )
        return [EmailTemplate(*r) for r in rows]

    def delete_template(self, region: str, name: str) -> bool:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM ses_tags WHERE region = ? AND resource = ?", (region, f"template/{name}"))
            return conn.execute("DELETE FROM ses_templates WHERE region = ? AND name = ?", (region, name)).rowcount == 1

    # -- configuration sets ---------------------------------------------------------------------

    def create_configuration_set(self, region: str, name: str, body: dict[str, Any], *, now_ms: int) -> None:
        """Raises ConflictError if the region has a configuration set of that name."""
        with self.db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO ses_configuration_sets (region, name, body, created_ms) VALUES (?, ?, ?, ?)",
                    (region, name, json.dumps(body), now_ms),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(name) from None

    def configuration_set(self, region: str, name: str) -> ConfigurationSet | None:
        row = (
            self.db.connection()
            .execute("SELECT name, body, created_ms FROM ses_configuration_sets WHERE region = ? AND name = ?", (region, name))
            .fetchone()
        )
        return ConfigurationSet(row[0], json.loads(row[1]), row[2]) if row else None

    def configuration_sets(self, region: str) -> list[ConfigurationSet]:
        rows = (
            self.db.connection()
            .execute("SELECT name, body, created_ms FROM ses_configuration_sets WHERE region = ? ORDER BY name", (region,))
            .fetchall()
        )
        return [ConfigurationSet(r[0], json.loads(r[1]), r[2]) for r in rows]

    def delete_configuration_set(self, region: str, name: str) -> bool:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM ses_tags WHERE region = ? AND resource = ?", (region, f"configuration-set/{name}"))
            return conn.execute("DELETE FROM ses_configuration_sets WHERE region = ? AND name = ?", (region, name)).rowcount == 1


def _identity(row: tuple[Any, ...]) -> Identity:
    return Identity(row[0], row[1], row[2], row[3], tuple(json.loads(row[4] or "[]")))
