"""Topics on SQLite with SNS semantics: topics, subscriptions, filter policies, and
durable fan-out.

Publishing is one ``BEGIN IMMEDIATE`` transaction (the outbox pattern): the
message goes to ``topic_messages`` and one row per subscription whose filter
policy matches goes to ``topic_deliveries``; when :meth:`SqliteTopic.publish`
returns, every delivery is committed. A deliverer
(:class:`~sluiceway.runtime.messaging.delivery.TopicDeliverer`) then takes due rows
(:meth:`SqliteTopic.due`, :meth:`SqliteTopic.claim`), hands them to the
subscriber and records the outcome (:meth:`SqliteTopic.record`): at least once,
with the subscription's delivery policy between attempts.

The ``outbox`` subscription is Sluiceway's own: the message goes to the
``outbox`` table (in the publish transaction, so it is there when ``publish``
returns), then to ``outbox.jsonl`` (one JSON object per line, for
``tail -f``) and to the log. A topic created without saying otherwise has one,
and publishing to a standard topic that does not exist creates it with one (unless
``auto_create`` is off, when SNS's NotFound is raised), so code that publishes
to a named topic keeps working without setup.

Topic ARNs are ``arn:aws:sns:REGION:ACCOUNT:NAME``; ``publish`` and the other
calls take a name or an ARN. Locally the ARN's name picks the topic, whatever
its region and account. Subscriptions are confirmed at once (SNS asks email and
HTTP/S subscribers to confirm first).

What SNS accepts as a subscription's attributes is checked in
:mod:`~sluiceway.backends.local._subscriptions`; the outbox's table row and file
are written by :mod:`~sluiceway.backends.local._outbox`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ...errors import NotFoundError
from ...messaging.delivery_policy import DeliveryPolicy
from ...messaging.errors import InvalidParameterError
from ...messaging.filter_policy import FilterPolicy, compile_filter_policy
from ...messaging.sns import (
    DeliveryRecord,
    MessageAttribute,
    PublishedMessage,
    PublishResult,
    Subscription,
    TopicInfo,
    check_message,
    check_topic_name,
    message_attributes,
    subscription_arn,
    topic_arn,
    topic_name,
)
from ...messaging.sns_topics import (
    DEDUP_WINDOW_S,
    TOPIC_MAX_MESSAGE_BYTES,
    FifoPublish,
    check_tags,
    check_topic_attribute,
    fifo_publish,
    is_fifo,
    message_limit,
    topic_attributes,
)
from ...observability.propagation import current_traceparent
from ...ports import Clock, TopicMessage
from . import _outbox, _subscriptions
from ._deliveries import DeliveryTable
from ._deliveries import stamp as _deliveries_stamp
from ._outbox import OUTBOX_ENDPOINT, OutboxFile
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_LEASE_S", "OUTBOX_ENDPOINT", "SqliteTopic"]

DEFAULT_LEASE_S = 300.0
"""How long a claimed delivery stays with its deliverer before another may try it."""

_MESSAGE_COLUMNS = (
    "m.seq, m.message_id, m.topic, m.published_as, m.subject, m.message, m.attributes, m.created_at, m.structure,"
    " m.group_id, m.dedup_id, m.sequence_number"
)
_MESSAGE_COLUMN_COUNT = 12
_DELIVERY_SQL = (
    "SELECT d.id, d.status, d.attempts, d.next_attempt_at, d.last_error, d.updated_at,"
    " d.subscription, d.protocol, d.endpoint,"
    f" {_MESSAGE_COLUMNS}, {_subscriptions.COLUMNS}"
    " FROM topic_deliveries AS d JOIN topic_messages AS m ON m.seq = d.message_seq"
    " LEFT JOIN subscriptions AS s ON s.id = d.subscription"
)


def _ts(when: datetime) -> float:
    return when.timestamp()


class SqliteTopic:
    """The :class:`~sluiceway.ports.Topic` port on SQLite, with SNS's topic and subscription management.

    Thread-safe: every thread uses its own connection from ``db``.

    Args:
        db: the database (migrated).
        outbox_path: the JSON-lines file the outbox subscription appends to.
        clock: the time.
        region: for ARNs.
        account_id: for ARNs.
        auto_create: publishing to an unknown topic creates it (with the outbox
            subscription) instead of raising NotFoundError.
        on_publish: called after each publish commits (a deliverer's ``notify``).
    """

    def __init__(
        self,
        db: Database,
        outbox_path: str | Path,
        clock: Clock,
        *,
        region: str = "us-east-1",
        account_id: str = "111111111111",
        auto_create: bool = True,
        on_publish: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.outbox_path = Path(outbox_path)
        self.clock = clock
        self._deliveries = DeliveryTable(db, "topic_deliveries", clock, keep_last_error=True, what="topic deliveries")
        self.region = region
        self.account_id = account_id
        self.auto_create = auto_create
        self.on_publish = on_publish
        self._outbox_file = OutboxFile(self.outbox_path)
        self._policies: dict[tuple[str, str, str], FilterPolicy] = {}

    # ------------------------------------------------------------------ topics

    def topic_arn(self, topic: str) -> str:
        """The ARN of ``topic`` (a name or an ARN) in this store's region and account."""
        return topic_arn(topic_name(topic), region=self.region, account_id=self.account_id)

    def create_topic(
        self,
        name: str,
        *,
        outbox: bool = True,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> TopicInfo:
        """Create a topic, or return the existing one (CreateTopic is idempotent).

        Args:
            name: the topic's name (an ARN is read for its name).
            outbox: subscribe the outbox to a new topic.
            attributes: SNS's topic attributes (``DisplayName``, ``Policy``, ``DeliveryPolicy``,
                ``MaximumMessageSize``, ...).
            tags: the new topic's tags.

        Raises:
            InvalidParameterError: an invalid name or attribute, or an existing topic with
                other attributes or tags (SNS's texts).
            ValueError: more than 50 tags.
        """
        fifo = str((attributes or {}).get("FifoTopic", "")).lower() == "true"
        name = check_topic_name(topic_name(name), fifo=fifo)
        wanted = {k: check_topic_attribute(k, v, create=True, fifo=fifo) for k, v in (attributes or {}).items()}
        if not fifo:
            wanted.pop("FifoTopic", None)  # "false" is the default, which SNS does not keep
        check_tags(tags or {})
        with self.db.transaction() as conn:
            if self._create(conn, name, outbox=outbox):
                conn.execute(
                    "UPDATE topics SET attributes = ?, tags = ? WHERE name = ?",
                    (json.dumps(wanted) if wanted else None, json.dumps(dict(tags)) if tags else None, name),
                )
            else:
                kept, kept_tags = self._kept(conn, name)
                if any(kept.get(k, "") != v for k, v in wanted.items()):
                    raise InvalidParameterError("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
                if tags and any(kept_tags.get(k) != v for k, v in tags.items()):
                    raise InvalidParameterError("Invalid parameter: Tags Reason: Topic already exists with different tags")
        return self._must_topic_info(name)

    def _kept(self, conn: sqlite3.Connection, name: str) -> tuple[dict[str, str], dict[str, str]]:
        row = conn.execute("SELECT attributes, tags FROM topics WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFoundError("Topic does not exist")
        return (json.loads(row[0]) if row[0] else {}), (json.loads(row[1]) if row[1] else {})

    def topic_attributes(self, topic: str) -> dict[str, str]:
        """GetTopicAttributes' map (the outbox subscription is Sluiceway's own and not counted).

        Raises:
            NotFoundError: no such topic.
        """
        name = topic_name(topic)
        conn = self.db.connection()
        kept, _ = self._kept(conn, name)
        count = conn.execute("SELECT count(*) FROM subscriptions WHERE topic = ? AND protocol != 'outbox'", (name,)).fetchone()[0]
        return topic_attributes(self.topic_arn(name), self.account_id, kept, subscriptions=count)

    def set_topic_attribute(self, topic: str, attribute: str, value: str) -> None:
        """SetTopicAttributes: set one attribute (an empty value restores SNS's default).

        Raises:
            NotFoundError: no such topic.
            InvalidParameterError: an unknown attribute or a value SNS refuses.
        """
        name = topic_name(topic)
        with self.db.transaction() as conn:
            kept, _ = self._kept(conn, name)
            value = check_topic_attribute(attribute, value, create=False, fifo=is_fifo(kept))
            if value == "" and attribute != "DisplayName":
                kept.pop(attribute, None)
            else:
                kept[attribute] = value
            conn.execute("UPDATE topics SET attributes = ? WHERE name = ?", (json.dumps(kept) if kept else None, name))

    def topic_tags(self, topic: str) -> dict[str, str]:
        """The topic's tags (ListTagsForResource).

        Raises:
            NotFoundError: no such topic.
        """
        return self._kept(self.db.connection(), topic_name(topic))[1]

    def tag_topic(self, topic: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags (TagResource).

        Raises:
            NotFoundError: no such topic.
            InvalidParameterError: a key or value SNS refuses.
            ValueError: more than 50 tags in all.
        """
        name = topic_name(topic)
        with self.db.transaction() as conn:
            merged = {**self._kept(conn, name)[1], **tags}
            check_tags(merged)
            conn.execute("UPDATE topics SET tags = ? WHERE name = ?", (json.dumps(merged), name))

    def untag_topic(self, topic: str, keys: Sequence[str]) -> None:
        """Remove tags by key (UntagResource); keys the topic does not have are ignored.

        Raises:
            NotFoundError: no such topic.
        """
        name = topic_name(topic)
        with self.db.transaction() as conn:
            kept = {k: v for k, v in self._kept(conn, name)[1].items() if k not in set(keys)}
            conn.execute("UPDATE topics SET tags = ? WHERE name = ?", (json.dumps(kept) if kept else None, name))

    def _create(self, conn: sqlite3.Connection, name: str, *, outbox: bool) -> bool:
        now = self.clock.now().isoformat()
        if conn.execute("INSERT OR IGNORE INTO topics (name, created_at) VALUES (?, ?)", (name, now)).rowcount == 0:
            return False
        if outbox:
            conn.execute(
                "INSERT INTO subscriptions (id, topic, protocol, endpoint, created_at) VALUES (?, ?, 'outbox', ?, ?)",
                (str(uuid.uuid4()), name, OUTBOX_ENDPOINT, now),
            )
        logger.info("topic created", extra={"topic": name})
        return True

    def delete_topic(self, topic: str) -> None:
        """Delete a topic and its subscriptions; deliveries not yet made are cancelled.

        Deleting a topic that does not exist is not an error (SNS's DeleteTopic).
        """
        name = topic_name(topic)
        with self.db.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM subscriptions WHERE topic = ?", (name,))]
            self._cancel_pending(conn, ids, "the topic was deleted")
            if conn.execute("DELETE FROM topics WHERE name = ?", (name,)).rowcount:
                logger.info("topic deleted", extra={"topic": name})

    def list_topics(self) -> list[TopicInfo]:
        """Every topic with its number of subscriptions, by name."""
        rows = self.db.connection().execute(
            "SELECT t.name, t.created_at, count(s.id) FROM topics AS t"
            " LEFT JOIN subscriptions AS s ON s.topic = t.name GROUP BY t.name ORDER BY t.name"
        )
        return [self._topic_info(r[0], r[1], r[2]) for r in rows]

    def _topic_info(self, name: str, created_at: str, count: int) -> TopicInfo:
        return TopicInfo(name, self.topic_arn(name), datetime.fromisoformat(created_at), count)

    def _must_topic_info(self, name: str) -> TopicInfo:
        for info in self.list_topics():
            if info.name == name:
                return info
        raise NotFoundError("Topic does not exist")

    # ----------------------------------------------------------- subscriptions

    def subscribe(
        self,
        topic: str,
        protocol: str,
        endpoint: str = "",
        *,
        raw_message_delivery: bool = False,
        filter_policy: str | Mapping[str, Any] | None = None,
        filter_policy_scope: str | None = None,
        delivery_policy: DeliveryPolicy | Mapping[str, Any] | str | None = None,
        dead_letter_queue: str | None = None,
        secret: str | None = None,
    ) -> Subscription:
        """Subscribe an endpoint to a topic (confirmed at once), or return the same existing subscription.

        Args:
            topic: the topic's name or ARN.
            protocol: ``sqs`` (a queue name, ARN or URL), ``lambda`` (a function name or
                ARN), ``email`` / ``email-json`` (an address), ``http`` / ``https`` (a URL
                of that scheme), or ``outbox``.
            raw_message_delivery: send the message itself instead of the envelope
                (sqs, http and https only).
            filter_policy: SNS's FilterPolicy (JSON text or object).
            filter_policy_scope: ``MessageAttributes`` (the default) or ``MessageBody``.
            delivery_policy: SNS's DeliveryPolicy for http/https (SNS fixes the others').
            dead_letter_queue: an SQS queue (name or ARN) for messages whose delivery
                policy runs out (the subscription's RedrivePolicy).
            secret: the key webhook deliveries are signed with; one is made for
                http/https subscriptions when omitted.

        Raises:
            NotFoundError: no such topic.
            InvalidParameterError: what SNS refuses (SNS's messages), including the same
                protocol and endpoint subscribed with different attributes.
        """
        name = topic_name(topic)
        new = _subscriptions.check_new(
            protocol,
            endpoint,
            raw_message_delivery=raw_message_delivery,
            filter_policy=filter_policy,
            filter_policy_scope=filter_policy_scope,
            delivery_policy=delivery_policy,
            dead_letter_queue=dead_letter_queue,
            secret=secret,
            region=self.region,
            account_id=self.account_id,
        )
        endpoint = new.endpoint
        now = self.clock.now()
        with self.db.transaction() as conn:
            kept, _ = self._kept(conn, name)  # NotFoundError for a topic that does not exist
            _subscriptions.check_fifo_pairing(is_fifo(kept), protocol, endpoint, new.dead_letter_queue)
            row = conn.execute(
                f"SELECT {_subscriptions.COLUMNS} FROM subscriptions AS s WHERE s.topic = ? AND s.protocol = ? AND s.endpoint = ?",
                (name, protocol, endpoint),
            ).fetchone()
            if row is not None:
                existing = self._subscription(row)
                if not new.same_as(existing, secret):
                    raise InvalidParameterError(
                        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
                    )
                return existing
            sub_id = str(uuid.uuid4())
            if protocol in ("http", "https") and secret is None:
                secret = secrets.token_hex(32)
            conn.execute(
                "INSERT INTO subscriptions (id, topic, protocol, endpoint, raw_message_delivery, filter_policy,"
                " filter_policy_scope, delivery_policy, dead_letter_queue, secret, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sub_id,
                    name,
                    protocol,
                    endpoint,
                    int(new.raw_message_delivery),
                    new.filter_policy,
                    new.filter_policy_scope,
                    _subscriptions.stored_delivery_policy(new.delivery_policy),
                    new.dead_letter_queue,
                    secret,
                    now.isoformat(),
                ),
            )
        logger.info("topic subscribed", extra={"topic": name, "protocol": protocol, "endpoint": endpoint})
        return self.get_subscription(subscription_arn(self.topic_arn(name), sub_id))

    def unsubscribe(self, subscription: str) -> None:
        """Delete a subscription (by ARN); its deliveries not yet made are cancelled.

        Raises:
            NotFoundError: no such subscription.
        """
        sub_id = subscription.rsplit(":", 1)[-1]
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,)).rowcount == 0:
                raise NotFoundError("Subscription does not exist")
            self._cancel_pending(conn, [sub_id], "the subscription was deleted")
        logger.info("topic unsubscribed", extra={"subscription": subscription})

    def set_subscription_attribute(self, subscription: str, name: str, value: str) -> Subscription:
        """SetSubscriptionAttributes: ``RawMessageDelivery``, ``FilterPolicy``, ``FilterPolicyScope``,
        ``DeliveryPolicy`` or ``RedrivePolicy`` (an empty value removes a policy).

        Raises:
            NotFoundError: no such subscription.
            InvalidParameterError: an unknown attribute or a value SNS refuses.
        """
        current = self.get_subscription(subscription)
        column, stored = _subscriptions.column_for(current, name, value, region=self.region, account_id=self.account_id)
        with self.db.transaction() as conn:
            if column == "dead_letter_queue":
                kept, _ = self._kept(conn, current.topic)
                _subscriptions.check_fifo_pairing(is_fifo(kept), current.protocol, current.endpoint, stored)
            if conn.execute(f"UPDATE subscriptions SET {column} = ? WHERE id = ?", (stored, current.id)).rowcount == 0:
                raise NotFoundError("Subscription does not exist")
        return self.get_subscription(subscription)

    def get_subscription(self, subscription: str) -> Subscription:
        """The subscription with this ARN (or id).

        Raises:
            NotFoundError: no such subscription.
        """
        sub_id = subscription.rsplit(":", 1)[-1]
        row = self.db.connection().execute(f"SELECT {_subscriptions.COLUMNS} FROM subscriptions AS s WHERE s.id = ?", (sub_id,)).fetchone()
        if row is None:
            raise NotFoundError("Subscription does not exist")
        return self._subscription(row)

    def list_subscriptions(self, topic: str | None = None) -> list[Subscription]:
        """Subscriptions of one topic or all, oldest first."""
        sql = f"SELECT {_subscriptions.COLUMNS} FROM subscriptions AS s"
        params: tuple[Any, ...] = ()
        if topic is not None:
            sql += " WHERE s.topic = ?"
            params = (topic_name(topic),)
        sql += " ORDER BY s.topic, s.rowid"
        return [self._subscription(r) for r in self.db.connection().execute(sql, params)]

    def _subscription(self, row: sqlite3.Row | tuple[Any, ...]) -> Subscription:
        return _subscriptions.read_row(row, self.topic_arn)

    def _cancel_pending(self, conn: sqlite3.Connection, ids: list[str], why: str) -> None:
        now = _deliveries_stamp(self.clock.now())
        conn.executemany(
            "UPDATE topic_deliveries SET status = 'cancelled', last_error = ?, updated_at = ?"
            " WHERE subscription = ? AND status = 'pending'",
            [(why, now, sub_id) for sub_id in ids],
        )

    # ------------------------------------------------------------------ publish

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, str | int | float | list[Any] | MessageAttribute] | None = None,
        structure: Mapping[str, str] | None = None,
        auto_create: bool | None = None,
    ) -> str:
        """Publish a message; it and its deliveries are committed when this returns.

        The same as :meth:`publish_message`, answering the message id only.
        """
        return self.publish_message(
            topic, message, subject=subject, attributes=attributes, structure=structure, auto_create=auto_create
        ).message_id

    def publish_message(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, str | int | float | list[Any] | MessageAttribute] | None = None,
        structure: Mapping[str, str] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
        auto_create: bool | None = None,
    ) -> PublishResult:
        """Publish a message; it and its deliveries are committed when this returns.

        On a FIFO topic the message keeps its group and deduplication ids (content-based
        deduplication hashes ``message``), and a deduplication id the topic saw in the last
        five minutes (within the group, with ``FifoThroughputScope`` ``MessageGroup``) is
        accepted but delivered to no one: the answer is the first message's.

        Args:
            topic: a name or an ARN.
            message: the message (non-empty; 256 KiB with subject and attributes, or the
                topic's MaximumMessageSize); with ``structure``, the ``default`` message.
            subject: for email subscribers and envelopes (at most 100 characters, no line breaks).
            attributes: message attributes: strings are ``String``, numbers ``Number``,
                lists ``String.Array``; :class:`~sluiceway.messaging.sns.MessageAttribute`
                gives the type explicitly. Filter policies match on them.
            structure: a message per protocol (``MessageStructure=json``, read by
                :func:`~sluiceway.messaging.sns.message_structure`): each subscriber gets its
                protocol's message, or ``default``.
            group_id: SNS's ``MessageGroupId``: required on FIFO topics; not kept on standard
                topics (SNS passes it on to SQS fair queues alone).
            dedup_id: SNS's ``MessageDeduplicationId`` (FIFO topics only).
            auto_create: overrides the store's ``auto_create`` for this call.

        Returns:
            The message id and, on a FIFO topic, its sequence number.

        Raises:
            NotFoundError: no such topic and ``auto_create`` is off.
            InvalidParameterError: a message SNS refuses, or group and deduplication ids
                that do not suit the topic's kind.
            TypeError: ``message`` is not a string.
        """
        typed = message_attributes(attributes)
        # The largest any topic takes, before the write lock; the topic's own limit inside it.
        check_message(message, subject, typed, limit=TOPIC_MAX_MESSAGE_BYTES)
        name = topic_name(topic)
        check_topic_name(name, fifo=name.endswith(".fifo"))
        message_id = str(uuid.uuid4())
        now = self.clock.now()
        stamp = now.isoformat()
        published = PublishedMessage(
            message_id=message_id,
            topic=name,
            topic_arn=self.topic_arn(name),
            message=message,
            timestamp=now,
            subject=subject,
            attributes=typed,
            published_as=topic,
        )
        outbox: list[DeliveryRecord] = []
        with self.db.transaction() as conn:
            found = conn.execute("SELECT attributes FROM topics WHERE name = ?", (name,)).fetchone()
            if found is None:
                # A FIFO topic is made only by asking for one (its attributes say so).
                if not (self.auto_create if auto_create is None else auto_create) or name.endswith(".fifo"):
                    raise NotFoundError("Topic does not exist")
                self._create(conn, name, outbox=True)
            kept = json.loads(found[0]) if found is not None and found[0] else {}
            check_message(message, subject, typed, limit=message_limit(kept))
            fifo = fifo_publish(kept, message, group_id, dedup_id)
            if fifo is not None and (first := self._duplicate(conn, name, fifo, now)) is not None:
                logger.debug("duplicate message not delivered", extra={"topic": name, "dedup_id": fifo.dedup_id})
                return first
            cursor = conn.execute(
                "INSERT INTO topic_messages (message_id, topic, published_as, subject, message, attributes, created_at,"
                " structure, group_id, dedup_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    name,
                    topic,
                    subject,
                    message,
                    json.dumps({k: a.to_json() for k, a in typed.items()}),
                    stamp,
                    json.dumps(dict(structure)) if structure else None,
                    fifo.group_id if fifo else None,
                    fifo.dedup_id if fifo else None,
                ),
            )
            seq = cursor.lastrowid
            assert seq is not None
            sequence = None
            if fifo is not None:
                sequence = self._remember(conn, name, fifo, seq, message_id, now)
                published = dataclasses.replace(published, group_id=fifo.group_id, dedup_id=fifo.dedup_id, sequence_number=sequence)
            if (trace_parent := current_traceparent()) is not None:
                # Beside the message, not in it: its deliveries continue the publisher's trace.
                conn.execute("INSERT INTO topic_message_trace_contexts (message_seq, trace_parent) VALUES (?, ?)", (seq, trace_parent))
            rows = conn.execute(
                f"SELECT {_subscriptions.COLUMNS} FROM subscriptions AS s WHERE s.topic = ? ORDER BY s.rowid",
                (name,),
            ).fetchall()
            lease_until = now + timedelta(seconds=DEFAULT_LEASE_S)
            for row in rows:
                sub = self._subscription(row)
                text = structure.get(sub.protocol, message) if structure else message
                if not self._accepts(sub, text, typed):
                    continue
                # The publisher delivers to the outbox itself right after the commit; the
                # lease keeps deliverers off it unless this process dies first.
                due = lease_until if sub.protocol == "outbox" else now
                delivery_id = conn.execute(
                    "INSERT INTO topic_deliveries (message_seq, subscription, protocol, endpoint, status,"
                    " next_attempt_at, updated_at, claimed_by) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
                    (
                        seq,
                        sub.id,
                        sub.protocol,
                        sub.endpoint,
                        _ts(due),
                        _deliveries_stamp(now),
                        self.db.owner.id if sub.protocol == "outbox" else None,
                    ),
                ).lastrowid
                assert delivery_id is not None
                if sub.protocol == "outbox":
                    _outbox.insert_row(conn, published)
                    outbox.append(DeliveryRecord(delivery_id, published, sub, "pending", 0, due))
            # What happens outside the database waits for the commit: inside a caller's
            # transaction (a Task state's exactly-once publish) a rollback must leave no trace.
            self.db.after_commit(lambda: self._published(message_id, outbox))
        logger.debug(
            "message published",
            extra={"topic": name, "message_id": message_id, "subscriptions": len(rows)},
        )
        return PublishResult(message_id, sequence)

    @staticmethod
    def _duplicate(conn: sqlite3.Connection, topic: str, fifo: FifoPublish, now: datetime) -> PublishResult | None:
        """The first message's answer when ``fifo``'s deduplication id is still remembered."""
        row = conn.execute(
            "SELECT message_id, sequence_number FROM topic_dedup WHERE topic = ? AND scope = ? AND dedup_id = ? AND expires_at > ?",
            (topic, fifo.scope, fifo.dedup_id, _ts(now)),
        ).fetchone()
        return None if row is None else PublishResult(row[0], row[1])

    @staticmethod
    def _remember(conn: sqlite3.Connection, topic: str, fifo: FifoPublish, seq: int, message_id: str, now: datetime) -> str:
        """Keep a FIFO message's deduplication id for five minutes; return its sequence number."""
        # 20 digits, growing with the message's row, so within each group too (as SNS's).
        sequence = f"{seq:020d}"
        conn.execute("UPDATE topic_messages SET sequence_number = ? WHERE seq = ?", (sequence, seq))
        conn.execute("DELETE FROM topic_dedup WHERE topic = ? AND expires_at <= ?", (topic, _ts(now)))
        conn.execute(
            "INSERT OR REPLACE INTO topic_dedup (topic, scope, dedup_id, message_id, sequence_number, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (topic, fifo.scope, fifo.dedup_id, message_id, sequence, _ts(now) + DEDUP_WINDOW_S),
        )
        return sequence

    def trace_parent(self, message_id: str) -> str | None:
        """The trace context (``traceparent``) of the span that published ``message_id``; None when none traced it."""
        row = (
            self.db.connection()
            .execute(
                "SELECT t.trace_parent FROM topic_message_trace_contexts AS t JOIN topic_messages AS m ON m.seq = t.message_seq"
                " WHERE m.message_id = ?",
                (message_id,),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def _published(self, message_id: str, outbox: Sequence[DeliveryRecord]) -> None:
        for record in outbox:
            try:
                self.deliver_outbox(record, stored=True)
            except Exception as exc:  # the deliverer tries it again once the claim is released
                logger.warning(
                    "outbox delivery failed; will retry",
                    extra={"message_id": message_id, "error": f"{type(exc).__name__}: {exc}"},
                )
            else:
                self.record(record.id, status="delivered", attempts=1)
        if self.on_publish is not None:
            self.on_publish()

    def _accepts(self, sub: Subscription, message: str, attributes: Mapping[str, MessageAttribute]) -> bool:
        if not sub.filter_policy:
            return True
        key = (sub.id, sub.filter_policy, sub.filter_policy_scope)
        policy = self._policies.get(key)
        if policy is None:
            policy = self._policies[key] = compile_filter_policy(sub.filter_policy, sub.filter_policy_scope)
        return policy.matches(message, attributes)

    def deliver_outbox(self, record: DeliveryRecord, *, stored: bool = False) -> None:
        """The outbox subscriber: the ``outbox`` table (idempotent), ``outbox.jsonl`` and the log.

        Args:
            record: the delivery.
            stored: the table row is already committed (the publisher's own call).
        """
        message = record.message
        if not stored:
            with self.db.transaction() as conn:
                _outbox.insert_row(conn, message)
        # A delivery the publisher did not make itself may be one made before by a process
        # that died before recording it: the file gets each message once.
        if not self._outbox_file.write(message, again=not stored):
            return
        logger.info(
            "notification published",
            extra={
                "topic": message.published_as or message.topic,
                "subject": message.subject,
                "message_id": message.message_id,
                "body": message.message,
            },
        )

    # ------------------------------------------------------------------- reads

    def messages(self, topic: str | None = None, *, limit: int = 1000) -> list[TopicMessage]:
        """Messages the outbox got, oldest first (for the CLI, the API and tests).

        ``topic`` (a name or an ARN) selects the messages published to that topic by
        its name or by any ARN ending in it.
        """
        sql = "SELECT * FROM outbox"
        params: tuple[object, ...] = ()
        if topic is not None:
            name = topic_name(topic)
            sql += " WHERE topic = ? OR topic = ? OR (topic LIKE 'arn:%' AND substr(topic, -length(?) - 1) = ?)"
            params = (topic, name, name, ":" + name)
        sql += " ORDER BY seq LIMIT ?"
        params += (limit,)
        return [
            TopicMessage(
                topic=r["topic"],
                message=r["message"],
                message_id=r["message_id"],
                timestamp=datetime.fromisoformat(r["created_at"]),
                subject=r["subject"],
                attributes=json.loads(r["attributes"]),
            )
            for r in self.db.connection().execute(sql, params)
        ]

    def published(self, topic: str | None = None, *, limit: int = 1000) -> list[PublishedMessage]:
        """Every published message (whatever its subscribers), oldest first."""
        sql = f"SELECT {_MESSAGE_COLUMNS} FROM topic_messages AS m"
        params: tuple[object, ...] = ()
        if topic is not None:
            sql += " WHERE m.topic = ?"
            params = (topic_name(topic),)
        sql += " ORDER BY m.seq LIMIT ?"
        params += (limit,)
        return [self._message(tuple(r)) for r in self.db.connection().execute(sql, params)]

    def _message(self, row: tuple[Any, ...], protocol: str | None = None) -> PublishedMessage:
        """The message of a row of :data:`_MESSAGE_COLUMNS`; with ``protocol``, the text that
        protocol's subscribers get (a ``MessageStructure=json`` publish has one per protocol)."""
        _, message_id, topic, published_as, subject, message, attributes, created_at, structure, group, dedup, sequence = row
        if structure and protocol is not None:
            message = json.loads(structure).get(protocol, message)
        return PublishedMessage(
            message_id=message_id,
            topic=topic,
            topic_arn=self.topic_arn(topic),
            message=message,
            timestamp=datetime.fromisoformat(created_at),
            subject=subject,
            attributes={k: MessageAttribute(v["Type"], v["Value"]) for k, v in json.loads(attributes).items()},
            published_as=published_as,
            group_id=group,
            dedup_id=dedup,
            sequence_number=sequence,
        )

    def deliveries(
        self,
        *,
        message_id: str | None = None,
        subscription: str | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[DeliveryRecord]:
        """Deliveries and their status, oldest first, optionally of one message, subscription or status."""
        clauses: list[str] = []
        params: list[Any] = []
        if message_id is not None:
            clauses.append("m.message_id = ?")
            params.append(message_id)
        if subscription is not None:
            clauses.append("d.subscription = ?")
            params.append(subscription.rsplit(":", 1)[-1])
        if status is not None:
            clauses.append("d.status = ?")
            params.append(status)
        sql = _DELIVERY_SQL + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY d.id LIMIT ?"
        params.append(limit)
        return [self._delivery(r) for r in self.db.connection().execute(sql, params)]

    def _delivery(self, row: sqlite3.Row) -> DeliveryRecord:
        values = tuple(row)
        delivery_id, status, attempts, next_attempt_at, last_error, updated_at = values[:6]
        sub_id, protocol, endpoint = values[6:9]
        subscription_at = 9 + _MESSAGE_COLUMN_COUNT
        message = self._message(values[9:subscription_at], protocol)
        if values[subscription_at] is not None:
            subscription = self._subscription(values[subscription_at:])
        else:  # deleted since: what the delivery row remembers of it
            subscription = Subscription(
                arn=subscription_arn(message.topic_arn, sub_id),
                topic=message.topic,
                topic_arn=message.topic_arn,
                protocol=protocol,
                endpoint=endpoint,
                created_at=message.timestamp,
            )
        return DeliveryRecord(
            id=delivery_id,
            message=message,
            subscription=subscription,
            status=status,
            attempts=attempts,
            next_attempt_at=datetime.fromtimestamp(next_attempt_at, UTC),
            last_error=last_error,
            updated_at=datetime.fromisoformat(updated_at),
        )

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Deliveries per subscription ARN and status (for the CLI and dashboards)."""
        rows = self.db.connection().execute(
            "SELECT s.id, s.topic, d.status, count(*) FROM topic_deliveries AS d"
            " JOIN subscriptions AS s ON s.id = d.subscription GROUP BY s.id, d.status"
        )
        out: dict[str, dict[str, int]] = {}
        for sub_id, topic, status, count in rows:
            out.setdefault(subscription_arn(self.topic_arn(topic), sub_id), {})[status] = count
        return out

    # -------------------------------------------------------------- deliverer side

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[DeliveryRecord]:
        """Pending deliveries due at ``now`` with an id above ``after_id``, in publish order."""
        rows = self.db.connection().execute(
            _DELIVERY_SQL + " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.id > ? AND s.id IS NOT NULL"
            " ORDER BY d.id LIMIT ?",
            (_ts(now), after_id, limit),
        )
        return [self._delivery(r) for r in rows]

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery until ``until``; False if it is no longer due (another deliverer has it)."""
        return self._deliveries.claim(delivery_id, now, until)

    def release_orphans(self) -> int:
        """Make deliveries claimed by processes that are gone due at once; return how many."""
        return self._deliveries.release_orphans()

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Store an attempt's outcome: a final status, or ``pending`` with the next attempt's time.

        Without ``error`` the last one recorded stays (a delivery that succeeded on a
        retry still tells why the earlier attempts failed).
        """
        self._deliveries.record(delivery_id, status=status, attempts=attempts, next_attempt_at=next_attempt_at, error=error)
