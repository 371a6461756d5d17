"""A queue's attributes after its creation: SetQueueAttributes, kept settings, tags, dead-letter targets.

The ``queues`` row holds what the local queue acts on as columns, the attributes SQS
keeps as given (``Policy``, ``RedriveAllowPolicy``, encryption, FIFO throughput) as a
JSON ``settings`` object, and the tags as a JSON ``tags`` object. Every function runs in
the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import replace

from ...messaging.errors import DeadLetterTargetError, InvalidMessageError
from ...messaging.queue import QueueConfig
from ...messaging.queue_attributes import QueueAttributeChanges, redrive_allowed
from ...messaging.redrive import RedrivePolicy, check_same_type, queue_arn
from ._queue_catalog import QueueCatalog, QueueRow

__all__ = [
    "MAX_TAGS",
    "check_dead_letter_target",
    "check_tags",
    "read_settings",
    "read_tags",
    "update",
    "write_tags",
]

MAX_TAGS = 50
"""SQS's limit of tags per queue."""
_MAX_TAG_KEY = 128
_MAX_TAG_VALUE = 256


def check_dead_letter_target(
    catalog: QueueCatalog,
    conn: sqlite3.Connection,
    source: str,
    fifo: bool,
    policy: RedrivePolicy,
    *,
    region: str,
    account_id: str,
) -> None:
    """Check that ``policy``'s dead-letter queue exists, is of ``source``'s type and lets ``source`` use it.

    Raises:
        NotFoundError: no such dead-letter queue.
        ValueError: a DLQ of the other queue type, or one whose RedriveAllowPolicy refuses ``source``
            (InvalidMessageError, SQS's InvalidParameterValue).
    """
    dlq = catalog.find(conn, policy.dead_letter_queue)
    if dlq is None:
        raise DeadLetterTargetError(
            f"Value for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist: {policy.dead_letter_queue}"
        )
    check_same_type(source, fifo, dlq.config.name, dlq.config.fifo)
    allow = read_settings(conn, dlq).get("RedriveAllowPolicy")
    if not redrive_allowed(allow, queue_arn(source, region=region, account_id=account_id)):
        raise InvalidMessageError(
            "InvalidParameterValue",
            "Value for parameter RedrivePolicy is invalid. Reason: Dead letter queue redrive"
            f" permission denies {source} as a source queue.",
        )


def update(conn: sqlite3.Connection, q: QueueRow, changes: QueueAttributeChanges, now: float) -> QueueConfig:
    """Apply SetQueueAttributes' ``changes`` to ``q`` and return its new configuration.

    The caller has checked a new redrive policy's target (:func:`check_dead_letter_target`).

    Raises:
        ValueError: the new configuration breaks SQS's rules (a queue its own DLQ).
    """
    config = replace(q.config, **dict(changes.fields))
    config.check()
    settings = read_settings(conn, q)
    for name, value in changes.settings.items():
        if value:
            settings[name] = value
        else:
            settings.pop(name, None)
    policy = config.redrive_policy
    conn.execute(
        "UPDATE queues SET content_based_dedup = ?, visibility_timeout_s = ?, retention_s = ?, delay_s = ?,"
        " receive_wait_s = ?, dead_letter_queue = ?, max_receive_count = ?, max_message_bytes = ?,"
        " settings = ?, modified_at = ? WHERE id = ?",
        (
            int(config.content_based_dedup),
            config.visibility_timeout_s,
            config.retention_s,
            config.delay_s,
            config.receive_wait_s,
            policy.dead_letter_queue if policy else None,
            policy.max_receive_count if policy else None,
            config.max_message_bytes,
            json.dumps(settings) if settings else None,
            now,
            q.id,
        ),
    )
    return config


def read_settings(conn: sqlite3.Connection, q: QueueRow) -> dict[str, str]:
    """The attributes ``q`` keeps as given."""
    row = conn.execute("SELECT settings FROM queues WHERE id = ?", (q.id,)).fetchone()
    return dict(json.loads(row[0])) if row is not None and row[0] else {}


def read_tags(conn: sqlite3.Connection, q: QueueRow) -> dict[str, str]:
    """``q``'s tags."""
    row = conn.execute("SELECT tags FROM queues WHERE id = ?", (q.id,)).fetchone()
    return dict(json.loads(row[0])) if row is not None and row[0] else {}


def write_tags(conn: sqlite3.Connection, q: QueueRow, tags: Mapping[str, str]) -> None:
    """Replace ``q``'s tags (checked with :func:`check_tags`)."""
    check_tags(tags)
    conn.execute("UPDATE queues SET tags = ? WHERE id = ?", (json.dumps(dict(tags)) if tags else None, q.id))


def check_tags(tags: Mapping[str, str]) -> None:
    """Check a queue's tags as SQS does: at most 50, keys 1-128 and values 0-256 characters.

    Raises:
        InvalidMessageError: ``InvalidParameterValue`` with SQS's reason.
    """
    if len(tags) > MAX_TAGS:
        raise InvalidMessageError("InvalidParameterValue", f"Too many tags added for queue. The maximum is {MAX_TAGS}.")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= _MAX_TAG_KEY:
            raise InvalidMessageError("InvalidParameterValue", f"Tag key must be 1 to {_MAX_TAG_KEY} characters: {key!r}")
        if not isinstance(value, str) or len(value) > _MAX_TAG_VALUE:
            raise InvalidMessageError("InvalidParameterValue", f"Tag value must be at most {_MAX_TAG_VALUE} characters: {key!r}")
