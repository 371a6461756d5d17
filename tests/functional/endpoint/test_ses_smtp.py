"""SES messages relayed to a real SMTP server (aiosmtpd on 127.0.0.1): captured first, retried while
the server is down, never lost."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

controller_module = pytest.importorskip("aiosmtpd.controller")

Aws = Callable[..., Any]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SMTP_PORT = free_port()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("ses-smtp") / "data"
    settings = Settings.load(data_dir=data_dir, workers=1, endpoint_port=free_port(), smtp_host="127.0.0.1", smtp_port=SMTP_PORT)
    built = build_stack(settings, invoker_mode="thread")
    built.start("ses smtp tests")
    try:
        yield built
    finally:
        built.close()


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_message_waits_for_the_server_and_is_relayed_once_it_is_up(aws: Aws, endpoint: Endpoint) -> None:
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="relay@smtp.example")
    sent = ses.send_email(
        Source="Relay <relay@smtp.example>",
        Destination={"ToAddresses": ["to@example.com"], "BccAddresses": ["bcc@example.com"]},
        Message={"Subject": {"Data": "relayed"}, "Body": {"Text": {"Data": "hello"}}},
    )
    box = endpoint.shared.get("ses.mailbox", lambda: None)
    assert box is not None
    eml = endpoint.stack.settings.data_dir / "ses" / f"{sent['MessageId']}.eml"
    assert eml.exists()  # captured before the answer, whatever the relay does
    # Nothing listens yet: the attempt fails and the message stays pending, its copy untouched.
    assert _wait(lambda: box.message(sent["MessageId"]).attempts >= 1)
    row = box.message(sent["MessageId"])
    assert row.relay == "pending" and row.last_error and eml.exists()

    inbox = Inbox()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        assert _wait(lambda: box.message(sent["MessageId"]).relay == "sent")
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1
    sender, recipients, content = inbox.envelopes[0]
    assert sender == "relay@smtp.example" and recipients == ["to@example.com", "bcc@example.com"]
    assert content.replace(b"\r\n", b"\n") == eml.read_bytes().replace(b"\r\n", b"\n")
