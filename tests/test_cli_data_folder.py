"""The command line and the server use one data folder.

The server (gunicorn, ``flask run``) creates its data folder on first start. Every
other ``flask`` command only uses an existing one: an operator who forgot
``PORTAL_DATA_DIR`` must get an error naming the folder, not a new empty installation
beside the real one (an editor added there could never sign in). ``flask scrub``
and ``flask translate`` need no data folder and do not touch one."""

from __future__ import annotations

from pathlib import Path

from tests.operations.helpers import flask_command
from tests.public.helpers import png_bytes


def test_scrub_creates_no_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    source = tmp_path / "in.png"
    source.write_bytes(png_bytes())
    result = flask_command(data_dir, "scrub", str(source), str(tmp_path / "out.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.png").exists()
    assert not data_dir.exists()


def test_editor_commands_refuse_a_missing_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "forgotten"
    password = "a long enough password\n" * 2
    for args in (("editor", "list"), ("editor", "add", "ana")):
        result = flask_command(data_dir, *args, stdin=password)
        assert result.returncode != 0
        assert str(data_dir) in result.stderr
        assert "PORTAL_DATA_DIR" in result.stderr
        assert not data_dir.exists()


def test_editor_commands_use_the_servers_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    from portal import create_app
    from portal.config import Settings

    server = create_app(Settings(data_dir=data_dir))  # the server's first start
    server.extensions["portal_storage_lock"].close()
    added = flask_command(data_dir, "editor", "add", "ana", stdin="a long enough password\n" * 2)
    assert added.returncode == 0, added.stderr
    listed = flask_command(data_dir, "editor", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith("ana\t")
