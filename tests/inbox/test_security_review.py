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

from portal.inbox import auth, credentials
from portal.models import Editor, db
from tests.apps import FAST_HASHER
from tests.inbox.helpers import (
    EditorAccount,
    MakeSubmission,
    english_client,
    sign_in,
    token,
)

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
    assert "Signed in" in log.get_data(as_text=True)


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


class CountingHasher(PasswordHasher):
    """Counts the Argon2 computations (hashes and verifications) it performs."""

    calls = 0

    def hash(self, password, *, salt=None) -> str:  # type: ignore[override]
        CountingHasher.calls += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password) -> bool:  # type: ignore[override]
        CountingHasher.calls += 1
        return super().verify(hash, password)


def first_attempt_cost(app: Flask, account: EditorAccount, name: str) -> int:
    """Argon2 computations made by the first sign-in attempt of a fresh worker."""
    hasher = CountingHasher.from_parameters(FAST_HASHER._parameters)
    app.extensions["portal_passwords"] = credentials.PasswordPolicy(hasher)
    CountingHasher.calls = 0
    response = sign_in(english_client(app), account, name=name, password="wrong password!")
    assert response.status_code == 401
    return CountingHasher.calls


def test_first_attempt_costs_the_same_for_known_and_unknown_names(
    inbox_app: Flask, editor: EditorAccount
) -> None:
    # The dummy hash for unknown names used to be made on the first unknown name, so
    # a worker's first attempt took twice as long exactly when the name did not exist.
    known = first_attempt_cost(inbox_app, editor, editor.name)
    unknown = first_attempt_cost(inbox_app, editor, "nobody")
    assert known == unknown


def test_a_removed_editors_session_never_becomes_a_new_accounts(
    inbox_app: Flask, signed_in: FlaskClient, editor: EditorAccount, clock
) -> None:
    # SQLite gives a new row the highest id plus one, so an account added after the
    # newest one was removed gets the removed account's id (and session version 0).
    assert signed_in.get("/inbox/").status_code == 200
    runner = inbox_app.test_cli_runner()
    assert runner.invoke(args=["editor", "remove", editor.name]).exit_code == 0
    assert signed_in.get("/inbox/").status_code == 302
    added = runner.invoke(args=["editor", "add", "bea"], input="another long password\n" * 2)
    assert added.exit_code == 0, added.output
    with inbox_app.app_context():
        new_id = db.session.scalar(select(Editor.id).where(Editor.name == "bea"))
    assert new_id == 1  # the removed account's id: the case this test is about
    response = signed_in.get("/inbox/")
    assert response.status_code == 302
    assert "bea" not in response.get_data(as_text=True)
