"""A full disk (ENOSPC) at each step of receiving and filing a tip: the tipster reads an
honest translated page (503, not a crash), nothing is half-filed and no temporary
original is left behind."""

from __future__ import annotations

import errno
import os

import pytest

from portal.cleaning import png, registry
from portal.models import Submission, db
from portal.public import filing, uploads
from tests.public.helpers import HTML_LANG, png_bytes, post_tip, submission_state


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _assert_honest_and_nothing_kept(app, response, lang: str) -> None:
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert f'<html lang="{HTML_LANG[lang]}"' in text
    expected = {
        "en": "Nothing was saved: not the note, not the links, not the files.",
        "es": "No se guardó nada: ni la nota, ni los enlaces, ni los archivos.",
    }[lang]
    assert expected in " ".join(text.split())
    with app.app_context():
        assert db.session.query(Submission).count() == 0
    assert submission_state(app.config["PORTAL_SETTINGS"].data_dir) == ([], [])


FILES = [(png_bytes(colour="red"), "a.png"), (png_bytes(colour="blue"), "b.png")]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_disk_full_while_streaming_an_upload(app, client, monkeypatch, lang):
    real = uploads.TempUpload.write
    calls = []

    def write(self, data):
        calls.append(data)
        if len(calls) == 2:  # the second file: the first is already on disk
            _disk_full()
        return real(self, data)

    monkeypatch.setattr(uploads.TempUpload, "write", write)
    _assert_honest_and_nothing_kept(app, post_tip(client, lang, note="n", files=FILES), lang)


def test_disk_full_when_creating_a_temporary_file(app, client, monkeypatch):
    real = uploads.TempUpload.__init__
    made = []

    def init(self, folder, max_size):
        if made:
            _disk_full()
        made.append(1)
        real(self, folder, max_size)

    monkeypatch.setattr(uploads.TempUpload, "__init__", init)
    _assert_honest_and_nothing_kept(app, post_tip(client, "es", note="n", files=FILES), "es")


def test_disk_full_while_a_cleaner_writes(app, client, monkeypatch):
    """Inside a format module the error becomes a refusal; the file must not be
    reported as refused while the note is filed without it."""
    monkeypatch.setattr(png.CLEANER, "clean", _disk_full)
    _assert_honest_and_nothing_kept(app, post_tip(client, "es", note="n", files=FILES), "es")


def test_disk_full_at_the_cleaners_final_rename(app, client, monkeypatch):
    monkeypatch.setattr(registry.os, "replace", _disk_full)
    _assert_honest_and_nothing_kept(app, post_tip(client, "en", note="n", files=FILES), "en")


def test_disk_full_when_making_the_staging_folder(app, client, monkeypatch):
    monkeypatch.setattr(filing.storage, "new_staging_dir", _disk_full)
    _assert_honest_and_nothing_kept(app, post_tip(client, "es", note="n", files=FILES), "es")


def test_disk_full_when_publishing(app, client, monkeypatch):
    monkeypatch.setattr(filing.storage, "publish_staging", _disk_full)
    _assert_honest_and_nothing_kept(app, post_tip(client, "es", note="solo texto"), "es")
