"""The tipster's side of a conversation (``/es/seguimiento``, ``/en/follow-up``).

One address, no identifier in it: a GET shows the phrase form, or the conversation
when one is open in this browser; every change is a POST to the same address, its
``intent`` saying which (not ``action``, which would hide the form's own ``action``
from scripts):

* ``open``: the typed phrase is read (:mod:`portal.followup.words`), its keys derived
  (one Argon2id, inside a :class:`~portal.followup.slots.Slots` slot: when every slot
  stays busy the answer is a 429 page) and the thread looked up. A wrong phrase, one
  that was declined and one whose thread editors deleted all get the same answer.
  A right one opens a tipster session (:mod:`portal.followup.sessions`) and leads to
  the conversation.
* ``send``: a later message, cleaned and filed exactly as a tip is, answered with the
  same receipt.
* ``delete``: one reply the tipster has read disappears from their page.
* ``leave``: the session ends; the phrase is needed again.
* ``forget``: from the receipt, the tipster declines their phrase.

The conversation shows the editors' replies only, newest first, never what the
tipster sent: whoever gets hold of the phrase, or of an unlocked phone with the page
open, learns as little as possible.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.lists import format_list
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from portal.config import Settings
from portal.crypto import phrase
from portal.crypto.keyring import NoInboxKey
from portal.followup import sessions, threads, words
from portal.followup.sessions import as_utc
from portal.followup.slots import Busy, Slots
from portal.labels import format_duration
from portal.models import Submission, db
from portal.public.filing import FilingFailed, file_message
from portal.public.forms import ForgetForm, LeaveForm, MessageForm, PhraseForm, ReplyForm

#: the conversation's address under each language; any other language uses
#: :data:`DEFAULT_PATH`
PATHS = {"es": "seguimiento"}
DEFAULT_PATH = "follow-up"
#: seconds a phrase check waits for a free slot before the 429 page
CHECK_WAIT = 0.5
#: seconds a new tip's phrase waits for a slot; after that it is derived anyway (a
#: tip is never refused or lost for want of a slot)
FILING_WAIT = 5.0
#: the session cookie's entries: the tipster session's id and the key that opens it
SESSION_ID = "followup"
SESSION_KEY = "followup_key"


def path_for(lang: str) -> str:
    return PATHS.get(lang, DEFAULT_PATH)


def slots_for(settings: Settings) -> Slots:
    """The bound on phrase derivations shared by everything serving this data folder."""
    return Slots(settings.data_dir / "phrase-slots", settings.phrase_checks)


def keys_for_new_tip(settings: Settings, typed: str) -> phrase.PhraseKeys:
    """The keys of a phrase just made for a tip. Waits a while for a slot, then
    derives without one: a tip is never refused for want of a slot."""
    where = phrase.installation()
    canonical = words.read(typed).canonical
    try:
        with slots_for(settings).hold(wait=FILING_WAIT):
            return phrase.derive(canonical, where)
    except Busy:
        return phrase.derive(canonical, where)


def _busy_page() -> ResponseReturnValue:
    # Nothing about the asker is recorded: every request finding the slots full is
    # refused alike.
    page = render_template(
        "error.html",
        code=429,
        title=_l("Too many people at once"),
        message=_l(
            "Many people are opening conversations right now, and checking a phrase "
            "takes the site a moment. Nothing is wrong with your phrase. Please wait a "
            "minute and try again."
        ),
    )
    return page, 429, {"Retry-After": "60"}


def _phrase_problem(reading: words.Reading) -> str:
    if not reading.words:
        return str(_("Please type your phrase."))
    if reading.unknown:
        shown = [f"«{word}»" for word in reading.unknown]
        return str(
            ngettext(
                "%(words)s is not one of the words phrases are made of. Check its spelling.",
                "%(words)s are not among the words phrases are made of. Check their spelling.",
                len(shown),
                words=format_list(shown, locale=get_locale()),
            )
        )
    expected = min(words.phrase_lengths())
    return str(
        ngettext(
            "A phrase has %(expected)s words; you typed %(num)s.",
            "A phrase has %(expected)s words; you typed %(num)s.",
            len(reading.words),
            expected=format_decimal(expected),
        )
    )


NOT_FOUND = _l(
    "This phrase does not open a conversation. Check that each word is the one you were "
    "given, in the same order, and try again."
)


def register(bp: Blueprint, settings: Settings) -> None:
    idle = timedelta(seconds=settings.followup_idle_timeout)
    paths = ", ".join(f"'{path}'" for path in sorted({*PATHS.values(), DEFAULT_PATH}))

    @bp.url_defaults
    def followup_path(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "public.followup":
            values["page"] = path_for(values.get("lang") or g.lang)

    def opened() -> tuple[sessions.Opened, Submission] | None:
        """The conversation open in this browser, if it is live and still there."""
        found = sessions.resume(session.get(SESSION_ID), session.get(SESSION_KEY), idle)
        if found is None:
            return None
        thread = db.session.get(Submission, found.submission_id)
        if thread is None or thread.tipster_key != str(found.identity.recipient):
            # Deleted by editors, or its phrase declined: as if it never was.
            sessions.end(found.session_id)
            return None
        return found, thread

    def forget_session() -> None:
        session.pop(SESSION_ID, None)
        session.pop(SESSION_KEY, None)

    def open_page(form: PhraseForm, error: str = "", status: int = 200) -> ResponseReturnValue:
        return (
            render_template(
                "public/followup_open.html",
                form=form,
                error=error,
                notices=get_flashed_messages(),
            ),
            status,
        )

    def thread_page(
        found: sessions.Opened,
        thread: Submission,
        form: MessageForm | None = None,
        errors: list[Any] | None = None,
        status: int = 200,
    ) -> ResponseReturnValue:
        replies = threads.replies_for_tipster(thread, found.identity)
        db.session.commit()  # the replies shown are now read
        # Dates only (no time of day), in the portal's time zone.
        zone = ZoneInfo(settings.editor_timezone)
        reply_dates = {
            reply.id: format_date(as_utc(reply.created_at).astimezone(zone).date(), "long")
            for reply in replies
        }
        return (
            render_template(
                "public/followup.html",
                replies=replies,
                reply_dates=reply_dates,
                closed=thread.is_closed,
                form=form or MessageForm(settings),
                errors=errors or [],
                leave_form=LeaveForm(),
                reply_form=ReplyForm(),
                idle_time=format_duration(settings.followup_idle_timeout),
                notices=get_flashed_messages(),
            ),
            status,
        )

    @bp.route(f"/<lang>/<any({paths}):page>", methods=["GET", "POST"])
    def followup(page: str) -> ResponseReturnValue:
        if page != path_for(g.lang):
            return redirect(url_for("public.followup"), code=302)
        sessions.sweep_expired(idle)
        live = opened()
        db.session.commit()
        if request.method != "POST":
            if live is None:
                forget_session()
                return open_page(PhraseForm())
            return thread_page(*live)
        intent = request.form.get("intent", "")
        if intent == "open":
            return open_thread()
        if intent == "forget":
            return forget_phrase()
        if intent not in {"send", "delete", "leave"}:
            abort(400)
        if live is None:
            forget_session()
            flash(_("Your conversation was closed. To open it again, type your phrase."))
            return redirect(url_for("public.followup"), code=303)
        if intent == "send":
            return send_more(*live)
        if intent == "delete":
            return delete_reply(*live)
        leave = LeaveForm()
        if not leave.validate():
            return refused(leave)
        sessions.end(live[0].session_id)
        db.session.commit()
        forget_session()
        flash(_("You left your conversation. To come back, type your phrase again."))
        return redirect(url_for("public.followup"), code=303)

    def derive_checked(typed: str) -> phrase.PhraseKeys:
        where = phrase.installation()
        with slots_for(settings).hold(wait=CHECK_WAIT):
            return phrase.derive(words.read(typed).canonical, where)

    def refused(form: FlaskForm) -> ResponseReturnValue:
        """An expired form gets the page that says so; anything else a 400."""
        from portal.public import views

        if form.csrf_token.errors:
            return views.csrf_page(settings)
        abort(400)

    def open_thread() -> ResponseReturnValue:
        form = PhraseForm()
        if not form.validate():
            if form.csrf_token.errors:
                return refused(form)
            return open_page(form, _("Please type your phrase."), 422)
        reading = words.read(form.phrase.data or "")
        if not reading.well_formed:
            return open_page(form, _phrase_problem(reading), 422)
        try:
            keys = derive_checked(form.phrase.data or "")
        except Busy:
            return _busy_page()
        thread = threads.find(keys.lookup)
        if thread is None:
            return open_page(form, str(NOT_FOUND), 422)
        forget_session()
        ticket = sessions.start(thread.id, keys.identity)
        db.session.commit()
        session[SESSION_ID] = ticket.session_id
        session[SESSION_KEY] = ticket.key
        return redirect(url_for("public.followup"), code=303)

    def forget_phrase() -> ResponseReturnValue:
        form = ForgetForm()
        if not form.validate():
            return refused(form)
        reading = words.read(form.phrase.data or "")
        if reading.well_formed:
            try:
                keys = derive_checked(form.phrase.data or "")
            except Busy:
                return _busy_page()
            thread = threads.find(keys.lookup)
            if thread is not None:
                threads.forget_phrase(thread)
                db.session.commit()
        # The same page whether or not the phrase opened anything.
        return render_template("public/followup_forgotten.html")

    def send_more(found: sessions.Opened, thread: Submission) -> ResponseReturnValue:
        from portal.public import views

        form = MessageForm(settings, formdata=request.form)
        if thread.is_closed:
            return thread_page(found, thread, status=409)
        checked = views.check_tip_form(form, settings)
        if checked.answer is not None:
            return checked.answer
        if not checked.valid:
            return thread_page(
                found,
                thread,
                form,
                views.field_errors(form, ("note", "links", "files"), had_files=checked.had_files),
                422,
            )
        try:
            result = file_message(
                settings.data_dir,
                thread.id,
                note=form.note.data or "",
                links=checked.links,
                uploads=checked.uploads,
                tmp_dir=settings.temp_dir,
                work_dir=views.work_folder(),
            )
        except NoInboxKey:
            return views.not_open_page()
        except FilingFailed as failure:
            return views.not_saved_page(failure.status)
        if result.filed:
            current_app.extensions["portal_notifier"].activity()
        return render_template(
            "public/receipt.html",
            result=result,
            note_length=len(form.note.data or ""),
            link_count=len(checked.links),
            gave_contact=False,
            invisible_fields=views.invisible_fields(form),
            followup=True,
        )

    def delete_reply(found: sessions.Opened, thread: Submission) -> ResponseReturnValue:
        form = ReplyForm()
        if not form.validate():
            return refused(form)
        if threads.delete_for_tipster(thread, found.identity, form.reply.data or ""):
            db.session.commit()
            flash(_("The reply was deleted from this page."))
        return redirect(url_for("public.followup"), code=303)
