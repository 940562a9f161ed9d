"""The form page and what answers its POST: the receipt, or a page that says
plainly what went wrong; the safety guide (:mod:`portal.public.guide`); and the
conversation (:mod:`portal.public.followup`). The receipt is only ever the body of
the POST response: it has no URL of its own and nothing in a cookie points to it.
It shows the tip's follow-up phrase, made here, once; the phrase is stored nowhere."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from babel.lists import format_list
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from portal.config import Settings
from portal.crypto.keyring import NoInboxKey
from portal.crypto.phrase import PhraseKeys
from portal.errors import render_cookie_not_returned
from portal.followup import sessions as tipster_sessions
from portal.followup import words
from portal.housekeeping import sweep_abandoned_work, sweep_stale_tmp
from portal.i18n import current_language
from portal.labels import format_duration, format_limit
from portal.models import db
from portal.public import followup, guide
from portal.public.filing import FilingFailed, file_submission
from portal.public.forms import ForgetForm, TipForm, web_addresses
from portal.public.uploads import DRAIN_FACTOR, OutOfSpace, TempUpload, UploadRequest, drain
from portal.security import session_cookie_missing
from portal.storage import tmp_root

log = logging.getLogger(__name__)

#: the typed fields as the receipt names them when invisible characters were removed
INVISIBLE_FIELD_LABELS = {
    "note": _l("the note"),
    "links": _l("the links"),
    "contact": _l("the way to contact you"),
}


@dataclass(frozen=True)
class FieldError:
    field_id: str
    message: str


def register(bp: Blueprint, settings: Settings) -> None:
    @bp.context_processor
    def helpers() -> dict[str, object]:
        return {
            "limits": {
                "file": format_limit(settings.max_file_size),
                "total": format_limit(settings.max_submission_size),
                "files": format_decimal(settings.max_files),
                "count": settings.max_files,
            },
            "max_note_length": settings.max_note_length,
            "onion_address": settings.onion_address,
            # not on the onion service itself, where it would say nothing new
            "show_onion": bool(settings.onion_address)
            and request.host.split(":")[0] != settings.onion_address,
            "format_number": format_decimal,
        }

    @bp.route("/<lang>/", methods=["GET", "POST"])
    def index() -> ResponseReturnValue:
        if request.method != "POST":  # GET, and HEAD (Flask routes it here too)
            return render_template("public/index.html", form=TipForm(settings), errors=[])
        # Text fields are read from text parts only: a "note" sent as a file part is
        # not a note (and its bytes are not a text the form could filter).
        return _receive(TipForm(settings, formdata=request.form), settings)

    guide_paths = ", ".join(sorted({*guide.PATHS.values(), guide.DEFAULT_PATH}))

    @bp.get(f"/<lang>/<any({guide_paths}):page>")
    def safety(page: str) -> ResponseReturnValue:
        if page != guide.path_for(g.lang):  # /en/seguridad: the English guide's address
            return redirect(url_for("public.safety"), code=302)
        return render_template("public/safety.html", never_kept=guide.NEVER_KEPT, kept=guide.KEPT)

    @bp.url_defaults
    def guide_path(endpoint: str, values: dict[str, Any]) -> None:
        # Each language's guide has its own address; a link to the guide in another
        # language (the switch, hreflang) gets that language's.
        if endpoint == "public.safety":
            values["page"] = guide.path_for(values.get("lang") or g.lang)

    followup.register(bp, settings)

    @bp.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
        if isinstance(request, UploadRequest):
            request.discard_uploads()
        drain(request, DRAIN_FACTOR * settings.max_submission_size)
        return render_template("public/too_large.html"), 413

    @bp.errorhandler(OutOfSpace)
    def out_of_space(exc: OutOfSpace) -> ResponseReturnValue:
        # The rest of the body is read into nothing, so the tipster sees the page.
        drain(request, DRAIN_FACTOR * settings.max_submission_size)
        return not_saved_page(503)

    @bp.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> ResponseReturnValue:
        return csrf_page(settings)


def csrf_page(settings: Settings) -> ResponseReturnValue:
    if session_cookie_missing():
        return render_cookie_not_returned()
    # "up to 6 hours after you open it": not "it works some hours after", which reads
    # as if the form only started working later.
    valid_for = format_duration(settings.csrf_time_limit)
    return (
        render_template(
            "error.html",
            code=400,
            title=_l("This form has expired"),
            message=_(
                "For your safety, a form can be sent only from this site, and only up to "
                "%(time)s after you open it. Nothing was saved. Please open the form again "
                "and send your tip once more.",
                time=valid_for,
            ),
        ),
        400,
    )


def not_saved_page(code: int) -> tuple[str, int]:
    return (
        render_template(
            "error.html",
            code=code,
            title=_l("Your tip could not be saved"),
            message=_l(
                "Something went wrong while saving. Nothing was saved: not the "
                "note, not the links, not the files. Please try again later."
            ),
        ),
        code,
    )


def not_open_page() -> tuple[str, int]:
    # No editor has created the inbox key: there is nothing to encrypt a tip to, and
    # a tip is never stored in clear.
    return (
        render_template(
            "error.html",
            code=503,
            title=_l("The inbox is not open yet"),
            message=_l(
                "This site cannot receive tips yet. Nothing was saved. Please try again "
                "in a few days."
            ),
        ),
        503,
    )


@dataclass
class CheckedForm:
    """A tip form (or a conversation's message form) as received: ``answer`` is the
    page to send at once (an expired form, a bot), else ``valid`` says whether to
    file ``links`` and ``uploads``."""

    uploads: Sequence[TempUpload]
    links: list[str]
    valid: bool
    answer: ResponseReturnValue | None = None

    @property
    def had_files(self) -> bool:
        return bool(self.uploads)


def work_folder() -> Path | None:
    """This request's locked folder for plaintext (see portal.storage.WorkFolder)."""
    return request.work_folder() if isinstance(request, UploadRequest) else None


def check_tip_form(form: TipForm, settings: Settings) -> CheckedForm:
    """Validate a posted tip or message form the same way for both."""
    # Originals a killed worker left behind go now, not at the next restart.
    sweep_abandoned_work(tmp_root(settings.data_dir, settings.temp_dir))
    sweep_stale_tmp(settings.data_dir, settings.csrf_time_limit, settings.temp_dir)
    # Only the parts of the file input are the tipster's files; a file part under any
    # other name was streamed to tmp/ like the others and is deleted with them.
    uploads = [
        part.stream
        for part in request.files.getlist("files")
        if isinstance(part.stream, TempUpload)
    ]
    form.files_received = len(uploads)
    valid = form.validate()
    if form.csrf_token.errors:
        return CheckedForm(uploads, [], False, csrf_page(settings))
    if form.homepage.data:
        # A bot filled the hidden field. Say nothing about why.
        bot = render_template(
            "error.html",
            code=200,
            title=_l("Not sent"),
            message=_l("Nothing was saved. Please go back to the form and try again."),
        )
        return CheckedForm(uploads, [], False, (bot, 200))
    if getattr(request, "too_many_files", False):
        form.files.errors = [
            *form.files.errors,
            ngettext(
                "You can send at most %(num)s file at once. "
                "Please send the others in a second tip.",
                "You can send at most %(num)s files at once. "
                "Please send the others in a second tip.",
                settings.max_files,
            ),
        ]
        valid = False
    return CheckedForm(uploads, web_addresses(form.links.data or ""), valid)


def _receive(form: TipForm, settings: Settings) -> ResponseReturnValue:
    # Idle conversations leave the disk at the next tip, too; a failure here is the
    # next request's to retry, never a reason to lose this tip.
    try:
        tipster_sessions.sweep_expired(timedelta(seconds=settings.followup_idle_timeout))
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.error("could not sweep idle conversations: %s", type(exc).__name__)
    checked = check_tip_form(form, settings)
    if checked.answer is not None:
        return checked.answer
    if not checked.valid:
        errors = field_errors(
            form, ("note", "links", "files", "contact"), had_files=checked.had_files
        )
        return render_template("public/index.html", form=form, errors=errors), 422

    # The tipster's way back: made before filing, so that the tip is filed with it in
    # one commit. It costs one slow key derivation.
    words_shown = words.word_list(current_language()).new_phrase()
    try:
        keys: PhraseKeys | None = followup.keys_for_new_tip(settings, words_shown)
    except Exception as exc:  # never lose a tip for its phrase
        log.error("could not derive a follow-up phrase: %s", type(exc).__name__)
        keys = None
    try:
        result = file_submission(
            settings.data_dir,
            locale=current_language(),
            note=form.note.data or "",
            links=checked.links,
            contact=form.contact.data or "",
            uploads=checked.uploads,
            tmp_dir=settings.temp_dir,
            work_dir=work_folder(),
            phrase=keys,
        )
    except NoInboxKey:
        return not_open_page()
    except FilingFailed as failure:
        return not_saved_page(failure.status)
    if result.filed:
        current_app.extensions["portal_notifier"].activity()
    return render_template(
        "public/receipt.html",
        result=result,
        note_length=len(form.note.data or ""),
        link_count=len(checked.links),
        gave_contact=bool(form.contact.data),
        invisible_fields=invisible_fields(form),
        phrase=words_shown if result.filed and keys else "",
        forget_form=ForgetForm(),
        phrase_failed=result.filed and keys is None,
        followup=False,
    )


def invisible_fields(form: TipForm) -> str:
    """The typed fields invisible characters were removed from, as the receipt
    names them in a sentence ("" when none)."""
    return format_list(
        [str(INVISIBLE_FIELD_LABELS[name]) for name in form.invisible_removed],
        locale=current_language(),
    )


def field_errors(form: TipForm, names: tuple[str, ...], *, had_files: bool) -> list[FieldError]:
    """Each named field's messages, for the error summary (and a word about files
    that must be chosen again)."""
    if had_files or form.files.errors:
        form.files.errors = [
            *form.files.errors,
            _l(
                "For your safety, chosen files are not kept when the form has a problem: "
                "please choose them again."
            ),
        ]
    errors: list[FieldError] = []
    for name in names:
        errors.extend(FieldError(name, message) for message in form[name].errors)
    return errors
