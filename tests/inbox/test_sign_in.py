"""Signing in and out: password and TOTP both required, codes work once, failures slow
down and then lock the account, unknown names cost what known ones cost (even on a
worker's first attempt), sessions end after inactivity, at sign-out and when their
account is removed, and the cookies are locked down."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.crypto import age, wrapping
from portal.inbox import credentials, sessions
from portal.models import AuditEvent, Editor, db
from tests.apps import FAST_HASHER, MakeApp, on_sqlite
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    add_editor,
    csrf_from,
    english_client,
    sign_in,
    token,
)
from tests.inbox_keys import recovery_key

FAILED = "Sign-in failed"


def editor_row(app: Flask, name: str = "ana") -> Editor:
    with app.app_context():
        row = db.session.scalar(select(Editor).where(Editor.name == name))
        db.session.expunge(row)
        return row


def audit_actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (e.editor, e.action)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/inbox/")
    return response.status_code == 200


def test_signed_out_visitor_is_sent_to_sign_in(web: FlaskClient) -> None:
    response = web.get("/inbox/?view=starred")
    assert response.status_code == 302
    assert response.location.startswith("/inbox/login?next=")
    assert "view%3Dstarred" in response.location or "view=starred" in response.location


def test_a_form_posted_while_signed_out_is_not_a_place_to_return_to(web: FlaskClient) -> None:
    response = web.post("/inbox/bulk", data={"csrf_token": token(web, "/inbox/login")})
    assert response.status_code == 302 and response.location == "/inbox/login"


def test_right_password_and_code_sign_in(
    web: FlaskClient, editor: EditorAccount, inbox_app: Flask
) -> None:
    response = sign_in(web, editor)
    assert response.status_code == 302
    assert response.location == "/inbox/"
    assert is_signed_in(web)
    assert ("ana", "sign_in") in audit_actions(inbox_app)


def test_wrong_password_is_refused(
    web: FlaskClient, editor: EditorAccount, inbox_app: Flask
) -> None:
    response = sign_in(web, editor, password="not the password at all")
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)
    assert not is_signed_in(web)
    assert editor_row(inbox_app).failed_attempts == 1
    assert ("ana", "sign_in_failed") in audit_actions(inbox_app)


def test_wrong_code_is_refused(web: FlaskClient, editor: EditorAccount, inbox_app: Flask) -> None:
    accepted = {editor.code(step) for step in (-1, 0, 1)}  # one step of drift either side
    near = (f"{(int(editor.code()) + k) % 1_000_000:06d}" for k in range(1, 5))
    wrong = next(code for code in near if code not in accepted)
    response = sign_in(web, editor, code=wrong)
    assert response.status_code == 401
    assert not is_signed_in(web)
    assert editor_row(inbox_app).failed_attempts == 1


def test_a_code_in_another_scripts_digits_is_a_failed_sign_in_not_an_error(
    web: FlaskClient, editor: EditorAccount
) -> None:
    arabic = editor.code().translate(
        str.maketrans("0123456789", "".join(map(chr, range(0x660, 0x66A))))
    )
    response = sign_in(web, editor, code=arabic)
    assert response.status_code == 401
    assert FAILED in response.get_data(as_text=True)


def test_code_from_long_ago_is_refused(web: FlaskClient, editor: EditorAccount) -> None:
    editor.move_to_distinct_codes((-4, -1, 0, 1))
    response = sign_in(web, editor, code=editor.code(offset_steps=-4))
    assert response.status_code == 401


def test_code_of_the_neighbouring_step_is_accepted(web: FlaskClient, editor: EditorAccount) -> None:
    # One step of drift either side: phones' clocks are not exact.
    assert sign_in(web, editor, code=editor.code(offset_steps=-1)).status_code == 302


def test_a_code_cannot_be_used_twice(inbox_app: Flask, editor: EditorAccount, clock: Clock) -> None:
    first, second = inbox_app.test_client(), inbox_app.test_client()
    editor.move_to_distinct_codes((-1, 0, 1))
    code = editor.code()
    assert sign_in(first, editor, code=code).status_code == 302
    clock.advance(seconds=5)
    replay = sign_in(second, editor, code=code)
    assert replay.status_code == 401
    assert not is_signed_in(second)
    # An older code than the one used is no good either, even inside the drift window.
    assert sign_in(second, editor, code=editor.code(offset_steps=-1)).status_code == 401
    # The next step's code works.
    clock.advance(seconds=30)
    assert sign_in(second, editor).status_code == 302


def test_unknown_name_gets_the_same_answer_and_a_hash_is_verified(
    inbox_app: Flask, editor: EditorAccount, monkeypatch
) -> None:
    verified: list[str] = []
    real = wrapping.unwrap_with_password

    def spy(wrapped: str, password: str) -> bytes:
        verified.append(wrapped)
        return real(wrapped, password)

    monkeypatch.setattr(wrapping, "unwrap_with_password", spy)
    known = sign_in(english_client(inbox_app), editor, password="wrong password here")
    unknown = sign_in(english_client(inbox_app), editor, name="nobody")
    assert known.status_code == unknown.status_code == 401
    page_known = known.get_data(as_text=True)
    page_unknown = unknown.get_data(as_text=True)
    assert FAILED in page_known and FAILED in page_unknown
    # The pages differ only in the form's CSRF token and the echoed name.
    strip = lambda page: page.replace(csrf_from(page), "").replace("nobody", "ana")  # noqa: E731
    assert strip(page_known) == strip(page_unknown)
    # Both paths ran the password KDF once (the unknown one against a dummy secret).
    assert len(verified) == 2
    assert '"kdf": "argon2id"' in verified[1] and verified[1] != verified[0]
    assert ("", "sign_in_unknown") in audit_actions(inbox_app)


def first_attempt_cost(
    app: Flask, account: EditorAccount, name: str, monkeypatch: pytest.MonkeyPatch
) -> int:
    """Argon2 computations made by the first sign-in attempt of a fresh worker."""
    app.extensions["portal_passwords"] = credentials.PasswordPolicy(
        PasswordHasher.from_parameters(FAST_HASHER._parameters)
    )
    calls = []
    real = wrapping.hash_secret_raw
    monkeypatch.setattr(
        wrapping, "hash_secret_raw", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    response = sign_in(english_client(app), account, name=name, password="wrong password!")
    assert response.status_code == 401
    monkeypatch.undo()
    return len(calls)


def test_first_attempt_costs_the_same_for_known_and_unknown_names(
    inbox_app: Flask, editor: EditorAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dummy for unknown names used to be made on the first unknown name, so a
    # worker's first attempt took twice as long exactly when the name did not exist.
    known = first_attempt_cost(inbox_app, editor, editor.name, monkeypatch)
    unknown = first_attempt_cost(inbox_app, editor, "nobody", monkeypatch)
    assert known == unknown == 2  # the dummy made, then one password tried


def test_default_password_kdf_is_memory_hard(make_app: MakeApp) -> None:
    app = make_app(inbox_key=False)
    del app.extensions["portal_passwords"]  # the suite installs a cheap one
    with app.app_context():
        wrapped = credentials.wrap_private_key(age.Identity.generate(), "some long password")
    assert '"kdf": "argon2id"' in wrapped
    assert wrapping.wrapped_cost(wrapped).memory_cost >= 64 * 1024  # KiB


def fail(client: FlaskClient, account: EditorAccount, times: int) -> None:
    for _ in range(times):
        assert sign_in(client, account, password="wrong password!").status_code == 401


def test_failures_slow_down_then_lock_and_the_lock_expires(
    web: FlaskClient, editor: EditorAccount, clock: Clock, inbox_app: Flask
) -> None:
    fail(web, editor, credentials.FREE_FAILURES - 1)
    assert editor_row(inbox_app).locked_until is None
    fail(web, editor, 1)
    # Now each attempt must wait, even with the right password and code.
    assert sign_in(web, editor).status_code == 401
    assert editor_row(inbox_app).failed_attempts == credentials.FREE_FAILURES  # not counted
    for failures in range(credentials.FREE_FAILURES, credentials.LOCK_AFTER):
        wait = credentials.wait_after(failures).total_seconds()
        clock.advance(seconds=wait - 2)
        assert sign_in(web, editor).status_code == 401  # still waiting
        clock.advance(seconds=3)
        fail(web, editor, 1)
    row = editor_row(inbox_app)
    assert row.failed_attempts == credentials.LOCK_AFTER
    assert credentials.as_utc(row.locked_until) == clock.now + credentials.LOCK_TIME
    assert ("ana", "account_locked") in audit_actions(inbox_app)

    clock.advance(seconds=credentials.LOCK_TIME.total_seconds() - 60)
    assert sign_in(web, editor).status_code == 401
    assert ("ana", "sign_in_locked") in audit_actions(inbox_app)
    # Attempts during the lock do not extend it.
    assert credentials.as_utc(editor_row(inbox_app).locked_until) > clock.now
    clock.advance(seconds=61)
    assert sign_in(web, editor).status_code == 302
    row = editor_row(inbox_app)
    assert row.failed_attempts == 0 and row.locked_until is None


def test_after_a_lock_expires_one_more_failure_locks_again(
    web: FlaskClient, editor: EditorAccount, clock: Clock, inbox_app: Flask
) -> None:
    # An attacker gets one guess per lock period, not a fresh set of free failures.
    fail(web, editor, 1)
    for _ in range(credentials.LOCK_AFTER - 1):
        clock.advance(seconds=credentials.LOCK_TIME.total_seconds())
        fail(web, editor, 1)
    assert credentials.as_utc(editor_row(inbox_app).locked_until) > clock.now
    clock.advance(seconds=credentials.LOCK_TIME.total_seconds() + 1)
    fail(web, editor, 1)
    row = editor_row(inbox_app)
    assert credentials.as_utc(row.locked_until) == clock.now + credentials.LOCK_TIME
    clock.advance(seconds=60)
    assert sign_in(web, editor).status_code == 401  # even the right code waits


def test_the_wait_grows_with_each_failure() -> None:
    waits = [credentials.wait_after(n).total_seconds() for n in range(1, 9)]
    assert waits[: credentials.FREE_FAILURES - 1] == [0] * (credentials.FREE_FAILURES - 1)
    growing = waits[credentials.FREE_FAILURES - 1 : credentials.LOCK_AFTER - 1]
    assert growing == sorted(growing) and len(set(growing)) == len(growing) and growing[0] > 0
    assert waits[credentials.LOCK_AFTER - 1 :] == [credentials.LOCK_TIME.total_seconds()] * 3


def test_lockout_is_per_account(inbox_app: Flask, editor: EditorAccount, clock: Clock) -> None:
    other = add_editor(inbox_app, "luis", clock)
    fail(inbox_app.test_client(), editor, credentials.LOCK_AFTER)
    assert sign_in(inbox_app.test_client(), other).status_code == 302


def test_session_expires_after_inactivity(
    signed_in: FlaskClient, clock: Clock, inbox_app: Flask
) -> None:
    timeout = inbox_app.config["PORTAL_SETTINGS"].editor_idle_timeout
    clock.advance(seconds=timeout - 5)
    assert is_signed_in(signed_in)  # activity renews the session...
    clock.advance(seconds=timeout - 5)
    assert is_signed_in(signed_in)
    clock.advance(seconds=timeout + 1)  # ...and inactivity ends it
    response = signed_in.get("/inbox/")
    assert response.status_code == 302 and response.location == "/inbox/login"
    assert not is_signed_in(signed_in)
    assert ("ana", "session_expired") in audit_actions(inbox_app)


def test_sign_out_clears_the_session_and_old_cookies_stop_working(
    signed_in: FlaskClient, inbox_app: Flask
) -> None:
    stolen = signed_in.get_cookie("portal_session").value
    csrf = token(signed_in)
    response = signed_in.post("/inbox/logout", data={"csrf_token": csrf})
    assert response.status_code == 302 and response.location == "/inbox/login"
    with signed_in.session_transaction() as session:
        assert "_user_id" not in session and "seen" not in session
    assert not is_signed_in(signed_in)
    # A copy of the cookie taken before signing out no longer opens the inbox.
    replay = inbox_app.test_client()
    replay.set_cookie("portal_session", stolen)
    assert replay.get("/inbox/").status_code == 302
    assert ("ana", "sign_out") in audit_actions(inbox_app)


def test_sign_out_needs_post_and_a_csrf_token(signed_in: FlaskClient) -> None:
    assert signed_in.get("/inbox/logout").status_code == 405
    assert signed_in.post("/inbox/logout").status_code == 400
    assert is_signed_in(signed_in)


def test_sign_in_form_needs_a_csrf_token(web: FlaskClient, editor: EditorAccount) -> None:
    response = web.post(
        "/inbox/login",
        data={"name": editor.name, "password": editor.password, "code": editor.code()},
    )
    assert response.status_code == 302 and response.location == "/inbox/login"
    assert not is_signed_in(web)


def test_cookie_is_http_only_strict_and_carries_no_address(
    web: FlaskClient, editor: EditorAccount
) -> None:
    response = sign_in(web, editor)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP in development
    assert "Expires=" in cookie  # a permanent session that lapses after inactivity
    with web.session_transaction() as session:
        assert "_id" not in session  # Flask-Login's hash of address and browser
        assert "_remember" not in session


@pytest.mark.parametrize(
    ("secure_cookies", "base_url", "secure"),
    [
        (False, "http://portal.example", False),
        (False, "https://portal.example", True),  # HTTPS alone is enough
        (True, "https://portal.example", True),
        (True, "http://portal.example", True),  # e.g. TLS ended by a proxy gunicorn ignores
    ],
)
def test_cookie_is_secure_when_served_over_https_or_configured(
    make_app: MakeApp, clock: Clock, secure_cookies: bool, base_url: str, secure: bool
) -> None:
    app = make_app(secure_cookies=secure_cookies)
    account = add_editor(app, "ana", clock)
    client = app.test_client()
    login = client.get("/inbox/login", base_url=base_url)
    response = client.post(
        "/inbox/login",
        base_url=base_url,
        data={
            "csrf_token": csrf_from(login.get_data(as_text=True)),
            "name": account.name,
            "password": account.password,
            "code": account.code(),
        },
    )
    assert response.status_code == 302
    for cookie in (*login.headers.getlist("Set-Cookie"), response.headers["Set-Cookie"]):
        attributes = [part.strip() for part in cookie.split(";")]
        assert ("Secure" in attributes) is secure, cookie
        assert "HttpOnly" in attributes and "SameSite=Strict" in attributes
    assert ("Strict-Transport-Security" in response.headers) is base_url.startswith("https")
    # Signing out deletes the cookie with the same attributes, so the browser drops it.
    csrf = csrf_from(client.get("/inbox/", base_url=base_url).get_data(as_text=True))
    out = client.post("/inbox/logout", base_url=base_url, data={"csrf_token": csrf})
    assert out.status_code == 302
    assert ("Secure" in out.headers["Set-Cookie"]) is secure


def test_next_goes_back_inside_the_inbox_only(
    inbox_app: Flask, editor: EditorAccount, clock: Clock
) -> None:
    client = inbox_app.test_client()
    page = client.get("/inbox/login?next=/inbox/audit")
    response = client.post(
        "/inbox/login?next=/inbox/audit",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "name": editor.name,
            "password": editor.password,
            "code": editor.code(),
        },
    )
    assert response.location == "/inbox/audit"
    for evil in ("//evil.example/inbox/", "https://evil.example/inbox/", "/\\evil.example"):
        clock.advance(seconds=30)
        other = inbox_app.test_client()
        page = other.get("/inbox/login")
        response = other.post(
            "/inbox/login",
            query_string={"next": evil},
            data={
                "csrf_token": csrf_from(page.get_data(as_text=True)),
                "name": editor.name,
                "password": editor.password,
                "code": editor.code(),
            },
        )
        assert response.location == "/inbox/", evil


def test_ending_the_server_side_sessions_signs_out(
    signed_in: FlaskClient, inbox_app: Flask
) -> None:
    with inbox_app.app_context():
        row = db.session.scalar(select(Editor).where(Editor.name == "ana"))
        sessions.end_all(row.id)
        db.session.commit()
    assert not is_signed_in(signed_in)


def test_a_removed_editors_session_never_becomes_a_new_accounts(
    inbox_app: Flask, signed_in: FlaskClient, editor: EditorAccount, clock
) -> None:
    # SQLite gives a new row the highest id plus one, so an account added after the
    # newest one was removed gets the removed account's id (and session version 0).
    assert signed_in.get("/inbox/").status_code == 200
    runner = inbox_app.test_cli_runner()
    assert runner.invoke(args=["editor", "remove", editor.name]).exit_code == 0
    assert signed_in.get("/inbox/").status_code == 302
    with inbox_app.app_context():
        recovery = recovery_key(inbox_app)
    added = runner.invoke(
        args=["editor", "add", "bea", "--recovery-key"],
        input=f"{recovery}\n" + "another long password\n" * 2,
    )
    assert added.exit_code == 0, added.output
    with inbox_app.app_context():
        new_id = db.session.scalar(select(Editor.id).where(Editor.name == "bea"))
    if on_sqlite(inbox_app):
        assert new_id == 1  # the removed account's id: the case this test is about
    response = signed_in.get("/inbox/")
    assert response.status_code == 302
    assert "bea" not in response.get_data(as_text=True)
