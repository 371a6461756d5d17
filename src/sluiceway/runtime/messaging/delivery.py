"""Deliver committed topic messages to their subscribers, as SNS does.

A topic store (``SqliteTopic`` locally) commits a message and one delivery row per
matching subscription in the publish transaction. :class:`TopicDeliverer` takes
the due rows, hands each to the sender of its protocol, and records the outcome:

* the sender returned: ``delivered``;
* it raised :class:`PermanentDeliveryError` (an HTTP 4xx, a queue or function
  that does not exist, a mail server refusing the recipient): SNS does not retry
  these, so the message goes to the subscription's dead-letter queue, or the row
  ends ``rejected``;
* it raised anything else: the row stays ``pending`` until the next attempt of
  the subscription's delivery policy (:class:`~sluiceway.messaging.delivery_policy.DeliveryPolicy`,
  with SNS's jitter); when the policy runs out, the dead-letter queue or ``failed``.

Attempts, their count and the next attempt's time are in the store, so a new
deliverer on the same database carries on where a stopped one left. Delivery is
at least once: a process that dies during an attempt tries it again after the
attempt's lease.

Senders (each is a callable taking a :class:`~sluiceway.messaging.sns.DeliveryRecord`):

* :class:`SmtpSender`: email through a real SMTP server (STARTTLS, login);
* :class:`WebhookSender`: ``POST`` to HTTP/S endpoints with SNS's headers and
  ``X-Sluiceway-Signature: sha256=<hex>``, an HMAC-SHA256 of the body with the
  subscription's secret (receivers check it with :func:`verify_signature`);
* :class:`QueueSender`: SQS subscribers, through the ``Queue`` port;
* :class:`FunctionSender`: Lambda subscribers, through the ``FunctionInvoker`` port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import random
import secrets
import smtplib
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Final
from urllib.parse import urlsplit

from ...errors import NotFoundError
from ...messaging.notifications import (
    DEFAULT_SUBJECT,
    delivery_body,
    http_headers,
    lambda_event,
    notification,
    queue_message_attributes,
    string_to_sign,
)
from ...messaging.redrive import queue_name
from ...messaging.sns import DeliveryRecord, PublishedMessage
from ...observability.tracing import Tracing
from ...ports import Clock, FunctionInvoker, Invocation, Queue
from ...ports.deliveries import DeliveryLog
from ...ports.topics import Sender, TopicDeadLetterSender
from ..delivery_loop import Attempt, DeliveryLoop, Outcome

logger = logging.getLogger(__name__)

__all__ = [
    "SIGNATURE_HEADER",
    "DeliveryError",
    "FunctionSender",
    "PermanentDeliveryError",
    "QueueSender",
    "SmtpConfig",
    "SmtpSender",
    "TopicDeliverer",
    "WebhookSender",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "X-Sluiceway-Signature"
DEFAULT_LEASE: Final = timedelta(minutes=5)
_MAX_ERROR_CHARS: Final = 1000
# Invoke's refusals that a retry can change: a throttle, and Lambda's own failure. Every other refusal
# (no such function, a bad payload, a runtime that cannot start, the tenant refusal: SNS names no
# tenant, so a tenant-isolated subscriber refuses every message) no retry can fix.
_PASSING_REFUSALS: Final = frozenset({"TooManyRequestsException", "ServiceException"})


class DeliveryError(Exception):
    """A delivery attempt failed; the delivery policy decides whether another follows."""


class PermanentDeliveryError(DeliveryError):
    """The subscriber refused the message for good; SNS does not retry these."""


# ------------------------------------------------------------------ signatures


def sign(secret: str, body: bytes) -> str:
    """The ``X-Sluiceway-Signature`` value for ``body``: ``sha256=`` and the HMAC-SHA256 in hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``secret`` (compared in constant time)."""
    # Bytes: compare_digest refuses str with non-ASCII text, and the header is the sender's to write.
    return header is not None and hmac.compare_digest(sign(secret, body).encode(), header.encode("utf-8", "surrogatepass"))


def _envelope_signature(key: str, record: DeliveryRecord) -> str:
    """The envelope's ``Signature``: an HMAC of SNS's string-to-sign (not one AWS's certificates verify)."""
    text = string_to_sign(notification(record.message, record.subscription))
    digest = hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


# ---------------------------------------------------------------------- email


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server that sends email notifications."""

    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    """Upgrade the connection with STARTTLS before logging in (port 587 servers want it)."""
    username: str | None = None
    """Log in with these credentials when set."""
    password: str | None = field(default=None, repr=False)
    sender: str = "sluiceway@localhost"
    """The From address."""
    use_ssl: bool = False
    """Implicit TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS."""
    ca_file: str | None = None
    """Trust the certificates in this PEM file (a private CA or a self-signed server) instead of the system's."""
    timeout_s: float = 30.0

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


class SmtpSender:
    """Sends ``email`` (the message as the body) and ``email-json`` (the envelope) notifications.

    SMTP replies in the 5xx range for the recipient or the message are permanent
    (no retry); connection problems, 4xx replies and failed logins are retried.
    """

    def __init__(self, config: SmtpConfig, *, signing_key: str | None = None) -> None:
        self.config = config
        self.signing_key = signing_key or secrets.token_hex(32)

    def build(self, record: DeliveryRecord) -> EmailMessage:
        """The email for one delivery."""
        message, sub = record.message, record.subscription
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = sub.endpoint
        mail["Subject"] = message.subject or DEFAULT_SUBJECT
        mail["Date"] = formatdate(message.timestamp.timestamp(), usegmt=True)
        mail["Message-ID"] = make_msgid(idstring=message.message_id.replace("-", ""))
        mail["X-Sluiceway-Topic-Arn"] = message.topic_arn
        mail["X-Sluiceway-Subscription-Arn"] = sub.arn
        if sub.protocol == "email-json":
            body = json.dumps(
                notification(message, sub, signature=_envelope_signature(self.signing_key, record)),
                ensure_ascii=False,
            )
            mail.set_content(body, subtype="plain", charset="utf-8")
        else:
            mail.set_content(message.message, subtype="plain", charset="utf-8")
        return mail

    def __call__(self, record: DeliveryRecord) -> None:
        cfg = self.config
        mail = self.build(record)
        try:
            smtp: smtplib.SMTP
            if cfg.use_ssl:
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=cfg.ssl_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
            with smtp:
                smtp.ehlo()
                if cfg.starttls and not cfg.use_ssl:
                    smtp.starttls(context=cfg.ssl_context())
                    smtp.ehlo()
                if cfg.username is not None:
                    smtp.login(cfg.username, cfg.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"the mail server refused {record.subscription.endpoint}: {exc.recipients}") from exc
            raise DeliveryError(f"the mail server deferred {record.subscription.endpoint}: {exc.recipients}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login failed: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentDeliveryError(f"the mail server refused the message: {exc.smtp_code} {exc.smtp_error!r}") from exc
            raise DeliveryError(f"the mail server deferred the message: {exc.smtp_code} {exc.smtp_error!r}") from exc


# -------------------------------------------------------------------- webhooks


class WebhookSender:
    """POSTs notifications to ``http``/``https`` subscribers, signed with the subscription's secret.

    2xx is delivered. Like SNS, other replies below 500 are not retried (the
    endpoint refused the message); 5xx, timeouts and connection errors are.
    Redirects are not followed.

    Args:
        timeout_s: per request (SNS gives up after about 15 seconds).
        ssl_context: for https endpoints; the system's trust store by default.
    """

    def __init__(self, *, timeout_s: float = 15.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self.ssl_context = ssl_context

    def __call__(self, record: DeliveryRecord) -> None:
        sub = record.subscription
        secret = sub.secret or ""
        body = delivery_body(record.message, sub, signature=_envelope_signature(secret, record)).encode("utf-8")
        headers = http_headers(record.message, sub)
        headers[SIGNATURE_HEADER] = sign(secret, body)
        headers["Content-Length"] = str(len(body))
        url = urlsplit(sub.endpoint)
        host = url.hostname or ""
        conn: http.client.HTTPConnection
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(
                host,
                url.port,
                timeout=self.timeout_s,
                context=self.ssl_context or ssl.create_default_context(),
            )
        else:
            conn = http.client.HTTPConnection(host, url.port, timeout=self.timeout_s)
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"POST {sub.endpoint} failed: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        if 200 <= status < 300:
            return
        if status < 500:
            raise PermanentDeliveryError(f"POST {sub.endpoint} answered HTTP {status}")
        raise DeliveryError(f"POST {sub.endpoint} answered HTTP {status}")


# ----------------------------------------------------------- queues, functions


class QueueSender:
    """Sends notifications to ``sqs`` subscribers: the envelope, or with raw delivery the
    message with its attributes as SQS message attributes."""

    def __init__(self, queues: Queue, *, signing_key: str | None = None) -> None:
        self.queues = queues
        self.signing_key = signing_key or secrets.token_hex(32)

    def __call__(self, record: DeliveryRecord) -> None:
        sub, message = record.subscription, record.message
        body = delivery_body(message, sub, signature=_envelope_signature(self.signing_key, record))
        name = queue_name(sub.endpoint)
        fifo = _fifo_ids(message, name)
        try:
            self.queues.send(
                name,
                body,
                attributes=queue_message_attributes(message, sub) or None,
                group_id=fifo.get("group_id"),
                dedup_id=fifo.get("dedup_id"),
            )
        except NotFoundError as exc:
            raise PermanentDeliveryError(f"queue {sub.endpoint} does not exist") from exc
        except ValueError as exc:  # SQS refuses the message itself (size, characters, FIFO rules)
            raise PermanentDeliveryError(f"queue {sub.endpoint} refused the message: {exc}") from exc


class FunctionSender:
    """Invokes ``lambda`` subscribers with SNS's event; a failing function is retried by the
    subscription's policy (Lambda's asynchronous retries), a missing one is not."""

    def __init__(
        self,
        invoker: FunctionInvoker,
        *,
        request_ids: Callable[[], str] | None = None,
        signing_key: str | None = None,
        timeout_s: float = 900.0,
    ) -> None:
        self.invoker = invoker
        self.request_ids = request_ids or (lambda: str(uuid.uuid4()))
        self.signing_key = signing_key or secrets.token_hex(32)
        self.timeout_s = timeout_s

    def __call__(self, record: DeliveryRecord) -> None:
        event = lambda_event(
            record.message,
            record.subscription,
            signature=_envelope_signature(self.signing_key, record),
        )
        result = self.invoker.invoke(Invocation(record.subscription.endpoint, event, self.request_ids(), timeout_s=self.timeout_s))
        if result.ok:
            return
        error = f"{result.error_type}: {result.error_message}"
        # Invoke's own refusal only (the flag, not the code): a handler that raised an exception of
        # the same name (an uncaught botocore ResourceNotFoundException) failed, and is retried.
        if result.refused and result.error_type not in _PASSING_REFUSALS:
            raise PermanentDeliveryError(error)
        raise DeliveryError(error)


# ------------------------------------------------------------------- deliverer


class TopicDeliverer:
    """Delivers committed topic messages with retries; polls the store from its own thread.

    Args:
        store: the topic store's delivery side.
        senders: one sender per protocol (``sqs``, ``lambda``, ``email``, ``email-json``,
            ``http``, ``https``, ``outbox``); a delivery whose protocol has no sender here
            waits for a deliverer that has one.
        clock: the time.
        dead_letter: sends to subscriptions' dead-letter queues.
        rng: random numbers in [0, 1) for the jitter (SNS jitters its delays): a delay
            ``d`` becomes ``d/2 + d/2 * rng()``.
        poll_s: how often the thread looks for due deliveries without being notified.
        lease: how long an attempt may run before another deliverer may repeat it.
        signing_key: signs envelopes of subscriptions without a secret of their own.
        wakeup: set by the topic store after each publish (given, so that it can be built first).
        tracing: where deliveries become spans (none by default), continuing the publisher's trace.
        trace_of: the trace context stored with a message (``traceparent``), by message id; read
            only when tracing is on.
    """

    def __init__(
        self,
        store: DeliveryLog[DeliveryRecord],
        senders: Mapping[str, Sender],
        *,
        clock: Clock,
        dead_letter: TopicDeadLetterSender | None = None,
        rng: Callable[[], float] | None = None,
        poll_s: float = 0.5,
        lease: timedelta = DEFAULT_LEASE,
        signing_key: str | None = None,
        wakeup: threading.Event | None = None,
        tracing: Tracing | None = None,
        trace_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.tracing = tracing or Tracing()
        self.trace_of = trace_of
        self.clock = clock
        self.dead_letter = dead_letter
        self.rng = rng or random.Random().random
        self.poll_s = poll_s
        self.lease = lease
        self.signing_key = signing_key or secrets.token_hex(32)
        self._loop: DeliveryLoop[DeliveryRecord] = DeliveryLoop(
            store, self, clock=clock, name="sluiceway-topic-deliverer", lease=lease, poll_s=poll_s, wakeup=wakeup
        )

    # -- control --------------------------------------------------------------

    def notify(self) -> None:
        """Tell the deliverer that messages were published."""
        self._loop.notify()

    def start(self) -> None:
        self._loop.start()

    def close(self) -> None:
        self._loop.close()

    def __enter__(self) -> TopicDeliverer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- delivery -------------------------------------------------------------

    def deliver_pending(self) -> int:
        """Try every due delivery once, in publish order.

        Returns:
            How many reached their subscriber in this pass.
        """
        return self._loop.deliver_pending()

    # -- the delivery loop's hooks ---------------------------------------------------------

    def prepare(self, row: DeliveryRecord) -> Attempt | None:
        """The attempt at delivering ``row``; None when this deliverer has no sender for its protocol."""
        sender = self.senders.get(row.subscription.protocol)
        if sender is None:
            return None  # waits for a deliverer that has one

        def call() -> None:
            if self.tracing.enabled:
                self._traced(sender, row)
            else:
                sender(row)
            logger.debug(
                "topic message delivered",
                extra={"message_id": row.message.message_id, "subscription": row.subscription.arn, "attempt": row.attempts + 1},
            )

        return Attempt(call, Outcome("delivered", row.attempts + 1))

    def _traced(self, sender: Sender, row: DeliveryRecord) -> None:
        message, sub = row.message, row.subscription
        parent = self.trace_of(message.message_id) if self.trace_of is not None else None
        attributes = {
            "messaging.system": "aws.sns",
            "messaging.operation.type": "process",
            "messaging.destination.name": message.topic,
            "messaging.message.id": message.message_id,
            "aws.sns.subscription.protocol": sub.protocol,
            "sluiceway.attempt": row.attempts + 1,
        }
        with self.tracing.span(f"deliver {message.topic}", parent=parent, kind="consumer", attributes=attributes):
            sender(row)

    def failed(self, row: DeliveryRecord, exc: Exception, attempt: Attempt) -> Outcome:
        """Another attempt after the subscription's delivery policy says, or the dead-letter queue."""
        attempts, error = row.attempts + 1, _error(exc)
        if isinstance(exc, PermanentDeliveryError):
            return self._give_up(row, attempts, "rejected", error)
        delay = row.subscription.effective_delivery_policy.delay_s(attempts)
        if delay is None:
            return self._give_up(row, attempts, "failed", error)
        jittered = delay / 2 + delay / 2 * min(max(self.rng(), 0.0), 1.0)
        logger.warning(
            "topic delivery failed; will retry",
            extra={
                "message_id": row.message.message_id,
                "subscription": row.subscription.arn,
                "protocol": row.subscription.protocol,
                "attempt": attempts,
                "retry_in_s": round(jittered, 3),
                "error": error,
            },
        )
        return Outcome("pending", attempts, next_attempt_at=self.clock.now() + timedelta(seconds=jittered), error=error)

    def _give_up(self, row: DeliveryRecord, attempts: int, status: str, error: str) -> Outcome:
        sub = row.subscription
        where = {
            "message_id": row.message.message_id,
            "subscription": sub.arn,
            "protocol": sub.protocol,
            "attempts": attempts,
        }
        if sub.dead_letter_queue is not None and self.dead_letter is not None:
            # What the subscriber would have got, as SNS dead-letters it: the body, the message's
            # attributes where an SQS subscriber gets them as SQS attributes (raw delivery), and a
            # FIFO topic's group and deduplication ids for a FIFO dead-letter queue. SNS adds no
            # attributes of its own (the reason is in the delivery's record and the log).
            body = delivery_body(row.message, sub, signature=_envelope_signature(sub.secret or self.signing_key, row))
            attributes = queue_message_attributes(row.message, sub)
            try:
                self.dead_letter(sub.dead_letter_queue, body, attributes, **_fifo_ids(row.message, queue_name(sub.dead_letter_queue)))
            except Exception:
                logger.error(
                    "topic message could not be sent to the dead-letter queue",
                    extra={**where, "dead_letter": sub.dead_letter_queue},
                    exc_info=True,
                )
            else:
                logger.warning(
                    "topic message sent to the dead-letter queue",
                    extra={**where, "dead_letter": sub.dead_letter_queue, "error": error},
                )
                return Outcome("dead-lettered", attempts, error=error)
        if status == "failed":
            logger.warning("topic delivery failed; no attempts left", extra={**where, "error": error})
        else:
            logger.warning("topic delivery rejected by the subscriber", extra={**where, "error": error})
        return Outcome(status, attempts, error=error)


def _fifo_ids(message: PublishedMessage, queue: str) -> dict[str, str]:
    """The ``group_id`` and ``dedup_id`` a message from a FIFO topic gives a FIFO queue; none for a
    standard queue (SNS forwards neither to a standard queue subscribed to a FIFO topic)."""
    if message.group_id is None or not queue.endswith(".fifo"):
        return {}
    ids = {"group_id": message.group_id}
    if message.dedup_id is not None:
        ids["dedup_id"] = message.dedup_id
    return ids


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"
