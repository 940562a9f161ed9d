"""Test helpers for encryption at rest: an inbox key for a test app (as the first
editor's creation makes one), and reading back what was filed with it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from portal import storage
from portal.crypto import age, phrase
from portal.crypto.keyring import Content, Keyring
from portal.crypto.wrapping import KdfCost
from portal.inbox import accounts
from portal.models import InboxKey, StoredFile, Submission, db

#: every inbox identity the suite made, by its public key (several apps may share a
#: data folder and so one inbox key)
_IDENTITIES: dict[str, str] = {}


def remember(recovery_key: str) -> str:
    _IDENTITIES[str(age.Identity.parse(recovery_key).recipient)] = recovery_key
    return recovery_key


def recovery_key(app: Flask) -> str:
    """The current inbox key's identity (inside an app context)."""
    public = db.session.scalar(select(InboxKey.public_key).order_by(InboxKey.id.desc()))
    assert public is not None, "no inbox key yet"
    return _IDENTITIES[public]


def ensure_inbox(app: Flask) -> Keyring:
    """The test app's inbox keyring, making the inbox key if there is none yet.
    Call inside an app context."""
    if not accounts.inbox_exists():
        identity = age.Identity.generate()
        db.session.add(InboxKey(public_key=str(identity.recipient)))
        db.session.commit()
        remember(str(identity))
    return accounts.authorise_by_recovery(recovery_key(app))


#: a cheap Argon2id for follow-up phrases, so that the suite's many tips stay fast; a
#: test checks that the portal's own default is the memory-hard one
CHEAP_PHRASE_COST = KdfCost(time_cost=1, memory_cost=1024, parallelism=1)


def cheap_phrases(app: Flask) -> Flask:
    """Make the app's installation (when it makes its phrase salt) use a cheap cost."""
    app.extensions[phrase.COST_EXTENSION] = CHEAP_PHRASE_COST
    return app


def with_inbox_key(app: Flask) -> Flask:
    cheap_phrases(app)
    with app.app_context():
        ensure_inbox(app)
    return app


def content_of(app: Flask, submission: Submission) -> Content:
    """What the tipster typed, decrypted (inside an app context)."""
    return Content.open(submission.sealed, submission.key_id, ensure_inbox(app))


def plaintext_of(app: Flask, stored: StoredFile) -> bytes:
    """A stored file's cleaned bytes, decrypted (inside an app context)."""
    data_dir: Path = app.config["PORTAL_SETTINGS"].data_dir
    path = storage.stored_file_path(data_dir, stored.submission_id, stored.stored_name)
    return ensure_inbox(app).decrypt(path.read_bytes(), stored.key_id)


def prepare_data_dir(data_dir: Path) -> None:
    """Give a data folder (SQLite inside it) an inbox key before a server starts on it."""
    from portal.config import Settings
    from tests.apps import running_app

    # The database the server will use: its own default, a file in the data folder.
    database_url = Settings(data_dir=data_dir).database_uri
    with running_app(data_dir, database_url=database_url, secret_key="prepare"):
        pass  # running_app gives the inbox its key
