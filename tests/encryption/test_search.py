"""Search over sealed notes: decrypted in memory, case ignored; the first search
opens each note's age file and leaves a search index sealed under a key derived from
the inbox identity, so later searches do not pay an X25519 operation per note."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.crypto import keyring
from portal.models import Submission, db
from tests.inbox.helpers import MakeSubmission


def listed(client: FlaskClient, query: str) -> str:
    return client.get("/inbox/", query_string={"q": query}).get_data(as_text=True)


def test_search_fills_an_index_then_uses_it(
    inbox_app: Flask,
    signed_in: FlaskClient,
    make_submission: MakeSubmission,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hit = make_submission(note="Vi una Camioneta BLANCA en la esquina")
    miss = make_submission(note="nada que ver")
    opened: list[bytes] = []
    real = keyring.Content.open.__func__  # type: ignore[attr-defined]

    def counting(cls, sealed, key_id, ring):  # type: ignore[no-untyped-def]
        opened.append(sealed)
        return real(cls, sealed, key_id, ring)

    monkeypatch.setattr(keyring.Content, "open", classmethod(counting))
    first = listed(signed_in, "camioneta blanca")
    assert f"/inbox/s/{hit.id}" in first and f"/inbox/s/{miss.id}" not in first
    searched = len(opened)
    assert searched >= 2  # both notes opened from their age files (and the page's excerpt)
    with inbox_app.app_context():
        indexes = db.session.scalars(select(Submission.note_index)).all()
    assert all(indexes) and not any(b"amioneta" in i for i in indexes if i)
    opened.clear()
    second = listed(signed_in, "CAMIONETA")
    assert f"/inbox/s/{hit.id}" in second and f"/inbox/s/{miss.id}" not in second
    assert len(opened) == 1  # only the excerpt of the one row shown; no note searched


def test_an_index_moved_to_another_row_does_not_open(
    inbox_app: Flask, signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    one = make_submission(note="alpha words")
    two = make_submission(note="beta words")
    listed(signed_in, "words")
    with inbox_app.app_context():
        rows = {s.id: s for s in db.session.scalars(select(Submission))}
        rows[two.id].note_index = rows[one.id].note_index  # swapped by someone with the disk
        db.session.commit()
    # The moved index fails to open; the note is read from its age file instead.
    assert f"/inbox/s/{two.id}" not in listed(signed_in, "alpha")
    assert f"/inbox/s/{two.id}" in listed(signed_in, "beta")
