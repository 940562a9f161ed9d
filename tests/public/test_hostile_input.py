"""Hostile and malformed requests to the tipster side: each gets a translated 4xx page
(or the form again), never a 500, and nothing is filed or left under tmp/."""

from __future__ import annotations

import io

import pytest

from portal.models import Submission, db
from tests.inbox_keys import content_of
from tests.public.helpers import HTML_LANG, csrf_token, multipart, png_bytes, submission_state


@pytest.fixture
def app(make_app):
    return make_app(max_file_size=200_000, max_submission_size=1_000_000, max_files=3)


def _nothing_filed(app) -> None:
    with app.app_context():
        assert db.session.query(Submission).count() == 0
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


def _translated_4xx(response, lang: str = "es") -> str:
    assert 400 <= response.status_code < 500, response.status_code
    text = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[lang]}"' in text
    assert response.headers["Cache-Control"] == "no-store"
    return text


def _raw(client, body: bytes, content_type: str, lang: str = "es", **kwargs):
    return client.post(
        f"/{lang}/",
        input_stream=io.BytesIO(body),
        content_type=content_type,
        # The test client recomputes Content-Length from a seekable body: to lie about
        # it, the header goes straight into the environ.
        environ_overrides={"CONTENT_LENGTH": str(kwargs.pop("content_length", len(body)))},
        **kwargs,
    )


def _fields(token: str, note: str = "a note") -> list[tuple[str, str]]:
    return [("csrf_token", token), ("note", note), ("links", ""), ("contact", "")]


def _part(boundary: str, headers: str, value: bytes) -> bytes:
    return f"--{boundary}\r\n{headers}\r\n\r\n".encode() + value + b"\r\n"


BOUNDARY = "hostileboundary1234"
CT = f"multipart/form-data; boundary={BOUNDARY}"


def _body(token: str, *parts: bytes, end: bool = True) -> bytes:
    head = _part(BOUNDARY, 'Content-Disposition: form-data; name="csrf_token"', token.encode())
    return head + b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


def _form_part(name: str, value: bytes, *, filename: str | None = None, extra: str = "") -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return _part(BOUNDARY, disposition + extra, value)


def _send(app, *parts: bytes):
    """POST the CSRF token and ``parts`` to /es/ from a fresh client."""
    client = app.test_client()
    return _raw(client, _body(csrf_token(client, "es"), *parts), CT)


FILE_PART = _part(
    BOUNDARY,
    'Content-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png',
    png_bytes(),
)


def test_multipart_without_boundary(app):
    client = app.test_client()
    body, _ = multipart(_fields(csrf_token(client, "es")), [("files", png_bytes(), "a.png")])
    _translated_4xx(_raw(client, body, "multipart/form-data"))
    _nothing_filed(app)


def test_truncated_body_files_nothing(app):
    client = app.test_client()
    body = _body(csrf_token(client, "es"), FILE_PART, end=False)
    _translated_4xx(_raw(client, body[: len(body) - 40], CT))
    _nothing_filed(app)


def test_content_length_longer_than_the_body_is_a_disconnect(app):
    client = app.test_client()
    body = _body(csrf_token(client, "es"), FILE_PART, end=False)
    _translated_4xx(_raw(client, body, CT, content_length=len(body) + 5000))
    _nothing_filed(app)


