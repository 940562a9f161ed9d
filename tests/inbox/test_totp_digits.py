"""A TOTP code is six ASCII digits. Python's ``\\d`` also matches other scripts'
digits (Arabic-Indic, Devanagari, fullwidth...), and ``hmac.compare_digest`` raises
on non-ASCII text: with the right password such a code gave a 500 while a wrong
password gave a counted 401, which told an attacker the password was right without
ever tripping the lockout. Every wrong code must get the same answer and count."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.inbox import credentials
from portal.models import Editor, db
from tests.inbox.conftest import EditorAccount, sign_in

FAILED = "Sign-in failed"


def _ascii_to(digits: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(d)) for d in digits)


def _failures(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(Editor.failed_attempts).where(Editor.name == "ana"))


@pytest.mark.parametrize(
    "zero",
    ["\u0660", "\u06f0", "\u0966", "\uff10", "\U0001d7ce"],
    ids=["arabic-indic", "persian", "devanagari", "fullwidth", "math-bold"],
)
@pytest.mark.parametrize("password_right", [True, False], ids=["right-pw", "wrong-pw"])
def test_a_code_in_other_digits_is_an_ordinary_counted_failure(
    web: FlaskClient, editor: EditorAccount, inbox_app: Flask, zero: str, password_right: bool
) -> None:
    code = _ascii_to(editor.code(), zero)  # the right code, in another script's digits
    password = editor.password if password_right else "not the password at all"
    response = sign_in(web, editor, password=password, code=code)
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)
    assert _failures(inbox_app) == 1


def test_non_ascii_codes_never_match() -> None:
    secret = credentials.new_totp_secret()
    moment = datetime(2026, 3, 2, 18, 0, 7, tzinfo=UTC)
    right = pyotp.TOTP(secret).at(moment)
    assert credentials.matching_totp_step(secret, right, moment, 0) is not None
    for odd in (_ascii_to(right, "\u0660"), right[:5] + "\u00b9", "\u00b2" * 6, "é" * 6):
        assert credentials.matching_totp_step(secret, odd, moment, 0) is None
