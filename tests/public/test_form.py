"""The tip form: CSRF, honeypot, validation in both languages, and the receipt."""

from __future__ import annotations

import re
from html import escape, unescape

import pytest

from portal.models import StoredFile, Submission, db
from portal.public.forms import MAX_CONTACT_LENGTH
from tests.cleaning import docgen, hostile, imagegen
from tests.exiftool_oracle import leaks
from tests.inbox_keys import content_of, plaintext_of
from tests.public.helpers import HTML_LANG, png_bytes, post_tip, submission_state, tagged_jpeg


def _count(app) -> int:
    with app.app_context():
        return db.session.query(Submission).count()


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def _size_words(size: int) -> str:
    """A file size as the receipt writes it in both languages (as _text shows it)."""
    return f"{size} bytes" if size < 1000 else f"{size / 1000:.1f}".removesuffix(".0") + " kB"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_form_states_limits_kinds_and_safety_before_upload(make_app, lang):
    client = make_app(max_file_size=3 * 10**6, max_submission_size=7 * 10**6, max_files=4)
    page = _text(client.test_client().get(f"/{lang}/"))
    assert f'<html lang="{HTML_LANG[lang]}"' in page
    form_at = page.index("<form")
    file_input = page.index('type="file"')
    # the limits and the kinds of file come before the file is chosen
    assert page.index("3 MB") < file_input and page.index("7 MB") < file_input
    assert re.search(r"\b4\b", page[form_at:file_input])
    if lang == "en":
        assert "Send photos, videos, notes, links or information. 100% anonymous." in page
        # right under the heading: what anonymity depends on, and the guide
        assert "How anonymous you stay also depends on" in page[:form_at]
        assert "Tor Browser" in page[:form_at]
        assert "work" in page[:form_at]
        assert "JPEG" in page[form_at:file_input] and "PDF" in page[form_at:file_input]
        assert "(optional)" in page and "less anonymous" in page


def test_every_field_has_a_label_and_described_hint(client):
    page = client.get("/en/").get_data(as_text=True)
    for field in ("note", "links", "files", "contact"):
        assert f'<label for="{field}">' in page
        assert f'id="{field}-hint"' in page
        assert re.search(
            rf'<(textarea|input)[^>]*aria-describedby="{field}-hint"[^>]*id="{field}"', page
        )
    assert 'type="file"' in page and " multiple " in page
    assert 'enctype="multipart/form-data"' in page


@pytest.mark.parametrize("lang", ["es", "en"])
def test_post_without_csrf_token_is_a_translated_400_and_files_nothing(app, client, lang):
    client.get(f"/{lang}/")
    response = post_tip(client, lang, note="hello", files=[(png_bytes(), "a.png")], token="")
    assert response.status_code == 400
    assert f'<html lang="{HTML_LANG[lang]}"' in response.get_data(as_text=True)
    assert _count(app) == 0
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


def test_forged_csrf_token_is_refused(app, client):
    client.get("/en/")
    response = post_tip(client, "en", note="hello", token="not-a-real-token")
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_honeypot_files_nothing_and_says_not_why(app, client):
    response = post_tip(
        client, "en", note="hello", files=[(png_bytes(), "a.png")], homepage="http://spam"
    )
    assert response.status_code == 200
    text = _text(response)
    assert "Nothing was saved" in text
    assert "homepage" not in text.lower() and "bot" not in text.lower()
    assert _count(app) == 0
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


def test_honeypot_is_hidden_from_people(client):
    page = client.get("/en/").get_data(as_text=True)
    block = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', page, re.DOTALL).group(0)
    assert 'tabindex="-1"' in block and 'autocomplete="off"' in block
    assert ".hp {" in client.get("/static/css/portal.css").get_data(as_text=True)


CHOOSE_AGAIN = {
    "en": "For your safety, chosen files are not kept when the form has a problem: "
    "please choose them again.",
    "es": "Por tu seguridad, los archivos que elegiste no se conservan cuando el "
    "formulario tiene un problema: vuelve a elegirlos.",
}


def _field_errors(page: str, field: str) -> list[str]:
    block = re.search(rf'<div class="field-error" id="{field}-error">(.*?)</div>', page, re.DOTALL)
    assert block, f"an error message at the {field} field"
    return [
        re.sub(r"\s+", " ", unescape(message)).strip()
        for message in re.findall(r"</span>(.*?)</p>", block.group(1), re.DOTALL)
    ]


