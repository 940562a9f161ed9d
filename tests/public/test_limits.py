"""Size and count limits, enforced while the body streams in."""

from __future__ import annotations

import io
import os
import re
import tracemalloc
from html import unescape

import pytest

from portal.models import Submission, db
from portal.public import views
from tests.public.helpers import HTML_LANG, csrf_token, multipart, png_bytes, submission_state

KB = 1000
MB = 1000 * KB


class CountingStream(io.RawIOBase):
    """A request body that remembers how much of it the app has read."""

    def __init__(self, data_or_file) -> None:
        self._inner = io.BytesIO(data_or_file) if isinstance(data_or_file, bytes) else data_or_file
        self.read_so_far = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._inner.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def readinto(self, buffer) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self.read_so_far += len(data)
        return len(data)


def _post_body(client, lang, body, content_type):
    stream = CountingStream(body)
    response = client.post(
        f"/{lang}/",
        input_stream=stream,
        content_type=content_type,
        content_length=len(body),
    )
    return response, stream


LIMIT_SENTENCES = {
    "en": [
        "Each file can be up to 200\u00a0kB.",
        "Everything sent together can be up to 1\u00a0MB.",
        "Up to 3 files at once.",
    ],
    "es": [
        "Cada archivo puede pesar hasta 200\u00a0kB.",
        "Todo lo que envíes junto puede pesar hasta 1\u00a0MB.",
        "Hasta 3 archivos a la vez.",
    ],
}


