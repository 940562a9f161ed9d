"""Defects found by an adversarial review of the inbox, each pinned by a test:
page numbers that crashed the list, request bodies a signed-out visitor could make
the inbox receive, and a first sign-in attempt whose cost told unknown names apart."""

from __future__ import annotations

import io

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.crypto import wrapping
from portal.inbox import auth, credentials
from portal.models import Editor, db
from tests.inbox.conftest import (
    FAST_HASHER,
    EditorAccount,
    MakeSubmission,
    english_client,
    sign_in,
    token,
)
from tests.inbox_keys import recovery_key

# "²" passes str.isdigit() but int() refuses it, as it refuses any string of more than
# 4300 digits.
ODD_PAGES = ["²", "9" * 5000, "-1", "0", "abc", "", "1e3", "999999999999"]


@pytest.mark.parametrize("page", ODD_PAGES)
def test_odd_page_numbers_show_the_first_page(
    signed_in: FlaskClient, make_submission: MakeSubmission, page: str
) -> None:
    filed = make_submission(note="the only one")
    listing = signed_in.get("/inbox/", query_string={"page": page})
    assert listing.status_code == 200
    assert filed.id in listing.get_data(as_text=True)
    log = signed_in.get("/inbox/audit", query_string={"page": page})
    assert log.status_code == 200
    assert "<td>Sign-in</td>" in log.get_data(as_text=True)


def big_form(csrf: str) -> dict[str, object]:
    return {"csrf_token": csrf, "extra": (io.BytesIO(b"x" * (auth.MAX_BODY + 1)), "x.bin")}


def test_a_signed_out_visitor_cannot_make_the_inbox_receive_a_large_body(
    web: FlaskClient, inbox_app: Flask
) -> None:
    csrf = token(web, "/inbox/login")
    response = web.post("/inbox/login", data=big_form(csrf))
    assert response.status_code == 413
    tmp = inbox_app.config["PORTAL_SETTINGS"].data_dir / "tmp"
    assert not any(tmp.iterdir())


def test_signed_in_posts_are_capped_too_and_ordinary_ones_still_work(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    filed = make_submission(note="x")
    csrf = token(signed_in)
    assert signed_in.post("/inbox/bulk", data=big_form(csrf)).status_code == 413
    done = signed_in.post(
        "/inbox/bulk", data={"csrf_token": csrf, "action": "star", "ids": [filed.id]}
    )
    assert done.status_code == 302


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
    assert new_id == 1  # the removed account's id: the case this test is about
    response = signed_in.get("/inbox/")
    assert response.status_code == 302
    assert "bea" not in response.get_data(as_text=True)
