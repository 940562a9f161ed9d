"""What the inbox reads of a POST: at most ``auth.MAX_BODY`` bytes, signed in or not,
so that a signed-out visitor cannot make it receive gigabytes (it has no uploads)."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient

from portal.inbox import auth
from tests.inbox.helpers import MakeSubmission, token


def big_form(csrf: str) -> dict[str, object]:
    return {"csrf_token": csrf, "extra": (io.BytesIO(b"x" * (auth.MAX_BODY + 1)), "x.bin")}


def test_a_signed_out_visitor_cannot_make_the_inbox_receive_a_large_body(
    web: FlaskClient, inbox_app: Flask
) -> None:
    csrf = token(web, "/inbox/login")
    response = web.post("/inbox/login", data=big_form(csrf))
    assert response.status_code == 413
    tmp = inbox_app.config["PORTAL_SETTINGS"].temp_dir
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
