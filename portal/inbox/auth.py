"""Signing editors in and out (Flask-Login), the inactivity limit, and the gate every
inbox request passes: signed in (except the sign-in page and the language links), a
valid CSRF token on every POST.

A session names the editor, the account's ``session_version`` and when the account
was created; signing out or a reset bumps the version, so copies of an older cookie
stop working, and the creation time keeps a removed account's cookie from opening a
newer account that was given the same id (SQLite reuses the highest one). The session
cookie carries no address: Flask-Login's address-derived identifier is removed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from portal.config import Settings
from portal.inbox import audit, credentials
from portal.inbox.forms import SignInForm
from portal.models import Editor, db

#: endpoints reachable without signing in
OPEN_ENDPOINTS = {"inbox.sign_in", "inbox.language"}
#: the largest request body the inbox reads: its forms carry a few short fields and
#: ids, never files (the app-wide limit is sized for tipsters' uploads)
MAX_BODY = 256 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SignedInEditor(UserMixin):
    """Flask-Login's view of an editor row."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor

    @property
    def name(self) -> str:
        return self.editor.name

    def get_id(self) -> str:
        return f"{self.editor.id}:{self.editor.session_version}:{account_stamp(self.editor)}"


def account_stamp(editor: Editor) -> int:
    """When the account was created, in whole microseconds (exact, unlike a float)."""
    return (credentials.as_utc(editor.created_at) - _EPOCH) // timedelta(microseconds=1)


def load_editor(user_id: str) -> SignedInEditor | None:
    parts = user_id.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    editor_id, version, stamp = (int(p) for p in parts)
    editor = db.session.get(Editor, editor_id)
    if editor is None or editor.session_version != version or account_stamp(editor) != stamp:
        return None
    return SignedInEditor(editor)


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path inside the inbox on this site, else ``default``."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/inbox/"):
        return default
    return target


def _forget_editor(keep_language: bool = True) -> None:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if keep_language and lang:
        session["lang"] = lang


def init_app(app: Flask) -> None:
    credentials.init_app(app)
    manager = LoginManager()
    # The "basic"/"strong" modes hash the client's address into the cookie; the
    # session version and the inactivity limit do that job without it.
    manager.session_protection = None
    manager.user_loader(load_editor)

    @manager.unauthorized_handler
    def send_to_sign_in():
        # Only a page can be returned to: a form posted while signed out is not replayed.
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("inbox.sign_in", next=back))

    manager.init_app(app)


def register(bp: Blueprint, settings: Settings) -> None:
    idle_seconds = settings.editor_idle_timeout

    @bp.record_once
    def setup(state) -> None:
        init_app(state.app)

    @bp.context_processor
    def form_helpers() -> dict[str, object]:
        return {"csrf_token": generate_csrf}

    @bp.before_request
    def gate():
        # Before anything reads the body, so that no one, signed in or not, can make
        # the inbox receive or spool gigabytes.
        request.max_content_length = MAX_BODY
        if request.method == "POST":
            try:
                validate_csrf(request.form.get("csrf_token"))
            except ValidationError:
                if request.endpoint == "inbox.sign_in":
                    flash(_("The page had expired. Please try again."), "error")
                    return redirect(url_for("inbox.sign_in"))
                abort(400)
        if not current_user.is_authenticated:
            if request.endpoint in OPEN_ENDPOINTS:
                return None
            return current_app.login_manager.unauthorized()
        moment = int(credentials.now().timestamp())
        seen = session.get("seen")
        if not isinstance(seen, int) or moment - seen > idle_seconds:
            audit.record(current_user.name, audit.SESSION_EXPIRED)
            db.session.commit()
            _forget_editor()
            flash(_("You were signed out after a period of inactivity."), "info")
            return redirect(url_for("inbox.sign_in"))
        session["seen"] = moment
        return None

    @bp.route("/login", methods=["GET", "POST"])
    def sign_in():
        if current_user.is_authenticated:
            return redirect(url_for("inbox.index"))
        form = SignInForm()
        status = 200
        if form.validate_on_submit():
            editor = credentials.attempt_sign_in(
                form.name.data or "", form.password.data or "", form.code.data or ""
            )
            if editor is not None:
                lang = editor.locale or session.get("lang")
                session.clear()  # a fresh session: nothing from before sign-in survives
                if lang:
                    session["lang"] = lang
                login_user(SignedInEditor(editor))
                session.pop("_id", None)
                session.permanent = True
                session["seen"] = int(credentials.now().timestamp())
                target = safe_next(request.args.get("next"), url_for("inbox.index"))
                return redirect(target)
        if request.method == "POST":
            # One message for every failure: it must not tell whether the name exists,
            # the password or the code was wrong, or the account is locked.
            flash(
                _(
                    "Sign-in failed. Check your user name, password and code. After repeated "
                    "failures, sign-in is paused for a while."
                ),
                "error",
            )
            status = 401
        return render_template("inbox/sign_in.html", form=form), status

    @bp.post("/logout")
    def sign_out():
        editor = current_user.editor
        editor.session_version += 1
        audit.record(editor.name, audit.SIGN_OUT)
        db.session.commit()
        _forget_editor()
        flash(_("You are signed out."), "info")
        return redirect(url_for("inbox.sign_in"))
