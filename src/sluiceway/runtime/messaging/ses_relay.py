"""Relay captured SES messages to the configured SMTP server, durably and with retries.

Each message SES accepted is captured first (its ``.eml`` and its row, see
``backends/local/ses_mail.py``); the row is then a delivery of this relay's loop
(:class:`~sluiceway.runtime.delivery_loop.DeliveryLoop`): claimed, sent as it was captured
(the raw bytes, with the send's envelope sender and recipients), and recorded. A 5xx answer
ends it ``rejected``, as does an address SMTP cannot carry; anything else (the server is down, a 4xx) is tried again after a delay
that doubles up to :data:`MAX_DELAY_S`, for :data:`MAX_ATTEMPTS` attempts, then ``failed``.
The captured copy is never touched: a relay that fails loses nothing.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr
from typing import Final, Protocol

from ...ports import Clock
from ...ports.deliveries import DeliveryLog
from ..delivery_loop import Attempt, DeliveryLoop, Outcome
from .delivery import SmtpConfig

logger = logging.getLogger(__name__)

__all__ = ["MAX_ATTEMPTS", "MAX_DELAY_S", "RelayedMessage", "SesRelay"]

MAX_ATTEMPTS: Final = 30
MAX_DELAY_S: Final = 300.0
_LEASE: Final = timedelta(minutes=2)
_MAX_ERROR_CHARS: Final = 1000


class RelayedMessage(Protocol):
    """What the relay reads of a captured message."""

    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...

    @property
    def message_id(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def recipients(self) -> tuple[str, ...]: ...


class _Rejected(Exception):
    """The mail server refused the message for good (a 5xx answer)."""


class SesRelay:
    """The relay's loop on its own thread (see the module docstring).

    Args:
        log: the captured messages' delivery side.
        raw: the bytes of a captured message.
        smtp: the server and how to reach it.
        clock: the time.
        poll_s: how often the thread looks for due messages without being woken.
    """

    def __init__(
        self,
        log: DeliveryLog[RelayedMessage],
        raw: Callable[[RelayedMessage], bytes],
        smtp: SmtpConfig,
        *,
        clock: Clock,
        poll_s: float = 1.0,
        wakeup: threading.Event | None = None,
    ) -> None:
        self.raw = raw
        self.smtp = smtp
        self.clock = clock
        self._loop: DeliveryLoop[RelayedMessage] = DeliveryLoop(
            log, self, clock=clock, name="sluiceway-ses-relay", lease=_LEASE, poll_s=poll_s, wakeup=wakeup
        )

    def notify(self) -> None:
        """Tell the relay a message was captured."""
        self._loop.notify()

    def start(self) -> None:
        self._loop.start()

    def close(self) -> None:
        self._loop.close()

    def deliver_pending(self) -> int:
        """Try every due message once; returns how many the server took."""
        return self._loop.deliver_pending()

    # -- the delivery loop's hooks -----------------------------------------------------------

    def prepare(self, row: RelayedMessage) -> Attempt:
        def call() -> None:
            self._send(row)
            logger.debug("ses message relayed", extra={"message_id": row.message_id, "attempt": row.attempts + 1})

        return Attempt(call, Outcome("sent", row.attempts + 1))

    def failed(self, row: RelayedMessage, exc: Exception, attempt: Attempt) -> Outcome:
        attempts, error = row.attempts + 1, _error(exc)
        where = {"message_id": row.message_id, "attempt": attempts, "error": error}
        if isinstance(exc, _Rejected):
            logger.warning("ses message rejected by the mail server", extra=where)
            return Outcome("rejected", attempts, error=error)
        if isinstance(exc, ValueError):
            # An address smtplib cannot put in a command (a line break, a character it cannot
            # encode) fails the same way on every attempt: final, not transient.
            logger.warning("ses message cannot be relayed", extra=where)
            return Outcome("rejected", attempts, error=error)
        if attempts >= MAX_ATTEMPTS:
            logger.warning("ses message relay failed; no attempts left", extra=where)
            return Outcome("failed", attempts, error=error)
        delay = min(MAX_DELAY_S, 2.0 ** (attempts - 1))
        logger.warning("ses message relay failed; will retry", extra={**where, "retry_in_s": delay})
        return Outcome("pending", attempts, next_attempt_at=self.clock.now() + timedelta(seconds=delay), error=error)

    def _send(self, row: RelayedMessage) -> None:
        cfg = self.smtp
        data = self.raw(row)
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
                smtp.sendmail(_address(row.source), [_address(r) for r in row.recipients], data)
        except smtplib.SMTPRecipientsRefused as exc:
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise _Rejected(f"the mail server refused the recipients: {exc.recipients}") from exc
            raise
        except smtplib.SMTPAuthenticationError:
            raise  # a login that failed may be fixed by the operator: retried
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise _Rejected(f"the mail server refused the message: {exc.smtp_code} {exc.smtp_error!r}") from exc
            raise


def _address(value: str) -> str:
    """The bare address of ``Name <addr>`` (SMTP's envelope takes addresses only)."""
    return parseaddr(value)[1] or value


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"
