"""The key's life from the command line, from stdin (as scripts run it) and on a real
pseudo-terminal (as people do): the first editor and the recovery key, a second
editor authorised by the first's password, recovery when passwords are lost, a reset
authorised by the recovery key, and a rotation that re-encrypts everything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from portal import storage
from portal.config import Settings
from portal.crypto import age
from portal.models import StoredFile, db
from tests.apps import running_app
from tests.inbox.helpers import (
    Clock,
    EditorAccount,
    english_client,
    jpeg_bytes,
    secret_from,
    sign_in,
)
from tests.inbox.terminal import run_on_a_terminal
from tests.public.helpers import post_tip

FIRST = "the first editor's passphrase"
SECOND = "the second editor's passphrase"
RECOVERED = "a passphrase after recovery"
RECOVERY_LINE = re.compile(r"^    (AGE-SECRET-KEY-1[0-9A-Z]{58})$", re.MULTILINE)


def recovery_from(output: str) -> str:
    match = RECOVERY_LINE.search(output)
    assert match, output
    return match.group(1)


def stored_files(app: Flask) -> list[tuple[Path, int]]:
    data_dir = app.config["PORTAL_SETTINGS"].data_dir
    with app.app_context():
        # Each file, and its thumbnail (encrypted to the same key) when it has one.
        return [
            (storage.stored_file_path(data_dir, f.submission_id, name), f.key_id)
            for f in db.session.query(StoredFile)
            for name in (f.stored_name, f.thumbnail_name)
            if name
        ]


def reads_tip(app: Flask, account: EditorAccount) -> bool:
    client = english_client(app)
    if sign_in(client, account).status_code != 302:
        return False
    return "CLI-FLOW-NOTE" in client.get("/inbox/").get_data(as_text=True)


def test_the_key_lifecycle_from_stdin(inbox_app: Flask, clock: Clock) -> None:
    runner = inbox_app.test_cli_runner()

    def flask(*args: str, stdin: str) -> str:
        result = runner.invoke(args=list(args), input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    # The first editor creates the inbox key and sees the recovery key once.
    out = flask("editor", "add", "ana", stdin=f"{FIRST}\n{FIRST}\n")
    recovery = recovery_from(out)
    ana = EditorAccount("ana", FIRST, secret_from(out), clock)
    assert post_tip(english_client(inbox_app), "en", note="CLI-FLOW-NOTE",
                    files=[(jpeg_bytes(), "a.jpg")]).status_code == 200  # fmt: skip
    # A second editor, authorised by Ana's password.
    out = flask("editor", "add", "bea", "--by", "ana", stdin=f"{FIRST}\n{SECOND}\n{SECOND}\n")
    assert not RECOVERY_LINE.search(out)  # shown only when the key is made
    bea = EditorAccount("bea", SECOND, secret_from(out), clock)
    assert reads_tip(inbox_app, bea)
    # Ana lost her password: the recovery key gives her a new one.
    out = flask("inbox", "recover", "ana", stdin=f"{recovery}\n{RECOVERED}\n{RECOVERED}\n")
    clock.advance(seconds=30)
    ana = EditorAccount("ana", RECOVERED, secret_from(out), clock)
    assert reads_tip(inbox_app, ana)
    # A reset authorised by the recovery key.
    out = flask(
        "editor", "reset", "bea", "--recovery-key", stdin=f"{recovery}\n{SECOND}\n{SECOND}\n"
    )
    bea = EditorAccount("bea", SECOND, secret_from(out), clock)
    # Rotation, authorised by Bea: progress, a new recovery key, everything re-encrypted.
    before = stored_files(inbox_app)
    out = flask("inbox", "rotate", "--by", "bea", stdin=f"{SECOND}\n")
    assert "Re-encrypted: 2 of 2 (100 %)" in out
    new_recovery = recovery_from(out)
    assert new_recovery != recovery
    after = stored_files(inbox_app)
    assert [p for p, _ in after] == [p for p, _ in before] and after[0][1] != before[0][1]
    for path, _ in after:
        data = path.read_bytes()
        assert age.decrypt(data, [age.Identity.parse(new_recovery)])
        with pytest.raises(age.AgeError):
            age.decrypt(data, [age.Identity.parse(recovery)])
    refused = runner.invoke(
        args=["inbox", "recover", "ana"], input=f"{recovery}\n{FIRST}\n{FIRST}\n"
    )
    assert refused.exit_code != 0 and "does not belong" in refused.output
    # Editors keep their passwords and codes across a rotation.
    clock.advance(seconds=30)
    assert reads_tip(inbox_app, ana) and reads_tip(inbox_app, bea)


def test_the_key_lifecycle_on_a_terminal(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)  # made by the server's first start; commands never make it
    out, code = run_on_a_terminal(
        data_dir, ["add", "carla"],
        [(b"New password: ", FIRST), (b"Repeat for confirmation: ", FIRST)],
    )  # fmt: skip
    assert code == 0, out
    recovery = recovery_from(out)
    assert FIRST not in out
    # A second editor: the terminal asks who authorises it, then that editor's password.
    out, code = run_on_a_terminal(
        data_dir, ["add", "dario"],
        [
            (b"(leave empty to use the recovery key): ", "carla"),
            (b"Password of carla: ", FIRST),
            (b"New password: ", SECOND),
            (b"Repeat for confirmation: ", SECOND),
        ],
    )  # fmt: skip
    assert code == 0, out
    assert "Editor 'dario' created." in out and FIRST not in out and SECOND not in out
    # Recovery and rotation, each authorised by the recovery key typed at the prompt.
    out, code = run_on_a_terminal(
        data_dir, ["recover", "carla"],
        [(b"Recovery key: ", recovery), (b"New password: ", RECOVERED),
         (b"Repeat for confirmation: ", RECOVERED)],
        group="inbox",
    )  # fmt: skip
    assert code == 0, out
    assert recovery not in out  # not echoed
    # In this process, on what the commands made (its inbox key is theirs).
    with running_app(
        data_dir, database_url=Settings(data_dir=data_dir).database_uri, inbox_key=False
    ) as app:
        assert post_tip(english_client(app), "en", note="CLI-FLOW-NOTE").status_code == 200
    out, code = run_on_a_terminal(
        data_dir, ["rotate"],
        [(b"(leave empty to use the recovery key): ", ""), (b"Recovery key: ", recovery)],
        group="inbox",
    )  # fmt: skip
    assert code == 0, out
    assert "Re-encrypted: 1 of 1 (100 %)" in out
    assert recovery_from(out) != recovery
