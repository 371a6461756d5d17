"""What S3 keeps about a local bucket besides its objects: its region, creation time, notification configuration and other settings.

A bucket is its folder (``FileObjectStore``); this table holds what a folder cannot: the
``LocationConstraint`` it was created with, when it was created, and its notification
configuration (EventBridge on or off, Lambda/SQS/SNS destinations with their filters), and
its other configurations (CORS, lifecycle, policy, tags, ...: ``s3_bucket_settings``, one JSON
document per kind, in S3's own shapes). The
``region`` column holds the constraint as given when it is an alias (``EU``), which
:func:`region_of` reads back as its region (``eu-west-1``).

**Buckets without a row** — the stack's input and output buckets, made by
``open_data_dir``, and buckets that came to be because something was written to them —
keep what every local bucket did before the endpoint: EventBridge notifications on, no
other destinations. A bucket created through ``CreateBucket`` gets a row with EventBridge
off, as on AWS, until ``PutBucketNotificationConfiguration`` turns it on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["LEGACY_NOTIFICATIONS", "BucketConfig", "Destination", "NotificationConfig", "SqliteBucketConfigs", "region_of"]


@dataclass(frozen=True)
class Destination:
    """One of a bucket's Lambda, SQS or SNS notification configurations."""

    kind: str
    """``lambda``, ``queue`` or ``topic``."""
    id: str
    """The configuration's ``Id`` (S3's ``configurationId`` in the record)."""
    arn: str
    events: tuple[str, ...]
    """S3 event types (``s3:ObjectCreated:*``, ``s3:ObjectRemoved:Delete``, ...)."""
    prefix: str = ""
    suffix: str = ""

    def wants(self, event_name: str, key: str) -> bool:
        """Whether an event ``event_name`` (``ObjectCreated:Put``) of ``key`` goes to this destination."""
        return key.startswith(self.prefix) and key.endswith(self.suffix) and any(_covers(e, event_name) for e in self.events)


def _covers(pattern: str, event_name: str) -> bool:
    name = pattern.removeprefix("s3:")
    if name.endswith(":*"):
        return event_name.startswith(name[:-1])
    return name == event_name


