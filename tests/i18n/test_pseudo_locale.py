"""Every string people see is marked for translation.

A pseudo-locale catalogue is built on the fly from the freshly extracted template,
each msgstr rewritten as ``[Šéñð ä ţîþ]`` (no ASCII letter survives; placeholders and
tags do). Every page, public and inbox, error pages, the receipt and forms with
validation errors included, is rendered in that locale. Any visible text node, or
attribute meant for people, that still holds an ASCII letter came from a string that
was not translated; the failure quotes it.

Esperanto (``eo``) stands in for the pseudo-locale: Babel knows it (so dates, numbers
and sizes format) and no real catalogue uses it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.units import format_unit
from flask import Flask, abort
from flask.testing import FlaskClient
from PIL import Image

from portal.errors import ERROR_TEXTS
from portal.i18n import language_name
from portal.models import AuditEvent, StoredFile, db
from portal.unavailable import render_pages
from tests.apps import DatabaseUrls, running_app
from tests.i18n.catalogues import ASCII_LETTER, pseudo, pseudo_catalogue, save, translate
from tests.inbox_keys import ensure_inbox

PSEUDO = "eo"

# --- the fixture's user data: shown as typed, never translated ------------------------
NOTE = "Camioneta blanca frente a la bodega, placas XYZ-123"
LINK = "https://example.org/post/42"
NOT_A_LINK = "not a link"
CONTACT = "signal: tipster.42"
#: a well-formed version 3 onion address (no such service exists)
ONION = "portalx" + "a" * 45 + "b2cd.onion"
EDITOR = "ana"
PASSWORD = "correct horse battery staple"

#: text that is data, not interface: explicit, and only what the fixture itself put in
#: a word typed into the follow-up phrase that is in no word list (quoted back)
NOT_A_WORD = "xqzzy"
REPLY = "Gracias. ¿Tienes el video original?"
USER_DATA = (NOTE, LINK, NOT_A_LINK, CONTACT, EDITOR, ONION, NOT_A_WORD, REPLY)
URL = re.compile(r"https?://\S+")
#: submission and file ids (portal.models.new_id) and the names generated from them
GENERATED_ID = re.compile(r"\b[0-9a-f]{32}\b")
#: "{sent}" in words handed to static/js through data-* attributes, filled in by the script
SCRIPT_PLACEHOLDER = re.compile(r"\{\w+\}")

#: attributes a person reads or hears
PEOPLE_ATTRIBUTES = {
    "title",
    "placeholder",
    "alt",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "label",
}
#: data-* attributes hold words for the page's scripts (static/js), so they are checked
#: too; one holding something else would be listed here
DATA_ATTRIBUTES_NOT_TEXT: set[str] = set()
BUTTON_INPUT_TYPES = {"submit", "button", "reset"}
SKIPPED_CONTENT = {"script", "style"}
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input",
    "link", "meta", "source", "track", "wbr",
}  # fmt: skip


# --- what Babel itself writes for the pseudo-locale (dates, units, lists) -------------


def babel_words(code: str, timezone: str) -> set[str]:
    """Words from CLDR for ``code``: month and day names, unit and relative-time
    patterns, and what Babel's date formats produce (with ``timezone``'s name). They are
    locale data, not text the portal should translate. Narrow (one-letter) names are left
    out."""
    locale = Locale.parse(code)
    texts: list[str] = []
    for table in (locale.months, locale.days, locale.quarters):
        for context in table.values():
            for width, names in context.items():
                if width != "narrow":
                    texts.extend(names.values())
    for context in locale.day_periods.values():
        for width, names in context.items():
            if width != "narrow":
                texts.extend(names.values())
    for names in locale.eras.values():
        texts.extend(names.values())

    def strings(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from strings(item)

    texts.extend(strings(locale._data["unit_patterns"]))
    texts.extend(strings(locale._data.get("date_fields", {})))
    texts.extend(strings(locale._data.get("list_patterns", {})))
    sample = datetime(2026, 3, 2, 18, 0, 7, tzinfo=UTC)
    for width in ("short", "medium", "long", "full"):
        texts.append(format_datetime(sample, width, tzinfo=ZoneInfo(timezone), locale=locale))
        texts.append(format_date(sample.date(), width, locale=locale))
        texts.append(format_time(sample, width, locale=locale))
    for unit in ("digital-byte", "digital-kilobyte", "digital-megabyte", "digital-gigabyte"):
        for length in ("short", "long", "narrow"):
            texts.append(format_unit(2, unit, length=length, locale=locale))
    for delta in (timedelta(seconds=5), timedelta(hours=3), timedelta(days=40)):
        texts.append(format_timedelta(delta, add_direction=True, locale=locale))
    for delta in (timedelta(minutes=30), timedelta(hours=6)):  # durations, as labels writes them
        texts.append(format_timedelta(delta, locale=locale))
    return {word for text in texts for word in re.findall(r"[^\W\d_]+", text)}


# --- finding untranslated text in a page ----------------------------------------------


@dataclass
class Finding:
    page: str
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.page} {self.where}: {self.text!r}"


class PeopleText(HTMLParser):
    """Collects (where, text) for visible text nodes and attributes meant for people."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            for_people = name in PEOPLE_ATTRIBUTES or (
                name.startswith("data-") and name not in DATA_ATTRIBUTES_NOT_TEXT
            )
            if for_people and tag not in {"link", "meta"}:
                self.found.append((f"<{tag} {name}>", value))
        if tag == "input" and values.get("type", "").lower() in BUTTON_INPUT_TYPES:
            self.found.append((f"<input type={values['type']} value>", values.get("value", "")))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if SKIPPED_CONTENT.intersection(self.stack) or not data.strip():
            return
        self.found.append((f"<{self.stack[-1] if self.stack else ''}> text", data))


