"""``/healthz``: whether this process can serve, for a load balancer or a monitor.

It answers from any process (public, inbox or both) and reads no tip, editor or
audit data: it checks that the data folder is there and writable, that the
database's schema is the one this code expects (``unavailable: database schema``
until ``flask db upgrade`` has run, see :mod:`portal.database`) and that the database
answers ``SELECT 1`` (``unavailable: database`` when it does not, including since
the start). It sets no cookie and says nothing else.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal import database
from portal.models import db

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    data_dir = app.config["PORTAL_SETTINGS"].data_dir

    @app.get("/healthz")
    def healthz() -> Response:
        problem = ""
        if not os.access(data_dir, os.W_OK | os.X_OK):
            problem = "data folder"
        elif reason := database.pending(app):
            problem = "database" if reason == database.UNREACHABLE else "database schema"
        else:
            try:
                db.session.execute(text("SELECT 1"))
            except SQLAlchemyError as exc:
                problem = "database"
                log.error("health check: the database did not answer: %s", type(exc).__name__)
            finally:
                db.session.rollback()
        body, status = (f"unavailable: {problem}\n", 503) if problem else ("ok\n", 200)
        return Response(body, status=status, mimetype="text/plain")