def _assert_error_page(response, lang, field, message, *, kept=None):
    """The form comes back in ``lang`` with ``message`` at ``field`` (wired to it by
    aria-describedby) and in the summary, and with everything in ``kept`` still typed."""
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<html lang="{HTML_LANG[lang]}"' in page
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.DOTALL)
    assert summary, "an error summary at the top"
    assert page.index("error-summary") < page.index("<form")
    assert f'href="#{field}">{escape(message)}</a>' in summary.group(0)
    assert message in _field_errors(page, field)
    assert re.search(
        rf'aria-describedby="{field}-hint {field}-error" aria-invalid="true"[^>]*id="{field}"',
        page,
    )
    for name, value in (kept or {}).items():
        assert re.search(rf'id="{name}"[^>]*>\s*{re.escape(escape(value))}</textarea>', page), name
    return page


@pytest.mark.parametrize("lang", ["es", "en"])
def test_empty_submission_is_refused_at_the_note(app, client, lang):
    response = post_tip(client, lang, contact="signal: someone")
    message = {
        "en": "Please write what happened, add a link, or choose at least one file.",
        "es": "Escribe qué pasó, agrega un enlace o elige al menos un archivo.",
    }[lang]
    _assert_error_page(response, lang, "note", message, kept={"contact": "signal: someone"})
    assert _count(app) == 0


@pytest.mark.parametrize("lang", ["es", "en"])
def test_bad_link_keeps_everything_typed_and_asks_for_files_again(app, client, lang):
    links = "https://example.org/a\nnot a link\njavascript:alert(1)"
    response = post_tip(
        client,
        lang,
        note="The truck left at 5 <b>",
        links=links,
        contact="me@example.net",
        files=[(png_bytes(), "a.png")],
    )
    message = {
        "en": "Lines 2 and 3 are not web addresses starting with http:// or https://.",
        "es": "Las líneas 2 y 3 no son direcciones web que empiecen con http:// o https://.",
    }[lang]
    kept = {"note": "The truck left at 5 <b>", "links": links, "contact": "me@example.net"}
    page = _assert_error_page(response, lang, "links", message, kept=kept)
    # files must be chosen again, and it says so at the file field
    assert _field_errors(page, "files") == [CHOOSE_AGAIN[lang]]
    assert _count(app) == 0
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


@pytest.mark.parametrize("lang", ["es", "en"])
def test_note_too_long(make_app, lang):
    app = make_app(max_note_length=100)
    client = app.test_client()
    response = post_tip(client, lang, note="x" * 101, contact="c")
    message = {
        "en": "The note can be at most 100 characters long (it has 101).",
        "es": "La nota puede tener como máximo 100 caracteres (tiene 101).",
    }[lang]
    _assert_error_page(response, lang, "note", message, kept={"note": "x" * 101, "contact": "c"})
    # Browsers send line breaks as CRLF: a note that fits as typed still fits.
    fits = "\n".join(["x" * 9] * 10)  # 99 characters with LF, 108 with CRLF
    response = post_tip(client, lang, note=fits.replace("\n", "\r\n"))
    assert response.status_code == 200
    assert _count(app) == 1


@pytest.mark.parametrize("lang", ["es", "en"])
def test_contact_too_long(app, client, lang):
    contact = "c" * 501
    response = post_tip(client, lang, note="n", contact=contact)
    message = {
        "en": "Field cannot be longer than 500 characters.",
        "es": "El campo no puede tener más de 500 caracteres.",
    }[lang]
    _assert_error_page(response, lang, "contact", message, kept={"note": "n", "contact": contact})
    assert _count(app) == 0


