"""Shared fixtures: the one way a test builds an app (``make_app``), the database
every app uses, and a default app and client; and, for every test, a check that each
PDF it cleans renders as its original did.

Folders of tests add their own fixtures in their own conftest.py; helpers (functions
and classes a test imports) live in helper modules, never here.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

# Helper modules that assert: pytest rewrites asserts only in test modules and
# conftest.py unless told, and a bare `assert x == y` failing there says nothing.
pytest.register_assert_rewrite(
    "tests.apps",
    "tests.corpus",
    "tests.exiftool_oracle",
    "tests.headers",
    "tests.inbox_keys",
    "tests.pdf_rendering",
    "tests.browser.helpers",
    "tests.cleaning.byte_search",
    "tests.cleaning.docgen",
    "tests.cleaning.helpers",
    "tests.cleaning.imagegen",
    "tests.cleaning.mediagen",
    "tests.encryption.helpers",
    "tests.followup.helpers",
    "tests.i18n.catalogues",
    "tests.inbox.helpers",
    "tests.inbox.terminal",
    "tests.postgres",
    "tests.public.helpers",
)

from collections.abc import Iterator  # noqa: E402 (after the rewrite registration)
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from jinja2 import BytecodeCache, Environment  # noqa: E402
from jinja2.bccache import Bucket  # noqa: E402

from portal.cleaning.pdf import PdfCleaner  # noqa: E402
from tests import postgres  # noqa: E402
from tests.apps import DatabaseUrls, MakeApp, running_app  # noqa: E402
from tests.pdf_rendering import rendering_difference  # noqa: E402


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses a database (the ``database_urls`` fixture, which
    ``make_app``, ``app`` and every app fixture build on) runs on SQLite and, when a
    server is named (``PORTAL_TEST_POSTGRESQL``; in CI always), on PostgreSQL; a test
    that uses no database runs once, as it would run the same on both. Marks narrow
    it: ``sqlite_only(reason)`` (SQLite's file, its settings, its old installations),
    ``postgresql_only(reason)``."""
    if "database_urls" not in metafunc.fixturenames:
        return
    definition = metafunc.definition
    if definition.get_closest_marker("postgresql_only") is not None:
        kinds = ["postgresql"]
    elif definition.get_closest_marker("sqlite_only") is not None:
        kinds = ["sqlite"]
    elif postgres.server_url() or os.environ.get("CI") == "true":
        kinds = ["sqlite", "postgresql"]
    else:
        kinds = ["sqlite"]
    metafunc.parametrize("database_urls", kinds, indirect=True, scope="session")


_DATABASE_ID = re.compile(r"\[(sqlite|postgresql)[-\]]")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many tests ran on each database, and for how long (setup included)."""
    counts: dict[str, Counter[str]] = {}
    seconds: Counter[str] = Counter()
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if not isinstance(report, pytest.TestReport):
                continue
            match = _DATABASE_ID.search(report.nodeid)
            kind = match.group(1) if match else "no database"
            seconds[kind] += report.duration
            if report.when == "call" or outcome != "passed":
                counts.setdefault(kind, Counter())[outcome] += 1
    terminalreporter.section("tests by database")
    for kind in ("sqlite", "postgresql", "no database"):
        found = counts.get(kind, Counter())
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(found.items())) or "none"
        terminalreporter.write_line(f"{kind}: {summary} ({seconds[kind]:.0f} s)")


@pytest.fixture(scope="session")
def database_urls(request: pytest.FixtureRequest) -> Iterator[DatabaseUrls]:
    """The one place the suite chooses its database (see :class:`tests.apps.DatabaseUrls`).

    Session-scoped so that module-scoped apps use it too. The PostgreSQL pass needs a
    server (``PORTAL_TEST_POSTGRESQL``, which ``.ci/run`` sets): without one it is
    skipped, and in CI (``CI=true``) it fails.
    """
    if request.param == "sqlite":
        yield DatabaseUrls()
        return
    url = postgres.server_url()
    if not url:
        message = f"no PostgreSQL server for the second pass: set {postgres.ENV} (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = postgres.PostgresServer(url)
    try:
        yield DatabaseUrls(server)
    finally:
        server.close()


@pytest.fixture(autouse=True)
def cleaned_pdfs_render_the_same(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Compare the rendered pages of every PDF the test cleans, in whatever way it
    does, with its original's (tests/pdf_rendering.py); fail the test on a
    difference. Checked inside the cleaner, before its output is renamed, and
    reported at the end (an exception inside would be taken for a refusal).
    A test marked ``pdf_renders_differently(reason)`` is exempt, for the reason
    given."""
    if request.node.get_closest_marker("pdf_renders_differently") is not None:
        yield
        return
    differences: list[str] = []
    clean = PdfCleaner.clean

    def clean_and_compare(self, src, dst, limits, depth):  # type: ignore[no-untyped-def]
        result = clean(self, src, dst, limits, depth)
        difference = rendering_difference(Path(src), Path(dst))
        if difference is not None:
            differences.append(f"{Path(src).name}: {difference}")
        return result

    monkeypatch.setattr(PdfCleaner, "clean", clean_and_compare)
    yield
    assert differences == [], "cleaned PDFs render differently"


class _SharedBytecode(BytecodeCache):
    """Compiled templates kept in memory, for every app of a test process."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="session", autouse=True)
def templates_compiled_once() -> Iterator[None]:
    """Every app the suite builds (a thousand or so) would compile the same templates
    again: a third of an app test's time. They share one bytecode cache instead. It
    changes nothing a test sees: every app has the same Jinja settings, and Jinja
    compiles a template again whenever its source differs from the cached one's."""
    cache = _SharedBytecode()
    create = Flask.create_jinja_environment

    def create_with_cache(self: Flask) -> Environment:
        environment = create(self)
        environment.bytecode_cache = cache
        return environment

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flask, "create_jinja_environment", create_with_cache)
        yield


@pytest.fixture
def make_app(tmp_path: Path, database_urls: DatabaseUrls) -> Iterator[MakeApp]:
    """``make_app(**settings)``: an app on ``tmp_path/data`` (or ``data_dir=``) with
    some settings changed. Its database is private to that app (SQLite in memory, or
    a new PostgreSQL database in the second pass); ``persistent_database=True`` gives
    it the installation's database instead (on SQLite a file in the data folder), for
    tests in which a restarted app must find the rows of the one before, or which
    search every file the portal wrote. The app has an inbox key, as once the first
    editor exists, so that the form files tips; ``inbox_key=False`` leaves the first
    editor to make it. Every app made is closed when the test ends."""
    with ExitStack() as stack:

        def build(
            *, persistent_database: bool = False, inbox_key: bool = True, **overrides: object
        ) -> Flask:
            data_dir = Path(overrides.pop("data_dir", tmp_path / "data"))  # type: ignore[arg-type]
            url = database_urls.url(data_dir, persistent=persistent_database, started=True)
            stack.callback(database_urls.dispose, url)  # after the app is closed
            return stack.enter_context(
                running_app(data_dir, database_url=url, inbox_key=inbox_key, **overrides)
            )

        yield build


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
