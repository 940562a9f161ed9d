"""The audit log: who signed in, failed sign-ins per account, who deleted what; only
editor names and submission ids, never what a tipster sent; readable in the inbox."""

from __future__ import annotations

import html

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.inbox.audit import COMMAND_LINE
from portal.models import AuditEvent, db
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    MakeSubmission,
    add_editor,
    jpeg_file,
    sign_in,
    token,
)

SECRET_NOTE = "the cartel meets at the blue warehouse"
SECRET_CONTACT = "signal +52 555 0100"
SECRET_LINK = "https://example.org/secret-photo"


def test_log_records_sign_ins_failures_and_deletions_without_tipster_data(
    inbox_app: Flask, editor: EditorAccount, clock: Clock, make_submission: MakeSubmission
) -> None:
    other = add_editor(inbox_app, "luis", clock)
    assert sign_in(inbox_app.test_client(), other, password="wrong password!!").status_code == 401
    assert sign_in(inbox_app.test_client(), other, name="mallory").status_code == 401
    client = inbox_app.test_client()
    assert sign_in(client, editor).status_code == 302
    filed = make_submission(
        note=SECRET_NOTE, contact=SECRET_CONTACT, links=SECRET_LINK, files=[jpeg_file()]
    )
    client.get(f"/inbox/s/{filed.id}")
    response = client.post(f"/inbox/s/{filed.id}/delete", data={"csrf_token": token(client)})
    assert response.status_code == 302

    with inbox_app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        # Accounts made by the fixtures are logged as command-line actions: not these.
        rows = [(e.editor, e.action, e.target) for e in events if e.editor != COMMAND_LINE]
    assert rows == [
        ("luis", "sign_in_failed", ""),
        ("", "sign_in_unknown", ""),  # the unknown name itself is not kept
        ("ana", "sign_in", ""),
        ("ana", "delete", filed.id),
    ]
    flat = repr(rows)
    for secret in (SECRET_NOTE, SECRET_CONTACT, SECRET_LINK, "mallory", "wrong password"):
        assert secret not in flat

    client.get("/inbox/language/en")
    page = html.unescape(client.get("/inbox/audit").get_data(as_text=True))
    assert "<td>Failed sign-in</td>" in page and "<td>Sign-in</td>" in page
    assert "<td>Deletion of a submission</td>" in page
    assert "<td>Failed sign-in (unknown user name)</td>" in page
    assert filed.id in page and "luis" in page
    # Newest first.
    assert page.index("Deletion of a submission") < page.index("<td>Sign-in</td>")
    for secret in (SECRET_NOTE, SECRET_CONTACT, SECRET_LINK, "mallory"):
        assert secret not in page


def test_audit_log_needs_sign_in(web: FlaskClient) -> None:
    response = web.get("/inbox/audit")
    assert response.status_code == 302 and response.location.startswith("/inbox/login")


def test_audit_log_pages(signed_in: FlaskClient, inbox_app: Flask) -> None:
    from portal.inbox import audit, views

    with inbox_app.app_context():
        for i in range(views.AUDIT_PER_PAGE + 5):
            audit.record("ana", audit.DELETE, f"{i:032x}")
        db.session.commit()
    first = signed_in.get("/inbox/audit").get_data(as_text=True)
    second = signed_in.get("/inbox/audit?page=2").get_data(as_text=True)
    assert f"{views.AUDIT_PER_PAGE + 4:032x}" in first and f"{0:032x}" not in first
    assert f"{0:032x}" in second
