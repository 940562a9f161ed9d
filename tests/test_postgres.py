"""``PORTAL_DATABASE_URL=postgresql://...`` works with the ``postgres`` extra
(``pip install -e '.[postgres]'``, psycopg 3); without it the portal failed with
"No module named 'psycopg'". SQLAlchemy before 2.1 reads a bare ``postgresql://``
as psycopg2, which the extra does not install, so the portal names the driver.
When Debian's PostgreSQL server is installed, a throwaway cluster on a loopback
port files and reads a tip for real (the whole suite against PostgreSQL is a
separate pass)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from portal import create_app
from portal.config import Settings
from portal.models import Submission, db
from tests.inbox_keys import content_of, with_inbox_key
from tests.public.helpers import post_tip


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgresql://portal@127.0.0.1:5432/portal",
            "postgresql+psycopg://portal@127.0.0.1:5432/portal",
        ),
        ("postgres://portal@db/portal", "postgresql+psycopg://portal@db/portal"),
        ("postgresql+psycopg://portal@db/portal", "postgresql+psycopg://portal@db/portal"),
        ("sqlite:////srv/portal/p.sqlite3", "sqlite:////srv/portal/p.sqlite3"),
    ],
)
def test_postgresql_urls_use_psycopg_3(tmp_path: Path, given: str, used: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=given)
    assert settings.database_uri == used
    engine = create_engine(settings.database_uri)
    assert engine.dialect.name in {"postgresql", "sqlite"}
    if engine.dialect.name == "postgresql":
        assert engine.dialect.driver == "psycopg"


def _postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def _run(command: list, run_as: dict[str, object]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, **run_as)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{command[0]} failed: {result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("Debian's postgresql package is not installed")
    base = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    run_as: dict[str, object] = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(base, "nobody", "nogroup")
        run_as = {"user": "nobody", "group": "nogroup", "extra_groups": []}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = base / "cluster"
    try:
        initdb = [bin_dir / "initdb", "-D", cluster, "-U", "portal", "--auth=trust", "-E", "UTF8"]
        _run(initdb, run_as)
        _run(
            [
                bin_dir / "pg_ctl", "-D", cluster, "-l", base / "log", "-w", "start", "-o",
                f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off",
            ],
            run_as,
        )  # fmt: skip
        yield f"postgresql://portal@127.0.0.1:{port}/postgres"
    finally:
        if (cluster / "postmaster.pid").exists():
            subprocess.run(
                [bin_dir / "pg_ctl", "-D", cluster, "-m", "immediate", "-w", "stop"],
                capture_output=True, **run_as,
            )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def test_a_tip_is_filed_and_read_back_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    app = create_app(
        Settings(data_dir=tmp_path / "data", secret_key="k", database_url=postgres_url)
    )
    try:
        with_inbox_key(app)
        client = app.test_client()
        assert post_tip(client, "es", note="nota en PostgreSQL ñ").status_code == 200
        assert client.get("/healthz").status_code == 200
        with app.app_context():
            assert db.engine.dialect.driver == "psycopg"
            rows = list(db.session.scalars(db.select(Submission)))
            notes = [content_of(app, row).note for row in rows]
        assert notes == ["nota en PostgreSQL ñ"]
    finally:
        app.extensions["portal_storage_lock"].close()
        app.extensions["portal_sweeper"].set()
