"""The editors' side: sign-in, the inbox, a submission's page (its thread) and its
files.

Modules: :mod:`credentials` (passwords, TOTP, lockout), :mod:`auth` (sessions and the
gate every request passes), :mod:`views` (pages and actions), :mod:`conversation`
(replies, closing a thread), :mod:`files` (file responses and zips),
:mod:`thumbnails` (small previews of images), :mod:`audit` (the log),
:mod:`actions` (what editors can do to a submission), :mod:`forms`. Labels for
the cleaner's codes come from :mod:`portal.labels`, as on the public side.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, request
from flask.blueprints import BlueprintSetupState
from flask_babel import get_babel
from flask_login import current_user

from portal.config import Settings
from portal.inbox import auth, conversation, files, views


def editor_timezone(settings: Settings) -> str | None:
    """The time zone for dates on inbox pages: the editor's own, else the portal's."""
    if request.blueprint != "inbox":
        return None
    chosen = current_user.editor.timezone if current_user.is_authenticated else ""
    for zone in (chosen, settings.editor_timezone):
        try:
            if zone:
                ZoneInfo(zone)
                return zone
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def make_blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("inbox", __name__, url_prefix="/inbox")

    @bp.record_once
    def choose_timezones(state: BlueprintSetupState) -> None:
        get_babel(state.app).timezone_selector = lambda: editor_timezone(settings)

    auth.register(bp, settings)
    views.register(bp, settings)
    files.register(bp, settings)
    conversation.register(bp)
    return bp
