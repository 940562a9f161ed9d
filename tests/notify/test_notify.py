"""Email notifications against a real SMTP server (aiosmtpd) on a loopback port, over
STARTTLS with a password and over implicit TLS: one content-free message per
interval, shared by every worker; a mail server that hangs or is gone neither delays
nor loses a tip."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select

from portal import notify
from portal.models import Notification, Submission, db
from tests.apps import MakeApp
from tests.inbox.helpers import Clock, add_editor, english_client
from tests.public.helpers import png_bytes, post_tip

USER, PASSWORD = "portal-notify", "smtp password for the test"
NOTE = "CANARY-NOTIFY: the warehouse on 5th street"
SENDER, RECIPIENTS = "portal@example.org", "desk@example.org, night@example.org"


@dataclass
class Mailbox:
    """What the test SMTP server received: each message's envelope and bytes."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.received.set()
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
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
def trust(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The portal's TLS client trusts the test certificate (and nothing else): its
    default context reads SSL_CERT_FILE, as OpenSSL does."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port,
        tls_context=server_context(certificate), require_starttls=True,
        auth_required=True, authenticator=mailbox.authenticate,
    )  # fmt: skip
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, ssl_context=server_context(certificate)
    )
    controller.start()
    yield mailbox, port
    controller.stop()


def notifying_app(make_app: MakeApp, port: int, **smtp: object) -> Flask:
    """An app that notifies through the test server; its database is a file in the
    data folder, which two apps share as two workers would."""
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_from": SENDER,
        "smtp_to": RECIPIENTS,
        **smtp,
    }
    return make_app(persistent_database=True, inbox_key=False, **settings)


def wait_for(app: Flask) -> None:
    """Let the notifier's background threads finish."""
    notifier = app.extensions["portal_notifier"]
    for thread in list(notifier.threads):
        thread.join(timeout=60)
        assert not thread.is_alive()


