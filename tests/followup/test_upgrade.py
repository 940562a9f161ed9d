"""Upgrading an installation made by the main before conversations (encrypted at rest,
schema 0003): its own code, taken from git, adds an editor and files tips; then
``flask db upgrade`` brings it to this schema. Every tip reads back; the old tips
have no phrase (their senders were never given one) and say so; new tips get one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import create_app, database
from portal.models import StoredFile, Submission, db
from tests.followup.helpers import open_conversation, send_tip
from tests.inbox.helpers import Clock, EditorAccount, english_client, sign_in
from tests.inbox_keys import cheap_phrases
from tests.old_main import extract as extract_old_main

#: main just before conversations (encryption at rest, schema 0003)
BASELINE = "58920d1"
PASSWORD = "a password from before conversations"
CANARY = "CANARY-OLD-TIP-4e1b"

LEGACY_SCRIPT = r"""
import io, json, re, sys, wave
from pathlib import Path
from PIL import Image
from portal import create_app
from portal.config import Settings

data_dir, canary, password = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
app = create_app(Settings(data_dir=data_dir, secret_key="old-main-secret"))
app.config["TESTING"] = True
out = app.test_cli_runner().invoke(args=["editor", "add", "ana"], input=f"{password}\n{password}\n")
assert out.exit_code == 0, out.output
secret = re.search(r"TOTP secret: ([A-Z2-7]+)", out.output).group(1)
client = app.test_client()
jpeg = io.BytesIO(); Image.new("RGB", (64, 48), "teal").save(jpeg, "JPEG")
for number in range(2):
    page = client.get("/en/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "homepage": "", "note": f"{canary} {number}",
            "links": "https://example.org/old", "contact": "",
            "files": [(io.BytesIO(jpeg.getvalue()), "a.jpg")]}
    response = client.post("/en/", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
app.extensions["portal_storage_lock"].close()
print(json.dumps({"totp": secret}))
"""


@pytest.fixture(scope="module")
def old_main(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = extract_old_main(BASELINE, tmp_path_factory.mktemp("old-main"))
    # Its catalogues compiled, as its own installation would have them.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (folder / "translations").glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source, po.with_suffix(".mo").open("wb") as target:
            write_mo(target, read_po(source))
    return folder


def test_an_installation_from_before_conversations_upgrades_and_keeps_every_tip(
    old_main: Path, tmp_path: Path, clock: Clock
) -> None:
    data_dir = tmp_path / "data"
    out = subprocess.run(
        [sys.executable, "-c", LEGACY_SCRIPT, str(data_dir), CANARY, PASSWORD],
        cwd=old_main, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(old_main)},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    totp = json.loads(out.stdout.strip().splitlines()[-1])["totp"]
    old_files = sorted(p.read_bytes() for p in (data_dir / "submissions").glob("*/*"))
    assert len(old_files) == 2

    from portal.config import Settings

    app = cheap_phrases(create_app(Settings(data_dir=data_dir, secret_key="old-main-secret")))
    app.config["TESTING"] = True
    try:
        # Until upgraded, the portal refuses to serve rather than serve half a schema.
        assert english_client(app).get("/en/").status_code == 503
        with app.app_context():
            assert database.state() == "at revision 0003, not 0005: run flask db upgrade"
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        database.mark_ready(app)
        with app.app_context():
            assert database.state() == "current"
            old = db.session.scalars(select(Submission).order_by(Submission.created_at)).all()
            assert [s.tipster_key for s in old] == [None, None]
            assert all(s.last_activity_at == s.created_at for s in old)
            assert all(f.message_id is None for f in db.session.scalars(select(StoredFile)))
            ids = [s.id for s in old]
        assert sorted(p.read_bytes() for p in (data_dir / "submissions").glob("*/*")) == old_files

        ana = EditorAccount("ana", PASSWORD, totp, clock)
        web = english_client(app)
        assert sign_in(web, ana).status_code == 302
        listing = web.get("/inbox/").get_data(as_text=True)
        for number, submission_id in enumerate(ids):
            assert f"/inbox/s/{submission_id}" in listing
            page = web.get(f"/inbox/s/{submission_id}").get_data(as_text=True)
            assert f"{CANARY} {number}" in page
            assert "The sender has no follow-up phrase" in page and "Send reply" not in page
            with app.app_context():
                stored = db.session.scalars(
                    select(StoredFile).where(StoredFile.submission_id == submission_id)
                ).one()
            assert len(web.get(f"/inbox/s/{submission_id}/f/{stored.id}").data) == stored.size

        # A tip filed after the upgrade has its phrase, and its conversation works.
        tipster = english_client(app)
        _, shown = send_tip(tipster, "es", note="after the upgrade")
        assert open_conversation(tipster, "es", shown).status_code == 303
        assert "Tu conversación" in tipster.get("/es/seguimiento").get_data(as_text=True)
    finally:
        lock = app.extensions.get("portal_storage_lock")
        if lock is not None:
            lock.close()
