"""Upgrading an installation made by the last main before encryption at rest: its
own code (taken from git) files tips and adds editors; then ``flask inbox encrypt``
encrypts it in place. Nothing readable remains, and every tip reads back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from portal import database
from portal.models import Editor, StoredFile, Submission, db
from tests.apps import MakeApp
from tests.encryption.helpers import every_byte_under, runs_of
from tests.inbox.helpers import Clock, EditorAccount, english_client, sign_in
from tests.old_main import extract as extract_old_main

#: main just before encryption at rest: it writes the data folder this test upgrades
BASELINE = "77deed0"
PASSWORD = "an old main password"
CANARIES = {
    "note": "CANARY-NOTE-Tecate-9f2c",
    "links": "https://canary.example/LINK-7d1e",
    "contact": "CANARY-CONTACT-signal-5b8a",
}

LEGACY_SCRIPT = r"""
import io, json, re, sys, wave
from pathlib import Path
from PIL import Image
from portal import create_app
from portal.config import Settings

data_dir, canaries = Path(sys.argv[1]), json.loads(sys.argv[2])
app = create_app(Settings(data_dir=data_dir, secret_key="legacy-secret"))
app.config["TESTING"] = True
runner = app.test_cli_runner()
secrets = {}
for name in ("ana", "bea"):
    out = runner.invoke(args=["editor", "add", name], input=sys.argv[3] + "\n" + sys.argv[3] + "\n")
    assert out.exit_code == 0, out.output
    secrets[name] = re.search(r"TOTP secret: ([A-Z2-7]+)", out.output).group(1)
client = app.test_client()
jpeg = io.BytesIO(); Image.new("RGB", (64, 48), "teal").save(jpeg, "JPEG")
sound = io.BytesIO()
with wave.open(sound, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(bytes(range(256)) * 64)
for number in range(2):
    page = client.get("/en/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "homepage": "",
            "note": f"{canaries['note']} {number}", "links": canaries["links"],
            "contact": canaries["contact"],
            "files": [(io.BytesIO(jpeg.getvalue()), "a.jpg"),
                      (io.BytesIO(sound.getvalue()), "b.wav")]}
    response = client.post("/en/", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)
app.extensions["portal_storage_lock"].close()
print(json.dumps(secrets))
"""


@pytest.fixture(scope="module")
def legacy_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = extract_old_main(BASELINE, tmp_path_factory.mktemp("legacy-code"))
    return folder


def make_legacy_install(code: Path, data_dir: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", LEGACY_SCRIPT, str(data_dir), json.dumps(CANARIES), PASSWORD],
        cwd=code, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(code)},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.sqlite_only("the installations made before migrations ran on SQLite only")
def test_an_old_installation_is_encrypted_in_place_and_reads_back(
    legacy_code: Path, tmp_path: Path, clock: Clock, make_app: MakeApp
) -> None:
    data_dir = tmp_path / "data"
    totp = make_legacy_install(legacy_code, data_dir)
    # What the old code filed, in clear: the oracle for what must not remain.
    cleaned = [p.read_bytes() for p in sorted((data_dir / "submissions").glob("*/*"))]
    assert len(cleaned) == 4
    assert CANARIES["note"].encode() in (data_dir / "portal.sqlite3").read_bytes()

    app = make_app(
        data_dir=data_dir, persistent_database=True, inbox_key=False, secret_key="legacy-secret"
    )
    # Until upgraded, the portal refuses to serve rather than serve half a schema.
    assert app.test_client().get("/en/").status_code == 503
    runner = app.test_cli_runner()
    result = runner.invoke(args=["inbox", "encrypt", "--editor", "ana"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Encrypted 2 submissions and 4 files." in result.output
    assert re.search(r"^    AGE-SECRET-KEY-1[0-9A-Z]{58}$", result.output, re.MULTILINE)
    assert "flask editor reset bea --by ana" in result.output
    with app.app_context():
        assert database.state() == "current"

    # Nothing readable anywhere under the data folder (database, secret_key, files).
    haystack = every_byte_under(data_dir)
    for canary in CANARIES.values():
        assert canary.encode() not in haystack, canary
    for data in cleaned:
        for run in runs_of(data):
            assert run not in haystack
    for secret in totp.values():
        assert secret.encode() not in haystack
    assert not list(data_dir.rglob("*.jpg")) and not list(data_dir.rglob("*.wav"))

    # Ana signs in as before, with her old password and authenticator app.
    ana = EditorAccount("ana", PASSWORD, totp["ana"], clock)
    web = english_client(app)
    assert sign_in(web, ana).status_code == 302
    with app.app_context():
        ids = [s.id for s in db.session.query(Submission).order_by(Submission.created_at)]
        files = {f.id: f.submission_id for f in db.session.query(StoredFile)}
        assert db.session.query(Editor).filter_by(name="bea").one().private_key is None
    assert len(ids) == 2
    for number, submission_id in enumerate(ids):
        page = web.get(f"/inbox/s/{submission_id}").get_data(as_text=True)
        assert f"{CANARIES['note']} {number}" in page
        assert CANARIES["links"] in page and CANARIES["contact"] in page
    served = sorted(
        web.get(f"/inbox/s/{submission}/f/{file_id}").data for file_id, submission in files.items()
    )
    assert served == sorted(cleaned)
    # Bea, whose password the upgrade could not know, is reset by Ana.
    reset = runner.invoke(
        args=["editor", "reset", "bea", "--by", "ana"],
        input=f"{PASSWORD}\nbea's new long password\nbea's new long password\n",
    )
    assert reset.exit_code == 0, reset.output
    bea_secret = re.search(r"TOTP secret: ([A-Z2-7]+)", reset.output).group(1)
    clock.advance(seconds=60)
    bea = EditorAccount("bea", "bea's new long password", bea_secret, clock)
    other = english_client(app)
    assert sign_in(other, bea).status_code == 302
    assert CANARIES["note"] in other.get("/inbox/").get_data(as_text=True)
