"""Settings are read from PORTAL_* variables, validated, and the secret key persists."""

import multiprocessing
import re
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from portal.config import Settings, load_secret_key

#: a well-formed version 3 onion address (no such service exists)
ONION = "portalx" + "a" * 45 + "b2cd.onion"


def test_defaults_need_only_a_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env(default_data_dir=tmp_path, env={})
    assert settings.data_dir == tmp_path
    assert settings.serve == "all"
    assert settings.database_uri == f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def test_every_field_reads_from_its_variable(tmp_path: Path) -> None:
    env = {
        "PORTAL_DATA_DIR": str(tmp_path / "d"),
        "PORTAL_MAX_FILES": "3",
        "PORTAL_SERVE": "inbox",
        "PORTAL_SECURE_COOKIES": "yes",
        "PORTAL_DEFAULT_LOCALE": "en",
        "PORTAL_ONION_ADDRESS": ONION,
        "PORTAL_RETENTION_DAYS": "90",
    }
    settings = Settings.from_env(default_data_dir=tmp_path, env=env)
    assert settings.data_dir == tmp_path / "d"
    assert settings.max_files == 3
    assert settings.serve == "inbox"
    assert settings.secure_cookies is True
    assert settings.default_locale == "en"
    assert settings.onion_address == ONION
    assert settings.retention_days == 90


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORTAL_SERVE", "everything"),
        ("PORTAL_MAX_FILES", "many"),
        ("PORTAL_MAX_FILES", "0"),
        ("PORTAL_MAX_NOTE_LENGTH", "0"),
        ("PORTAL_EDITOR_IDLE_TIMEOUT", "-5"),
        ("PORTAL_ONION_ADDRESS", "http://" + "a" * 56 + ".onion"),
        ("PORTAL_ONION_ADDRESS", "a" * 16 + ".onion"),  # version 2: gone since 2021
        ("PORTAL_ONION_ADDRESS", "example.org"),
        ("PORTAL_RETENTION_DAYS", "-1"),
        ("PORTAL_RETENTION_DAYS", "ninety"),
    ],
)
def test_bad_values_stop_the_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env(default_data_dir=tmp_path, env={name: value})


def test_generated_secret_key_is_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_secret_key(settings)
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_secret_key(settings) == first
    assert load_secret_key(settings.with_overrides(secret_key="given")) == "given"


def test_an_empty_key_file_stops_the_start(tmp_path: Path) -> None:
    """An empty key would sign every cookie with nothing, and every form would fail."""
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="secret_key is empty"):
        load_secret_key(Settings(data_dir=tmp_path))


def _first_start(data_dir: str, ready: Barrier, results: Queue) -> None:
    ready.wait()
    try:
        results.put(load_secret_key(Settings(data_dir=Path(data_dir))))
    except Exception as error:  # reported to the test, which fails on it
        results.put(f"{type(error).__name__}: {error}")


def test_workers_starting_together_share_one_whole_key(tmp_path: Path) -> None:
    """gunicorn's workers each build the app, so on a first start they all reach for
    the key file at once: every one must get the same, whole key. (Seen in CI: one
    worker read the file after another created it but before it wrote the key, signed
    with an empty key, and answered 500; one that lost the race to create it would
    fail to boot.)"""
    context = multiprocessing.get_context("fork")
    workers = 6
    for round_ in range(10):  # the old code failed in the first
        data_dir = tmp_path / str(round_)
        data_dir.mkdir()
        ready, results = context.Barrier(workers), context.Queue()
        processes = [
            context.Process(target=_first_start, args=(str(data_dir), ready, results))
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        keys = [results.get(timeout=30) for _ in processes]
        for process in processes:
            process.join()
        assert len(set(keys)) == 1, keys
        assert re.fullmatch("[0-9a-f]{64}", keys[0]), keys
        assert (data_dir / "secret_key").read_text() == keys[0]
        assert [p.name for p in data_dir.iterdir()] == ["secret_key"]  # no file left over
