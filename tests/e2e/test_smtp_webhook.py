"""Topic deliveries to real peers on 127.0.0.1: an SMTP server (aiosmtpd) and an HTTP webhook receiver.

The peers run in this process on free ports; the deliverer runs on a FakeClock, so
retries happen when the test moves the clock, and the only waits are the peers'
own network round trips.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.messaging.delivery_policy import DeliveryPolicy
from sluiceway.runtime.messaging.delivery import (
    SIGNATURE_HEADER,
    SmtpConfig,
    SmtpSender,
    TopicDeliverer,
    WebhookSender,
    verify_signature,
)

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ SMTP peer


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: Message
    tls: bool
    login: str | None


@dataclass
class SmtpPeer:
    port: int
    mails: list[Mail] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        mail = Mail(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            message_from_bytes(envelope.original_content, policy=default_policy),
            session.ssl is not None,
            login,
        )
        with self.arrived:
            self.mails.append(mail)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    ok = auth_data.login == b"pipeline" and auth_data.password == b"s3cret"
    # handled=False: the server answers 535 itself.
    return aiosmtpd_smtp.AuthResult(
        success=ok, handled=False, auth_data=auth_data.login if ok else None
    )


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the client trusts the certificate itself)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(free_port())
    controller = aiosmtpd_controller.Controller(peer, hostname="127.0.0.1", port=peer.port)
    controller.start()
    try:
        yield peer
    finally:
        controller.stop()


@pytest.fixture
def tls_smtp_peer(tmp_path: Path) -> Iterator[tuple[SmtpPeer, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    peer = SmtpPeer(free_port())
    controller = aiosmtpd_controller.Controller(
        peer,
        hostname="127.0.0.1",
        port=peer.port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield peer, cert
    finally:
        controller.stop()


# --------------------------------------------------------------- webhook peer


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookPeer:
    """Records POSTs; answers the planned statuses first, then 200."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.plan: list[int] = []
        self.arrived = threading.Condition()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with (
                    peer.arrived
                ):  # recorded before the answer, so the sender sees it once it returns
                    peer.requests.append(
                        Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    peer.arrived.notify_all()
                status = peer.plan.pop(0) if peer.plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def fail(self, times: int, status: int = 500) -> None:
        self.plan.extend([status] * times)


@pytest.fixture
def webhook() -> Iterator[WebhookPeer]:
    peer = WebhookPeer()
    peer.thread.start()
    try:
        yield peer
    finally:
        peer.server.shutdown()
        peer.server.server_close()
        peer.thread.join(timeout=5)


# ---------------------------------------------------------------- the stack


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def topics(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteTopic]:
    db = Database(tmp_path / "sluiceway.db")
    store = SqliteTopic(db, tmp_path / "outbox.jsonl", clock)
    store.create_topic("alerts", outbox=False)
    yield store
    db.close()


def deliverer(
    topics: SqliteTopic, clock: FakeClock, smtp: SmtpConfig | None = None
) -> TopicDeliverer:
    senders: dict[str, Any] = {
        "http": WebhookSender(timeout_s=5),
        "https": WebhookSender(timeout_s=5),
    }
    if smtp is not None:
        senders["email"] = senders["email-json"] = SmtpSender(smtp)
    return TopicDeliverer(topics, senders, clock=clock, rng=lambda: 1.0)


# ----------------------------------------------------------------------- email


def test_email_reaches_a_real_smtp_server(
    topics: SqliteTopic, clock: FakeClock, smtp_peer: SmtpPeer
) -> None:
    topics.subscribe("alerts", "email", "ops@example.test")
    message_id = topics.publish(
        "alerts", "Run 42 failed: 3 rows rejected.\nSee the report.", subject="Pipeline failed"
    )
    config = SmtpConfig(host="127.0.0.1", port=smtp_peer.port, sender="sluiceway@example.test")
    assert deliverer(topics, clock, config).deliver_pending() == 1
    [mail] = smtp_peer.mails
    assert (mail.mail_from, mail.rcpt_tos) == ("sluiceway@example.test", ["ops@example.test"])
    assert mail.message["Subject"] == "Pipeline failed"
    assert (mail.message["From"], mail.message["To"]) == (
        "sluiceway@example.test",
        "ops@example.test",
    )
    assert (
        mail.message.get_content().replace("\r\n", "\n").rstrip("\n")
        == "Run 42 failed: 3 rows rejected.\nSee the report."
    )
    assert mail.message["X-Sluiceway-Topic-Arn"] == "arn:aws:sns:us-east-1:111111111111:alerts"
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("delivered", 1)


def test_email_json_carries_the_envelope_and_a_default_subject(
    topics: SqliteTopic, clock: FakeClock, smtp_peer: SmtpPeer
) -> None:
    topics.subscribe("alerts", "email-json", "tools@example.test")
    message_id = topics.publish("alerts", "ünïcode ✓", attributes={"severity": "high"})
    deliverer(topics, clock, SmtpConfig(host="127.0.0.1", port=smtp_peer.port)).deliver_pending()
    [mail] = smtp_peer.mails
    assert mail.message["Subject"] == "AWS Notification Message"
    envelope = json.loads(mail.message.get_content())
    assert (envelope["Type"], envelope["MessageId"], envelope["Message"]) == (
        "Notification",
        message_id,
        "ünïcode ✓",
    )
    assert envelope["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}


def test_email_over_starttls_with_a_login(
    topics: SqliteTopic, clock: FakeClock, tls_smtp_peer: tuple[SmtpPeer, Path]
) -> None:
    peer, cert = tls_smtp_peer
    topics.subscribe("alerts", "email", "ops@example.test")
    topics.publish("alerts", "secure hello", subject="TLS")
    config = SmtpConfig(
        host="127.0.0.1",
        port=peer.port,
        starttls=True,
        username="pipeline",
        password="s3cret",
        ca_file=str(cert),
    )
    assert deliverer(topics, clock, config).deliver_pending() == 1
    [mail] = peer.mails
    assert (mail.tls, mail.login, mail.message["Subject"]) == (True, "pipeline", "TLS")


def test_a_wrong_password_is_retried_on_the_smtp_policy(
    topics: SqliteTopic, clock: FakeClock, tls_smtp_peer: tuple[SmtpPeer, Path]
) -> None:
    peer, cert = tls_smtp_peer
    topics.subscribe("alerts", "email", "ops@example.test")
    message_id = topics.publish("alerts", "x")
    config = SmtpConfig(
        host="127.0.0.1",
        port=peer.port,
        starttls=True,
        username="pipeline",
        password="wrong",
        ca_file=str(cert),
        timeout_s=5,
    )
    assert deliverer(topics, clock, config).deliver_pending() == 0
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "SMTP login failed: 535" in (row.last_error or "")
    assert row.next_attempt_at == clock.now() + dt.timedelta(
        seconds=10
    )  # SNS's SMTP policy: 10 s first
    assert peer.mails == []


def test_an_unreachable_smtp_server_is_retried(
    topics: SqliteTopic, clock: FakeClock, smtp_peer: SmtpPeer
) -> None:
    topics.subscribe("alerts", "email", "ops@example.test")
    message_id = topics.publish("alerts", "x")
    run = deliverer(topics, clock, SmtpConfig(host="127.0.0.1", port=free_port(), timeout_s=2))
    assert run.deliver_pending() == 0
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    # The server comes back (the same deliverer, pointed at the live peer for the retry).
    run.senders["email"] = SmtpSender(SmtpConfig(host="127.0.0.1", port=smtp_peer.port))
    clock.advance(10)
    assert run.deliver_pending() == 1
    assert len(smtp_peer.mails) == 1


# -------------------------------------------------------------------- webhooks


def test_webhook_retries_until_the_endpoint_recovers(
    topics: SqliteTopic, clock: FakeClock, webhook: WebhookPeer
) -> None:
    sub = topics.subscribe("alerts", "http", f"{webhook.url}/hooks/sns?source=sluiceway")
    webhook.fail(2)
    message_id = topics.publish(
        "alerts", '{"run": 42}', subject="Done", attributes={"status": "SUCCEEDED"}
    )
    run = deliverer(topics, clock)

    assert run.deliver_pending() == 0
    clock.advance(20)
    assert run.deliver_pending() == 0
    clock.advance(20)
    assert run.deliver_pending() == 1

    assert len(webhook.requests) == 3
    last = webhook.requests[-1]
    assert last.path == "/hooks/sns?source=sluiceway"
    assert sub.secret is not None
    assert verify_signature(sub.secret, last.body, last.headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature("another secret", last.body, last.headers[SIGNATURE_HEADER.lower()])
    assert last.headers[SIGNATURE_HEADER.lower()].startswith("sha256=")
    assert last.headers["x-amz-sns-message-type"] == "Notification"
    assert last.headers["x-amz-sns-message-id"] == message_id
    assert last.headers["x-amz-sns-subscription-arn"] == sub.arn
    assert last.headers["content-type"] == "text/plain; charset=UTF-8"
    envelope = json.loads(last.body)
    assert {
        k: envelope[k]
        for k in ("Type", "MessageId", "TopicArn", "Subject", "Message", "SignatureVersion")
    } == {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:111111111111:alerts",
        "Subject": "Done",
        "Message": '{"run": 42}',
        "SignatureVersion": "1",
    }
    assert envelope["MessageAttributes"] == {"status": {"Type": "String", "Value": "SUCCEEDED"}}
    assert envelope["Timestamp"].endswith("Z")
    # Every attempt carried the same message, signed the same way.
    assert len({r.body for r in webhook.requests}) == 1
    [row] = topics.deliveries(message_id=message_id)
    # Delivered on the third attempt; the last failure stays on record.
    assert (row.status, row.attempts, row.last_error) == (
        "delivered",
        3,
        f"DeliveryError: POST {sub.endpoint} answered HTTP 500",
    )


def test_webhook_gives_up_after_the_policy_and_records_failed(
    topics: SqliteTopic, clock: FakeClock, webhook: WebhookPeer
) -> None:
    topics.subscribe(
        "alerts",
        "http",
        webhook.url,
        delivery_policy=DeliveryPolicy(
            num_retries=2,
            min_delay_target_s=1,
            max_delay_target_s=4,
            backoff_function="exponential",
        ),
    )
    webhook.fail(10, status=503)
    message_id = topics.publish("alerts", "x")
    run = deliverer(topics, clock)
    run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert row.next_attempt_at == clock.now() + dt.timedelta(seconds=1)
    clock.advance(1)
    run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert row.next_attempt_at == clock.now() + dt.timedelta(
        seconds=4
    )  # exponential: 1 s, then 4 s
    clock.advance(4)
    run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("failed", 3)
    clock.advance(3600)
    assert run.deliver_pending() == 0 and len(webhook.requests) == 3


def test_a_client_error_is_not_retried(
    topics: SqliteTopic, clock: FakeClock, webhook: WebhookPeer
) -> None:
    topics.subscribe("alerts", "http", webhook.url)
    webhook.fail(1, status=403)
    message_id = topics.publish("alerts", "x")
    run = deliverer(topics, clock)
    run.deliver_pending()
    clock.advance(60)
    run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("rejected", 1)
    assert "HTTP 403" in (row.last_error or "")
    assert len(webhook.requests) == 1


def test_raw_webhook_delivery_posts_the_message_itself(
    topics: SqliteTopic, clock: FakeClock, webhook: WebhookPeer
) -> None:
    sub = topics.subscribe(
        "alerts", "http", webhook.url, raw_message_delivery=True, secret="shared-secret"
    )
    topics.publish("alerts", "just the text")
    deliverer(topics, clock).deliver_pending()
    [request] = webhook.requests
    assert request.body == b"just the text"
    assert request.headers["x-amz-sns-rawdelivery"] == "true"
    assert sub.secret == "shared-secret"
    assert verify_signature(
        "shared-secret", request.body, request.headers[SIGNATURE_HEADER.lower()]
    )


def test_the_deliverer_thread_posts_when_a_message_is_published(
    tmp_path: Path, webhook: WebhookPeer
) -> None:
    db = Database(tmp_path / "live.db")
    try:
        from sluiceway.clock import SystemClock

        clock = SystemClock()
        store = SqliteTopic(db, tmp_path / "live.jsonl", clock)
        store.create_topic("live", outbox=False)
        store.subscribe("live", "http", webhook.url)
        run = TopicDeliverer(store, {"http": WebhookSender(timeout_s=5)}, clock=clock, poll_s=30)
        store.on_publish = run.notify
        with run:
            store.publish("live", "hello")
            assert webhook.wait_for(1, timeout=10)  # woken by the publish, not by its 30 s poll
        assert [d.status for d in store.deliveries()] == ["delivered"]
    finally:
        db.close()
