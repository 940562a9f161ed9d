"""Signing editors in and out (Flask-Login), the inactivity limit, and the gate every
inbox request passes: signed in (except the sign-in page and the language links), a
valid CSRF token on every POST.

The cookie names a server-side session (:mod:`portal.inbox.sessions`) and carries the
key that opens the inbox keyring sealed in it; without that key there is no signed-in
editor, whatever else the cookie says, so a cookie forged with ``secret_key`` opens
nothing. Signing out ends every session of the editor; idle sessions are ended on the
server. Session ids are random, so a removed account's cookie can never name a newer
account. The cookie carries no address: Flask-Login's address-derived identifier is
removed.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from portal.config import Settings
from portal.crypto.keyring import Keyring
from portal.errors import render_cookie_not_returned
from portal.followup import sessions as tipster_sessions
from portal.inbox import audit, credentials, sessions
from portal.inbox.forms import SignInForm
from portal.models import Editor, db
from portal.security import session_cookie_missing

#: endpoints reachable without signing in
OPEN_ENDPOINTS = {"inbox.sign_in", "inbox.language"}
#: the largest request body the inbox reads: its forms carry a few short fields and
#: ids, never files (the app-wide limit is sized for tipsters' uploads)
MAX_BODY = 256 * 1024
#: the cookie's entry holding the key that opens the server-side session
SESSION_KEY = "session_key"


class SignedInEditor(UserMixin):
    """Flask-Login's view of a live session: the editor and, for this request only,
    the inbox keyring."""

    def __init__(self, editor: Editor, keyring: Keyring, session_id: str) -> None:
        self.editor = editor
        self.keyring = keyring
        self.session_id = session_id

    @property
    def name(self) -> str:
        return self.editor.name

    def get_id(self) -> str:
        return self.session_id


def current_keyring() -> Keyring:
    """The signed-in editor's inbox keyring (views behind the gate only)."""
    return current_user.keyring  # type: ignore[no-any-return]


def _idle_limit() -> timedelta:
    return timedelta(seconds=current_app.config["PORTAL_SETTINGS"].editor_idle_timeout)


def load_editor(session_id: str) -> SignedInEditor | None:
    try:
        resumed = sessions.resume(
            session_id, session.get(SESSION_KEY), credentials.now(), _idle_limit()
        )
    except sessions.Expired as expired:
        g.expired_editor = expired.editor_name
        return None
    if resumed is None:
        return None
    return SignedInEditor(resumed.editor, resumed.keyring, resumed.row.id)


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
    def send_to_sign_in() -> ResponseReturnValue:
        # Only a page can be returned to: a form posted while signed out is not replayed.
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("inbox.sign_in", next=back))

    manager.init_app(app)


def register(bp: Blueprint, settings: Settings) -> None:
    idle_seconds = settings.editor_idle_timeout
    followup_idle = settings.followup_idle_timeout

    @bp.record_once
    def setup(state: BlueprintSetupState) -> None:
        assert isinstance(state.app, Flask)  # typed as Flask's sans-IO base class
        init_app(state.app)

    @bp.context_processor
    def form_helpers() -> dict[str, object]:
        return {"csrf_token": generate_csrf}

    @bp.before_request
    def gate() -> ResponseReturnValue | None:
        # Before anything reads the body, so that no one, signed in or not, can make
        # the inbox receive or spool gigabytes.
        request.max_content_length = MAX_BODY
        if request.method == "POST":
            try:
                validate_csrf(request.form.get("csrf_token"))
            except ValidationError:
                if session_cookie_missing():
                    # A page, not a redirect: a flashed message would be kept in the
                    # same cookie the browser is not sending back.
                    return render_cookie_not_returned()
                if request.endpoint == "inbox.sign_in":
                    flash(_("The page had expired. Please try again."), "error")
                    return redirect(url_for("inbox.sign_in"))
                abort(400)
        signed_in = current_user.is_authenticated
        expired = g.pop("expired_editor", None)
        sessions.sweep_expired(credentials.now(), timedelta(seconds=idle_seconds))
        # Tipsters' idle conversations too: their rows should not wait for the next
        # tipster to leave the disk.
        tipster_sessions.sweep_expired(timedelta(seconds=followup_idle))
        if expired is not None:
            audit.record(expired, audit.SESSION_EXPIRED)
        db.session.commit()
        if expired is not None:
            _forget_editor()
            flash(_("You were signed out after a period of inactivity."), "info")
            return redirect(url_for("inbox.sign_in"))
        if not signed_in:
            if request.endpoint in OPEN_ENDPOINTS:
                return None
            # Flask-Login sets app.login_manager, which Flask's type does not declare.
            manager: LoginManager = current_app.login_manager  # type: ignore[attr-defined]
            refused: ResponseReturnValue = manager.unauthorized()
            return refused
        return None

    @bp.route("/login", methods=["GET", "POST"])
    def sign_in() -> ResponseReturnValue:
        if current_user.is_authenticated:
            return redirect(url_for("inbox.index"))
        form = SignInForm()
        status = 200
        if form.validate_on_submit():
            signed = credentials.attempt_sign_in(
                form.name.data or "", form.password.data or "", form.code.data or ""
            )
            if signed is not None:
                editor = signed.editor
                lang = editor.locale or session.get("lang")
                session.clear()  # a fresh session: nothing from before sign-in survives
                if lang:
                    session["lang"] = lang
                ticket = sessions.start(editor, signed.keyring, credentials.now())
                db.session.commit()
                login_user(SignedInEditor(editor, signed.keyring, ticket.session_id))
                session[SESSION_KEY] = ticket.key
                session.pop("_id", None)
                session.permanent = True
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
    def sign_out() -> ResponseReturnValue:
        editor = current_user.editor
        sessions.end_all(editor.id)
        audit.record(editor.name, audit.SIGN_OUT)
        db.session.commit()
        _forget_editor()
        flash(_("You are signed out."), "info")
        return redirect(url_for("inbox.sign_in"))
