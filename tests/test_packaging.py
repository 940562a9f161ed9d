"""A wheel works, not only the editable checkout: built from the sources, installed in a
fresh virtualenv and run from another folder, it serves ``/es/`` with its templates,
static files and compiled Spanish catalogue, and its ``flask scrub`` runs.

Slow (about a minute: a wheel build, then an install of every dependency from pip's
index and cache, as ``.ci/run`` installs them), so it carries the ``packaging`` mark
that a quick local run can leave out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from portal.paths import ROOT, STATIC, TRANSLATIONS
from tests.i18n.catalogues import load
from tests.public.helpers import HTML_LANG

pytestmark = pytest.mark.packaging

#: what a build does not need from the checkout (and must not pick up)
_NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "instance",
    "tests",
    "test-artifacts",
    ".*cache",
    ".hypothesis",
    "*.mo",
)

#: run inside the installed copy: what it serves, as JSON on stdout
_PROBE = """
import json, re, sys
import portal
from portal import create_app

client = create_app().test_client()
form = client.get("/es/")
html = form.get_data(as_text=True)
sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
css = client.get(sheet)
missing = client.get("/es/nonexistent")
json.dump({
    "package": portal.__file__,
    "form": [form.status_code, html],
    "css": [css.status_code, css.get_data().decode()],
    "missing": [missing.status_code, missing.get_data(as_text=True)],
}, sys.stdout)
"""


def _run(command: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=900, **kwargs
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


def _spanish(msgid: str) -> str:
    return load(TRANSLATIONS / "es/LC_MESSAGES/messages.po").get(msgid).string


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (a stale build/ in the checkout
    would otherwise leak into it)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source])
    (built,) = (base / "dist").glob("portal-*.whl")
    return built


def test_wheel_ships_templates_static_files_and_compiled_catalogues_only(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "portal/templates/base.html" in names
    assert "portal/templates/public/index.html" in names
    assert "portal/static/css/portal.css" in names
    assert "portal/translations/es/LC_MESSAGES/messages.mo" in names
    assert not [name for name in names if name.endswith((".po", ".pot"))]
    assert not [name for name in names if name.startswith("tests/")]


def test_wheel_in_a_fresh_venv_serves_spanish_from_another_folder(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin/python", "-m", "pip", "install", "-q", wheel])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "FLASK_APP"}}
    env["PORTAL_DATA_DIR"] = str(tmp_path / "data")

    served = json.loads(_run([venv / "bin/python", "-c", _PROBE], cwd=elsewhere, env=env).stdout)

    assert Path(served["package"]).is_relative_to(venv), "imported the checkout, not the wheel"
    status, html = served["form"]
    assert status == 200
    assert f'<html lang="{HTML_LANG["es"]}"' in html
    assert _spanish("What happened?") in html
    status, css = served["css"]
    assert status == 200
    assert css == (STATIC / "css/portal.css").read_text()
    status, html = served["missing"]
    assert status == 404
    assert _spanish("Page not found") in html

    # A plugin command of the installed copy, from the same folder.
    (elsewhere / "note.txt").write_text("hello\n")
    scrubbed = _run([venv / "bin/flask", "scrub", "note.txt", "clean.txt"], cwd=elsewhere, env=env)
    assert "cleaned: TXT" in scrubbed.stdout
    assert (elsewhere / "clean.txt").read_text() == "hello\n"
