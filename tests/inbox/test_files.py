"""Tipsters' files served to editors: attachment or (media only) inline, the sniffed
type and never an executable one, nosniff and a sandboxing CSP on every response, and
a zip of all files with generated names and fixed dates."""

from __future__ import annotations

import io
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import parse_options_header

from portal.inbox.files import ZIP_DATE, safe_mime
from tests.headers import assert_file_headers
from tests.inbox.helpers import (
    FileSpec,
    MakeSubmission,
    jpeg_bytes,
    jpeg_file,
    pdf_file,
    wav_file,
)


def assert_safe_headers(response, disposition: str, mime: str) -> None:
    assert_file_headers(response)
    kind, options = parse_options_header(response.headers["Content-Disposition"])
    assert kind == disposition
    assert options["filename"].startswith(("file-", "submission-"))
    assert response.mimetype == mime
    assert "html" not in response.headers["Content-Type"]


@pytest.fixture
def filed(make_submission: MakeSubmission, mp4_bytes: bytes):
    return make_submission(
        files=[
            jpeg_file(),
            FileSpec(mp4_bytes, "video", "MP4", "video/mp4", "mp4"),
            wav_file(),
            pdf_file(),
        ]
    )


def test_downloads_are_attachments_with_the_sniffed_type(signed_in: FlaskClient, filed) -> None:
    expected = [
        ("image/jpeg", "file-1.jpg"),
        ("video/mp4", "file-2.mp4"),
        ("audio/wav", "file-3.wav"),
        ("application/pdf", "file-4.pdf"),
    ]
    for (mime, name), file_id in zip(expected, filed.file_ids, strict=True):
        response = signed_in.get(f"/inbox/s/{filed.id}/f/{file_id}")
        assert response.status_code == 200
        assert_safe_headers(response, "attachment", mime)
        assert parse_options_header(response.headers["Content-Disposition"])[1]["filename"] == name
        assert response.data == filed.plain[file_id]


def test_inline_only_for_images_video_and_audio(signed_in: FlaskClient, filed) -> None:
    for file_id, mime in zip(
        filed.file_ids[:3], ("image/jpeg", "video/mp4", "audio/wav"), strict=True
    ):
        response = signed_in.get(f"/inbox/s/{filed.id}/f/{file_id}/inline")
        assert response.status_code == 200
        assert_safe_headers(response, "inline", mime)
    assert signed_in.get(f"/inbox/s/{filed.id}/f/{filed.file_ids[3]}/inline").status_code == 404


def file_urls(filed) -> dict[str, tuple[str, str, str]]:
    """Every file endpoint of the fixture's submission: URL, disposition, type."""
    base = f"/inbox/s/{filed.id}"
    return {
        "download": (f"{base}/f/{filed.file_ids[0]}", "attachment", "image/jpeg"),
        "image": (f"{base}/f/{filed.file_ids[0]}/inline", "inline", "image/jpeg"),
        "thumbnail": (f"{base}/f/{filed.file_ids[0]}/thumbnail", "inline", "image/jpeg"),
        "player": (f"{base}/f/{filed.file_ids[1]}/inline", "inline", "video/mp4"),
        "document": (f"{base}/f/{filed.file_ids[3]}", "attachment", "application/pdf"),
        "zip": (f"{base}/files.zip", "attachment", "application/zip"),
    }


ENDPOINTS = ("download", "image", "thumbnail", "player", "document", "zip")
#: made in memory on each request: no byte ranges, no validators to answer 304 to
GENERATED = ("thumbnail", "zip")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_head_and_range_answers_carry_the_safe_headers(
    signed_in: FlaskClient, filed, endpoint: str
) -> None:
    url, disposition, mime = file_urls(filed)[endpoint]
    head = signed_in.head(url)
    assert head.status_code == 200 and head.data == b""
    assert_safe_headers(head, disposition, mime)
    ranged = signed_in.get(url, headers={"Range": "bytes=0-99"})
    full = signed_in.get(url).data
    if endpoint in GENERATED:
        assert ranged.status_code == 200  # no ranges: the whole answer
    else:
        assert ranged.status_code == 206 and ranged.data == full[:100]
        assert ranged.headers["Content-Range"] == f"bytes 0-99/{len(full)}"
    assert_safe_headers(ranged, disposition, mime)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e not in GENERATED])