def _assert_names_the_limits(page: str, lang: str) -> None:
    """The friendly 413 page, in the tipster's language, states the three limits."""
    assert f'<html lang="{HTML_LANG[lang]}"' in page
    assert "Request Entity Too Large" not in page
    items = [unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", page, re.DOTALL)]
    for sentence in LIMIT_SENTENCES[lang]:
        assert sentence in items, sentence


@pytest.fixture
def small(make_app):
    return make_app(max_file_size=200 * KB, max_submission_size=1 * MB, max_files=3)


def _spy_on_drain(monkeypatch, stream_holder: list):
    """Record how much of the body had been read when the limit was hit."""
    seen: list[int] = []
    real_drain = views.drain

    def recording_drain(request, limit):
        seen.append(stream_holder[0].read_so_far)
        return real_drain(request, limit)

    monkeypatch.setattr(views, "drain", recording_drain)
    return seen


@pytest.mark.parametrize("lang", ["es", "en"])
def test_file_over_its_limit_is_stopped_while_streaming(small, monkeypatch, lang):
    client = small.test_client()
    token = csrf_token(client, lang)
    big = os.urandom(200 * KB + 1)
    tail = "y" * (600 * KB)  # a field after the file: the body goes on well past it
    body, ctype = multipart(
        [("csrf_token", token), ("note", "hello")],
        [("files", big, "big.bin")],
        after=[("links", tail)],
    )
    assert len(body) < 1 * MB

    stream = CountingStream(body)
    seen = _spy_on_drain(monkeypatch, [stream])
    response = client.post(
        f"/{lang}/", input_stream=stream, content_type=ctype, content_length=len(body)
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[lang]}"' in page
    _assert_names_the_limits(page, lang)
    # Detected just past the file's limit, long before the body's end (the
    # multipart parser reads 64 KiB at a time)...
    assert seen and seen[0] < 200 * KB + 2 * 64 * 1024 < len(body)
    # ...then the rest was read and thrown away so the client sees this page.
    assert stream.read_so_far == len(body)
    with small.app_context():
        assert db.session.query(Submission).count() == 0
    assert submission_state(small.config["PORTAL_SETTINGS"].data_dir) == ([], [])


@pytest.mark.parametrize("lang", ["es", "en"])
def test_submission_over_its_limit_is_refused_before_reading(small, monkeypatch, lang):
    client = small.test_client()
    token = csrf_token(client, lang)
    files = [("files", os.urandom(190 * KB), f"{i}.bin") for i in range(3)]
    body, ctype = multipart([("csrf_token", token), ("note", "x" * (500 * KB))], files)
    assert 1 * MB < len(body) < 2 * MB
    stream = CountingStream(body)
    seen = _spy_on_drain(monkeypatch, [stream])
    response = client.post(
        f"/{lang}/", input_stream=stream, content_type=ctype, content_length=len(body)
    )
    assert response.status_code == 413
    _assert_names_the_limits(response.get_data(as_text=True), lang)
    assert seen == [0], "refused on the declared length, before any byte was read"
    assert stream.read_so_far == len(body)  # drained: within twice the limit
    assert submission_state(small.config["PORTAL_SETTINGS"].data_dir) == ([], [])


def test_body_far_over_the_limit_is_not_drained(small):
    client = small.test_client()
    body = b"x" * (3 * MB)
    stream = CountingStream(body)
    response = client.post(
        "/en/",
        input_stream=stream,
        content_type="multipart/form-data; boundary=zzz",
        content_length=len(body),
    )
    assert response.status_code == 413
    assert stream.read_so_far == 0


@pytest.mark.parametrize("lang", ["es", "en"])
def test_submission_limit_counts_while_streaming_without_declared_length(small, lang):
    """A chunked body has no Content-Length; the limit is counted as it arrives.

    Only file parts, each under the file limit and no text field near the form-memory
    cap, so nothing but the submission limit can stop this body."""
    client = small.test_client()
    token = csrf_token(client, lang)
    files = [("files", os.urandom(190 * KB), f"{i}.bin") for i in range(15)]
    body, ctype = multipart([("csrf_token", token), ("note", "n")], files)
    assert len(body) > 2.5 * MB
    stream = CountingStream(body)
    response = client.post(
        f"/{lang}/",
        input_stream=stream,
        content_type=ctype,
        environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert response.status_code == 413
    _assert_names_the_limits(response.get_data(as_text=True), lang)
    # Stopped at the limit, not before it and not at the body's end.
    assert 1 * MB <= stream.read_so_far <= 1 * MB + 64 * 1024
    assert submission_state(small.config["PORTAL_SETTINGS"].data_dir) == ([], [])


def test_file_at_exactly_the_limit_is_accepted(make_app):
    app = make_app(max_file_size=len(png_bytes((64, 64))))
    client = app.test_client()
    token = csrf_token(client)
    body, ctype = multipart(
        [("csrf_token", token), ("note", "")], [("files", png_bytes((64, 64)), "a.png")]
    )
    response, _ = _post_body(client, "en", body, ctype)
    assert response.status_code == 200
    assert "File 1: photo (PNG)" in response.get_data(as_text=True)


def test_empty_file_inputs_are_not_files(app, client):
    """Browsers send an empty part for a file input left empty."""
    token = csrf_token(client)
    body, ctype = multipart([("csrf_token", token), ("note", "only text")], [("files", b"", "")])
    response, _ = _post_body(client, "en", body, ctype)
    assert response.status_code == 200
    assert (
        "file"
        not in re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
        .split("What we received")[1]
        .split("What now")[0]
        .lower()
    )


def test_upload_is_not_held_in_memory(make_app, tmp_path):
    """A 48 MB file goes through the app with Python allocating a small fraction of it."""
    app = make_app(max_file_size=64 * MB, max_submission_size=64 * MB)
    client = app.test_client()
    token = csrf_token(client)
    head, ctype = multipart(
        [("csrf_token", token), ("note", "big one")], [("files", b"@", "v.bin")]
    )
    before, after = head.split(b"@")
    source = tmp_path / "body"
    with open(source, "wb") as fh:
        fh.write(before)
        for _ in range(48):
            fh.write(os.urandom(MB))
        fh.write(after)
    size = source.stat().st_size
    with open(source, "rb") as fh:
        tracemalloc.start()
        try:
            response = client.post("/en/", input_stream=fh, content_type=ctype, content_length=size)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 200
    assert "not accepted" in response.get_data(as_text=True)  # random bytes: refused
    assert peak < 8 * MB, peak
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir)[1] == []