@dataclass
class AllowList:
    literals: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    def leftover(self, text: str) -> str:
        """``text`` without what is allowed; ASCII letters left over are untranslated."""
        for literal in sorted(self.literals, key=len, reverse=True):
            text = text.replace(literal, " ")
        text = URL.sub(" ", text)
        text = GENERATED_ID.sub(" ", text)
        text = SCRIPT_PLACEHOLDER.sub(" ", text)
        return re.sub(r"[^\W\d_]+", lambda m: " " if m.group() in self.words else m.group(), text)


def untranslated(page: str, html: str, allowed: AllowList) -> list[Finding]:
    parser = PeopleText()
    parser.feed(html)
    parser.close()
    return [
        Finding(page, where, " ".join(text.split()))
        for where, text in parser.found
        if ASCII_LETTER.search(allowed.leftover(text))
    ]


# --- the app in the pseudo-locale ------------------------------------------------------


class LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def jpeg_with_camera_tags() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PseudoMaker"  # Make
    exif[0x0110] = "PseudoPhone 1"  # Model
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "teal").save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def pseudo_app(
    tmp_path_factory: pytest.TempPathFactory, fresh_template, database_urls: DatabaseUrls
) -> Iterator[Flask]:
    root = tmp_path_factory.mktemp("pseudo")
    save(
        pseudo_catalogue(fresh_template, PSEUDO),
        root / "tr" / PSEUDO / "LC_MESSAGES" / "messages.po",
    )
    compiled = translate(root / "tr", "compile")
    assert compiled.exit_code == 0, compiled.output
    with running_app(
        root / "data",
        database_url=database_urls.url(root / "data"),
        translations_dir=str(root / "tr"),
        default_locale=PSEUDO,
        max_submission_size=400_000,
        onion_address=ONION,
    ) as app:
        add_failing_route(app, PSEUDO)
        yield app


