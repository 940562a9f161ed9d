"""The inbox list (views, counts, filters, pagination), a submission's page, every
action alone and in bulk, deletion with its confirmation step, and the language switch."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.inbox import views
from portal.models import AuditEvent, Editor, StoredFile, Submission, db
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    FileSpec,
    MakeSubmission,
    add_editor,
    jpeg_file,
    pdf_file,
    sign_in,
    token,
    wav_file,
)
from tests.public.helpers import HTML_LANG


def flags(app: Flask, submission_id: str) -> tuple[bool, bool, bool] | None:
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        return None if row is None else (row.is_read, row.is_starred, row.is_archived)


def listed_ids(page_html: str) -> list[str]:
    return re.findall(r'name="ids" value="([0-9a-f]{32})"', page_html)


def text(response) -> str:
    return response.get_data(as_text=True)


def test_list_is_newest_first_and_paginated(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [
        make_submission(note=f"note {i}", created_at=start + timedelta(hours=i)).id
        for i in range(views.PER_PAGE + 3)
    ]
    newest_first = made[::-1]
    signed_in.get("/inbox/language/en")
    first = text(signed_in.get("/inbox/"))
    second = text(signed_in.get("/inbox/?page=2"))
    assert listed_ids(first) == newest_first[: views.PER_PAGE]
    assert listed_ids(second) == newest_first[views.PER_PAGE :]
    assert "page=2" in first and "Page 1 of 2" in first
    # Out-of-range or nonsense pages do not fail.
    assert signed_in.get("/inbox/?page=99").status_code == 200
    assert signed_in.get("/inbox/?page=-1").status_code == 200
    assert signed_in.get("/inbox/?page=abc").status_code == 200


def test_views_and_their_counts(signed_in: FlaskClient, make_submission: MakeSubmission) -> None:
    unread = make_submission(note="unread one").id
    read = make_submission(note="read one", is_read=True).id
    starred = make_submission(note="starred one", is_read=True, is_starred=True).id
    archived = make_submission(note="archived one", is_read=True, is_archived=True).id
    page = text(signed_in.get("/inbox/"))
    assert set(listed_ids(page)) == {unread, read, starred}
    for view, count in (("inbox", 3), ("unread", 1), ("starred", 1), ("archived", 1)):
        assert re.search(rf'view={view}[^"]*"[^>]*>[^<]+<span class="count">\({count}\)', page), (
            view
        )
    assert listed_ids(text(signed_in.get("/inbox/?view=unread"))) == [unread]
    assert listed_ids(text(signed_in.get("/inbox/?view=starred"))) == [starred]
    assert listed_ids(text(signed_in.get("/inbox/?view=archived"))) == [archived]
    assert set(listed_ids(text(signed_in.get("/inbox/?view=bogus")))) == {unread, read, starred}


def test_filters(signed_in: FlaskClient, make_submission: MakeSubmission) -> None:
    with_files = make_submission(note="photos of the truck", files=[jpeg_file()]).id
    with_links = make_submission(note="see this", links="https://example.org/a").id
    plain = make_submission(note="100% sure: the Ranch on Route 2").id
    assert listed_ids(text(signed_in.get("/inbox/?has_files=1"))) == [with_files]
    assert listed_ids(text(signed_in.get("/inbox/?has_links=1"))) == [with_links]
    assert listed_ids(text(signed_in.get("/inbox/?q=TRUCK"))) == [with_files]
    # % and _ are searched for literally, not as wildcards.
    assert listed_ids(text(signed_in.get("/inbox/?q=100%25"))) == [plain]
    assert listed_ids(text(signed_in.get("/inbox/?q=%25"))) == [plain]
    assert listed_ids(text(signed_in.get("/inbox/?q=e_t"))) == []
    both = text(signed_in.get("/inbox/?has_files=1&q=ranch"))
    assert listed_ids(both) == []
    # A NUL is dropped (PostgreSQL refuses it in text; SQLite cut the pattern there).
    assert listed_ids(text(signed_in.get("/inbox/?q=photos%00"))) == [with_files]


# "²" passes str.isdigit() but int() refuses it, as it refuses any string of more than
# 4300 digits.
ODD_PAGES = ["²", "9" * 5000, "-1", "0", "abc", "", "1e3", "999999999999"]


@pytest.mark.parametrize("page", ODD_PAGES)
def test_odd_page_numbers_show_the_first_page(
    signed_in: FlaskClient, make_submission: MakeSubmission, page: str
) -> None:
    filed = make_submission(note="the only one")
    listing = signed_in.get("/inbox/", query_string={"page": page})
    assert listing.status_code == 200
    assert filed.id in listing.get_data(as_text=True)
    log = signed_in.get("/inbox/audit", query_string={"page": page})
    assert log.status_code == 200
    assert "<td>Sign-in</td>" in log.get_data(as_text=True)


def test_filters_are_kept_across_pages_and_views(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    matching = [
        make_submission(note=f"truck {i}", links="https://example.org", created_at=start
                        + timedelta(minutes=i)).id
        for i in range(views.PER_PAGE + 1)
    ]  # fmt: skip
    make_submission(note="truck without links")
    first = text(signed_in.get("/inbox/?q=truck&has_links=1"))
    assert len(listed_ids(first)) == views.PER_PAGE
    next_page = html.unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    assert "q=truck" in next_page and "has_links=1" in next_page and "page=2" in next_page
    assert listed_ids(text(signed_in.get(next_page))) == [matching[0]]
    starred = html.unescape(re.search(r'href="([^"]*view=starred[^"]*)"', first).group(1))
    assert "q=truck" in starred and "has_links=1" in starred and "page" not in starred
    # The form shows what is being filtered on.
    assert 'name="has_links" value="1" checked' in first and 'value="truck"' in first


@pytest.mark.proves("arrival-time")
def test_row_shows_date_in_editors_zone_language_files_and_first_words(
    inbox_app: Flask, web: FlaskClient, clock: Clock, make_submission: MakeSubmission
) -> None:
    account = add_editor(inbox_app, "tj", clock, timezone="America/Tijuana")
    sign_in(web, account)
    web.get("/inbox/language/en")
    long_note = " ".join(f"word{i}" for i in range(60))
    make_submission(
        note=long_note,
        locale="es",
        files=[jpeg_file(), jpeg_file(), wav_file()],
        created_at=datetime(2026, 1, 15, 20, 30, tzinfo=UTC),
    )
    page = text(web.get("/inbox/"))
    # 20:30 UTC is 12:30 in Tijuana in January (UTC-8).
    assert "Jan 15, 2026, 12:30:00\u202fPM" in page
    assert "Spanish" in page
    assert "3 files: photo (2) and audio" in page
    assert "word0 word1" in page and "word23…" in page and "word24" not in page
    # In Spanish: the date, the language name and the plural follow the editor's language.
    make_submission(
        note="uno",
        locale="en",
        files=[wav_file()],
        created_at=datetime(2026, 7, 4, 6, 5, tzinfo=UTC),
    )
    web.get("/inbox/language/es")
    page = text(web.get("/inbox/"))
    # Mexican Spanish: a 12-hour clock, "p.m." after a narrow no-break space.
    assert "15 ene 2026, 12:30:00\u202fp.m." in page
    assert "3 archivos: foto (2) y audio" in page and "Español" in page
    # 06:05 UTC in July is 23:05 the day before in Tijuana (UTC-7, summer time).
    assert "3 jul 2026, 11:05:00\u202fp.m." in page
    assert "1 archivo: audio" in page and "Inglés" in page


def test_default_time_zone_applies_when_editor_has_none(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    signed_in.get("/inbox/language/en")
    make_submission(created_at=datetime(2026, 1, 15, 20, 30, tzinfo=UTC))
    # America/Mexico_City is UTC-6 all year since 2022.
    assert "Jan 15, 2026, 2:30:00\u202fPM" in text(signed_in.get("/inbox/"))


def test_submission_page_shows_everything_safely(
    signed_in: FlaskClient, make_submission: MakeSubmission, mp4_bytes: bytes, inbox_app: Flask
) -> None:
    from tests.inbox.helpers import FileSpec

    note = 'Look <script>alert("x")</script>\n  second line & <b>bold</b>'
    links = "https://example.org/a?x=1&y=2\nhttp://evil.example/</textarea><script>x</script>"
    filed = make_submission(
        note=note,
        links=links,
        contact="signal: +52 000 <i>",
        locale="en",
        files=[
            jpeg_file(),
            FileSpec(mp4_bytes, "video", "MP4", "video/mp4", "mp4", ["tags", "gps"]),
            wav_file(),
            pdf_file(),
        ],
        refused=["archive"],
    )
    signed_in.get("/inbox/language/en")
    response = signed_in.get(f"/inbox/s/{filed.id}")
    assert response.status_code == 200
    page = text(response)
    # Plain text only: nothing the tipster wrote becomes markup.
    assert "<script>" not in page and "<b>" not in page and "<i>" not in page
    shown_note = re.search(r'<div class="note">(.*?)</div>', page, re.DOTALL)
    assert shown_note and html.unescape(shown_note.group(1)) == note  # whitespace kept too
    shown_links = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.DOTALL)
    assert shown_links and html.unescape(shown_links.group(1)) == links
    # Links are copyable text behind a warning, never anchors.
    assert "<textarea" in page and "readonly" in page
    assert 'href="https://example.org' not in page and 'href="http://evil' not in page
    assert "may alert the people" in page
    assert html.escape("signal: +52 000 <i>") in page
    # Files: kinds, sizes, removed metadata in words, a small preview of the photo that
    # links to the whole one, players from the inline endpoint.
    inline = [f"/inbox/s/{filed.id}/f/{fid}/inline" for fid in filed.file_ids]
    thumbnail = f"/inbox/s/{filed.id}/f/{filed.file_ids[0]}/thumbnail"
    assert f'<a href="{inline[0]}"><img class="thumbnail" src="{thumbnail}"' in page
    assert f'<video class="player" controls preload="metadata" src="{inline[1]}"' in page
    assert f'<audio class="player" controls preload="metadata" src="{inline[2]}"' in page
    assert inline[3] not in page  # no preview for a document
    assert "GPS location" in page and "camera or phone make and model" in page
    assert "author or owner name" in page
    assert "photo (JPEG)" in page and "document (PDF)" in page
    # Sizes in plain words (decimal units, one decimal at most).
    for spec in (jpeg_file(), wav_file(), pdf_file()):
        size = len(spec.data)
        words = f"{size}\u00a0bytes" if size < 1000 else f"{size / 1000:.1f}".removesuffix(".0")
        words += "\u00a0kB" if size >= 1000 else ""
        assert f"{words}</h3>" in page, words
    mp4_size = f"{len(mp4_bytes) / 1000:.1f}".removesuffix(".0")
    assert f"video (MP4), {mp4_size}\u00a0kB</h3>" in page
    # The refusal reason, in editors' words (what the file was, not what to do).
    assert "Compressed archive (ZIP, RAR, 7z or similar)." in page
    assert "Please send the files inside them" not in page
    assert f"/inbox/s/{filed.id}/files.zip" in page
    for fid in filed.file_ids:
        assert f'href="/inbox/s/{filed.id}/f/{fid}"' in page
    # Opening it marked it read.
    assert flags(inbox_app, filed.id) == (True, False, False)


def test_unknown_submission_is_404(signed_in: FlaskClient) -> None:
    assert signed_in.get("/inbox/s/" + "0" * 32).status_code == 404
    assert signed_in.get("/inbox/s/..%2F..%2Fetc").status_code == 404


@pytest.mark.parametrize(
    ("action", "before", "after", "goes_to_list"),
    [
        ("read", (False, False, False), (True, False, False), False),
        ("unread", (True, False, False), (False, False, False), True),
        ("star", (True, False, False), (True, True, False), False),
        ("unstar", (True, True, False), (True, False, False), False),
        ("archive", (True, False, False), (True, False, True), True),
        ("unarchive", (True, False, True), (True, False, False), False),
    ],
)
def test_each_action_on_one_submission(
    signed_in: FlaskClient,
    make_submission: MakeSubmission,
    inbox_app: Flask,
    action: str,
    before: tuple[bool, bool, bool],
    after: tuple[bool, bool, bool],
    goes_to_list: bool,
) -> None:
    read, starred, archived = before
    filed = make_submission(is_read=read, is_starred=starred, is_archived=archived)
    url = f"/inbox/s/{filed.id}/action"
    assert signed_in.get(url).status_code == 405
    assert signed_in.post(url, data={"action": action}).status_code == 400  # no CSRF token
    assert flags(inbox_app, filed.id) == before
    response = signed_in.post(url, data={"action": action, "csrf_token": token(signed_in)})
    assert response.status_code == 302
    assert response.location == ("/inbox/" if goes_to_list else f"/inbox/s/{filed.id}")
    assert flags(inbox_app, filed.id) == after


def test_unknown_action_is_refused(
    signed_in: FlaskClient, make_submission: MakeSubmission, inbox_app: Flask
) -> None:
    filed = make_submission()
    response = signed_in.post(
        f"/inbox/s/{filed.id}/action", data={"action": "delete", "csrf_token": token(signed_in)}
    )
    assert response.status_code == 400
    assert flags(inbox_app, filed.id) is not None


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("read", 0, True),
        ("unread", 0, False),
        ("star", 1, True),
        ("unstar", 1, False),
        ("archive", 2, True),
        ("unarchive", 2, False),
    ],
)
def test_each_bulk_action(
    signed_in: FlaskClient,
    make_submission: MakeSubmission,
    inbox_app: Flask,
    action: str,
    field: int,
    value: bool,
) -> None:
    initial = not value
    chosen = [
        make_submission(is_read=initial, is_starred=initial, is_archived=initial).id
        for _ in range(2)
    ]
    untouched = make_submission(is_read=initial, is_starred=initial, is_archived=initial).id
    back = "/inbox/?view=starred&page=1"
    response = signed_in.post(
        "/inbox/bulk",
        data={"action": action, "ids": chosen, "back": back, "csrf_token": token(signed_in)},
    )
    assert response.status_code == 302 and response.location == back
    for sid in chosen:
        assert flags(inbox_app, sid)[field] is value
    assert flags(inbox_app, untouched)[field] is initial
    assert "2 submissions changed." in text(signed_in.get(back))


def test_bulk_counts_only_submissions_that_exist(
    signed_in: FlaskClient, make_submission: MakeSubmission, inbox_app: Flask
) -> None:
    real = make_submission().id
    gone = "f" * 32  # deleted by another editor meanwhile
    response = signed_in.post(
        "/inbox/bulk",
        data={"action": "star", "ids": [real, gone], "csrf_token": token(signed_in)},
        follow_redirects=True,
    )
    assert "1 submission changed." in text(response)
    assert flags(inbox_app, real) == (False, True, False)


def test_bulk_needs_csrf_a_selection_and_a_known_action(
    signed_in: FlaskClient, make_submission: MakeSubmission, inbox_app: Flask
) -> None:
    filed = make_submission()
    assert (
        signed_in.post("/inbox/bulk", data={"action": "read", "ids": [filed.id]}).status_code == 400
    )
    csrf = token(signed_in)
    for data in ({"action": "read"}, {"action": "explode", "ids": [filed.id]}):
        response = signed_in.post("/inbox/bulk", data={**data, "csrf_token": csrf})
        assert response.status_code == 302
    assert flags(inbox_app, filed.id) == (False, False, False)
    # A "back" address outside the inbox is not followed.
    response = signed_in.post(
        "/inbox/bulk",
        data={
            "action": "read",
            "ids": [filed.id],
            "back": "https://evil.example/",
            "csrf_token": csrf,
        },
    )
    assert response.location == "/inbox/"


def count_rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Submission)),
            db.session.scalar(select(func.count()).select_from(StoredFile)),
        )


def test_delete_one_after_confirmation(
    signed_in: FlaskClient, make_submission: MakeSubmission, inbox_app: Flask
) -> None:
    filed = make_submission(note="delete me", files=[jpeg_file(), pdf_file()])
    kept = make_submission(files=[jpeg_file()])
    confirm = signed_in.get(f"/inbox/s/{filed.id}/delete")
    assert confirm.status_code == 200
    assert "cannot be undone" in text(confirm) or "no se puede deshacer" in text(confirm)
    assert filed.folder.is_dir() and flags(inbox_app, filed.id) is not None  # not yet
    # Without the token nothing happens.
    assert signed_in.post(f"/inbox/s/{filed.id}/delete").status_code == 400
    assert filed.folder.is_dir()
    response = signed_in.post(f"/inbox/s/{filed.id}/delete", data={"csrf_token": token(signed_in)})
    assert response.status_code == 302 and response.location == "/inbox/"
    assert not filed.folder.exists()
    assert flags(inbox_app, filed.id) is None
    assert count_rows(inbox_app) == (1, 1)
    assert kept.folder.is_dir()
    with inbox_app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delete")).all()
        assert [(e.editor, e.target) for e in events] == [("ana", filed.id)]


def test_bulk_delete_asks_first_then_removes_files_and_rows(
    signed_in: FlaskClient, make_submission: MakeSubmission, inbox_app: Flask
) -> None:
    doomed = [make_submission(files=[jpeg_file()]) for _ in range(2)]
    kept = make_submission(files=[wav_file()])
    ids = [f.id for f in doomed]
    csrf = token(signed_in)
    confirm = signed_in.post(
        "/inbox/bulk", data={"action": "delete", "ids": ids, "back": "/inbox/", "csrf_token": csrf}
    )
    assert confirm.status_code == 200
    page = text(confirm)
    assert "Delete 2 submissions?" in page or "2 envíos" in page
    assert sorted(re.findall(r'name="ids" value="([0-9a-f]{32})"', page)) == sorted(ids)
    assert all(f.folder.is_dir() for f in doomed) and count_rows(inbox_app) == (3, 3)
    response = signed_in.post(
        "/inbox/bulk/delete", data={"ids": ids, "back": "/inbox/", "csrf_token": csrf}
    )
    assert response.status_code == 302
    assert not any(f.folder.exists() for f in doomed)
    assert kept.folder.is_dir()
    assert count_rows(inbox_app) == (1, 1)
    with inbox_app.app_context():
        targets = db.session.scalars(
            select(AuditEvent.target).where(AuditEvent.action == "delete")
        ).all()
    assert sorted(targets) == sorted(ids)


def test_bulk_delete_needs_csrf(
    signed_in: FlaskClient, make_submission: MakeSubmission, inbox_app: Flask
) -> None:
    filed = make_submission(files=[jpeg_file()])
    assert signed_in.post("/inbox/bulk/delete", data={"ids": [filed.id]}).status_code == 400
    assert filed.folder.is_dir() and flags(inbox_app, filed.id) is not None


def test_language_switch(
    signed_in: FlaskClient, inbox_app: Flask, editor: EditorAccount, clock: Clock
) -> None:
    response = signed_in.get("/inbox/language/en?next=/inbox/audit")
    assert response.status_code == 302 and response.location == "/inbox/audit"
    page = text(signed_in.get("/inbox/"))
    assert '<html lang="en"' in page and "Audit log" in page
    assert "/inbox/language/es" in page  # the switch offers the other language
    signed_in.get("/inbox/language/es")
    page = text(signed_in.get("/inbox/"))
    assert '<html lang="es-MX"' in page
    assert signed_in.get("/inbox/language/xx").status_code == 404
    assert signed_in.get("/inbox/language/en?next=https://evil.example/").location == "/inbox/"
    # The choice is the editor's: it comes back at the next sign-in.
    signed_in.get("/inbox/language/en")
    with inbox_app.app_context():
        assert db.session.scalar(select(Editor.locale).where(Editor.name == "ana")) == "en"
    clock.advance(seconds=30)
    fresh = inbox_app.test_client()
    fresh.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    assert '<html lang="es-MX"' in text(fresh.get("/inbox/login"))
    sign_in(fresh, editor)
    assert '<html lang="en"' in text(fresh.get("/inbox/"))


def test_sign_in_page_can_switch_language(web: FlaskClient) -> None:
    web.get("/inbox/language/en")
    assert '<html lang="en"' in text(web.get("/inbox/login"))
    web.get("/inbox/language/es")
    assert '<html lang="es-MX"' in text(web.get("/inbox/login"))


def test_every_page_in_both_languages_has_no_inline_script_or_style(
    signed_in: FlaskClient, make_submission: MakeSubmission
) -> None:
    filed = make_submission(note="x", links="https://example.org", files=[jpeg_file()])
    for code in ("es", "en"):
        signed_in.get(f"/inbox/language/{code}")
        for path in (
            "/inbox/",
            "/inbox/audit",
            f"/inbox/s/{filed.id}",
            f"/inbox/s/{filed.id}/delete",
        ):
            response = signed_in.get(path)
            assert response.status_code == 200, path
            page = text(response)
            assert f'<html lang="{HTML_LANG[code]}"' in page
            assert "<script" not in page and "<style" not in page
            assert " style=" not in page and " onclick=" not in page


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "The picture could not be copied as it was"),
        ("es", "La imagen no se pudo copiar tal como estaba"),
    ],
)
def test_submission_page_says_which_files_were_re_encoded(
    signed_in, make_submission, mp4_bytes, lang, words
) -> None:
    video = FileSpec(mp4_bytes, "video", "MP4", "video/mp4", "mp4", altered=["video_reencoded"])
    plain = FileSpec(mp4_bytes, "video", "MP4", "video/mp4", "mp4")
    filed = make_submission(files=[video, plain])
    signed_in.get(f"/inbox/language/{lang}")
    page = signed_in.get(f"/inbox/s/{filed.id}").get_data(as_text=True)
    assert page.count(words) == 1
