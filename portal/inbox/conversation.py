"""Editors' side of a conversation: replying to a submission's sender, closing the
conversation and opening it again. Each is a POST with CSRF from the submission's
page, recorded in the audit log (who, which submission; never the reply's text).

The blueprint's gate checks every POST's CSRF token before these run. A reply is
encrypted to the sender's key (derived from their phrase) and to the
inbox key (:func:`portal.followup.threads.add_reply`). A submission whose sender has
no phrase (they turned it off, or the tip came before conversations) cannot be
replied to: nobody could read it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from portal.followup import threads
from portal.inbox import audit
from portal.inbox.forms import ReplyForm
from portal.inbox.views import get_submission
from portal.models import Submission, db


def _back(submission: Submission) -> ResponseReturnValue:
    return redirect(url_for("inbox.submission", submission_id=submission.id) + "#conversation")


def register(bp: Blueprint) -> None:
    @bp.post("/s/<submission_id>/reply")
    def reply(submission_id: str) -> ResponseReturnValue:
        submission = get_submission(submission_id)
        form = ReplyForm()
        if not form.validate() or not (form.text.data or "").strip():
            flash(_("Write a reply before sending it."), "error")
            return _back(submission)
        if not submission.tipster_key or submission.is_closed:
            flash(_("This sender cannot receive replies."), "error")
            return _back(submission)
        text = (form.text.data or "").replace("\r\n", "\n").strip()
        threads.add_reply(submission, current_user.name, text)
        audit.record(current_user.name, audit.REPLY, submission.id)
        db.session.commit()
        flash(_("Your reply was sent. The sender will see it when they come back."), "info")
        return _back(submission)

    def set_closed(submission_id: str, closed: bool) -> ResponseReturnValue:
        submission = get_submission(submission_id)
        submission.is_closed = closed
        action = audit.THREAD_CLOSED if closed else audit.THREAD_REOPENED
        audit.record(current_user.name, action, submission.id)
        db.session.commit()
        if closed:
            flash(_("The conversation is closed."), "info")
        else:
            flash(_("The conversation is open again."), "info")
        return _back(submission)

    @bp.post("/s/<submission_id>/close")
    def close(submission_id: str) -> ResponseReturnValue:
        return set_closed(submission_id, True)

    @bp.post("/s/<submission_id>/reopen")
    def reopen(submission_id: str) -> ResponseReturnValue:
        return set_closed(submission_id, False)
