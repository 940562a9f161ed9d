"""Commands that need no app start without one: ``flask scrub`` builds no app (no data
folder, no database) and importing the package pulls in none of the web app.

How long start-up takes is measured in bench/startup.py, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from portal.paths import ROOT

#: modules only the web app needs: the database layer, the blueprints, the forms
WEB_APP_MODULES = ("flask_sqlalchemy", "sqlalchemy", "portal.public", "portal.inbox", "wtforms")


def test_flask_scrub_builds_no_app(tmp_path: Path):
    source = tmp_path / "note.txt"
    source.write_text("hello\n")
    data = tmp_path / "data"
    env = {**os.environ, "PORTAL_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "flask", "--app", "app", "scrub", str(source)]
    result = subprocess.run(
        [*command, str(tmp_path / "clean.txt")], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "clean.txt").read_text() == "hello\n"
    assert not data.exists(), "create_app ran: it makes the data folder"


def test_importing_the_cleaner_and_the_commands_loads_no_web_app():
    probe = (
        "import json, sys\n"
        "import portal, portal.cli.scrub, portal.cli.translate\n"
        "json.dump(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{{'flask_sqlalchemy', 'sqlalchemy', 'wtforms'}} or m in {WEB_APP_MODULES!r}), "
        "sys.stdout)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
