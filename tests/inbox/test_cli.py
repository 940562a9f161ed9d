"""``flask editor``: add (password from stdin or a hidden prompt on a terminal, with
a QR code that scans), list, remove, reset, unlock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from portal.inbox import credentials
from portal.models import AuditEvent, Editor, db
from tests.inbox.helpers import PASSWORD, Clock, EditorAccount, add_editor, secret_from, sign_in
from tests.inbox.terminal import run_on_a_terminal

NEW_PASSWORD = "a long new passphrase"
ROOT = Path(__file__).resolve().parents[2]
#: the blocks ``segno`` draws a QR code with, two modules a character (top, bottom);
#: the full block is light (the quiet zone)
_LIGHT_TOP, _LIGHT_BOTTOM = "█▀", "█▄"


def run(app: Flask, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=["editor", *args], input=input)


def qr_codes(output: str) -> list[str]:
    """What an independent decoder (ZXing) reads in the QR code drawn in ``output``."""
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp decodes the QR code")
    lines = [line for line in output.splitlines() if line and set(line) <= set("█▀▄ ")]
    assert lines, "no QR code drawn"
    rows = []
    for line in lines:
        rows.append([c in _LIGHT_TOP for c in line])
        rows.append([c in _LIGHT_BOTTOM for c in line])
    image = Image.new("L", (len(rows[0]), len(rows)))
    image.putdata([255 if light else 0 for row in rows for light in row])
    image = image.resize((image.width * 6, image.height * 6), Image.Resampling.NEAREST)
    return [found.text for found in zxingcpp.read_barcodes(image)]


def lock(app: Flask, clock: Clock, name: str = "ana") -> None:
    """Lock the account as repeated failures would."""
    with app.app_context():
        row = db.session.scalar(select(Editor).where(Editor.name == name))
        row.failed_attempts = credentials.LOCK_AFTER
        row.locked_until = clock.now + credentials.LOCK_TIME
        db.session.commit()


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
    assert qr_codes(result.output) == [uri]
    assert "Editor 'maria' created, with the inbox's key." in result.output
    assert re.search(r"RECOVERY KEY.*\n\n    AGE-SECRET-KEY-1[0-9A-Z]{58}\n", result.output)
    row = editors(inbox_app)["maria"]
    # Neither the password nor the TOTP secret is kept in clear.
    assert row.private_key and '"kdf": "argon2id"' in row.private_key
    assert NEW_PASSWORD not in row.private_key
    assert row.totp_sealed and secret.encode() not in row.totp_sealed
    # The new account signs in with what was printed.
    account = EditorAccount("maria", NEW_PASSWORD, secret, clock)
    assert sign_in(inbox_app.test_client(), account).status_code == 302


def test_add_refuses_bad_input(inbox_app: Flask, editor: EditorAccount) -> None:
    by = f"{PASSWORD}\n"
    cases = [
        (["add", "maria", "--by", "ana"], f"{by}{NEW_PASSWORD}\nsomething else\n", "do not match"),
        (["add", "maria", "--by", "ana"], f"{by}short\nshort\n", "at least"),
        (["add", "ana", "--by", "ana"], f"{by}{NEW_PASSWORD}\n{NEW_PASSWORD}\n", "already exists"),
        (["add", "../x", "--by", "ana"], f"{by}{NEW_PASSWORD}\n{NEW_PASSWORD}\n", "name"),
        (["add", "maria", "--by", "ana", "--timezone", "Mars/Olympus"], by, "time zone"),
        (["add", "maria"], f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n", "--recovery-key"),
        (["add", "maria", "--by", "ana"], "wrong password\n", "password is wrong"),
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
    add_editor(inbox_app, "bea", clock, timezone="America/Tijuana")
    lock(inbox_app, clock)
    result = run(inbox_app, "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    # Rows are stamped by the database's clock, so the dates are read back from the
    # rows (a run can straddle midnight) and checked to be today's or yesterday's.
    created = {
        name: row.created_at.strftime("%Y-%m-%d") for name, row in editors(inbox_app).items()
    }
    now = datetime.now(UTC)
    assert set(created.values()) <= {
        now.strftime("%Y-%m-%d"),
        (now - timedelta(days=1)).strftime("%Y-%m-%d"),
    }
    until = (clock.now + credentials.LOCK_TIME).strftime("%Y-%m-%d %H:%M UTC")
    assert lines[0].split("\t") == ["name", "state", "time zone", "failed sign-ins", "created"]
    assert lines[1].split("\t") == ["ana", f"locked until {until}", "-", "6", created["ana"]]
    assert lines[2].split("\t") == ["bea", "active", "America/Tijuana", "0", created["bea"]]
    assert len(lines) == 3
    assert editor.secret not in result.output and "$argon2" not in result.output
    # When the lock has run out, the account is shown as active again.
    clock.advance(seconds=credentials.LOCK_TIME.total_seconds() + 1)
    assert run(inbox_app, "list").output.splitlines()[1].split("\t")[1] == "active"


def test_list_when_empty(inbox_app: Flask) -> None:
    result = run(inbox_app, "list")
    assert result.exit_code == 0 and "No editors yet" in result.output


def test_remove_deletes_the_account_and_ends_its_sessions(
    inbox_app: Flask, signed_in, editor: EditorAccount
) -> None:
    assert signed_in.get("/inbox/").status_code == 200
    result = run(inbox_app, "remove", "ana")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Editor 'ana' removed.\n")
    assert "flask inbox recover" in result.output  # no one else can sign in
    assert editors(inbox_app) == {}
    assert signed_in.get("/inbox/").status_code == 302
    again = run(inbox_app, "remove", "ana")
    assert again.exit_code != 0 and "No editor is called 'ana'" in again.output
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
    lock(inbox_app, clock)
    stdin = f"{PASSWORD}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"  # her own password, then the new
    result = run(inbox_app, "reset", "ana", "--by", "ana", input=stdin)
    assert result.exit_code == 0, result.output
    assert "Editor 'ana' reset. Their open sessions have ended." in result.output
    secret = secret_from(result.output)
    assert secret != editor.secret
    uri = re.search(r"otpauth://\S+", result.output).group(0)
    assert pyotp.parse_uri(uri).secret == secret
    assert qr_codes(result.output) == [uri]
    assert NEW_PASSWORD not in result.output
    assert signed_in.get("/inbox/").status_code == 302  # the old session ended
    clock.advance(seconds=30)
    old = EditorAccount("ana", editor.password, editor.secret, clock)
    assert sign_in(inbox_app.test_client(), old).status_code == 401
    clock.advance(seconds=30)
    # The lock was lifted by the reset, but the failure above started a new count.
    new = EditorAccount("ana", NEW_PASSWORD, secret, clock)
    assert sign_in(inbox_app.test_client(), new).status_code == 302
    assert run(inbox_app, "reset", "nobody", "--by", "ana", input=stdin).exit_code != 0


def test_unlock_lifts_a_lockout(inbox_app: Flask, editor: EditorAccount, clock: Clock) -> None:
    lock(inbox_app, clock)
    assert sign_in(inbox_app.test_client(), editor).status_code == 401
    assert run(inbox_app, "unlock", "ana").exit_code == 0
    assert sign_in(inbox_app.test_client(), editor).status_code == 302


def test_add_on_a_terminal_asks_twice_without_echo(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)  # made by the server's first start; commands never make it
    output, code = run_on_a_terminal(
        data_dir,
        ["add", "carla"],
        [
            (b"New password: ", NEW_PASSWORD),
            (b"Repeat for confirmation: ", "not the same password"),
            (b"New password: ", NEW_PASSWORD),
            (b"Repeat for confirmation: ", NEW_PASSWORD),
        ],
    )
    assert code == 0, output
    assert "do not match" in output  # the first, mistyped confirmation was refused
    assert NEW_PASSWORD not in output and "not the same password" not in output  # no echo
    assert "Editor 'carla' created, with the inbox's key." in output
    uri = re.search(r"otpauth://\S+", output).group(0)
    assert qr_codes(output) == [uri]
    assert pyotp.parse_uri(uri).secret == secret_from(output)
