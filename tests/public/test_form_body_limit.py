"""Only multipart bodies (the tip form with its files) may be large. Werkzeug reads a
form-encoded body whole into memory before anything checks it (its
MAX_FORM_MEMORY_SIZE covers multipart fields only), so with the submission limit
applied to every body type a 150 MB ``application/x-www-form-urlencoded`` POST grew
a worker by about as much. Such bodies are now capped at the form-field limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.public.helpers import csrf_token, post_tip

MB = 1024 * 1024


def _zeros(total: int) -> Iterator[bytes]:
    chunk = b"a" * MB
    for _ in range(total // MB):
        yield chunk


@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_large_form_encoded_body_is_refused_unread(app, client, lang) -> None:
    token = csrf_token(client, lang)
    prefix = f"csrf_token={token}&note=".encode()
    response = client.post(
        f"/{lang}/",
        content_type="application/x-www-form-urlencoded",
        environ_overrides={
            "wsgi.input": _Stream(_zeros(150 * MB), prefix=prefix),
            "CONTENT_LENGTH": str(len(prefix) + 150 * MB),
        },
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert f'<html lang="{lang}' in text
    assert ("Demasiado grande" if lang == "es" else "Too large") in text
    limit = app.config["MAX_FORM_MEMORY_SIZE"]
    assert limit < 1 * MB
    with app.app_context():
        from portal.models import Submission

        assert Submission.query.count() == 0


def test_a_chunked_form_encoded_body_is_cut_at_the_limit(app, client) -> None:
    token = csrf_token(client, "en")
    fed = 0

    def endless() -> Iterator[bytes]:
        nonlocal fed
        yield f"csrf_token={token}&note=".encode()
        while fed < 150 * MB:
            fed += MB
            yield b"a" * MB

    response = client.post(
        "/en/",
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input": _Stream(endless()), "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert fed <= 4 * MB  # read up to the limit (and drained a little), not 150 MB


def test_an_ordinary_form_encoded_note_still_works(app, client) -> None:
    token = csrf_token(client, "en")
    response = client.post(
        "/en/",
        data={"csrf_token": token, "note": "a note sent without files", "homepage": ""},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_multipart_uploads_keep_the_submission_limit(app, client) -> None:
    big = b"\x89PNG" + b"\x00" * (2 * MB)  # over the form-field limit, under the file limit
    response = post_tip(client, "en", note="x", files=[(big, "a.png")])
    assert response.status_code == 200  # received (and refused by the cleaner), not a 413


class _Stream:
    """A file-like body fed from an iterator, read as a WSGI server would."""

    def __init__(self, chunks: Iterator[bytes], prefix: bytes = b"") -> None:
        self._chunks = chunks
        self._buffer = prefix

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