@dataclass(frozen=True)
class NotificationConfig:
    """A bucket's notification configuration."""

    eventbridge: bool = False
    destinations: tuple[Destination, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "eventbridge": self.eventbridge,
                "destinations": [
                    {"kind": d.kind, "id": d.id, "arn": d.arn, "events": list(d.events), "prefix": d.prefix, "suffix": d.suffix}
                    for d in self.destinations
                ],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> NotificationConfig:
        data: Mapping[str, Any] = json.loads(text)
        return cls(
            eventbridge=bool(data.get("eventbridge")),
            destinations=tuple(
                Destination(
                    kind=str(d["kind"]),
                    id=str(d["id"]),
                    arn=str(d["arn"]),
                    events=tuple(str(e) for e in d["events"]),
                    prefix=str(d.get("prefix", "")),
                    suffix=str(d.get("suffix", "")),
                )
                for d in data.get("destinations", [])
            ),
        )


LEGACY_NOTIFICATIONS = NotificationConfig(eventbridge=True)
"""The configuration of a bucket without a row: EventBridge on, as every local bucket had."""


@dataclass(frozen=True)
class BucketConfig:
    """A bucket created through ``CreateBucket``."""

    name: str
    region: str
    created_at: datetime
    notification: NotificationConfig = field(default_factory=NotificationConfig)
    location_constraint: str | None = None
    """The ``LocationConstraint`` as given (``EU`` for eu-west-1, which GetBucketLocation answers as given); None in us-east-1."""


class SqliteBucketConfigs:
    """The ``s3_buckets`` table of the data dir's database (migration 0021)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, bucket: str) -> BucketConfig | None:
        row = (
            self.db.connection().execute("SELECT name, region, created_at, notification FROM s3_buckets WHERE name=?", (bucket,)).fetchone()
        )
        return None if row is None else _config(row)

    def notification(self, bucket: str) -> NotificationConfig:
        """The bucket's notification configuration (:data:`LEGACY_NOTIFICATIONS` for a bucket without a row)."""
        row = self.db.connection().execute("SELECT notification FROM s3_buckets WHERE name=?", (bucket,)).fetchone()
        return LEGACY_NOTIFICATIONS if row is None else NotificationConfig.from_json(row[0])

    def create(self, bucket: str, region: str, now: datetime, *, location_constraint: str | None = None) -> BucketConfig:
        """Record a bucket just created (replacing what a bucket of that name left, if anything).

        ``location_constraint`` is kept as given when it is an alias of ``region`` (``EU``): the
        ``region`` column holds it then, and :func:`region_of` reads it back as the region.
        """
        if location_constraint is not None and region_of(location_constraint) != region:
            raise ValueError(f"location constraint {location_constraint!r} is not region {region!r}")
        config = BucketConfig(bucket, region, now.astimezone(UTC), location_constraint=location_constraint)
        with self.db.transaction() as conn:
            # A new bucket starts from S3's defaults, whatever a deleted one of that name had set.
            conn.execute("DELETE FROM s3_bucket_settings WHERE bucket=?", (bucket,))
            conn.execute(
                "INSERT OR REPLACE INTO s3_buckets (name, region, created_at, notification) VALUES (?, ?, ?, ?)",
                (bucket, location_constraint or region, config.created_at.isoformat(), config.notification.to_json()),
            )
        return config

    def set_notification(self, bucket: str, notification: NotificationConfig, *, region: str, now: datetime) -> None:
        """Replace the bucket's notification configuration (a bucket without a row gets one)."""
        with self.db.transaction() as conn:
            updated = conn.execute("UPDATE s3_buckets SET notification=? WHERE name=?", (notification.to_json(), bucket)).rowcount
            if not updated:
                conn.execute(
                    "INSERT INTO s3_buckets (name, region, created_at, notification) VALUES (?, ?, ?, ?)",
                    (bucket, region, now.astimezone(UTC).isoformat(), notification.to_json()),
                )

    def delete(self, bucket: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM s3_buckets WHERE name=?", (bucket,))
            conn.execute("DELETE FROM s3_bucket_settings WHERE bucket=?", (bucket,))

    def setting(self, bucket: str, kind: str) -> Any | None:
        """The bucket's ``kind`` configuration (``cors``, ``policy``, ...) as it was put, or None if it has none."""
        row = self.db.connection().execute("SELECT value FROM s3_bucket_settings WHERE bucket=? AND kind=?", (bucket, kind)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_setting(self, bucket: str, kind: str, value: Any) -> None:
        """Replace the bucket's ``kind`` configuration with ``value`` (JSON-serialisable; datetimes as ISO 8601)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO s3_bucket_settings (bucket, kind, value) VALUES (?, ?, ?)",
                (bucket, kind, json.dumps(value, default=_iso)),
            )

    def delete_setting(self, bucket: str, kind: str) -> None:
        """Remove the bucket's ``kind`` configuration (none is no error)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM s3_bucket_settings WHERE bucket=? AND kind=?", (bucket, kind))


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot keep a {type(value).__name__} in a bucket setting")


_ALIASES: Final = {"EU": "eu-west-1"}
"""Location constraints that name a region by another name (S3 still accepts ``EU``)."""
_US_EAST_1: Final = "us-east-1"


def region_of(location: str) -> str:
    """The region a stored location (a region, or a constraint alias such as ``EU``) stands for."""
    return _ALIASES.get(location, location)


def _config(row: sqlite3.Row) -> BucketConfig:
    location = str(row[1])
    return BucketConfig(
        name=row[0],
        region=region_of(location),
        created_at=datetime.fromisoformat(row[2]),
        notification=NotificationConfig.from_json(row[3]),
        location_constraint=None if location == _US_EAST_1 else location,
    )
