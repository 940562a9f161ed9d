"""A tipster on a slow connection over Tor can take hours between loading the form and
finishing the upload (SecureDrop #6763 lost sources that way): the form must still be
accepted within the CSRF time limit, and refused after it."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient

from portal.models import Submission
from tests.public.helpers import csrf_token, post_tip


def _later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def test_form_loaded_five_hours_ago_is_still_accepted(
    app, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = csrf_token(client, "es")
    _later(monkeypatch, 5 * 3600)
    response = post_tip(client, "es", note="Llegó tarde pero llegó", token=token)
    assert response.status_code == 200
    with app.app_context():
        assert Submission.query.count() == 1


def test_form_older_than_the_limit_is_refused_and_nothing_filed(
    app, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = csrf_token(client, "es")
    _later(monkeypatch, app.config["PORTAL_SETTINGS"].csrf_time_limit + 60)
    response = post_tip(client, "es", note="Demasiado tarde", token=token)
    assert response.status_code == 400
    assert 'lang="es-MX"' in response.get_data(as_text=True)
    with app.app_context():
        assert Submission.query.count() == 0
