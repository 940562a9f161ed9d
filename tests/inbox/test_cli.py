"""``flask editor``: add (password from stdin), list, remove, reset, unlock."""

from __future__ import annotations

import re

import pyotp
from flask import Flask
from sqlalchemy import select

from portal.inbox import credentials
from portal.models import AuditEvent, Editor, db
from tests.inbox.conftest import Clock, EditorAccount, sign_in

NEW_PASSWORD = "a long new passphrase"


def run(app: Flask, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["editor", *args], input=input)


def secret_from(output: str) -> str:
    match = re.search(r"TOTP secret: ([A-Z2-7]+)", output)
    assert match, output
    return match.group(1)


def editors(app: Flask) -> dict[str, Editor]:
    with app.app_context():
        rows = db.session.scalars(select(Editor)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.name: row for row in rows}


def test_add_reads_the_password_from_stdin_and_prints_the_totp(
    inbox_app: Flask, clock: Clock
) -> None:
    result = run(inbox_app, "add", "maria", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    secret = secret_from(result.output)
    uri = re.search(r"otpauth://\S+", result.output).group(0)
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == secret and parsed.name == "maria"
    assert "\u2580" in result.output or "\u2584" in result.output or "\u2588" in result.output  # QR
    row = editors(inbox_app)["maria"]
    assert row.password_hash.startswith("$argon2id$") and NEW_PASSWORD not in row.password_hash
    assert row.totp_secret == secret
    # The new account signs in with what was printed.
    account = EditorAccount("maria", NEW_PASSWORD, secret, clock)
    assert sign_in(inbox_app.test_client(), account).status_code == 302


def test_add_refuses_bad_input(inbox_app: Flask, editor: EditorAccount) -> None:
    cases = [
        (["add", "maria"], f"{NEW_PASSWORD}\nsomething else entirely\n", "do not match"),
        (["add", "maria"], "short\nshort\n", "at least"),
        (["add", "ana"], f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", "already exists"),
        (["add", "../x"], f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", "name"),
        (["add", "maria", "--timezone", "Mars/Olympus"], f"{NEW_PASSWORD}\n" * 2, "time zone"),
    ]  # fmt: skip
    for args, stdin, message in cases:
        result = run(inbox_app, *args, input=stdin)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert set(editors(inbox_app)) == {"ana"}


def test_add_with_a_time_zone(inbox_app: Flask) -> None:
    result = run(
        inbox_app, "add", "tj", "--timezone", "America/Tijuana",
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert editors(inbox_app)["tj"].timezone == "America/Tijuana"


def test_list_shows_names_and_lock_state(
    inbox_app: Flask, editor: EditorAccount, clock: Clock
) -> None:
    with inbox_app.app_context():
        row = db.session.scalar(select(Editor).where(Editor.name == "ana"))
        row.failed_attempts = credentials.LOCK_AFTER
        row.locked_until = clock.now + credentials.LOCK_TIME
        db.session.commit()
    result = run(inbox_app, "list")
    assert result.exit_code == 0
    assert re.search(r"^ana\tlocked\tfailed sign-ins: 6", result.output, re.MULTILINE)
    assert editor.secret not in result.output


def test_list_when_empty(inbox_app: Flask) -> None:
    result = run(inbox_app, "list")
    assert result.exit_code == 0 and "No editors yet" in result.output


def test_remove_deletes_the_account_and_ends_its_sessions(
    inbox_app: Flask, signed_in, editor: EditorAccount
) -> None:
    assert signed_in.get("/inbox/").status_code == 200
    result = run(inbox_app, "remove", "ana")
    assert result.exit_code == 0, result.output
    assert editors(inbox_app) == {}
    assert signed_in.get("/inbox/").status_code == 302
    assert run(inbox_app, "remove", "ana").exit_code != 0
    with inbox_app.app_context():
        assert (
            db.session.scalar(
                select(AuditEvent.target).where(AuditEvent.action == "editor_removed")
            )
            == "ana"
        )


def test_reset_gives_a_new_password_and_secret_and_ends_sessions(
    inbox_app: Flask, signed_in, editor: EditorAccount, clock: Clock
) -> None:
    with inbox_app.app_context():
        row = db.session.scalar(select(Editor).where(Editor.name == "ana"))
        row.failed_attempts = credentials.LOCK_AFTER
        row.locked_until = clock.now + credentials.LOCK_TIME
        db.session.commit()
    result = run(inbox_app, "reset", "ana", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    secret = secret_from(result.output)
    assert secret != editor.secret
    assert "otpauth://" in result.output
    assert signed_in.get("/inbox/").status_code == 302  # the old session ended
    clock.advance(seconds=30)
    old = EditorAccount("ana", editor.password, editor.secret, clock)
    assert sign_in(inbox_app.test_client(), old).status_code == 401
    clock.advance(seconds=30)
    # The lock was lifted by the reset, but the failure above started a new count.
    new = EditorAccount("ana", NEW_PASSWORD, secret, clock)
    assert sign_in(inbox_app.test_client(), new).status_code == 302
    assert (
        run(inbox_app, "reset", "nobody", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n").exit_code != 0
    )


def test_unlock_lifts_a_lockout(inbox_app: Flask, editor: EditorAccount, clock: Clock) -> None:
    with inbox_app.app_context():
        row = db.session.scalar(select(Editor).where(Editor.name == "ana"))
        row.failed_attempts = credentials.LOCK_AFTER
        row.locked_until = clock.now + credentials.LOCK_TIME
        db.session.commit()
    assert sign_in(inbox_app.test_client(), editor).status_code == 401
    assert run(inbox_app, "unlock", "ana").exit_code == 0
    assert sign_in(inbox_app.test_client(), editor).status_code == 302