def add_failing_route(app: Flask, lang: str) -> None:
    """``/LANG/_fail/CODE`` answers with that HTTP error, for the error pages."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get(f"/{lang}/_fail/<int:code>")
    def fail(code: int):
        abort(code)


@dataclass
class Rendered:
    pages: dict[str, str] = field(default_factory=dict)
    #: generated text shown as it is (follow-up phrases): data, not interface
    data: set[str] = field(default_factory=set)

    def add(self, name: str, response) -> str:
        assert response.mimetype == "text/html", f"{name}: {response.mimetype}"
        html = response.get_data(as_text=True)
        self.pages[name] = html
        return html


def crawl(client: FlaskClient, start: str, prefix: str, into: Rendered, limit: int = 40) -> None:
    """GET every page linked from ``start`` under ``prefix`` (no downloads, no language
    switches), so that pages added later are covered without editing this test."""
    queue, seen = [start], set()
    while queue and len(seen) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or not path.startswith(prefix):
            continue
        if "/language/" in path or "/f/" in path or path.endswith("/zip"):
            continue
        seen.add(url)
        response = client.get(url)
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        html = into.add(f"GET {url}", response)
        finder = LinkFinder()
        finder.feed(html)
        queue.extend(urljoin(url, href).split("#")[0] for href in finder.links)


@pytest.fixture(scope="module")
def rendered(pseudo_app: Flask) -> Rendered:
    return render_every_page(pseudo_app, PSEUDO)


def render_every_page(app: Flask, lang: str, *, note: str = NOTE) -> Rendered:
    """Every page, public and inbox, in ``lang``: the form and each of its error
    states, the receipt, the guide and every page linked from them, error pages
    (``app`` needs :func:`add_failing_route`), and the inbox with a submission of
    ``note`` and files in it."""
    out = Rendered()
    public = app.test_client()
    base = f"/{lang}/"

    form_page = out.add("public form", public.get(base))
    token = csrf_token(form_page)

    out.add(
        "public form with validation errors",
        public.post(base, data={"csrf_token": token, "links": NOT_A_LINK}),
    )
    limit = app.config["PORTAL_SETTINGS"].max_note_length
    out.add(
        "public form with a note too long",
        public.post(base, data={"csrf_token": token, "note": "7" * (limit + 1)}),
    )
    out.add(
        "public receipt",
        public.post(
            base,
            data={
                "csrf_token": token,
                "note": note,
                "links": LINK,
                "contact": CONTACT,
                "files": [
                    (io.BytesIO(jpeg_with_camera_tags()), "photo.jpg"),
                    (io.BytesIO(b"PK\x03\x04" + b"\0" * 200), "archive.zip"),
                ],
            },
            content_type="multipart/form-data",
        ),
    )
    shown = _phrase(out.pages["public receipt"])
    out.data.add(shown)
    out.add("public expired form", public.post(base, data={"note": note}))
    out.add(
        "public too large",
        public.post(
            base,
            data={"csrf_token": token, "files": [(io.BytesIO(b"\0" * 500_000), "big.bin")]},
            content_type="multipart/form-data",
        ),
    )
    out.add(
        "public honeypot answer",
        public.post(base, data={"csrf_token": token, "note": note, "homepage": "bot"}),
    )
    out.add("public 404", public.get(f"/{lang}/no-such-page"))
    out.add("public 405", public.delete(base))
    for code in sorted(ERROR_TEXTS):
        out.add(f"error {code}", public.get(f"/{lang}/_fail/{code}"))
    for relative, html in render_pages(app).items():  # the pages nginx serves
        if relative.startswith(f"{lang}/"):
            out.pages[f"nginx page {relative}"] = html
    crawl(public, base, base, out)
    followup = _render_followup(app, public, lang, shown, out)

    if "inbox" not in app.blueprints:
        return out
    inbox = app.test_client()
    _add_editor(app)
    inbox.get(f"/inbox/language/{lang}")
    sign_in_page = out.add("inbox sign-in", inbox.get("/inbox/login"))
    out.add(
        "inbox sign-in with a wrong password",
        inbox.post(
            "/inbox/login",
            data={
                "csrf_token": csrf_token(sign_in_page),
                "name": EDITOR,
                "password": "wrong",
                "code": "000000",
            },
        ),
    )
    signed = inbox.post(
        "/inbox/login",
        data={
            "csrf_token": csrf_token(inbox.get("/inbox/login").get_data(as_text=True)),
            "name": EDITOR,
            "password": PASSWORD,
            "code": _totp(app),
        },
    )
    assert signed.status_code == 302, "the pseudo-locale editor could not sign in"
    crawl(inbox, "/inbox/", "/inbox/", out)
    submission = next(name for name in out.pages if re.search(r"/inbox/s/\w+$", name))
    path = submission.removeprefix("GET ")
    out.add(
        "inbox submission after starring",
        inbox.post(
            f"{path}/action",
            data={"csrf_token": csrf_token(out.pages[submission]), "action": "star"},
            follow_redirects=True,
        ),
    )
    submission_id = path.rsplit("/", 1)[1]
    list_token = csrf_token(out.pages["GET /inbox/"])
    out.add(
        "inbox bulk delete confirmation",
        inbox.post(
            "/inbox/bulk",
            data={"csrf_token": list_token, "action": "delete", "ids": [submission_id]},
        ),
    )
    out.add(
        "inbox bulk change message",
        inbox.post(
            "/inbox/bulk",
            data={"csrf_token": list_token, "action": "unread", "ids": [submission_id]},
            follow_redirects=True,
        ),
    )
    out.add(
        "inbox bulk with nothing selected",
        inbox.post(
            "/inbox/bulk", data={"csrf_token": list_token, "action": ""}, follow_redirects=True
        ),
    )
    out.add("inbox 404", inbox.get("/inbox/no-such-page"))
    _render_conversation_both_sides(inbox, public, followup, out)
    with app.app_context():
        _seed_audit_log()
    out.add("inbox audit log", inbox.get("/inbox/audit"))
    return out


def _phrase(receipt: str) -> str:
    match = re.search(r'<p class="phrase" id="phrase"[^>]*>([^<]+)</p>', receipt)
    assert match, "the receipt shows a follow-up phrase"
    return match.group(1)


def _render_followup(app: Flask, public: FlaskClient, lang: str, shown: str, out: Rendered) -> str:
    """The conversation's pages, as the tipster meets them: every error of the phrase
    form, the 429 page, declining a phrase, the conversation, its form with errors and
    the receipt of a later message. Returns the conversation's address."""
    from portal.public import followup

    address = out.pages["public receipt"]
    match = re.search(r'<form method="post" action="([^"]+)" class="decline">', address)
    assert match, "the receipt offers to decline the phrase"
    page = match.group(1)
    token = csrf_token(out.add("public conversation: the phrase", public.get(page)))
    words_of = shown.split()

    def open_with(typed: str) -> object:
        if typed:
            out.data.add(typed)  # quoted back in the form: what the tipster typed
        return public.post(page, data={"csrf_token": token, "intent": "open", "phrase": typed})

    out.add("public conversation: empty phrase", open_with(""))
    out.add("public conversation: too few words", open_with(" ".join(words_of[:-1])))
    out.add("public conversation: unknown word", open_with(" ".join([NOT_A_WORD, *words_of[1:]])))
    out.add("public conversation: wrong phrase", open_with(" ".join(reversed(words_of))))
    slots = followup.slots_for(app.config["PORTAL_SETTINGS"])
    with slots.hold(), slots.hold():
        out.add("public conversation: too many at once", open_with(shown))
    out.add(
        "public conversation: phrase turned off",
        public.post(page, data={"csrf_token": token, "intent": "forget", "phrase": "wrong " * 8}),
    )
    assert open_with(shown).status_code == 303
    out.add("public conversation", public.get(page))
    out.add(
        "public conversation: message with errors",
        public.post(page, data={"csrf_token": token, "intent": "send", "links": NOT_A_LINK}),
    )
    out.add(
        "public conversation: receipt of a message",
        public.post(
            page,
            data={
                "csrf_token": token,
                "intent": "send",
                "note": NOTE,
                "files": [
                    (io.BytesIO(jpeg_with_camera_tags()), "photo.jpg"),
                    (io.BytesIO(b"PK\x03\x04" + b"\0" * 200), "archive.zip"),
                ],
            },
            content_type="multipart/form-data",
        ),
    )
    return page


