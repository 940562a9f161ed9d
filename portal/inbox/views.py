"""The inbox pages: the list with its views, filters and bulk actions, a submission's
page and its actions, deletion with a confirmation step, the audit log, and the
language switch. Files are served by :mod:`portal.inbox.files`.

A submission's page is its thread: the tip, then the sender's later messages and
the editors' replies in order (:mod:`portal.inbox.conversation` answers the reply
and close buttons). The list marks threads with messages editors have not read and
can show only those; threads are listed by their latest activity.

What tipsters wrote is decrypted with the signed-in editor's keyring, in memory, for
the request that shows it: the list decrypts the notes of its page (for excerpts), a
search decrypts every note in the chosen view and filters them here (the database
cannot search what it only holds encrypted).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from babel.lists import format_list
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, exists, func, select, update
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from portal import labels, storage
from portal.cleaning import Kind
from portal.config import Settings
from portal.crypto import age
from portal.crypto.keyring import Content, NoteIndex
from portal.followup import threads
from portal.i18n import available_locales
from portal.inbox import audit, thumbnails
from portal.inbox.actions import ACTIONS
from portal.inbox.auth import current_keyring, safe_next
from portal.inbox.deletion import delete_submissions
from portal.inbox.files import open_plain
from portal.inbox.forms import ActionForm, BulkForm, ConfirmForm, ReplyForm
from portal.models import AuditEvent, StoredFile, Submission, ThreadMessage, db, is_id

PER_PAGE = 25
AUDIT_PER_PAGE = 50
EXCERPT_WORDS = 24
EXCERPT_CHARS = 160
MAX_QUERY = 200

#: the list's views: which submissions each shows
VIEWS = ("inbox", "unread", "starred", "archived")


def _view_condition(view: str) -> ColumnElement[bool]:
    if view == "unread":
        return Submission.is_archived.is_(False) & Submission.is_read.is_(False)
    if view == "starred":
        return Submission.is_starred.is_(True)
    if view == "archived":
        return Submission.is_archived.is_(True)
    return Submission.is_archived.is_(False)


def _has_new_message() -> ColumnElement[bool]:
    """The sender wrote something an editor has not opened yet."""
    return exists().where(
        ThreadMessage.submission_id == Submission.id,
        ThreadMessage.author == ThreadMessage.TIPSTER,
        ThreadMessage.read_by_editors.is_(False),
    )


def view_counts() -> dict[str, int]:
    return {
        view: db.session.scalar(
            select(func.count()).select_from(Submission).where(_view_condition(view))
        )
        or 0
        for view in VIEWS
    }


def excerpt(note: str) -> str:
    """The first words of a note, on one line."""
    words = note.split()
    text = " ".join(words[:EXCERPT_WORDS])
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] or text[:EXCERPT_CHARS]
    return text + ("…" if text != " ".join(words) else "")


def files_summary(files: list[StoredFile]) -> str:
    """A line such as "3 files: photo (2), video", in the editor's language; "" for none."""
    if not files:
        return ""
    kinds = Counter(f.kind for f in files)
    parts = [
        str(labels.kind_label(kind)) + (f" ({count})" if count > 1 else "")
        for kind, count in kinds.items()
    ]
    return str(
        ngettext(
            "%(num)d file: %(kinds)s",
            "%(num)d files: %(kinds)s",
            len(files),
            kinds=format_list(parts, locale=get_locale()),
        )
    )


def page_number(raw: str) -> int:
    """A page number from the query string; 1 for anything else. ``isdigit`` alone
    lets through "²" and strings too long for ``int``, which raise."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 6 and int(raw) > 0:
        return int(raw)
    return 1


@dataclass(frozen=True)
class ListState:
    """The list's view, filters and page, as read from the query string."""

    view: str = "inbox"
    has_files: bool = False
    has_links: bool = False
    has_new: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> ListState:
        """Normalised: an unknown view is the inbox, a bad page number is 1."""
        view = args.get("view", "inbox")
        return cls(
            view=view if view in VIEWS else "inbox",
            has_files=args.get("has_files") == "1",
            has_links=args.get("has_links") == "1",
            has_new=args.get("has_new") == "1",
            q=args.get("q", "").replace("\x00", "").strip()[:MAX_QUERY],
            page=page_number(args.get("page", "1")),
        )

    def url(self, **changes: Any) -> str:
        """The list's address with this state, or with ``changes`` made to it."""
        state = replace(self, **changes)
        params: dict[str, str | int] = {"view": state.view}
        if state.has_files:
            params["has_files"] = "1"
        if state.has_links:
            params["has_links"] = "1"
        if state.has_new:
            params["has_new"] = "1"
        if state.q:
            params["q"] = state.q
        if state.page != 1:
            params["page"] = state.page
        return url_for("inbox.index") + "?" + urlencode(params)


@dataclass(frozen=True)
class Page:
    """One page of a list, with what the pagination macro reads."""

    items: Sequence[Submission]
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def open_content(submission: Submission) -> Content:
    return Content.open(submission.sealed, submission.key_id, current_keyring())