def file_tip(app: Flask, lang: str = "en", note: str = NOTE) -> None:
    response = post_tip(english_client(app), lang, note=note, files=[(png_bytes(), "a.png")])
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_tip_sends_one_content_free_message_over_starttls(
    make_app: MakeApp, clock: Clock, trust: None, starttls_server
) -> None:
    mailbox, port = starttls_server
    app = notifying_app(
        make_app, port, smtp_security="starttls", smtp_user=USER, smtp_password=PASSWORD
    )
    add_editor(app, "ana", clock)
    file_tip(app, "es")
    wait_for(app)
    assert mailbox.logins == [(USER.encode(), PASSWORD.encode())]
    assert len(mailbox.messages) == 1
    sender, recipients, raw = mailbox.messages[0]
    assert sender == SENDER
    assert recipients == ["desk@example.org", "night@example.org"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    # The portal's default language (Spanish), and nothing else.
    assert message["Subject"] == "Hay actividad nueva en la bandeja de entrada"
    body = message.get_content()
    assert body.startswith("Hay actividad nueva en la bandeja de entrada.")
    assert set(message.keys()) <= {"Subject", "From", "To", "Content-Type",
                                   "Content-Transfer-Encoding", "MIME-Version"}  # fmt: skip
    with app.app_context():
        submission_id = db.session.scalars(select(Submission.id)).one()
    text = raw.decode("utf-8", "replace")
    for leak in ("CANARY", "warehouse", submission_id, "png", "PNG", "English", "inglés"):
        assert leak not in text, leak
    assert not any(ch.isdigit() for ch in body)  # no count, no time, no size


def test_the_message_is_the_same_whatever_arrived(
    make_app: MakeApp, clock: Clock, trust: None, tls_server, monkeypatch
) -> None:
    mailbox, port = tls_server
    app = notifying_app(make_app, port, smtp_security="tls", smtp_port=port)
    add_editor(app, "ana", clock)
    moment = [dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(notify, "now", lambda: moment[0])
    file_tip(app, "en", note="one short note")
    wait_for(app)
    moment[0] += dt.timedelta(minutes=app.config["PORTAL_SETTINGS"].smtp_interval)
    for number in range(3):
        file_tip(app, "es", note=f"{NOTE} {number}")
    wait_for(app)
    assert len(mailbox.messages) == 2
    assert mailbox.messages[0][2] == mailbox.messages[1][2]


def test_at_most_one_message_per_interval_across_workers(
    make_app: MakeApp, clock: Clock, trust: None, tls_server, monkeypatch
) -> None:
    mailbox, port = tls_server
    first = notifying_app(make_app, port, smtp_security="tls")
    second = notifying_app(make_app, port, smtp_security="tls")
    add_editor(first, "ana", clock)
    moment = [dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(notify, "now", lambda: moment[0])
    interval = dt.timedelta(minutes=first.config["PORTAL_SETTINGS"].smtp_interval)
    file_tip(first)
    wait_for(first)
    assert len(mailbox.messages) == 1
    # Within the interval, in either worker: nothing sent, the activity is pending.
    moment[0] += interval / 2
    file_tip(second)
    file_tip(first)
    wait_for(first)
    wait_for(second)
    assert len(mailbox.messages) == 1
    with first.app_context():
        assert db.session.get(Notification, 1).pending is True
    # When the interval has passed, one of them sends, once.
    moment[0] += interval
    results = []
    workers = [
        threading.Thread(target=lambda app=app: results.append(app.extensions[
            "portal_notifier"].try_send()))
        for app in (first, second)
    ]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(results) == [False, True]
    assert len(mailbox.messages) == 2
    with second.app_context():
        assert db.session.get(Notification, 1).pending is False


class Silent:
    """A "mail server" that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.sock.accept()
        self.accepted.set()
        self.release.wait(timeout=120)
        connection.close()
        self.sock.close()


def test_a_hanging_mail_server_neither_delays_nor_loses_a_tip(
    make_app: MakeApp, clock: Clock, trust: None, caplog
) -> None:
    silent = Silent()
    app = notifying_app(make_app, silent.port, smtp_security="starttls")
    add_editor(app, "ana", clock)
    file_tip(app)  # answered with its receipt...
    # ...while the notifier is still waiting for the server's first word.
    assert silent.accepted.wait(timeout=60)
    notifier = app.extensions["portal_notifier"]
    assert any(thread.is_alive() for thread in notifier.threads)
    with app.app_context():
        assert len(db.session.scalars(select(Submission)).all()) == 1
    silent.release.set()
    wait_for(app)
    assert "notification not sent: SMTPServerDisconnected" in caplog.text
    assert "CANARY" not in caplog.text
    with app.app_context():
        assert db.session.get(Notification, 1).pending is True  # tried again later


def test_no_mail_server_at_all(make_app: MakeApp, clock: Clock, caplog) -> None:
    app = notifying_app(make_app, free_port(), smtp_security="starttls")
    add_editor(app, "ana", clock)
    file_tip(app)
    wait_for(app)
    assert "notification not sent: ConnectionRefusedError" in caplog.text
    with app.app_context():
        assert len(db.session.scalars(select(Submission)).all()) == 1


def test_the_public_side_records_and_the_inbox_sends(
    make_app: MakeApp, clock: Clock, trust: None, tls_server, monkeypatch
) -> None:
    # The deployment docs/deployment.md describes: SMTP settings on the inbox only,
    # so the public side never connects to anything.
    mailbox, port = tls_server
    public = make_app(persistent_database=True, inbox_key=False, serve="public")
    inbox = notifying_app(make_app, port, smtp_security="tls", serve="inbox")
    add_editor(inbox, "ana", clock)
    file_tip(public)
    notifier = public.extensions["portal_notifier"]
    assert not notifier.enabled and notifier.threads == []
    with public.app_context():
        assert db.session.get(Notification, 1).pending is True
    assert mailbox.messages == []
    # The inbox process looks every minute (from its first request on); one look:
    monkeypatch.setattr(notify, "POLL", 0.05)
    english_client(inbox).get("/inbox/login")
    assert mailbox.received.wait(timeout=60)
    inbox.extensions["portal_notifier"].cancel()
    assert len(mailbox.messages) == 1
    with inbox.app_context():
        assert db.session.get(Notification, 1).pending is False
