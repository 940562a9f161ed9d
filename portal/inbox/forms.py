"""The inbox's forms. Each carries a CSRF token (Flask-WTF); the blueprint also checks
the token on every POST before any view runs."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from portal.followup.threads import MAX_REPLY_LENGTH
from portal.inbox.actions import ACTIONS, FLAG_ACTIONS
from portal.inbox.credentials import MAX_PASSWORD_LENGTH


class SignInForm(FlaskForm):
    name = StringField(
        _l("User name"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(), Length(max=12)],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "pattern": "[0-9 ]*",
        },
    )


class ActionForm(FlaskForm):
    """One action on one submission (the submission page's buttons)."""

    action = StringField(validators=[AnyOf(FLAG_ACTIONS)])


class BulkForm(FlaskForm):
    """One action on the submissions ticked in the list. The ticked ids arrive as
    repeated ``ids`` fields and are checked by the view."""

    # The template draws the <select> from ACTIONS; here only the value is checked.
    action = StringField(_l("With the selected submissions"), validators=[AnyOf(list(ACTIONS))])
    back = HiddenField()


class ConfirmForm(FlaskForm):
    """The second step of a deletion, or signing out: only the CSRF token."""

    back = HiddenField()


class ReplyForm(FlaskForm):
    """An editors' reply to the sender of a submission."""

    text = TextAreaField(
        _l("Your reply"),
        validators=[DataRequired(), Length(max=MAX_REPLY_LENGTH)],
        description=_l(
            "The sender reads it on their conversation page, with their phrase. Write "
            "nothing that would put them at risk if someone else read it."
        ),
        render_kw={"maxlength": MAX_REPLY_LENGTH},
    )
