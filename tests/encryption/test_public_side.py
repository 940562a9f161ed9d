"""The public side encrypts to a public key and never touches anything that could
decrypt: with ``PORTAL_SERVE=public`` filing reads only ``inbox_key`` (no editor,
keyring or session), and the only plaintext is under ``PORTAL_TMP_DIR`` for the
length of the request, even when that is another filesystem (a tmpfs)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, select

from portal.models import StoredFile, db
from portal.public import filing
from tests.apps import MakeApp
from tests.inbox.helpers import jpeg_bytes, wav_bytes
from tests.inbox_keys import plaintext_of
from tests.public.helpers import post_tip


@pytest.fixture
def tmpfs_dir() -> Iterator[Path]:
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.skip("no /dev/shm tmpfs on this machine")
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        yield Path(folder) / "portal-tmp"


@pytest.fixture
def public_app(make_app: MakeApp, tmpfs_dir: Path) -> Flask:
    # The database in a file in the data folder, as deployed.
    return make_app(
        persistent_database=True, serve="public", tmp_dir=str(tmpfs_dir), secret_key="public-side"
    )


def test_filing_reads_only_the_public_key_and_plaintext_stays_in_tmp(
    public_app: Flask, tmpfs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tmpfs_dir.stat().st_dev != public_app.config["PORTAL_SETTINGS"].data_dir.stat().st_dev
    statements: list[str] = []
    cleaned_into: list[Path] = []
    real_clean = filing.clean_file

    def spy(src: Path, dst: Path, *args: object, **kwargs: object):
        cleaned_into.append(dst)
        return real_clean(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(filing, "clean_file", spy)
    with public_app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, sql, *rest: statements.append(sql.lower())  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = post_tip(
            public_app.test_client(), "en", note="n",
            files=[(jpeg_bytes(), "a.jpg"), (wav_bytes(), "b.wav")],
        )  # fmt: skip
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert statements, "the listener saw the filing's statements"
    tables = ("editor", "editor_session", "audit_event")
    assert not [s for s in statements if any(f" {t} " in f" {s} " for t in tables)]
    assert any("from inbox_key" in s for s in statements)
    # The cleaner wrote its plaintext on the tmpfs, and nothing is left there.
    assert cleaned_into and all(tmpfs_dir in p.parents for p in cleaned_into)
    assert [p for p in tmpfs_dir.rglob("*") if p.is_file()] == []
    staging = public_app.config["PORTAL_SETTINGS"].data_dir / "staging"
    assert list(staging.iterdir()) == []
    with public_app.app_context():
        files = db.session.scalars(select(StoredFile)).all()
        assert len(files) == 2 and all(plaintext_of(public_app, f) for f in files)