def _render_conversation_both_sides(
    inbox: FlaskClient, public: FlaskClient, page: str, out: Rendered
) -> None:
    """The thread in the inbox with the sender's later message, a reply, the thread
    closed; and the tipster's conversation with that reply, then ended."""
    thread = next(html for name, html in out.pages.items() if re.search(r"/inbox/s/\w+$", name))
    path = re.search(r'action="(/inbox/s/\w+)/reply"', thread)
    assert path, "the thread page offers a reply"
    token = csrf_token(thread)
    inbox.post(f"{path.group(1)}/reply", data={"csrf_token": token, "text": REPLY})
    out.add("inbox thread with a reply", inbox.get(path.group(1)))
    out.add("public conversation with a reply", public.get(page))
    out.add(
        "inbox thread closed",
        inbox.post(f"{path.group(1)}/close", data={"csrf_token": token}, follow_redirects=True),
    )
    out.add("public conversation ended", public.get(page))
    out.add(
        "public conversation: left",
        public.post(
            page,
            data={
                "csrf_token": csrf_token(out.pages["public conversation ended"]),
                "intent": "leave",
            },
            follow_redirects=True,
        ),
    )


def _add_editor(app: Flask) -> None:
    from portal.inbox import accounts

    # running_app installed a cheap hasher; the app's own strength is tested elsewhere.
    with app.app_context():
        new = accounts.add_editor(EDITOR, PASSWORD, ensure_inbox(app))
    app.extensions["test_totp_secret"] = new.totp_secret


def _totp(app: Flask) -> str:
    import pyotp

    return pyotp.TOTP(app.extensions["test_totp_secret"]).now()