def test_contact_box_stops_typing_at_the_servers_limit(client):
    """The browser's maxlength is the server's MAX_CONTACT_LENGTH, not a copy of it."""
    page = client.get("/en/").get_data(as_text=True)
    box = re.search(r'<textarea[^>]*id="contact"[^>]*>', page)
    assert box, page
    assert f'maxlength="{MAX_CONTACT_LENGTH}"' in box.group(0)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_too_many_files(make_app, lang, monkeypatch):
    from portal.public import uploads

    written = []
    real_init = uploads.TempUpload.__init__

    def spy(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        written.append(self.path)

    monkeypatch.setattr(uploads.TempUpload, "__init__", spy)
    app = make_app(max_files=2)
    client = app.test_client()
    response = post_tip(client, lang, note="n", files=[(png_bytes(), f"{i}.png") for i in range(4)])
    message = {
        "en": "You can send at most 2 files at once. Please send the others in a second tip.",
        "es": "Puedes enviar como máximo 2 archivos a la vez. Envía los demás en otra denuncia.",
    }[lang]
    page = _assert_error_page(response, lang, "files", message, kept={"note": "n"})
    assert _field_errors(page, "files") == [message, CHOOSE_AGAIN[lang]]
    assert len(written) == 2, "files beyond the limit never reach the disk"
    assert not any(p.exists() for p in written)
    assert _count(app) == 0


@pytest.mark.proves("what-you-write")
def test_links_only_and_contact_are_filed_as_text(app, client):
    response = post_tip(
        client,
        "en",
        links=" https://example.org/a \n\nhttp://example.net/b?c=d",
        contact="signal: someone",
    )
    assert response.status_code == 200
    assert "2 links." in _text(response)
    with app.app_context():
        submission = db.session.query(Submission).one()
        content = content_of(app, submission)
        assert content.links == ("https://example.org/a", "http://example.net/b?c=d")
        assert submission.link_count == 2
        assert content.contact == "signal: someone"
        assert submission.locale == "en"
        assert submission.files == []


#: links as people paste them from an app, and how they are filed
PASTED_LINKS = {
    "www.facebook.com/groups/123456/posts/789": "https://www.facebook.com/groups/123456/posts/789",
    "facebook.com/share/v/AbC12": "https://facebook.com/share/v/AbC12",
    "m.youtube.com/watch?v=dQw4w9WgXcQ&t=3": "https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=3",
    "t.me/canal_noticias/42": "https://t.me/canal_noticias/42",
    "WWW.Example.COM.mx": "https://WWW.Example.COM.mx",
    "example.org:8080/a#b": "https://example.org:8080/a#b",
    "https://example.org/kept": "https://example.org/kept",
    "http://example.net/kept": "http://example.net/kept",
}
#: lines that are still not web addresses
NOT_LINKS = [
    "not a link",
    "facebook",
    "tipster@gmail.com",
    "javascript:alert(1)",
    "ftp://example.org/file",
    "12.5",
    "www.facebook.com/a b",
    "-bad-.example.com",
    "example.123",
    "//example.org",
]


def test_links_pasted_without_https_are_filed_as_addresses(app, client):
    response = post_tip(client, "en", links="\n".join(PASTED_LINKS))
    assert response.status_code == 200, _text(response)
    assert f"{len(PASTED_LINKS)} links." in _text(response)
    with app.app_context():
        submission = db.session.query(Submission).one()
        assert list(content_of(app, submission).links) == list(PASTED_LINKS.values())


@pytest.mark.parametrize("line", NOT_LINKS)
def test_what_is_still_not_a_web_address_gets_the_same_message(app, client, line):
    response = post_tip(client, "en", links=f"facebook.com/ok\n{line}")
    message = "Line 2 is not a web address starting with http:// or https://."
    _assert_error_page(response, "en", "links", message)
    assert _count(app) == 0


@pytest.mark.proves("files-cleaned")
def test_receipt_lists_removed_metadata_in_plain_words(app, client, tmp_path):
    jpeg = tagged_jpeg(tmp_path)
    response = post_tip(
        client, "en", note="Photo of the checkpoint", files=[(jpeg, "IMG_2041.jpg")]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    text = _text(response)
    assert "File 1: photo (JPEG)" in text
    for words in (
        "GPS location",
        "camera or phone make and model",
        "author or owner name",
        "dates, such as when the photo was taken",
        "editing software",
    ):
        assert words in text, words
    # The location, the most dangerous, is named first.
    removed = re.search(r'<ul class="removed">(.*?)</ul>', response.get_data(as_text=True), re.S)
    assert removed and re.findall(r"<li>(.*?)</li>", removed.group(1))[0] == "GPS location"
    assert "IMG_2041" not in text
    assert "A note of 23 characters." in text

    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with app.app_context():
        db.session.query(Submission).one()
        stored = db.session.query(StoredFile).one()
        assert stored.kind == "image" and stored.format == "JPEG"
        assert {"gps", "make_model", "author", "dates", "software"} <= set(stored.removed)
        path = tmp_path / "filed.jpg"
        path.write_bytes(plaintext_of(app, stored))
    assert leaks(path) == []
    assert re.fullmatch(r"[0-9a-f]{32}\.age", stored.stored_name)
    assert submission_state(data_dir)[1] == []
    # The size shown is the cleaned copy's, which editors receive.
    assert path.stat().st_size != len(jpeg)
    assert f"File 1: photo (JPEG), {_size_words(path.stat().st_size)}" in text


def test_receipt_shows_the_format_and_size_editors_receive(app, client):
    heic = imagegen.heic_bytes((640, 480), exif=imagegen.identifying_exif())
    response = post_tip(client, "es", files=[(heic, "IMG_0001.HEIC")])
    assert response.status_code == 200
    with app.app_context():
        stored = db.session.query(StoredFile).one()
        filed = plaintext_of(app, stored)
    assert filed[:3] == b"\xff\xd8\xff"  # a HEIC photo is filed as a JPEG
    assert f"Archivo 1: foto (JPEG), {_size_words(len(filed))}" in _text(response)
    assert "HEIC" not in _text(response).split("Tus archivos", 1)[1]


def test_receipt_names_dates_for_what_the_file_is(app, client, tmp_path):
    pdf = tmp_path / "informe.pdf"
    docgen.dirty_pdf(pdf)
    response = post_tip(client, "en", files=[(pdf.read_bytes(), "informe.pdf")])
    text = _text(response)
    assert "File 1: document (PDF)" in text
    assert "dates, such as when the document was created or last changed" in text
    assert "photo was taken" not in text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"MZ\x90\x00\x03" + bytes(200), "Programs and scripts are not accepted."),
        (b"<!doctype html><html><script>alert(1)</script></html>", "Web pages, SVG drawings"),
        (b"PK\x03\x04" + bytes(100), "Compressed archives"),  # the tipster's words
    ],
)
@pytest.mark.proves("refused-not-kept")
def test_refused_file_is_explained_and_the_rest_is_filed(app, client, content, reason):
    response = post_tip(
        client,
        "en",
        note="see files",
        files=[(png_bytes(), "ok.png"), (content, "evil.txt")],
    )
    assert response.status_code == 200
    text = _text(response)
    assert "Thank you. Your tip was received." in text
    assert "File 1: photo (PNG)" in text
    assert f"File 2, {len(content)} bytes: not accepted." in text
    assert reason in text
    assert "screenshot" in text
    # Not even part of a name is echoed. The CSRF token is left out of the search:
    # its random signature could hold "evil" by chance.
    unsigned = re.sub(r'<input[^>]*name="csrf_token"[^>]*>', "", text)
    assert "csrf_token" not in unsigned
    assert "evil" not in unsigned and "ok.png" not in unsigned
    with app.app_context():
        submission = db.session.query(Submission).one()
        assert len(submission.files) == 1
        assert len(submission.refused) == 1
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir)[1] == []