def test_not_modified_answers_carry_the_safe_headers(
    signed_in: FlaskClient, filed, endpoint: str
) -> None:
    url, disposition, _mime = file_urls(filed)[endpoint]
    first = signed_in.get(url)
    again = signed_in.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert_file_headers(again, "304 after If-None-Match")
    assert parse_options_header(again.headers["Content-Disposition"])[0] == disposition
    later = signed_in.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert later.status_code == 304
    assert_file_headers(later, "304 after If-Modified-Since")


@pytest.mark.parametrize(
    "claimed",
    ["text/html", "TEXT/HTML; charset=utf-8", "image/svg+xml", "application/xhtml+xml",
     "text/javascript", "application/xml", "", "nonsense", "text/html\r\nX-Evil: 1"],
)  # fmt: skip
def test_a_dangerous_recorded_type_is_never_served(
    signed_in: FlaskClient, make_submission: MakeSubmission, claimed: str
) -> None:
    # Defence in depth: the cleaner never records these, but if a row said so anyway...
    filed = make_submission(
        files=[FileSpec(b"<html><script>alert(1)</script>", "image", "X", claimed, "htm")]
    )
    url = f"/inbox/s/{filed.id}/f/{filed.file_ids[0]}"
    response = signed_in.get(url)
    assert_safe_headers(response, "attachment", "application/octet-stream")
    assert signed_in.get(url + "/inline").status_code == 404


def test_safe_mime_keeps_ordinary_types() -> None:
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for mime in ("image/jpeg", "video/mp4", "audio/mpeg", "application/pdf", "text/plain", docx):
        assert safe_mime(mime) == mime


def test_files_of_another_submission_or_missing_are_404(
    signed_in: FlaskClient, filed, make_submission: MakeSubmission
) -> None:
    other = make_submission(files=[jpeg_file()])
    assert signed_in.get(f"/inbox/s/{other.id}/f/{filed.file_ids[0]}").status_code == 404
    assert signed_in.get(f"/inbox/s/{filed.id}/f/{'0' * 32}").status_code == 404
    assert signed_in.get(f"/inbox/s/{filed.id}/f/..%2F..%2Fsecret_key").status_code == 404
    for path in other.folder.iterdir():
        path.unlink()
    assert signed_in.get(f"/inbox/s/{other.id}/f/{other.file_ids[0]}").status_code == 404
    assert signed_in.get(f"/inbox/s/{other.id}/files.zip").status_code == 404
    empty = make_submission()
    assert signed_in.get(f"/inbox/s/{empty.id}/files.zip").status_code == 404


def test_zip_holds_every_file_under_generated_names_with_fixed_dates(
    signed_in: FlaskClient, filed
) -> None:
    response = signed_in.get(f"/inbox/s/{filed.id}/files.zip")
    assert response.status_code == 200
    assert response.is_streamed
    assert_safe_headers(response, "attachment", "application/zip")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    infos = archive.infolist()
    assert [i.filename for i in infos] == ["file-1.jpg", "file-2.mp4", "file-3.wav", "file-4.pdf"]
    for info, file_id in zip(infos, filed.file_ids, strict=True):
        assert archive.read(info) == filed.plain[file_id]
        assert info.date_time == ZIP_DATE
        assert info.extra == b""  # no extended timestamps or owner ids
        assert info.comment == b""
    assert archive.comment == b""


def test_zip_is_the_same_for_the_same_files(signed_in: FlaskClient, filed) -> None:
    first = signed_in.get(f"/inbox/s/{filed.id}/files.zip").data
    second = signed_in.get(f"/inbox/s/{filed.id}/files.zip").data
    assert first == second


def test_files_need_a_signed_in_editor(inbox_app: Flask, make_submission: MakeSubmission) -> None:
    filed = make_submission(files=[FileSpec(jpeg_bytes(), "image", "JPEG", "image/jpeg", "jpg")])
    client = inbox_app.test_client()
    for path in (
        f"/inbox/s/{filed.id}/f/{filed.file_ids[0]}",
        f"/inbox/s/{filed.id}/f/{filed.file_ids[0]}/inline",
        f"/inbox/s/{filed.id}/files.zip",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/inbox/login")