def matching_ids(stmt: Select[Any], query: str) -> list[str]:
    """Ids of the submissions ``stmt`` selects whose note contains ``query`` (case
    ignored), in ``stmt``'s order, each note decrypted in memory and dropped.

    A note is read from its search index (one symmetric decryption) when it has one;
    otherwise its age file is opened (an X25519 operation, about 50 µs) and the index
    written, so that only the first search pays for each note."""
    keyring = current_keyring()
    needle = query.casefold()
    rows = db.session.execute(
        stmt.with_only_columns(
            Submission.id, Submission.sealed, Submission.key_id, Submission.note_index
        )
    ).all()
    indexers: dict[int, NoteIndex | None] = {}
    found: list[str] = []
    fresh: list[dict[str, object]] = []
    for submission_id, sealed, key_id, indexed in rows:
        if key_id not in indexers:
            key = keyring.note_index_key(key_id)
            indexers[key_id] = NoteIndex(key) if key else None
        indexer = indexers[key_id]
        note = indexer.open(indexed, submission_id) if indexer and indexed else None
        if note is None:
            note = Content.open(sealed, key_id, keyring).note
            if indexer:
                fresh.append({"id": submission_id, "note_index": indexer.seal(note, submission_id)})
        if needle in note.casefold():
            found.append(submission_id)
    if fresh:
        db.session.execute(update(Submission), fresh)  # by primary key, in one batch
        db.session.commit()
    return found


def _paginate(stmt: Select[Any], query: str, number: int) -> Page:
    if not query:
        page = db.paginate(stmt, page=number, per_page=PER_PAGE, error_out=False)
        return Page(list(page.items), page.page, page.pages)
    ids = matching_ids(stmt, query)
    pages = math.ceil(len(ids) / PER_PAGE)
    chosen = ids[(number - 1) * PER_PAGE : number * PER_PAGE]
    found = {
        s.id: s
        for s in db.session.scalars(
            select(Submission)
            .where(Submission.id.in_(chosen))
            .options(selectinload(Submission.files))
        )
    }
    return Page([found[i] for i in chosen if i in found], number, pages)


@dataclass(frozen=True)
class Entry:
    """One message of a thread as an editor reads it."""

    message: ThreadMessage
    #: the sender's note and links (their messages)
    content: Content | None
    #: the reply's text (editors' replies)
    text: str
    files: list[StoredFile]
    #: a sender's message no editor had opened before this page
    new: bool

    @property
    def from_sender(self) -> bool:
        return self.message.author == ThreadMessage.TIPSTER


def thread_entries(item: Submission) -> list[Entry]:
    """The thread after the tip, oldest first, decrypted for the signed-in editor."""
    keyring = current_keyring()
    entries = []
    for message in item.messages:
        files = [f for f in item.files if f.message_id == message.id]
        if message.author == ThreadMessage.TIPSTER:
            content = Content.open(message.sealed, message.key_id, keyring)
            entries.append(Entry(message, content, "", files, not message.read_by_editors))
        else:
            text = threads.reply_text(message, keyring)
            entries.append(Entry(message, None, text, files, False))
    return entries


def get_submission(submission_id: str) -> Submission:
    """The submission ``submission_id`` names, or a 404."""
    if not is_id(submission_id):
        abort(404)
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        abort(404)
    return submission


def _selected_ids() -> list[str]:
    return list(dict.fromkeys(i for i in request.form.getlist("ids") if is_id(i)))