def _seed_audit_log() -> None:
    """One event of every kind the audit log knows, so each label is rendered."""
    from portal.inbox import audit

    for action in audit.ACTION_LABELS:
        db.session.add(AuditEvent(editor=EDITOR, action=action, target=""))
    db.session.add(AuditEvent(editor=audit.COMMAND_LINE, action=audit.EDITOR_ADDED, target=EDITOR))
    db.session.commit()


@pytest.fixture(scope="module")
def allowed(pseudo_app: Flask, rendered: Rendered) -> AllowList:
    with pseudo_app.app_context():
        files = db.session.execute(db.select(StoredFile)).scalars().all()
        technical = {value for f in files for value in (f.format, f.extension, f.mime)}
    locales = pseudo_app.extensions["portal_locales"]
    names = set()
    for code in locales:
        names.add(language_name(code))
        shown = Locale.parse(code).get_display_name(PSEUDO) or code
        names.update({shown, shown[:1].upper() + shown[1:]})
    timezone = pseudo_app.config["PORTAL_SETTINGS"].editor_timezone
    return AllowList(
        literals={*USER_DATA, *technical, *names, *rendered.data},
        words=babel_words(PSEUDO, timezone),
    )


# --- the tests -----------------------------------------------------------------------


def test_pseudo_transform_keeps_placeholders_and_tags():
    assert pseudo("Send %(num)s files, 100%% <b>safe</b> {x}") == (
        "[Šéñð %(num)s ƒîļéš, 100%% <b>šåƒé</b> {x}]"
    )
    assert ASCII_LETTER.search(pseudo("Any English sentence at all")) is None


def test_the_checker_finds_an_unmarked_string():
    html = (
        "<html><head><title>[Ţîţļé]</title><style>p{color:red}</style></head><body>"
        '<p>[Ţéẋţ] 12:30</p><p title="Hard-coded">[Öķ]</p><img alt="Logo">'
        '<input type="submit" value="Send"><p>Inbox</p><script>var x="y";</script>'
        '<form data-of="[{sent} öƒ {total}]" data-failed="Failed"></form>'
        "<p>marto 2026</p></body></html>"
    )
    found = untranslated("page", html, AllowList(words={"marto"}))
    assert [f.text for f in found] == ["Hard-coded", "Logo", "Send", "Inbox", "Failed"]


def test_pages_were_rendered_in_the_pseudo_locale(rendered: Rendered):
    expected = {
        "public form",
        "public receipt",
        "public form with validation errors",
        f"GET /{PSEUDO}/safety",  # the safety guide, linked from the form
    }
    assert expected <= set(rendered.pages)
    for name, html in rendered.pages.items():
        assert f'lang="{PSEUDO}"' in html, f"{name} is not in the pseudo-locale"
    assert NOTE not in rendered.pages["public form"]


def test_receipt_and_validation_pages_are_what_they_claim(rendered: Rendered):
    assert "has-error" in rendered.pages["public form with validation errors"]
    receipt = rendered.pages["public receipt"]
    assert 'class="file accepted"' in receipt and 'class="file refused"' in receipt


def test_inbox_pages_were_rendered(rendered: Rendered, pseudo_app: Flask):
    if "inbox" not in pseudo_app.blueprints:
        pytest.skip("this app does not serve the inbox")
    names = " ".join(rendered.pages)
    for page in ("/inbox/s/", "/inbox/audit", "inbox sign-in", "GET /inbox/"):
        assert page in names, f"no {page} page was rendered: {sorted(rendered.pages)}"
    assert any(NOTE in html for name, html in rendered.pages.items() if "/inbox/s/" in name)
    assert 'role="alert"' in rendered.pages["inbox bulk with nothing selected"]
    assert 'role="status"' in rendered.pages["inbox bulk change message"]


def test_every_visible_string_is_translated(rendered: Rendered, allowed: AllowList):
    findings = [
        finding
        for name, html in rendered.pages.items()
        for finding in untranslated(name, html, allowed)
    ]
    unique = list(dict.fromkeys(str(f) for f in findings))
    assert unique == [], (
        f"{len(unique)} strings are shown untranslated (not marked for translation, "
        "or built by hand):\n" + "\n".join(unique)
    )


def test_dates_in_the_pseudo_locale_are_babel_formatted():
    # Guards the allow-list: English month names are not locale data for eo.
    words = babel_words(PSEUDO, "America/Mexico_City")
    assert "March" not in words and "Monday" not in words
    assert date(2026, 3, 2).strftime("%B") not in words
