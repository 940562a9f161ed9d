"""The editors' side: sign-in, the inbox, a submission's page and its files."""

from __future__ import annotations

from flask import Blueprint

from portal.config import Settings


def make_blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("inbox", __name__, url_prefix="/inbox")
    return bp