@pytest.mark.proves("refused-not-kept")
def test_only_refused_files_and_nothing_else_files_nothing(app, client):
    response = post_tip(client, "en", files=[(b"\x7fELF" + bytes(64), "x")])
    assert response.status_code == 200
    text = _text(response)
    assert "Nothing was saved" in text
    assert "Programs and scripts are not accepted." in text
    assert _count(app) == 0
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


@pytest.mark.parametrize("lang", ["es", "en"])
def test_receipt_is_in_the_tipsters_language_with_local_number_format(make_app, lang):
    client = make_app().test_client()
    note = "x" * 1234
    response = post_tip(client, lang, note=note, files=[(png_bytes((300, 300)), "a.png")])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{HTML_LANG[lang]}"' in page
    # Mexico writes thousands as English does (Spain would write "1234" or "1.234").
    assert "A note of 1,234 characters." in _text(response) or "Una nota de 1,234 caracteres." in (
        _text(response)
    )
    # the receipt has no address of its own: it is the POST's response, and it
    # is not stored anywhere a later GET could find it
    assert client.get(f"/{lang}/").get_data(as_text=True).count("1,234") == 0


RECEIPT_WORDS = {
    "en": [
        "Thank you. Your tip was received.",
        "2 files. 1 of them was not accepted.",
        "GPS location",
        "camera or phone make and model",
        "author or owner name",
        "File 2, 102 bytes: not accepted.",
        "Programs and scripts are not accepted.",
    ],
    "es": [
        "Gracias. Recibimos tu denuncia.",
        "2 archivos. 1 de ellos no se aceptó.",
        "ubicación GPS",
        "marca y modelo de la cámara o el celular",
        "nombre del autor o del dueño",
        "Archivo 2, 102 bytes: no se aceptó.",
        "No se aceptan programas ni scripts.",
    ],
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_receipt_with_removed_metadata_and_a_refused_file_in_each_language(
    make_app, tmp_path, lang
):
    client = make_app().test_client()
    jpeg = tagged_jpeg(tmp_path)
    response = post_tip(
        client, lang, note="n", files=[(jpeg, "IMG_1.jpg"), (b"MZ" + bytes(100), "x.exe")]
    )
    assert response.status_code == 200
    text = _text(response)
    for words in RECEIPT_WORDS[lang]:
        assert words in text, words
    # Both languages write a decimal point (Mexican Spanish, not Spain's comma).
    kind = "Archivo 1: foto" if lang == "es" else "File 1: photo"
    assert re.search(rf"{kind} \(JPEG\), (\d+(\.\d)? kB|\d+ bytes)", text)


_FIELD_AND_SCRIPT_WORDS = {
    "en": [
        "names of files and folders on the computer that made the file",
        "scripts and actions that run when the file is opened",
        "author or owner name",
    ],
    "es": [
        "nombres de archivos y carpetas de la computadora en la que se hizo el archivo",
        "scripts y acciones que se ejecutan al abrir el archivo",
    ],
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_receipt_names_removed_fields_paths_and_scripts(make_app, tmp_path, lang):
    """A document's fields that held the author's name and a path, and a PDF's
    scripts and actions, are on the receipt in the tipster's language."""
    docx, pdf = tmp_path / "carta.docx", tmp_path / "informe.pdf"
    hostile.fields_docx(docx)
    hostile.actions_pdf(pdf)
    client = make_app().test_client()
    response = post_tip(
        client,
        lang,
        note="n",
        files=[(docx.read_bytes(), "carta.docx"), (pdf.read_bytes(), "informe.pdf")],
    )
    assert response.status_code == 200
    text = _text(response)
    for words in _FIELD_AND_SCRIPT_WORDS[lang]:
        assert words in text, words


INVISIBLE_NOTICE = {
    "en": "We removed invisible characters from the note, the links, and the way to contact you.",
    "es": "Quitamos caracteres invisibles de la nota, los enlaces y la forma de contactarte.",
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_invisible_characters_leave_every_typed_field_and_the_receipt_says_so(app, client, lang):
    """A passage pasted from a leaked document may carry its reader's mark."""
    mark = "\u200b\u200c\u200d\u2060\ufeff\u202e\u2066\U000e0041"
    response = post_tip(
        client,
        lang,
        note=f"El cami{mark}ón pasa\u200b el martes",
        links=f"https://example.org/a{mark}\nhttps://exa\u200bmple.net/b",
        contact=f"signal:\u2067 someone{mark}",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert INVISIBLE_NOTICE[lang] in _text(response)
    with app.app_context():
        filed = content_of(app, db.session.query(Submission).one())
        assert filed.note == "El camión pasa el martes"
        assert list(filed.links) == ["https://example.org/a", "https://example.net/b"]
        assert filed.contact == "signal: someone"


def test_no_notice_when_nothing_invisible_was_typed(app, client):
    response = post_tip(client, "en", note="Camión — «cruce» 😀", contact="x\u00a0y")
    assert response.status_code == 200
    assert "invisible" not in _text(response)
    with app.app_context():
        assert content_of(app, db.session.query(Submission).one()).contact == "x y"


ALTERED_WORDS = {
    "en": ["The sound could not be copied as it was", "it may sound slightly different"],
    "es": ["El sonido no se pudo copiar tal como estaba", "puede sonar un poco distinto"],
}


@pytest.mark.parametrize("lang", ["es", "en"])
def test_receipt_says_when_a_stream_was_re_encoded(make_app, lang):
    """A playable phone video is no longer refused: when a stream cannot be copied
    it is converted, and the tipster is told."""
    from flask import render_template

    from portal.cleaning import Alteration, Cleaned, Kind
    from portal.public.filing import FileOutcome, FilingResult

    app = make_app()
    converted = Cleaned(
        Kind.AUDIO, "M4A", "audio/mp4", "m4a", altered=frozenset({Alteration.AUDIO_REENCODED})
    )
    copied = Cleaned(Kind.AUDIO, "3GP", "audio/3gpp", "3gp")
    result = FilingResult(
        True,
        (
            FileOutcome(1, 3000, converted, cleaned_size=2900),
            FileOutcome(2, 3000, copied, cleaned_size=2900),
        ),
    )
    with app.test_request_context(f"/{lang}/"):
        app.preprocess_request()  # the language, from the URL, as a request sets it
        page = render_template(
            "public/receipt.html",
            result=result,
            note_length=0,
            link_count=0,
            gave_contact=False,
            invisible_fields="",
        )
    text = unescape(re.sub(r"\s+", " ", page))
    for words in ALTERED_WORDS[lang]:
        assert text.count(words) == 1, words  # the first file only