def register(bp: Blueprint, settings: Settings) -> None:
    @bp.get("/")
    def index() -> ResponseReturnValue:
        state = ListState.from_args(request.args)
        stmt = (
            select(Submission)
            .where(_view_condition(state.view))
            .options(selectinload(Submission.files))
            .order_by(Submission.last_activity_at.desc(), Submission.id)
        )
        if state.has_files:
            stmt = stmt.where(exists().where(StoredFile.submission_id == Submission.id))
        if state.has_links:
            stmt = stmt.where(Submission.link_count > 0)
        if state.has_new:
            stmt = stmt.where(_has_new_message())
        page = _paginate(stmt, state.q, state.page)
        with_new = set(
            db.session.scalars(
                select(Submission.id).where(
                    Submission.id.in_([item.id for item in page.items]), _has_new_message()
                )
            )
        )
        form = BulkForm(back=state.url())
        return render_template(
            "inbox/list.html",
            page=page,
            contents={item.id: open_content(item) for item in page.items},
            state=state,
            counts=view_counts(),
            views=VIEWS,
            form=form,
            actions=ACTIONS,
            max_query=MAX_QUERY,
            excerpt=excerpt,
            files_summary=files_summary,
            with_new=with_new,
        )

    @bp.post("/bulk")
    def bulk() -> ResponseReturnValue:
        form = BulkForm()
        back = safe_next(form.back.data, url_for("inbox.index"))
        ids = _selected_ids()
        if not form.validate() or not ids:
            flash(_("Select at least one submission and an action."), "error")
            return redirect(back)
        action = form.action.data
        assert action is not None  # validated: one of ACTIONS
        if action == "delete":
            return render_template(
                "inbox/confirm_delete.html",
                ids=ids,
                count=len(ids),
                form=ConfirmForm(back=back),
                action_url=url_for("inbox.bulk_delete"),
                cancel_url=back,
            )
        # Only those still there: another editor may have deleted some meanwhile.
        found = db.session.scalars(select(Submission).where(Submission.id.in_(ids))).all()
        for submission in found:
            ACTIONS[action].apply(submission)
        db.session.commit()
        flash(
            ngettext("%(num)d submission changed.", "%(num)d submissions changed.", len(found)),
            "info",
        )
        return redirect(back)

    @bp.post("/bulk/delete")
    def bulk_delete() -> ResponseReturnValue:
        form = ConfirmForm()
        back = safe_next(form.back.data, url_for("inbox.index"))
        count = delete_submissions(settings.data_dir, _selected_ids(), current_user.name)
        flash(ngettext("%(num)d submission deleted.", "%(num)d submissions deleted.", count))
        return redirect(back)

    @bp.get("/s/<submission_id>")
    def submission(submission_id: str) -> ResponseReturnValue:
        item = get_submission(submission_id)
        entries = thread_entries(item)
        if not item.is_read or any(entry.new for entry in entries):
            item.is_read = True
            for message in threads.unread_from_tipster(item):
                message.read_by_editors = True
            db.session.commit()
        # Read from each thumbnail's header only, for <img width height> (no layout
        # shift); from the image's own for those filed before thumbnails were stored.
        thumbnail_sizes = {}
        for f in item.files:
            if f.kind == Kind.IMAGE and f.thumbnail_name != "":
                name = f.thumbnail_name or f.stored_name
                path = storage.stored_file_path(settings.data_dir, item.id, name)
                try:
                    with open_plain(f, path) as plain:
                        size = thumbnails.thumbnail_size(plain)
                except (OSError, age.AgeError):
                    size = None
                thumbnail_sizes[f.id] = size and thumbnails.display_size(size)
        return render_template(
            "inbox/submission.html",
            item=item,
            content=open_content(item),
            form=ActionForm(),
            actions=ACTIONS,
            thumbnail_sizes=thumbnail_sizes,
            entries=entries,
            file_numbers={f.id: number for number, f in enumerate(item.files, start=1)},
            reply_form=ReplyForm(),
        )

    @bp.post("/s/<submission_id>/action")
    def act(submission_id: str) -> ResponseReturnValue:
        item = get_submission(submission_id)
        form = ActionForm()
        if not form.validate():
            abort(400)
        action = form.action.data
        assert action is not None  # validated: one of FLAG_ACTIONS
        ACTIONS[action].apply(item)
        db.session.commit()
        if action in {"unread", "archive"}:
            # Staying on the page would mark it read again / keep an archived item open.
            return redirect(url_for("inbox.index"))
        return redirect(url_for("inbox.submission", submission_id=item.id))

    @bp.get("/s/<submission_id>/delete")
    def confirm_delete(submission_id: str) -> ResponseReturnValue:
        item = get_submission(submission_id)
        back = url_for("inbox.submission", submission_id=item.id)
        return render_template(
            "inbox/confirm_delete.html",
            ids=[item.id],
            count=1,
            form=ConfirmForm(back=url_for("inbox.index")),
            action_url=url_for("inbox.delete", submission_id=item.id),
            cancel_url=back,
        )

    @bp.post("/s/<submission_id>/delete")
    def delete(submission_id: str) -> ResponseReturnValue:
        item = get_submission(submission_id)
        delete_submissions(settings.data_dir, [item.id], current_user.name)
        flash(_("The submission was deleted."), "info")
        return redirect(url_for("inbox.index"))

    @bp.get("/audit")
    def audit_log() -> ResponseReturnValue:
        number = page_number(request.args.get("page", "1"))
        events = db.paginate(
            select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
            page=number,
            per_page=AUDIT_PER_PAGE,
            error_out=False,
        )
        return render_template(
            "inbox/audit.html",
            events=events,
            action_label=audit.action_label,
            editor_label=audit.editor_label,
        )

    @bp.get("/language/<code>")
    def language(code: str) -> ResponseReturnValue:
        if code not in available_locales():
            abort(404)
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.editor.locale = code
            db.session.commit()
        default = (
            url_for("inbox.index") if current_user.is_authenticated else url_for("inbox.sign_in")
        )
        return redirect(safe_next(request.args.get("next"), default))

    if settings.serve == "inbox":

        @bp.record_once
        def add_root(state: BlueprintSetupState) -> None:
            # Without the public side, the site's root leads to the inbox.
            state.app.add_url_rule("/", "inbox_root", lambda: redirect(url_for("inbox.index")))
