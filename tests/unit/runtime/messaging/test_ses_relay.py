"""The SES relay's verdict on a failed attempt: what is final and what is tried again."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from sluiceway.clock import FakeClock
from sluiceway.runtime.messaging.delivery import SmtpConfig
from sluiceway.runtime.messaging.ses_relay import RelayedMessage, SesRelay


@dataclass(frozen=True)
class Row:
    id: int = 1
    attempts: int = 0
    message_id: str = "m-1"
    source: str = "a@b.example"
    recipients: tuple[str, ...] = ("c@d.example",)


class NoLog:
    """The relay's log is not used by its failure verdicts."""


def _relay() -> SesRelay:
    def raw(row: RelayedMessage) -> bytes:
        return b""

    return SesRelay(NoLog(), raw, SmtpConfig(), clock=FakeClock())  # type: ignore[arg-type]


def test_an_address_smtp_cannot_carry_is_final() -> None:
    relay = _relay()
    outcome = relay.failed(Row(), ValueError("command and arguments contain prohibited newline characters"), relay.prepare(Row()))
    assert (outcome.status, outcome.attempts) == ("rejected", 1)


def test_a_server_that_is_down_is_tried_again() -> None:
    relay = _relay()
    outcome = relay.failed(Row(), smtplib.SMTPServerDisconnected("gone"), relay.prepare(Row()))
    assert outcome.status == "pending" and outcome.next_attempt_at is not None