def test_content_length_shorter_than_the_body(app):
    client = app.test_client()
    body = _body(csrf_token(client, "es"), FILE_PART)
    _translated_4xx(_raw(client, body, CT, content_length=len(body) // 2))
    _nothing_filed(app)


def test_chunked_without_content_length_and_no_terminated_input(app):
    client = app.test_client()
    body = _body(csrf_token(client, "es"), FILE_PART)
    response = client.post(
        "/es/",
        input_stream=io.BytesIO(body),
        content_type=CT,
        headers={"Transfer-Encoding": "chunked"},
    )
    _translated_4xx(response)
    _nothing_filed(app)


def test_huge_part_headers(app):
    huge = "X-Padding: " + "a" * 2_000_000
    _translated_4xx(_send(app, _form_part("note", b"x", extra=f"\r\n{huge}")))
    _nothing_filed(app)


def test_part_with_no_name(app):
    part = _part(BOUNDARY, "Content-Disposition: form-data", b"nameless")
    # No note, link or file: the form comes back asking for one.
    _translated_4xx(_send(app, part))
    _nothing_filed(app)


@pytest.mark.parametrize(
    "filename",
    ["../../etc/passwd", "a\x00b.png", "x" * 5000 + ".png", "..\\..\\boot.ini", "/", "."],
)
def test_file_name_tricks_never_shape_a_path(app, filename):
    response = _send(
        app, _form_part("note", b"n"), _form_part("files", png_bytes(), filename=filename)
    )
    assert response.status_code == 200
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    folders, stray = submission_state(data_dir)
    assert stray == []
    stored = [p.name for p in (data_dir / "submissions" / folders[0]).iterdir()]
    assert len(stored) == 2  # the picture and its thumbnail
    assert not any("passwd" in name or "xxx" in name for name in stored)
    assert not (data_dir.parent / "etc").exists()


def test_non_utf8_field_values(app):
    _translated_4xx(_send(app, _form_part("links", b"\xff\xfe http://x")))
    _nothing_filed(app)


def test_duplicate_note_fields_file_one_note(app):
    assert (
        _send(app, _form_part("note", b"first"), _form_part("note", b"second")).status_code == 200
    )
    with app.app_context():
        assert content_of(app, db.session.query(Submission).one()).note == "first"


@pytest.mark.parametrize("name", ["note", "links", "contact", "homepage", "csrf_token"])
def test_text_field_sent_as_a_file(app, name):
    _translated_4xx(_send(app, _form_part(name, b"sent as a file", filename="x.txt")))
    _nothing_filed(app)


def test_file_sent_under_another_name_is_not_filed_as_a_file(app):
    stray = _form_part("other", png_bytes(), filename="a.png")
    assert _send(app, _form_part("note", b"n"), stray).status_code == 200
    with app.app_context():
        assert db.session.query(Submission).one().files == []
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir)[1] == []


def test_file_field_sent_as_a_text_field(app):
    _translated_4xx(_send(app, _form_part("files", b"not a file")))
    _nothing_filed(app)


def test_urlencoded_post_without_token(app):
    response = app.test_client().post("/es/", data="note=hola", content_type="text/plain")
    _translated_4xx(response)
    _nothing_filed(app)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_methods(app, method):
    client = app.test_client()
    body, content_type = multipart([("note", "n")], [("files", png_bytes(), "a.png")])
    response = client.open("/es/", method=method, data=body, content_type=content_type)
    assert response.status_code == 405
    _translated_4xx(response)
    assert response.headers.get("Set-Cookie") is None
    _nothing_filed(app)


def test_post_with_files_to_the_root_and_static(app):
    client = app.test_client()
    body, content_type = multipart([("note", "n")], [("files", png_bytes(), "a.png")])
    for url in ("/", "/static/css/portal.css"):
        response = client.post(url, data=body, content_type=content_type)
        assert response.status_code == 405
    _nothing_filed(app)


def test_head_and_options(app):
    client = app.test_client()
    head = client.head("/es/")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Cache-Control"] == "no-store"
    options = client.options("/es/")
    assert options.status_code == 200
    assert options.headers["Cache-Control"] == "no-store"
    assert options.headers.get("Set-Cookie") is None


@pytest.mark.parametrize(
    "url",
    ["/ES/", "/es-MX/", "/es_MX/", "/" + "e" * 5000 + "/", "/%00/", "/es%2F..%2F/", "/..%2Fes/"],
)
def test_weird_language_codes_are_a_404_page(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 404
    assert "<html lang=" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("Set-Cookie") is None


#: URLs with dot segments a browser would resolve before sending (a raw client need
#: not): the portal does not resolve them either, and answers with a 404 page in the
#: language of the URL's first segment.
DOT_SEGMENTS = {
    "/es/../en/": (404, "es"),
    "/es/./": (404, "es"),
    "/es/..": (404, "es"),
    "/en/%2e%2e/es/": (404, "en"),
    "/en/%2E%2E/%2E%2E/portal/__init__.py": (404, "en"),
}


def test_dot_segments_and_query_strings(app):
    client = app.test_client()
    for url, (status, lang) in DOT_SEGMENTS.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert f'<html lang="{HTML_LANG[lang]}"' in response.get_data(as_text=True), url
    # A query string changes nothing: not the language, not the page, and nothing of
    # it is echoed into the page.
    response = client.get("/es/?lang=en&note=<script>&x=" + "y" * 5000)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG["es"]}"' in page
    assert "<script>" not in page.split("</head>")[1].replace('<script src="/static/', "")
    assert "yyyyy" not in page


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JAVASCRIPT://x.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "//example.com/x",
        "http://",
        "https://exa mple.com/",
        "http://[::1",
        "http://example.com:99999/",
        "https://example.com/" + "a" * 2100,
        "https://example.com/\x07",
    ],
)
def test_links_that_are_not_web_addresses_are_refused(app, link):
    client = app.test_client()
    body, content_type = multipart([("csrf_token", csrf_token(client, "es")), ("links", link)])
    response = client.post("/es/", data=body, content_type=content_type)
    assert response.status_code == 422
    _nothing_filed(app)


def test_unicode_links_are_stored_as_text_only(app):
    client = app.test_client()
    spoof = "\u0430\u0440\u0440\u04cf\u0435"  # Cyrillic letters that look like "apple"
    links = f"https://{spoof}.com/\nhttps://example.com/\u202egnp.exe\nhttps://ex.com@evil.example/"
    body, content_type = multipart(
        [("csrf_token", csrf_token(client, "es")), ("note", ""), ("links", links)]
    )
    response = client.post("/es/", data=body, content_type=content_type)
    assert response.status_code == 200
    assert spoof not in response.get_data(as_text=True)  # the receipt does not echo
    with app.app_context():
        # Kept as typed, less the right-to-left override that disguised "exe.png"
        # (invisible characters leave every typed field).
        filed = content_of(app, db.session.query(Submission).one())
        assert "\n".join(filed.links) == links.replace("\u202e", "")


def test_nul_characters_are_dropped_from_text(app):
    """PostgreSQL (a supported database) refuses NUL in text: a note carrying one
    would fail at commit and the whole tip be lost."""
    client = app.test_client()
    body, content_type = multipart(
        [("csrf_token", csrf_token(client, "es")), ("note", "a\x00b"), ("contact", "c\x00d")]
    )
    assert client.post("/es/", data=body, content_type=content_type).status_code == 200
    with app.app_context():
        content = content_of(app, db.session.query(Submission).one())
        assert (content.note, content.contact) == ("ab", "cd")
